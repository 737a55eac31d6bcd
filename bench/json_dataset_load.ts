/**
 * Loading a COCO annotation file of instances_train2017.json's size (448 MB: 118,287 images,
 * 860,001 annotations). A deterministic synthetic file of that shape (polygons of 3-60 points,
 * 1% crowd annotations with uncompressed RLE) is written once to
 * data/cache/synthetic_instances_train.json; then, each in a fresh process, the time and peak RSS
 * of (1) the streaming load into a COCO index and (2) JsonDataset + get_roidb(gt) + flipped
 * entries.
 * Run: `npx tsc -p . && node dist/bench/json_dataset_load.js`.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { COCO_CATEGORY_IDS } from '../lib/datasets/coco_categories';
import { JsonDataset, loadCocoAnnotations } from '../lib/datasets/json_dataset';
import { extendWithFlippedEntries } from '../lib/datasets/roidb';

const NUM_IMAGES = 118287;
const NUM_ANNOTATIONS = 860001;
/** Bump when the generator changes, so that a cached file is rewritten. */
const GENERATOR_VERSION = 2;

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const r2 = (x: number): string => String(Math.round(x * 100) / 100);

/** Buffered writer: strings are gathered and written in ~1 MB blocks. */
class Out {
  private parts: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(private readonly fd: number) {}
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    const b = Buffer.from(this.parts.join(''), 'utf8');
    fs.writeSync(this.fd, b);
    this.bytes += b.length;
    this.parts = [];
    this.size = 0;
  }
}

/**
 * Writes a COCO instances file with `numImages` images and `numAnnotations` annotations, the
 * same bytes for the same arguments. Formatted as COCO's files are (json.dumps' ", " and ": ").
 */
export function writeSyntheticCoco(file: string, numImages = NUM_IMAGES, numAnnotations = NUM_ANNOTATIONS, seed = 1): number {
  const rand = rng(seed);
  const tmp = `${file}.tmp${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  const out = new Out(fd);
  try {
    out.write('{"info": {"description": "synthetic COCO-sized instances file (detectron-ts bench)", "version": "1.0", "year": 2017}, ');
    out.write('"licenses": [{"url": "http://creativecommons.org/licenses/by/2.0/", "id": 1, "name": "Attribution License"}], "images": [');
    const sizes: Array<[number, number]> = [];
    for (let i = 0; i < numImages; i++) {
      const horizontal = rand() < 0.7;
      const w = horizontal ? 640 : 360 + Math.floor(rand() * 200);
      const h = horizontal ? 360 + Math.floor(rand() * 120) : 640;
      sizes.push([w, h]);
      const id = i * 3 + 1;
      const name = String(id).padStart(12, '0');
      out.write(
        `${i ? ', ' : ''}{"license": 1, "file_name": "${name}.jpg", "coco_url": "http://images.cocodataset.org/train2017/${name}.jpg", ` +
          `"height": ${h}, "width": ${w}, "date_captured": "2013-11-14 16:28:13", ` +
          `"flickr_url": "http://farm4.staticflickr.com/3153/2970773875_164f0c0b83_z.jpg", "id": ${id}}`,
      );
    }
    out.write('], "annotations": [');
    for (let a = 0; a < numAnnotations; a++) {
      const img = Math.floor(rand() * numImages);
      const [w, h] = sizes[img];
      const bw = 2 + rand() * (w / 2);
      const bh = 2 + rand() * (h / 2);
      const bx = rand() * (w - bw);
      const by = rand() * (h - bh);
      const crowd = rand() < 0.01;
      let segm: string;
      if (crowd) {
        // Uncompressed RLE of the box, column-major: per column a 0-run and a 1-run.
        const x0 = Math.floor(bx);
        const x1 = Math.min(w, Math.ceil(bx + bw));
        const y0 = Math.floor(by);
        const y1 = Math.min(h, Math.ceil(by + bh));
        const counts: number[] = [x0 * h + y0];
        for (let x = x0; x < x1; x++) {
          counts.push(y1 - y0);
          counts.push(x + 1 < x1 ? h - (y1 - y0) : h - y1 + (w - x1) * h);
        }
        segm = `{"counts": [${counts.join(', ')}], "size": [${h}, ${w}]}`;
      } else {
        const polys: string[] = [];
        const numPolys = rand() < 0.1 ? 2 : 1;
        for (let p = 0; p < numPolys; p++) {
          const pts = 3 + Math.floor(rand() * rand() * 67);
          const xy: string[] = [];
          for (let k = 0; k < pts; k++) {
            const t = (2 * Math.PI * k) / pts;
            const rr = 0.75 + 0.25 * rand();
            xy.push(r2(bx + (bw / 2) * (1 + rr * Math.cos(t))), r2(by + (bh / 2) * (1 + rr * Math.sin(t))));
          }
          polys.push(`[${xy.join(', ')}]`);
        }
        segm = `[${polys.join(', ')}]`;
      }
      const area = Math.round(bw * bh * (crowd ? 1 : 0.6) * 10000) / 10000;
      const cat = COCO_CATEGORY_IDS[Math.floor(rand() * COCO_CATEGORY_IDS.length)];
      out.write(
        `${a ? ', ' : ''}{"segmentation": ${segm}, "area": ${area}, "iscrowd": ${crowd ? 1 : 0}, "image_id": ${img * 3 + 1}, ` +
          `"bbox": [${r2(bx)}, ${r2(by)}, ${r2(bw)}, ${r2(bh)}], "category_id": ${cat}, "id": ${a + 1}}`,
      );
    }
    out.write('], "categories": [');
    out.write(COCO_CATEGORY_IDS.map((id) => `{"supercategory": "thing", "id": ${id}, "name": "class_${id}"}`).join(', '));
    out.write(']}');
    out.flush();
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return out.bytes;
}

interface Figures {
  seconds: number;
  /** User + system CPU seconds (steadier than wall time on a shared machine). */
  cpuSeconds: number;
  maxRssMiB: number;
  heapUsedMiB: number;
  detail: string;
}

async function child(mode: string, file: string): Promise<Figures> {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let detail: string;
  if (mode === 'load') {
    const coco = await loadCocoAnnotations(file);
    detail = `${coco.dataset.images.length} images, ${coco.dataset.annotations.length} annotations`;
  } else {
    const ds = await JsonDataset.load({ annotationFile: file, imageDirectory: path.dirname(file), name: 'synthetic' });
    const t1 = process.hrtime.bigint();
    const roidb = ds.getRoidb({ gt: true, checkImages: false });
    const t2 = process.hrtime.bigint();
    extendWithFlippedEntries(roidb, ds);
    const t3 = process.hrtime.bigint();
    let boxes = 0;
    for (const e of roidb) boxes += e.boxes.length / 4;
    detail =
      `${roidb.length} entries, ${boxes} gt boxes; load ${(Number(t1 - t0) / 1e9).toFixed(1)} s, ` +
      `get_roidb ${(Number(t2 - t1) / 1e9).toFixed(1)} s, flip ${(Number(t3 - t2) / 1e9).toFixed(1)} s`;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
    detail,
  };
}

export async function main(): Promise<void> {
  const cache = path.join(repoRoot(), 'data', 'cache');
  fs.mkdirSync(cache, { recursive: true });
  const file = path.join(cache, 'synthetic_instances_train.json');
  const marker = `${file}.v${GENERATOR_VERSION}`;
  if (!fs.existsSync(file) || !fs.existsSync(marker)) {
    const t0 = process.hrtime.bigint();
    const bytes = writeSyntheticCoco(file);
    fs.writeFileSync(marker, `${bytes}\n`);
    process.stdout.write(`  generated ${file} (${(bytes / 1e6).toFixed(0)} MB) in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s\n`);
  }
  const size = fs.statSync(file).size;
  process.stdout.write(`  file: ${(size / 1e6).toFixed(0)} MB (${(size / 2 ** 20).toFixed(0)} MiB)\n`);
  for (const [mode, label] of [
    ['load', 'streaming load -> COCO index'],
    ['roidb', 'JsonDataset + get_roidb(gt) + flipped'],
  ] as const) {
    const out = execFileSync(process.execPath, [__filename, '--child', mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const f = JSON.parse(out) as Figures;
    process.stdout.write(
      `  ${label.padEnd(40)} ${f.seconds.toFixed(1).padStart(6)} s (cpu ${f.cpuSeconds.toFixed(1)} s)  ${(size / 1e6 / f.seconds).toFixed(0).padStart(4)} MB/s  ` +
        `peak RSS ${f.maxRssMiB.toFixed(0)} MiB  heap ${f.heapUsedMiB.toFixed(0)} MiB  (${f.detail})\n`,
    );
  }
}

if (require.main === module) {
  const [flag, mode, file] = process.argv.slice(2);
  if (flag === '--child') {
    child(mode, file)
      .then((f) => process.stdout.write(JSON.stringify(f)))
      .catch((err: unknown) => {
        console.error(err);
        process.exit(1);
      });
  } else {
    main().catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  }
}
