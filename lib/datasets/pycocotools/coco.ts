/**
 * pycocotools' COCO class (PythonAPI/pycocotools/coco.py): an index over a COCO annotation file,
 * the id queries (getAnnIds, getCatIds, getImgIds), segmentation → RLE, and loadRes, which turns
 * a results file into a second COCO object exactly as pycocotools does (ids 1..N, areas, boxes),
 * after checking every entry so that bad results are refused rather than silently mis-scored.
 */
import * as fs from 'fs';
import {
  rleArea,
  rleDecodeRowMajor,
  rleFrString,
  rleFrUncompressed,
  rleMerge,
  rleToBbox,
  rleFrPoly,
  toCompressed,
  type CompressedRle,
  type Rle,
  type UncompressedRle,
} from './mask';

/** Polygons, uncompressed RLE (counts list) or compressed RLE (counts string). */
export type Segmentation = number[][] | UncompressedRle | CompressedRle;

export interface CocoImage {
  id: number;
  height: number;
  width: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  keypoints?: string[];
  skeleton?: number[][];
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation?: Segmentation;
  area?: number;
  bbox?: number[];
  iscrowd?: number | boolean;
  keypoints?: number[];
  num_keypoints?: number;
  score?: number;
  [key: string]: unknown;
}

export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  info?: unknown;
  licenses?: unknown;
}

/** The annotation types COCOeval scores; loadRes picks one from the first result entry. */
export type IouType = 'bbox' | 'segm' | 'keypoints';

export interface AnnIdFilter {
  imgIds?: number | readonly number[];
  catIds?: number | readonly number[];
  areaRng?: readonly [number, number];
  iscrowd?: boolean | null;
}

export interface CatIdFilter {
  catNms?: string | readonly string[];
  supNms?: string | readonly string[];
  catIds?: number | readonly number[];
}

export interface ImgIdFilter {
  imgIds?: number | readonly number[];
  catIds?: number | readonly number[];
}

const asList = <T>(v: T | readonly T[] | undefined): readonly T[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T];

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads and parses a JSON file, naming the file in any error. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} file ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what} file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function requireNumber(obj: Record<string, unknown>, key: string, where: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`${where}: "${key}" must be a finite number, got ${describe(v)}`);
  }
  return v;
}

/**
 * Checks the parts of a ground-truth file that indexing needs (ids, image sizes); what an
 * evaluation needs of each annotation is checked when COCOeval prepares it.
 */
export function parseDataset(json: unknown, source: string): CocoDataset {
  if (!isObject(json)) throw new Error(`${source}: annotation file must hold a JSON object, got ${describe(json)}`);
  const list = (key: string): unknown[] => {
    const v = json[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new Error(`${source}: "${key}" must be an array, got ${describe(v)}`);
    return v;
  };
  const images = list('images').map((img, i) => {
    const where = `${source}: images[${i}]`;
    if (!isObject(img)) throw new Error(`${where} must be an object, got ${describe(img)}`);
    requireNumber(img, 'id', where);
    for (const key of ['height', 'width']) {
      const v = requireNumber(img, key, where);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${where}: "${key}" must be a non-negative integer, got ${v}`);
    }
    return img as CocoImage;
  });
  const categories = list('categories').map((cat, i) => {
    const where = `${source}: categories[${i}]`;
    if (!isObject(cat)) throw new Error(`${where} must be an object, got ${describe(cat)}`);
    requireNumber(cat, 'id', where);
    return cat as CocoCategory;
  });
  const annotations = list('annotations').map((ann, i) => {
    const where = `${source}: annotations[${i}]`;
    if (!isObject(ann)) throw new Error(`${where} must be an object, got ${describe(ann)}`);
    for (const key of ['id', 'image_id', 'category_id']) requireNumber(ann, key, where);
    return ann as CocoAnnotation;
  });
  return { ...(json as object), images, annotations, categories } as CocoDataset;
}

export class COCO {
  readonly dataset: CocoDataset;
  readonly anns = new Map<number, CocoAnnotation>();
  readonly imgs = new Map<number, CocoImage>();
  readonly cats = new Map<number, CocoCategory>();
  readonly imgToAnns = new Map<number, CocoAnnotation[]>();
  readonly catToImgs = new Map<number, number[]>();

  constructor(dataset: CocoDataset) {
    this.dataset = dataset;
    this.createIndex();
  }

  /** Loads an annotation file (instances_*.json, person_keypoints_*.json). */
  static fromFile(path: string): COCO {
    return new COCO(parseDataset(readJsonFile(path, 'annotation'), path));
  }

  private createIndex(): void {
    for (const ann of this.dataset.annotations) {
      const list = this.imgToAnns.get(ann.image_id);
      if (list) list.push(ann);
      else this.imgToAnns.set(ann.image_id, [ann]);
      this.anns.set(ann.id, ann);
    }
    for (const img of this.dataset.images) this.imgs.set(img.id, img);
    for (const cat of this.dataset.categories) this.cats.set(cat.id, cat);
    for (const ann of this.dataset.annotations) {
      const list = this.catToImgs.get(ann.category_id);
      if (list) list.push(ann.image_id);
      else this.catToImgs.set(ann.category_id, [ann.image_id]);
    }
  }

  /** Annotation ids passing every given filter; areaRng is exclusive at both ends. */
  getAnnIds(filter: AnnIdFilter = {}): number[] {
    const imgIds = asList(filter.imgIds);
    const catIds = asList(filter.catIds);
    const areaRng: readonly number[] = filter.areaRng ?? [];
    let anns: readonly CocoAnnotation[];
    if (imgIds.length === 0 && catIds.length === 0 && areaRng.length === 0) {
      anns = this.dataset.annotations;
    } else {
      anns = imgIds.length === 0 ? this.dataset.annotations : imgIds.flatMap((id) => this.imgToAnns.get(id) ?? []);
      if (catIds.length > 0) {
        const cats = new Set(catIds);
        anns = anns.filter((a) => cats.has(a.category_id));
      }
      if (areaRng.length > 0) {
        const [lo, hi] = areaRng as [number, number];
        anns = anns.filter((a) => (a.area as number) > lo && (a.area as number) < hi);
      }
    }
    const crowd = filter.iscrowd;
    if (crowd !== undefined && crowd !== null) anns = anns.filter((a) => Boolean(a.iscrowd) === crowd);
    return anns.map((a) => a.id);
  }

  /** Category ids, in file order, passing every given filter. */
  getCatIds(filter: CatIdFilter = {}): number[] {
    const catNms = asList(filter.catNms);
    const supNms = asList(filter.supNms);
    const catIds = asList(filter.catIds);
    let cats: readonly CocoCategory[] = this.dataset.categories;
    if (catNms.length > 0) cats = cats.filter((c) => catNms.includes(c.name));
    if (supNms.length > 0) cats = cats.filter((c) => c.supercategory !== undefined && supNms.includes(c.supercategory));
    if (catIds.length > 0) cats = cats.filter((c) => catIds.includes(c.id));
    return cats.map((c) => c.id);
  }

  /**
   * Image ids: all (file order), or those given that contain every given category. pycocotools
   * returns a set here, so its order is unspecified; ours is first-seen order.
   */
  getImgIds(filter: ImgIdFilter = {}): number[] {
    const imgIds = asList(filter.imgIds);
    const catIds = asList(filter.catIds);
    if (imgIds.length === 0 && catIds.length === 0) return [...this.imgs.keys()];
    let ids = new Set(imgIds);
    catIds.forEach((catId, i) => {
      const withCat = this.catToImgs.get(catId) ?? [];
      if (i === 0 && ids.size === 0) ids = new Set(withCat);
      else {
        const keep = new Set(withCat);
        ids = new Set([...ids].filter((id) => keep.has(id)));
      }
    });
    return [...ids];
  }

  loadAnns(ids: readonly number[]): CocoAnnotation[] {
    return ids.map((id) => lookup(this.anns, id, 'annotation'));
  }

  loadCats(ids: readonly number[]): CocoCategory[] {
    return ids.map((id) => lookup(this.cats, id, 'category'));
  }

  loadImgs(ids: readonly number[]): CocoImage[] {
    return ids.map((id) => lookup(this.imgs, id, 'image'));
  }

  /** The annotation's segmentation as uncompressed counts (polygons merged into one mask). */
  annToRle(ann: CocoAnnotation): Rle {
    const img = this.imgs.get(ann.image_id);
    if (img === undefined) throw new Error(`annotation ${ann.id}: image_id ${ann.image_id} is not in the dataset`);
    try {
      return segmentationToRle(ann.segmentation, img.height, img.width);
    } catch (err) {
      throw new Error(`annotation ${ann.id} (image ${ann.image_id}): segmentation: ${(err as Error).message}`);
    }
  }

  /** pycocotools' annToRLE: the compressed RLE of the annotation's segmentation. */
  annToRLE(ann: CocoAnnotation): CompressedRle {
    return toCompressed(this.annToRle(ann));
  }

  /** pycocotools' annToMask, as a row-major height×width mask of 0/1. */
  annToMask(ann: CocoAnnotation): Uint8Array {
    return rleDecodeRowMajor(this.annToRle(ann));
  }

  /**
   * pycocotools' loadRes: a COCO object holding the results (a parsed JSON array, or the path of
   * a results file) over this ground truth's images and categories. Every entry is checked;
   * the first bad one is refused with its index and value.
   */
  loadRes(results: unknown): COCO {
    const source = typeof results === 'string' ? results : 'results';
    const anns = typeof results === 'string' ? readJsonFile(results, 'results') : results;
    const prepared = prepareResults(this, anns, source);
    return new COCO({
      images: [...this.dataset.images],
      categories: this.dataset.categories.map((c) => ({ ...c })),
      annotations: prepared,
    });
  }
}

function lookup<T>(map: Map<number, T>, id: number, what: string): T {
  const v = map.get(id);
  if (v === undefined) throw new Error(`no ${what} with id ${id}`);
  return v;
}

/**
 * annToRLE's conversion, through frPyObjects' dispatch: a polygon list is rasterised and merged
 * (pycocotools fails on a list whose first polygon has exactly 4 numbers, which frPyObjects takes
 * for boxes: refused here), an uncompressed RLE is compressed with its own size, a compressed RLE
 * is decoded. RLE sizes must match the image.
 */
export function segmentationToRle(segm: unknown, height: number, width: number): Rle {
  if (Array.isArray(segm)) {
    if (segm.length === 0) throw new Error('empty polygon list');
    segm.forEach((poly, i) => checkPolygon(poly, i));
    if ((segm[0] as number[]).length === 4) {
      throw new Error('first polygon has 4 numbers, which pycocotools reads as a box; a polygon needs at least 6');
    }
    return rleMerge((segm as number[][]).map((p) => rleFrPoly(p, height, width)));
  }
  if (!isObject(segm) || !('counts' in segm) || !('size' in segm)) {
    throw new Error(`expected polygons or an RLE {size, counts}, got ${describe(segm)}`);
  }
  const size = segm.size;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== height || size[1] !== width) {
    throw new Error(`RLE size ${describe(size)} does not match the image's [${height}, ${width}]`);
  }
  if (Array.isArray(segm.counts)) return rleFrUncompressed(segm as unknown as UncompressedRle);
  if (typeof segm.counts !== 'string') throw new Error(`RLE counts must be a string or a list, got ${describe(segm.counts)}`);
  return rleFrString(segm.counts, height, width);
}

function checkPolygon(poly: unknown, i: number): void {
  if (!Array.isArray(poly) || poly.length < 2) throw new Error(`polygon ${i} must be a list of x, y numbers, got ${describe(poly)}`);
  poly.forEach((v, j) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`polygon ${i} coordinate ${j} is not a finite number: ${describe(v)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// loadRes: results checking and completion.

/** Which of pycocotools' loadRes branches applies, decided by the first entry as it does. */
function resultKind(first: Record<string, unknown>): IouType {
  if ('caption' in first) throw new Error('results: caption results are not supported');
  if ('bbox' in first && !(Array.isArray(first.bbox) && first.bbox.length === 0)) return 'bbox';
  if ('segmentation' in first) return 'segm';
  if ('keypoints' in first) return 'keypoints';
  throw new Error(`results entry 0 has none of "bbox", "segmentation", "keypoints": ${describe(first)}`);
}

function prepareResults(gt: COCO, anns: unknown, source: string): CocoAnnotation[] {
  if (!Array.isArray(anns)) throw new Error(`${source}: results must be a JSON array of objects, got ${describe(anns)}`);
  if (anns.length === 0) throw new Error(`${source}: results hold no entries`);
  anns.forEach((a, i) => {
    if (!isObject(a)) throw new Error(`${source}: results entry ${i} must be an object, got ${describe(a)}`);
  });
  const entries = anns as Record<string, unknown>[];
  const kind = resultKind(entries[0]);
  return entries.map((entry, i) => {
    const where = `${source}: results entry ${i}`;
    const common = checkCommon(gt, entry, where);
    const ann: CocoAnnotation = { ...(entry as object), ...common, id: i + 1 } as CocoAnnotation;
    const img = gt.imgs.get(common.image_id) as CocoImage;
    if (kind === 'bbox') completeBbox(ann, entry, img, where);
    else if (kind === 'segm') completeSegm(ann, entry, img, where);
    else completeKeypoints(ann, entry, gt.cats.get(common.category_id) as CocoCategory, where);
    return ann;
  });
}

function checkCommon(gt: COCO, entry: Record<string, unknown>, where: string): { image_id: number; category_id: number; score: number } {
  const imageId = entry.image_id;
  if (typeof imageId !== 'number' || !gt.imgs.has(imageId)) {
    throw new Error(`${where}: image_id ${describe(imageId)} is not an image of the ground truth`);
  }
  const catId = entry.category_id;
  if (typeof catId !== 'number' || !gt.cats.has(catId)) {
    throw new Error(`${where}: category_id ${describe(catId)} is not a category of the ground truth`);
  }
  const score = entry.score;
  if (typeof score !== 'number' || !Number.isFinite(score)) {
    throw new Error(`${where}: score must be a finite number, got ${describe(score)}`);
  }
  return { image_id: imageId, category_id: catId, score };
}

function checkBox(v: unknown, where: string): number[] {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${where}: bbox must be 4 finite numbers [x, y, w, h], got ${describe(v)}`);
  }
  // A negative width or height is kept, as pycocotools keeps it: Detectron's RetinaNet can emit
  // such boxes (x2 slightly left of x1 after the division by im_scale) and evaluates them.
  return v as number[];
}

function checkResultSegm(v: unknown, img: CocoImage, where: string): Rle {
  try {
    return segmentationToRle(v, img.height, img.width);
  } catch (err) {
    throw new Error(`${where} (image_id ${img.id}): segmentation: ${(err as Error).message}`);
  }
}

/** Box results: area w*h, iscrowd 0, and (if absent) the box's polygon as segmentation. */
function completeBbox(ann: CocoAnnotation, entry: Record<string, unknown>, img: CocoImage, where: string): void {
  const bb = checkBox(entry.bbox, where);
  if ('segmentation' in entry) checkResultSegm(entry.segmentation, img, where);
  else {
    const [x1, x2, y1, y2] = [bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]];
    ann.segmentation = [[x1, y1, x1, y2, x2, y2, x2, y1]];
  }
  ann.area = bb[2] * bb[3];
  ann.iscrowd = 0;
}

/** Mask results (compressed RLE only, as pycocotools): area and (if absent) box from the mask. */
function completeSegm(ann: CocoAnnotation, entry: Record<string, unknown>, img: CocoImage, where: string): void {
  const segm = entry.segmentation;
  if (!isObject(segm) || typeof segm.counts !== 'string') {
    throw new Error(`${where}: segmentation must be a compressed RLE {size, counts: string}, got ${describe(segm)}`);
  }
  const rle = checkResultSegm(segm, img, where);
  ann.area = rleArea(rle);
  if ('bbox' in entry) checkBox(entry.bbox, where);
  else ann.bbox = rleToBbox(rle);
  ann.iscrowd = 0;
}

/** Keypoint results: box and area from the keypoints' extent (pycocotools sets no iscrowd). */
function completeKeypoints(ann: CocoAnnotation, entry: Record<string, unknown>, cat: CocoCategory, where: string): void {
  const kps = entry.keypoints;
  if (!Array.isArray(kps) || kps.length === 0 || kps.length % 3 !== 0 || !kps.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new Error(`${where}: keypoints must be a non-empty list of finite x, y, v triples, got ${describe(kps)}`);
  }
  if (Array.isArray(cat.keypoints) && kps.length !== 3 * cat.keypoints.length) {
    throw new Error(
      `${where}: keypoints has ${kps.length} numbers but category ${cat.id} has ${cat.keypoints.length} keypoints (expected ${3 * cat.keypoints.length})`,
    );
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let j = 0; j < kps.length; j += 3) {
    x0 = Math.min(x0, kps[j]);
    x1 = Math.max(x1, kps[j]);
    y0 = Math.min(y0, kps[j + 1]);
    y1 = Math.max(y1, kps[j + 1]);
  }
  ann.area = (x1 - x0) * (y1 - y0);
  ann.bbox = [x0, y0, x1 - x0, y1 - y0];
}
