/**
 * Detectron's keypoint utilities (detectron/utils/keypoints.py) over plain typed arrays.
 *
 * Layouts (row-major): heatmaps N×K×H×W (network output, NCHW); keypoint predictions N×4×K with
 * rows (x, y, logit, prob); ground-truth keypoints N×3×K with rows (x, y, visibility); rois N×4
 * (x1, y1, x2, y2) in image pixels.
 */
import { cv2Resize } from './cv2_resize';
import { FloatArray, npExpF32, pairwiseSum, pairwiseSumF32, rowCount } from './boxes';

const f32 = Math.fround;

/** COCO's 17 keypoints, in the order of the network's heatmap channels. */
export const COCO_KEYPOINTS: readonly string[] = Object.freeze([
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
  'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
  'right_knee', 'left_ankle', 'right_ankle',
]);

/** Left/right correspondence used when flipping images (keypoints.get_keypoints). */
export const COCO_KEYPOINT_FLIP_MAP: Readonly<Record<string, string>> = Object.freeze({
  left_eye: 'right_eye',
  left_ear: 'right_ear',
  left_shoulder: 'right_shoulder',
  left_elbow: 'right_elbow',
  left_wrist: 'right_wrist',
  left_hip: 'right_hip',
  left_knee: 'right_knee',
  left_ankle: 'right_ankle',
});

/** get_keypoints: the COCO keypoint names and their flip map. */
export function getKeypoints(): { keypoints: string[]; flipMap: Record<string, string> } {
  return { keypoints: [...COCO_KEYPOINTS], flipMap: { ...COCO_KEYPOINT_FLIP_MAP } };
}

/** get_person_class_index: the person class in Detectron's contiguous COCO ids. */
export function getPersonClassIndex(): number {
  return 1;
}

/** Index pairs (left, right) of a flip map over a keypoint list; unknown names are an error. */
export function flipPairs(keypoints: readonly string[], flipMap: Readonly<Record<string, string>>): Array<[number, number]> {
  return Object.entries(flipMap).map(([l, r]) => {
    const li = keypoints.indexOf(l);
    const ri = keypoints.indexOf(r);
    if (li < 0 || ri < 0) throw new Error(`flip map names ${l}/${r}, not both in the keypoint list`);
    return [li, ri];
  });
}

/**
 * flip_keypoints: swap left/right keypoints of N×3×K coordinates and mirror x (width - x - 1);
 * keypoints with visibility 0 keep x = 0 (COCO's convention).
 */
export function flipKeypoints<T extends Float32Array | Float64Array | Int32Array>(
  keypoints: readonly string[], flipMap: Readonly<Record<string, string>>, coords: T, width: number,
): T {
  const k = keypoints.length;
  const n = rowCount(coords, 3 * k, 'flipKeypoints');
  const out = coords.slice() as T;
  const r = coords instanceof Float32Array ? f32 : (x: number): number => x;
  for (const [li, ri] of flipPairs(keypoints, flipMap)) {
    for (let i = 0; i < n; i++) {
      for (let row = 0; row < 3; row++) {
        const base = i * 3 * k + row * k;
        out[base + li] = coords[base + ri];
        out[base + ri] = coords[base + li];
      }
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const xAt = i * 3 * k + j;
      out[xAt] = r(r(width - out[xAt]) - 1);
      if (out[xAt + 2 * k] === 0) out[xAt] = 0;
    }
  }
  return out;
}

function checkNchw(shape: readonly number[], length: number, what: string): [number, number, number, number] {
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${what}: expected an N×K×H×W shape, got [${shape.join(', ')}]`);
  }
  const [n, k, h, w] = shape;
  if (n * k * h * w !== length) throw new Error(`${what}: ${length} values do not fill shape [${shape.join(', ')}]`);
  return [n, k, h, w];
}

/** flip_heatmaps: swap left/right channels of N×K×H×W heatmaps and mirror them horizontally. */
export function flipHeatmaps(
  heatmaps: Float32Array, shape: readonly number[],
  keypoints: readonly string[] = COCO_KEYPOINTS, flipMap: Readonly<Record<string, string>> = COCO_KEYPOINT_FLIP_MAP,
): Float32Array {
  const [n, k, h, w] = checkNchw(shape, heatmaps.length, 'flipHeatmaps');
  const source = new Int32Array(k);
  for (let c = 0; c < k; c++) source[c] = c;
  for (const [li, ri] of flipPairs(keypoints, flipMap)) {
    source[li] = ri;
    source[ri] = li;
  }
  const out = new Float32Array(heatmaps.length);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const src = (i * k + source[c]) * h * w;
      const dst = (i * k + c) * h * w;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) out[dst + y * w + x] = heatmaps[src + y * w + (w - 1 - x)];
      }
    }
  }
  return out;
}

/**
 * scores_to_probs: spatial softmax of each channel of a C×H×W float32 array, in float32 as numpy
 * computes it (exp(v - max) / pairwise sum).
 */
export function scoresToProbs(scores: Float32Array, c: number, h: number, w: number): Float32Array {
  if (c * h * w !== scores.length) throw new Error(`scoresToProbs: ${scores.length} values do not fill ${c}×${h}×${w}`);
  const out = new Float32Array(scores.length);
  const hw = h * w;
  for (let ch = 0; ch < c; ch++) {
    const plane = scores.subarray(ch * hw, (ch + 1) * hw);
    let max = -Infinity;
    for (let i = 0; i < hw; i++) if (plane[i] > max) max = plane[i];
    const e = new Float32Array(hw);
    for (let i = 0; i < hw; i++) e[i] = npExpF32(f32(plane[i] - max));
    const sum = pairwiseSumF32(e);
    for (let i = 0; i < hw; i++) out[ch * hw + i] = f32(e[i] / sum);
  }
  return out;
}

export interface HeatmapsToKeypointsOptions {
  /** KRCNN.INFERENCE_MIN_SIZE: minimum side of the resized heatmap (0: none). */
  inferenceMinSize?: number;
}

/**
 * heatmaps_to_keypoints: for each roi, resize its K heatmaps (INTER_CUBIC, HWC as OpenCV sees
 * them) to the roi's ceiled size, take each channel's first maximum and map it back to image
 * coordinates (Heckbert's c = d + 0.5). Returns N×4×K float32: x, y, logit, softmax probability.
 * Widths are x2 - x1 without +1, at least 1. `rois` has `roiCols` ≥ 4 columns (x1 y1 x2 y2 first).
 */
export function heatmapsToKeypoints(
  maps: Float32Array, shape: readonly number[], rois: FloatArray, opts: HeatmapsToKeypointsOptions = {}, roiCols = 4,
): Float32Array {
  const [n, k, mh, mw] = checkNchw(shape, maps.length, 'heatmapsToKeypoints');
  const nr = rowCount(rois, roiCols, 'heatmapsToKeypoints rois');
  if (roiCols < 4) throw new Error('heatmapsToKeypoints: rois need at least 4 columns');
  if (nr !== n) throw new Error(`heatmapsToKeypoints: ${n} heatmaps but ${nr} rois`);
  const minSize = opts.inferenceMinSize ?? 0;
  const r = rois instanceof Float32Array ? f32 : (x: number): number => x;
  const out = new Float32Array(n * 4 * k);
  const hwc = new Float32Array(mh * mw * k);
  for (let i = 0; i < n; i++) {
    const ro = i * roiCols;
    const offX = rois[ro];
    const offY = rois[ro + 1];
    const width = Math.max(r(rois[ro + 2] - rois[ro]), 1);
    const height = Math.max(r(rois[ro + 3] - rois[ro + 1]), 1);
    const mapW = Math.max(Math.ceil(width), minSize);
    const mapH = Math.max(Math.ceil(height), minSize);
    // OpenCV needs integer sizes, so the divisor is an integer and numpy divides in float64
    // (this reproduces all 1700 keypoints of the golden keypoint R-CNN case exactly).
    const wCorr = width / mapW;
    const hCorr = height / mapH;
    toHwc(maps, i, k, mh, mw, hwc);
    const resized = cv2Resize({ dtype: 'float32', shape: [mh, mw, k], data: hwc }, { dsize: [mapW, mapH], interpolation: 'cubic' });
    const rm = resized.data as Float32Array;
    const plane = new Float32Array(mapW * mapH);
    for (let c = 0; c < k; c++) {
      // np.argmax: the first maximum in row-major (y, x) order
      let pos = 0;
      let max = rm[c];
      for (let p = 0; p < plane.length; p++) {
        const v = rm[p * k + c];
        plane[p] = v;
        if (v > max) {
          max = v;
          pos = p;
        }
      }
      const xInt = pos % mapW;
      const yInt = (pos - xInt) / mapW;
      for (let p = 0; p < plane.length; p++) plane[p] = npExpF32(f32(plane[p] - max));
      const o = i * 4 * k;
      out[o + c] = (xInt + 0.5) * wCorr + offX;
      out[o + k + c] = (yInt + 0.5) * hCorr + offY;
      out[o + 2 * k + c] = max;
      // the softmax at the maximum is exp(0) / sum
      out[o + 3 * k + c] = f32(1 / pairwiseSumF32(plane));
    }
  }
  return out;
}

/** Copy heatmap i of an N×K×H×W array into `out` as H×W×K. */
function toHwc(maps: Float32Array, i: number, k: number, h: number, w: number, out: Float32Array): void {
  const base = i * k * h * w;
  for (let c = 0; c < k; c++) {
    const src = base + c * h * w;
    for (let p = 0; p < h * w; p++) out[p * k + c] = maps[src + p];
  }
}

export interface HeatmapLabels {
  /** N×K linear heatmap indices y * size + x (0 where invalid), float32 as Detectron stores them. */
  heatmaps: Float32Array;
  /** N×K: 1 where the keypoint is visible and inside the roi, else 0. */
  weights: Float32Array;
}

/**
 * keypoints_to_heatmap_labels: the training target of each keypoint (N×3×K) in its roi (N×4):
 * floor((x - x1) * size / (x2 - x1)), with a keypoint exactly on the right/bottom edge moved to
 * size - 1. Arithmetic is float32 when rois are float32 (keypoints are cast to float32 first).
 */
export function keypointsToHeatmapLabels(
  keypoints: ArrayLike<number>, rois: FloatArray, numKeypoints: number, heatmapSize: number,
): HeatmapLabels {
  const n = rowCount(keypoints, 3 * numKeypoints, 'keypointsToHeatmapLabels keypoints');
  const nr = rowCount(rois, 4, 'keypointsToHeatmapLabels rois');
  if (n !== nr) throw new Error(`keypointsToHeatmapLabels: ${n} keypoint sets but ${nr} rois`);
  const r = rois instanceof Float32Array ? f32 : (x: number): number => x;
  const heatmaps = new Float32Array(n * numKeypoints);
  const weights = new Float32Array(n * numKeypoints);
  for (let i = 0; i < n; i++) {
    const [x1, y1, x2, y2] = [rois[4 * i], rois[4 * i + 1], rois[4 * i + 2], rois[4 * i + 3]];
    const scaleX = r(heatmapSize / r(x2 - x1));
    const scaleY = r(heatmapSize / r(y2 - y1));
    for (let kp = 0; kp < numKeypoints; kp++) {
      const base = i * 3 * numKeypoints + kp;
      const vis = keypoints[base + 2 * numKeypoints] > 0;
      const kx = f32(keypoints[base]);
      const ky = f32(keypoints[base + numKeypoints]);
      const x = kx === x2 ? heatmapSize - 1 : Math.floor(r(r(kx - x1) * scaleX));
      const y = ky === y2 ? heatmapSize - 1 : Math.floor(r(r(ky - y1) * scaleY));
      const valid = vis && x >= 0 && y >= 0 && x < heatmapSize && y < heatmapSize ? 1 : 0;
      heatmaps[i * numKeypoints + kp] = (y * heatmapSize + x) * valid;
      weights[i * numKeypoints + kp] = valid;
    }
  }
  return { heatmaps, weights };
}

/** COCO's per-keypoint OKS sigmas (compute_oks). */
const OKS_SIGMAS = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
  .map((s) => s / 10.0);

/**
 * compute_oks: object keypoint similarity of one prediction (4×K, with its roi) against N others
 * (N×4×K), using the source roi's +1 area.
 */
export function computeOks(
  srcKeypoints: ArrayLike<number>, srcRoi: ArrayLike<number>, dstKeypoints: Float32Array, numKeypoints: number,
): Float64Array {
  if (numKeypoints !== OKS_SIGMAS.length) throw new Error(`computeOks: COCO OKS needs 17 keypoints, got ${numKeypoints}`);
  const n = rowCount(dstKeypoints, 4 * numKeypoints, 'computeOks');
  // float32 coordinate differences; the +1 and everything after are float64 (numpy scalars)
  const srcArea = (f32(srcRoi[2] - srcRoi[0]) + 1) * (f32(srcRoi[3] - srcRoi[1]) + 1);
  const eps = 2.220446049250313e-16; // np.spacing(1)
  const out = new Float64Array(n);
  const terms = new Float64Array(numKeypoints);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < numKeypoints; k++) {
      const dx = f32(dstKeypoints[i * 4 * numKeypoints + k] - srcKeypoints[k]);
      const dy = f32(dstKeypoints[i * 4 * numKeypoints + numKeypoints + k] - srcKeypoints[numKeypoints + k]);
      const v = (OKS_SIGMAS[k] * 2) * (OKS_SIGMAS[k] * 2);
      const e = f32(f32(dx * dx) + f32(dy * dy)) / v / (srcArea + eps) / 2;
      terms[k] = Math.exp(-e);
    }
    out[i] = pairwiseSum(terms) / numKeypoints;
  }
  return out;
}

/**
 * nms_oks: greedy NMS on keypoint predictions (N×4×K) by OKS, visiting in descending mean-logit
 * order; drops predictions with OKS > thresh. Returns kept indices in visiting order.
 */
export function nmsOks(kpPredictions: Float32Array, rois: FloatArray, numKeypoints: number, thresh: number): number[] {
  const n = rowCount(kpPredictions, 4 * numKeypoints, 'nmsOks');
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    scores[i] = f32(pairwiseSumF32(kpPredictions.subarray(i * 4 * numKeypoints + 2 * numKeypoints, i * 4 * numKeypoints + 3 * numKeypoints)) / numKeypoints);
  }
  // scores.argsort()[::-1]: descending, ties visited from the highest index
  let order = Array.from(scores.keys()).sort((a, b) => (scores[b] - scores[a]) || (b - a));
  const keep: number[] = [];
  while (order.length > 0) {
    const i = order[0];
    keep.push(i);
    const rest = order.slice(1);
    const dst = new Float32Array(rest.length * 4 * numKeypoints);
    rest.forEach((j, t) => dst.set(kpPredictions.subarray(j * 4 * numKeypoints, (j + 1) * 4 * numKeypoints), t * 4 * numKeypoints));
    const src = kpPredictions.subarray(i * 4 * numKeypoints, (i + 1) * 4 * numKeypoints);
    const ovr = computeOks(src, rois.subarray(4 * i, 4 * i + 4), dst, numKeypoints);
    order = rest.filter((_, t) => ovr[t] <= thresh);
  }
  return keep;
}

export type KeypointConfidence = 'bbox' | 'logit' | 'prob';

/**
 * The score of one person's keypoints in COCO results (json_dataset_evaluator, by
 * KRCNN.KEYPOINT_CONFIDENCE): the box score, or the mean logit / probability over keypoints.
 */
export function keypointScore(kps: ArrayLike<number>, numKeypoints: number, boxScore: number, mode: KeypointConfidence = 'bbox'): number {
  if (mode === 'bbox') return boxScore;
  const row = mode === 'logit' ? 2 : mode === 'prob' ? 3 : -1;
  if (row < 0) throw new Error(`KRCNN.KEYPOINT_CONFIDENCE must be "logit", "prob", or "bbox", got ${String(mode)}`);
  let s = 0;
  for (let k = 0; k < numKeypoints; k++) s += kps[row * numKeypoints + k];
  return s / numKeypoints;
}
