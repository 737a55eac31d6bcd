/**
 * Detectron's detectron/utils/segms.py: COCO segmentations (polygons or RLE) as Detectron uses
 * them for training targets (flip, polygon → mask, polygon → M×M mask inside a box) and for test
 * time mask voting / NMS. Masks are row-major H×W; float32 results as Detectron's numpy arrays.
 */
import type { NdArray } from './ndarray';
import {
  decode,
  encode,
  frPyObjects,
  iou,
  rleDecodeColumnMajor,
  rleEncodeColumnMajor,
  rleFrUncompressed,
  toCompressed,
  toRle,
  type CompressedRle,
  type Polygon,
  type UncompressedRle,
} from '../datasets/pycocotools/mask';

/** One object's polygons: [[x0, y0, x1, y1, ...], ...]. */
export type PolygonSegm = number[][];

/** A COCO segmentation: polygons, or an RLE (uncompressed counts list or compressed string). */
export type Segm = PolygonSegm | CompressedRle | UncompressedRle;

/** segms.is_poly: polygons are lists, RLEs are objects. */
export function isPoly(segm: Segm): segm is PolygonSegm {
  if (Array.isArray(segm)) return true;
  if (segm !== null && typeof segm === 'object') return false;
  throw new Error(`Invalid segm type: ${typeof segm}`);
}

/**
 * flip_segms: left/right flip of each segmentation in an image of the given size: polygon x
 * becomes width - x - 1; an RLE is flipped as a mask and returned compressed. (Detectron wraps
 * a flipped uncompressed RLE in a one-element list and cannot flip a compressed one; both give
 * the single flipped RLE here.)
 */
export function flipSegms(segms: readonly Segm[], height: number, width: number): Segm[] {
  return segms.map((segm) => {
    if (isPoly(segm)) return segm.map((poly) => poly.map((v, i) => (i % 2 === 0 ? width - v - 1 : v)));
    return flipRle(segm, height, width);
  });
}

function flipRle(segm: CompressedRle | UncompressedRle, height: number, width: number): CompressedRle {
  const rle = Array.isArray(segm.counts) ? rleFrUncompressed(segm as UncompressedRle) : toRle(segm as CompressedRle);
  if (rle.h !== height || rle.w !== width) {
    throw new Error(`flip_segms: RLE size [${rle.h}, ${rle.w}] does not match the image's [${height}, ${width}]`);
  }
  // Column-major: flipping left/right reverses the order of the H-pixel columns.
  const src = rleDecodeColumnMajor(rle);
  const dst = new Uint8Array(src.length);
  const h = rle.h;
  for (let x = 0; x < rle.w; x++) dst.set(src.subarray(x * h, x * h + h), (rle.w - 1 - x) * h);
  return toCompressed(rleEncodeColumnMajor(dst, h, rle.w));
}

/** Union of the decoded masks of `rles`, as float32 0/1 (Detectron sums them and tests > 0). */
function unionMask(rles: readonly CompressedRle[], h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  for (const r of rles) {
    const m = decode(r);
    for (let i = 0; i < m.length; i++) if (m[i]) out[i] = 1;
  }
  return out;
}

/** polys_to_mask: polygons rasterised into a height×width float32 0/1 mask. */
export function polysToMask(polygons: readonly Polygon[], height: number, width: number): Float32Array {
  return unionMask(frPyObjects(polygons as Polygon[], height, width), height, width);
}

/** mask_to_bbox: tight [x0, y0, x1, y1] (inclusive pixel indices) of a mask, or null if empty. */
export function maskToBbox(mask: ArrayLike<number>, height: number, width: number): Float32Array | null {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : Float32Array.of(x0, y0, x1, y1);
}

/**
 * polys_to_mask_wrt_box: polygons mapped into `box` (x0, y0, x1, y1) and rasterised to an M×M
 * float32 0/1 mask. Detectron's boxes are float32 rois and its arithmetic is float32 (the
 * polygon is cast to float32, then shifted, scaled by M and divided by the box size), which is
 * reproduced with Math.fround at every step.
 */
export function polysToMaskWrtBox(polygons: readonly Polygon[], box: ArrayLike<number>, M: number): Float32Array {
  const f = Math.fround;
  const b = [f(box[0]), f(box[1]), f(box[2]), f(box[3])];
  const w = Math.max(f(b[2] - b[0]), 1);
  const h = Math.max(f(b[3] - b[1]), 1);
  const norm = polygons.map((poly) => {
    const p = new Float64Array(poly.length);
    for (let i = 0; i < poly.length; i++) {
      const v = f(poly[i]);
      p[i] = i % 2 === 0 ? f(f(f(v - b[0]) * M) / w) : f(f(f(v - b[1]) * M) / h);
    }
    return p;
  });
  return unionMask(frPyObjects(norm, M, M), M, M);
}

/** polys_to_boxes: tight (x0, y0, x1, y1) of each object's polygons, float32 N×4. */
export function polysToBoxes(polys: readonly PolygonSegm[]): Float32Array {
  const out = new Float32Array(polys.length * 4);
  polys.forEach((poly, i) => {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const p of poly) {
      for (let j = 0; j + 1 < p.length; j += 2) {
        x0 = Math.min(x0, p[j]);
        x1 = Math.max(x1, p[j]);
        y0 = Math.min(y0, p[j + 1]);
        y1 = Math.max(y1, p[j + 1]);
      }
    }
    out.set([x0, y0, x1, y1], 4 * i);
  });
  return out;
}

function checkDets(dets: NdArray, n: number, what: string): void {
  if (dets.shape.length !== 2 || dets.shape[0] !== n || dets.shape[1] < 5) {
    throw new Error(`${what}: dets must be ${n}×5 (x0, y0, x1, y1, score), got shape [${dets.shape.join(', ')}]`);
  }
  if (dets.data instanceof BigInt64Array) throw new Error(`${what}: dets must be a float array, got ${dets.dtype}`);
}

/** Row i, column j of a 2-D NdArray of numbers. */
function at(a: NdArray, i: number, j: number): number {
  return (a.data as Exclude<NdArray['data'], BigInt64Array>)[i * a.shape[1] + j];
}

/** Python slice bounds for start:end over a length-n axis (negative ends count from the back). */
function sliceBounds(start: number, end: number, n: number): [number, number] {
  const norm = (v: number): number => (v < 0 ? Math.max(0, n + v) : Math.min(v, n));
  return [norm(start), norm(end)];
}

/**
 * rle_mask_voting: each top mask is replaced by the combination of all masks overlapping it by
 * at least `iouThresh`: 'AVG' averages them weighted by their detection's score inside its box
 * (1e-5 elsewhere) and thresholds at `binarizeThresh`; 'UNION' takes their union.
 */
export function rleMaskVoting(
  topMasks: readonly CompressedRle[],
  allMasks: readonly CompressedRle[],
  allDets: NdArray,
  iouThresh: number,
  binarizeThresh: number,
  method: 'AVG' | 'UNION' = 'AVG',
): CompressedRle[] {
  if (topMasks.length === 0) return [];
  if (method !== 'AVG' && method !== 'UNION') throw new Error(`Method ${String(method)} is unknown`);
  checkDets(allDets, allMasks.length, 'rle_mask_voting');
  const overlaps = iou(topMasks, allMasks, new Uint8Array(allMasks.length));
  const decodedAll = allMasks.map((m) => decode(m));
  const first = toRle(allMasks[0]);
  const H = first.h;
  const W = first.w;
  // Per-mask weight: the detection's score inside its (int-truncated) box, 1e-5 elsewhere and
  // at least 1e-5 everywhere; evaluated per pixel instead of materialising N×H×W weights.
  const supports = allMasks.map((_, k) => {
    const [x0, x1] = sliceBounds(Math.max(Math.trunc(at(allDets, k, 0)), 0), Math.min(Math.trunc(at(allDets, k, 2)) + 1, W), W);
    const [y0, y1] = sliceBounds(Math.max(Math.trunc(at(allDets, k, 1)), 0), Math.min(Math.trunc(at(allDets, k, 3)) + 1, H), H);
    return { x0, x1, y0, y1, weight: Math.max(at(allDets, k, 4), 1e-5) };
  });
  const weightAt = (j: number, y: number, x: number): number => {
    const s = supports[j];
    return y >= s.y0 && y < s.y1 && x >= s.x0 && x < s.x1 ? s.weight : 1e-5;
  };
  return topMasks.map((top, k) => {
    const topMask = decode(top);
    if (!topMask.some((v) => v !== 0)) return top;
    const inds: number[] = [];
    for (let j = 0; j < allMasks.length; j++) if (overlaps.data[k * overlaps.gt + j] >= iouThresh) inds.push(j);
    if (inds.length === 1) return top;
    if (inds.length === 0) throw new Error(`rle_mask_voting: top mask ${k} overlaps none of the masks`);
    const out = new Uint8Array(H * W);
    for (let y = 0, i = 0; y < H; y++) {
      for (let x = 0; x < W; x++, i++) {
        if (method === 'AVG') {
          // np.average over axis 0: sequential float64 sums of mask*weight and of weight.
          let num = 0;
          let den = 0;
          for (const j of inds) {
            const wgt = weightAt(j, y, x);
            num += decodedAll[j][i] * wgt;
            den += wgt;
          }
          out[i] = num / den > binarizeThresh ? 1 : 0;
        } else {
          let s = 0;
          for (const j of inds) s += decodedAll[j][i];
          out[i] = s > 1e-5 ? 1 : 0;
        }
      }
    }
    return encode(out, H, W);
  });
}

export type MaskNmsMode = 'IOU' | 'IOMA' | 'CONTAINMENT';

/**
 * rle_mask_nms: greedy NMS on masks by descending score. 'IOU' uses intersection over union,
 * 'IOMA' intersection over the smaller area, 'CONTAINMENT' intersection over the later mask's
 * area. Returns kept indices. Ties in score keep input order (Detectron's np.argsort is not
 * stable, so its order among equal scores is unspecified).
 */
export function rleMaskNms(masks: readonly CompressedRle[], dets: NdArray, thresh: number, mode: MaskNmsMode = 'IOU'): number[] {
  if (masks.length === 0) return [];
  if (masks.length === 1) return [0];
  if (mode !== 'IOU' && mode !== 'IOMA' && mode !== 'CONTAINMENT') throw new Error(`Mode ${String(mode)} is unknown`);
  checkDets(dets, masks.length, 'rle_mask_nms');
  const n = masks.length;
  const crowd = new Uint8Array(n).fill(mode === 'IOU' ? 0 : 1);
  const m = iou(masks, masks, crowd).data;
  const ious = (i: number, j: number): number => (mode === 'IOMA' ? Math.max(m[i * n + j], m[j * n + i]) : m[i * n + j]);
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => at(dets, b, 4) - at(dets, a, 4));
  const keep: number[] = [];
  while (order.length > 0) {
    const i = order[0];
    keep.push(i);
    order = order.slice(1).filter((j) => ious(i, j) <= thresh);
  }
  return keep;
}

/** rle_masks_to_boxes: (x0, y0, x1, y1) of each mask (float64 N×4) and the non-empty ones' indices. */
export function rleMasksToBoxes(masks: readonly CompressedRle[]): { boxes: Float64Array; keep: number[] } {
  const boxes = new Float64Array(masks.length * 4);
  const keep: number[] = [];
  masks.forEach((m, i) => {
    const r = toRle(m);
    const box = maskToBbox(decode(r), r.h, r.w);
    if (box === null) return;
    boxes.set(box, 4 * i);
    keep.push(i);
  });
  return { boxes, keep };
}
