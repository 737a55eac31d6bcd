/**
 * Detectron's roidb preparation for training (detectron/datasets/roidb.py): loading and joining
 * the roidbs of several datasets, horizontally flipped copies, dropping entries that cannot give
 * a minibatch, bounding-box regression targets; and the aspect-ratio grouping of the training
 * loader (roi_data/loader.py). The config is passed explicitly.
 *
 * Thresholds are compared as numpy compares a float32 array with a Python float: in float32
 * (overlaps >= f32(FG_THRESH)).
 */
import { bboxOverlaps, bboxTransformInv } from '../utils/boxes';
import { flipKeypoints } from '../utils/keypoints';
import { flipSegms } from '../utils/segms';
import type { DatasetSpec } from './dataset_catalog';
import { JsonDataset, type LoadDatasetOptions, type RoidbEntry } from './json_dataset';

const f32 = Math.fround;

/** The config keys the roidb functions read (a DetectronConfig or its frozen form fits). */
export interface RoidbConfig {
  readonly TRAIN: {
    readonly FG_THRESH: number;
    readonly BG_THRESH_HI: number;
    readonly BG_THRESH_LO: number;
    readonly USE_FLIPPED: boolean;
    readonly BBOX_THRESH: number;
    readonly CROWD_FILTER_THRESH: number;
    readonly GT_MIN_AREA: number;
    readonly IMS_PER_BATCH: number;
    readonly ASPECT_GROUPING: boolean;
  };
  readonly MODEL: {
    readonly KEYPOINTS_ON: boolean;
    readonly CLS_AGNOSTIC_BBOX_REG: boolean;
    readonly BBOX_REG_WEIGHTS: readonly number[];
  };
}

/** Receives Detectron's log lines (info level). */
export type RoidbLog = (line: string) => void;

export interface CombinedRoidbOptions extends LoadDatasetOptions {
  /** Check that every image file exists (default true, as Detectron). */
  checkImages?: boolean;
  log?: RoidbLog;
}

/**
 * combined_roidb_for_training: the roidbs of the datasets (catalog names or specs), each with its
 * proposal file if given (none, or one per dataset), flipped copies appended per dataset when
 * TRAIN.USE_FLIPPED, then joined, filtered for training and given bbox regression targets.
 */
export async function combinedRoidbForTraining(
  datasetNames: string | DatasetSpec | ReadonlyArray<string | DatasetSpec>,
  proposalFiles: string | readonly string[] | null,
  cfg: RoidbConfig,
  options: CombinedRoidbOptions = {},
): Promise<RoidbEntry[]> {
  const log = options.log ?? ((): void => {});
  const names: ReadonlyArray<string | DatasetSpec> = Array.isArray(datasetNames)
    ? (datasetNames as ReadonlyArray<string | DatasetSpec>)
    : [datasetNames as string | DatasetSpec];
  let files: ReadonlyArray<string | null> = typeof proposalFiles === 'string' ? [proposalFiles] : (proposalFiles ?? []);
  if (files.length === 0) files = names.map(() => null);
  if (files.length !== names.length) {
    throw new Error(`${names.length} datasets but ${files.length} proposal files (give none, or one per dataset)`);
  }
  const roidb: RoidbEntry[] = [];
  for (let i = 0; i < names.length; i++) {
    const ds = await JsonDataset.load(names[i], options);
    const part = ds.getRoidb({
      gt: true,
      proposalFile: files[i],
      crowdFilterThresh: cfg.TRAIN.CROWD_FILTER_THRESH,
      gtMinArea: cfg.TRAIN.GT_MIN_AREA,
      checkImages: options.checkImages ?? true,
    });
    if (cfg.TRAIN.USE_FLIPPED) {
      log('Appending horizontally-flipped training examples...');
      extendWithFlippedEntries(part, ds);
    }
    log(`Loaded dataset: ${ds.name}`);
    for (const e of part) roidb.push(e);
  }
  const filtered = filterForTraining(roidb, cfg, log);
  log('Computing bounding-box regression targets...');
  addBboxRegressionTargets(filtered, cfg);
  log('done');
  computeAndLogStats(filtered);
  return filtered;
}

/**
 * extend_with_flipped_entries: appends a horizontally flipped copy of every entry: boxes
 * x1' = width - x2 - 1, x2' = width - x1 - 1 (float32), segms via flip_segms, keypoints via
 * flip_keypoints (left/right swapped, x mirrored, x = 0 where invisible), flipped = true. Other
 * fields are shared with the original entry, as in Detectron.
 */
export function extendWithFlippedEntries(roidb: RoidbEntry[], dataset: JsonDataset): void {
  const flipped: RoidbEntry[] = roidb.map((entry) => {
    const width = entry.width;
    const boxes = entry.boxes.slice();
    for (let o = 0; o < boxes.length; o += 4) {
      const oldX1 = entry.boxes[o];
      const oldX2 = entry.boxes[o + 2];
      boxes[o] = f32(f32(width - oldX2) - 1);
      boxes[o + 2] = f32(f32(width - oldX1) - 1);
      if (!(boxes[o + 2] >= boxes[o])) {
        throw new Error(`image ${entry.id} (${entry.image}): flipped box ${o / 4} has x2 < x1 (box [${entry.boxes.subarray(o, o + 4).join(', ')}], width ${width})`);
      }
    }
    const out: RoidbEntry = {
      id: entry.id,
      image: entry.image,
      width: entry.width,
      height: entry.height,
      flipped: true,
      has_visible_keypoints: entry.has_visible_keypoints,
      boxes,
      segms: flipSegms(entry.segms, entry.height, entry.width),
      gt_classes: entry.gt_classes,
      seg_areas: entry.seg_areas,
      gt_overlaps: entry.gt_overlaps,
      is_crowd: entry.is_crowd,
      box_to_gt_ind_map: entry.box_to_gt_ind_map,
      max_classes: entry.max_classes,
      max_overlaps: entry.max_overlaps,
      dataset: entry.dataset,
    };
    if (entry.bbox_targets !== undefined) out.bbox_targets = entry.bbox_targets;
    if (dataset.keypoints !== null && dataset.keypointFlipMap !== null && entry.gt_keypoints !== undefined) {
      out.gt_keypoints = flipKeypoints(dataset.keypoints, dataset.keypointFlipMap, entry.gt_keypoints, entry.width);
    }
    return out;
  });
  for (const e of flipped) roidb.push(e);
}

/**
 * filter_for_training: keeps the entries with at least one foreground box (max overlap >=
 * FG_THRESH) or background box (max overlap in [BG_THRESH_LO, BG_THRESH_HI)); when training
 * keypoints, only entries with a visible keypoint. (Detectron applies
 * KRCNN.MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH per minibatch, in roi_data/keypoint_rcnn.py, not here.)
 */
export function filterForTraining(roidb: readonly RoidbEntry[], cfg: RoidbConfig, log: RoidbLog = () => {}): RoidbEntry[] {
  const fg = f32(cfg.TRAIN.FG_THRESH);
  const bgHi = f32(cfg.TRAIN.BG_THRESH_HI);
  const bgLo = f32(cfg.TRAIN.BG_THRESH_LO);
  const isValid = (entry: RoidbEntry): boolean => {
    let valid = false;
    for (const o of entry.max_overlaps) {
      if (o >= fg || (o < bgHi && o >= bgLo)) {
        valid = true;
        break;
      }
    }
    if (cfg.MODEL.KEYPOINTS_ON) valid = valid && entry.has_visible_keypoints;
    return valid;
  };
  const filtered = roidb.filter(isValid);
  log(`Filtered ${roidb.length - filtered.length} roidb entries: ${roidb.length} -> ${filtered.length}`);
  return filtered;
}

/** add_bbox_regression_targets: sets every entry's bbox_targets. */
export function addBboxRegressionTargets(roidb: readonly RoidbEntry[], cfg: RoidbConfig): void {
  for (const entry of roidb) entry.bbox_targets = computeBboxRegressionTargets(entry, cfg);
}

/**
 * compute_bbox_regression_targets: N×5 float32 rows (class, tx, ty, tw, th). Boxes with max
 * overlap >= TRAIN.BBOX_THRESH regress towards the non-crowd gt box they overlap most, with
 * MODEL.BBOX_REG_WEIGHTS; the class is the box's max_classes (1 with CLS_AGNOSTIC_BBOX_REG).
 * Other rows are zero, and all are when the image has no non-crowd gt box.
 */
export function computeBboxRegressionTargets(entry: RoidbEntry, cfg: RoidbConfig): Float32Array {
  const rois = entry.boxes;
  const n = rois.length / 4;
  const targets = new Float32Array(5 * n);
  const gtInds: number[] = [];
  for (let i = 0; i < entry.gt_classes.length; i++) if (entry.gt_classes[i] > 0 && entry.is_crowd[i] === 0) gtInds.push(i);
  if (gtInds.length === 0) return targets;
  const thresh = f32(cfg.TRAIN.BBOX_THRESH);
  const exInds: number[] = [];
  for (let i = 0; i < n; i++) if (entry.max_overlaps[i] >= thresh) exInds.push(i);
  const exRois = takeRows(rois, exInds);
  const gtRois = takeRows(rois, gtInds);
  const overlaps = bboxOverlaps(exRois, gtRois);
  const g = gtInds.length;
  const assigned = new Float32Array(4 * exInds.length);
  exInds.forEach((_, i) => {
    let best = 0;
    for (let j = 1; j < g; j++) if (overlaps[i * g + j] > overlaps[i * g + best]) best = j;
    assigned.set(gtRois.subarray(4 * best, 4 * best + 4), 4 * i);
  });
  const w = cfg.MODEL.BBOX_REG_WEIGHTS;
  if (w.length !== 4) throw new Error(`MODEL.BBOX_REG_WEIGHTS must have 4 numbers, got ${w.length}`);
  const deltas = bboxTransformInv(exRois, assigned, [w[0], w[1], w[2], w[3]]);
  exInds.forEach((r, i) => {
    targets[5 * r] = cfg.MODEL.CLS_AGNOSTIC_BBOX_REG ? 1 : entry.max_classes[r];
    for (let c = 0; c < 4; c++) targets[5 * r + 1 + c] = deltas[4 * i + c];
  });
  return targets;
}

/**
 * _compute_and_log_stats: the number of non-crowd gt boxes per class over the roidb (index =
 * contiguous class id), and, given `log`, Detectron's histogram lines.
 */
export function computeAndLogStats(roidb: readonly RoidbEntry[], log?: RoidbLog): number[] {
  if (roidb.length === 0) return [];
  const classes = roidb[0].dataset.classes;
  const hist = new Array<number>(classes.length).fill(0);
  for (const entry of roidb) {
    for (let i = 0; i < entry.gt_classes.length; i++) {
      const c = entry.gt_classes[i];
      if (c > 0 && entry.is_crowd[i] === 0 && c < hist.length) hist[c]++;
    }
  }
  if (log !== undefined) {
    const charLen = Math.max(...classes.map((c) => c.length));
    log('Ground-truth class histogram:');
    hist.forEach((v, i) => log(`${i}${classes[i].padStart(charLen)}: ${v}`));
    log('-'.repeat(charLen));
    log(`${'total'.padStart(charLen)}: ${hist.reduce((a, b) => a + b, 0)}`);
  }
  return hist;
}

/**
 * The aspect-ratio groups of the training loader: indices of entries with width >= height
 * (horizontal) and the others (vertical), each in roidb order.
 */
export function aspectRatioGroups(roidb: ReadonlyArray<Pick<RoidbEntry, 'width' | 'height'>>): { horizontal: Int32Array; vertical: Int32Array } {
  const h: number[] = [];
  const v: number[] = [];
  roidb.forEach((e, i) => (e.width >= e.height ? h : v).push(i));
  return { horizontal: Int32Array.from(h), vertical: Int32Array.from(v) };
}

/**
 * RoIDataLoader._shuffle_roidb_inds: an epoch's order of roidb indices. With
 * TRAIN.ASPECT_GROUPING each minibatch of IMS_PER_BATCH images is all horizontal or all vertical
 * (each group shuffled and cut to whole minibatches, then the minibatches shuffled); otherwise a
 * plain permutation. `random` gives uniform numbers in [0, 1) (Math.random by default; numpy's
 * generator is not reproduced).
 */
export function shuffleRoidbInds(
  roidb: ReadonlyArray<Pick<RoidbEntry, 'width' | 'height'>>,
  cfg: RoidbConfig,
  random: () => number = Math.random,
): Int32Array {
  if (!cfg.TRAIN.ASPECT_GROUPING) return permutation(Int32Array.from(roidb.keys()), random);
  const mb = cfg.TRAIN.IMS_PER_BATCH;
  if (!Number.isInteger(mb) || mb < 1) throw new Error(`TRAIN.IMS_PER_BATCH must be a positive integer, got ${mb}`);
  const { horizontal, vertical } = aspectRatioGroups(roidb);
  const h = permutation(horizontal, random);
  const v = permutation(vertical, random);
  const hs = h.subarray(0, Math.floor(h.length / mb) * mb);
  const vs = v.subarray(0, Math.floor(v.length / mb) * mb);
  const inds = new Int32Array(hs.length + vs.length);
  inds.set(hs);
  inds.set(vs, hs.length);
  const batches = permutation(Int32Array.from({ length: inds.length / mb }, (_, i) => i), random);
  const out = new Int32Array(inds.length);
  batches.forEach((b, i) => out.set(inds.subarray(b * mb, (b + 1) * mb), i * mb));
  return out;
}

/** A shuffled copy (Fisher-Yates). */
function permutation(a: Int32Array, random: () => number): Int32Array {
  const out = a.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

function takeRows(boxes: Float32Array, inds: readonly number[]): Float32Array {
  const out = new Float32Array(4 * inds.length);
  inds.forEach((k, i) => out.set(boxes.subarray(4 * k, 4 * k + 4), 4 * i));
  return out;
}
