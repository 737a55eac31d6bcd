/**
 * Finite-difference checks of the RoIAlign and RoIPoolF gradients (float64): autograd's
 * feature gradient of L = sum(op(features) × g) against central differences of L, element
 * by element, on small random inputs with RoIs inside, across and outside the map.
 */
import { fromArray, Tensor, tidy } from '../lib/nn';
import { roiAlign, RoIAlignOptions, roiPool, RoIPoolOptions } from '../lib/nn/detectron_ops';

/** A small deterministic PRNG (mulberry32), so that failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHAPE = [2, 2, 7, 9]; // N, C, H, W
const STRIDE = 2; // image pixels per feature cell: spatialScale 0.5

/** RoIs in image coordinates: inside, crossing the border, fully outside, degenerate. */
function makeRois(rand: () => number, count: number): Float64Array {
  const imgH = SHAPE[2] * STRIDE;
  const imgW = SHAPE[3] * STRIDE;
  const out = new Float64Array(count * 5);
  for (let r = 0; r < count; r++) {
    const x1 = -4 + rand() * (imgW + 4);
    const y1 = -4 + rand() * (imgH + 4);
    out.set([r % SHAPE[0], x1, y1, x1 + rand() * 12, y1 + rand() * 12], r * 5);
  }
  out.set([1, 3.3, 2.2, 3.3, 2.2], 0); // zero-size: becomes 1×1
  out.set([0, imgW + 3.1, 1.7, imgW + 9.6, 8.2], 5); // right of the map
  return out;
}

type Op = (features: Tensor, rois: Tensor) => Tensor;

/** L(features) = sum(op(features) × g) in float64. */
function loss(op: Op, values: Float64Array, rois: Float64Array, g: Float64Array): number {
  return tidy(() => {
    const out = op(fromArray(values, SHAPE, { copy: true }), fromArray(rois, [rois.length / 5, 5], { copy: true }));
    const gt = fromArray(g, out.shape, { copy: true });
    return out.mul(gt).sum().item();
  });
}

/** Autograd's gradient of L, and the central-difference estimate, element by element. */
function gradients(op: Op, values: Float64Array, rois: Float64Array, rand: () => number, eps: number) {
  const probe = tidy(() => op(fromArray(values, SHAPE, { copy: true }), fromArray(rois, [rois.length / 5, 5])).shape);
  const g = Float64Array.from({ length: probe.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
  const analytic = tidy(() => {
    const features = fromArray(values, SHAPE, { copy: true }).requiresGrad_();
    const out = op(features, fromArray(rois, [rois.length / 5, 5], { copy: true }));
    out.mul(fromArray(g, out.shape, { copy: true })).sum().backward();
    return Array.from((features.grad as Tensor).data() as Float64Array);
  });
  const numeric = Array.from(values, (v, k) => {
    const plus = values.slice();
    plus[k] = v + eps;
    const minus = values.slice();
    minus[k] = v - eps;
    return (loss(op, plus, rois, g) - loss(op, minus, rois, g)) / (2 * eps);
  });
  return { analytic, numeric };
}

function maxAbsDiff(a: number[], b: number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}

describe('RoIAlign gradient (float64, finite differences)', () => {
  const settings: RoIAlignOptions[] = [
    { pooledH: 3, pooledW: 2, spatialScale: 1 / STRIDE, samplingRatio: 2 },
    { pooledH: 2, pooledW: 3, spatialScale: 1 / STRIDE, samplingRatio: 0 },
    { pooledH: 4, pooledW: 4, spatialScale: 1 / STRIDE, samplingRatio: 1 },
  ];
  settings.forEach((o, i) => {
    test(`${o.pooledH}x${o.pooledW} sampling ${o.samplingRatio}`, () => {
      const rand = random(100 + i);
      const values = Float64Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
      const rois = makeRois(rand, 8);
      // RoIAlign is linear in the features, so the central difference is exact up to rounding.
      const { analytic, numeric } = gradients((f, r) => roiAlign(f, r, o), values, rois, rand, 1e-3);
      expect(maxAbsDiff(analytic, numeric)).toBeLessThan(1e-9);
      // The check is not vacuous: the RoIs reach a good part of the map.
      expect(analytic.filter((v) => v !== 0).length).toBeGreaterThan(values.length / 4);
    });
  });

  test('the gradient flows through ops before RoIAlign (features = 3x)', () => {
    tidy(() => {
      const rand = random(7);
      const x = fromArray(Float64Array.from({ length: 2 * 2 * 7 * 9 }, () => rand()), SHAPE).requiresGrad_();
      const rois = fromArray(makeRois(rand, 6), [6, 5]);
      const o = { pooledH: 2, pooledW: 2, spatialScale: 0.5, samplingRatio: 2 };
      roiAlign(x.mul(3), rois, o).sum().backward();
      const direct = fromArray(x.data() as Float64Array, SHAPE, { copy: true }).requiresGrad_();
      roiAlign(direct, rois, o).sum().backward();
      const viaChain = (x.grad as Tensor).toNumbers();
      const plain = (direct.grad as Tensor).toNumbers();
      expect(maxAbsDiff(viaChain, plain.map((v) => 3 * v))).toBeLessThan(1e-12);
      expect(plain.some((v) => v > 0)).toBe(true);
    });
  });
});

describe('RoIPoolF gradient (float64, finite differences)', () => {
  const settings: RoIPoolOptions[] = [
    { pooledH: 2, pooledW: 2, spatialScale: 1 / STRIDE },
    { pooledH: 3, pooledW: 4, spatialScale: 1 / STRIDE },
  ];
  settings.forEach((o, i) => {
    test(`${o.pooledH}x${o.pooledW}`, () => {
      const rand = random(200 + i);
      // Distinct values at least 0.01 apart: every bin's maximum is unique and a step of
      // eps = 1e-4 cannot change which element wins, so max pooling is linear around here.
      const n = SHAPE.reduce((a, b) => a * b, 1);
      const ranks = Array.from({ length: n }, (_, k) => k).sort(() => rand() - 0.5);
      const values = Float64Array.from(ranks, (k) => k * 0.01 + rand() * 0.001);
      // Keep every scaled RoI coordinate away from .5, where rounding (and so the bins) flips.
      const rois = makeRois(rand, 8).map((v, k) => (k % 5 === 0 ? v : Math.round(v * 0.5) / 0.5 + 0.3));
      const { analytic, numeric } = gradients((f, r) => roiPool(f, r, o), values, rois, rand, 1e-4);
      expect(maxAbsDiff(analytic, numeric)).toBeLessThan(1e-8);
      expect(analytic.filter((v) => v !== 0).length).toBeGreaterThan(4);
    });
  });
});
