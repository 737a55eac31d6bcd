/**
 * COCOeval against pycocotools. The golden cases in fixtures/golden/coco_eval are enumerated;
 * the other expected numbers were produced locally with pycocotools (cocodataset/cocoapi built
 * from source, numpy 1.24) on the same inputs (COCO(gt).loadRes(dets); COCOeval; evaluate;
 * accumulate; summarize), and are compared within 1e-9 (in practice they are bit-identical).
 */
import * as fs from 'fs';
import * as path from 'path';
import { COCO } from '../lib/datasets/pycocotools/coco';
import { COCOeval, formatFixed, linspace, npMean, pairwiseSum, Params } from '../lib/datasets/pycocotools/cocoeval';
import { perCategoryAP } from '../lib/datasets/json_dataset_evaluator';
import { frBbox, toBbox } from '../lib/datasets/pycocotools/mask';
import type { IouType } from '../lib/datasets/pycocotools/coco';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const GOLDEN = path.join(FIXTURES, 'golden/coco_eval');
const TOL = 1e-9;

function evaluate(gt: COCO, dets: unknown, iouType: IouType): { E: COCOeval; lines: string[] } {
  const E = new COCOeval(gt, gt.loadRes(dets), iouType);
  E.evaluate();
  E.accumulate();
  const lines: string[] = [];
  E.summarize((l) => lines.push(l));
  return { E, lines };
}

function expectClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => {
    if (Math.abs(v - expected[i]) > TOL) throw new Error(`index ${i}: got ${v}, expected ${expected[i]}`);
  });
}

interface GoldenStats {
  gt: string;
  iouType: IouType;
  stats: number[];
  per_category_AP: Record<string, number>;
}

describe('golden coco_eval cases', () => {
  const cases = fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.stats.json')).sort();

  test('the folder holds cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(3);
  });

  test.each(cases)('%s', (file) => {
    const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN, file), 'utf8')) as GoldenStats;
    const dets = path.join(GOLDEN, file.replace(/\.stats\.json$/, '.dets.json'));
    const { E } = evaluate(COCO.fromFile(path.join(FIXTURES, golden.gt)), dets, golden.iouType);
    expectClose(E.stats, golden.stats);
    const perCat = perCategoryAP(E);
    expect([...perCat.keys()].map(String).sort()).toEqual(Object.keys(golden.per_category_AP).sort());
    for (const [id, ap] of perCat) {
      const want = golden.per_category_AP[String(id)];
      if (want === -1) expect(ap).toBeNaN();
      else expect(Math.abs(ap - want)).toBeLessThanOrEqual(TOL);
    }
  });
});

describe('real detections with compressed-RLE masks (val2017 image 139)', () => {
  const gt = COCO.fromFile(path.join(FIXTURES, 'coco/eval/gt_annotations_139_285.json'));
  const dets = path.join(FIXTURES, 'coco/eval/detections_139.json');

  test('bbox', () => {
    const { E, lines } = evaluate(gt, dets, 'bbox');
    expectClose(E.stats, [0.7504950495049505, 1.0, 1.0, 0.6999999999999998, 0.7999999999999999, -1.0, 0.4, 0.75, 0.75, 0.7, 0.8, -1.0]);
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.750');
    expect(lines[5]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000');
    expect(lines[6]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.400');
  });

  test('segm (entries carry bbox too, so loadRes takes area = w*h as pycocotools does)', () => {
    const { E } = evaluate(gt, dets, 'segm');
    expectClose(E.stats, [0.7252475247524752, 1.0, 1.0, 0.7999999999999999, 0.6999999999999998, -1.0, 0.35, 0.75, 0.75, 0.8, 0.7, -1.0]);
    expect(perCategoryAP(E).get(1)).toBeCloseTo(0.7252475247524752, 12);
  });
});

describe('crowd ground truth (val2017 image 448263, uncompressed RLE iscrowd region)', () => {
  const gt = COCO.fromFile(path.join(FIXTURES, 'coco/eval/instances_val2017_448263_gt.json'));
  // [category, box, score]: matches, a tie, detections inside the crowd region, false positives.
  const boxes: Array<[number, number[], number]> = [
    [1, [81, 8, 220, 220], 0.9],
    [1, [20, 14, 60, 210], 0.8],
    [1, [210, 40, 20, 30], 0.8],
    [1, [120, 10, 40, 40], 0.7],
    [37, [99, 99, 6, 5], 0.6],
    [40, [18, 122, 34, 44], 0.5],
    [1, [0, 48, 20, 33], 0.3],
    [40, [200, 200, 10, 10], 0.65],
    [1, [5, 150, 30, 60], 0.1],
  ];

  test('bbox', () => {
    const dets = boxes.map(([c, b, s]) => ({ image_id: 448263, category_id: c, bbox: b, score: s }));
    const { E } = evaluate(gt, dets, 'bbox');
    expectClose(E.stats, [
      0.45902090209020907, 0.5792079207920792, 0.5792079207920792, 0.3995049504950494, 0.8999999999999999, 0.9999999999999998,
      0.25897435897435894, 0.6076923076923076, 0.6076923076923076, 0.3954545454545454, 0.9, 1.0,
    ]);
    const perCat = perCategoryAP(E);
    expect(perCat.get(1)).toBeCloseTo(0.22706270627062705, 12);
    expect(perCat.get(37)).toBeCloseTo(0.6999999999999998, 12);
    expect(perCat.get(40)).toBeCloseTo(0.45, 12);
  });

  test('segm (box masks, crowd mask IoU over the detection area)', () => {
    const dets = boxes.map(([c, b, s]) => ({ image_id: 448263, category_id: c, segmentation: frBbox([b], 240, 320)[0], score: s }));
    const { E, lines } = evaluate(gt, dets, 'segm');
    expectClose(E.stats, [
      0.20264026402640264, 0.5132013201320133, 0.16666666666666666, 0.14999999999999997, 0.39999999999999997, 0.0, 0.1,
      0.3051282051282051, 0.3051282051282051, 0.15, 0.4, 0.0,
    ]);
    expect(lines).toEqual([
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.203',
      ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.513',
      ' Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.167',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.150',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.400',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.100',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.305',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.305',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.150',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.400',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.000',
    ]);
  });
});

describe('loadRes', () => {
  const gt = COCO.fromFile(path.join(FIXTURES, 'coco/eval/gt_annotations_139_285.json'));
  const ok = { image_id: 139, category_id: 1, score: 0.5 };

  test('completes entries as pycocotools does', () => {
    const res = gt.loadRes([{ ...ok, bbox: [10, 20, 30, 40] }, { ...ok, bbox: [1, 2, 3, 4], score: 0.25 }]);
    const anns = res.loadAnns(res.getAnnIds());
    expect(anns.map((a) => a.id)).toEqual([1, 2]);
    expect(anns[0].area).toBe(1200);
    expect(anns[0].iscrowd).toBe(0);
    expect(anns[0].segmentation).toEqual([[10, 20, 10, 60, 40, 60, 40, 20]]);
    const kp = gt.loadRes([{ ...ok, keypoints: Array.from({ length: 51 }, (_, i) => (i % 3 === 2 ? 1 : i)) }]);
    const a = kp.loadAnns([1])[0];
    expect(a.bbox).toEqual([0, 1, 48, 48]);
    expect(a.area).toBe(2304);
    const rle = frBbox([[5, 6, 7, 8]], 426, 640)[0];
    const sg = gt.loadRes([{ ...ok, segmentation: rle }]).loadAnns([1])[0];
    expect(sg.area).toBe(56);
    expect(sg.bbox).toEqual([5, 6, 7, 8]);
  });

  test('refuses bad entries, naming index and value', () => {
    expect(() => gt.loadRes([{ ...ok, bbox: [1, 2, 3, 4] }, { ...ok, image_id: 7, bbox: [1, 2, 3, 4] }])).toThrow(
      /results entry 1: image_id 7 is not an image of the ground truth/,
    );
    expect(() => gt.loadRes([{ ...ok, category_id: 12, bbox: [1, 2, 3, 4] }])).toThrow(/entry 0: category_id 12 is not a category/);
    expect(() => gt.loadRes([{ ...ok, bbox: [1, 2, 3] }])).toThrow(/entry 0: bbox must be 4 finite numbers .* got \[1,2,3\]/);
    // pycocotools keeps inverted boxes (area w·h, negative): so do we.
    expect(gt.loadRes([{ ...ok, bbox: [1, 2, -3, 4] }]).loadAnns([1])[0].area).toBe(-12);
    expect(() => gt.loadRes([{ ...ok, bbox: [1, 2, 3, null] }])).toThrow(/entry 0: bbox must be 4 finite numbers/);
    expect(() => gt.loadRes([{ ...ok, score: 'high', bbox: [1, 2, 3, 4] }])).toThrow(/entry 0: score must be a finite number, got "high"/);
    expect(() => gt.loadRes([{ ...ok, segmentation: { size: [426, 640], counts: 'ab c' } }])).toThrow(
      /entry 0 \(image_id 139\): segmentation: RLE counts string has invalid character " "/,
    );
    expect(() => gt.loadRes([{ ...ok, segmentation: frBbox([[1, 1, 2, 2]], 640, 426)[0] }])).toThrow(
      /entry 0 \(image_id 139\): segmentation: RLE size \[640,426\] does not match the image's \[426, 640\]/,
    );
    expect(() => gt.loadRes([{ ...ok, segmentation: { size: [426, 640], counts: [0, 5] } }])).toThrow(/compressed RLE/);
    expect(() => gt.loadRes([{ ...ok, keypoints: [1, 2, 1, 3] }])).toThrow(/entry 0: keypoints must be .* triples/);
    expect(() => gt.loadRes([])).toThrow(/results hold no entries/);
    expect(() => gt.loadRes({ not: 'a list' })).toThrow(/must be a JSON array/);
  });

  test('keypoints of the wrong length for the category are refused', () => {
    const kgt = COCO.fromFile(path.join(FIXTURES, 'coco/annotations/person_keypoints_mini.json'));
    const img = kgt.getImgIds()[0];
    expect(() => kgt.loadRes([{ image_id: img, category_id: 1, score: 1, keypoints: new Array(48).fill(1) }])).toThrow(
      /entry 0: keypoints has 48 numbers but category 1 has 17 keypoints \(expected 51\)/,
    );
  });
});

describe('COCO index', () => {
  const gt = COCO.fromFile(path.join(FIXTURES, 'coco/eval/instances_val2017_448263_gt.json'));

  test('id queries', () => {
    expect(gt.getImgIds()).toEqual([448263]);
    expect(gt.getCatIds()).toHaveLength(80);
    expect(gt.getCatIds({ catNms: ['person', 'sports ball'] })).toEqual([1, 37]);
    expect(gt.getAnnIds({ catIds: [37, 40] })).toEqual([1459918, 1472639]);
    expect(gt.getAnnIds({ iscrowd: true })).toEqual([900100448263]);
    expect(gt.getAnnIds({ imgIds: 448263, areaRng: [1000, 10000] })).toEqual([504669, 1472639]);
    expect(gt.getImgIds({ catIds: [40] })).toEqual([448263]);
  });

  test('crowd RLE to mask', () => {
    const crowd = gt.loadAnns([900100448263])[0];
    const mask = gt.annToMask(crowd);
    // pycocotools: annToMask(ann).sum() == 12852 (the file's "area" says 18419), toBbox [1, 0, 277, 123]
    expect(mask.reduce((s, v) => s + v, 0)).toBe(12852);
    expect(toBbox(gt.annToRLE(crowd))).toEqual([1, 0, 277, 123]);
  });

  test('bad files are refused with their name', () => {
    expect(() => COCO.fromFile(path.join(FIXTURES, 'no_such.json'))).toThrow(/cannot read annotation file .*no_such.json/);
    expect(() => COCO.fromFile(path.join(FIXTURES, 'README.md'))).toThrow(/README.md is not valid JSON/);
  });
});

describe('numpy details', () => {
  test('np.linspace thresholds, bit for bit', () => {
    const p = new Params('bbox');
    // numpy: np.linspace(.5, 0.95, 10) -> [..., 0.85, 0.8999999999999999, 0.95]
    expect(Array.from(p.iouThrs)).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
    expect(p.recThrs).toHaveLength(101);
    expect(p.recThrs[7]).toBe(0.07);
    expect(linspace(0, 1, 101)[29]).toBe(0.29);
  });

  test('pairwise summation (np.sum order)', () => {
    // numpy: i = np.arange(1000); a = ((i*7919) % 1000)/7.0 - 1/(i+3.0)*1e3; np.sum(a) and
    // np.mean(a); a plain left-to-right sum gives 65369.67499160151 instead.
    const a = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 7.0 - (1 / (i + 3.0)) * 1e3);
    expect(pairwiseSum(a)).toBe(65369.674991601496);
    expect(npMean(a)).toBe(65.3696749916015);
  });

  test("Python '{:.Nf}' formatting (ties to even)", () => {
    expect(formatFixed(0.0625, 3)).toBe('0.062');
    expect(formatFixed(0.1875, 3)).toBe('0.188');
    expect(formatFixed(-1, 3)).toBe('-1.000');
    expect(formatFixed(59.99999999999999, 1)).toBe('60.0');
    expect(formatFixed(NaN, 1)).toBe('nan');
    expect(formatFixed(0.95, 2)).toBe('0.95');
  });
});
