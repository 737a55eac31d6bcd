/**
 * Fast R-CNN training targets: Detectron's detectron/roi_data/fast_rcnn.py
 * (get_fast_rcnn_blob_names, add_fast_rcnn_blobs, _sample_rois, _expand_bbox_targets,
 * _add_multilevel_rois) and datasets/roidb.py's compute_bbox_regression_targets, over typed
 * arrays.
 *
 * Per image, BATCH_SIZE_PER_IM rois are sampled from the entry's boxes (gt boxes and
 * proposals): up to FG_FRACTION of them with overlap >= FG_THRESH, the rest with overlap in
 * [BG_THRESH_LO, BG_THRESH_HI). Both draws are npr.choice without replacement in Detectron,
 * which also puts the picks in random order; here they come from the given RandomSource.
 */
import { bboxOverlaps, bboxTransformInv } from '../utils/boxes';
import type { NdArray } from '../utils/ndarray';
import { distributeFpnRois } from '../ops/collect_and_distribute_fpn_rpn_proposals';
import type { RandomSource } from './rng';
import {
  RoiDataConfig, RoiDataEntry, concatBlobs, f32Blob, forImage, i32Blob, nonCrowdGtInds, numBoxes, rowMaxArgmax,
  takeRows, toRois, whereIndices,
} from './data_utils';
import { addMaskRcnnBlobs } from './mask_rcnn';
import { addKeypointRcnnBlobs, finalizeKeypointMinibatch } from './keypoint_rcnn';

const f32 = Math.fround;

/** Blobs that get per-level copies with FPN multilevel rois. */
function multilevelRoiBlobs(cfg: RoiDataConfig, isTraining: boolean): string[] {
  const names = ['rois'];
  if (isTraining && cfg.MODEL.MASK_ON) names.push('mask_rois');
  if (isTraining && cfg.MODEL.KEYPOINTS_ON) names.push('keypoint_rois');
  return names;
}

/** get_fast_rcnn_blob_names, in Detectron's order. */
export function getFastRcnnBlobNames(cfg: RoiDataConfig, isTraining = true): string[] {
  const names = ['rois'];
  if (isTraining) names.push('labels_int32', 'bbox_targets', 'bbox_inside_weights', 'bbox_outside_weights');
  if (isTraining && cfg.MODEL.MASK_ON) names.push('mask_rois', 'roi_has_mask_int32', 'masks_int32');
  if (isTraining && cfg.MODEL.KEYPOINTS_ON) {
    names.push('keypoint_rois', 'keypoint_locations_int32', 'keypoint_weights', 'keypoint_loss_normalizer');
  }
  if (cfg.FPN.FPN_ON && cfg.FPN.MULTILEVEL_ROIS) {
    for (const name of multilevelRoiBlobs(cfg, isTraining)) {
      for (let lvl = cfg.FPN.ROI_MIN_LEVEL; lvl <= cfg.FPN.ROI_MAX_LEVEL; lvl++) names.push(`${name}_fpn${lvl}`);
      names.push(`${name}_idx_restore_int32`);
    }
  }
  return names;
}

function bboxRegWeights(cfg: RoiDataConfig): [number, number, number, number] {
  const w = cfg.MODEL.BBOX_REG_WEIGHTS;
  if (w.length !== 4) throw new Error(`MODEL.BBOX_REG_WEIGHTS must have 4 values, got ${w.length}`);
  return [w[0], w[1], w[2], w[3]];
}

/**
 * compute_bbox_regression_targets: N×5 float32 (class, tx, ty, tw, th) for the boxes with
 * overlap >= TRAIN.BBOX_THRESH, each regressed to the non-crowd gt box it overlaps most
 * (class 1 for all with CLS_AGNOSTIC_BBOX_REG); zeros when the image has no non-crowd gt.
 */
export function computeBboxRegressionTargets(entry: RoiDataEntry, cfg: RoiDataConfig): Float32Array {
  const n = numBoxes(entry);
  const targets = new Float32Array(5 * n);
  const gtInds = nonCrowdGtInds(entry);
  if (gtInds.length === 0) return targets;
  const thresh = f32(cfg.TRAIN.BBOX_THRESH);
  const exInds = whereIndices(n, (i) => entry.max_overlaps[i] >= thresh);
  const exRois = takeRows(entry.boxes, 4, exInds);
  const gtBoxes = takeRows(entry.boxes, 4, gtInds);
  const { argmax } = rowMaxArgmax(bboxOverlaps(exRois, gtBoxes), exInds.length, gtInds.length);
  const gtRois = takeRows(gtBoxes, 4, argmax);
  const deltas = bboxTransformInv(exRois, gtRois, bboxRegWeights(cfg));
  exInds.forEach((i, r) => {
    targets[5 * i] = cfg.MODEL.CLS_AGNOSTIC_BBOX_REG ? 1 : entry.max_classes[i];
    for (let c = 0; c < 4; c++) targets[5 * i + 1 + c] = deltas[4 * r + c];
  });
  return targets;
}

/**
 * _expand_bbox_targets: compact (class, t) rows → R×4K targets with the class's four columns
 * set, and inside weights 1 there. K = NUM_CLASSES, or 2 with CLS_AGNOSTIC_BBOX_REG.
 */
export function expandBboxTargets(data: Float32Array, cfg: RoiDataConfig): { bboxTargets: Float32Array; bboxInsideWeights: Float32Array } {
  const K = cfg.MODEL.CLS_AGNOSTIC_BBOX_REG ? 2 : cfg.MODEL.NUM_CLASSES;
  const n = data.length / 5;
  const bboxTargets = new Float32Array(n * 4 * K);
  const bboxInsideWeights = new Float32Array(n * 4 * K);
  for (let i = 0; i < n; i++) {
    if (!(data[5 * i] > 0)) continue;
    const cls = Math.trunc(data[5 * i]);
    if (cls >= K) throw new Error(`bbox target class ${cls} outside the ${K} regression classes`);
    const start = i * 4 * K + 4 * cls;
    for (let c = 0; c < 4; c++) {
      bboxTargets[start + c] = data[5 * i + 1 + c];
      bboxInsideWeights[start + c] = 1;
    }
  }
  return { bboxTargets, bboxInsideWeights };
}

/** One image's Fast R-CNN blobs (and mask / keypoint blobs when those are on). */
export interface FastRcnnImageBlobs {
  [name: string]: NdArray;
}

/** The fg and bg roi indices of _sample_rois, in sampled order. */
function sampleFgBg(entry: RoiDataEntry, cfg: RoiDataConfig, rng: RandomSource): { fg: Int32Array; bg: Int32Array; fgPerImage: number } {
  const roisPerImage = Math.trunc(cfg.TRAIN.BATCH_SIZE_PER_IM);
  const fgPerImage = Math.trunc(roundHalfEvenLocal(cfg.TRAIN.FG_FRACTION * roisPerImage));
  const ov = entry.max_overlaps;
  const n = ov.length;
  const fgThresh = f32(cfg.TRAIN.FG_THRESH);
  let fg = whereIndices(n, (i) => ov[i] >= fgThresh);
  const fgThis = Math.min(fgPerImage, fg.length);
  if (fg.length > 0) fg = rng.choice(fg, fgThis);
  const hi = f32(cfg.TRAIN.BG_THRESH_HI);
  const lo = f32(cfg.TRAIN.BG_THRESH_LO);
  let bg = whereIndices(n, (i) => ov[i] < hi && ov[i] >= lo);
  const bgThis = Math.min(roisPerImage - fgThis, bg.length);
  if (bg.length > 0) bg = rng.choice(bg, Math.max(bgThis, 0));
  return { fg, bg, fgPerImage };
}

function roundHalfEvenLocal(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * _sample_rois for one image (boxes in image pixels, imScale the network's scale): rois,
 * labels_int32, bbox targets and weights, plus mask and keypoint blobs when configured.
 */
export function sampleRois(entry: RoiDataEntry, imScale: number, batchIdx: number, cfg: RoiDataConfig, rng: RandomSource): FastRcnnImageBlobs {
  const n = numBoxes(entry);
  const { fg, bg, fgPerImage } = sampleFgBg(entry, cfg, rng);
  const keep = new Int32Array(fg.length + bg.length);
  keep.set(fg);
  keep.set(bg, fg.length);
  const labels = Int32Array.from(keep, (k, r) => (r < fg.length ? entry.max_classes[k] : 0));
  const sampledBoxes = takeRows(entry.boxes, 4, keep);
  const compact = entry.bbox_targets ?? computeBboxRegressionTargets(entry, cfg);
  if (compact.length !== 5 * n) throw new Error(`bbox_targets has ${compact.length} values for ${n} boxes`);
  const { bboxTargets, bboxInsideWeights } = expandBboxTargets(takeRows(compact, 5, keep), cfg);
  const outside = Float32Array.from(bboxInsideWeights, (w) => (w > 0 ? 1 : 0));
  const R = keep.length;
  const cols = 4 * (cfg.MODEL.CLS_AGNOSTIC_BBOX_REG ? 2 : cfg.MODEL.NUM_CLASSES);
  const blobs: FastRcnnImageBlobs = {
    rois: f32Blob([R, 5], toRois(sampledBoxes, imScale, batchIdx)),
    labels_int32: i32Blob([R], labels),
    bbox_targets: f32Blob([R, cols], bboxTargets),
    bbox_inside_weights: f32Blob([R, cols], bboxInsideWeights),
    bbox_outside_weights: f32Blob([R, cols], outside),
  };
  if (cfg.MODEL.MASK_ON) {
    const m = addMaskRcnnBlobs(sampledBoxes, labels, entry, imScale, batchIdx, cfg);
    const maskCols = m.masks.length / (m.maskRois.length / 5);
    blobs.mask_rois = f32Blob([m.maskRois.length / 5, 5], m.maskRois);
    blobs.roi_has_mask_int32 = i32Blob([R], m.roiHasMask);
    blobs.masks_int32 = i32Blob([m.maskRois.length / 5, maskCols], m.masks);
  }
  if (cfg.MODEL.KEYPOINTS_ON) {
    const k = addKeypointRcnnBlobs(entry, fgPerImage, imScale, batchIdx, cfg, rng);
    blobs.keypoint_rois = f32Blob([k.keypointRois.length / 5, 5], k.keypointRois);
    blobs.keypoint_locations_int32 = i32Blob([k.keypointLocations.length, 1], k.keypointLocations);
    blobs.keypoint_weights = f32Blob([k.keypointWeights.length, 1], k.keypointWeights);
  }
  return blobs;
}

/**
 * add_fast_rcnn_blobs: sample every image, concatenate over images, add FPN level blobs, and
 * check keypoint minibatch validity. Returns Detectron's `valid`.
 */
export function addFastRcnnBlobs(
  blobs: Record<string, NdArray>, imScales: readonly number[], entries: readonly RoiDataEntry[], cfg: RoiDataConfig,
  rng: RandomSource,
): boolean {
  if (imScales.length !== entries.length) throw new Error(`add_fast_rcnn_blobs: ${imScales.length} scales for ${entries.length} images`);
  const perImage = entries.map((entry, i) => forImage(entry.image, () => sampleRois(entry, imScales[i], i, cfg, rng)));
  if (perImage.length === 0) throw new Error('add_fast_rcnn_blobs: no images');
  for (const k of Object.keys(perImage[0])) blobs[k] = concatBlobs(perImage.map((b) => b[k]), k);
  if (cfg.FPN.FPN_ON && cfg.FPN.MULTILEVEL_ROIS) addMultilevelRois(blobs, cfg);
  let valid = true;
  if (cfg.MODEL.KEYPOINTS_ON) valid = finalizeKeypointMinibatch(blobs, valid, cfg);
  return valid;
}

/**
 * _add_multilevel_rois: each roi blob split by FPN level (map_rois_to_fpn_levels) into
 * `<name>_fpn<lvl>`, with `<name>_idx_restore_int32` restoring the original order.
 */
export function addMultilevelRois(blobs: Record<string, NdArray>, cfg: RoiDataConfig): void {
  const opts = {
    minLevel: cfg.FPN.ROI_MIN_LEVEL,
    maxLevel: cfg.FPN.ROI_MAX_LEVEL,
    canonicalScale: cfg.FPN.ROI_CANONICAL_SCALE,
    canonicalLevel: cfg.FPN.ROI_CANONICAL_LEVEL,
  };
  for (const name of multilevelRoiBlobs(cfg, true)) {
    const rois = blobs[name];
    if (rois === undefined) throw new Error(`internal: no ${name} blob to distribute over FPN levels`);
    const d = distributeFpnRois(rois.data as Float32Array, opts);
    d.levelRois.forEach((r, i) => {
      blobs[`${name}_fpn${opts.minLevel + i}`] = f32Blob([r.length / 5, 5], r);
    });
    blobs[`${name}_idx_restore_int32`] = i32Blob([d.idxRestore.length], d.idxRestore);
  }
}
