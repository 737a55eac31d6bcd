/**
 * The array parts of Detectron's test path (detectron/core/test.py): turning network outputs
 * into detections, masks and keypoints, and combining test-time augmentations. No network here:
 * callers pass the fetched blobs as typed arrays.
 *
 * Detectron's dtypes are kept: scores, deltas, boxes and dets are float32 (arithmetic rounded as
 * numpy rounds float32 arrays), per-class detections are n×5 (x1, y1, x2, y2, score).
 */
import { CompressedRle, encode } from '../datasets/pycocotools/mask';
import { cv2Resize } from '../utils/cv2_resize';
import {
  BoxVotingScoring, DEFAULT_BBOX_XFORM_CLIP, FloatArray, SoftNmsMethod, bboxTransform, boxVoting, boxesArea,
  clipTiledBoxes, expandBoxes, nms, npExpF32, npLogF32, rowCount, softNms,
} from '../utils/boxes';
import { getPersonClassIndex, heatmapsToKeypoints, nmsOks } from '../utils/keypoints';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// Boxes from the box head (im_detect_bbox after the network ran).

export interface BoxPredictionOptions {
  /** TEST.BBOX_REG: apply the regression deltas (otherwise every class gets the roi). */
  bboxReg: boolean;
  /** MODEL.CLS_AGNOSTIC_BBOX_REG: deltas are R×8 (bg, fg); the last 4 (fg) are used for every class. */
  clsAgnosticBboxReg: boolean;
  /** MODEL.BBOX_REG_WEIGHTS, default (10, 10, 5, 5). */
  bboxRegWeights?: readonly [number, number, number, number];
  /** BBOX_XFORM_CLIP, default log(1000 / 16). */
  bboxXformClip?: number;
}

/**
 * The box part of im_detect_bbox for Faster R-CNN: rois (R×5, network-input pixels) back to the
 * image (float32 division by im_scale), regression deltas applied, boxes clipped to the image.
 * Returns R×4C float32 boxes for C classes.
 */
export function predictBoxes(
  rois: Float32Array, imScale: number, deltas: Float32Array, numClasses: number, imHeight: number, imWidth: number,
  opts: BoxPredictionOptions,
): Float32Array {
  const r = rowCount(rois, 5, 'predictBoxes rois');
  // rois[:, 1:5] / im_scale: numpy casts the Python scale to float32
  const s = f32(imScale);
  const boxes = new Float32Array(4 * r);
  for (let i = 0; i < r; i++) for (let c = 0; c < 4; c++) boxes[4 * i + c] = f32(rois[5 * i + 1 + c] / s);
  if (!opts.bboxReg) return tile(boxes, r, numClasses);
  // class-agnostic deltas keep Detectron's (bg, fg) layout; any multiple of 4 is accepted and the
  // last four columns used, as box_deltas[:, -4:] does
  const deltaCols = opts.clsAgnosticBboxReg ? (r > 0 ? deltas.length / r : 8) : 4 * numClasses;
  if (!Number.isInteger(deltaCols) || deltaCols % 4 !== 0 || rowCount(deltas, deltaCols, 'predictBoxes deltas') !== r) {
    throw new Error(`predictBoxes: ${deltas.length} deltas do not make ${r} rows of ${opts.clsAgnosticBboxReg ? 'a multiple of 4' : deltaCols} values`);
  }
  const weights = opts.bboxRegWeights ?? [10, 10, 5, 5];
  const clip = opts.bboxXformClip ?? DEFAULT_BBOX_XFORM_CLIP;
  if (opts.clsAgnosticBboxReg) {
    // box_deltas[:, -4:]: the foreground deltas
    const fg = new Float32Array(4 * r);
    for (let i = 0; i < r; i++) fg.set(deltas.subarray(deltaCols * (i + 1) - 4, deltaCols * (i + 1)), 4 * i);
    const pred = clipTiledBoxes(bboxTransform(boxes, fg, 4, weights, clip), 4, imHeight, imWidth);
    return tile(pred, r, numClasses);
  }
  return clipTiledBoxes(bboxTransform(boxes, deltas, deltaCols, weights, clip), deltaCols, imHeight, imWidth);
}

/** np.tile(boxes, (1, times)) for R×4 boxes. */
function tile(boxes: Float32Array, r: number, times: number): Float32Array {
  const out = new Float32Array(4 * r * times);
  for (let i = 0; i < r; i++) for (let j = 0; j < times; j++) out.set(boxes.subarray(4 * i, 4 * i + 4), 4 * (i * times + j));
  return out;
}

/**
 * _get_rois_blob: R×4 image boxes to R×5 network rois (level 0, box × im_scale in float64, then
 * float32).
 */
export function getRoisBlob(boxes: FloatArray, imScale: number): Float32Array {
  const r = rowCount(boxes, 4, 'getRoisBlob');
  const out = new Float32Array(5 * r);
  for (let i = 0; i < r; i++) for (let c = 0; c < 4; c++) out[5 * i + 1 + c] = boxes[4 * i + c] * imScale;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Detections: box_results_with_nms_and_limit.

export interface BoxResultsOptions {
  /** TEST.SCORE_THRESH: a class score must be strictly greater (compared in float32). */
  scoreThresh: number;
  /** TEST.NMS */
  nmsThresh: number;
  /** TEST.DETECTIONS_PER_IM (<= 0: no limit). */
  detectionsPerIm: number;
  /** TEST.SOFT_NMS */
  softNms?: { enabled: boolean; method: SoftNmsMethod; sigma: number };
  /** TEST.BBOX_VOTE (Detectron's test.py does not pass SCORING_METHOD_BETA: beta defaults to 1). */
  bboxVote?: { enabled: boolean; voteTh: number; scoringMethod: BoxVotingScoring; beta?: number };
}

export interface BoxResults {
  /** Scores of all detections, classes 1..C-1 in order. */
  scores: Float32Array;
  /** Their boxes, N×4. */
  boxes: Float32Array;
  /** Per class j: n_j×5 dets (class 0, the background, is always empty). */
  clsBoxes: Float32Array[];
}

/**
 * box_results_with_nms_and_limit: per foreground class, the rois whose score is > SCORE_THRESH,
 * NMS (kept in ascending roi order, as cython_nms returns them) or soft-NMS, optional box voting;
 * then at most DETECTIONS_PER_IM over all classes, keeping every det scoring at least the
 * DETECTIONS_PER_IM-th highest score (so ties can keep more). `scores` R×C, `boxes` R×4C.
 */
export function boxResultsWithNmsAndLimit(scores: Float32Array, boxes: Float32Array, numClasses: number, opts: BoxResultsOptions): BoxResults {
  const r = rowCount(scores, numClasses, 'boxResultsWithNmsAndLimit scores');
  if (rowCount(boxes, 4 * numClasses, 'boxResultsWithNmsAndLimit boxes') !== r) {
    throw new Error(`boxResultsWithNmsAndLimit: ${r} rows of scores but ${boxes.length / (4 * numClasses)} rows of boxes`);
  }
  const thresh = f32(opts.scoreThresh);
  const clsBoxes: Float32Array[] = [new Float32Array(0)];
  for (let j = 1; j < numClasses; j++) {
    const inds: number[] = [];
    for (let i = 0; i < r; i++) if (scores[i * numClasses + j] > thresh) inds.push(i);
    const dets = new Float32Array(5 * inds.length);
    inds.forEach((i, t) => {
      dets.set(boxes.subarray(i * 4 * numClasses + 4 * j, i * 4 * numClasses + 4 * j + 4), 5 * t);
      dets[5 * t + 4] = scores[i * numClasses + j];
    });
    let nmsDets: Float32Array;
    if (opts.softNms?.enabled) {
      nmsDets = softNms(dets, { sigma: opts.softNms.sigma, overlapThresh: opts.nmsThresh, scoreThresh: 0.0001, method: opts.softNms.method }).dets;
    } else {
      const keep = nms(dets, opts.nmsThresh);
      nmsDets = new Float32Array(5 * keep.length);
      keep.forEach((k, t) => nmsDets.set(dets.subarray(5 * k, 5 * k + 5), 5 * t));
    }
    if (opts.bboxVote?.enabled && nmsDets.length > 0) {
      nmsDets = boxVoting(nmsDets, dets, opts.bboxVote.voteTh, opts.bboxVote.scoringMethod, opts.bboxVote.beta ?? 1);
    }
    clsBoxes.push(nmsDets);
  }
  limitDetections(clsBoxes, opts.detectionsPerIm);
  const total = clsBoxes.reduce((t, d) => t + d.length / 5, 0);
  const outScores = new Float32Array(total);
  const outBoxes = new Float32Array(4 * total);
  let at = 0;
  for (let j = 1; j < numClasses; j++) {
    const d = clsBoxes[j];
    for (let t = 0; t < d.length / 5; t++, at++) {
      outBoxes.set(d.subarray(5 * t, 5 * t + 4), 4 * at);
      outScores[at] = d[5 * t + 4];
    }
  }
  return { scores: outScores, boxes: outBoxes, clsBoxes };
}

/** The DETECTIONS_PER_IM cut over all classes, in place: keep scores >= the max-th highest. */
function limitDetections(clsBoxes: Float32Array[], maxPerImage: number): void {
  if (maxPerImage <= 0) return;
  const all: number[] = [];
  for (let j = 1; j < clsBoxes.length; j++) for (let t = 4; t < clsBoxes[j].length; t += 5) all.push(clsBoxes[j][t]);
  if (all.length <= maxPerImage) return;
  const sorted = Float32Array.from(all).sort();
  const imageThresh = sorted[sorted.length - maxPerImage];
  for (let j = 1; j < clsBoxes.length; j++) {
    const d = clsBoxes[j];
    const kept: number[] = [];
    for (let t = 0; t < d.length / 5; t++) if (d[5 * t + 4] >= imageThresh) kept.push(t);
    const out = new Float32Array(5 * kept.length);
    kept.forEach((t, u) => out.set(d.subarray(5 * t, 5 * t + 5), 5 * u));
    clsBoxes[j] = out;
  }
}

// ---------------------------------------------------------------------------------------------
// Masks: segm_results.

export interface SegmOptions {
  /** MRCNN.RESOLUTION (M): masks are M×M. */
  resolution: number;
  /** MRCNN.CLS_SPECIFIC_MASK: masks have one channel per class (else one channel). */
  clsSpecificMask: boolean;
  /** MRCNN.THRESH_BINARIZE (compared in float32, strictly greater). */
  threshBinarize: number;
}

/** Python slice [start:stop] of a sequence of `length`, as [begin, end) with begin <= end. */
function pySlice(start: number, stop: number, length: number): [number, number] {
  const norm = (v: number): number => (v < 0 ? Math.max(0, v + length) : Math.min(v, length));
  const b = norm(start);
  return [b, Math.max(b, norm(stop))];
}

/**
 * segm_results: paste each detection's soft mask into an image-sized binary mask and RLE-encode
 * it (pycocotools, column-major). The M×M mask is zero-padded to (M+2)², the box expanded by
 * (M+2)/M and truncated to int32, the mask resized (INTER_LINEAR) to the box's +1 size,
 * thresholded and pasted where it overlaps the image. `masks` is R×Cm×M×M (R = all dets, class
 * by class as in `clsBoxes`), `refBoxes` R×4 float32 image boxes. Returns per class j the RLEs of
 * its dets (class 0 empty).
 */
export function segmResults(
  clsBoxes: readonly Float32Array[], masks: Float32Array, refBoxes: Float32Array, imH: number, imW: number,
  opts: SegmOptions,
): CompressedRle[][] {
  const m = opts.resolution;
  const numClasses = clsBoxes.length;
  const channels = opts.clsSpecificMask ? numClasses : 1;
  const r = rowCount(refBoxes, 4, 'segmResults refBoxes');
  const total = clsBoxes.reduce((t, d, j) => t + (j === 0 ? 0 : rowCount(d, 5, `segmResults dets of class ${j}`)), 0);
  if (masks.length !== r * channels * m * m || total !== r) {
    throw new Error(`segmResults: expected ${total} boxes and masks of ${total}×${channels}×${m}×${m}, got ${r} boxes and ${masks.length} mask values`);
  }
  const refInt = expandBoxes(refBoxes, (m + 2.0) / m).map(Math.trunc);
  const padded = new Float32Array((m + 2) * (m + 2));
  const thresh = f32(opts.threshBinarize);
  const imMask = new Uint8Array(imH * imW);
  const clsSegms: CompressedRle[][] = [[]];
  let maskInd = 0;
  for (let j = 1; j < numClasses; j++) {
    const segms: CompressedRle[] = [];
    for (let t = 0; t < clsBoxes[j].length / 5; t++, maskInd++) {
      const channel = opts.clsSpecificMask ? j : 0;
      const src = (maskInd * channels + channel) * m * m;
      for (let y = 0; y < m; y++) padded.set(masks.subarray(src + y * m, src + y * m + m), (y + 1) * (m + 2) + 1);
      const box = refInt.subarray(4 * maskInd, 4 * maskInd + 4);
      segms.push(pasteAndEncode(padded, m + 2, box, thresh, imMask, imH, imW));
    }
    clsSegms.push(segms);
  }
  return clsSegms;
}

/** Resize the padded mask to the integer box, binarize, paste into imMask, encode, clear. */
function pasteAndEncode(
  padded: Float32Array, size: number, box: Float64Array, thresh: number, imMask: Uint8Array, imH: number, imW: number,
): CompressedRle {
  const [bx1, by1, bx2, by2] = box;
  const w = Math.max(bx2 - bx1 + 1, 1);
  const h = Math.max(by2 - by1 + 1, 1);
  const resized = cv2Resize({ dtype: 'float32', shape: [size, size], data: padded }, { dsize: [w, h], interpolation: 'linear' }).data;
  const [iy0, iy1] = pySlice(Math.max(by1, 0), Math.min(by2 + 1, imH), imH);
  const [ix0, ix1] = pySlice(Math.max(bx1, 0), Math.min(bx2 + 1, imW), imW);
  const [my0, my1] = pySlice(Math.max(by1, 0) - by1, Math.min(by2 + 1, imH) - by1, h);
  const [mx0, mx1] = pySlice(Math.max(bx1, 0) - bx1, Math.min(bx2 + 1, imW) - bx1, w);
  if (iy1 - iy0 !== my1 - my0 || ix1 - ix0 !== mx1 - mx0) {
    throw new Error(`segmResults: box [${bx1}, ${by1}, ${bx2}, ${by2}] does not paste into a ${imH}×${imW} image (numpy would fail too)`);
  }
  for (let y = 0; y < iy1 - iy0; y++) {
    for (let x = 0; x < ix1 - ix0; x++) {
      imMask[(iy0 + y) * imW + ix0 + x] = resized[(my0 + y) * w + mx0 + x] > thresh ? 1 : 0;
    }
  }
  const rle = encode(imMask, imH, imW);
  for (let y = iy0; y < iy1; y++) imMask.fill(0, y * imW + ix0, y * imW + ix1);
  return rle;
}

// ---------------------------------------------------------------------------------------------
// Keypoints: keypoint_results.

export interface KeypointResultsOptions {
  /** KRCNN.NMS_OKS: drop person detections by OKS NMS (threshold 0.3). */
  nmsOks?: boolean;
  /** KRCNN.INFERENCE_MIN_SIZE */
  inferenceMinSize?: number;
}

export interface KeypointResults {
  /** Per class: one 4×K float32 array (x, y, logit, prob rows) per detection; only the person class is filled. */
  clsKeyps: Float32Array[][];
  /** clsBoxes, with the person class filtered when NMS_OKS is on (Detectron modifies it in place). */
  clsBoxes: Float32Array[];
}

/**
 * keypoint_results: keypoints of every detection (heatmaps R×K×H×W, refBoxes R×4 float32 image
 * boxes), assigned to the person class.
 */
export function keypointResults(
  clsBoxes: readonly Float32Array[], heatmaps: Float32Array, heatmapShape: readonly number[], refBoxes: Float32Array,
  opts: KeypointResultsOptions = {},
): KeypointResults {
  const k = heatmapShape[1];
  let xy = heatmapsToKeypoints(heatmaps, heatmapShape, refBoxes, { inferenceMinSize: opts.inferenceMinSize ?? 0 });
  const person = getPersonClassIndex();
  const outBoxes = clsBoxes.slice();
  if (opts.nmsOks) {
    const keep = nmsOks(xy, refBoxes, k, 0.3);
    const kept = new Float32Array(keep.length * 4 * k);
    keep.forEach((i, t) => kept.set(xy.subarray(i * 4 * k, (i + 1) * 4 * k), t * 4 * k));
    xy = kept;
    const pb = clsBoxes[person];
    const nb = new Float32Array(5 * keep.length);
    keep.forEach((i, t) => {
      if (5 * i + 5 > pb.length) throw new Error(`keypointResults: kept detection ${i} is not a person detection`);
      nb.set(pb.subarray(5 * i, 5 * i + 5), 5 * t);
    });
    outBoxes[person] = nb;
  }
  const clsKeyps: Float32Array[][] = clsBoxes.map(() => []);
  for (let i = 0; i < xy.length / (4 * k); i++) clsKeyps[person].push(xy.slice(i * 4 * k, (i + 1) * 4 * k));
  return { clsKeyps, clsBoxes: outBoxes };
}

// ---------------------------------------------------------------------------------------------
// Test-time augmentation: combining predictions (float32 as numpy computes them).

/** np.mean(arrays, axis=0) for float32 arrays: summed in order, then divided by the count. */
export function meanOfArrays(arrays: readonly Float32Array[]): Float32Array {
  const n = checkSameLength(arrays, 'meanOfArrays');
  const out = Float32Array.from(arrays[0]);
  for (let t = 1; t < arrays.length; t++) for (let i = 0; i < n; i++) out[i] = f32(out[i] + arrays[t][i]);
  for (let i = 0; i < n; i++) out[i] = f32(out[i] / arrays.length);
  return out;
}

/** np.amax(arrays, axis=0). */
export function maxOfArrays(arrays: readonly Float32Array[]): Float32Array {
  const n = checkSameLength(arrays, 'maxOfArrays');
  const out = Float32Array.from(arrays[0]);
  for (let t = 1; t < arrays.length; t++) {
    for (let i = 0; i < n; i++) {
      const v = arrays[t][i];
      // np.maximum propagates NaN
      if (v > out[i] || Number.isNaN(v)) out[i] = v;
    }
  }
  return out;
}

function checkSameLength(arrays: readonly Float32Array[], what: string): number {
  if (arrays.length === 0) throw new Error(`${what}: no arrays to combine`);
  const n = arrays[0].length;
  arrays.forEach((a, t) => {
    if (a.length !== n) throw new Error(`${what}: array ${t} has ${a.length} values, array 0 has ${n}`);
  });
  return n;
}

function concat(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((t, a) => t + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export type BboxAugHeuristic = 'ID' | 'AVG' | 'UNION';

/**
 * The combination step of im_detect_bbox_aug (TEST.BBOX_AUG.SCORE_HEUR / COORD_HEUR): ID takes
 * the identity transform's prediction, AVG the float32 mean, UNION stacks rows. `identity` is the
 * index of the untransformed prediction in the lists (Detectron appends it last).
 */
export function combineBboxAug(
  scoresTs: readonly Float32Array[], boxesTs: readonly Float32Array[], identity: number,
  scoreHeur: BboxAugHeuristic, coordHeur: BboxAugHeuristic,
): { scores: Float32Array; boxes: Float32Array } {
  if ((scoreHeur === 'UNION') !== (coordHeur === 'UNION')) {
    throw new Error('combineBboxAug: the score and coord heuristics must both be UNION or neither');
  }
  if (scoresTs.length !== boxesTs.length || !(identity >= 0 && identity < scoresTs.length)) {
    throw new Error(`combineBboxAug: ${scoresTs.length} score and ${boxesTs.length} box predictions, identity index ${identity}`);
  }
  const pick = (heur: BboxAugHeuristic, ts: readonly Float32Array[]): Float32Array => {
    if (heur === 'ID') return ts[identity];
    if (heur === 'AVG') return meanOfArrays(ts);
    if (heur === 'UNION') return concat(ts);
    throw new Error(`combineBboxAug: heuristic ${String(heur)} not supported`);
  };
  return { scores: pick(scoreHeur, scoresTs), boxes: pick(coordHeur, boxesTs) };
}

export type MaskAugHeuristic = 'SOFT_AVG' | 'SOFT_MAX' | 'LOGIT_AVG';

/** The combination step of im_detect_mask_aug (TEST.MASK_AUG.HEUR) over soft masks. */
export function combineMaskAug(masksTs: readonly Float32Array[], heur: MaskAugHeuristic): Float32Array {
  if (heur === 'SOFT_AVG') return meanOfArrays(masksTs);
  if (heur === 'SOFT_MAX') return maxOfArrays(masksTs);
  if (heur === 'LOGIT_AVG') {
    const tiny = f32(1e-20);
    const logits = masksTs.map((y) => y.map((v) => -npLogF32(f32(f32(1 - v) / Math.max(v, tiny)))));
    return meanOfArrays(logits).map((l) => f32(1 / f32(1 + npExpF32(-l))));
  }
  throw new Error(`combineMaskAug: heuristic ${String(heur)} not supported`);
}

export type KpsAugHeuristic = 'HM_AVG' | 'HM_MAX';

function heatmapHeur(heur: KpsAugHeuristic): (ts: readonly Float32Array[]) => Float32Array {
  if (heur === 'HM_AVG') return meanOfArrays;
  if (heur === 'HM_MAX') return maxOfArrays;
  throw new Error(`heatmap heuristic ${String(heur)} not supported`);
}

/** The combination step of im_detect_keypoints_aug without size dependence (TEST.KPS_AUG.HEUR). */
export function combineHeatmapsAug(hmsTs: readonly Float32Array[], heur: KpsAugHeuristic): Float32Array {
  return heatmapHeur(heur)(hmsTs);
}

/**
 * combine_heatmaps_size_dep: per detection, combine the heatmaps of the transforms that suit its
 * size: predictions from downscaled images are dropped for boxes with (+1) area < areaTh, from
 * upscaled images for the others. `hmsTs[t]` is R×(per-detection size) float32, `boxes` R×4.
 */
export function combineHeatmapsSizeDep(
  hmsTs: readonly Float32Array[], dsTs: readonly boolean[], usTs: readonly boolean[], boxes: Float32Array,
  heur: KpsAugHeuristic, areaTh: number,
): Float32Array {
  if (hmsTs.length !== dsTs.length || dsTs.length !== usTs.length) {
    throw new Error('combineHeatmapsSizeDep: all sets of heatmaps must be tagged with downscaling and upscaling flags');
  }
  const n = checkSameLength(hmsTs, 'combineHeatmapsSizeDep');
  const areas = boxesArea(boxes);
  const r = areas.length;
  if (r === 0 || n % r !== 0) throw new Error(`combineHeatmapsSizeDep: ${n} heatmap values for ${r} boxes`);
  const per = n / r;
  const th = f32(areaTh);
  const f = heatmapHeur(heur);
  const out = new Float32Array(n);
  for (let i = 0; i < r; i++) {
    const small = areas[i] < th;
    const chosen = hmsTs.filter((_, t) => !((small && dsTs[t]) || (!small && usTs[t]))).map((h) => h.subarray(i * per, (i + 1) * per));
    out.set(f(chosen), i * per);
  }
  return out;
}

/** masks[:, :, :, ::-1]: horizontal flip of N×C×H×W soft masks (im_detect_mask_hflip). */
export function flipMasks(masks: Float32Array, shape: readonly number[]): Float32Array {
  if (shape.length !== 4 || shape.reduce((a, b) => a * b, 1) !== masks.length) {
    throw new Error(`flipMasks: shape [${shape.join(', ')}] does not fit ${masks.length} values`);
  }
  const w = shape[3];
  const out = new Float32Array(masks.length);
  for (let row = 0; row < masks.length; row += w) for (let x = 0; x < w; x++) out[row + x] = masks[row + w - 1 - x];
  return out;
}
