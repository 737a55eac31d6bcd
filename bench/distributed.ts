/**
 * Data-parallel training throughput on this machine: Mask R-CNN R-50-FPN on the five
 * instances_mini images at TRAIN.SCALES (256,), global minibatch --bs 2, from generated
 * Detectron weights; one process (every core) against `train_net --nproc 2` (c10d/Gloo over
 * 127.0.0.1, the cores split between the ranks), with gradients reduced bucket by bucket during
 * backward (libtorch's DDP reducer, the default) and in one all-reduce after it
 * (--ddp_no_overlap). Prints images/s from the steady-state step time Detectron logs (the mean
 * over the steps after the first).
 *
 *   npx tsc -p . && node dist/bench/distributed.js [--steps N] [--nproc 2]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { launchLocal } from '../lib/utils/distributed_launch';
import { trainModel } from '../lib/core/train';
import { argNumber, FIXTURES, generatedWeights } from './common';

const CFG = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');
const ANN = path.join(FIXTURES, 'coco/annotations/instances_mini.json');
const IMAGES = path.join(FIXTURES, 'coco/images');
const SMALL = ['TRAIN.SCALES', '(256,)', 'TRAIN.MAX_SIZE', '400', 'TRAIN.USE_FLIPPED', 'False', 'SOLVER.WARM_UP_ITERS', '0',
  'TRAIN.RPN_PRE_NMS_TOP_N', '1000', 'TRAIN.RPN_POST_NMS_TOP_N', '500', 'TRAIN.BATCH_SIZE_PER_IM', '128'];
const BS = 2;

/** Seconds per step after the first, from the per-iteration `time` (a running mean) Detectron logs. */
function steadyStepSeconds(dir: string): number {
  const stats = fs.readFileSync(path.join(dir, 'training_stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const n = stats.length;
  if (n < 2) return Number(stats[0].time);
  // time_k is the mean of the first k + 1 step times: the steps after the first sum to n·t_n − t_0.
  return (n * Number(stats[n - 1].time) - Number(stats[0].time)) / (n - 1);
}

async function main(): Promise<void> {
  const steps = argNumber('--steps', 6);
  const nproc = argNumber('--nproc', 2);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dist-'));
  const pkl = generatedWeights('e2e_mask_rcnn_R-50-FPN');
  const epochs = String(Math.ceil(steps / 2) + 1);
  try {
    const one = path.join(out, 'one');
    await trainModel({
      cfg: CFG, datasets: [ANN], imageDir: IMAGES, overrides: SMALL, batchSize: BS, lr: 0.0002, epochs: Number(epochs),
      maxSteps: steps, loadDetectron: pkl, outputDir: one, seed: 7, dispInterval: 1, log: () => {},
    });
    const multi = async (name: string, extra: string[]): Promise<number> => {
      const dir = path.join(out, name);
      await launchLocal({
        nproc, onLine: () => {},
        args: ['train_net', '--dataset', ANN, '--image-dir', IMAGES, '--cfg', CFG, '--bs', String(BS), '--epochs', epochs,
          '--max_steps', String(steps), '--lr', '0.0002', '--seed', '7', '--disp_interval', '1', '--load_detectron', pkl,
          '--output_dir', dir, ...extra, '--set', ...SMALL],
      });
      return steadyStepSeconds(dir);
    };
    const overlapped = await multi('overlap', []);
    const after = await multi('after', ['--ddp_no_overlap']);
    const t1 = steadyStepSeconds(one);
    const line = (label: string, t: number): string =>
      `  ${label.padEnd(58)} ${t.toFixed(2)} s/step  ${(BS / t).toFixed(3)} images/s  (×${(t1 / t).toFixed(2)})\n`;
    process.stdout.write(`Mask R-CNN R-50-FPN, TRAIN.SCALES (256,), global batch ${BS}, ${steps} steps, ${os.cpus().length} CPUs\n`);
    process.stdout.write(line(`1 process (${os.cpus().length} threads)`, t1));
    process.stdout.write(line(`${nproc} processes, c10d/Gloo, DDP reducer during backward`, overlapped));
    process.stdout.write(line(`${nproc} processes, c10d/Gloo, one all-reduce after backward`, after));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
