/**
 * Overfitting benchmark: Mask R-CNN R-50-FPN on the five instances_mini images and Keypoint
 * R-CNN R-50-FPN on the four person_keypoints_mini images, each started from
 * make_detectron_pkl.py weights and trained at TRAIN.SCALES (320,) until it memorises them,
 * then evaluated with test_net on the same images at TEST.SCALE 320. Prints the loss curve,
 * box / mask / keypoint AP, seconds per SGD step and peak RSS.
 *
 *   npx tsc -p . && node dist/bench/overfit.js [--steps N] [--model mask|keypoint|both]
 *     [--lr 3e-4] [--warmup 20] [--every 10] [--rois 256] [--threads T] [--out DIR]
 *   node dist/bench/overfit.js --eval-latest [--model ...]   # curve + AP of the newest checkpoint of a run in --out
 *
 * The generated weights give very large gradients: a constant LR above ~5e-4 from step 0
 * diverges, so the schedule warms up linearly from WARM_UP_FACTOR × LR and decays ×0.1 for
 * the last ~15% of the steps.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { trainModel } from '../lib/core/train';
import { CheckpointManager } from '../lib/utils/checkpoints';
import { getThreads, setThreads } from '../lib/nn/runtime';
import { testNet } from '../tools/test_net';
import { argString, FIXTURES, generatedWeights, ROOT } from './common';

const CFG_DIR = path.join(FIXTURES, 'configs/detectron/12_2017_baselines');
const IMAGES = path.join(FIXTURES, 'coco/images');

/** make_detectron_pkl.py weights (seed 1), cached in data/cache as the tests cache them. */


interface Run {
  name: string;
  cfg: string;
  arch: string;
  ann: string;
  images: number;
}

const RUNS: Record<string, Run> = {
  mask: {
    name: 'Mask R-CNN R-50-FPN', cfg: 'e2e_mask_rcnn_R-50-FPN_1x.yaml', arch: 'e2e_mask_rcnn_R-50-FPN',
    ann: path.join(FIXTURES, 'coco/annotations/instances_mini.json'), images: 5,
  },
  keypoint: {
    name: 'Keypoint R-CNN R-50-FPN', cfg: 'e2e_keypoint_rcnn_R-50-FPN_1x.yaml', arch: 'e2e_keypoint_rcnn_R-50-FPN',
    ann: path.join(FIXTURES, 'coco/annotations/person_keypoints_mini.json'), images: 4,
  },
};

let peakRss = 0;
function samplePeak(): void {
  peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
}

/**
 * The loss curve: per window of `every` steps, the mean summed loss (when the run's own losses are
 * at hand) and the logged stats at the window's end (Detectron's 20-step medians), with the
 * seconds per step of the logged window.
 */
function printCurve(outDir: string, losses: number[] | null, every: number): void {
  const logged = fs.readFileSync(path.join(outDir, 'training_stats.jsonl'), 'utf8').trim().split('\n')
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, unknown>).map(([k, v]) => [k, Number(v)])));
  console.log(`loss every ${every} steps (${losses !== null ? 'mean summed loss of the window; ' : ''}components: Detectron's 20-step medians at the logged iteration):`);
  for (const stat of logged) {
    const parts = Object.entries(stat).filter(([k, v]) => k.startsWith('loss_') && v !== 0 && !k.startsWith('loss_rpn_bbox'))
      .map(([k, v]) => `${k.replace('loss_', '')} ${v.toFixed(3)}`).join(' ');
    const s = stat.iter;
    const w = losses?.slice(Math.max(0, s - every + 1), s + 1);
    const mean = w === undefined || w.length === 0 ? '' : ` mean ${(w.reduce((a, b) => a + b, 0) / w.length).toFixed(3)}`;
    console.log(`  iter ${String(s).padStart(4)} lr ${stat.lr.toExponential(2)} loss ${stat.loss.toFixed(3)}${mean} ` +
      `acc_cls ${(stat.accuracy_cls ?? NaN).toFixed(3)} ${stat.time.toFixed(1)} s/step | ${parts}`);
  }
}

const fmt = (v: number | undefined): string => (v === undefined ? '  -  ' : v.toFixed(3));

async function runOne(run: Run, o: { steps: number; lr: number; warmup: number; warmFactor: number; every: number; out: string; roisPerIm: number; evalLatest: boolean }): Promise<void> {
  const scale = 320;
  const maxSize = Math.round((scale * 1333) / 800);
  const perEpoch = run.images; // batch 1, no flipping
  const epochs = Math.ceil(o.steps / perEpoch);
  const decayEpoch = Math.max(1, Math.floor(epochs * 0.85));
  const outDir = path.join(o.out, path.basename(run.cfg, '.yaml'));
  const overrides = [
    'TRAIN.SCALES', `(${scale},)`, 'TRAIN.MAX_SIZE', String(maxSize), 'TRAIN.USE_FLIPPED', 'False',
    'SOLVER.WARM_UP_ITERS', String(o.warmup), 'SOLVER.WARM_UP_FACTOR', String(o.warmFactor), 'SOLVER.WARM_UP_METHOD', 'linear',
    'TRAIN.RPN_PRE_NMS_TOP_N', '2000', 'TRAIN.RPN_POST_NMS_TOP_N', '1000', 'TRAIN.BATCH_SIZE_PER_IM', String(o.roisPerIm),
  ];
  if (o.evalLatest) console.log(`\n== ${run.name}: ${run.images} images`);
  else console.log(`\n== ${run.name}: ${run.images} images, ${o.steps} steps (${epochs} epochs), TRAIN.SCALES (${scale},), ` +
    `LR ${o.lr} with linear warm-up over ${o.warmup} steps from ×${o.warmFactor}, ×0.1 from epoch ${decayEpoch}, ` +
    `BATCH_SIZE_PER_IM ${o.roisPerIm}, threads ${getThreads()}`);
  const timer = setInterval(samplePeak, 500);
  let weightsFile: string;
  let losses: number[] | null = null;
  if (o.evalLatest) {
    // Evaluate the newest checkpoint of a run still training (or stopped) in the same --out.
    const latest = new CheckpointManager(outDir, { keep: 1 }).list().pop();
    const final = path.join(outDir, 'model_final.pkl');
    if (fs.existsSync(final)) weightsFile = final;
    else if (latest !== undefined) weightsFile = latest.path;
    else throw new Error(`no checkpoint in ${outDir} yet`);
    console.log(`evaluating ${weightsFile}`);
  } else {
    fs.rmSync(outDir, { recursive: true, force: true });
    const t0 = Date.now();
    const r = await trainModel({
      cfg: path.join(CFG_DIR, run.cfg), datasets: [run.ann], imageDir: IMAGES, overrides, batchSize: 1, lr: o.lr,
      epochs, lrDecayEpochs: [decayEpoch], lrDecayGamma: 0.1, maxSteps: o.steps,
      loadDetectron: generatedWeights(run.arch), outputDir: outDir, seed: 7, dispInterval: o.every,
      ckptNumPerEpoch: 1, keepCheckpoints: 1, log: () => {},
    });
    samplePeak();
    weightsFile = r.finalWeights;
    losses = r.losses;
    console.log(`training: ${r.steps} steps, ${r.secondsPerStep.toFixed(2)} s/step (${((Date.now() - t0) / 1000).toFixed(0)} s with loading)`);
  }
  printCurve(outDir, losses, o.every);

  const lines: string[] = [];
  const t1 = Date.now();
  const summary = await testNet([], {
    cfg: path.join(CFG_DIR, run.cfg), wts: weightsFile, dataset: run.ann, imageDir: IMAGES, outputExt: 'pdf',
    outputDir: path.join(outDir, 'eval'), set: ['TEST.SCALE', String(scale), 'TEST.MAX_SIZE', String(maxSize)],
    device: 'cpu', restart: true,
  }, { log: { info: (l) => lines.push(l), warn: (l) => lines.push(l) } });
  samplePeak();
  clearInterval(timer);
  fs.writeFileSync(path.join(outDir, 'eval.log'), `${lines.join('\n')}\n`);
  const res = summary.runs[0]?.results;
  const tasks = res === null || res === undefined ? {} : Object.values(res)[0];
  const box = tasks.box ?? {};
  const mask = tasks.mask ?? {};
  const kp = tasks.keypoint ?? {};
  console.log(`evaluation on the training images at TEST.SCALE ${scale} (${((Date.now() - t1) / 1000).toFixed(0)} s, log ${path.join(outDir, 'eval.log')}):`);
  console.log(`  box AP ${fmt(box.AP)} AP50 ${fmt(box.AP50)} AP75 ${fmt(box.AP75)}` +
    (tasks.mask !== undefined ? ` | mask AP ${fmt(mask.AP)} AP50 ${fmt(mask.AP50)}` : '') +
    (tasks.keypoint !== undefined ? ` | keypoint AP ${fmt(kp.AP)} AP50 ${fmt(kp.AP50)}` : ''));
  console.log(`peak RSS so far ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--threads')) setThreads(Number(argString('--threads', '2')));
  const which = argString('--model', 'both');
  const o = {
    steps: Number(argString('--steps', '600')),
    lr: Number(argString('--lr', '3e-4')),
    warmup: Number(argString('--warmup', '20')),
    warmFactor: Number(argString('--warm-factor', '0.1')),
    every: Number(argString('--every', '10')),
    roisPerIm: Number(argString('--rois', '256')),
    evalLatest: process.argv.includes('--eval-latest'),
    out: argString('--out', path.join(os.tmpdir(), 'detectron_overfit')),
  };
  const runs = which === 'both' ? [RUNS.mask, RUNS.keypoint] : [RUNS[which]];
  if (runs.some((r) => r === undefined)) throw new Error(`--model: mask, keypoint or both, got '${which}'`);
  console.log(`${os.cpus().length} CPUs, threads ${getThreads()}`);
  for (const run of runs) await runOne(run, o);
  console.log(`\npeak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
