/**
 * Training as users run it, small: Mask R-CNN R-50-FPN from generated Detectron weights on
 * the five COCO fixture images at TRAIN.SCALES (256,). Losses must fall, checkpoints must
 * resume exactly, and a trained model must go through test_net.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCheckpoint } from '../lib/utils/checkpoints';
import { SerialGroup } from '../lib/utils/distributed';
import { trainModel, TrainOptions } from '../lib/core/train';
import { buildProgram } from '../tools/detectron';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const CFG = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');
const ANN = path.join(FIXTURES, 'coco/annotations/instances_mini.json');
const IMAGES = path.join(FIXTURES, 'coco/images');
/** Training runs are long on a 2-core CPU: a generous limit, so that a busy machine does not fail them. */
const LONG = 900_000;

const SMALL = ['TRAIN.SCALES', '(256,)', 'TRAIN.MAX_SIZE', '400', 'TRAIN.USE_FLIPPED', 'False', 'SOLVER.WARM_UP_ITERS', '0',
  'TRAIN.RPN_PRE_NMS_TOP_N', '1000', 'TRAIN.RPN_POST_NMS_TOP_N', '500', 'TRAIN.BATCH_SIZE_PER_IM', '128'];

describe('train_net', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-'));
  const base = (out: string): TrainOptions => ({
    cfg: CFG, datasets: [ANN], imageDir: IMAGES, overrides: SMALL, batchSize: 1, lr: 0.0002,
    loadDetectron: detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), outputDir: path.join(dir, out), seed: 7,
    log: () => {}, dispInterval: 100,
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('losses fall when training on the same images', async () => {
    const r = await trainModel({ ...base('fall'), epochs: 4 });
    expect(r.steps).toBe(20);
    const first = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(0.7 * first);
    const ckpt = loadCheckpoint(r.finalWeights);
    expect(ckpt.state?.iteration).toBe(19);
    expect(ckpt.blobs.has('fpn_inner_res5_2_sum_w')).toBe(true);
    expect(ckpt.momentum.has('fpn_inner_res5_2_sum_w_momentum')).toBe(true);
  }, LONG);

  test('a run stopped and resumed gives the same losses as an uninterrupted one', async () => {
    const whole = await trainModel({ ...base('whole'), epochs: 1, ckptNumPerEpoch: 1 });
    const firstPart = await trainModel({ ...base('parts'), epochs: 1, maxSteps: 2, ckptNumPerEpoch: 5 });
    const rest = await trainModel({ ...base('parts'), epochs: 1, resume: true });
    expect(firstPart.losses.concat(rest.losses)).toEqual(whole.losses);
  }, LONG);

  test('a data-parallel run resumes exactly: every rank\'s RoI-sampling stream is in the checkpoint', async () => {
    const dp = (out: string): TrainOptions => ({ ...base(out), batchSize: 2, epochs: 2, distributed: new SerialGroup(2) });
    const whole = await trainModel(dp('dp_whole'));
    expect(whole.steps).toBe(4);
    const firstPart = await trainModel({ ...dp('dp_parts'), maxSteps: 2 });
    const ckpt = loadCheckpoint(path.join(dir, 'dp_parts', 'model_final.pkl'));
    expect(ckpt.state?.rng.ranks?.length).toBe(2);
    const rest = await trainModel({ ...dp('dp_parts'), resume: true });
    expect(firstPart.losses.concat(rest.losses)).toEqual(whole.losses);
  }, LONG);

  test('a one-epoch training run evaluates with test_net', async () => {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string | Uint8Array) => (chunks.push(String(c)), true)) as typeof process.stdout.write;
    try {
      await buildProgram().exitOverride().parseAsync([
        'node', 'detectron', 'train_net', '--dataset', ANN, '--image-dir', IMAGES, '--cfg', CFG, '--bs', '1', '--epochs', '1',
        '--lr', '0.0002', '--load_detectron', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--output_dir', path.join(dir, 'cli'),
        '--set', ...SMALL,
      ]);
      await buildProgram().exitOverride().parseAsync([
        'node', 'detectron', 'test_net', '--cfg', CFG, '--wts', path.join(dir, 'cli', 'model_final.pkl'), '--dataset', ANN,
        '--image-dir', IMAGES, '--output-dir', path.join(dir, 'cli_test'), '--set', 'TEST.SCALE', '256', 'TEST.MAX_SIZE', '400',
        'TEST.SCORE_THRESH', '0.0',
      ]);
    } finally {
      process.stdout.write = write;
    }
    const out = chunks.join('');
    // Scored with TEST.SCORE_THRESH 0, every box counts: pycocotools' summary and AP table print.
    expect(out).toMatch(/Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = \d\.\d{3}/);
    expect(out).toContain('copypaste: Task: mask');
  }, LONG);
});
