/**
 * RetinaNet training (lib/modeling/retinanet_losses.ts, the RetinaNet path of lib/core/train.ts)
 * against Detectron's add_fpn_retinanet_losses and Caffe2's SelectSmoothL1Loss /
 * SigmoidFocalLoss / SoftmaxFocalLoss.
 *
 * Literals: a float64 numpy transcription of the operators' CUDA kernels (forward and gradient
 * kernels, modules/detectron/*_op.cu), run in a scratch script outside the repo on the inputs
 * generated below.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import { trainModel } from '../lib/core/train';
import { RetinaNet } from '../lib/modeling/retinanet';
import { retinanetLosses, selectSmoothL1Loss, softmaxFocalLoss } from '../lib/modeling/retinanet_losses';
import { noGrad } from '../lib/nn/autograd';
import { dispose, tidy } from '../lib/nn/scope';
import { fromArray, manualSeed, Tensor } from '../lib/nn/tensor';
import type { NdArray } from '../lib/utils/ndarray';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const R50 = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/retinanet_R-50-FPN_1x.yaml');

const closeAll = (actual: ArrayLike<number | bigint>, expected: ArrayLike<number>, digits: number) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Number(actual[i])).toBeCloseTo(expected[i], digits);
};

describe('SelectSmoothL1Loss', () => {
  // N=2, A=2 (D=8), H=2, W=3; pred[i] = ((37·i mod 23) - 11) / 40 in row-major order.
  const shape = [2, 8, 2, 3];
  const predValues = () => Float64Array.from({ length: 96 }, (_, i) => (((i * 37) % 23) - 11) / 40);
  const locs = [0, 0, 1, 2, 0, 4, 0, 1, 1, 4, 1, 0, 1, 0, 0, 0];
  const targets = [0.5, -0.25, 0.0625, 1, -0.5, 0.125, 0.25, -0.0625, 0, 0, 0.75, -1.5, 0.03125, -0.4375, 0.5, 0.1875];
  const opts = { beta: 0.11, normalizer: 3, scale: 0.5 };
  const LOSS = 1.0629356060606059;
  const GRAD_INDEX = [5, 11, 17, 23, 25, 31, 37, 43, 48, 54, 60, 66, 75, 81, 87, 93];
  const THIRD = 0.16666666666666666;
  const QUAD = 0.15151515151515152;
  const GRAD = [-THIRD, THIRD, -THIRD, -THIRD, THIRD, QUAD, -THIRD, -THIRD, -THIRD, THIRD, -THIRD, -THIRD, QUAD, -QUAD, -THIRD, THIRD];

  test('value and gradient equal the Caffe2 kernels', () => {
    const pred = fromArray(predValues(), shape).requiresGrad_();
    const loss = selectSmoothL1Loss(pred, Float32Array.from(targets), Float32Array.from(locs), opts);
    expect(loss.item()).toBeCloseTo(LOSS, 12);
    loss.backward();
    const g = pred.grad!.data();
    const expected = new Float64Array(96);
    GRAD_INDEX.forEach((k, i) => { expected[k] = GRAD[i]; });
    closeAll(g, expected, 12);
  });

  test('no foreground gives 0; the normaliser is floored at 1', () => {
    const pred = fromArray(predValues(), shape);
    expect(selectSmoothL1Loss(pred, new Float32Array(0), new Float32Array(0), opts).item()).toBe(0);
    const atOne = selectSmoothL1Loss(pred, Float32Array.from(targets), Float32Array.from(locs), { ...opts, normalizer: 1 }).item();
    const below = selectSmoothL1Loss(pred, Float32Array.from(targets), Float32Array.from(locs), { ...opts, normalizer: 0.25 }).item();
    expect(below).toBe(atOne);
    expect(atOne).toBeCloseTo(LOSS * 3, 12);
  });

  test('locations outside the prediction (field cells past the output) are left out', () => {
    const pred = fromArray(predValues(), shape);
    const outside = [1, 4, 2, 0, 0, 0, 0, 3, 0, 8, 0, 0];
    const loss = selectSmoothL1Loss(pred, Float32Array.from([...targets, ...new Array(12).fill(5)]),
      Float32Array.from([...locs, ...outside]), opts);
    expect(loss.item()).toBeCloseTo(LOSS, 12);
  });
});

describe('SoftmaxFocalLoss', () => {
  // N=1, A=2, C=3, H=W=2; X[i] = ((29·i mod 17) - 8) / 5; channel a·C + c.
  const X = () => fromArray(Float64Array.from({ length: 24 }, (_, i) => (((i * 29) % 17) - 8) / 5), [1, 6, 2, 2]);
  const labels = fromArray(Int32Array.from([0, 1, -1, 2, 2, 0, 1, -1]), [1, 2, 2, 2]);
  const GRAD = [-0.2800174100683957, 0.045125752142191264, 0, 0.0028897966422810214, 0.18079500666367423, -0.05871736749560392, 0,
    0.04752168502261369, 0.09922240340472147, 0.013591615353412658, 0, -0.05041148166489471, 0.053860906913885086,
    -0.2769904070880218, 0.04512575214219126, 0, 0.029559492444917332, 0.015878246818213024, -0.05871736749560392, 0,
    -0.08342039935880244, 0.26111216026980877, 0.013591615353412662, 0];

  test('value and gradient equal the Caffe2 kernels', () => {
    const x = X().requiresGrad_();
    const loss = softmaxFocalLoss(x, labels, { numClasses: 3, gamma: 2, alpha: 0.25, normalizer: 3 });
    expect(loss.item()).toBeCloseTo(1.4867935025757142, 12);
    loss.backward();
    closeAll(x.grad!.data(), GRAD, 12);
  });

  test('gamma 0, scale 2 and fg_num 0 (normaliser floored at 1)', () => {
    const loss = softmaxFocalLoss(X(), labels, { numClasses: 3, gamma: 0, alpha: 0.5, normalizer: 0, scale: 2 });
    expect(loss.item()).toBeCloseTo(10.95594638426843, 12);
  });
});

/** A 32-bit LCG for synthetic labels and targets. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Synthetic RetinaNet blobs for a 2×3×128×128 input: levels 3..7 (16² .. 1²), A anchors.
 * Labels in {-1, 0, 1, .., K}; a few foreground locations per level.
 */
function syntheticBlobs(a: number, k: number, classSpecific: boolean): Record<string, NdArray> {
  const rand = lcg(7);
  const n = 2;
  const data = Float32Array.from({ length: n * 3 * 128 * 128 }, () => (rand() - 0.5) * 100);
  const blobs: Record<string, NdArray> = {
    data: { dtype: 'float32', shape: [n, 3, 128, 128], data },
    retnet_fg_num: { dtype: 'float32', shape: [1], data: Float32Array.of(6) },
    retnet_bg_num: { dtype: 'float32', shape: [1], data: Float32Array.of(1234) },
  };
  const locStride = classSpecific ? 4 * k : 4;
  for (let lvl = 3; lvl <= 7; lvl++) {
    const s = 128 >> lvl;
    const labels = Int32Array.from({ length: n * a * s * s }, () => Math.floor(rand() * (k + 2)) - 1);
    blobs[`retnet_cls_labels_fpn${lvl}`] = { dtype: 'int32', shape: [n, a, s, s], data: labels };
    const m = 3;
    const locs = new Float32Array(4 * m);
    const targets = Float32Array.from({ length: 4 * m }, () => Math.round((rand() - 0.5) * 64) / 64);
    for (let i = 0; i < m; i++) {
      const cls = classSpecific ? Math.floor(rand() * k) : 0;
      locs.set([i % n, 4 * cls + locStride * Math.floor(rand() * a), Math.floor(rand() * s), Math.floor(rand() * s)], 4 * i);
    }
    blobs[`retnet_roi_bbox_targets_fpn${lvl}`] = { dtype: 'float32', shape: [m, 4], data: targets };
    blobs[`retnet_roi_fg_bbox_locs_fpn${lvl}`] = { dtype: 'float32', shape: [m, 4], data: locs };
  }
  return blobs;
}

/** Per-element transcription of Caffe2's SigmoidFocalLoss (forward kernel), float64. */
function refSigmoidFocal(x: Float32Array, t: Int32Array, shape: number[], k: number, gamma: number, alpha: number, fg: number): number {
  const [n, d, h, w] = shape;
  const a = d / k;
  const np = Math.max(fg, 1);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const xx = i % w;
    const yy = Math.floor(i / w) % h;
    const c = Math.floor(i / (w * h)) % d;
    const im = Math.floor(i / (w * h * d));
    const label = t[im * h * w * a + Math.floor(c / k) * h * w + yy * w + xx];
    const cls = (c % k) + 1;
    const p = 1 / (1 + Math.exp(-x[i]));
    const term1 = (1 - p) ** gamma * Math.log(Math.max(p, 1.1754943508222875e-38));
    const ge = x[i] >= 0 ? 1 : 0;
    const term2 = p ** gamma * (-x[i] * ge - Math.log(1 + Math.exp(x[i] - 2 * x[i] * ge)));
    if (label === cls) sum -= term1 * alpha / np;
    else if (label !== -1) sum -= term2 * (1 - alpha) / np;
  }
  void n;
  return sum;
}

/** Caffe2's SelectSmoothL1Loss forward kernel, float64. */
function refSelectSmoothL1(y: Float32Array, shape: number[], targets: Float32Array, locs: Float32Array, beta: number, fg: number): number {
  const [, d, h, w] = shape;
  let sum = 0;
  for (let i = 0; i < locs.length; i += 4) {
    for (let j = 0; j < 4; j++) {
      const v = y[locs[i] * d * h * w + (locs[i + 1] + j) * h * w + locs[i + 2] * w + locs[i + 3]] - targets[i + j];
      sum += (Math.abs(v) < beta ? 0.5 * v * v / beta : Math.abs(v) - 0.5 * beta) / Math.max(fg, 1);
    }
  }
  return sum;
}

describe('add_fpn_retinanet_losses', () => {
  const small = ['MODEL.NUM_CLASSES', '4', 'RETINANET.SCALES_PER_OCTAVE', '1', 'RETINANET.ASPECT_RATIOS', '(1.0, 2.0)',
    'RETINANET.NUM_CONVS', '1', 'NUM_GPUS', '2', 'RETINANET.BBOX_REG_WEIGHT', '3.0', 'RETINANET.BBOX_REG_BETA', '0.2'];

  let sigmoidModel: RetinaNet;
  beforeAll(() => {
    manualSeed(3);
    sigmoidModel = new RetinaNet(loadConfig(R50, { overrides: [...small, 'RETINANET.CLASS_SPECIFIC_BBOX', 'True'] }));
  });

  test('sigmoid: every level\'s losses, named, scaled and normalised as Detectron\'s; finite gradients', () => {
    const model = sigmoidModel;
    for (const [, p] of model.namedParameters()) p.tensor.requiresGrad_(p.trainable);
    const blobs = syntheticBlobs(2, 3, true);
    const ref = noGrad(() => tidy(() => {
      const d = blobs.data;
      const outs = model.forward(fromArray(d.data, d.shape));
      return outs.map((o) => ({
        level: o.level, cls: o.clsLogits.data() as Float32Array, clsShape: o.clsLogits.shape,
        box: o.bboxPred.data() as Float32Array, boxShape: o.bboxPred.shape,
      }));
    }));
    const out = retinanetLosses(model, { blobs, roidb: [] });
    expect([...out.losses.keys()]).toEqual([3, 4, 5, 6, 7].map((l) => `retnet_loss_bbox_fpn${l}`).concat([3, 4, 5, 6, 7].map((l) => `fl_fpn${l}`)));
    expect(out.metrics).toEqual({ retnet_fg_num: 6, retnet_bg_num: 1234 });
    expect(out.accuracyCls).toBeNull();
    for (const r of ref) {
      expect(r.boxShape[1]).toBe(2 * 4 * 3);
      const labels = blobs[`retnet_cls_labels_fpn${r.level}`].data as Int32Array;
      const fl = refSigmoidFocal(r.cls, labels, r.clsShape, 3, 2, 0.25, 6) / 2;
      // float32 sums of ~10⁴ terms against float64: relative agreement
      expect(Math.abs(out.losses.get(`fl_fpn${r.level}`)!.item() / fl - 1)).toBeLessThan(1e-5);
      const box = refSelectSmoothL1(r.box, r.boxShape, blobs[`retnet_roi_bbox_targets_fpn${r.level}`].data as Float32Array,
        blobs[`retnet_roi_fg_bbox_locs_fpn${r.level}`].data as Float32Array, 0.2, 6) * 3 / 2;
      expect(box).toBeGreaterThan(0);
      expect(Math.abs(out.losses.get(`retnet_loss_bbox_fpn${r.level}`)!.item() / box - 1)).toBeLessThan(1e-5);
    }
    tidy(() => {
      let total: Tensor | null = null;
      for (const l of out.losses.values()) total = total === null ? l : total.add(l);
      total!.backward();
    });
    dispose(out.losses);
    let nonzero = 0;
    for (const [name, p] of model.namedParameters()) {
      const g = p.tensor.grad;
      if (!p.trainable) continue;
      expect([name, g === null]).toEqual([name, false]);
      const values = g!.data();
      expect(values.every(Number.isFinite)).toBe(true);
      if (values.some((v) => v !== 0)) nonzero++;
    }
    expect(nonzero).toBeGreaterThan(10);
  });

  test('softmax: SoftmaxFocalLoss over NUM_CLASSES logits per anchor', () => {
    manualSeed(4);
    const cfg = loadConfig(R50, { overrides: [...small, 'RETINANET.SOFTMAX', 'True'] });
    const model = new RetinaNet(cfg);
    const blobs = syntheticBlobs(2, 3, false);
    noGrad(() => tidy(() => {
      const out = retinanetLosses(model, { blobs, roidb: [] });
      const outs = model.forward(fromArray(blobs.data.data, blobs.data.shape));
      for (const o of outs) {
        expect(o.clsLogits.size(1)).toBe(2 * 4);
        const labels = blobs[`retnet_cls_labels_fpn${o.level}`];
        const direct = softmaxFocalLoss(o.clsLogits, fromArray(labels.data, labels.shape),
          { numClasses: 4, gamma: 2, alpha: 0.25, normalizer: 6, scale: 0.5 });
        expect(out.losses.get(`fl_fpn${o.level}`)!.item()).toBeCloseTo(direct.item(), 6);
      }
    }));
  });

  test('labels smaller than the level output are an error naming COARSEST_STRIDE', () => {
    const model = sigmoidModel;
    const blobs = syntheticBlobs(2, 3, true);
    const l3 = blobs.retnet_cls_labels_fpn3;
    blobs.retnet_cls_labels_fpn3 = { dtype: 'int32', shape: [2, 2, 15, 16], data: (l3.data as Int32Array).slice(0, 2 * 2 * 15 * 16) };
    expect(() => noGrad(() => tidy(() => retinanetLosses(model, { blobs, roidb: [] })))).toThrow(/COARSEST_STRIDE/);
  });
});

describe('RetinaNet training', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-retinanet-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // The generated weights start with enormous logits (a focal loss of ~10⁴) and large
  // gradients, hence the tiny learning rate; one epoch brings the loss down by ~100×.
  test('losses fall when training on the five COCO fixture images', async () => {
    const r = await trainModel({
      cfg: R50,
      datasets: [path.join(FIXTURES, 'coco/annotations/instances_mini.json')],
      imageDir: path.join(FIXTURES, 'coco/images'),
      overrides: ['TRAIN.SCALES', '(128,)', 'TRAIN.MAX_SIZE', '128', 'TRAIN.USE_FLIPPED', 'False', 'SOLVER.WARM_UP_ITERS', '0'],
      batchSize: 1, lr: 1e-6, epochs: 1, seed: 5, dispInterval: 5,
      loadDetectron: detectronPkl('retinanet_R-50-FPN', 1), outputDir: path.join(dir, 'fall'), log: () => {},
    });
    expect(r.steps).toBe(5);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    const first = (r.losses[0] + r.losses[1]) / 2;
    const last = (r.losses[3] + r.losses[4]) / 2;
    expect(last).toBeLessThan(0.25 * first);
    const stats = fs.readFileSync(path.join(r.outputDir, 'training_stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(Object.keys(stats[0])).toEqual(expect.arrayContaining(['fl_fpn3', 'fl_fpn7', 'retnet_loss_bbox_fpn3', 'retnet_fg_num', 'retnet_bg_num']));
    expect(stats[0].retnet_fg_num).toBeGreaterThan(1);
  }, 600000);
});
