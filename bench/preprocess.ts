/**
 * Prints how long image decoding and Detectron's test preprocessing take on the demo images:
 * decode (imread), blob (means, INTER_LINEAR resize, padding, NCHW) at TEST.SCALE 800 /
 * MAX_SIZE 1333 with FPN's stride 32, and the bare resizes (600x900x3 -> 800x1200, and a
 * keypoint heatmap 56x56 -> 200x300 with INTER_CUBIC). Medians of a few runs, single thread.
 *
 *   npx tsc -p . && node dist/bench/preprocess.js [fixtures-dir]
 */
import * as fs from 'fs';
import * as path from 'path';
import { imread } from '../lib/utils/image_io';
import { getImageBlob } from '../lib/utils/blob';
import { cv2Resize } from '../lib/utils/cv2_resize';
import { NdArray } from '../lib/utils/ndarray';

const PIXEL_MEANS = [102.9801, 115.9465, 122.7717];
const RUNS = 5;

/** The shared fixtures folder: given, or found beside an ancestor of this file (src or dist). */
function fixturesDir(arg: string | undefined): string {
  if (arg) return arg;
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'fixtures');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`bench/preprocess: cannot find shared/fixtures above ${__dirname}; pass its path`);
}

async function medianMs(run: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function randomImage(h: number, w: number, c: number): NdArray {
  const data = new Float32Array(h * w * c);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s >>> 8) / 65536 - 128;
  }
  return { dtype: 'float32', shape: c === 1 ? [h, w] : [h, w, c], data };
}

export async function main(argv: string[]): Promise<void> {
  const images = path.join(fixturesDir(argv[0]), 'images');
  const files = fs.readdirSync(images).filter((f) => f.endsWith('.jpg')).sort();
  console.log('image                                 size        decode ms   blob ms   blob shape');
  let decodeTotal = 0;
  let blobTotal = 0;
  for (const f of files) {
    const file = path.join(images, f);
    const im = await imread(file);
    const decode = await medianMs(() => imread(file));
    const blobMs = await medianMs(() => getImageBlob(im, 800, 1333, { pixelMeans: PIXEL_MEANS, coarsestStride: 32 }));
    const { blob } = getImageBlob(im, 800, 1333, { pixelMeans: PIXEL_MEANS, coarsestStride: 32 });
    decodeTotal += decode;
    blobTotal += blobMs;
    console.log(`${f.padEnd(38)}${`${im.shape[1]}x${im.shape[0]}`.padEnd(12)}${decode.toFixed(1).padStart(9)}${blobMs.toFixed(1).padStart(10)}   ${blob.shape.join('x')}`);
  }
  console.log(`mean over ${files.length} images: decode ${(decodeTotal / files.length).toFixed(1)} ms, blob ${(blobTotal / files.length).toFixed(1)} ms`);
  const big = randomImage(600, 900, 3);
  const linear = await medianMs(() => cv2Resize(big, { fx: 4 / 3, fy: 4 / 3, interpolation: 'linear' }));
  console.log(`resize 600x900x3 -> 800x1200 INTER_LINEAR: ${linear.toFixed(1)} ms`);
  const heat = randomImage(56, 56, 1);
  const cubic = await medianMs(() => cv2Resize(heat, { dsize: [300, 200], interpolation: 'cubic' }));
  console.log(`resize 56x56 -> 300x200 INTER_CUBIC: ${cubic.toFixed(2)} ms`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
