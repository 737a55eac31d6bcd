/**
 * Keypoint R-CNN training targets: Detectron's detectron/roi_data/keypoint_rcnn.py over typed
 * arrays.
 *
 * Keypoint rois are the entry's boxes (gt and proposals) with overlap >= FG_THRESH whose gt has
 * at least one visible keypoint inside the box (_within_box, inclusive edges); at most the
 * image's fg quota of them is sampled (npr.choice without replacement, only when there are more).
 */
import { keypointsToHeatmapLabels } from '../utils/keypoints';
import { pairwiseSumF32 } from '../utils/boxes';
import type { NdArray } from '../utils/ndarray';
import type { RandomSource } from './rng';
import { RoiDataConfig, RoiDataEntry, f32Blob, takeRows, toRois, whereIndices } from './data_utils';

const f32 = Math.fround;

/** One image's keypoint blobs. */
export interface KeypointRcnnImageBlobs {
  /** P×5 float32 rois (batch index, x1, y1, x2, y2) at the network's scale. */
  keypointRois: Float32Array;
  /** (P·K)×1 int32 heatmap indices y·HEATMAP_SIZE + x (0 where invalid). */
  keypointLocations: Int32Array;
  /** (P·K)×1 float32: 1 for visible keypoints inside their roi. */
  keypointWeights: Float32Array;
}

/**
 * _within_box: for N keypoint sets (N×3×K, only the x and y rows read) and N boxes, whether each
 * keypoint lies in its box, edges included. int32 coordinates and float32 boxes compare exactly.
 */
export function withinBox(points: Int32Array, boxes: Float32Array, numKeypoints: number): Uint8Array {
  const n = boxes.length / 4;
  const K = numKeypoints;
  const out = new Uint8Array(n * K);
  for (let i = 0; i < n; i++) {
    const [x1, y1, x2, y2] = boxes.subarray(4 * i, 4 * i + 4);
    for (let k = 0; k < K; k++) {
      const x = points[i * 3 * K + k];
      const y = points[i * 3 * K + K + k];
      out[i * K + k] = x >= x1 && x <= x2 && y >= y1 && y <= y2 ? 1 : 0;
    }
  }
  return out;
}

/** numpy indexing of a length-n axis: -1 is the last element. */
function pyIndex(i: number, n: number, what: string): number {
  const j = i < 0 ? n + i : i;
  if (!(j >= 0 && j < n)) throw new Error(`${what}: index ${i} is out of bounds for ${n}`);
  return j;
}

/** The keypoint rois of the entry before sampling (kp_fg_inds). */
function keypointFgInds(entry: RoiDataEntry, gtInds: Int32Array, K: number, cfg: RoiDataConfig): Int32Array {
  const kps = entry.gt_keypoints!;
  const n = entry.boxes.length / 4;
  // gt_inds[box_to_gt_ind_map]: a proposal touching no gt (-1) reads the last gt, as numpy does
  const indKp = Int32Array.from(entry.box_to_gt_ind_map, (m) => gtInds[pyIndex(m, gtInds.length, 'gt_inds[box_to_gt_ind_map]')]);
  const points = takeRows(kps, 3 * K, indKp);
  const within = withinBox(points, entry.boxes, K);
  const fgThresh = f32(cfg.TRAIN.FG_THRESH);
  return whereIndices(n, (i) => {
    if (!(entry.max_overlaps[i] >= fgThresh)) return false;
    for (let k = 0; k < K; k++) if (points[i * 3 * K + 2 * K + k] > 0 && within[i * K + k]) return true;
    return false;
  });
}

/**
 * add_keypoint_rcnn_blobs for one image. `fgRoisPerImage` is _sample_rois' per-image fg quota
 * (int(round(FG_FRACTION · BATCH_SIZE_PER_IM))).
 */
export function addKeypointRcnnBlobs(
  entry: RoiDataEntry, fgRoisPerImage: number, imScale: number, batchIdx: number, cfg: RoiDataConfig, rng: RandomSource,
): KeypointRcnnImageBlobs {
  const K = cfg.KRCNN.NUM_KEYPOINTS;
  const kps = entry.gt_keypoints;
  if (kps === undefined) throw new Error('MODEL.KEYPOINTS_ON but the entry has no gt_keypoints');
  const gtInds = whereIndices(entry.gt_classes.length, (i) => entry.gt_classes[i] > 0);
  // gt_keypoints has a row per gt box (the entry's first rows), none for proposals
  const kpRows = kps.length / (3 * K);
  if (!Number.isInteger(kpRows) || (gtInds.length > 0 && gtInds[gtInds.length - 1] >= kpRows)) {
    throw new Error(`gt_keypoints has ${kps.length} values: not 3×${K} (KRCNN.NUM_KEYPOINTS) for each of the ${gtInds.length} gt boxes`);
  }
  let kpFg = keypointFgInds(entry, gtInds, K, cfg);
  const quota = Math.min(fgRoisPerImage, kpFg.length);
  if (kpFg.length > quota) kpFg = rng.choice(kpFg, quota);
  const rois = takeRows(entry.boxes, 4, kpFg);
  const sampled = new Int32Array(kpFg.length * 3 * K).fill(-1);
  kpFg.forEach((roi, ii) => {
    const ind = entry.box_to_gt_ind_map[roi];
    if (ind < 0) return;
    const src = gtInds[pyIndex(ind, gtInds.length, 'gt_inds')];
    sampled.set(kps.subarray(src * 3 * K, (src + 1) * 3 * K), ii * 3 * K);
    let vis = 0;
    for (let k = 0; k < K; k++) vis += sampled[ii * 3 * K + 2 * K + k];
    if (!(vis > 0)) throw new Error(`keypoint roi ${roi} has no visible keypoint (Detectron asserts there is one)`);
  });
  const { heatmaps, weights } = keypointsToHeatmapLabels(sampled, rois, K, cfg.KRCNN.HEATMAP_SIZE);
  return {
    keypointRois: toRois(rois, imScale, batchIdx),
    keypointLocations: Int32Array.from(heatmaps),
    keypointWeights: weights,
  };
}

/**
 * finalize_keypoint_minibatch: the minibatch is valid only with more than
 * MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH visible keypoints; adds keypoint_loss_normalizer
 * (visible count / (IMS_PER_BATCH · BATCH_SIZE_PER_IM · FG_FRACTION · NUM_KEYPOINTS)), the
 * normaliser used when KRCNN.NORMALIZE_BY_VISIBLE_KEYPOINTS is off.
 */
export function finalizeKeypointMinibatch(blobs: Record<string, NdArray>, valid: boolean, cfg: RoiDataConfig): boolean {
  const w = blobs.keypoint_weights;
  if (w === undefined) throw new Error('internal: finalizeKeypointMinibatch without keypoint_weights');
  // np.sum of the float32 weights: numpy's pairwise float32 sum
  const numVisible = pairwiseSumF32(w.data as Float32Array);
  const ok = valid && w.shape[0] > 0 && numVisible > cfg.KRCNN.MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH;
  // np.float32 / Python float is float64 in numpy 1.x; the blob stores it as float32
  const denom = cfg.TRAIN.IMS_PER_BATCH * cfg.TRAIN.BATCH_SIZE_PER_IM * cfg.TRAIN.FG_FRACTION * cfg.KRCNN.NUM_KEYPOINTS;
  blobs.keypoint_loss_normalizer = f32Blob([], Float32Array.of(numVisible / denom));
  return ok;
}
