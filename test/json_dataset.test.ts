/**
 * JsonDataset, its roidb, the streaming JSON reader and the dataset catalog.
 *
 * Expected roidb values come from Detectron's own detectron/datasets/json_dataset.py and
 * roidb.py, run unmodified (Python 3, numpy 2.4, scipy 1.17) on the same files, with numpy
 * stand-ins for the compiled cython_bbox.bbox_overlaps (same float32 C arithmetic) and
 * pycocotools' box IoU; float32 values are printed as the exact doubles numpy holds.
 * Every field of every entry of those runs was compared; a few are kept here as literals.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  contains,
  datasets,
  getAnnFn,
  getImDir,
  getImPrefix,
  registerDataset,
  unregisterDataset,
} from '../lib/datasets/dataset_catalog';
import { GtOverlaps, JsonDataset, addProposals, loadCocoAnnotations, readProposalFile } from '../lib/datasets/json_dataset';
import { decode, type CompressedRle } from '../lib/datasets/pycocotools/mask';
import { extendWithFlippedEntries } from '../lib/datasets/roidb';
import { JsonStreamError, parseJsonFile, streamJsonObjectFile } from '../lib/datasets/stream_json';
import { COCO_CATEGORY_IDS } from '../lib/datasets/coco_categories';
import { FIXTURES } from './helpers/fixtures';
import { writeEdgeDatasets, type EdgeDatasets } from './helpers/edge_datasets';

const COCO_DIR = path.join(FIXTURES, 'coco');
const INSTANCES = path.join(COCO_DIR, 'annotations', 'instances_mini.json');
const KEYPOINTS = path.join(COCO_DIR, 'annotations', 'person_keypoints_mini.json');

let fx: EdgeDatasets;
beforeAll(() => {
  fx = writeEdgeDatasets();
});
afterAll(() => {
  fs.rmSync(fx.dir, { recursive: true, force: true });
});

const arr = (a: ArrayLike<number>): number[] => Array.from(a);

describe('streaming JSON', () => {
  const files = [
    INSTANCES,
    KEYPOINTS,
    path.join(COCO_DIR, 'eval', 'instances_val2017_448263_gt.json'),
    path.join(COCO_DIR, 'eval', 'detections_139.json'),
  ];
  it.each(files)('equals JSON.parse on %s at any chunk size', async (file) => {
    const expected: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const chunkBytes of [1, 7, 4096, 1 << 22]) {
      expect(await parseJsonFile(file, { chunkBytes })).toEqual(expected);
    }
  });

  it('equals JSON.parse on tricky documents', async () => {
    const docs = [
      '{}', '[]', ' {"a" : [ 1 , "x\\"]," , {"b":[1,{"c":"}"}]}, [], null, -1.5e3, true ] , "b": {"c": 1}, "a": 3 } ',
      '"text"', '12', '{"__proto__": [1], "é": "ü\\u00e9", "x": []}', '{"images": [], "annotations": [[[]]]}',
    ];
    const file = path.join(fx.dir, 'doc.json');
    for (const doc of docs) {
      fs.writeFileSync(file, doc);
      for (const chunkBytes of [1, 3, 64]) expect(await parseJsonFile(file, { chunkBytes })).toEqual(JSON.parse(doc));
    }
  });

  it('names the file, line, column and element of a syntax error', async () => {
    const file = path.join(fx.dir, 'bad.json');
    fs.writeFileSync(file, '{"images": [{"id": 1, "width": 2, "height": 3}],\n "annotations": [\n  {"id": 1, "image_id": 1, "category_id": 1},\n  {"id": 2, "bbox": [1, 2,, 3]}\n ]}\n');
    const err = await loadCocoAnnotations(file, { chunkBytes: 16 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonStreamError);
    const e = err as JsonStreamError;
    expect([e.file, e.line, e.column, e.offset, e.where]).toEqual([file, 4, 27, 139, '"annotations"[1]']);
    expect(e.message).toBe(`${file}: invalid JSON at line 4, column 27 (byte 139), in "annotations"[1]: unexpected character ',', expected a value`);
  });

  it('reports truncated files, trailing data and structural errors', async () => {
    const file = path.join(fx.dir, 'bad2.json');
    const cases: Array<[string, RegExp]> = [
      ['{"images": [{"id": 1}', /line 1, column 22 \(byte 21\), in "images"\[0\]: unexpected end of file/],
      ['{"images": []} []', /column 16 .* unexpected character '\[', expected the end of the file/],
      ['{"images": [] "x": 1}', /column 15 .*unexpected character '"', expected ',' or '}'/],
      ['[1]', /unexpected character '\[', expected '\{' \(the file must hold a JSON object\)/],
      ['', /the file is empty/],
      ['{"a": {"b": tru}}', /in "a": unexpected character 't', expected a value/],
    ];
    for (const [text, re] of cases) {
      fs.writeFileSync(file, text);
      await expect(streamJsonObjectFile(file, {})).rejects.toThrow(re);
    }
  });

  it('names the element an annotation check fails on', async () => {
    const file = path.join(fx.dir, 'bad3.json');
    fs.writeFileSync(file, '{"images": [],\n"annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "category_id": 1}]}');
    await expect(loadCocoAnnotations(file)).rejects.toThrow(
      `${file}: line 2, column 61 (byte 75), "annotations"[1]: annotations[1]: "image_id" must be a finite number, got undefined`,
    );
  });
});

describe('JsonDataset on instances_mini.json', () => {
  let ds: JsonDataset;
  beforeAll(async () => {
    ds = await JsonDataset.load(fx.instancesMini);
  });

  it("has Detectron's classes and contiguous ids", () => {
    expect(ds.numClasses).toBe(81);
    expect(ds.classes.slice(0, 4)).toEqual(['__background__', 'person', 'bicycle', 'car']);
    expect([...ds.jsonCategoryIdToContiguousId.keys()]).toEqual(COCO_CATEGORY_IDS);
    expect([...ds.jsonCategoryIdToContiguousId.values()]).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    for (const [json, contiguous] of [[1, 1], [11, 11], [13, 12], [25, 24], [27, 25], [90, 80]]) {
      expect(ds.jsonCategoryIdToContiguousId.get(json)).toBe(contiguous);
      expect(ds.contiguousCategoryIdToJsonId.get(contiguous)).toBe(json);
    }
    expect(ds.keypoints).toBeNull();
    expect(ds.numKeypoints).toBe(0);
  });

  it('gives the roidb fields of Detectron', () => {
    const roidb = ds.getRoidb({ gt: true });
    expect(roidb.map((e) => e.id)).toEqual([785, 39769, 40083, 196141, 197388]);
    const e = roidb[0];
    expect(e.image).toBe(path.join(COCO_DIR, 'images', '000000000785.jpg'));
    expect([e.width, e.height, e.flipped, e.has_visible_keypoints]).toEqual([640, 425, false, false]);
    expect(e.boxes).toBeInstanceOf(Float32Array);
    expect(arr(e.boxes)).toEqual([280.7900085449219, 44.72999954223633, 498.489990234375, 390.4100036621094]);
    expect(arr(e.seg_areas)).toEqual([27789.111328125]);
    expect(e.segms[0] as number[][]).toHaveLength(1);
    expect((e.segms[0] as number[][])[0].slice(0, 8)).toEqual([353.37, 67.65, 358.15, 52.37, 362.92, 47.59, 374.38, 44.73]);
    expect(e.gt_keypoints).toBeUndefined();

    const c = roidb[1];
    expect(c.image).toBe(path.join(COCO_DIR, 'images', '000000039769.png'));
    expect(arr(c.boxes)).toEqual([
      332.8900146484375, 79.56999969482422, 370.5400085449219, 184.8800048828125, 41.880001068115234, 74.19999694824219,
      174.02999877929688, 118.30000305175781, 1.0800000429153442, 0, 638.6400146484375, 472.5299987792969, 1.0700000524520874,
      1.1799999475479126, 639, 478.0299987792969, 17.5, 54.380001068115234, 317.75, 468.3800048828125, 347.5, 25.6299991607666, 639,
      368.3800048828125,
    ]);
    expect(c.gt_classes).toBeInstanceOf(Int32Array);
    expect(arr(c.gt_classes)).toEqual([66, 66, 58, 60, 16, 16]);
    expect(arr(c.seg_areas)).toEqual([2120.9912109375, 4052.60693359375, 176277.546875, 301552.65625, 53301.6171875, 59700.95703125]);
    expect(arr(c.is_crowd)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(arr(c.box_to_gt_ind_map)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(arr(c.max_classes)).toEqual([66, 66, 58, 60, 16, 16]);
    expect(arr(c.max_overlaps)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(c.segms.map((s) => (s as number[][]).map((p) => p.length))).toEqual([[26], [22], [168], [8], [96], [96]]);
    const dense = c.gt_overlaps.toDense();
    expect(dense).toHaveLength(6 * 81);
    expect(arr(dense).flatMap((v, i) => (v !== 0 ? [[Math.floor(i / 81), i % 81, v]] : []))).toEqual([
      [0, 66, 1], [1, 66, 1], [2, 58, 1], [3, 60, 1], [4, 16, 1], [5, 16, 1],
    ]);
  });

  it('flips entries as Detectron', () => {
    const roidb = ds.getRoidb({ gt: true });
    extendWithFlippedEntries(roidb, ds);
    expect(roidb.map((e) => [e.id, e.flipped])).toEqual([
      [785, false], [39769, false], [40083, false], [196141, false], [197388, false],
      [785, true], [39769, true], [40083, true], [196141, true], [197388, true],
    ]);
    expect(arr(roidb[5].boxes)).toEqual([140.510009765625, 44.72999954223633, 358.2099914550781, 390.4100036621094]);
    expect((roidb[5].segms[0] as number[][])[0].slice(0, 8)).toEqual([285.63, 67.65, 280.85, 52.37, 276.08, 47.59, 264.62, 44.73]);
    expect(arr(roidb[6].boxes)).toEqual([
      268.4599914550781, 79.56999969482422, 306.1099853515625, 184.8800048828125, 464.9700012207031, 74.19999694824219,
      597.1199951171875, 118.30000305175781, 0.3599853515625, 0, 637.9199829101562, 472.5299987792969, 0, 1.1799999475479126,
      637.9299926757812, 478.0299987792969, 321.25, 54.380001068115234, 621.5, 468.3800048828125, 0, 25.6299991607666, 291.5,
      368.3800048828125,
    ]);
    expect((roidb[6].segms[0] as number[][])[0].slice(0, 8)).toEqual([305.04, 175.14, 300.74, 134.33, 296.45, 95.67, 290.01, 79.57]);
    // everything else is shared with the original entry
    expect(roidb[6].gt_classes).toBe(roidb[1].gt_classes);
    expect(roidb[6].gt_overlaps).toBe(roidb[1].gt_overlaps);
  });

  it('adds proposals given as rois (add_proposals)', () => {
    const roidb = ds.getRoidb({ gt: true }).slice(0, 2);
    const rois = Float32Array.from([0, 300, 50, 700, 400, 1, 40, 100, 200, 300, 0, 10, 10, 20, 20, 1, 1, 1, 900, 700, 1, 80, 160, 300, 450]);
    addProposals(roidb, rois, [1.5, 2.0], 0);
    const [a, b] = roidb;
    expect(arr(a.boxes.subarray(4))).toEqual([200, 33.333335876464844, 466.66668701171875, 266.66668701171875, 6.6666669845581055, 6.6666669845581055, 13.333333969116211, 13.333333969116211]);
    expect([arr(a.gt_classes), arr(a.max_overlaps), arr(a.max_classes), arr(a.box_to_gt_ind_map)]).toEqual([
      [1, 0, 0], [1, 0.4300316572189331, 0], [1, 1, 0], [0, 0, -1],
    ]);
    expect(arr(b.boxes.subarray(24))).toEqual([20, 50, 100, 150, 0.5, 0.5, 450, 350, 40, 80, 150, 225]);
    expect(arr(b.max_overlaps.subarray(6))).toEqual([0.23145568370819092, 0.5211734175682068, 0.2392735630273819]);
    expect(arr(b.max_classes.subarray(6))).toEqual([66, 58, 66]);
    expect(arr(b.box_to_gt_ind_map.subarray(6))).toEqual([1, 2, 1]);
  });
});

describe('JsonDataset on person_keypoints_mini.json', () => {
  it('reads keypoints with Detectron\'s rules and flips them', async () => {
    const ds = await JsonDataset.load(fx.keypointsMini);
    expect(ds.classes).toEqual(['__background__', 'person']);
    expect(ds.numKeypoints).toBe(17);
    expect(ds.keypoints?.slice(0, 3)).toEqual(['nose', 'left_eye', 'right_eye']);
    const roidb = ds.getRoidb({ gt: true });
    extendWithFlippedEntries(roidb, ds);
    expect(roidb.map((e) => [e.id, e.flipped, (e.gt_keypoints as Int32Array).length / 51, e.has_visible_keypoints])).toEqual([
      [785, false, 1, true], [40083, false, 3, true], [196141, false, 5, true], [197388, false, 5, true],
      [785, true, 1, true], [40083, true, 3, true], [196141, true, 5, true], [197388, true, 5, true],
    ]);
    const e = roidb[1];
    expect(e.gt_keypoints).toBeInstanceOf(Int32Array);
    expect(arr((e.gt_keypoints as Int32Array).subarray(0, 51))).toEqual([
      99, 104, 96, 0, 78, 56, 81, 0, 103, 116, 0, 57, 82, 137, 138, 177, 158,
      144, 141, 137, 0, 133, 161, 162, 0, 208, 204, 0, 246, 259, 219, 247, 256, 296,
      2, 2, 2, 0, 2, 2, 2, 0, 2, 2, 0, 1, 1, 2, 2, 2, 1,
    ]);
    expect(arr((roidb[5].gt_keypoints as Int32Array).subarray(0, 51))).toEqual([
      400, 403, 395, 421, 0, 418, 443, 396, 0, 0, 383, 417, 442, 361, 362, 341, 322,
      144, 137, 141, 133, 0, 162, 161, 208, 0, 0, 204, 259, 246, 247, 219, 296, 256,
      2, 2, 2, 2, 0, 2, 2, 2, 0, 0, 2, 1, 1, 2, 2, 1, 2,
    ]);
  });

  it('truncates keypoint coordinates to int32 and sets has_visible_keypoints', async () => {
    const ds = await JsonDataset.load(fx.kpEdge);
    const roidb = ds.getRoidb({ gt: true });
    expect(roidb.map((e) => e.has_visible_keypoints)).toEqual([false, true, false]);
    expect(arr(roidb[1].gt_keypoints as Int32Array)).toEqual([
      40, 42, 38, 0, 0, 50, 12, 0, 0, 0, 0, 0, 0, 0, 0, 55, 0,
      10, 8, 8, 0, 0, 20, 21, 0, 0, 0, 0, 0, 0, 0, 0, 58, 0,
      2, 1, 2, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0,
    ]);
  });
});

describe('roidb edge cases (crowd, invalid boxes, proposals)', () => {
  it('keeps file order for contiguous ids and applies the validity filters', async () => {
    const ds = await JsonDataset.load(fx.edge);
    expect(ds.classes).toEqual(['__background__', 'cat', 'dog', 'person']);
    expect([...ds.jsonCategoryIdToContiguousId]).toEqual([[5, 1], [2, 2], [9, 3]]);
    const roidb = ds.getRoidb({ gt: true });
    expect(roidb.map((e) => e.id)).toEqual([3, 7, 10]);
    const e = roidb[2];
    expect(arr(e.boxes)).toEqual([
      10.5, 20.25, 39.5, 59.25, 0, 0, 59, 49, 90, 70, 99, 79, 50, 50, 51, 51,
      33.33333206176758, 11.11111068725586, 52.456787109375, 17.765432357788086,
    ]);
    expect(arr(e.gt_classes)).toEqual([1, 3, 2, 2, 2]);
    expect(arr(e.seg_areas)).toEqual([900, 3000, 100, 3, 100.5]);
    expect(arr(e.is_crowd)).toEqual([0, 1, 0, 0, 0]);
    expect(arr(e.max_overlaps)).toEqual([1, -1, 1, 1, 1]);
    expect(arr(e.max_classes)).toEqual([1, 0, 2, 2, 2]);
    expect(arr(e.gt_overlaps.toDense().subarray(4, 8))).toEqual([-1, -1, -1, -1]);
    expect(e.segms[0]).toEqual([[10.5, 20.25, 40, 20.25, 40, 60, 10.5, 60]]); // the 4-number polygon is dropped
    expect(roidb[1].boxes).toHaveLength(0);

    const minArea = ds.getRoidb({ gt: true, gtMinArea: 4 });
    expect(arr(minArea[2].gt_classes)).toEqual([1, 3, 2, 2]);
    expect(arr(minArea[2].seg_areas)).toEqual([900, 3000, 100, 100.5]);
  });

  it('flips crowd RLEs as masks', async () => {
    const ds = await JsonDataset.load(fx.val448263);
    const roidb = ds.getRoidb({ gt: true });
    extendWithFlippedEntries(roidb, ds);
    const [e, f] = roidb;
    expect([e.width, e.height]).toEqual([320, 240]);
    expect(arr(e.is_crowd)).toEqual([...new Array<number>(15).fill(0), 1]);
    expect(arr(e.gt_classes)).toEqual([1, 1, 1, 1, 1, 1, 33, 36, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(arr(e.max_overlaps)).toEqual([...new Array<number>(15).fill(1), -1]);
    expect(e.seg_areas[15]).toBe(18419);
    expect(arr(e.boxes.subarray(60))).toEqual([1, 0, 276, 121]);
    expect(arr(f.boxes.subarray(60))).toEqual([43, 0, 318, 121]);
    const ann = ds.COCO.imgToAnns.get(448263)?.find((a) => a.iscrowd) as { segmentation: unknown };
    const original = decode(ds.COCO.annToRLE(ann as never));
    const flipped = decode(f.segms[15] as CompressedRle);
    let mismatches = 0;
    for (let y = 0; y < 240; y++) for (let x = 0; x < 320; x++) if (flipped[y * 320 + x] !== original[y * 320 + 319 - x]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('adds proposals from a file with the crowd filter', async () => {
    const ds = await JsonDataset.load(fx.edge);
    const roidb = ds.getRoidb({ gt: true, proposalFile: fx.proposals, crowdFilterThresh: 0.7 });
    expect(roidb.map((e) => e.id)).toEqual([3, 7, 10]);
    const [b, c, a] = roidb;
    expect(arr(b.boxes)).toEqual([1, 2, 20, 31, 25, 10, 44, 29, 1, 2, 20, 31, 0, 0, 49, 59, 26, 11, 44, 29, 30, 40, 45, 55]);
    expect(arr(b.max_overlaps)).toEqual([1, 1, 1, 0.20000000298023224, 0.9024999737739563, 0]);
    expect(arr(b.max_classes)).toEqual([2, 1, 2, 2, 1, 0]);
    expect(arr(b.box_to_gt_ind_map)).toEqual([0, 1, 0, 0, 1, -1]);
    expect(arr(c.boxes)).toEqual([0, 0, 39, 39, 5, 5, 20, 20]);
    expect([arr(c.max_overlaps), arr(c.max_classes), arr(c.box_to_gt_ind_map)]).toEqual([[0, 0], [0, 0], [-1, -1]]);
    expect(arr(a.boxes.subarray(20))).toEqual([
      10, 20, 39, 59, 0, 0, 55, 45, 5, 5, 30, 30, 11, 21, 40, 61, 0, 0, 20, 30, 95, 75, 99, 79, 50, 50, 52, 52, 50, 50, 53.5, 53.5,
      33, 11, 53, 18, 12.5, 22.25, 35.75, 55.5,
    ]);
    expect(arr(a.max_overlaps)).toEqual([1, -1, 1, 1, 1, -1, -1, -1, -1, -1, 0.25, 0.4444444477558136, 0.1975308656692505, -1, -1]);
    expect(arr(a.max_classes)).toEqual([1, 0, 2, 2, 2, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0]);
    expect(arr(a.box_to_gt_ind_map)).toEqual([0, 1, 2, 3, 4, 0, 1, 1, 0, 1, 2, 3, 3, 4, 0]);
    expect(arr(a.gt_classes)).toEqual([1, 3, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    const limited = ds.getRoidb({ gt: true, proposalFile: fx.proposals, proposalLimit: 3 });
    expect(limited.map((e) => e.boxes.length / 4)).toEqual([5, 2, 8]);
  });

  it('reads the proposal pickle and refuses one that misses images', () => {
    const p = readProposalFile(fx.proposals);
    expect(p.idField).toBe('ids');
    expect(p.ids).toEqual([3, 10, 99, 7]);
    expect(p.boxes.map((b) => b.length / 4)).toEqual([6, 11, 1, 2]);
    expect(p.boxes[0]).toBeInstanceOf(Float32Array);
    return JsonDataset.load(fx.val448263).then((ds) => {
      expect(() => ds.getRoidb({ gt: true, proposalFile: fx.proposals })).toThrow(/proposals\.pkl: 0 proposal entries match the 1 images of val448263; none for image id 448263/);
    });
  });

  it('stores gt_overlaps compactly with dense semantics', () => {
    const o = new GtOverlaps(3, Int32Array.from([2, -1, 0, 1]), Float32Array.from([0.5, -1, 0, -0.25]));
    expect(arr(o.toDense())).toEqual([0, 0, 0.5, -1, -1, -1, 0, 0, 0, 0, -0.25, 0]);
    const { max, argmax } = o.rowMax();
    expect([arr(max), arr(argmax)]).toEqual([[0.5, -1, 0, 0], [2, 0, 0, 0]]);
    expect(o.get(1, 2)).toBe(-1);
  });
});

describe('dataset catalog', () => {
  it("has Detectron's names and layout", () => {
    for (const name of [
      'coco_2014_train', 'coco_2014_val', 'coco_2014_minival', 'coco_2014_valminusminival', 'coco_2015_test', 'coco_2015_test-dev',
      'coco_2017_train', 'coco_2017_val', 'coco_2017_test', 'coco_2017_test-dev', 'keypoints_coco_2014_train',
      'keypoints_coco_2014_val', 'keypoints_coco_2014_minival', 'keypoints_coco_2014_valminusminival', 'keypoints_coco_2017_train',
      'keypoints_coco_2017_val', 'keypoints_coco_2017_test', 'voc_2007_test', 'cityscapes_fine_instanceonly_seg_val',
    ]) expect(contains(name)).toBe(true);
    expect(datasets()).toContain('coco_stuff_train');
    expect(getImDir('coco_2014_minival', '/d')).toBe('/d/coco/coco_val2014');
    expect(getAnnFn('coco_2014_minival', '/d')).toBe('/d/coco/annotations/instances_minival2014.json');
    expect(getImDir('coco_2017_train', '/d')).toBe('/d/coco/coco_train2017');
    expect(getAnnFn('keypoints_coco_2017_val', '/d')).toBe('/d/coco/annotations/person_keypoints_val2017.json');
    expect(getImDir('coco_2017_test-dev', '/d')).toBe('/d/coco/coco_test2015');
    expect(getImPrefix('coco_2017_test')).toBe('COCO_test2015_');
    expect(getImPrefix('coco_2014_train')).toBe('');
    expect(() => getImDir('coco_2099')).toThrow(/Unknown dataset name: coco_2099/);
  });

  it('names the missing path and what belongs there', async () => {
    const dataDir = path.join(fx.dir, 'data');
    fs.mkdirSync(path.join(dataDir, 'coco', 'coco_val2017'), { recursive: true });
    await expect(JsonDataset.load('coco_2017_val', { dataDir })).rejects.toThrow(
      `dataset coco_2017_val: annotation file '${dataDir}/coco/annotations/instances_val2017.json' not found; put instances_val2017.json there (COCO 2017 annotations`,
    );
    await expect(JsonDataset.load('coco_2017_train', { dataDir })).rejects.toThrow(
      `dataset coco_2017_train: image folder '${dataDir}/coco/coco_train2017' not found`,
    );
  });

  it('registers datasets of one\'s own', async () => {
    registerDataset('my_edge', { annotationFile: 'edge.json', imageDirectory: 'images' });
    try {
      const ds = await JsonDataset.load('my_edge', { dataDir: fx.dir });
      expect(ds.name).toBe('my_edge');
      expect(ds.getRoidb()[0].image).toBe(path.join(fx.dir, 'images', 'b.jpg'));
    } finally {
      unregisterDataset('my_edge');
    }
    expect(contains('my_edge')).toBe(false);
  });

  it('checks that images exist unless told not to', async () => {
    const ds = await JsonDataset.load({ ...fx.edge, imageDirectory: fx.dir });
    expect(() => ds.getRoidb()).toThrow(`dataset edge: image '${fx.dir}/b.jpg' not found (image id 3 of ${fx.edge.annotationFile})`);
    expect(ds.getRoidb({ checkImages: false })).toHaveLength(3);
  });
});
