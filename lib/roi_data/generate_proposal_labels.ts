/**
 * Detectron's GenerateProposalLabelsOp (detectron/ops/generate_proposal_labels.py): end-to-end
 * Faster / Mask R-CNN training turns the RPN's proposals into Fast R-CNN targets by adding them
 * to (copies of) the minibatch's roidb entries and sampling as add_fast_rcnn_blobs does.
 *
 * Like Detectron (which works on a deserialised copy of the minibatch roidb), the entries passed
 * in are not modified. Crowd proposals are not filtered (crowd_thresh 0), for consistency with
 * the original Faster R-CNN, as Detectron.
 */
import { addProposals, type RoidbEntry } from '../datasets/json_dataset';
import { addBboxRegressionTargets } from '../datasets/roidb';
import type { NdArray } from '../utils/ndarray';
import type { RandomSource } from './rng';
import { RoiDataConfig } from './data_utils';
import { addFastRcnnBlobs, getFastRcnnBlobNames } from './fast_rcnn';

export interface ProposalLabels {
  /** get_fast_rcnn_blob_names(training) blobs, in that order. */
  blobs: Record<string, NdArray>;
  /** false when a keypoint minibatch has too few visible keypoints. */
  valid: boolean;
}

/**
 * `rois`: R×5 float32 proposals (batch index, x1, y1, x2, y2) at the network's scale; `imInfo`:
 * N×3 float32 rows (height, width, scale), one per entry.
 */
export function generateProposalLabels(
  rois: Float32Array, roidb: readonly RoidbEntry[], imInfo: Float32Array, cfg: RoiDataConfig, rng: RandomSource,
): ProposalLabels {
  if (imInfo.length !== 3 * roidb.length) throw new Error(`generateProposalLabels: im_info has ${imInfo.length / 3} rows for ${roidb.length} images`);
  const imScales = Array.from({ length: roidb.length }, (_, i) => imInfo[3 * i + 2]);
  // add_proposals replaces the fields it extends, so shallow copies keep the caller's entries intact
  const entries = roidb.map((e) => ({ ...e }));
  addProposals(entries, rois, imScales, 0);
  // roidb.add_bbox_regression_targets, as the op does
  addBboxRegressionTargets(entries, cfg);
  const raw: Record<string, NdArray> = {};
  const valid = addFastRcnnBlobs(raw, imScales, entries, cfg, rng);
  const blobs: Record<string, NdArray> = {};
  for (const name of getFastRcnnBlobNames(cfg, true)) {
    const b = raw[name];
    if (b === undefined) throw new Error(`internal: generateProposalLabels made no ${name} blob`);
    blobs[name] = b;
  }
  return { blobs, valid };
}
