/**
 * Detectron's JsonDataset (detectron/datasets/json_dataset.py): a COCO-format dataset
 * (instances, person_keypoints, image_info) with Detectron's contiguous class ids, and its roidb:
 * one entry per image with the ground truth (and optionally precomputed proposals) in exactly
 * Detectron's fields, dtypes and filtering rules.
 *
 * Annotation files are read streaming (stream_json.ts), so files of any size load:
 *
 *   const ds = await JsonDataset.load('coco_2017_train');
 *   const roidb = ds.getRoidb({ gt: true, crowdFilterThresh: cfg.TRAIN.CROWD_FILTER_THRESH, gtMinArea: cfg.TRAIN.GT_MIN_AREA });
 *
 * Roidb fields keep Detectron's names (snake_case) and numpy dtypes, as row-major typed arrays:
 *   boxes float32 N×4 (x1, y1, x2, y2), gt_classes int32 N, seg_areas float32 N, is_crowd bool
 *   (Uint8Array 0/1) N, box_to_gt_ind_map int32 N, max_overlaps float32 N, max_classes N (int64 in
 *   Detectron, Int32Array here), gt_keypoints int32 N×3×K (keypoint datasets only), gt_overlaps
 *   see GtOverlaps.
 * Differences: image fields other than id/width/height (coco_url, ...) are not copied into the
 * entries; polygons with fewer than 6 numbers are dropped from the entry's segms without
 * modifying the annotation in the COCO index (Detectron edits the annotation in place).
 */
import * as fs from 'fs';
import * as path from 'path';
import { blobToNdArray } from '../../converters/pkl/blob_values';
import { ByteReader } from '../../converters/pkl/byte_reader';
import { describe as describePy, type PyValue } from '../../converters/pkl/python_objects';
import { unpickle } from '../../converters/pkl/unpickler';
import type { NdArray } from '../utils/ndarray';
import { bboxOverlaps, filterSmallBoxes, uniqueBoxes, xyxyToXywh, type FloatArray } from '../utils/boxes';
import { isPoly, type Segm } from '../utils/segms';
import { COCO_KEYPOINT_FLIP_MAP } from '../utils/keypoints';
import { checkDatasetFiles, resolveDataset, type DatasetSource, type DatasetSpec } from './dataset_catalog';
import { bbIou } from './pycocotools/mask';
import { COCO, type CocoAnnotation, type CocoCategory, type CocoDataset, type CocoImage } from './pycocotools/coco';
import { streamJsonObjectFile, type StreamJsonOptions } from './stream_json';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// gt_overlaps

/**
 * Detectron's `gt_overlaps`: a rows × numClasses float32 scipy csr_matrix. Every row Detectron
 * builds is one of: all zeros (a proposal touching no gt box); a single non-zero column (a gt
 * box: 1.0 at its class; a proposal: its best IoU at the class of that gt box); or -1 in every
 * column (a crowd gt box, or a proposal removed by the crowd filter). So it is stored as one
 * (column, value) pair per row: `cls[i]` is the column of row i's value, or -1 when every
 * column of the row holds `value[i]`; an all-zero row is (0, 0).
 */
export class GtOverlaps {
  constructor(
    readonly numClasses: number,
    readonly cls: Int32Array,
    readonly value: Float32Array,
  ) {
    if (cls.length !== value.length) throw new Error(`GtOverlaps: ${cls.length} columns but ${value.length} values`);
  }

  static empty(numClasses: number): GtOverlaps {
    return new GtOverlaps(numClasses, new Int32Array(0), new Float32Array(0));
  }

  get rows(): number {
    return this.cls.length;
  }

  /** The value at (row, column), as `gt_overlaps[i, j]`. */
  get(i: number, j: number): number {
    if (!(i >= 0 && i < this.rows && j >= 0 && j < this.numClasses)) {
      throw new RangeError(`GtOverlaps: index (${i}, ${j}) outside ${this.rows}×${this.numClasses}`);
    }
    const c = this.cls[i];
    return c < 0 || c === j ? this.value[i] : 0;
  }

  /** `gt_overlaps.toarray()`: the dense rows × numClasses float32 matrix. */
  toDense(): Float32Array {
    const out = new Float32Array(this.rows * this.numClasses);
    for (let i = 0; i < this.rows; i++) {
      const c = this.cls[i];
      if (c < 0) out.fill(this.value[i], i * this.numClasses, (i + 1) * this.numClasses);
      else out[i * this.numClasses + c] = this.value[i];
    }
    return out;
  }

  /** Row-wise max and argmax (first maximum), as `toarray().max(axis=1)` / `.argmax(axis=1)`. */
  rowMax(): { max: Float32Array; argmax: Int32Array } {
    const n = this.rows;
    const max = new Float32Array(n);
    const argmax = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = this.cls[i];
      const v = this.value[i];
      if (c < 0 || this.numClasses === 1) {
        max[i] = v;
        argmax[i] = 0;
      } else if (v > 0) {
        max[i] = v;
        argmax[i] = c;
      } else if (v === 0 || c !== 0) {
        // zeros elsewhere: the first zero column wins
        max[i] = 0;
        argmax[i] = c === 0 && v < 0 ? 1 : 0;
      } else {
        max[i] = 0;
        argmax[i] = 1;
      }
    }
    return { max, argmax };
  }

  /** Rows of `this` then rows of `other` (np.append(..., axis=0)). */
  concat(other: GtOverlaps): GtOverlaps {
    if (other.numClasses !== this.numClasses) throw new Error(`GtOverlaps: cannot append ${other.numClasses} columns to ${this.numClasses}`);
    const cls = new Int32Array(this.rows + other.rows);
    cls.set(this.cls);
    cls.set(other.cls, this.rows);
    const value = new Float32Array(this.rows + other.rows);
    value.set(this.value);
    value.set(other.value, this.rows);
    return new GtOverlaps(this.numClasses, cls, value);
  }
}

// ---------------------------------------------------------------------------------------------
// roidb entries

/** One roidb entry: an image and its boxes, as Detectron's roidb dicts. */
export interface RoidbEntry {
  id: number;
  /** Image path: image folder / (prefix + file_name). */
  image: string;
  width: number;
  height: number;
  flipped: boolean;
  has_visible_keypoints: boolean;
  /** N×4 float32, x1 y1 x2 y2 (inclusive pixel coordinates: width = x2 - x1 + 1). */
  boxes: Float32Array;
  /** One segmentation per gt box (polygon lists, or RLE objects as in the file). */
  segms: Segm[];
  gt_classes: Int32Array;
  seg_areas: Float32Array;
  gt_overlaps: GtOverlaps;
  /** bool, 0/1. */
  is_crowd: Uint8Array;
  /** For each box, the index of its gt box (-1 for proposals touching none). */
  box_to_gt_ind_map: Int32Array;
  max_classes: Int32Array;
  max_overlaps: Float32Array;
  /** N×3×K int32: rows x, y, visibility (keypoint datasets only). */
  gt_keypoints?: Int32Array;
  /** N×5 float32 (class, tx, ty, tw, th), added by roidb.addBboxRegressionTargets. */
  bbox_targets?: Float32Array;
  /** The dataset the entry comes from. */
  dataset: JsonDataset;
}

export interface GetRoidbOptions {
  /** Include the ground-truth annotations (Detectron's default: false). */
  gt?: boolean;
  /** A Detectron proposals pickle ({'boxes': [...], 'scores': [...], 'ids' or 'indexes': [...]}). */
  proposalFile?: string | null;
  /** Proposals with width or height (+1) <= this are dropped (default 2). */
  minProposalSize?: number;
  /** Keep at most this many proposals per image after de-duplication (-1: all). */
  proposalLimit?: number;
  /** Proposals whose overlap with a crowd box exceeds this get overlap -1 (0: off; requires gt). */
  crowdFilterThresh?: number;
  /** cfg.TRAIN.GT_MIN_AREA: annotations with a smaller `area` are skipped (default -1). */
  gtMinArea?: number;
  /** Check that every image file exists, as Detectron asserts (default true). */
  checkImages?: boolean;
}

/** Options of JsonDataset.load. */
export interface LoadDatasetOptions extends StreamJsonOptions {
  /** The data folder catalog paths are relative to (default: $DETECTRON_DATA_DIR or data/). */
  dataDir?: string;
}


export class JsonDataset {
  readonly name: string;
  readonly imageDirectory: string;
  readonly imagePrefix: string;
  readonly annotationFile: string;
  readonly COCO: COCO;
  /** Category name → json category id (a later duplicate name wins, as in Detectron's dict). */
  readonly categoryToIdMap: Map<string, number>;
  /** '__background__' then the category names in file order. */
  readonly classes: string[];
  readonly numClasses: number;
  /** json category id → contiguous id 1..C, in the file's category order (0 is background). */
  readonly jsonCategoryIdToContiguousId: Map<number, number>;
  readonly contiguousCategoryIdToJsonId: Map<number, number>;
  /** Keypoint names of the 'person' category, or null when the dataset has no keypoints. */
  readonly keypoints: string[] | null = null;
  readonly keypointFlipMap: Readonly<Record<string, string>> | null = null;
  readonly keypointsToIdMap: Map<string, number> | null = null;
  readonly numKeypoints: number = 0;

  /**
   * A dataset over an already loaded COCO index. Use JsonDataset.load to read a catalog
   * dataset or an annotation file (it checks the files exist first).
   */
  constructor(source: DatasetSource, coco: COCO) {
    this.name = source.name;
    this.imageDirectory = source.imageDirectory;
    this.imagePrefix = source.imagePrefix;
    this.annotationFile = source.annotationFile;
    this.COCO = coco;
    const categoryIds = coco.getCatIds();
    const categories = coco.loadCats(categoryIds).map((c) => c.name);
    this.categoryToIdMap = new Map(categories.map((name, i) => [name, categoryIds[i]]));
    this.classes = ['__background__', ...categories];
    this.numClasses = this.classes.length;
    this.jsonCategoryIdToContiguousId = new Map(categoryIds.map((id, i) => [id, i + 1]));
    this.contiguousCategoryIdToJsonId = new Map([...this.jsonCategoryIdToContiguousId].map(([k, v]) => [v, k]));
    // _init_keypoints: thus far only the 'person' category has keypoints.
    const personId = this.categoryToIdMap.get('person');
    if (personId !== undefined) {
      const cat = coco.loadCats([personId])[0];
      if ('keypoints' in cat) {
        const kps = cat.keypoints;
        if (!Array.isArray(kps) || !kps.every((k) => typeof k === 'string')) {
          throw new Error(`${this.annotationFile}: category 'person' has "keypoints" that is not a list of names`);
        }
        this.keypoints = [...kps];
        this.keypointsToIdMap = new Map(kps.map((k, i) => [k, i]));
        this.numKeypoints = kps.length;
        this.keypointFlipMap = COCO_KEYPOINT_FLIP_MAP;
      }
    }
  }

  /**
   * Loads a catalog dataset (by name) or one's own (annotation file + image folder), streaming
   * the annotation file. Missing files are an error naming the path and what belongs there.
   */
  static async load(nameOrSpec: string | DatasetSpec, options: LoadDatasetOptions = {}): Promise<JsonDataset> {
    const source = resolveDataset(nameOrSpec, options.dataDir);
    checkDatasetFiles(source);
    const coco = await loadCocoAnnotations(source.annotationFile, options);
    return new JsonDataset(source, coco);
  }

  /**
   * get_roidb: one entry per image, in ascending image id order, optionally with the ground
   * truth (`gt`) and proposals from a file; then the class assignments (max_classes,
   * max_overlaps).
   */
  getRoidb(options: GetRoidbOptions = {}): RoidbEntry[] {
    const gt = options.gt ?? false;
    const crowdFilterThresh = options.crowdFilterThresh ?? 0;
    if (!gt && crowdFilterThresh !== 0) {
      throw new Error('Crowd filter threshold must be 0 if ground-truth annotations are not included.');
    }
    const imageIds = this.COCO.getImgIds().sort((a, b) => a - b);
    const checkImages = options.checkImages ?? true;
    const roidb = this.COCO.loadImgs(imageIds).map((img) => this.prepEntry(img, checkImages));
    if (gt) {
      const gtMinArea = options.gtMinArea ?? -1;
      for (const entry of roidb) this.addGtAnnotations(entry, gtMinArea);
    }
    if (options.proposalFile !== undefined && options.proposalFile !== null) {
      this.addProposalsFromFile(
        roidb,
        options.proposalFile,
        options.minProposalSize ?? 2,
        options.proposalLimit ?? -1,
        crowdFilterThresh,
      );
    }
    addClassAssignments(roidb);
    return roidb;
  }

  /** _prep_roidb_entry: the image's metadata and empty box fields. */
  private prepEntry(img: CocoImage, checkImages: boolean): RoidbEntry {
    const fileName = img.file_name;
    if (typeof fileName !== 'string') {
      throw new Error(`${this.annotationFile}: image ${img.id} has no "file_name" string`);
    }
    const image = pyJoin(this.imageDirectory, this.imagePrefix + fileName);
    if (checkImages && !fs.existsSync(image)) {
      throw new Error(`dataset ${this.name}: image '${image}' not found (image id ${img.id} of ${this.annotationFile})`);
    }
    const entry: RoidbEntry = {
      id: img.id,
      image,
      width: img.width,
      height: img.height,
      flipped: false,
      has_visible_keypoints: false,
      boxes: new Float32Array(0),
      segms: [],
      gt_classes: new Int32Array(0),
      seg_areas: new Float32Array(0),
      gt_overlaps: GtOverlaps.empty(this.numClasses),
      is_crowd: new Uint8Array(0),
      box_to_gt_ind_map: new Int32Array(0),
      max_classes: new Int32Array(0),
      max_overlaps: new Float32Array(0),
      dataset: this,
    };
    if (this.keypoints !== null) entry.gt_keypoints = new Int32Array(0);
    return entry;
  }

  /** _add_gt_annotations: the image's valid annotations as gt boxes. */
  private addGtAnnotations(entry: RoidbEntry, gtMinArea: number): void {
    const objs = this.COCO.imgToAnns.get(entry.id) ?? [];
    const { width, height } = entry;
    const valid: Array<{ obj: CocoAnnotation; box: [number, number, number, number]; segm: Segm }> = [];
    const fail: (obj: CocoAnnotation, what: string) => never = (obj, what) => {
      throw new Error(`${this.annotationFile}: annotation ${obj.id} (image ${entry.id}): ${what}`);
    };
    for (const obj of objs) {
      let segm = obj.segmentation as Segm | undefined;
      if (segm === undefined || segm === null || typeof segm !== 'object') {
        fail(obj, `"segmentation" must be polygons or an RLE object, got ${JSON.stringify(segm)}`);
      }
      // Valid polygons have >= 3 points, so require >= 6 coordinates.
      if (isPoly(segm)) segm = segm.filter((p) => p.length >= 6);
      const area = obj.area;
      if (typeof area !== 'number') fail(obj, `"area" must be a number, got ${JSON.stringify(area)}`);
      if (area < gtMinArea) continue;
      if ('ignore' in obj && (obj.ignore === 1 || obj.ignore === true)) continue;
      const bbox = obj.bbox;
      if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number')) {
        fail(obj, `"bbox" must be 4 numbers [x, y, w, h], got ${JSON.stringify(bbox)}`);
      }
      // xywh_to_xyxy then clip_xyxy_to_image, in double precision as Detectron's Python floats.
      const x1 = clampTo(bbox[0], width - 1);
      const y1 = clampTo(bbox[1], height - 1);
      const x2 = clampTo(bbox[0] + Math.max(0, bbox[2] - 1), width - 1);
      const y2 = clampTo(bbox[1] + Math.max(0, bbox[3] - 1), height - 1);
      // Require non-zero seg area and more than 1x1 box size.
      if (area > 0 && x2 > x1 && y2 > y1) valid.push({ obj, box: [x1, y1, x2, y2], segm });
    }
    const n = valid.length;
    const boxes = new Float32Array(4 * n);
    const gtClasses = new Int32Array(n);
    const segAreas = new Float32Array(n);
    const isCrowd = new Uint8Array(n);
    const boxToGt = new Int32Array(n);
    const ovCls = new Int32Array(n);
    const ovVal = new Float32Array(n);
    const k = this.numKeypoints;
    const keypoints = this.keypoints !== null ? new Int32Array(n * 3 * k) : null;
    let hasVisibleKeypoints = false;
    valid.forEach(({ obj, box }, ix) => {
      const cls = this.jsonCategoryIdToContiguousId.get(obj.category_id);
      if (cls === undefined) {
        throw new Error(`${this.annotationFile}: annotation ${obj.id} has category_id ${obj.category_id}, which is not among the file's categories`);
      }
      boxes.set(box, 4 * ix);
      gtClasses[ix] = cls;
      segAreas[ix] = obj.area as number;
      if (!('iscrowd' in obj)) throw new Error(`${this.annotationFile}: annotation ${obj.id} has no "iscrowd"`);
      const crowd = Boolean(obj.iscrowd);
      isCrowd[ix] = crowd ? 1 : 0;
      boxToGt[ix] = ix;
      if (keypoints !== null) {
        this.getGtKeypoints(obj, keypoints, ix * 3 * k);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += keypoints[ix * 3 * k + 2 * k + j];
        if (sum > 0) hasVisibleKeypoints = true;
      }
      // Crowd boxes get overlap -1 with every class, so that training excludes them.
      if (crowd) {
        ovCls[ix] = -1;
        ovVal[ix] = -1;
      } else {
        ovCls[ix] = cls;
        ovVal[ix] = 1;
      }
    });
    entry.boxes = concatF32(entry.boxes, boxes);
    entry.segms = entry.segms.concat(valid.map((v) => v.segm));
    entry.gt_classes = concatI32(entry.gt_classes, gtClasses);
    entry.seg_areas = concatF32(entry.seg_areas, segAreas);
    entry.gt_overlaps = entry.gt_overlaps.concat(new GtOverlaps(this.numClasses, ovCls, ovVal));
    entry.is_crowd = concatU8(entry.is_crowd, isCrowd);
    entry.box_to_gt_ind_map = concatI32(entry.box_to_gt_ind_map, boxToGt);
    if (keypoints !== null) {
      entry.gt_keypoints = concatI32(entry.gt_keypoints ?? new Int32Array(0), keypoints);
      entry.has_visible_keypoints = hasVisibleKeypoints;
    }
  }

  /** _get_gt_keypoints: x, y, visibility rows (int32, truncated toward zero) into `out` at `at`. */
  private getGtKeypoints(obj: CocoAnnotation, out: Int32Array, at: number): void {
    const kp = obj.keypoints;
    if (kp === undefined) {
      throw new Error(`${this.annotationFile}: annotation ${obj.id} has no "keypoints" in a keypoint dataset`);
    }
    const k = this.numKeypoints;
    if (!Array.isArray(kp) || kp.length !== 3 * k || !kp.every((v) => typeof v === 'number')) {
      throw new Error(`${this.annotationFile}: annotation ${obj.id}: "keypoints" must be ${3 * k} numbers (${k} x, y, v triples)`);
    }
    for (let i = 0; i < k; i++) {
      out[at + i] = kp[3 * i];
      out[at + k + i] = kp[3 * i + 1];
      out[at + 2 * k + i] = kp[3 * i + 2];
    }
  }

  /** _add_proposals_from_file. */
  private addProposalsFromFile(roidb: RoidbEntry[], file: string, minProposalSize: number, topK: number, crowdThresh: number): void {
    const proposals = readProposalFile(file);
    // _remove_proposals_not_in_roidb, then _sort_proposals (by id).
    const roidbIds = new Set(roidb.map((e) => e.id));
    const order = proposals.ids.map((id, i) => i).filter((i) => roidbIds.has(proposals.ids[i]));
    order.sort((a, b) => proposals.ids[a] - proposals.ids[b]);
    if (order.length !== roidb.length) {
      const have = new Set(order.map((i) => proposals.ids[i]));
      const missing = roidb.find((e) => !have.has(e.id));
      throw new Error(
        `${file}: ${order.length} proposal entries match the ${roidb.length} images of ${this.name}` +
          (missing !== undefined ? `; none for image id ${missing.id}` : '; some image ids appear more than once'),
      );
    }
    const boxList: Float32Array[] = roidb.map((entry, i) => {
      const j = order[i];
      if (proposals.ids[j] !== entry.id) {
        throw new Error(`${file}: proposals ${proposals.idField}[${j}] = ${proposals.ids[j]} where image id ${entry.id} was expected`);
      }
      let boxes = clipBoxesLikeDetectron(proposals.boxes[j], entry.height, entry.width);
      boxes = takeRows(boxes, uniqueBoxes(boxes));
      boxes = takeRows(boxes, filterSmallBoxes(boxes, minProposalSize));
      if (topK > 0) boxes = boxes.slice(0, 4 * topK) as FloatArray;
      return boxes instanceof Float32Array ? boxes : Float32Array.from(boxes);
    });
    mergeProposalBoxesIntoRoidb(roidb, boxList);
    if (crowdThresh > 0) filterCrowdProposals(roidb, crowdThresh);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * A COCO index over an annotation file, read streaming: images, annotations and categories are
 * parsed one element at a time and checked as they arrive (an error names the file, the line
 * and column, and the element).
 */
export async function loadCocoAnnotations(file: string, options: StreamJsonOptions = {}): Promise<COCO> {
  const lists: Record<'images' | 'annotations' | 'categories', unknown[]> = { images: [], annotations: [], categories: [] };
  const rest: Record<string, unknown> = {};
  await streamJsonObjectFile(
    file,
    {
      member(key) {
        if (key === 'images' || key === 'annotations' || key === 'categories') {
          lists[key] = []; // a repeated key replaces the earlier one, as in JSON.parse
          return 'stream';
        }
        return 'value';
      },
      item(key, value, index) {
        if (key === 'images') lists.images.push(checkImage(value, index));
        else if (key === 'annotations') lists.annotations.push(checkAnnotation(value, index));
        else if (key === 'categories') lists.categories.push(checkCategory(value, index));
      },
      value(key, value) {
        if (key === 'images' || key === 'annotations' || key === 'categories') {
          throw new Error(`"${key}" must be an array, got ${JSON.stringify(value)?.slice(0, 80)}`);
        }
        Object.defineProperty(rest, key, { value, writable: true, enumerable: true, configurable: true });
      },
    },
    options,
  );
  const dataset = {
    ...rest,
    images: lists.images as CocoImage[],
    annotations: lists.annotations as CocoAnnotation[],
    categories: lists.categories as CocoCategory[],
  } as CocoDataset;
  return new COCO(dataset);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function needNumber(obj: Record<string, unknown>, key: string, what: string): void {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what}: "${key}" must be a finite number, got ${JSON.stringify(v)}`);
}

function checkImage(v: unknown, i: number): CocoImage {
  const what = `images[${i}]`;
  if (!isObject(v)) throw new Error(`${what} must be an object`);
  needNumber(v, 'id', what);
  for (const key of ['height', 'width']) {
    needNumber(v, key, what);
    const n = v[key] as number;
    if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: "${key}" must be a non-negative integer, got ${n}`);
  }
  return v as CocoImage;
}

function checkAnnotation(v: unknown, i: number): CocoAnnotation {
  const what = `annotations[${i}]`;
  if (!isObject(v)) throw new Error(`${what} must be an object`);
  for (const key of ['id', 'image_id', 'category_id']) needNumber(v, key, what);
  return v as CocoAnnotation;
}

function checkCategory(v: unknown, i: number): CocoCategory {
  const what = `categories[${i}]`;
  if (!isObject(v)) throw new Error(`${what} must be an object`);
  needNumber(v, 'id', what);
  if (typeof v.name !== 'string') throw new Error(`${what}: "name" must be a string, got ${JSON.stringify(v.name)}`);
  return v as CocoCategory;
}

// ---------------------------------------------------------------------------------------------
// Proposals

export interface ProposalFileContents {
  /** Which key held the image ids: 'indexes' (older files) or 'ids'. */
  idField: 'ids' | 'indexes';
  ids: number[];
  /** Per image, K×4 boxes (x1, y1, x2, y2) in the file's float dtype. */
  boxes: FloatArray[];
  /** Per image, K scores (not used by the roidb, kept for callers). */
  scores: FloatArray[];
}

/**
 * Reads a Detectron proposals pickle (what tools/generate_proposals / test_net with RPN_ONLY
 * write): a dict with lists 'boxes' (K×4 arrays), 'scores' and 'ids' (or 'indexes').
 */
export function readProposalFile(file: string): ProposalFileContents {
  let top: PyValue;
  let reader: ByteReader;
  try {
    reader = ByteReader.openFile(file);
  } catch (err) {
    throw new Error(`cannot read proposal file ${file}: ${(err as Error).message}`);
  }
  try {
    top = unpickle(reader).value;
  } finally {
    reader.close();
  }
  if (!(top instanceof Map)) throw new Error(`${file}: a proposal file must hold a dict, got ${describePy(top)}`);
  const idField = top.has('indexes') ? 'indexes' : 'ids';
  const list = (key: string): PyValue[] => {
    const v = top instanceof Map ? top.get(key) : undefined;
    if (v === undefined) throw new Error(`${file}: the proposal dict has no '${key}' (keys: ${[...(top as Map<unknown, unknown>).keys()].join(', ')})`);
    if (!Array.isArray(v)) throw new Error(`${file}: proposals '${key}' must be a list, got ${describePy(v)}`);
    return v;
  };
  const idValues = list(idField);
  const boxValues = list('boxes');
  const scoreValues = list('scores');
  if (boxValues.length !== idValues.length || scoreValues.length !== idValues.length) {
    throw new Error(`${file}: ${idValues.length} ${idField} but ${boxValues.length} boxes and ${scoreValues.length} scores`);
  }
  const ids = idValues.map((v, i) => {
    const a = asArray(v, `${idField}[${i}]`, file);
    if (a.shape.length !== 0 || (a.dtype !== 'int64' && a.dtype !== 'int32')) throw new Error(`${file}: ${idField}[${i}] must be an integer`);
    return Number(a.data[0]);
  });
  const boxes = boxValues.map((v, i) => {
    const a = asArray(v, `boxes[${i}]`, file);
    const empty = a.shape.length === 1 && a.shape[0] === 0;
    if (!empty && (a.shape.length !== 2 || a.shape[1] !== 4)) {
      throw new Error(`${file}: boxes[${i}] must be a K×4 array, got shape (${a.shape.join(', ')})`);
    }
    if (a.dtype !== 'float32' && a.dtype !== 'float64') throw new Error(`${file}: boxes[${i}] must be float32 or float64, got ${a.dtype}`);
    return a.data as FloatArray;
  });
  const scores = scoreValues.map((v, i) => {
    const a = asArray(v, `scores[${i}]`, file);
    return (a.dtype === 'float32' || a.dtype === 'float64' ? a.data : Float64Array.from(a.data as ArrayLike<number>, Number)) as FloatArray;
  });
  return { idField, ids, boxes, scores };
}

function asArray(v: PyValue, what: string, file: string): NdArray {
  const a = blobToNdArray(v);
  if (typeof a === 'string') throw new Error(`${file}: proposals ${what} is ${a}; expected a numpy array or number`);
  return a;
}

/** clip_boxes_to_image: min(limit, max(0, v)) in the array's dtype (a copy). */
function clipBoxesLikeDetectron(boxes: FloatArray, height: number, width: number): FloatArray {
  const r = boxes instanceof Float32Array ? f32 : (x: number): number => x;
  const out = boxes.slice() as FloatArray;
  const xMax = r(width - 1);
  const yMax = r(height - 1);
  for (let i = 0; i < out.length; i++) out[i] = clampTo(out[i], i % 2 === 0 ? xMax : yMax);
  return out;
}

function takeRows(boxes: FloatArray, keep: Int32Array): FloatArray {
  const out = (boxes instanceof Float32Array ? new Float32Array(4 * keep.length) : new Float64Array(4 * keep.length)) as FloatArray;
  keep.forEach((k, i) => out.set(boxes.subarray(4 * k, 4 * k + 4), 4 * i));
  return out;
}

/**
 * _merge_proposal_boxes_into_roidb: appends each entry's proposals (K×4 float32) as non-gt boxes
 * with their best overlap with any gt box (crowd boxes included) recorded at that box's class.
 */
export function mergeProposalBoxesIntoRoidb(roidb: RoidbEntry[], boxList: readonly Float32Array[]): void {
  if (boxList.length !== roidb.length) throw new Error(`${boxList.length} proposal lists for ${roidb.length} roidb entries`);
  roidb.forEach((entry, e) => {
    const boxes = boxList[e];
    const num = boxes.length / 4;
    if (!Number.isInteger(num)) throw new Error(`proposals of entry ${e}: ${boxes.length} numbers are not K×4`);
    const numClasses = entry.gt_overlaps.numClasses;
    const ovCls = new Int32Array(num);
    const ovVal = new Float32Array(num);
    const boxToGt = new Int32Array(num).fill(-1);
    const gtInds: number[] = [];
    entry.gt_classes.forEach((c, i) => {
      if (c > 0) gtInds.push(i);
    });
    if (gtInds.length > 0) {
      const gtBoxes = new Float32Array(4 * gtInds.length);
      gtInds.forEach((g, i) => gtBoxes.set(entry.boxes.subarray(4 * g, 4 * g + 4), 4 * i));
      const overlaps = bboxOverlaps(boxes, gtBoxes);
      const g = gtInds.length;
      for (let i = 0; i < num; i++) {
        let best = 0;
        for (let j = 1; j < g; j++) if (overlaps[i * g + j] > overlaps[i * g + best]) best = j;
        const max = overlaps[i * g + best];
        if (max > 0) {
          ovCls[i] = entry.gt_classes[gtInds[best]];
          ovVal[i] = max;
          boxToGt[i] = gtInds[best];
        }
      }
    }
    entry.boxes = concatF32(entry.boxes, boxes);
    entry.gt_classes = concatI32(entry.gt_classes, new Int32Array(num));
    entry.seg_areas = concatF32(entry.seg_areas, new Float32Array(num));
    entry.gt_overlaps = entry.gt_overlaps.concat(new GtOverlaps(numClasses, ovCls, ovVal));
    entry.is_crowd = concatU8(entry.is_crowd, new Uint8Array(num));
    entry.box_to_gt_ind_map = concatI32(entry.box_to_gt_ind_map, boxToGt);
  });
}

/**
 * _filter_crowd_proposals: proposals whose IoU with a crowd box (pycocotools' crowd IoU: the
 * intersection over the proposal's area) exceeds `crowdThresh` get overlap -1 with every class.
 */
export function filterCrowdProposals(roidb: RoidbEntry[], crowdThresh: number): void {
  for (const entry of roidb) {
    const crowdInds: number[] = [];
    const nonGtInds: number[] = [];
    entry.is_crowd.forEach((c, i) => {
      if (c === 1) crowdInds.push(i);
    });
    entry.gt_classes.forEach((c, i) => {
      if (c === 0) nonGtInds.push(i);
    });
    if (crowdInds.length === 0 || nonGtInds.length === 0) continue;
    const crowdBoxes = xyxyToXywh(rows(entry.boxes, crowdInds));
    const nonGtBoxes = xyxyToXywh(rows(entry.boxes, nonGtInds));
    const ious = bbIou(nonGtBoxes, crowdBoxes, new Uint8Array(crowdInds.length).fill(1));
    const cls = entry.gt_overlaps.cls.slice();
    const value = entry.gt_overlaps.value.slice();
    for (let d = 0; d < nonGtInds.length; d++) {
      let max = -Infinity;
      for (let g = 0; g < crowdInds.length; g++) max = Math.max(max, ious.data[d * crowdInds.length + g]);
      if (max > crowdThresh) {
        cls[nonGtInds[d]] = -1;
        value[nonGtInds[d]] = -1;
      }
    }
    entry.gt_overlaps = new GtOverlaps(entry.gt_overlaps.numClasses, cls, value);
  }
}

/**
 * _add_class_assignments: max_overlaps (best overlap over classes) and max_classes (its class)
 * for every box, with Detectron's sanity checks.
 */
export function addClassAssignments(roidb: RoidbEntry[]): void {
  for (const entry of roidb) {
    const { max, argmax } = entry.gt_overlaps.rowMax();
    entry.max_classes = argmax;
    entry.max_overlaps = max;
    for (let i = 0; i < max.length; i++) {
      // if max overlap is 0 the class must be background; if > 0 a foreground class
      if (max[i] === 0 && argmax[i] !== 0) throw new Error(`image ${entry.id}: box ${i} has overlap 0 but class ${argmax[i]}`);
      if (max[i] > 0 && argmax[i] === 0) throw new Error(`image ${entry.id}: box ${i} has overlap ${max[i]} with the background class`);
    }
  }
}

/**
 * add_proposals: appends proposals given as R×5 rois (batch index, x1, y1, x2, y2) at the
 * network's input scale to the entries (roi i of batch index b goes to roidb[b], divided by
 * scales[b]), then the crowd filter and the class assignments. Used by the training ops that
 * turn RPN proposals into Fast R-CNN targets.
 */
export function addProposals(roidb: RoidbEntry[], rois: Float32Array, scales: readonly number[], crowdThresh: number): void {
  if (rois.length % 5 !== 0) throw new Error(`addProposals: ${rois.length} numbers are not R×5 rois`);
  const boxList = roidb.map((_, i) => {
    const inv = f32(1 / scales[i]);
    const picked: number[] = [];
    for (let r = 0; r < rois.length; r += 5) {
      if (rois[r] === i) for (let c = 1; c < 5; c++) picked.push(f32(rois[r + c] * inv));
    }
    return Float32Array.from(picked);
  });
  mergeProposalBoxesIntoRoidb(roidb, boxList);
  if (crowdThresh > 0) filterCrowdProposals(roidb, crowdThresh);
  addClassAssignments(roidb);
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** np.minimum(hi, np.maximum(0, v)). */
function clampTo(v: number, hi: number): number {
  const lo = v < 0 ? 0 : v;
  return lo > hi ? hi : lo;
}

/** os.path.join(dir, name): an absolute name is taken as it is. */
function pyJoin(dir: string, name: string): string {
  if (path.isAbsolute(name)) return name;
  if (dir === '' || dir.endsWith('/')) return dir + name;
  return `${dir}/${name}`;
}

function rows(boxes: Float32Array, inds: readonly number[]): Float32Array {
  const out = new Float32Array(4 * inds.length);
  inds.forEach((k, i) => out.set(boxes.subarray(4 * k, 4 * k + 4), 4 * i));
  return out;
}

function concatF32(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length === 0) return b;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatI32(a: Int32Array, b: Int32Array): Int32Array {
  if (a.length === 0) return b;
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatU8(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
