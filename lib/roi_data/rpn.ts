/**
 * RPN training targets: Detectron's detectron/roi_data/rpn.py (get_rpn_blob_names,
 * add_rpn_blobs, _get_rpn_blobs) over typed arrays.
 *
 * Targets live on the field of anchors of the largest possible input (TRAIN.MAX_SIZE padded to
 * COARSEST_STRIDE), so blobs are N×A×F×F ("wide"); the model narrows them to its feature map.
 *
 * Random subsampling: Detectron disables surplus foreground anchors with npr.choice (without
 * replacement) and enables background anchors with npr.randint (WITH replacement, so fewer than
 * the quota may be enabled); both are kept, drawn from the given RandomSource.
 */
import { bboxOverlaps } from '../utils/boxes';
import type { NdArray } from '../utils/ndarray';
import type { RandomSource } from './rng';
import {
  FieldOfAnchors, RoiDataConfig, RoiDataEntry, computeTargets, concatAnchors, concatBlobs, f32Blob, forImage,
  getFieldOfAnchors, gtRowsFor, i32Blob, matchAnchorsToGt, nonCrowdGtInds, scaleBoxes, takeRows, trainImInfo,
  whereIndices,
} from './data_utils';

const f32 = Math.fround;

/** Whether RPN targets are per FPN level. */
function multilevel(cfg: RoiDataConfig): boolean {
  return cfg.FPN.FPN_ON && cfg.FPN.MULTILEVEL_RPN;
}

const RPN_KEYS = ['rpn_labels_int32_wide', 'rpn_bbox_targets_wide', 'rpn_bbox_inside_weights_wide', 'rpn_bbox_outside_weights_wide'] as const;

/**
 * get_rpn_blob_names: im_info, then (training) the four target blobs, per level with FPN.
 * Detectron's 'roidb' blob (the pickled minimal roidb) is not a tensor here: the minibatch
 * carries its entries instead (Minibatch.images).
 */
export function getRpnBlobNames(cfg: RoiDataConfig, isTraining = true): string[] {
  const names = ['im_info'];
  if (!isTraining) return names;
  if (multilevel(cfg)) {
    for (let lvl = cfg.FPN.RPN_MIN_LEVEL; lvl <= cfg.FPN.RPN_MAX_LEVEL; lvl++) names.push(...RPN_KEYS.map((k) => `${k}_fpn${lvl}`));
  } else {
    names.push(...RPN_KEYS);
  }
  return names;
}

/** The fields of anchors RPN targets are computed on: one per FPN level, or RPN.STRIDE's. */
export function rpnFieldsOfAnchors(cfg: RoiDataConfig): FieldOfAnchors[] {
  if (!multilevel(cfg)) return [getFieldOfAnchors(cfg.RPN.STRIDE, cfg.RPN.SIZES, cfg.RPN.ASPECT_RATIOS, cfg)];
  const foas: FieldOfAnchors[] = [];
  const kMin = cfg.FPN.RPN_MIN_LEVEL;
  for (let lvl = kMin; lvl <= cfg.FPN.RPN_MAX_LEVEL; lvl++) {
    const size = cfg.FPN.RPN_ANCHOR_START_SIZE * 2 ** (lvl - kMin);
    foas.push(getFieldOfAnchors(2 ** lvl, [size], cfg.FPN.RPN_ASPECT_RATIOS, cfg));
  }
  return foas;
}

/** One field's targets for one image: labels 1×A×F×F int32, the others 1×4A×F×F float32. */
export interface RpnTargets {
  labels: Int32Array;
  bboxTargets: Float32Array;
  bboxInsideWeights: Float32Array;
  bboxOutsideWeights: Float32Array;
}

/** Indices of anchors inside the image by RPN_STRADDLE_THRESH (all when it is negative). */
function insideAnchors(all: Float32Array, imHeight: number, imWidth: number, straddle: number): Int32Array {
  const n = all.length / 4;
  if (straddle < 0) return whereIndices(n, () => true);
  // float32 anchors against float64 limits: numpy casts the scalar limits to float32
  const lo = f32(-straddle);
  const xMax = f32(imWidth + straddle);
  const yMax = f32(imHeight + straddle);
  return whereIndices(n, (i) => all[4 * i] >= lo && all[4 * i + 1] >= lo && all[4 * i + 2] < xMax && all[4 * i + 3] < yMax);
}

/**
 * Anchor labels (1 fg, 0 bg, -1 ignore) before bbox targets, following _get_rpn_blobs step by
 * step, including its quirks: anchors marked fg by the max-overlap rule keep their fg index for
 * bbox targets even when the bg sampler later relabels them 0.
 */
function labelAnchors(
  anchors: Float32Array, gtBoxes: Float32Array, cfg: RoiDataConfig, rng: RandomSource,
): { labels: Int32Array; fgInds: Int32Array; argmax: Int32Array } {
  const n = anchors.length / 4;
  const g = gtBoxes.length / 4;
  if (g === 0) {
    // Detectron fails here (anchor_to_gt_max is undefined); its filter_for_training drops such images
    throw new Error('RPN targets need at least one non-crowd gt box (Detectron filters such images out of training)');
  }
  if (n === 0) throw new Error('no anchors inside the image (RPN_STRADDLE_THRESH too strict?)');
  const labels = new Int32Array(n).fill(-1);
  const m = matchAnchorsToGt(bboxOverlaps(anchors, gtBoxes), n, g);
  for (const i of m.anchorsWithMaxOverlap) labels[i] = 1;
  const pos = f32(cfg.TRAIN.RPN_POSITIVE_OVERLAP);
  for (let i = 0; i < n; i++) if (m.max[i] >= pos) labels[i] = 1;

  const numFg = Math.trunc(cfg.TRAIN.RPN_FG_FRACTION * cfg.TRAIN.RPN_BATCH_SIZE_PER_IM);
  let fgInds = whereIndices(n, (i) => labels[i] === 1);
  if (fgInds.length > numFg) {
    for (const i of rng.choice(fgInds, fgInds.length - numFg)) labels[i] = -1;
  }
  fgInds = whereIndices(n, (i) => labels[i] === 1);

  const numBg = cfg.TRAIN.RPN_BATCH_SIZE_PER_IM - fgInds.length;
  if (numBg < 0) throw new Error(`RPN_FG_FRACTION × RPN_BATCH_SIZE_PER_IM exceeds RPN_BATCH_SIZE_PER_IM (${numBg} bg anchors)`);
  const neg = f32(cfg.TRAIN.RPN_NEGATIVE_OVERLAP);
  const bgInds = whereIndices(n, (i) => m.max[i] < neg);
  if (bgInds.length > numBg) {
    // with replacement, as Detectron: repeats leave fewer than numBg negatives
    for (const r of rng.randintArray(bgInds.length, numBg)) labels[bgInds[r]] = 0;
  } else {
    for (const i of bgInds) labels[i] = 0;
  }
  return { labels, fgInds, argmax: m.argmax };
}

/**
 * _get_rpn_blobs: targets for one image (network-input size imHeight × imWidth, gt boxes already
 * scaled) on the given fields; one RpnTargets per field.
 */
export function getRpnBlobs(
  imHeight: number, imWidth: number, foas: readonly FieldOfAnchors[], gtBoxes: Float32Array, cfg: RoiDataConfig,
  rng: RandomSource, allAnchors: Float32Array = concatAnchors(foas),
): RpnTargets[] {
  const inside = insideAnchors(allAnchors, imHeight, imWidth, cfg.TRAIN.RPN_STRADDLE_THRESH);
  const anchors = takeRows(allAnchors, 4, inside);
  const { labels, fgInds, argmax } = labelAnchors(anchors, gtBoxes, cfg, rng);
  const n = labels.length;
  const fgTargets = computeTargets(takeRows(anchors, 4, fgInds), gtRowsFor(gtBoxes, argmax, fgInds));
  let numExamples = 0;
  for (let i = 0; i < n; i++) if (labels[i] >= 0) numExamples++;
  // 1.0 / np.int64 is float64, stored into float32
  const outside = f32(1 / numExamples);

  const out = foas.map((f) => emptyTargets(f));
  const starts = fieldStarts(foas);
  const targetAt = new Int32Array(n).fill(-1);
  fgInds.forEach((i, r) => {
    targetAt[i] = r;
  });
  let level = 0;
  for (let i = 0; i < n; i++) {
    // inside indices ascend, so the field only moves forward; within it, index = cell · A + a
    const g = inside[i];
    while (g >= starts[level + 1]) level++;
    const A = foas[level].numCellAnchors;
    const local = g - starts[level];
    const a = local % A;
    const cell = (local - a) / A;
    const t = out[level];
    const F2 = foas[level].fieldSize ** 2;
    t.labels[a * F2 + cell] = labels[i];
    for (let c = 0; c < 4; c++) {
      const o = (4 * a + c) * F2 + cell;
      if (targetAt[i] >= 0) t.bboxTargets[o] = fgTargets[4 * targetAt[i] + c];
      if (labels[i] === 1) t.bboxInsideWeights[o] = 1;
      if (labels[i] >= 0) t.bboxOutsideWeights[o] = outside;
    }
  }
  return out;
}

function emptyTargets(f: FieldOfAnchors): RpnTargets {
  const cells = f.fieldSize * f.fieldSize * f.numCellAnchors;
  return {
    labels: new Int32Array(cells).fill(-1),
    bboxTargets: new Float32Array(4 * cells),
    bboxInsideWeights: new Float32Array(4 * cells),
    bboxOutsideWeights: new Float32Array(4 * cells),
  };
}

/** First anchor index of each field in the concatenation. */
export function fieldStarts(foas: readonly FieldOfAnchors[]): Int32Array {
  const starts = new Int32Array(foas.length + 1);
  foas.forEach((f, l) => {
    starts[l + 1] = starts[l] + f.anchors.length / 4;
  });
  return starts;
}

/**
 * add_rpn_blobs: im_info and the RPN targets of every image, concatenated over images. `blobs`
 * receives them under get_rpn_blob_names' names. Always valid, as Detectron.
 */
export function addRpnBlobs(
  blobs: Record<string, NdArray>, imScales: readonly number[], entries: readonly RoiDataEntry[], cfg: RoiDataConfig,
  rng: RandomSource,
): boolean {
  if (imScales.length !== entries.length) throw new Error(`add_rpn_blobs: ${imScales.length} scales for ${entries.length} images`);
  const foas = rpnFieldsOfAnchors(cfg);
  const allAnchors = concatAnchors(foas);
  const imInfo: NdArray[] = [];
  const perField: NdArray[][][] = foas.map(() => [[], [], [], []]);
  entries.forEach((entry, i) => forImage(entry.image, () => {
    const scale = imScales[i];
    const info = trainImInfo(entry.height, entry.width, scale);
    const gtRois = scaleBoxes(takeRows(entry.boxes, 4, nonCrowdGtInds(entry)), scale);
    imInfo.push(f32Blob([1, 3], info));
    const targets = getRpnBlobs(info[0], info[1], foas, gtRois, cfg, rng, allAnchors);
    targets.forEach((t, l) => {
      const { fieldSize: F, numCellAnchors: A } = foas[l];
      perField[l][0].push(i32Blob([1, A, F, F], t.labels));
      perField[l][1].push(f32Blob([1, 4 * A, F, F], t.bboxTargets));
      perField[l][2].push(f32Blob([1, 4 * A, F, F], t.bboxInsideWeights));
      perField[l][3].push(f32Blob([1, 4 * A, F, F], t.bboxOutsideWeights));
    });
  }));
  blobs.im_info = concatBlobs(imInfo, 'im_info');
  foas.forEach((_, l) => {
    const suffix = multilevel(cfg) ? `_fpn${cfg.FPN.RPN_MIN_LEVEL + l}` : '';
    RPN_KEYS.forEach((k, j) => {
      blobs[k + suffix] = concatBlobs(perField[l][j], k + suffix);
    });
  });
  return true;
}
