/**
 * Writers for detection results:
 *   - the golden layout (`--json FILE`): what shared/fixtures/golden/models/*.json hold and
 *     golden/compare_models.py reads, one entry per image in Detectron's detection order;
 *   - COCO results arrays, as Detectron's json_dataset_evaluator writes them for COCOeval
 *     (bbox, segm, keypoints), with contiguous class ids mapped back to COCO category ids.
 * Files are written atomically (temporary file, fsync, rename).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { area, type CompressedRle } from '../datasets/pycocotools/mask';
import { contiguousToCocoId } from '../datasets/coco_categories';
import { keypointScore, type KeypointConfidence } from '../utils/keypoints';
import { writeFileAtomic } from '../utils/atomic_write';
import type { Detection, ImageDetections } from './detections';

export { writeFileAtomic };

// ------------------------------------------------------------------------------------------
// Golden layout.

export interface GoldenDetection {
  class_id: number;
  box: [number, number, number, number];
  score: number;
  mask?: CompressedRle;
  /** Foreground pixels of the mask; the golden files carry it, compare_models.py ignores it. */
  mask_area?: number;
  /** Per keypoint [x, y, logit, prob]. */
  keypoints?: Array<[number, number, number, number]>;
}

export interface GoldenImage {
  image: string;
  height: number;
  width: number;
  im_scale?: number;
  detections: GoldenDetection[];
}

export interface GoldenLayout {
  images: GoldenImage[];
}

/** One image's result to record: its file name (compare_models.py matches by base name). */
export interface ImageResult {
  image: string;
  dets: ImageDetections;
}

function goldenDetection(d: Detection): GoldenDetection {
  const out: GoldenDetection = { class_id: d.classId, box: [d.box[0], d.box[1], d.box[2], d.box[3]], score: d.score };
  if (d.mask) {
    out.mask = { size: [d.mask.size[0], d.mask.size[1]], counts: d.mask.counts };
    out.mask_area = area(d.mask);
  }
  if (d.keypoints) out.keypoints = d.keypoints.map((k) => [k[0], k[1], k[2], k[3]]);
  return out;
}

/** The golden-layout entry of one image, detections in the order the test path gave them. */
export function toGoldenImage(image: string, dets: ImageDetections): GoldenImage {
  return {
    image,
    height: dets.height,
    width: dets.width,
    im_scale: dets.imScale,
    detections: dets.detections.map(goldenDetection),
  };
}

/** The golden-layout document for a run. */
export function toGoldenLayout(results: readonly ImageResult[]): GoldenLayout {
  return { images: results.map((r) => toGoldenImage(r.image, r.dets)) };
}

/** Writes the golden layout to `file` (atomically). */
export async function writeGoldenLayout(file: string, results: readonly ImageResult[]): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(toGoldenLayout(results))}\n`);
}

function isNumberArray(v: unknown, len?: number): v is number[] {
  return Array.isArray(v) && (len === undefined || v.length === len) && v.every((x) => typeof x === 'number');
}

function parseGoldenDetection(d: unknown, where: string): Detection {
  const o = d as Partial<GoldenDetection> | null;
  if (o === null || typeof o !== 'object' || typeof o.class_id !== 'number' || typeof o.score !== 'number' || !isNumberArray(o.box, 4)) {
    throw new Error(`${where}: a detection needs class_id, box [x1, y1, x2, y2] and score`);
  }
  const det: Detection = { classId: o.class_id, box: [o.box[0], o.box[1], o.box[2], o.box[3]], score: o.score };
  if (o.mask !== undefined) {
    if (!isNumberArray(o.mask.size, 2) || typeof o.mask.counts !== 'string') {
      throw new Error(`${where}: mask must be a compressed RLE {size: [h, w], counts: string}`);
    }
    det.mask = { size: [o.mask.size[0], o.mask.size[1]], counts: o.mask.counts };
  }
  if (o.keypoints !== undefined) {
    if (!Array.isArray(o.keypoints) || !o.keypoints.every((k) => isNumberArray(k, 4))) {
      throw new Error(`${where}: keypoints must be [[x, y, logit, prob], ...]`);
    }
    det.keypoints = o.keypoints.map((k) => [k[0], k[1], k[2], k[3]]);
  }
  return det;
}

/** Parses a golden-layout document (ours or a golden file) back into per-image detections. */
export function parseGoldenLayout(json: string, source = 'golden layout'): ImageResult[] {
  const doc = JSON.parse(json) as Partial<GoldenLayout> | null;
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.images)) throw new Error(`${source}: no "images" array`);
  return doc.images.map((im: Partial<GoldenImage>, i) => {
    const where = `${source}: images[${i}]`;
    if (typeof im.image !== 'string' || typeof im.height !== 'number' || typeof im.width !== 'number' || !Array.isArray(im.detections)) {
      throw new Error(`${where} needs image, height, width and detections`);
    }
    const detections = im.detections.map((d, k) => parseGoldenDetection(d, `${where}.detections[${k}]`));
    return { image: im.image, dets: { height: im.height, width: im.width, imScale: im.im_scale ?? 1, detections } };
  });
}

/** Reads a golden-layout file. */
export async function readGoldenLayout(file: string): Promise<ImageResult[]> {
  return parseGoldenLayout(await fs.readFile(file, 'utf8'), path.basename(file));
}

// ------------------------------------------------------------------------------------------
// COCO results.

export type CocoIouType = 'bbox' | 'segm' | 'keypoints';

export interface CocoBboxResult {
  image_id: number;
  category_id: number;
  /** x, y, w, h with Detectron's inclusive widths (x2 - x1 + 1). */
  bbox: [number, number, number, number];
  score: number;
}

export interface CocoSegmResult {
  image_id: number;
  category_id: number;
  segmentation: CompressedRle;
  score: number;
}

export interface CocoKeypointResult {
  image_id: number;
  category_id: number;
  /** x, y, v per keypoint, flat; v is always 1, as Detectron writes it. */
  keypoints: number[];
  score: number;
}

export type CocoResult = CocoBboxResult | CocoSegmResult | CocoKeypointResult;

export interface CocoResultsOptions {
  /** Contiguous class id -> category id. Default: COCO's (contiguousToCocoId). */
  categoryId?: (contiguousId: number) => number;
  /** KRCNN.KEYPOINT_CONFIDENCE: the keypoint result's score. Default 'bbox'. */
  keypointConfidence?: KeypointConfidence;
}

/** box_utils.xyxy_to_xywh: Detectron's boxes are inclusive, hence the +1. */
export function xyxyToXywh(box: readonly number[]): [number, number, number, number] {
  return [box[0], box[1], box[2] - box[0] + 1, box[3] - box[1] + 1];
}

/** One detection as _coco_*_results_one_category writes it; null when it lacks the iouType's data. */
function cocoResult(imageId: number, categoryId: number, d: Detection, iouType: CocoIouType, kpConf: KeypointConfidence): CocoResult | null {
  switch (iouType) {
    case 'bbox':
      return { image_id: imageId, category_id: categoryId, bbox: xyxyToXywh(d.box), score: d.score };
    case 'segm':
      if (!d.mask) return null;
      return { image_id: imageId, category_id: categoryId, segmentation: { size: [d.mask.size[0], d.mask.size[1]], counts: d.mask.counts }, score: d.score };
    case 'keypoints': {
      if (!d.keypoints) return null;
      const kps = d.keypoints;
      const k = kps.length;
      // keypointScore reads Detectron's 4×K layout (rows x, y, logit, prob).
      const rows = new Float64Array(4 * k);
      kps.forEach((p, j) => p.forEach((v, r) => (rows[r * k + j] = v)));
      const xyv = kps.flatMap((p) => [p[0], p[1], 1]);
      return { image_id: imageId, category_id: categoryId, keypoints: xyv, score: keypointScore(rows, k, d.score, kpConf) };
    }
    default:
      throw new Error(`unknown COCO iouType ${String(iouType)} (bbox, segm, keypoints)`);
  }
}

/** The COCO results of one image, in the image's detection order. */
export function cocoResultsForImage(imageId: number, dets: ImageDetections, iouType: CocoIouType, options: CocoResultsOptions = {}): CocoResult[] {
  const categoryId = options.categoryId ?? contiguousToCocoId;
  const kpConf = options.keypointConfidence ?? 'bbox';
  const out: CocoResult[] = [];
  for (const d of dets.detections) {
    const r = cocoResult(imageId, categoryId(d.classId), d, iouType, kpConf);
    if (r) out.push(r);
  }
  return out;
}

/**
 * A whole results file in Detectron's order: class by class (contiguous id ascending), within a
 * class the images by ascending image id, within an image the test path's order.
 */
export function cocoResults(
  images: ReadonlyArray<{ imageId: number; dets: ImageDetections }>, iouType: CocoIouType, options: CocoResultsOptions = {},
): CocoResult[] {
  const sorted = [...images].sort((a, b) => a.imageId - b.imageId);
  const classes = [...new Set(sorted.flatMap((im) => im.dets.detections.map((d) => d.classId)))].sort((a, b) => a - b);
  const out: CocoResult[] = [];
  for (const cls of classes) {
    for (const im of sorted) {
      const ofClass = { ...im.dets, detections: im.dets.detections.filter((d) => d.classId === cls) };
      out.push(...cocoResultsForImage(im.imageId, ofClass, iouType, options));
    }
  }
  return out;
}

/** Writes a COCO results array (what COCO.loadRes reads) to `file`, atomically. */
export async function writeCocoResults(file: string, results: readonly CocoResult[]): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(results));
}
