/**
 * Detectron's box utilities (detectron/utils/boxes.py, cython_bbox.pyx, cython_nms.pyx) over
 * plain typed arrays.
 *
 * Layout: N boxes are a row-major N×4 array (x1, y1, x2, y2); "tiled" boxes are N×(4K) with one
 * box per class; detections ("dets") are N×5 with the score last. The row count is the array
 * length divided by the column count; a length that does not divide is an error.
 *
 * Arithmetic follows numpy's dtype rules as Detectron runs them (numpy 1.x): an operation on a
 * float32 array with a Python scalar happens in float32 (the scalar is cast to float32), so for
 * Float32Array inputs every step is rounded with Math.fround; Float64Array inputs use doubles.
 * Detectron's "+ 1" width convention is kept everywhere it is used (see boxes.py's docstring).
 */

export type FloatArray = Float32Array | Float64Array;

/** Detectron's default BBOX_XFORM_CLIP: np.log(1000. / 16.). */
export const DEFAULT_BBOX_XFORM_CLIP = Math.log(1000 / 16);

const f32 = Math.fround;
const id = (x: number): number => x;

/** The rounding of one arithmetic step in the array's dtype. */
function rounderOf(a: FloatArray): (x: number) => number {
  return a instanceof Float32Array ? f32 : id;
}

function sameKind<T extends FloatArray>(like: T, length: number): T {
  return (like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length)) as T;
}

/** Number of rows of a row-major array with `cols` columns; throws when the length does not fit. */
export function rowCount(a: ArrayLike<number>, cols: number, what: string): number {
  if (!Number.isInteger(cols) || cols <= 0) throw new Error(`${what}: column count must be a positive integer, got ${cols}`);
  if (a.length % cols !== 0) {
    throw new Error(`${what}: expected an N×${cols} array, got ${a.length} values (not a multiple of ${cols})`);
  }
  return a.length / cols;
}

function checkTiled(cols: number, what: string): void {
  if (!Number.isInteger(cols) || cols <= 0 || cols % 4 !== 0) {
    throw new Error(`${what}: boxes have ${cols} columns, but must be a positive multiple of 4`);
  }
}

// ---------------------------------------------------------------------------------------------
// numpy helpers: orderings and float32 sums that Detectron's numbers depend on.

/**
 * Indices that sort `values` from highest to lowest, ties in ascending index order (a stable
 * np.argsort(-values)). numpy's default quicksort is not stable; Detectron's results are only
 * defined for distinct scores, and the stable order is the natural choice for ties.
 */
export function argsortDescending(values: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(values.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => (values[b] - values[a]) || (a - b));
  return idx;
}

/**
 * numpy's pairwise summation of float32 values (what `a.sum()` and `a.mean()` do on a contiguous
 * float32 array): fewer than 8 values are added in order; up to 128 in 8 interleaved partial
 * sums; more are split in two halves (the first a multiple of 8 long).
 */
export function pairwiseSumF32(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = f32(a[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = f32(r[j] + a[start + i + j]);
    }
    let res = f32(f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])));
    for (; i < n; i++) res = f32(res + a[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f32(pairwiseSumF32(a, start, n2) + pairwiseSumF32(a, start + n2, n - n2));
}

/** numpy's pairwise summation of float64 values (same blocking as pairwiseSumF32). */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** np.mean of a float32 vector: pairwise float32 sum, then a float32 division. */
export function meanF32(a: ArrayLike<number>): number {
  return f32(pairwiseSumF32(a) / a.length);
}

// ---------------------------------------------------------------------------------------------
// numpy's float32 exp and log (its AVX2/AVX512F kernels), with the fused multiply-adds they use.

const bitsView = new DataView(new ArrayBuffer(4));

/**
 * Single-rounding float32 fused multiply-add a*b + c (what _mm256_fmadd_ps computes). The product
 * of two float32 values is exact in double; the double sum can only mislead the final rounding
 * when it lands exactly on a float32 midpoint, which the TwoSum error term then resolves.
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(r)) return r;
  // s is a midpoint exactly when mirroring r through s gives the other float32 neighbour
  const t = s + (s - r);
  if (f32(t) !== t) return r;
  const bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  if (err === 0) return r;
  return (err > 0) === (t > r) ? t : r;
}

// numpy's AVX2/AVX512F float32 exp constants (npy_math_internal / loops_exponent_log):
// Cody-Waite ln2 split, the round-to-nearest magic, and the Remez P/Q coefficients.
const EXP_XMAX = 88.72283935546875;
const EXP_XMIN = -103.97208404541015625;
const EXP_LOG2E = f32(1.442695040888963407359924681001892137);
const EXP_CW_HI = f32(-6.93145752e-1);
const EXP_CW_LO = f32(-1.42860677e-6);
const EXP_MAGIC = 12582912; // 0x1.8p23
const EXP_P = [9.999999999980870924916e-01, 7.257664613233124478488e-01, 2.473615434895520810817e-01,
  5.114512081637298353406e-02, 6.757896990527504603057e-03, 5.082762527590693718096e-04].map(f32);
const EXP_Q = [1, -2.742335390411667452936e-01, 2.159509375685829852307e-02].map(f32);
/** 2^k for k in [-160, 160], indexed by k + 160 (the kernel's quadrant stays within ±151). */
const POW2 = Float64Array.from({ length: 321 }, (_, i) => Math.pow(2, i - 160));

/**
 * np.exp on float32 values as numpy 1.x computes it on x86 with AVX2+FMA3 or AVX512F (its
 * simd_exp_FLOAT kernel, up to 2.52 ulp from the true exp): Detectron's float32 exps (box
 * decoding, softmaxes) go through it, so this is what reproduces Detectron bit for bit.
 */
export function npExpF32(xIn: number): number {
  if (Number.isNaN(xIn)) return NaN;
  const x0 = f32(xIn);
  if (x0 >= EXP_XMAX) return Infinity;
  if (x0 <= EXP_XMIN) return 0;
  // GCC contracts the kernel's mul + add into one fused multiply-add
  const q = f32(fmaF32(x0, EXP_LOG2E, EXP_MAGIC) - EXP_MAGIC);
  let x = fmaF32(q, EXP_CW_HI, x0);
  x = fmaF32(q, EXP_CW_LO, x);
  let num = fmaF32(EXP_P[5], x, EXP_P[4]);
  num = fmaF32(num, x, EXP_P[3]);
  num = fmaF32(num, x, EXP_P[2]);
  num = fmaF32(num, x, EXP_P[1]);
  num = fmaF32(num, x, EXP_P[0]);
  let den = fmaF32(EXP_Q[2], x, EXP_Q[1]);
  den = fmaF32(den, x, EXP_Q[0]);
  // poly * 2^q; exact unless the result is subnormal, which rounds once as scalef does
  return f32(f32(num / den) * POW2[q + 160]);
}

const LOG_P = [0, 9.999999999999998702752e-01, 2.112677543073053063722e+00, 1.480000633576506585156e+00,
  3.808837741388407920751e-01, 2.589979117907922693523e-02].map(f32);
const LOG_Q = [1, 2.612677543073109236779e+00, 2.453006071784736363091e+00, 9.864942958519418960339e-01,
  1.546476374983906719538e-01, 5.875095403124574342950e-03].map(f32);
const LOG_LN2 = f32(0.693147180559945309417232121458176568);
const LOG_SQRT1_2 = f32(0.707106781186547524400844362104849039);

/**
 * np.log on float32 values as numpy 1.x computes it with AVX2+FMA3 / AVX512F (simd_log_FLOAT:
 * mantissa in [0.5, 1) doubled below sqrt(1/2), a P5/Q5 rational for log(1 + m), plus e*ln2).
 */
export function npLogF32(xIn: number): number {
  const x0 = f32(xIn);
  if (Number.isNaN(x0)) return NaN;
  if (x0 < 0) return NaN;
  if (x0 === 0) return -Infinity;
  if (x0 === Infinity) return Infinity;
  bitsView.setFloat32(0, x0);
  let bits = bitsView.getUint32(0);
  let expo = 0;
  if (x0 < 1.1754943508222875e-38) {
    // subnormal: scaled by 2^100 first
    bitsView.setFloat32(0, f32(x0 * 2 ** 100));
    bits = bitsView.getUint32(0);
    expo = -100;
  }
  expo += (bits >>> 23) - 126;
  bitsView.setUint32(0, (bits & 0x7fffff) | (126 << 23));
  let m = bitsView.getFloat32(0);
  if (m <= LOG_SQRT1_2) {
    m = f32(m + m);
    expo -= 1;
  }
  m = f32(m - 1);
  let num = fmaF32(LOG_P[5], m, LOG_P[4]);
  for (let i = 3; i >= 0; i--) num = fmaF32(num, m, LOG_P[i]);
  let den = fmaF32(LOG_Q[5], m, LOG_Q[4]);
  for (let i = 3; i >= 0; i--) den = fmaF32(den, m, LOG_Q[i]);
  return fmaF32(expo, LOG_LN2, f32(num / den));
}

// ---------------------------------------------------------------------------------------------
// Box geometry.

/** boxes_area: (x2 - x1 + 1) * (y2 - y1 + 1) per box; Detectron asserts areas are non-negative. */
export function boxesArea<T extends FloatArray>(boxes: T): T {
  const n = rowCount(boxes, 4, 'boxesArea');
  const r = rounderOf(boxes);
  const out = sameKind(boxes, n);
  for (let i = 0; i < n; i++) {
    const w = r(r(boxes[4 * i + 2] - boxes[4 * i]) + 1);
    const h = r(r(boxes[4 * i + 3] - boxes[4 * i + 1]) + 1);
    out[i] = r(w * h);
    if (!(out[i] >= 0)) throw new Error(`boxesArea: negative area ${out[i]} for box ${i}`);
  }
  return out;
}

/** unique_boxes: ascending indices of the first box of each distinct np.round(box * scale). */
export function uniqueBoxes(boxes: FloatArray, scale = 1): Int32Array {
  const n = rowCount(boxes, 4, 'uniqueBoxes');
  const r = rounderOf(boxes);
  const s = r(scale);
  const v = [1, 1e3, 1e6, 1e9];
  const seen = new Set<number>();
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    let hash = 0;
    for (let c = 0; c < 4; c++) hash += roundHalfEvenLocal(r(boxes[4 * i + c] * s)) * v[c];
    if (!seen.has(hash)) {
      seen.add(hash);
      keep.push(i);
    }
  }
  return Int32Array.from(keep);
}

/** np.round: half to even. */
function roundHalfEvenLocal(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** xywh_to_xyxy on an N×4 array: x2 = x1 + max(0, w - 1). */
export function xywhToXyxy<T extends FloatArray>(xywh: T): T {
  const n = rowCount(xywh, 4, 'xywhToXyxy');
  const r = rounderOf(xywh);
  const out = sameKind(xywh, xywh.length);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    out[o] = xywh[o];
    out[o + 1] = xywh[o + 1];
    out[o + 2] = r(xywh[o] + Math.max(0, r(xywh[o + 2] - 1)));
    out[o + 3] = r(xywh[o + 1] + Math.max(0, r(xywh[o + 3] - 1)));
  }
  return out;
}

/** xyxy_to_xywh on an N×4 array: w = x2 - x1 + 1. */
export function xyxyToXywh<T extends FloatArray>(xyxy: T): T {
  const n = rowCount(xyxy, 4, 'xyxyToXywh');
  const r = rounderOf(xyxy);
  const out = sameKind(xyxy, xyxy.length);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    out[o] = xyxy[o];
    out[o + 1] = xyxy[o + 1];
    out[o + 2] = r(r(xyxy[o + 2] - xyxy[o]) + 1);
    out[o + 3] = r(r(xyxy[o + 3] - xyxy[o + 1]) + 1);
  }
  return out;
}

/** filter_small_boxes: indices of boxes whose +1 width and height are both > minSize. */
export function filterSmallBoxes(boxes: FloatArray, minSize: number): Int32Array {
  const n = rowCount(boxes, 4, 'filterSmallBoxes');
  const r = rounderOf(boxes);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = r(r(boxes[4 * i + 2] - boxes[4 * i]) + 1);
    const h = r(r(boxes[4 * i + 3] - boxes[4 * i + 1]) + 1);
    if (w > minSize && h > minSize) keep.push(i);
  }
  return Int32Array.from(keep);
}

/** Clamp to [0, hi] as np.minimum(hi, np.maximum(0, v)) does (NaN passes through). */
function clampTo(v: number, hi: number): number {
  const lo = v < 0 ? 0 : v;
  return lo > hi ? hi : lo;
}

/** clip_boxes_to_image: x into [0, width - 1], y into [0, height - 1]. Returns a new array. */
export function clipBoxesToImage<T extends FloatArray>(boxes: T, height: number, width: number): T {
  rowCount(boxes, 4, 'clipBoxesToImage');
  return clipTiledBoxes(boxes, 4, height, width);
}

/** clip_xyxy_to_image for one box. */
export function clipXyxyToImage(
  x1: number, y1: number, x2: number, y2: number, height: number, width: number,
): [number, number, number, number] {
  return [clampTo(x1, width - 1), clampTo(y1, height - 1), clampTo(x2, width - 1), clampTo(y2, height - 1)];
}

/** clip_tiled_boxes: every box of an N×cols array (cols a multiple of 4) clipped to the image. */
export function clipTiledBoxes<T extends FloatArray>(boxes: T, cols: number, height: number, width: number): T {
  checkTiled(cols, 'clipTiledBoxes');
  rowCount(boxes, cols, 'clipTiledBoxes');
  const r = rounderOf(boxes);
  // The limits are cast to the array's dtype, as numpy casts the scalar.
  const xMax = r(width - 1);
  const yMax = r(height - 1);
  const out = sameKind(boxes, boxes.length);
  for (let i = 0; i < boxes.length; i++) {
    const v = boxes[i];
    const hi = i % 2 === 0 ? xMax : yMax;
    // np.maximum(np.minimum(v, hi), 0)
    const m = v > hi ? hi : v;
    out[i] = m < 0 ? 0 : m;
  }
  return out;
}

/**
 * bbox_transform: apply regression deltas (N×cols, cols = 4K) to boxes (N×4). The result has the
 * deltas' dtype; boxes are first cast to it (Detectron: boxes.astype(deltas.dtype)).
 * dw, dh are clipped at `clip` (cast to the deltas' dtype, as np.minimum does with a scalar).
 */
export function bboxTransform<T extends FloatArray>(
  boxes: FloatArray, deltas: T, cols: number,
  weights: readonly [number, number, number, number] = [1, 1, 1, 1], clip = DEFAULT_BBOX_XFORM_CLIP,
): T {
  checkTiled(cols, 'bboxTransform');
  const n = rowCount(boxes, 4, 'bboxTransform boxes');
  const nd = rowCount(deltas, cols, 'bboxTransform deltas');
  if (n !== nd) throw new Error(`bboxTransform: ${n} boxes but ${nd} rows of deltas`);
  const r = rounderOf(deltas);
  // float32 arrays exponentiate with numpy's own float32 exp
  const exp = deltas instanceof Float32Array ? npExpF32 : Math.exp;
  const [wx, wy, ww, wh] = weights.map(r);
  const clipR = r(clip);
  const out = sameKind(deltas, deltas.length);
  for (let i = 0; i < n; i++) {
    const x1 = r(boxes[4 * i]);
    const y1 = r(boxes[4 * i + 1]);
    const width = r(r(r(boxes[4 * i + 2]) - x1) + 1);
    const height = r(r(r(boxes[4 * i + 3]) - y1) + 1);
    const ctrX = r(x1 + r(0.5 * width));
    const ctrY = r(y1 + r(0.5 * height));
    for (let k = 0; k < cols; k += 4) {
      const o = i * cols + k;
      const dx = r(deltas[o] / wx);
      const dy = r(deltas[o + 1] / wy);
      const dw = Math.min(r(deltas[o + 2] / ww), clipR);
      const dh = Math.min(r(deltas[o + 3] / wh), clipR);
      const predCtrX = r(r(dx * width) + ctrX);
      const predCtrY = r(r(dy * height) + ctrY);
      const halfW = r(0.5 * r(exp(dw) * width));
      const halfH = r(0.5 * r(exp(dh) * height));
      out[o] = r(predCtrX - halfW);
      out[o + 1] = r(predCtrY - halfH);
      // "- 1" is correct (Detectron's +1 width convention)
      out[o + 2] = r(r(predCtrX + halfW) - 1);
      out[o + 3] = r(r(predCtrY + halfH) - 1);
    }
  }
  return out;
}

/**
 * bbox_transform_inv: regression targets (N×4) taking `boxes` to `gtBoxes`. float32 when both
 * inputs are float32, float64 otherwise (numpy's promotion of the two arrays).
 */
export function bboxTransformInv(
  boxes: FloatArray, gtBoxes: FloatArray, weights: readonly [number, number, number, number] = [1, 1, 1, 1],
): FloatArray {
  const n = rowCount(boxes, 4, 'bboxTransformInv boxes');
  const ng = rowCount(gtBoxes, 4, 'bboxTransformInv gtBoxes');
  if (n !== ng) throw new Error(`bboxTransformInv: ${n} boxes but ${ng} gt boxes`);
  const both32 = boxes instanceof Float32Array && gtBoxes instanceof Float32Array;
  const r = both32 ? f32 : id;
  const rb = rounderOf(boxes);
  const rg = rounderOf(gtBoxes);
  const log = both32 ? npLogF32 : Math.log;
  const out = both32 ? new Float32Array(4 * n) : new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const exW = rb(rb(boxes[o + 2] - boxes[o]) + 1);
    const exH = rb(rb(boxes[o + 3] - boxes[o + 1]) + 1);
    const exX = rb(boxes[o] + rb(0.5 * exW));
    const exY = rb(boxes[o + 1] + rb(0.5 * exH));
    const gtW = rg(rg(gtBoxes[o + 2] - gtBoxes[o]) + 1);
    const gtH = rg(rg(gtBoxes[o + 3] - gtBoxes[o + 1]) + 1);
    const gtX = rg(gtBoxes[o] + rg(0.5 * gtW));
    const gtY = rg(gtBoxes[o + 1] + rg(0.5 * gtH));
    out[o] = r(r(rb(weights[0]) * r(gtX - exX)) / exW);
    out[o + 1] = r(r(rb(weights[1]) * r(gtY - exY)) / exH);
    out[o + 2] = r(rb(weights[2]) * log(r(gtW / exW)));
    out[o + 3] = r(rb(weights[3]) * log(r(gtH / exH)));
  }
  return out;
}

/**
 * expand_boxes: scale boxes about their centres (half sizes without the +1). The arithmetic is
 * in the input dtype; like Detectron (np.zeros), the result is float64.
 */
export function expandBoxes(boxes: FloatArray, scale: number): Float64Array {
  const n = rowCount(boxes, 4, 'expandBoxes');
  const r = rounderOf(boxes);
  const s = r(scale);
  const out = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const wHalf = r(r(r(boxes[o + 2] - boxes[o]) * 0.5) * s);
    const hHalf = r(r(r(boxes[o + 3] - boxes[o + 1]) * 0.5) * s);
    const xC = r(r(boxes[o + 2] + boxes[o]) * 0.5);
    const yC = r(r(boxes[o + 3] + boxes[o + 1]) * 0.5);
    out[o] = r(xC - wHalf);
    out[o + 2] = r(xC + wHalf);
    out[o + 1] = r(yC - hHalf);
    out[o + 3] = r(yC + hHalf);
  }
  return out;
}

/** flip_boxes: horizontal flip of N×cols tiled boxes: x1' = W - x2 - 1, x2' = W - x1 - 1. */
export function flipBoxes<T extends FloatArray>(boxes: T, cols: number, imWidth: number): T {
  checkTiled(cols, 'flipBoxes');
  rowCount(boxes, cols, 'flipBoxes');
  const r = rounderOf(boxes);
  const w = r(imWidth);
  const out = sameKind(boxes, boxes.length);
  out.set(boxes);
  for (let o = 0; o < boxes.length; o += 4) {
    out[o] = r(r(w - boxes[o + 2]) - 1);
    out[o + 2] = r(r(w - boxes[o]) - 1);
  }
  return out;
}

/** aspect_ratio: x coordinates of N×cols tiled boxes multiplied by `ratio`. */
export function aspectRatio<T extends FloatArray>(boxes: T, cols: number, ratio: number): T {
  checkTiled(cols, 'aspectRatio');
  rowCount(boxes, cols, 'aspectRatio');
  const r = rounderOf(boxes);
  const a = r(ratio);
  const out = sameKind(boxes, boxes.length);
  out.set(boxes);
  for (let o = 0; o < boxes.length; o += 4) {
    out[o] = r(a * boxes[o]);
    out[o + 2] = r(a * boxes[o + 2]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Overlaps and NMS: ports of the Cython kernels, in their C arithmetic. Cython writes the "+ 1"
// of `x2 - x1 + 1` as the double literal 1.0, so such sums (and the products and sums built on
// them) are evaluated in double and rounded to float only where the result is stored in a
// float variable; `w * h` of two float variables stays float.

/**
 * cython_bbox.bbox_overlaps: N×K IoU (with +1 widths) between boxes (N×`boxCols`, first four
 * columns used) and query boxes (K×`queryCols`). Zero where the boxes do not intersect.
 */
export function bboxOverlaps(boxes: Float32Array, query: Float32Array, boxCols = 4, queryCols = 4): Float32Array {
  const n = rowCount(boxes, boxCols, 'bboxOverlaps boxes');
  const k = rowCount(query, queryCols, 'bboxOverlaps query');
  if (boxCols < 4 || queryCols < 4) throw new Error('bboxOverlaps: boxes need at least 4 columns');
  const out = new Float32Array(n * k);
  for (let q = 0; q < k; q++) {
    const qo = q * queryCols;
    const qx1 = query[qo], qy1 = query[qo + 1], qx2 = query[qo + 2], qy2 = query[qo + 3];
    const qArea = f32((f32(qx2 - qx1) + 1) * (f32(qy2 - qy1) + 1));
    for (let i = 0; i < n; i++) {
      const bo = i * boxCols;
      const bx1 = boxes[bo], by1 = boxes[bo + 1], bx2 = boxes[bo + 2], by2 = boxes[bo + 3];
      const iw = f32(f32(Math.min(bx2, qx2) - Math.max(bx1, qx1)) + 1);
      if (!(iw > 0)) continue;
      const ih = f32(f32(Math.min(by2, qy2) - Math.max(by1, qy1)) + 1);
      if (!(ih > 0)) continue;
      const inter = f32(iw * ih);
      const ua = f32((f32(bx2 - bx1) + 1) * (f32(by2 - by1) + 1) + qArea - inter);
      out[i * k + q] = f32(inter / ua);
    }
  }
  return out;
}

/** Cython's `a if a >= b else b` / `a if a <= b else b` on floats. */
const maxF = (a: number, b: number): number => (a >= b ? a : b);
const minF = (a: number, b: number): number => (a <= b ? a : b);

/**
 * cython_nms.nms (Detectron HEAD): greedy NMS over N×5 float32 dets. Boxes are visited in
 * descending score order (scores.argsort()[::-1]: ties visit the higher index first); a box is
 * suppressed when its IoU with a kept box is >= thresh (compared in float32). Returns the kept
 * indices in ascending index order, as HEAD's `np.where(suppressed == 0)[0]` does.
 */
export function nms(dets: Float32Array, thresh: number): Int32Array {
  const n = rowCount(dets, 5, 'nms');
  if (n === 0) return new Int32Array(0);
  const t = f32(thresh);
  const areas = new Float32Array(n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = 5 * i;
    areas[i] = f32(f32(f32(dets[o + 2] - dets[o]) + 1) * f32(f32(dets[o + 3] - dets[o + 1]) + 1));
    scores[i] = dets[o + 4];
  }
  const order = argsortDescendingTiesHighFirst(scores);
  const suppressed = new Uint8Array(n);
  for (let a = 0; a < n; a++) {
    const i = order[a];
    if (suppressed[i]) continue;
    const io = 5 * i;
    const ix1 = dets[io], iy1 = dets[io + 1], ix2 = dets[io + 2], iy2 = dets[io + 3];
    const iarea = areas[i];
    for (let b = a + 1; b < n; b++) {
      const j = order[b];
      if (suppressed[j]) continue;
      const jo = 5 * j;
      const w = maxF(0, f32(f32(minF(ix2, dets[jo + 2]) - maxF(ix1, dets[jo])) + 1));
      const h = maxF(0, f32(f32(minF(iy2, dets[jo + 3]) - maxF(iy1, dets[jo + 1])) + 1));
      const inter = f32(w * h);
      const ovr = f32(inter / f32(f32(iarea + areas[j]) - inter));
      if (ovr >= t) suppressed[j] = 1;
    }
  }
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!suppressed[i]) keep.push(i);
  return Int32Array.from(keep);
}

/** scores.argsort()[::-1] with a stable ascending sort: descending, ties by descending index. */
function argsortDescendingTiesHighFirst(values: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(values.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => (values[b] - values[a]) || (b - a));
  return idx;
}

export type SoftNmsMethod = 'hard' | 'linear' | 'gaussian';

export interface SoftNmsOptions {
  sigma?: number;
  overlapThresh?: number;
  scoreThresh?: number;
  method?: SoftNmsMethod;
}

export interface SoftNmsResult {
  /** The surviving dets (M×5, float32) in selection order, with decayed scores. */
  dets: Float32Array;
  /** Their indices in the input. */
  keep: Int32Array;
}

/**
 * boxes.soft_nms / cython_nms.soft_nms (defaults sigma 0.5, overlap 0.3, score 0.001, linear).
 * Each step moves the highest remaining score (first maximum) to the front, then decays the
 * others' scores by their IoU with it and drops (swaps out with the last) those below scoreThresh.
 */
export function softNms(dets: FloatArray, opts: SoftNmsOptions = {}): SoftNmsResult {
  let n = rowCount(dets, 5, 'softNms');
  if (n === 0) return { dets: new Float32Array(0), keep: new Int32Array(0) };
  const method = opts.method ?? 'linear';
  if (method !== 'hard' && method !== 'linear' && method !== 'gaussian') {
    throw new Error(`softNms: unknown method ${String(method)}`);
  }
  const sigma = f32(opts.sigma ?? 0.5);
  const nt = f32(opts.overlapThresh ?? 0.3);
  const threshold = f32(opts.scoreThresh ?? 0.001);
  const b = Float32Array.from(dets);
  const inds = new Int32Array(n);
  for (let i = 0; i < n; i++) inds[i] = i;
  const swapRows = (p: number, q: number): void => {
    for (let c = 0; c < 5; c++) {
      const t = b[5 * p + c];
      b[5 * p + c] = b[5 * q + c];
      b[5 * q + c] = t;
    }
    const t = inds[p];
    inds[p] = inds[q];
    inds[q] = t;
  };
  for (let i = 0; i < n; i++) {
    let maxPos = i;
    for (let pos = i + 1; pos < n; pos++) if (b[5 * maxPos + 4] < b[5 * pos + 4]) maxPos = pos;
    swapRows(i, maxPos);
    const tx1 = b[5 * i], ty1 = b[5 * i + 1], tx2 = b[5 * i + 2], ty2 = b[5 * i + 3];
    const tArea = (f32(tx2 - tx1) + 1) * (f32(ty2 - ty1) + 1); // double, never stored
    for (let pos = i + 1; pos < n; pos++) {
      const o = 5 * pos;
      const x1 = b[o], y1 = b[o + 1], x2 = b[o + 2], y2 = b[o + 3];
      const area = f32((f32(x2 - x1) + 1) * (f32(y2 - y1) + 1));
      const iw = f32(f32(minF(tx2, x2) - maxF(tx1, x1)) + 1);
      if (!(iw > 0)) continue;
      const ih = f32(f32(minF(ty2, y2) - maxF(ty1, y1)) + 1);
      if (!(ih > 0)) continue;
      const inter = f32(iw * ih);
      const ov = f32(inter / f32(tArea + area - inter));
      b[o + 4] = f32(softNmsWeight(ov, method, nt, sigma) * b[o + 4]);
      if (b[o + 4] < threshold) {
        // discard by moving the last live box here, and look at this position again
        for (let c = 0; c < 5; c++) b[o + c] = b[5 * (n - 1) + c];
        inds[pos] = inds[n - 1];
        n--;
        pos--;
      }
    }
  }
  return { dets: b.slice(0, 5 * n), keep: inds.slice(0, n) };
}

function softNmsWeight(ov: number, method: SoftNmsMethod, nt: number, sigma: number): number {
  if (method === 'linear') return ov > nt ? f32(1 - ov) : 1;
  // gaussian: -(ov*ov)/sigma in C float, then np.exp in double, stored in a C float
  if (method === 'gaussian') return f32(Math.exp(f32(-f32(ov * ov) / sigma)));
  return ov > nt ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Box voting.

export type BoxVotingScoring = 'ID' | 'TEMP_AVG' | 'AVG' | 'IOU_AVG' | 'GENERALIZED_AVG' | 'QUASI_SUM';

/**
 * box_voting: each top det's box becomes the score-weighted average (np.average, float32) of the
 * dets in `allDets` overlapping it by >= thresh; its score is recomputed by `scoringMethod`.
 * Both inputs are M×5 / N×5 float32 dets.
 */
export function boxVoting(
  topDets: Float32Array, allDets: Float32Array, thresh: number, scoringMethod: BoxVotingScoring = 'ID', beta = 1,
): Float32Array {
  const m = rowCount(topDets, 5, 'boxVoting topDets');
  const n = rowCount(allDets, 5, 'boxVoting allDets');
  const out = Float32Array.from(topDets);
  const overlaps = bboxOverlaps(topDets, allDets, 5, 5);
  const t = f32(thresh);
  for (let k = 0; k < m; k++) {
    const inds: number[] = [];
    for (let j = 0; j < n; j++) if (overlaps[k * n + j] >= t) inds.push(j);
    if (inds.length === 0) throw new Error(`boxVoting: det ${k} overlaps no det by >= ${thresh} (numpy divides by zero)`);
    const ws = Float32Array.from(inds, (j) => allDets[5 * j + 4]);
    // np.average(boxes, axis=0, weights=ws): pairwise weight sum; rows of w*box summed in order
    const scl = pairwiseSumF32(ws);
    for (let c = 0; c < 4; c++) {
      let num = 0;
      for (let v = 0; v < inds.length; v++) num = f32(num + f32(allDets[5 * inds[v] + c] * ws[v]));
      out[5 * k + c] = f32(num / scl);
    }
    if (scoringMethod !== 'ID') {
      const ious = Float32Array.from(inds, (j) => overlaps[k * n + j]);
      out[5 * k + 4] = votedScore(ws, ious, scoringMethod, beta);
    }
  }
  return out;
}

function votedScore(ws: Float32Array, ious: Float32Array, method: BoxVotingScoring, beta: number): number {
  const n = ws.length;
  switch (method) {
    case 'TEMP_AVG': {
      // softmax with temperature over (P, 1 - P), averaged
      const b = f32(beta);
      const pTemp = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const p = ws[i];
        const q = f32(1 - p);
        const pMax = Math.max(p, q);
        const e0 = npExpF32(f32(npLogF32(f32(p / pMax)) / b));
        const e1 = npExpF32(f32(npLogF32(f32(q / pMax)) / b));
        pTemp[i] = f32(e0 / f32(e0 + e1));
      }
      return meanF32(pTemp);
    }
    case 'AVG':
      return meanF32(ws);
    case 'IOU_AVG': {
      const prod = Float32Array.from(ws, (w, i) => f32(w * ious[i]));
      return f32(pairwiseSumF32(prod) / pairwiseSumF32(ious));
    }
    case 'GENERALIZED_AVG': {
      const b = f32(beta);
      const powered = Float32Array.from(ws, (w) => f32(Math.pow(w, b)));
      // np.float32 ** Python float is computed in float64
      return f32(Math.pow(meanF32(powered), 1 / beta));
    }
    case 'QUASI_SUM':
      return f32(pairwiseSumF32(ws) / Math.pow(n, beta));
    default:
      throw new Error(`boxVoting: unknown scoring method ${String(method)}`);
  }
}
