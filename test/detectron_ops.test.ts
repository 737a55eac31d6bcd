/**
 * Detectron's ops against golden outputs (fixtures/golden/ops, see its README): RoIAlign
 * and RoIPoolF outputs and feature gradients, NMS keep lists, soft-NMS, bbox overlaps.
 * Every file in the folder is loaded, so a new golden file adds its cases here. Also the
 * error paths of the bindings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fromArray, inferenceMode, noGrad, tensor, Tensor, tidy, zeros } from '../lib/nn';
import { bboxOverlaps, nms, roiAlign, roiAlignBackward, roiPool, roiPoolWithArgmax, softNms } from '../lib/nn/detectron_ops';
import type { DType, TypedArray } from '../lib/nn';

const GOLDEN = path.resolve(__dirname, '../../shared/fixtures/golden/ops');

interface JsonArray {
  dtype: string;
  shape: number[];
  data_b64: string;
}

interface GoldenCase {
  op: string;
  params: Record<string, number | string>;
  inputs: Record<string, JsonArray>;
  outputs: Record<string, JsonArray>;
}

/** A golden array as a tensor (little-endian raw bytes, as this machine is). */
function load(a: JsonArray): Tensor {
  const bytes = Buffer.from(a.data_b64, 'base64');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let data: TypedArray;
  switch (a.dtype) {
    case 'float32':
      data = new Float32Array(buffer);
      break;
    case 'float64':
      data = new Float64Array(buffer);
      break;
    case 'int64':
      data = new BigInt64Array(buffer);
      break;
    case 'int32':
      data = new Int32Array(buffer);
      break;
    default:
      throw new Error(`golden dtype ${a.dtype} not handled`);
  }
  return fromArray(data, a.shape, { dtype: a.dtype as DType, copy: true });
}

/** Largest violation of |got - want| <= tol * max(1, |want|), as an excess over 0. */
function worstExcess(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - tol * Math.max(1, Math.abs(want[i]));
    if (!(excess <= worst)) worst = Number.isNaN(excess) ? Infinity : excess;
  }
  return worst;
}

function expectClose(got: Tensor, want: Tensor, tol: number): void {
  expect(got.shape).toEqual(want.shape);
  expect(worstExcess(got.toNumbers(), want.toNumbers(), tol)).toBe(0);
}

function goldenFiles(prefix: string): string[] {
  return fs
    .readdirSync(GOLDEN)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort();
}

function casesOf(file: string): GoldenCase[] {
  return (JSON.parse(fs.readFileSync(path.join(GOLDEN, file), 'utf8')) as { cases: GoldenCase[] }).cases;
}

function label(c: GoldenCase, i: number): string {
  const params = Object.entries(c.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const first = Object.values(c.inputs)[0];
  return `#${i} ${c.op} [${first.shape.join('x')}] ${params}`;
}

const f32 = Math.fround;
const cyMax = (a: number, b: number) => (a >= b ? a : b);
const cyMin = (a: number, b: number) => (a <= b ? a : b);

/** cython_nms.nms in plain JS, rounding every operation to float32 as Cython's C does. */
function referenceNms(d: Float32Array, thresh: number): number[] {
  const n = d.length / 5;
  const th = f32(thresh);
  const area = (i: number) => f32(f32(f32(d[i * 5 + 2] - d[i * 5]) + 1) * f32(f32(d[i * 5 + 3] - d[i * 5 + 1]) + 1));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b * 5 + 4] - d[a * 5 + 4]);
  const suppressed = new Uint8Array(n);
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj];
      if (suppressed[j]) continue;
      const w = cyMax(0, f32(f32(cyMin(d[i * 5 + 2], d[j * 5 + 2]) - cyMax(d[i * 5], d[j * 5])) + 1));
      const h = cyMax(0, f32(f32(cyMin(d[i * 5 + 3], d[j * 5 + 3]) - cyMax(d[i * 5 + 1], d[j * 5 + 1])) + 1));
      const inter = f32(w * h);
      if (f32(inter / f32(f32(area(i) + area(j)) - inter)) >= th) suppressed[j] = 1;
    }
  }
  return Array.from({ length: n }, (_, i) => i).filter((i) => !suppressed[i]);
}

/** cython_nms.soft_nms with method 1 (linear), with the arithmetic of Cython's C, in plain JS. */
function referenceLinearSoftNms(input: Float32Array, nt: number, threshold: number) {
  const b = Float32Array.from(input);
  const inds = Array.from({ length: b.length / 5 }, (_, i) => i);
  const swap = (p: number, q: number) => {
    for (let k = 0; k < 5; k++) [b[p * 5 + k], b[q * 5 + k]] = [b[q * 5 + k], b[p * 5 + k]];
    [inds[p], inds[q]] = [inds[q], inds[p]];
  };
  // Cython turns the 1 of "x2 - x1 + 1" into the double 1.0: sides, areas and the union
  // are double expressions (JS numbers), rounded to float32 where Cython stores a float.
  const side = (p: number, hi: number, lo: number) => f32(b[p * 5 + hi] - b[p * 5 + lo]) + 1;
  const area = (p: number) => side(p, 2, 0) * side(p, 3, 1);
  let n = inds.length;
  for (let i = 0; i < n; i++) {
    let maxpos = i;
    for (let pos = i + 1; pos < n; pos++) if (b[maxpos * 5 + 4] < b[pos * 5 + 4]) maxpos = pos;
    swap(i, maxpos);
    for (let pos = i + 1; pos < n; pos++) {
      const iw = f32(f32(cyMin(b[i * 5 + 2], b[pos * 5 + 2]) - cyMax(b[i * 5], b[pos * 5])) + 1);
      if (!(iw > 0)) continue;
      const ih = f32(f32(cyMin(b[i * 5 + 3], b[pos * 5 + 3]) - cyMax(b[i * 5 + 1], b[pos * 5 + 1])) + 1);
      if (!(ih > 0)) continue;
      const ov = f32(f32(iw * ih) / f32(area(i) + f32(area(pos)) - f32(iw * ih)));
      const weight = ov > f32(nt) ? f32(1 - ov) : 1;
      b[pos * 5 + 4] = f32(weight * b[pos * 5 + 4]);
      if (b[pos * 5 + 4] < f32(threshold)) {
        for (let k = 0; k < 5; k++) b[pos * 5 + k] = b[(n - 1) * 5 + k];
        inds[pos] = inds[n - 1];
        n--;
        pos--;
      }
    }
  }
  return { dets: b.slice(0, n * 5), keep: inds.slice(0, n) };
}

test('the golden folder has RoI and box cases', () => {
  expect(goldenFiles('roi_ops_').length).toBeGreaterThan(0);
  expect(goldenFiles('box_ops_').length).toBeGreaterThan(0);
});

for (const file of goldenFiles('roi_ops_')) {
  describe(`RoI ops golden: ${file}`, () => {
    casesOf(file).forEach((c, i) => {
      test(label(c, i), () => {
        tidy(() => {
          const features = load(c.inputs.features).requiresGrad_();
          const rois = load(c.inputs.rois);
          const gradOutput = load(c.inputs.grad_output);
          const geometry = {
            pooledH: Number(c.params.pooled_h),
            pooledW: Number(c.params.pooled_w),
            spatialScale: Number(c.params.spatial_scale),
          };
          let output: Tensor;
          if (c.op === 'RoIAlign') {
            output = roiAlign(features, rois, { ...geometry, samplingRatio: Number(c.params.sampling_ratio) });
          } else if (c.op === 'RoIPoolF') {
            output = roiPool(features, rois, geometry);
          } else {
            throw new Error(`unknown RoI op ${c.op}`);
          }
          expectClose(output, load(c.outputs.output), 1e-5);
          // Gradient of sum(output × grad_output), through libtorch's autograd.
          output.mul(gradOutput).sum().backward();
          const grad = features.grad;
          expect(grad).not.toBeNull();
          expectClose(grad as Tensor, load(c.outputs.grad_features), 1e-5);
          if (c.op === 'RoIAlign') {
            // The raw gradient kernel agrees with what autograd produced.
            const raw = roiAlignBackward(gradOutput, rois, features.shape, {
              ...geometry,
              samplingRatio: Number(c.params.sampling_ratio),
            });
            expectClose(raw, grad as Tensor, 0);
          }
        });
      });
    });
  });
}

for (const file of goldenFiles('box_ops_')) {
  describe(`box ops golden: ${file}`, () => {
    casesOf(file).forEach((c, i) => {
      test(label(c, i), () => {
        tidy(() => {
          if (c.op === 'nms') {
            const keep = nms(load(c.inputs.dets), Number(c.params.thresh));
            expect(keep.dtype).toBe('int64');
            expect(keep.toNumbers()).toEqual(load(c.outputs.keep).toNumbers());
          } else if (c.op === 'soft_nms') {
            const method = String(c.params.method);
            if (method !== 'linear' && method !== 'gaussian' && method !== 'hard') throw new Error(method);
            const out = softNms(load(c.inputs.dets), {
              method,
              sigma: Number(c.params.sigma),
              overlapThresh: Number(c.params.overlap_thresh),
              scoreThresh: Number(c.params.score_thresh),
            });
            expect(out.keep.toNumbers()).toEqual(load(c.outputs.keep).toNumbers());
            const want = load(c.outputs.dets);
            expect(out.dets.shape).toEqual(want.shape);
            expect(worstExcess(out.dets.toNumbers(), want.toNumbers(), 1e-6)).toBe(0);
          } else if (c.op === 'bbox_overlaps') {
            const got = bboxOverlaps(load(c.inputs.boxes), load(c.inputs.query));
            const want = load(c.outputs.overlaps);
            expect(got.shape).toEqual(want.shape);
            const g = got.toNumbers();
            const w = want.toNumbers();
            expect(Math.max(...g.map((v, k) => Math.abs(v - w[k])))).toBeLessThanOrEqual(1e-6);
            // The fixture is not trivial: some pairs overlap, some do not.
            expect(w.some((v) => v > 0)).toBe(true);
            expect(w.some((v) => v === 0)).toBe(true);
          } else {
            throw new Error(`unknown box op ${c.op}`);
          }
        });
      });
    });
  });
}

describe('hand-computed values', () => {
  test('RoIAlign of a linear ramp samples the ramp at the bin centres (Caffe2: no half-pixel shift)', () => {
    tidy(() => {
      // f(y, x) = x on a 1×1×4×6 map; one 2×2-pixel RoI at (1,1)-(3,3), scale 1, 1×1 output,
      // 2×2 samples at x = 1.5, 2.5 → mean 2.0 (an aligned=True kernel would give 1.5).
      const ramp = fromArray(Float32Array.from({ length: 24 }, (_, k) => k % 6), [1, 1, 4, 6]);
      const out = roiAlign(ramp, tensor([0, 1, 1, 3, 3], [1, 5]), {
        pooledH: 1, pooledW: 1, spatialScale: 1, samplingRatio: 2,
      });
      expect(out.toNumbers()).toEqual([2]);
    });
  });

  test('RoIPoolF takes the max over rounded, +1-sized bins; an empty bin gives 0 and argmax -1', () => {
    tidy(() => {
      const f = fromArray(Float32Array.from({ length: 16 }, (_, k) => k), [1, 1, 4, 4]);
      // RoI (0.4, 0.4)-(1.6, 1.6) rounds to cells 0..2 (3×3) → one bin: max at (2, 2) = 10.
      const one = roiPoolWithArgmax(f, tensor([0, 0.4, 0.4, 1.6, 1.6], [1, 5]), {
        pooledH: 1, pooledW: 1, spatialScale: 1,
      });
      expect(one.output.toNumbers()).toEqual([10]);
      expect(one.argmax.toNumbers()).toEqual([10]);
      // A RoI entirely right of the map: every bin is clipped empty.
      const out = roiPoolWithArgmax(f, tensor([0, 10, 0, 12, 2], [1, 5]), { pooledH: 2, pooledW: 2, spatialScale: 1 });
      expect(out.output.toNumbers()).toEqual([0, 0, 0, 0]);
      expect(out.argmax.toNumbers()).toEqual([-1, -1, -1, -1]);
    });
  });

  test('NMS uses +1 areas and suppresses at IoU >= thresh; keep is in ascending index order', () => {
    tidy(() => {
      // Box 1 (0,0)-(9,4) lies inside box 0 (0,0)-(9,9): with +1 sides, 50 / 100 = IoU 0.5
      // exactly. Box 2 overlaps box 0 by 50 / 150 = 1/3. Box 3 is far away and scores highest.
      const dets = tensor(
        [0, 0, 9, 9, 0.9, 0, 0, 9, 4, 0.8, 5, 0, 14, 9, 0.7, 100, 100, 110, 110, 0.95],
        [4, 5],
      );
      expect(nms(dets, 0.5).toNumbers()).toEqual([0, 2, 3]);
      expect(nms(dets, 0.3).toNumbers()).toEqual([0, 3]);
      expect(nms(dets, 0.51).toNumbers()).toEqual([0, 1, 2, 3]);
      const boxes = dets.narrow(1, 0, 4); // strided view
      expect(bboxOverlaps(boxes, boxes).toNumbers().slice(0, 4)).toEqual([1, 0.5, 1 / 3, 0].map(Math.fround));
    });
  });

  test('NMS and linear soft-NMS equal a scalar float32 re-implementation of cython_nms on 3,000 boxes', () => {
    tidy(() => {
      // Integer coordinates on a small canvas make IoUs land exactly on thresholds like 0.5
      // (50/100) often, which exercises the >= and the float32 rounding of every step.
      let seed = 12345;
      const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
      const n = 3000;
      const d = new Float32Array(n * 5);
      const ranks = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
      for (let i = 0; i < n; i++) {
        const x1 = Math.floor(rand() * 60);
        const y1 = Math.floor(rand() * 60);
        d.set([x1, y1, x1 + Math.floor(rand() * 20), y1 + Math.floor(rand() * 20), (ranks[i] + 1) / 4096], i * 5);
      }
      const dets = fromArray(d, [n, 5]);
      for (const thresh of [0.3, 0.5, 0.7]) {
        expect(nms(dets, thresh).toNumbers()).toEqual(referenceNms(d, thresh));
      }
      const soft = softNms(dets, { method: 'linear', overlapThresh: 0.5, scoreThresh: 0.01 });
      const ref = referenceLinearSoftNms(d, 0.5, 0.01);
      expect(soft.keep.toNumbers()).toEqual(ref.keep);
      expect(Array.from(soft.dets.data() as Float32Array)).toEqual(Array.from(ref.dets));
      expect(ref.keep.length).toBeLessThan(n); // some boxes fell under the score threshold
    });
  });

  test('NMS of float64 dets equals NMS of the same dets in float32', () => {
    tidy(() => {
      const dets = tensor([0, 0, 9, 9, 0.9, 1, 1, 10, 10, 0.8, 3, 3, 12, 12, 0.7], [3, 5], { dtype: 'float64' });
      expect(nms(dets, 0.5).toNumbers()).toEqual(nms(dets.float(), 0.5).toNumbers());
      expect(nms(dets, 0.5).toNumbers()).toEqual([0, 2]);
    });
  });

  test('RoI ops run without a graph under inferenceMode and noGrad, with the same values', () => {
    tidy(() => {
      const f = fromArray(Float32Array.from({ length: 2 * 8 * 8 }, (_, k) => Math.cos(k)), [1, 2, 8, 8]);
      const r = tensor([0, 1.5, 0.5, 6.2, 7.1], [1, 5]);
      const o = { pooledH: 2, pooledW: 3, spatialScale: 1, samplingRatio: 0 };
      const withGraph = roiAlign(f.clone().requiresGrad_(), r, o);
      expect(withGraph.requiresGrad).toBe(true);
      const inInference = inferenceMode(() => roiAlign(f, r, o).clone());
      const inNoGrad = noGrad(() => roiPool(f.clone().requiresGrad_(), r, o));
      expect(inNoGrad.requiresGrad).toBe(false);
      expect(inInference.toNumbers()).toEqual(withGraph.toNumbers());
      expect(inNoGrad.toNumbers()).toEqual(roiPool(f, r, o).toNumbers());
    });
  });

  test('RoIAlign accepts non-contiguous features and gives the contiguous result', () => {
    tidy(() => {
      const base = fromArray(Float64Array.from({ length: 2 * 3 * 5 * 7 }, (_, k) => Math.sin(k)), [2, 3, 7, 5]);
      const view = base.transpose(2, 3); // 2×3×5×7, strided
      const rois = tensor([1, 0.5, 1, 12, 9, 0, 3, 2, 6, 7], [2, 5], { dtype: 'float64' });
      const opts = { pooledH: 3, pooledW: 2, spatialScale: 0.5, samplingRatio: 0 };
      expect(roiAlign(view, rois, opts).toNumbers()).toEqual(roiAlign(view.contiguous(), rois, opts).toNumbers());
    });
  });
});

describe('errors and empty inputs', () => {
  const opts = { pooledH: 2, pooledW: 2, spatialScale: 0.5, samplingRatio: 2 };
  const features = () => zeros([2, 3, 8, 8]);
  const rois = (values: number[] = [0, 1, 1, 6, 6]) => tensor(values, [values.length / 5, 5]);

  test('rois that are not R×5 are rejected with a message saying what was expected', () => {
    tidy(() => {
      expect(() => roiAlign(features(), tensor([1, 1, 6, 6], [1, 4]), opts)).toThrow(
        'roiAlign: rois must be R x 5 (batch index, x1, y1, x2, y2), got shape [1, 4]',
      );
      expect(() => roiPool(features(), tensor([0, 1, 1, 6, 6]), opts)).toThrow(/roiPool: rois must be R x 5.*\[5\]/);
    });
  });

  test('features that are not 4-D, or not floating point, are rejected', () => {
    tidy(() => {
      expect(() => roiAlign(zeros([3, 8, 8]), rois(), opts)).toThrow(
        'roiAlign: features must be 4-D (N, C, H, W), got shape [3, 8, 8]',
      );
      expect(() => roiAlign(zeros([2, 3, 8, 8], { dtype: 'int32' }), rois(), opts)).toThrow(
        'roiAlign: features must be float32 or float64, got Int',
      );
      expect(() => roiAlign(zeros([2, 3, 8, 8], { dtype: 'float64' }), rois(), opts)).toThrow(
        'roiAlign: rois must have the same dtype as features (Double), got Float',
      );
    });
  });

  test('bad RoI values and parameters are rejected instead of reading out of bounds', () => {
    tidy(() => {
      expect(() => roiAlign(features(), rois([2, 1, 1, 6, 6]), opts)).toThrow(
        'roiAlign: rois hold batch indices outside [0, 2) (first column)',
      );
      expect(() => roiPool(features(), rois([-1, 1, 1, 6, 6]), opts)).toThrow(/batch indices outside \[0, 2\)/);
      expect(() => roiAlign(features(), rois([0, NaN, 1, 6, 6]), opts)).toThrow('roiAlign: rois hold non-finite coordinates');
      expect(() => roiAlign(features(), rois(), { ...opts, pooledH: 0 })).toThrow(
        'roiAlign: pooledH must be an integer >= 1, got 0',
      );
      expect(() => roiAlign(features(), rois(), { ...opts, samplingRatio: 1.5 })).toThrow(/samplingRatio must be an integer/);
      expect(() => roiAlign(features(), rois([0, 0, 0, 1e12, 1e12]), { ...opts, samplingRatio: 0 })).toThrow(
        /adaptive sampling/,
      );
    });
  });

  test('empty rois give an empty R=0 output and a zero gradient', () => {
    tidy(() => {
      const f = features().requiresGrad_();
      const none = zeros([0, 5]);
      const out = roiAlign(f, none, opts);
      expect(out.shape).toEqual([0, 3, 2, 2]);
      expect(roiPool(f, none, opts).shape).toEqual([0, 3, 2, 2]);
      out.sum().backward();
      const grad = f.grad as Tensor;
      expect(grad.shape).toEqual([2, 3, 8, 8]);
      expect(grad.abs().sum().item()).toBe(0);
    });
  });

  test('box ops: wrong shapes and dtypes are rejected, empty inputs give empty outputs', () => {
    tidy(() => {
      expect(() => nms(zeros([4, 4]), 0.5)).toThrow('nms: dets must be N x 5, got shape [4, 4]');
      expect(() => nms(zeros([4, 5], { dtype: 'int64' }), 0.5)).toThrow('nms: dets must be float32 or float64, got Long');
      expect(nms(zeros([0, 5]), 0.5).shape).toEqual([0]);
      const empty = softNms(zeros([0, 5]));
      expect(empty.dets.shape).toEqual([0, 5]);
      expect(empty.keep.shape).toEqual([0]);
      expect(() => softNms(zeros([2, 5]), { method: 'box' as 'hard' })).toThrow(/unknown method 'box'/);
      expect(() => bboxOverlaps(zeros([3, 4]), zeros([2, 4], { dtype: 'float64' }))).toThrow(
        'bboxOverlaps: boxes are Float but query is Double',
      );
      expect(() => bboxOverlaps(zeros([3, 5]), zeros([2, 4]))).toThrow('bboxOverlaps: boxes must be N x 4, got shape [3, 5]');
      expect(bboxOverlaps(zeros([3, 4]), zeros([0, 4])).shape).toEqual([3, 0]);
    });
  });
});
