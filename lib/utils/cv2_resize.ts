/**
 * OpenCV's `cv::resize` for float32 images, bit for bit (INTER_LINEAR and INTER_CUBIC).
 *
 * Detectron resizes with OpenCV twice: the network input (`prep_im_for_blob`, INTER_LINEAR with
 * fx = fy = im_scale) and keypoint heatmaps (`heatmaps_to_keypoints`, INTER_CUBIC to a dsize).
 * Matching Detectron's numbers means reproducing OpenCV's arithmetic exactly, which is:
 *   - the output size is round-half-even(src * f) when scale factors are given; the sampling grid
 *     uses 1/f (not src/dst) in that case, and src/dst when a dsize is given;
 *   - a same-size resize is a plain copy; a linear downscale by exactly 2 on both axes is
 *     silently INTER_AREA's 2x2 box average (OpenCV's own shortcut);
 *   - otherwise separable: every source row is resized horizontally into a float buffer, then
 *     output rows are weighted sums of ksize buffered rows. Coefficients are float32, computed from
 *     `fx = (float)((dx + 0.5) * scale - 0.5)`; each product and each sum is a float32 operation in
 *     OpenCV's order (no fused multiply-add), which we get with Math.fround after every step.
 * A product or sum of two float32 values evaluated in double and then rounded to float32 equals
 * the float32 operation (double has more than 2*24+2 bits), so Math.fround reproduces SSE exactly.
 */
import { NdArray } from './ndarray';

export type ResizeInterpolation = 'linear' | 'cubic';

export interface ResizeOptions {
  /** Output [width, height] (OpenCV's dsize order). Either dsize or fx/fy. */
  dsize?: readonly [number, number];
  fx?: number;
  fy?: number;
  interpolation: ResizeInterpolation;
}

/** Size and layout of an HWC float image, with C = 1 for a 2-D input. */
interface ImageGeometry {
  height: number;
  width: number;
  channels: number;
}

/** A separable resampling plan for one axis: source index and float32 weights per output index. */
interface AxisPlan {
  /** First source index of each output position (unclamped for cubic, clamped for linear). */
  offsets: Int32Array;
  /** ksize float32 weights per output position. */
  weights: Float32Array;
  /** Outputs below `min` or at/after `max` need border handling (OpenCV's xmin/xmax). */
  min: number;
  max: number;
}

const DBL_EPSILON = 2.220446049250313e-16;
const CUBIC_A = Math.fround(-0.75);

/**
 * OpenCV's cvRound / saturate_cast<int>(double): round half to even, as the SSE2 conversion does
 * under the default rounding mode. Also numpy's np.round.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; for an exact tie take the even neighbour.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** OpenCV's interpolateCubic with A = -0.75, every step in float32. */
function cubicWeights(x: number, out: Float32Array, at: number): void {
  const f = Math.fround;
  const A = CUBIC_A;
  const x1 = f(x + 1);
  const ox = f(1 - x);
  // ((A*(x+1) - 5A)*(x+1) + 8A)*(x+1) - 4A
  const c0 = f(f(f(f(f(f(A * x1) - f(5 * A)) * x1) + f(8 * A)) * x1) - f(4 * A));
  // ((A+2)*x - (A+3))*x*x + 1
  const c1 = f(f(f(f(f(f(A + 2) * x) - f(A + 3)) * x) * x) + 1);
  // ((A+2)*(1-x) - (A+3))*(1-x)*(1-x) + 1
  const c2 = f(f(f(f(f(f(A + 2) * ox) - f(A + 3)) * ox) * ox) + 1);
  const c3 = f(f(f(1 - c0) - c1) - c2);
  out[at] = c0;
  out[at + 1] = c1;
  out[at + 2] = c2;
  out[at + 3] = c3;
}

/**
 * Horizontal plan as in hal::resize: float position, floor, fractional weight. Linear clamps the
 * position into the image (weight 0 at the edges); cubic keeps it and replicates border pixels.
 */
function planAxis(srcSize: number, dstSize: number, scale: number, ksize: 2 | 4, clampLinear: boolean): AxisPlan {
  const offsets = new Int32Array(dstSize);
  const weights = new Float32Array(dstSize * ksize);
  const half = ksize / 2;
  let min = 0;
  let max = dstSize;
  for (let d = 0; d < dstSize; d++) {
    let fx = Math.fround((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = Math.fround(fx - sx);
    if (sx < half - 1) {
      min = d + 1;
      if (sx < 0 && clampLinear) {
        fx = 0;
        sx = 0;
      }
    }
    if (sx + half >= srcSize) {
      max = Math.min(max, d);
      if (sx >= srcSize - 1 && clampLinear) {
        fx = 0;
        sx = srcSize - 1;
      }
    }
    offsets[d] = sx;
    if (ksize === 4) {
      cubicWeights(fx, weights, d * 4);
    } else {
      weights[d * 2] = Math.fround(1 - fx);
      weights[d * 2 + 1] = fx;
    }
  }
  return { offsets, weights, min, max };
}

/** Linear horizontal pass of one source row (HResizeLinear<float>). */
function hresizeLinearRow(
  src: Float32Array, srcBase: number, dst: Float32Array, dstBase: number,
  plan: AxisPlan, dstWidth: number, cn: number,
): void {
  const f = Math.fround;
  const { offsets, weights, max } = plan;
  for (let dx = 0; dx < dstWidth; dx++) {
    const s = srcBase + offsets[dx] * cn;
    const o = dstBase + dx * cn;
    if (dx < max) {
      const a0 = weights[dx * 2];
      const a1 = weights[dx * 2 + 1];
      for (let k = 0; k < cn; k++) dst[o + k] = f(f(src[s + k] * a0) + f(src[s + k + cn] * a1));
    } else {
      for (let k = 0; k < cn; k++) dst[o + k] = src[s + k];
    }
  }
}

/** Cubic horizontal pass of one source row (HResizeCubic<float>): border pixels replicated. */
function hresizeCubicRow(
  src: Float32Array, srcBase: number, dst: Float32Array, dstBase: number,
  plan: AxisPlan, dstWidth: number, cn: number, srcWidth: number,
): void {
  const f = Math.fround;
  const { offsets, weights, min, max } = plan;
  for (let dx = 0; dx < dstWidth; dx++) {
    const sx = offsets[dx];
    const w = dx * 4;
    const o = dstBase + dx * cn;
    if (dx < min || dx >= max) {
      // OpenCV starts from 0 and accumulates tap by tap here (this can differ from the interior
      // formula only in the sign of a zero, which we keep too).
      for (let k = 0; k < cn; k++) {
        let v = 0;
        for (let j = 0; j < 4; j++) {
          const x = Math.min(Math.max(sx - 1 + j, 0), srcWidth - 1);
          v = f(v + f(src[srcBase + x * cn + k] * weights[w + j]));
        }
        dst[o + k] = v;
      }
    } else {
      const s = srcBase + (sx - 1) * cn;
      const a0 = weights[w], a1 = weights[w + 1], a2 = weights[w + 2], a3 = weights[w + 3];
      for (let k = 0; k < cn; k++) {
        const p = s + k;
        dst[o + k] = f(f(f(f(src[p] * a0) + f(src[p + cn] * a1)) + f(src[p + 2 * cn] * a2)) + f(src[p + 3 * cn] * a3));
      }
    }
  }
}

/** OpenCV's generic separable resize (resizeGeneric_) for ksize 2 (linear) or 4 (cubic). */
function resizeSeparable(
  src: Float32Array, g: ImageGeometry, dstW: number, dstH: number,
  scaleX: number, scaleY: number, interpolation: ResizeInterpolation,
): Float32Array {
  const cn = g.channels;
  const ksize = interpolation === 'cubic' ? 4 : 2;
  const linear = interpolation === 'linear';
  const xplan = planAxis(g.width, dstW, scaleX, ksize, linear);
  // Rows: OpenCV keeps the unclamped floor and clips each tap's row index instead, so a linear
  // border row is S*(1-fy) + S*fy (not always exactly S) — reproduced by clipping below.
  const yplan = planAxis(g.height, dstH, scaleY, ksize, false);
  const rowLen = dstW * cn;
  // Horizontally resized source rows, computed on first use (a downscale skips unused rows).
  const rows = new Float32Array(g.height * rowLen);
  const done = new Uint8Array(g.height);
  const ensureRow = (sy: number): number => {
    const base = sy * rowLen;
    if (!done[sy]) {
      const srcBase = sy * g.width * cn;
      if (linear) hresizeLinearRow(src, srcBase, rows, base, xplan, dstW, cn);
      else hresizeCubicRow(src, srcBase, rows, base, xplan, dstW, cn, g.width);
      done[sy] = 1;
    }
    return base;
  };
  const clipRow = (y: number): number => (y < 0 ? 0 : y >= g.height ? g.height - 1 : y);
  const out = new Float32Array(dstH * rowLen);
  const f = Math.fround;
  for (let dy = 0; dy < dstH; dy++) {
    const sy = yplan.offsets[dy];
    const o = dy * rowLen;
    if (linear) {
      const r0 = ensureRow(clipRow(sy));
      const r1 = ensureRow(clipRow(sy + 1));
      const b0 = yplan.weights[dy * 2];
      const b1 = yplan.weights[dy * 2 + 1];
      for (let x = 0; x < rowLen; x++) out[o + x] = f(f(rows[r0 + x] * b0) + f(rows[r1 + x] * b1));
    } else {
      const r0 = ensureRow(clipRow(sy - 1));
      const r1 = ensureRow(clipRow(sy));
      const r2 = ensureRow(clipRow(sy + 1));
      const r3 = ensureRow(clipRow(sy + 2));
      const w = dy * 4;
      const b0 = yplan.weights[w], b1 = yplan.weights[w + 1], b2 = yplan.weights[w + 2], b3 = yplan.weights[w + 3];
      // OpenCV's SIMD loop (4 floats at a time) accumulates from the last row to the first:
      // v_muladd(S0, b0, v_muladd(S1, b1, v_muladd(S2, b2, S3*b3))), unfused; the scalar tail
      // goes first to last.
      const simdEnd = rowLen - (rowLen % 4);
      let x = 0;
      for (; x < simdEnd; x++) {
        out[o + x] = f(f(f(f(rows[r3 + x] * b3) + f(rows[r2 + x] * b2)) + f(rows[r1 + x] * b1)) + f(rows[r0 + x] * b0));
      }
      for (; x < rowLen; x++) {
        out[o + x] = f(f(f(f(rows[r0 + x] * b0) + f(rows[r1 + x] * b1)) + f(rows[r2 + x] * b2)) + f(rows[r3 + x] * b3));
      }
    }
  }
  return out;
}

/**
 * OpenCV's resizeAreaFast_ for float at scale 2 on both axes (its shortcut for linear 2x
 * downscales). A full 2x2 cell is summed and multiplied by 0.25f: OpenCV's SSE path (1 and 4
 * channels) adds ((a+b)+(c+d)), its scalar path (3 channels, the 1-channel tail) adds
 * 0+(((a+b)+c)+d). Cells cut by the right or bottom edge average what is inside.
 */
function resizeAreaFast2(src: Float32Array, g: ImageGeometry, dstW: number, dstH: number): Float32Array {
  const f = Math.fround;
  const cn = g.channels;
  const srcRow = g.width * cn;
  const rowLen = dstW * cn;
  const fullWidth = Math.floor(g.width / 2) * cn;
  const simd = cn === 1 || cn === 4;
  const out = new Float32Array(dstH * rowLen);
  for (let dy = 0; dy < dstH; dy++) {
    const o = dy * rowLen;
    const sy0 = dy * 2;
    if (sy0 >= g.height) continue; // OpenCV writes zeros
    const full = sy0 + 2 <= g.height ? fullWidth : 0;
    // cn 1: four outputs per SSE step; cn 4: one pixel (four floats) per step.
    const simdEnd = simd ? full - (full % 4) : 0;
    let dx = 0;
    for (; dx < full; dx++) {
      const p = sy0 * srcRow + (Math.floor(dx / cn) * 2 * cn + (dx % cn));
      const a = src[p], b = src[p + cn], c = src[p + srcRow], d = src[p + srcRow + cn];
      const sum = dx < simdEnd ? f(f(a + b) + f(c + d)) : 0 + f(f(f(a + b) + c) + d);
      out[o + dx] = f(sum * 0.25);
    }
    for (; dx < rowLen; dx++) {
      const sx0 = Math.floor(dx / cn) * 2 * cn + (dx % cn);
      let sum = 0;
      let count = 0;
      for (let ky = 0; ky < 2 && sy0 + ky < g.height; ky++) {
        for (let kx = 0; kx < 2 * cn && sx0 + kx < srcRow; kx += cn) {
          sum = f(sum + src[(sy0 + ky) * srcRow + sx0 + kx]);
          count++;
        }
      }
      out[o + dx] = f(sum / count);
    }
  }
  return out;
}

function geometryOf(src: NdArray): ImageGeometry {
  if (src.dtype !== 'float32' || !(src.data instanceof Float32Array)) {
    throw new Error(`cv2_resize: expected a float32 image, got dtype ${src.dtype}`);
  }
  if (src.shape.length !== 2 && src.shape.length !== 3) {
    throw new Error(`cv2_resize: expected shape [H, W] or [H, W, C], got [${src.shape.join(', ')}]`);
  }
  const [height, width] = src.shape;
  const channels = src.shape.length === 3 ? src.shape[2] : 1;
  if (!(height > 0 && width > 0 && channels > 0)) {
    throw new Error(`cv2_resize: empty image of shape [${src.shape.join(', ')}]`);
  }
  if (src.data.length !== height * width * channels) {
    throw new Error(`cv2_resize: data length ${src.data.length} does not match shape [${src.shape.join(', ')}]`);
  }
  return { height, width, channels };
}

/** Output size and inverse scales exactly as cv::resize derives them. */
function resolveSize(g: ImageGeometry, opts: ResizeOptions): { dstW: number; dstH: number; invX: number; invY: number } {
  if (opts.dsize) {
    const [dstW, dstH] = opts.dsize;
    if (!(Number.isInteger(dstW) && Number.isInteger(dstH) && dstW > 0 && dstH > 0)) {
      throw new Error(`cv2_resize: dsize must be two positive integers, got [${opts.dsize.join(', ')}]`);
    }
    return { dstW, dstH, invX: dstW / g.width, invY: dstH / g.height };
  }
  const { fx, fy } = opts;
  if (!(typeof fx === 'number' && typeof fy === 'number' && fx > 0 && fy > 0 && Number.isFinite(fx) && Number.isFinite(fy))) {
    throw new Error(`cv2_resize: without dsize, fx and fy must be positive finite numbers, got fx=${fx}, fy=${fy}`);
  }
  const dstW = roundHalfEven(g.width * fx);
  const dstH = roundHalfEven(g.height * fy);
  if (dstW <= 0 || dstH <= 0) {
    throw new Error(`cv2_resize: scale factors fx=${fx}, fy=${fy} give an empty ${dstW}x${dstH} output`);
  }
  return { dstW, dstH, invX: fx, invY: fy };
}

/**
 * cv2.resize(src, dsize, fx=, fy=, interpolation=) for float32 [H, W] or [H, W, C] images.
 * Returns a new float32 NdArray of the same rank.
 */
export function cv2Resize(src: NdArray, opts: ResizeOptions): NdArray {
  const g = geometryOf(src);
  const data = src.data as Float32Array;
  const { dstW, dstH, invX, invY } = resolveSize(g, opts);
  const shape = src.shape.length === 3 ? [dstH, dstW, g.channels] : [dstH, dstW];
  if (dstW === g.width && dstH === g.height) {
    return { dtype: 'float32', shape, data: new Float32Array(data) };
  }
  const scaleX = 1 / invX;
  const scaleY = 1 / invY;
  const iscaleX = roundHalfEven(scaleX);
  const iscaleY = roundHalfEven(scaleY);
  const areaFast = Math.abs(scaleX - iscaleX) < DBL_EPSILON && Math.abs(scaleY - iscaleY) < DBL_EPSILON;
  if (opts.interpolation === 'linear' && areaFast && iscaleX === 2 && iscaleY === 2) {
    return { dtype: 'float32', shape, data: resizeAreaFast2(data, g, dstW, dstH) };
  }
  return { dtype: 'float32', shape, data: resizeSeparable(data, g, dstW, dstH, scaleX, scaleY, opts.interpolation) };
}
