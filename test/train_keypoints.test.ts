/**
 * Keypoint R-CNN training, small: R-50-FPN from generated Detectron weights on the four
 * person_keypoints_mini images at TRAIN.SCALES (256,). The keypoint loss must be there and
 * finite at every step, and the losses must fall over three epochs of the same images.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { trainModel } from '../lib/core/train';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const CFG = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_keypoint_rcnn_R-50-FPN_1x.yaml');
const ANN = path.join(FIXTURES, 'coco/annotations/person_keypoints_mini.json');
const IMAGES = path.join(FIXTURES, 'coco/images');
const SMALL = ['TRAIN.SCALES', '(256,)', 'TRAIN.MAX_SIZE', '400', 'TRAIN.USE_FLIPPED', 'False', 'SOLVER.WARM_UP_ITERS', '0',
  'TRAIN.RPN_PRE_NMS_TOP_N', '1000', 'TRAIN.RPN_POST_NMS_TOP_N', '500', 'TRAIN.BATCH_SIZE_PER_IM', '128'];

describe('train_net with keypoints', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-kps-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('loss_kps is finite at every step and the losses fall', async () => {
    const out = path.join(dir, 'kps');
    const coco = JSON.parse(fs.readFileSync(ANN, 'utf8')) as { images: Array<{ id: number }>; annotations: Array<{ image_id: number }> };
    const count = (id: number): number => coco.annotations.filter((a) => a.image_id === id).length;
    const busiest = coco.images.reduce((a, b) => (count(b.id) > count(a.id) ? b : a));
    const ann = path.join(dir, 'one_image.json');
    fs.writeFileSync(ann, JSON.stringify({ ...coco, images: [busiest], annotations: coco.annotations.filter((a) => a.image_id === busiest.id) }));
    const r = await trainModel({
      cfg: CFG, datasets: [ann], imageDir: IMAGES, overrides: SMALL, batchSize: 1, lr: 0.0002, epochs: 6,
      loadDetectron: detectronPkl('e2e_keypoint_rcnn_R-50-FPN', 1), outputDir: out, seed: 7, log: () => {},
      dispInterval: 1,
    });
    expect(r.steps).toBe(6);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    // dispInterval 1: one stats line per step, with every loss of that step (20-step medians).
    const stats = fs.readFileSync(path.join(out, 'training_stats.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(stats.map((s) => s.iter)).toEqual(Array.from({ length: 6 }, (_, i) => i));
    for (const s of stats) {
      expect(typeof s.loss_kps).toBe('number');
      expect(Number.isFinite(s.loss_kps)).toBe(true);
    }
    // The first step's value is its own: a real softmax loss over the 56×56 heatmap, ~ln(3136) at random weights.
    expect(stats[0].loss_kps as number).toBeGreaterThan(1);
    // The same image every step: the last two steps' loss below the first two's; the box
    // classifier's loss falls fastest (stats are Detectron's medians of the steps so far).
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(r.losses.slice(-2))).toBeLessThan(mean(r.losses.slice(0, 2)));
    expect(stats[5].loss_cls as number).toBeLessThan(stats[0].loss_cls as number);
    expect(stats[5].loss_kps as number).toBeLessThan(1.01 * (stats[0].loss_kps as number));
  }, 600_000); // ~40 s on an idle 2-core CPU; minutes when other jobs share it
});
