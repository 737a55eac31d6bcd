/**
 * RetinaNet's test path for one image (Detectron's core/test_retinanet.py, im_detect_bbox):
 * the network in libtorch, then per FPN level the top-scoring (anchor, class, location)
 * candidates decoded against their cell anchors, per-class NMS over all levels, and the
 * DETECTIONS_PER_IM best. Arithmetic follows numpy's float32 rules as Detectron runs it.
 *
 * Detectron leaves two orders to numpy's unstable algorithms (argpartition for the per-level
 * top N, quicksort for the final ranking); they only matter for exactly equal scores. We use
 * the stable choice everywhere: among equal scores, the lower flat index (A×K×H×W order)
 * within a level, the earlier class, then the earlier level and NMS order.
 */
import { inferenceMode } from '../nn/autograd';
import { dispose, tidy } from '../nn/scope';
import { fromArray, Tensor } from '../nn/tensor';
import type { Cfg } from '../modeling/config_types';
import type { RetinaNet } from '../modeling/retinanet';
import { retinanetClsPredDim, retinanetNumAnchors } from '../modeling/retinanet_heads';
import { generateAnchors } from '../ops/generate_proposals';
import { bboxTransform, clipTiledBoxes, nms, softNms, SoftNmsMethod } from '../utils/boxes';
import type { NdArray } from '../utils/ndarray';
import type { Detection, ImageDetections } from './detections';
import { imageBlob } from './test';
import { StageTimes } from './timers';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// Anchors.

export interface RetinaNetAnchorOptions {
  minLevel: number;
  maxLevel: number;
  scalesPerOctave: number;
  aspectRatios: readonly number[];
  anchorScale: number;
}

export function retinanetAnchorOptions(cfg: Cfg): RetinaNetAnchorOptions {
  return {
    minLevel: cfg.FPN.RPN_MIN_LEVEL,
    maxLevel: cfg.FPN.RPN_MAX_LEVEL,
    scalesPerOctave: cfg.RETINANET.SCALES_PER_OCTAVE,
    aspectRatios: cfg.RETINANET.ASPECT_RATIOS,
    anchorScale: cfg.RETINANET.ANCHOR_SCALE,
  };
}

/**
 * _create_cell_anchors: per level, A = SCALES_PER_OCTAVE × len(ASPECT_RATIOS) anchors (A×4,
 * float64), octave outer and aspect ratio inner, each generate_anchors(stride, (stride ×
 * 2^(octave / SCALES_PER_OCTAVE) × ANCHOR_SCALE,), (aspect,)).
 */
export function createCellAnchors(o: RetinaNetAnchorOptions): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>();
  const a = o.scalesPerOctave * o.aspectRatios.length;
  for (let lvl = o.minLevel; lvl <= o.maxLevel; lvl++) {
    const stride = 2 ** lvl;
    const cell = new Float64Array(4 * a);
    let i = 0;
    for (let octave = 0; octave < o.scalesPerOctave; octave++) {
      const octaveScale = 2 ** (octave / o.scalesPerOctave);
      for (const aspect of o.aspectRatios) {
        cell.set(generateAnchors(stride, [stride * octaveScale * o.anchorScale], [aspect]), 4 * i++);
      }
    }
    out.set(lvl, cell);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Candidate selection.

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
}

/** The value of rank `kth` (0-based, ascending) of `a`, which is reordered (quickselect, 3-way). */
function selectKth(a: Float32Array, kth: number): number {
  let lo = 0;
  let hi = a.length - 1;
  for (;;) {
    if (lo >= hi) return a[lo];
    const pivot = median3(a[lo], a[(lo + hi) >> 1], a[hi]);
    let lt = lo;
    let gt = hi;
    let i = lo;
    // three-way partition: equal values (frequent for probabilities) are settled at once
    while (i <= gt) {
      const v = a[i];
      if (v < pivot) swap(a, lt++, i++);
      else if (v > pivot) swap(a, i, gt--);
      else i++;
    }
    if (kth < lt) hi = lt - 1;
    else if (kth > gt) lo = gt + 1;
    else return pivot;
  }
}

/**
 * The flat indices of the at most `topN` highest `probs` strictly above `th` (compared in
 * float32, as numpy compares a float32 array with a Python float), best first, ties by
 * ascending index. Detectron: np.where(p > th), then np.argpartition(..., -topN)[-topN:].
 */
export function topCandidates(probs: Float32Array, th: number, topN: number): Int32Array {
  const t32 = f32(th);
  let n = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > t32) n++;
  const k = Math.min(topN, n);
  let picked: Int32Array;
  if (k === n) {
    picked = new Int32Array(n);
    let c = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i] > t32) picked[c++] = i;
  } else {
    picked = pickTopK(probs, t32, n, k);
  }
  return picked.sort((a, b) => (probs[b] - probs[a]) || (a - b));
}

/** k of the n values above t32: all above the k-th largest, then its ties by index. */
function pickTopK(probs: Float32Array, t32: number, n: number, k: number): Int32Array {
  const values = new Float32Array(n);
  let c = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > t32) values[c++] = probs[i];
  const kthLargest = selectKth(values, n - k);
  const picked = new Int32Array(k);
  c = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > kthLargest) picked[c++] = i;
  for (let i = 0; i < probs.length && c < k; i++) if (probs[i] === kthLargest) picked[c++] = i;
  return picked;
}

// ---------------------------------------------------------------------------------------------
// Post-processing.

/** One level's network outputs for one image, as typed arrays. */
export interface RetinaNetLevelBlobs {
  level: number;
  /** A×K×H×W foreground probabilities (with SOFTMAX, the background column already dropped). */
  probs: Float32Array;
  /** A×4×H×W box deltas. */
  deltas: Float32Array;
  a: number;
  k: number;
  h: number;
  w: number;
}

export interface RetinaNetPostOptions {
  /** MODEL.NUM_CLASSES, background included. */
  numClasses: number;
  /** RETINANET.INFERENCE_TH; the coarsest level (maxLevel) uses 0. */
  inferenceTh: number;
  /** RETINANET.PRE_NMS_TOP_N per level. */
  preNmsTopN: number;
  /** FPN.RPN_MAX_LEVEL. */
  maxLevel: number;
  /** TEST.BBOX_REG */
  bboxReg: boolean;
  /** BBOX_XFORM_CLIP */
  bboxXformClip: number;
  /** TEST.NMS */
  nmsThresh: number;
  /** TEST.SOFT_NMS */
  softNms: { enabled: boolean; method: SoftNmsMethod; sigma: number };
  /** TEST.DETECTIONS_PER_IM */
  detectionsPerIm: number;
}

/** A level's selected candidates: image-pixel dets n×5 (float32) and 0-based class per det. */
export interface LevelCandidates {
  dets: Float32Array;
  classes: Int32Array;
}

function checkLevel(b: RetinaNetLevelBlobs, cellAnchors: Float64Array): void {
  const hw = b.h * b.w;
  if (b.probs.length !== b.a * b.k * hw || b.deltas.length !== b.a * 4 * hw || cellAnchors.length !== 4 * b.a) {
    throw new Error(`RetinaNet level ${b.level}: probs ${b.probs.length}, deltas ${b.deltas.length}, anchors ${cellAnchors.length / 4} do not fit A=${b.a} K=${b.k} H=${b.h} W=${b.w}`);
  }
}

/**
 * One level of im_detect_bbox: candidates above the threshold, the PRE_NMS_TOP_N best, their
 * anchors shifted to the cell (float32), decoded with weights (1, 1, 1, 1), divided by
 * im_scale (float32) and clipped to the image.
 */
export function levelCandidates(
  b: RetinaNetLevelBlobs, cellAnchors: Float64Array, imScale: number, height: number, width: number, o: RetinaNetPostOptions,
): LevelCandidates {
  checkLevel(b, cellAnchors);
  const th = b.level < o.maxLevel ? o.inferenceTh : 0;
  const inds = topCandidates(b.probs, th, o.preNmsTopN);
  const n = inds.length;
  const stride = 2 ** b.level;
  const hw = b.h * b.w;
  const boxes = new Float32Array(4 * n);
  const deltas = new Float32Array(4 * n);
  const classes = new Int32Array(n);
  inds.forEach((f, i) => {
    const x = f % b.w;
    const y = Math.floor(f / b.w) % b.h;
    const cls = Math.floor(f / hw) % b.k;
    const a = Math.floor(f / (hw * b.k));
    classes[i] = cls;
    // float32 (x, y, x, y) * stride, then += float64 anchors: a double add rounded to float32
    const xy = [x, y, x, y];
    for (let j = 0; j < 4; j++) {
      boxes[4 * i + j] = f32(f32(xy[j] * stride) + cellAnchors[4 * a + j]);
      deltas[4 * i + j] = b.deltas[(a * 4 + j) * hw + y * b.w + x];
    }
  });
  const decoded = o.bboxReg ? bboxTransform(boxes, deltas, 4, [1, 1, 1, 1], o.bboxXformClip) : boxes;
  const s = f32(imScale);
  for (let i = 0; i < decoded.length; i++) decoded[i] = f32(decoded[i] / s);
  const clipped = clipTiledBoxes(decoded, 4, height, width);
  const dets = new Float32Array(5 * n);
  for (let i = 0; i < n; i++) {
    dets.set(clipped.subarray(4 * i, 4 * i + 4), 5 * i);
    dets[5 * i + 4] = b.probs[inds[i]];
  }
  return { dets, classes };
}

/** Per foreground class (1..C-1) the candidates of every level, finest level first. */
function groupByClass(levels: readonly LevelCandidates[], numClasses: number): Float32Array[] {
  const counts = new Int32Array(numClasses);
  for (const l of levels) for (const c of l.classes) counts[c + 1]++;
  const out = Array.from(counts, (n) => new Float32Array(5 * n));
  const at = new Int32Array(numClasses);
  for (const l of levels) {
    l.classes.forEach((c, i) => {
      out[c + 1].set(l.dets.subarray(5 * i, 5 * i + 5), 5 * at[c + 1]++);
    });
  }
  return out;
}

/** NMS (kept in input order, as cython_nms returns them) or soft-NMS of one class. */
function suppress(dets: Float32Array, o: RetinaNetPostOptions): Float32Array {
  if (o.softNms.enabled) {
    return softNms(dets, { sigma: o.softNms.sigma, overlapThresh: o.nmsThresh, scoreThresh: 0.0001, method: o.softNms.method }).dets;
  }
  const keep = nms(dets, o.nmsThresh);
  const out = new Float32Array(5 * keep.length);
  keep.forEach((k, t) => out.set(dets.subarray(5 * k, 5 * k + 5), 5 * t));
  return out;
}

/** Python's stop of `seq[0:stop]` on a sequence of `length`. */
function sliceStop(length: number, stop: number): number {
  return stop >= 0 ? Math.min(stop, length) : Math.max(length + stop, 0);
}

/**
 * The rest of im_detect_bbox: per-class NMS over all levels' candidates, all detections
 * ranked by score and cut at DETECTIONS_PER_IM (a hard cut: ties at the cut keep the earlier
 * ones), then split by class keeping that ranking. Returns Detectron's cls_boxes: per class j
 * (0 = background, empty) n_j×5 dets. With no candidate at all Detectron's np.vstack raises;
 * we return empty classes (the coarsest level's threshold of 0 makes that all but impossible).
 */
export function retinanetBoxResults(
  levels: readonly LevelCandidates[], o: RetinaNetPostOptions,
): Float32Array[] {
  const perClass = groupByClass(levels, o.numClasses).map((d, j) => (j === 0 || d.length === 0 ? d : suppress(d, o)));
  const ranked: Array<{ cls: number; row: number; score: number }> = [];
  perClass.forEach((d, cls) => {
    for (let row = 0; row < d.length / 5; row++) ranked.push({ cls, row, score: d[5 * row + 4] });
  });
  ranked.sort((p, q) => q.score - p.score); // Array.prototype.sort is stable
  const kept = ranked.slice(0, sliceStop(ranked.length, o.detectionsPerIm));
  const counts = new Int32Array(o.numClasses);
  for (const r of kept) counts[r.cls]++;
  const clsBoxes = Array.from(counts, (n) => new Float32Array(5 * n));
  const at = new Int32Array(o.numClasses);
  for (const r of kept) clsBoxes[r.cls].set(perClass[r.cls].subarray(5 * r.row, 5 * r.row + 5), 5 * at[r.cls]++);
  return clsBoxes;
}

/** Every level's candidates, then the detections (cls_boxes). */
export function retinanetDetections(
  levels: readonly RetinaNetLevelBlobs[], anchors: Map<number, Float64Array>, imScale: number,
  height: number, width: number, o: RetinaNetPostOptions,
): Float32Array[] {
  const candidates = levels.map((b) => {
    const cell = anchors.get(b.level);
    if (cell === undefined) throw new Error(`RetinaNet: no anchors for level ${b.level}`);
    return levelCandidates(b, cell, imScale, height, width, o);
  });
  return retinanetBoxResults(candidates, o);
}

// ---------------------------------------------------------------------------------------------
// The network.

function softNmsMethod(name: string): SoftNmsMethod {
  if (name === 'linear' || name === 'gaussian' || name === 'hard') return name;
  throw new Error(`TEST.SOFT_NMS.METHOD: unknown soft_nms method '${name}' (hard, linear or gaussian)`);
}

export function retinanetPostOptions(cfg: Cfg): RetinaNetPostOptions {
  return {
    numClasses: cfg.MODEL.NUM_CLASSES,
    inferenceTh: cfg.RETINANET.INFERENCE_TH,
    preNmsTopN: cfg.RETINANET.PRE_NMS_TOP_N,
    maxLevel: cfg.FPN.RPN_MAX_LEVEL,
    bboxReg: cfg.TEST.BBOX_REG,
    bboxXformClip: cfg.BBOX_XFORM_CLIP,
    nmsThresh: cfg.TEST.NMS,
    softNms: { enabled: cfg.TEST.SOFT_NMS.ENABLED, method: softNmsMethod(cfg.TEST.SOFT_NMS.METHOD), sigma: cfg.TEST.SOFT_NMS.SIGMA },
    detectionsPerIm: cfg.TEST.DETECTIONS_PER_IM,
  };
}

/** Foreground probabilities A×K×H×W of one image: sigmoid, or softmax over each anchor's C logits without the background. */
export function foregroundProbs(cfg: Cfg, logits: Tensor): Tensor {
  if (!cfg.RETINANET.SOFTMAX) return logits.sigmoid();
  const [n, , h, w] = logits.shape;
  const c = retinanetClsPredDim(cfg);
  return tidy(() => logits.reshape(n, retinanetNumAnchors(cfg), c, h, w).softmax(2).slice(2, 1, c).contiguous());
}

/** The network's outputs per level for an image blob, fetched as typed arrays. */
function runNetwork(model: RetinaNet, blob: NdArray): RetinaNetLevelBlobs[] {
  const cfg = model.cfg;
  const a = retinanetNumAnchors(cfg);
  return inferenceMode(() => {
    const input = fromArray(blob.data as Float32Array, blob.shape);
    const outs = model.forward(input);
    input.dispose();
    return outs.map((out) => {
      const [n, , h, w] = out.clsLogits.shape;
      if (n !== 1) throw new Error(`RetinaNet tests one image at a time, got a batch of ${n}`);
      const probs = tidy(() => foregroundProbs(cfg, out.clsLogits).data() as Float32Array);
      const deltas = out.bboxPred.data() as Float32Array;
      dispose([out.clsLogits, out.bboxPred]);
      return { level: out.level, probs, deltas, a, k: probs.length / (a * h * w), h, w };
    });
  });
}

export interface RetinaNetResult extends ImageDetections {
  /** Detectron's cls_boxes: per class (0 empty) n×5 dets. */
  clsBoxes: Float32Array[];
}

/**
 * test_retinanet.im_detect_bbox at TEST.SCALE / TEST.MAX_SIZE. CLASS_SPECIFIC_BBOX is
 * refused: Detectron's test path cannot run it (its N×A×4×H×W reshape of the deltas fails).
 */
export function detectRetinaNet(model: RetinaNet, im: NdArray, times = new StageTimes()): RetinaNetResult {
  const cfg = model.cfg;
  if (cfg.RETINANET.CLASS_SPECIFIC_BBOX) {
    throw new Error('RETINANET.CLASS_SPECIFIC_BBOX: Detectron\'s RetinaNet test path does not support class-specific boxes');
  }
  const [height, width] = im.shape;
  const anchors = createCellAnchors(retinanetAnchorOptions(cfg));
  const { levels, imScale } = times.time('im_detect_bbox', () => {
    const blob = imageBlob(cfg, im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE);
    return { levels: runNetwork(model, blob.blob), imScale: blob.imScale };
  });
  const clsBoxes = times.time('misc_bbox', () =>
    retinanetDetections(levels, anchors, imScale, height, width, retinanetPostOptions(cfg)));
  return { height, width, imScale, detections: clsBoxesToDetections(clsBoxes), clsBoxes };
}

/** Detections class by class, in cls_boxes order. */
export function clsBoxesToDetections(clsBoxes: readonly Float32Array[]): Detection[] {
  const out: Detection[] = [];
  clsBoxes.forEach((d, classId) => {
    for (let t = 0; t < d.length / 5; t++) {
      out.push({ classId, box: [d[5 * t], d[5 * t + 1], d[5 * t + 2], d[5 * t + 3]], score: d[5 * t + 4] });
    }
  });
  return out;
}
