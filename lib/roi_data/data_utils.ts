/**
 * Shared pieces of Detectron's training-data code (detectron/roi_data/data_utils.py and the
 * small numpy idioms the target builders repeat), over typed arrays.
 *
 * Arithmetic follows numpy 1.x as Detectron runs it: a float32 array times a Python float is a
 * float32 multiply by the float cast to float32 (`f32(b * f32(s))`), and a float32 array compared
 * with a Python float compares against the float cast to float32.
 */
import type { FrozenDetectronConfig } from '../core/config';
import type { Segm } from '../utils/segms';
import type { NdArray } from '../utils/ndarray';
import { bboxTransformInv } from '../utils/boxes';
import { generateAnchors } from '../ops/generate_proposals';

const f32 = Math.fround;

/** The config the roi_data functions read (a frozen config or a mutable one). */
export type RoiDataConfig = FrozenDetectronConfig;

/** Detectron's gt_overlaps as the dataset code stores it (json_dataset.GtOverlaps). */
export interface GtOverlapsLike {
  readonly numClasses: number;
  readonly cls: Int32Array;
  readonly value: Float32Array;
}

/**
 * The roidb fields the training targets read (Detectron's roidb dict keys and dtypes); the
 * dataset's RoidbEntry has them all. Row-major: boxes N×4 float32, gt_keypoints N×3×K int32.
 */
export interface RoiDataEntry {
  /** Image path, named in every error about this entry. */
  image: string;
  width: number;
  height: number;
  /** The image is to be flipped horizontally (boxes, segms and keypoints already are). */
  flipped: boolean;
  boxes: Float32Array;
  gt_classes: Int32Array;
  /** 0/1 */
  is_crowd: Uint8Array;
  segms: readonly Segm[];
  max_overlaps: Float32Array;
  max_classes: Int32Array;
  box_to_gt_ind_map: Int32Array;
  gt_keypoints?: Int32Array;
  /** N×5 float32 (class, tx, ty, tw, th): computed from the entry when absent. */
  bbox_targets?: Float32Array;
  seg_areas?: Float32Array;
  has_visible_keypoints?: boolean;
  gt_overlaps?: GtOverlapsLike;
  id?: number;
}

/** The entry's fields as plain data (typed arrays, arrays, numbers): what crosses to a worker. */
export function toPlainEntry(e: RoiDataEntry): RoiDataEntry {
  const out: RoiDataEntry = {
    image: e.image,
    width: e.width,
    height: e.height,
    flipped: e.flipped,
    boxes: e.boxes,
    gt_classes: e.gt_classes,
    is_crowd: e.is_crowd,
    segms: e.segms,
    max_overlaps: e.max_overlaps,
    max_classes: e.max_classes,
    box_to_gt_ind_map: e.box_to_gt_ind_map,
  };
  if (e.gt_keypoints !== undefined) out.gt_keypoints = e.gt_keypoints;
  if (e.bbox_targets !== undefined) out.bbox_targets = e.bbox_targets;
  if (e.seg_areas !== undefined) out.seg_areas = e.seg_areas;
  if (e.has_visible_keypoints !== undefined) out.has_visible_keypoints = e.has_visible_keypoints;
  if (e.id !== undefined) out.id = e.id;
  return out;
}

/** An error about one roidb entry; the message starts with the image path. */
export class RoiDataError extends Error {
  constructor(readonly image: string, message: string) {
    super(message.startsWith(image) ? message : `${image}: ${message}`);
    this.name = 'RoiDataError';
  }
}

/** Runs `fn`, re-throwing any error as a RoiDataError naming `image`. */
export function forImage<T>(image: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RoiDataError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    const wrapped = new RoiDataError(image, e.message);
    if (e.stack !== undefined) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${e.stack.split('\n').slice(1).join('\n')}`;
    throw wrapped;
  }
}

/** Number of boxes of an entry, after checking that its per-box fields agree. */
export function numBoxes(e: RoiDataEntry): number {
  const n = e.boxes.length / 4;
  if (!Number.isInteger(n)) throw new RoiDataError(e.image, `boxes has ${e.boxes.length} values, not N×4`);
  const check = (what: string, len: number | undefined, per = 1): void => {
    if (len !== undefined && len !== n * per) throw new RoiDataError(e.image, `${what} has ${len} values for ${n} boxes`);
  };
  check('gt_classes', e.gt_classes.length);
  check('is_crowd', e.is_crowd.length);
  check('max_overlaps', e.max_overlaps.length);
  check('max_classes', e.max_classes.length);
  check('box_to_gt_ind_map', e.box_to_gt_ind_map.length);
  check('bbox_targets', e.bbox_targets?.length, 5);
  return n;
}

// ---------------------------------------------------------------------------------------------
// numpy idioms

/** np.where(mask)[0] over a predicate on indices. */
export function whereIndices(n: number, pred: (i: number) => boolean): Int32Array {
  // one typed buffer instead of a growing JS array: these run over ~10^5 anchors per image
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (pred(i)) out[k++] = i;
  return out.slice(0, k);
}

/** a[inds, :] for a row-major array with `cols` columns (same typed-array kind). */
export function takeRows<T extends Float32Array | Int32Array>(a: T, cols: number, inds: ArrayLike<number>): T {
  const out = (a instanceof Float32Array ? new Float32Array(inds.length * cols) : new Int32Array(inds.length * cols)) as T;
  for (let r = 0; r < inds.length; r++) out.set(a.subarray(inds[r] * cols, inds[r] * cols + cols), r * cols);
  return out;
}

/** `boxes * scale` for float32 boxes and a Python float scale: a float32 multiply. */
export function scaleBoxes(boxes: Float32Array, scale: number): Float32Array {
  const s = f32(scale);
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) out[i] = f32(boxes[i] * s);
  return out;
}

/** np.hstack((batch_idx * ones((R, 1)), boxes * scale)): R×5 float32 rois. */
export function toRois(boxes: Float32Array, scale: number, batchIdx: number): Float32Array {
  const scaled = scaleBoxes(boxes, scale);
  const n = scaled.length / 4;
  const out = new Float32Array(5 * n);
  for (let i = 0; i < n; i++) {
    out[5 * i] = batchIdx;
    out.set(scaled.subarray(4 * i, 4 * i + 4), 5 * i + 1);
  }
  return out;
}

/** Indices of non-crowd gt boxes: np.where((gt_classes > 0) & (is_crowd == 0)). */
export function nonCrowdGtInds(e: RoiDataEntry): Int32Array {
  return whereIndices(e.gt_classes.length, (i) => e.gt_classes[i] > 0 && e.is_crowd[i] === 0);
}

/** data_utils.compute_targets: float32 bbox_transform_inv of float32 boxes. */
export function computeTargets(
  exRois: Float32Array, gtRois: Float32Array, weights: readonly [number, number, number, number] = [1, 1, 1, 1],
): Float32Array {
  return bboxTransformInv(exRois, gtRois, weights) as Float32Array;
}

/** Row-wise max and first argmax of an N×G matrix (ndarray.argmax(axis=1)). */
export function rowMaxArgmax(m: Float32Array, n: number, g: number): { max: Float32Array; argmax: Int32Array } {
  const max = new Float32Array(n);
  const argmax = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < g; j++) if (m[i * g + j] > m[i * g + best]) best = j;
    argmax[i] = best;
    max[i] = m[i * g + best];
  }
  return { max, argmax };
}

/** Column-wise max (of the first argmax, as Detectron indexes it) of an N×G matrix. */
export function colMax(m: Float32Array, n: number, g: number): Float32Array {
  const out = new Float32Array(g);
  for (let j = 0; j < g; j++) {
    let best = 0;
    for (let i = 1; i < n; i++) if (m[i * g + j] > m[best * g + j]) best = i;
    out[j] = n > 0 ? m[best * g + j] : NaN;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Blobs

export function f32Blob(shape: number[], data: Float32Array): NdArray {
  return checkedBlob('float32', shape, data);
}

export function i32Blob(shape: number[], data: Int32Array): NdArray {
  return checkedBlob('int32', shape, data);
}

function checkedBlob(dtype: 'float32' | 'int32', shape: number[], data: Float32Array | Int32Array): NdArray {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`internal: blob of shape [${shape.join(', ')}] given ${data.length} values`);
  return { dtype, shape, data };
}

/** np.concatenate(blobs, axis=0) of blobs with equal trailing dimensions. */
export function concatBlobs(parts: readonly NdArray[], what: string): NdArray {
  if (parts.length === 0) throw new Error(`internal: no parts to concatenate for ${what}`);
  const [first] = parts;
  const tail = first.shape.slice(1);
  let rows = 0;
  let len = 0;
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.shape.length !== first.shape.length || p.shape.slice(1).some((d, i) => d !== tail[i])) {
      throw new Error(`${what}: cannot concatenate [${p.shape.join(', ')}] ${p.dtype} to [${first.shape.join(', ')}] ${first.dtype}`);
    }
    rows += p.shape[0];
    len += p.data.length;
  }
  const data = first.dtype === 'int32' ? new Int32Array(len) : new Float32Array(len);
  let at = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array | Int32Array, at);
    at += p.data.length;
  }
  return { dtype: first.dtype, shape: [rows, ...tail], data };
}

/** im_info row for training: [round(h * scale), round(w * scale), scale] (unpadded size). */
export function trainImInfo(height: number, width: number, scale: number): Float32Array {
  return Float32Array.of(roundHalfEven(height * scale), roundHalfEven(width * scale), scale);
}

/** np.round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ---------------------------------------------------------------------------------------------
// Fields of anchors

/** data_utils.FieldOfAnchors: anchors at every cell of the largest possible feature map. */
export interface FieldOfAnchors {
  /** (field_size² · A)×4 float32, cell-major ((y · F + x) · A + a). */
  readonly anchors: Float32Array;
  readonly numCellAnchors: number;
  readonly stride: number;
  /** F: the field is F×F cells, enough for a TRAIN.MAX_SIZE image padded to COARSEST_STRIDE. */
  readonly fieldSize: number;
  /** RetinaNet only: the anchor's octave and aspect-ratio index. */
  readonly octave?: number;
  readonly aspect?: number;
}

/** Detectron caches fields per thread; a module-level map is per worker thread here. */
const FOA_CACHE = new Map<string, FieldOfAnchors>();

/**
 * get_field_of_anchors: the cell anchors (generate_anchors) shifted to every cell of an F×F
 * grid, F = ceil(COARSEST_STRIDE · ceil(MAX_SIZE / COARSEST_STRIDE) / stride), computed in
 * float64 and stored as float32 like Detectron. Uses the stride even without FPN, as Detectron.
 */
export function getFieldOfAnchors(
  stride: number, sizes: readonly number[], aspectRatios: readonly number[], cfg: RoiDataConfig,
  octave?: number, aspect?: number,
): FieldOfAnchors {
  const coarsest = cfg.FPN.COARSEST_STRIDE;
  const maxSize = cfg.TRAIN.MAX_SIZE;
  const key = `${stride}|${sizes.join(',')}|${aspectRatios.join(',')}|${coarsest}|${maxSize}|${octave}|${aspect}`;
  const hit = FOA_CACHE.get(key);
  if (hit !== undefined) return hit;
  const cell = generateAnchors(stride, sizes, aspectRatios);
  const A = cell.length / 4;
  const fpnMaxSize = coarsest * Math.ceil(maxSize / coarsest);
  const F = Math.ceil(fpnMaxSize / stride);
  const anchors = new Float32Array(F * F * A * 4);
  for (let y = 0; y < F; y++) {
    for (let x = 0; x < F; x++) {
      const sx = x * stride;
      const sy = y * stride;
      const base = (y * F + x) * A * 4;
      for (let a = 0; a < A; a++) {
        const o = base + 4 * a;
        anchors[o] = cell[4 * a] + sx;
        anchors[o + 1] = cell[4 * a + 1] + sy;
        anchors[o + 2] = cell[4 * a + 2] + sx;
        anchors[o + 3] = cell[4 * a + 3] + sy;
      }
    }
  }
  const foa: FieldOfAnchors = { anchors, numCellAnchors: A, stride, fieldSize: F, octave, aspect };
  FOA_CACHE.set(key, foa);
  return foa;
}

/** np.concatenate of the fields' anchors. */
export function concatAnchors(foas: readonly FieldOfAnchors[]): Float32Array {
  const out = new Float32Array(foas.reduce((n, f) => n + f.anchors.length, 0));
  let at = 0;
  for (const f of foas) {
    out.set(f.anchors, at);
    at += f.anchors.length;
  }
  return out;
}

/** Anchor/gt matching shared by RPN and RetinaNet targets. */
export interface AnchorGtMatch {
  /** N×G float32 IoU (cython bbox_overlaps). */
  overlaps: Float32Array;
  /** Per anchor: index of its best gt (first maximum) and that IoU. */
  argmax: Int32Array;
  max: Float32Array;
  /** np.where(anchor_by_gt_overlap == gt_to_anchor_max)[0]: row indices, with repeats. */
  anchorsWithMaxOverlap: Int32Array;
}

/**
 * The overlaps and argmaxes of _get_rpn_blobs / _get_retinanet_blobs, including the tie rule:
 * every (anchor, gt) cell equal to that gt's best overlap marks the anchor, so one gt can mark
 * many anchors (and a gt that touches no anchor, max 0, marks every anchor with 0 IoU to it).
 */
export function matchAnchorsToGt(overlaps: Float32Array, n: number, g: number): AnchorGtMatch {
  const { max, argmax } = rowMaxArgmax(overlaps, n, g);
  const gtMax = colMax(overlaps, n, g);
  const rows: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < g; j++) if (overlaps[i * g + j] === gtMax[j]) rows.push(i);
  }
  return { overlaps, argmax, max, anchorsWithMaxOverlap: Int32Array.from(rows) };
}

/** Rows of `gtBoxes` picked by `argmax` at `inds`: gt_boxes[anchor_to_gt_argmax[inds], :]. */
export function gtRowsFor(gtBoxes: Float32Array, argmax: Int32Array, inds: ArrayLike<number>): Float32Array {
  const picked = new Int32Array(inds.length);
  for (let i = 0; i < inds.length; i++) picked[i] = argmax[inds[i]];
  return takeRows(gtBoxes, 4, picked);
}
