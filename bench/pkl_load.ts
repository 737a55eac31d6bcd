/**
 * How fast a Detectron model_final.pkl loads, and the memory it takes, next to Python:
 * R-50-FPN Mask R-CNN from the fixture generator, without (178 MB) and with momentum (355 MB).
 * Each load runs in a fresh child process so that the peak RSS is that load's alone; figures are
 * medians over the runs. Python's time is `pickle.load(f, encoding='latin1')` with numpy, the way
 * Detectron's load_object reads the file (skipped when python3 or numpy is missing).
 *
 *   npx tsc -p . && node dist/bench/pkl_load.js [RUNS]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadWeights } from '../converters/weights';

/** The repository root: the nearest directory above this file with a package.json. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

const ROOT = repoRoot();
const MAKE_PKL = path.resolve(ROOT, '../shared/fixtures/make_detectron_pkl.py');
const CACHE = path.join(ROOT, 'data/cache');

const FILES = [
  { name: 'e2e_mask_rcnn_R-50-FPN_s1.pkl', args: ['--seed', '1'] },
  { name: 'e2e_mask_rcnn_R-50-FPN_s1_momentum.pkl', args: ['--seed', '1', '--momentum'] },
];

interface ChildResult {
  ms: number;
  peakDeltaBytes: number;
  blobs: number;
}

/** In the child: one load, its wall time and the peak RSS above the pre-load RSS. */
function childMeasure(file: string): void {
  const before = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const w = loadWeights(file);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const peak = process.resourceUsage().maxRSS * 1024;
  const result: ChildResult = { ms, peakDeltaBytes: peak - before, blobs: w.blobs.size + w.momentum.size };
  process.stdout.write(JSON.stringify(result));
}

function ensureFile(name: string, args: string[]): string {
  const file = path.join(CACHE, name);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(CACHE, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  const r = spawnSync('python3', [MAKE_PKL, 'e2e_mask_rcnn_R-50-FPN', temp, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`make_detectron_pkl.py failed for ${name}`);
  fs.renameSync(temp, file);
  return file;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function ourLoads(file: string, runs: number): ChildResult[] {
  const out: ChildResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [__filename, '--child', file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`child load failed: ${r.stderr}`);
    out.push(JSON.parse(r.stdout) as ChildResult);
  }
  return out;
}

function pythonLoads(file: string, runs: number): number[] | null {
  if (spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0) return null;
  const script = "import pickle,time,sys;F=sys.argv[1];t=time.time();pickle.load(open(F,'rb'),encoding='latin1');print(time.time()-t)";
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    if (r.status !== 0) return null;
    out.push(parseFloat(r.stdout) * 1000);
  }
  return out;
}

function main(): void {
  const runs = Math.max(1, parseInt(process.argv[2] ?? '5', 10));
  console.log(`Detectron .pkl load (median of ${runs} runs, each in a fresh process)`);
  for (const { name, args } of FILES) {
    const file = ensureFile(name, args);
    const size = fs.statSync(file).size;
    // Interleave ours and Python's so that both see the same page-cache and machine load.
    const ours: ChildResult[] = [];
    const py: number[] = [];
    let pythonAvailable = true;
    for (let i = 0; i < runs; i++) {
      ours.push(...ourLoads(file, 1));
      const p = pythonAvailable ? pythonLoads(file, 1) : null;
      if (p === null) pythonAvailable = false;
      else py.push(...p);
    }
    const ms = median(ours.map((r) => r.ms));
    const peak = Math.max(...ours.map((r) => r.peakDeltaBytes));
    const mb = (b: number): string => (b / 1e6).toFixed(1);
    console.log(`${name}: ${mb(size)} MB, ${ours[0].blobs} blobs`);
    console.log(`  ours:   ${ms.toFixed(0)} ms, peak RSS +${mb(peak)} MB (${(peak / size).toFixed(2)}x file size)`);
    if (pythonAvailable) console.log(`  python: ${median(py).toFixed(0)} ms (pickle.load + numpy), ours/python = ${(ms / median(py)).toFixed(2)}`);
    else console.log('  python: skipped (python3 with numpy not available)');
  }
}

if (process.argv[2] === '--child') childMeasure(process.argv[3]);
else if (require.main === module) main();
