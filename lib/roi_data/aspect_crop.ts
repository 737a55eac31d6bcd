/**
 * Detectron.pytorch's TRAIN.ASPECT_CROPPING (roi_data/loader.py crop_data, datasets/roidb.py
 * rank_for_training): images whose width / height ratio is above ASPECT_HI or below ASPECT_LO
 * are cropped to that ratio, the window placed over the gt boxes with a random offset, and
 * boxes that collapse to zero width or height are dropped.
 *
 * Differences, on purpose: the crop is applied to the decoded image and the roidb entry (boxes,
 * polygons, RLEs, keypoints) *before* resizing and target building, so targets and pixels stay
 * aligned (Detectron.pytorch crops the resized blob after its RPN targets were computed, with
 * the window found from unscaled boxes); the target ratio is the clamped ratio itself (Detectron.
 * pytorch's ratio-sorted batches may ask for a milder one). Only gt-only entries (end-to-end
 * training) can be cropped: proposal overlaps would go stale.
 */
import type { NdArray } from '../utils/ndarray';
import { isPoly, type Segm } from '../utils/segms';
import { rleDecodeColumnMajor, rleEncodeColumnMajor, rleFrUncompressed, toCompressed, toRle } from '../datasets/pycocotools/mask';
import type { CompressedRle, UncompressedRle } from '../datasets/pycocotools/mask';
import type { RandomSource } from './rng';
import { GtOverlapsLike, RoiDataEntry, numBoxes, whereIndices } from './data_utils';

const f32 = Math.fround;

/** TRAIN.ASPECT_HI / ASPECT_LO (Detectron.pytorch defaults 2 and 0.5). */
export interface AspectCroppingOptions {
  hi: number;
  lo: number;
}

/** A crop of one image axis: rows (y) or columns (x) [start, start + size). */
export interface CropWindow {
  axis: 'x' | 'y';
  start: number;
  size: number;
}

/** The ratio an image is cropped to, or null when width / height is within [lo, hi]. */
export function aspectCropRatio(width: number, height: number, opts: AspectCroppingOptions): number | null {
  if (!(opts.lo > 0 && opts.lo <= 1 && opts.hi >= 1)) throw new Error(`ASPECT_LO (${opts.lo}) must be in (0, 1] and ASPECT_HI (${opts.hi}) >= 1`);
  const ratio = width / height;
  if (ratio > opts.hi) return opts.hi;
  if (ratio < opts.lo) return opts.lo;
  return null;
}

/** A uniform integer in [lo, hi] (npr.choice(range(lo, hi + 1))). */
function uniformIn(lo: number, hi: number, rng: RandomSource): number {
  return hi <= lo ? lo : lo + rng.randint(hi - lo + 1);
}

/**
 * crop_data's window along one axis: `length` the image's extent, `size` the crop's, boxMin /
 * boxMax the floored extremes of the boxes along that axis.
 */
function cropStart(length: number, size: number, boxMin: number, boxMax: number, rng: RandomSource): number {
  if (boxMin === 0) return 0;
  const region = boxMax - boxMin + 1;
  if (region < size) {
    const lo = Math.max(boxMax - size, 0);
    const hi = Math.min(boxMin, length - size);
    return hi < lo ? Math.max(hi, 0) : uniformIn(lo, hi, rng);
  }
  const add = Math.floor((region - size) / 2);
  return add === 0 ? boxMin : uniformIn(boxMin, boxMin + add, rng);
}

/** The crop window of an entry to `ratio` (from aspectCropRatio). */
export function chooseCrop(entry: RoiDataEntry, ratio: number, rng: RandomSource): CropWindow {
  const n = numBoxes(entry);
  const axis = ratio < 1 ? 'y' : 'x';
  const length = axis === 'y' ? entry.height : entry.width;
  const size = axis === 'y' ? Math.ceil(entry.width / ratio) : Math.ceil(entry.height * ratio);
  if (size >= length) return { axis, start: 0, size: length };
  if (n === 0) return { axis, start: 0, size };
  const c = axis === 'y' ? 1 : 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, entry.boxes[4 * i + c]);
    hi = Math.max(hi, entry.boxes[4 * i + c + 2]);
  }
  return { axis, start: cropStart(length, size, Math.floor(lo), Math.floor(hi), rng), size };
}

/** The image (H×W×C) restricted to the window. */
export function cropImage(im: NdArray, crop: CropWindow): NdArray {
  const [h, w, ch] = im.shape;
  const src = im.data as Uint8Array;
  const nh = crop.axis === 'y' ? crop.size : h;
  const nw = crop.axis === 'x' ? crop.size : w;
  const y0 = crop.axis === 'y' ? crop.start : 0;
  const x0 = crop.axis === 'x' ? crop.start : 0;
  if (y0 + nh > h || x0 + nw > w) throw new Error(`crop [${crop.axis} ${crop.start}+${crop.size}] outside the ${w}×${h} image`);
  const out = new Uint8Array(nh * nw * ch);
  for (let y = 0; y < nh; y++) out.set(src.subarray(((y + y0) * w + x0) * ch, ((y + y0) * w + x0 + nw) * ch), y * nw * ch);
  return { dtype: im.dtype, shape: [nh, nw, ch], data: out };
}

/** Shifted and clipped float32 boxes, and the rows that keep a non-zero extent. */
function cropBoxes(boxes: Float32Array, crop: CropWindow): { boxes: Float32Array; keep: Int32Array } {
  const c = crop.axis === 'y' ? 1 : 0;
  const out = Float32Array.from(boxes);
  const max = crop.size - 1;
  for (let i = 0; i < out.length; i += 4) {
    for (const j of [c, c + 2]) out[i + j] = Math.min(Math.max(f32(out[i + j] - crop.start), 0), max);
  }
  const keep = whereIndices(out.length / 4, (i) => out[4 * i] !== out[4 * i + 2] && out[4 * i + 1] !== out[4 * i + 3]);
  return { boxes: out, keep };
}

function cropSegm(segm: Segm, crop: CropWindow, height: number, width: number): Segm {
  const c = crop.axis === 'y' ? 1 : 0;
  if (isPoly(segm)) return segm.map((p) => p.map((v, i) => (i % 2 === c ? v - crop.start : v)));
  const rle = Array.isArray(segm.counts) ? rleFrUncompressed(segm as UncompressedRle) : toRle(segm as CompressedRle);
  if (rle.h !== height || rle.w !== width) throw new Error(`RLE of size ${rle.w}×${rle.h} in a ${width}×${height} image`);
  const mask = rleDecodeColumnMajor(rle);
  const nh = crop.axis === 'y' ? crop.size : height;
  const nw = crop.axis === 'x' ? crop.size : width;
  const out = new Uint8Array(nh * nw);
  // column-major: column x holds rows 0..h-1
  for (let x = 0; x < nw; x++) {
    const sx = crop.axis === 'x' ? x + crop.start : x;
    const sy = crop.axis === 'y' ? crop.start : 0;
    out.set(mask.subarray(sx * height + sy, sx * height + sy + nh), x * nh);
  }
  return toCompressed(rleEncodeColumnMajor(out, nh, nw));
}

function pick<T extends Float32Array | Int32Array | Uint8Array>(a: T, keep: Int32Array, cols = 1): T {
  const Ctor = a.constructor as new (n: number) => T;
  const out = new Ctor(keep.length * cols);
  keep.forEach((k, r) => out.set(a.subarray(k * cols, k * cols + cols), r * cols));
  return out;
}

/** gt_overlaps with the kept rows, keeping its class (GtOverlaps) so its methods still work. */
function pickGtOverlaps(go: GtOverlapsLike, keep: Int32Array): GtOverlapsLike {
  const rows = Object.create(Object.getPrototypeOf(go) as object) as { numClasses: number; cls: Int32Array; value: Float32Array };
  rows.numClasses = go.numClasses;
  rows.cls = pick(go.cls, keep);
  rows.value = pick(go.value, keep);
  return rows;
}

/**
 * The entry as seen through the crop: boxes shifted and clipped, collapsed boxes dropped with
 * their per-box fields, polygons / RLEs / keypoints shifted, size updated, bbox_targets dropped
 * (recomputed from the new boxes). Returns null when the crop would leave no non-crowd gt box
 * of an entry that had one (the image is then used uncropped).
 */
export function cropEntry<T extends RoiDataEntry>(entry: T, crop: CropWindow): T | null {
  const n = numBoxes(entry);
  if (entry.gt_classes.some((c) => c === 0)) {
    throw new Error('ASPECT_CROPPING needs gt-only roidb entries (end-to-end training), this one has proposals');
  }
  const { boxes, keep } = cropBoxes(entry.boxes, crop);
  const hadGt = entry.is_crowd.some((c) => c === 0);
  if (hadGt && !Array.from(keep).some((k) => entry.is_crowd[k] === 0)) return null;
  const K = entry.gt_keypoints !== undefined && n > 0 ? entry.gt_keypoints.length / (3 * n) : 0;
  const out: T = {
    ...entry,
    width: crop.axis === 'x' ? crop.size : entry.width,
    height: crop.axis === 'y' ? crop.size : entry.height,
    boxes: pick(boxes, keep, 4),
    gt_classes: pick(entry.gt_classes, keep),
    is_crowd: pick(entry.is_crowd, keep),
    segms: Array.from(keep, (k) => cropSegm(entry.segms[k], crop, entry.height, entry.width)),
    max_overlaps: pick(entry.max_overlaps, keep),
    max_classes: pick(entry.max_classes, keep),
    // gt rows map to themselves
    box_to_gt_ind_map: Int32Array.from(keep, (_, r) => r),
  };
  delete out.bbox_targets;
  if (entry.seg_areas !== undefined) out.seg_areas = pick(entry.seg_areas, keep);
  if (entry.gt_overlaps !== undefined) out.gt_overlaps = pickGtOverlaps(entry.gt_overlaps, keep);
  if (entry.gt_keypoints !== undefined) out.gt_keypoints = cropKeypoints(pick(entry.gt_keypoints, keep, 3 * K), K, crop);
  return out;
}

function cropKeypoints(kps: Int32Array, K: number, crop: CropWindow): Int32Array {
  const row = crop.axis === 'y' ? 1 : 0;
  for (let i = 0; i < kps.length; i += 3 * K) {
    for (let k = 0; k < K; k++) kps[i + row * K + k] -= crop.start;
  }
  return kps;
}
