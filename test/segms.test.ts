/**
 * Detectron's segms utilities. Expected values were produced locally by running Detectron's
 * detectron/utils/segms.py (with pycocotools built from cocodataset/cocoapi, numpy 1.24) on the
 * same inputs; masks are compared through their pycocotools RLE strings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { area, encode, frBbox, type CompressedRle } from '../lib/datasets/pycocotools/mask';
import type { NdArray } from '../lib/utils/ndarray';
import {
  flipSegms,
  maskToBbox,
  polysToBoxes,
  polysToMask,
  polysToMaskWrtBox,
  rleMaskNms,
  rleMasksToBoxes,
  rleMaskVoting,
} from '../lib/utils/segms';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const gt = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'coco/eval/gt_annotations_139_285.json'), 'utf8')) as {
  annotations: Array<{ segmentation: number[][] }>;
};
const [poly0, poly1] = gt.annotations.map((a) => a.segmentation);
const detections = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'coco/eval/detections_139.json'), 'utf8')) as Array<{
  bbox: number[];
  score: number;
  segmentation: CompressedRle;
}>;

/** A float mask (0/1) as pycocotools' compressed RLE string. */
const rleOf = (m: Float32Array, h: number, w: number): string => encode(Uint8Array.from(m), h, w).counts;

describe('flip_segms', () => {
  test('polygons: x -> width - x - 1', () => {
    expect(flipSegms([[[1, 2, 3.5, 4, 5, 6, 9, 9]]], 10, 10)).toEqual([[[8, 2, 5.5, 4, 4, 6, 0, 9]]]);
  });

  test('uncompressed and compressed RLE', () => {
    // Detectron: flip_segms([{'size': [4, 5], 'counts': [3, 2, 4, 5, 6]}], 4, 5) -> [[{'counts': b'42323M'}]]
    const [flipped] = flipSegms([{ size: [4, 5], counts: [3, 2, 4, 5, 6] }], 4, 5);
    expect(flipped).toEqual({ size: [4, 5], counts: '42323M' });
    // Flipping twice gives the original back.
    const det = detections[0].segmentation;
    expect(flipSegms(flipSegms([det], 426, 640), 426, 640)[0]).toEqual(det);
    expect(() => flipSegms([det], 640, 426)).toThrow(/does not match the image's \[640, 426\]/);
  });
});

describe('polygons to masks and boxes', () => {
  test('polys_to_mask (annotation 233201 at 426×640)', () => {
    const m = polysToMask(poly1, 426, 640);
    expect(m).toBeInstanceOf(Float32Array);
    expect(m.reduce((s, v) => s + v, 0)).toBe(439);
    expect(Array.from(maskToBbox(m, 426, 640) as Float32Array)).toEqual([384, 172, 399, 207]);
    expect(rleOf(m, 426, 640)).toBe('Wno42`<3iC=P<FlC;T<>000000O2O00001O]OkC1V<LnC1S<NPD0P<OSDNV<HRfS3');
  });

  test('polys_to_mask_wrt_box (float32 box arithmetic, M = 28)', () => {
    const m = polysToMaskWrtBox(poly0, [410.3, 150.7, 470.2, 300.9], 28);
    expect(m.reduce((s, v) => s + v, 0)).toBe(252);
    expect(rleOf(m, 28, 28)).toBe('k31k0000O1H0DO=2^O4`04O10002N01O00DJ3`01O0O001DI18MK19KH4b0N3Mo0');
  });

  test('polys_to_mask_wrt_box with a box narrower than 1 px (clamped to 1)', () => {
    const m = polysToMaskWrtBox(poly1, [388.25, 175.5, 388.75, 200.0], 14);
    expect(rleOf(m, 14, 14)).toBe('0T6');
    expect(maskToBbox(new Float32Array(9), 3, 3)).toBeNull();
  });

  test('polys_to_boxes (float32)', () => {
    const boxes = polysToBoxes([poly0, poly1, [[1.5, 2.25, 0.5, 7.75, 3, 1]]]);
    expect(Array.from(boxes)).toEqual([
      412.79998779296875, 157.61000061035156, 465.8500061035156, 295.6199951171875, 384.42999267578125, 172.2100067138672,
      399.54998779296875, 207.9499969482422, 0.5, 1.0, 3.0, 7.75,
    ]);
  });
});

describe('mask voting and NMS (detections on image 139 plus two box masks)', () => {
  const masks: CompressedRle[] = [
    ...detections.map((d) => d.segmentation),
    ...frBbox(
      [
        [415, 160, 50, 140],
        [380, 170, 22, 40],
      ],
      426,
      640,
    ),
  ];
  // Detectron's float32 dets: (x0, y0, x1, y1, score).
  const rows = [
    ...detections.map((d) => [d.bbox[0], d.bbox[1], d.bbox[0] + d.bbox[2], d.bbox[1] + d.bbox[3], d.score]),
    [415, 160, 465, 300, 0.6],
    [380, 170, 402, 210, 0.5],
  ];
  const dets: NdArray = { dtype: 'float32', shape: [5, 5], data: Float32Array.from(rows.flat()) };

  test('rle_mask_voting AVG and UNION', () => {
    const avg = rleMaskVoting(masks, masks, dets, 0.4, 0.5, 'AVG');
    expect(avg.map((m) => area(m))).toEqual([3397, 620, 53, 3397, 620]);
    expect(avg[1].counts).toBe(
      'RXn4X1R<0000jNV1000nBk0o;UOnCn0R<ROnCn0R<ROmCo0S<QOmCo0S<QOlCP1T<POlCP1T<POlCP1T<POlCP1T<POlCQ1S<oNmCQ1S<oNmC>20Q<BmC=4OP<DmC;5NP<GoC372l;Ko00RkR3',
    );
    expect(avg[2]).toBe(masks[2]); // overlaps only itself: returned as is
    const union = rleMaskVoting(masks, masks, dets, 0.4, 0.5, 'UNION');
    expect(union.map((m) => area(m))).toEqual([7010, 880, 53, 7010, 880]);
    expect(union[1].counts).toBe('RXn4X1R<00000000000000000000000000000000000000000RkR3');
    // Threshold 0.5: mask 0 matches only itself.
    expect(rleMaskVoting(masks.slice(0, 2), masks, dets, 0.5, 0.4, 'AVG').map((m) => area(m))).toEqual([3117, 620]);
  });

  test('rle_mask_nms modes', () => {
    expect(rleMaskNms(masks, dets, 0.5, 'IOU')).toEqual([0, 1, 3, 2]);
    expect(rleMaskNms(masks, dets, 0.5, 'IOMA')).toEqual([0, 1, 2]);
    expect(rleMaskNms(masks, dets, 0.5, 'CONTAINMENT')).toEqual([0, 1, 2]);
    expect(rleMaskNms(masks, dets, 0.3, 'IOU')).toEqual([0, 1, 2]);
    expect(() => rleMaskNms(masks, { ...dets, shape: [4, 5] }, 0.5)).toThrow(/dets must be 5×5/);
  });

  test('rle_masks_to_boxes', () => {
    const { boxes, keep } = rleMasksToBoxes(masks);
    expect(Array.from(boxes)).toEqual([424, 159, 463, 294, 385, 173, 399, 207, 459, 159, 466, 167, 415, 160, 464, 299, 380, 170, 401, 209]);
    expect(keep).toEqual([0, 1, 2, 3, 4]);
  });
});
