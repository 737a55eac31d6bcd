/**
 * pycocotools mask API speed on a detection-sized mask (800×1333, row-major): µs per call of
 * encode, decode, rleToString, rleFrString, frPoly, area/toBbox and mask IoU.
 * Run: `npx tsc -p . && node dist/bench/cocomask.js`.
 */
import {
  decode,
  encode,
  frPoly,
  iou,
  rleEncodeRowMajor,
  rleFrString,
  rleToBbox,
  rleArea,
  rleToString,
  type CompressedRle,
} from '../lib/datasets/pycocotools/mask';

const H = 800;
const W = 1333;

/** A blob-like polygon (wobbly ellipse) covering roughly a quarter of the image. */
function blobPolygon(cx: number, cy: number, rx: number, ry: number, points: number): number[] {
  const xy: number[] = [];
  for (let i = 0; i < points; i++) {
    const a = (2 * Math.PI * i) / points;
    const r = 1 + 0.15 * Math.sin(7 * a) + 0.05 * Math.cos(23 * a);
    xy.push(cx + rx * r * Math.cos(a), cy + ry * r * Math.sin(a));
  }
  return xy;
}

/** Mean µs per call of `fn`, after a warm-up, over at least `minMs` of work. */
function timeUs(fn: () => unknown, minMs = 300): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs * 1e6) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  return elapsed / n / 1e3;
}

export function main(): void {
  const poly = blobPolygon(620, 410, 330, 250, 200);
  const rle: CompressedRle = frPoly([poly], H, W)[0];
  const mask = decode(rle);
  const counts = rleEncodeRowMajor(mask, H, W);
  const other = frPoly([blobPolygon(700, 380, 300, 260, 200)], H, W)[0];
  const rows: Array<[string, number]> = [
    ['encode (row-major mask -> compressed RLE)', timeUs(() => encode(mask, H, W))],
    ['rleEncode (row-major mask -> counts)', timeUs(() => rleEncodeRowMajor(mask, H, W))],
    ['decode (compressed RLE -> row-major mask)', timeUs(() => decode(rle))],
    ['rleToString', timeUs(() => rleToString(counts))],
    ['rleFrString', timeUs(() => rleFrString(rle.counts, H, W))],
    ['frPoly (200-point polygon)', timeUs(() => frPoly([poly], H, W))],
    ['area + toBbox', timeUs(() => rleArea(counts) + rleToBbox(counts)[0])],
    ['iou (two masks, compressed)', timeUs(() => iou([rle], [other], [0]))],
  ];
  process.stdout.write(
    `cocomask: ${H}x${W} mask, area ${rleArea(counts)}, ${counts.counts.length} runs, ${rle.counts.length} chars\n`,
  );
  for (const [name, us] of rows) process.stdout.write(`  ${name.padEnd(44)} ${us.toFixed(1).padStart(8)} us\n`);
}

if (require.main === module) main();
