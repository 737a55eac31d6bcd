/**
 * Every case of every file in golden/models/: Detectron's whole test path on generated
 * weights, compared with a reference Detectron implementation (rules: golden/README.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import { imDetectAll } from '../lib/core/test';
import { loadDetectronWeights } from '../lib/modeling/detectron_weights';
import { GeneralizedRCNN } from '../lib/modeling/model_builder';
import { imread } from '../lib/utils/image_io';
import { loadWeights } from '../converters/weights';
import { compareImage, GoldenDetection } from './helpers/compare_models';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

interface GoldenDebug {
  blob_shape: number[];
  im_info: number[];
  rpn: { num_proposals: number; first_boxes: number[][]; first_scores: number[] };
  num_rois: number;
  first_cls_prob: number[][];
  first_bbox_pred: number[][];
}

interface GoldenImage {
  image: string;
  height: number;
  width: number;
  im_scale: number;
  detections: GoldenDetection[];
  first_image_debug?: GoldenDebug;
}

interface GoldenModel {
  weights: { arch: string; seed: number };
  config: string;
  overrides: Record<string, unknown>;
  num_classes: number;
  images: GoldenImage[];
}

const DIR = path.join(FIXTURES, 'golden/models');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

function overrides(o: Record<string, unknown>): string[] {
  return Object.entries(o).flatMap(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

function expectClose(ours: ArrayLike<number>, golden: number[], tol: number, what: string): void {
  for (let i = 0; i < golden.length; i++) {
    if (!(Math.abs(ours[i] - golden[i]) <= tol)) throw new Error(`${what}[${i}]: ${ours[i]} vs golden ${golden[i]}`);
  }
}

function checkDebug(debug: ReturnType<typeof imDetectAll>['debug'], g: GoldenDebug, numClasses: number): void {
  expect(debug.blobShape).toEqual(g.blob_shape);
  expectClose(debug.imInfo, g.im_info, 1e-4, 'im_info');
  expect(debug.proposals.length / 5).toBe(g.rpn.num_proposals);
  g.rpn.first_boxes.forEach((box, i) => expectClose(debug.proposals.subarray(5 * i + 1, 5 * i + 5), box, 0.01, `proposal ${i}`));
  expectClose(debug.proposalScores, g.rpn.first_scores, 1e-4, 'proposal scores');
  expect(debug.clsProb.length / numClasses).toBe(g.num_rois);
  g.first_cls_prob.forEach((row, i) => expectClose(debug.clsProb.subarray(i * numClasses), row, 1e-4, `cls_prob row ${i}`));
  const deltaCols = g.first_bbox_pred[0].length;
  g.first_bbox_pred.forEach((row, i) => expectClose(debug.bboxPred.subarray(i * deltaCols), row, 1e-4, `bbox_pred row ${i}`));
}

describe.each(files)('golden model %s', (file) => {
  const golden = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as GoldenModel;
  let model: GeneralizedRCNN;

  beforeAll(() => {
    const cfg = loadConfig(path.join(FIXTURES, golden.config), { overrides: overrides(golden.overrides) });
    model = new GeneralizedRCNN(cfg);
    const weights = loadWeights(detectronPkl(golden.weights.arch, golden.weights.seed));
    loadDetectronWeights(model, weights.blobs, { strict: true });
    model.channelsLast();
  });

  afterAll(() => model.dispose());

  test.each(golden.images.map((g, i) => [g.image, i] as const))('%s', async (_name, index) => {
    const g = golden.images[index];
    const im = await imread(path.join(FIXTURES, g.image));
    const result = imDetectAll(model, im);
    expect([result.height, result.width]).toEqual([g.height, g.width]);
    expect(result.imScale).toBeCloseTo(g.im_scale, 12);
    if (g.first_image_debug !== undefined) checkDebug(result.debug, g.first_image_debug, golden.num_classes);
    expect(compareImage(g.detections, result.detections)).toEqual([]);
  });
});
