/**
 * Mixed precision (lib/nn/amp.ts): autocast scopes, dynamic loss scaling, a conv body in
 * bfloat16 on CPU against float32, and train_net --amp bf16.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { autocast, GradScaler, mixedPrecisionFeatures, parseAmpDType } from '../lib/nn/amp';
import { conv2d } from '../lib/nn/functional';
import { dispose, tidy } from '../lib/nn/scope';
import { fromArray, tensor } from '../lib/nn/tensor';
import { loadConfig } from '../lib/core/config';
import { buildModel } from '../lib/modeling/build';
import type { GeneralizedRCNN } from '../lib/modeling/model_builder';
import { loadDetectronWeights } from '../lib/modeling/detectron_weights';
import { loadWeights } from '../converters/weights';
import { trainModel } from '../lib/core/train';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const CFG = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = s / 2 ** 30 - 1;
  }
  return out;
}

describe('autocast', () => {
  test('convolutions run in bfloat16 inside the scope only, close to float32', () => {
    tidy(() => {
      const x = fromArray(values(2 * 8 * 10 * 10, 1), [2, 8, 10, 10]);
      const w = fromArray(values(4 * 8 * 3 * 3, 2), [4, 8, 3, 3]);
      const inside = autocast('cpu', 'bfloat16', () => {
        const y = conv2d(x, w);
        // Nested scopes restore the outer one.
        autocast('cpu', 'bfloat16', () => conv2d(x, w));
        return y;
      });
      expect(inside.dtype).toBe('bfloat16');
      const full = conv2d(x, w);
      expect(full.dtype).toBe('float32');
      const err = inside.float().sub(full).abs().flatten().max(0).values.item();
      const scale = full.abs().flatten().max(0).values.item();
      expect(err).toBeGreaterThan(0);
      expect(err / scale).toBeLessThan(0.02);
      expect(() => inside.data()).toThrow(/bfloat16 tensor has no typed array/);
    });
  });

  test('float16 autocast is refused on CPU, and --amp values are checked', () => {
    expect(() => autocast('cpu', 'float16', () => 0)).toThrow(/bf16 only/);
    expect(parseAmpDType('bf16')).toBe('bfloat16');
    expect(parseAmpDType('fp16')).toBe('float16');
    expect(() => parseAmpDType('fp8')).toThrow(/expected fp16 or bf16, got 'fp8'/);
  });
});

describe('GradScaler', () => {
  test('scales the loss, unscales gradients, skips and backs off on overflow, grows after good steps', () => {
    const scaler = new GradScaler({ initScale: 1024, growthInterval: 2 });
    tidy(() => {
      expect(scaler.scaleLoss(tensor(3)).item()).toBe(3072);
      const g = tensor([2048, -1024]);
      expect(scaler.unscaleAndUpdate([g])).toBe(true);
      expect(g.toNumbers()).toEqual([2, -1]);
      expect(scaler.scale).toBe(1024);
      expect(scaler.unscaleAndUpdate([tensor([1])])).toBe(true);
      // Two good steps in a row: the scale doubles.
      expect(scaler.scale).toBe(2048);
      expect(scaler.unscaleAndUpdate([tensor([1, Infinity])])).toBe(false);
      expect(scaler.scale).toBe(1024);
      expect(scaler.unscaleAndUpdate([tensor([NaN])])).toBe(false);
      expect(scaler.state()).toEqual({ scale: 512, goodSteps: 0 });
    });
    expect(() => new GradScaler({ backoffFactor: 2 })).toThrow(/bad options/);
  });
});

describe('mixed-precision conv body', () => {
  test('R-50-FPN features in bfloat16 come back float32 and close to the float32 ones', () => {
    const cfg = loadConfig(CFG, { overrides: ['MODEL.NUM_CLASSES', '81'] });
    const model = buildModel(cfg) as GeneralizedRCNN;
    loadDetectronWeights(model, loadWeights(detectronPkl('e2e_mask_rcnn_R-50-FPN', 1)).blobs, { strict: false });
    model.channelsLast();
    tidy(() => {
      const blob = fromArray(values(3 * 64 * 96, 3).map((v) => v * 100), [1, 3, 64, 96]);
      const full = model.features(blob);
      model.mixedPrecision = 'bfloat16';
      const mixed = model.features(blob);
      model.mixedPrecision = null;
      expect(mixed.features.length).toBe(full.features.length);
      for (let i = 0; i < full.features.length; i++) {
        expect(mixed.features[i].dtype).toBe('float32');
        expect(mixed.features[i].shape).toEqual(full.features[i].shape);
        const err = mixed.features[i].sub(full.features[i]).abs().mean().item();
        const mag = full.features[i].abs().mean().item();
        expect(err).toBeGreaterThan(0);
        expect(err / mag).toBeLessThan(0.05);
      }
      dispose([...full.features, ...mixed.features]);
    });
    expect(mixedPrecisionFeatures('cpu', null, () => ({ features: [] })).features).toEqual([]);
  }, 120_000);
});

describe('train_net --amp bf16', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amp-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('trains with the body in bfloat16: a finite loss close to the float32 one', async () => {
    const run = (out: string, amp?: 'bfloat16') => trainModel({
      cfg: CFG, datasets: [path.join(FIXTURES, 'coco/annotations/instances_mini.json')], imageDir: path.join(FIXTURES, 'coco/images'),
      overrides: ['TRAIN.SCALES', '(160,)', 'TRAIN.MAX_SIZE', '267', 'TRAIN.USE_FLIPPED', 'False', 'SOLVER.WARM_UP_ITERS', '0',
        'TRAIN.RPN_PRE_NMS_TOP_N', '500', 'TRAIN.RPN_POST_NMS_TOP_N', '200', 'TRAIN.BATCH_SIZE_PER_IM', '64'],
      batchSize: 1, lr: 0.0002, epochs: 1, maxSteps: 1, loadDetectron: detectronPkl('e2e_mask_rcnn_R-50-FPN', 1),
      outputDir: path.join(dir, out), seed: 7, log: () => {}, dispInterval: 1, amp,
    });
    const full = await run('fp32');
    const mixed = await run('bf16', 'bfloat16');
    expect(mixed.steps).toBe(1);
    expect(Number.isFinite(mixed.losses[0])).toBe(true);
    expect(Math.abs(mixed.losses[0] - full.losses[0]) / full.losses[0]).toBeLessThan(0.05);
    expect(mixed.losses[0]).not.toBe(full.losses[0]);
  }, 600_000);
});
