/**
 * pycocotools mask API. Expected strings and numbers were produced locally by pycocotools built
 * from cocodataset/cocoapi (common/maskApi.c + PythonAPI, Cython extension) with numpy 1.24, by
 * running the same calls on the same inputs; 300 randomised masks/polygons/boxes were also
 * compared bit-for-bit during development.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  area,
  decode,
  decodeColumnMajor,
  encode,
  encodeColumnMajor,
  frBbox,
  frPyObjects,
  iou,
  merge,
  rleDecodeRowMajor,
  rleEncodeRowMajor,
  rleFrString,
  rleToString,
  toBbox,
  type CompressedRle,
} from '../lib/datasets/pycocotools/mask';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');

const rows = (m: Uint8Array, w: number): number[][] =>
  Array.from({ length: m.length / w }, (_, y) => Array.from(m.subarray(y * w, (y + 1) * w)));

function matrix(r: { dt: number; gt: number; data: Float64Array }): number[][] {
  return Array.from({ length: r.dt }, (_, d) => Array.from(r.data.subarray(d * r.gt, (d + 1) * r.gt)));
}

describe('encode / decode', () => {
  // 5×4 mask; pycocotools: encode(np.asfortranarray(m)) -> b'21131MO032', area 10, bbox [0,0,4,5].
  const m = [
    [0, 1, 1, 0],
    [0, 1, 0, 0],
    [1, 1, 1, 1],
    [0, 0, 0, 1],
    [1, 0, 0, 1],
  ];
  const rowMajor = Uint8Array.from(m.flat());
  const colMajor = Uint8Array.from({ length: 20 }, (_, i) => m[i % 5][Math.floor(i / 5)]);

  test('row-major and column-major inputs give pycocotools string', () => {
    expect(encode(rowMajor, 5, 4)).toEqual({ size: [5, 4], counts: '21131MO032' });
    expect(encodeColumnMajor(colMajor, 5, 4)).toEqual({ size: [5, 4], counts: '21131MO032' });
    expect(Array.from(rleEncodeRowMajor(rowMajor, 5, 4).counts)).toEqual([2, 1, 1, 4, 2, 1, 1, 1, 4, 3]);
  });

  test('decode round-trips in both layouts', () => {
    const rle = { size: [5, 4] as [number, number], counts: '21131MO032' };
    expect(rows(decode(rle), 4)).toEqual(m);
    expect(Array.from(decodeColumnMajor(rle))).toEqual(Array.from(colMajor));
    expect(area(rle)).toBe(10);
    expect(toBbox(rle)).toEqual([0, 0, 4, 5]);
  });

  test('0/255 masks encode like 0/1 masks (runs start where the byte changes)', () => {
    expect(encode(rowMajor.map((v) => v * 255), 5, 4).counts).toBe('21131MO032');
  });

  test('random masks: row-major and column-major paths agree and round-trip', () => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let it = 0; it < 60; it++) {
      const h = 1 + Math.floor(rand() * 37);
      const w = 1 + Math.floor(rand() * 41);
      const p = rand();
      const mask = Uint8Array.from({ length: h * w }, () => (rand() < p ? 1 : 0));
      const col = new Uint8Array(h * w);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) col[x * h + y] = mask[y * w + x];
      const a = encode(mask, h, w);
      expect(encodeColumnMajor(col, h, w)).toEqual(a);
      expect(Array.from(decode(a))).toEqual(Array.from(mask));
      expect(Array.from(decodeColumnMajor(a))).toEqual(Array.from(col));
    }
  });

  test('decode into a caller buffer, and empty masks', () => {
    const out = new Uint8Array(20).fill(7);
    rleDecodeRowMajor(rleFrString('21131MO032', 5, 4), out);
    expect(rows(out, 4)).toEqual(m);
    expect(encode(new Uint8Array(12), 3, 4).counts).toBe('<');
    expect(Array.from(decode({ size: [3, 4], counts: '<' }))).toEqual(new Array(12).fill(0));
  });
});

describe('string codec', () => {
  test('large counts and negative deltas (frPyObjects of uncompressed RLE)', () => {
    // pycocotools: frPyObjects({'size':[1000,3000],'counts':[0,5,1000000,3,2,1999990]}) -> '05Pb`n0NR^_QOcSQm1'
    const c = frPyObjects({ size: [1000, 3000], counts: [0, 5, 1000000, 3, 2, 1999990] }, 1000, 3000);
    expect(c.counts).toBe('05Pb`n0NR^_QOcSQm1');
    expect(area(c)).toBe(1999998);
    expect(toBbox(c)).toEqual([0, 0, 3000, 1000]);
    expect(Array.from(rleFrString(c.counts, 1000, 3000).counts)).toEqual([0, 5, 1000000, 3, 2, 1999990]);
    // {'size':[7,9],'counts':[10,20,3,1,1,28]} -> ':d03]ONk0', bbox [1,0,8,7]
    const c2 = frPyObjects({ size: [7, 9], counts: [10, 20, 3, 1, 1, 28] }, 7, 9);
    expect(c2.counts).toBe(':d03]ONk0');
    expect(toBbox(c2)).toEqual([1, 0, 8, 7]);
  });

  test('rleToString inverts rleFrString on a real detection mask', () => {
    const dets = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'coco/eval/detections_139.json'), 'utf8')) as Array<{
      segmentation: CompressedRle;
    }>;
    for (const d of dets) {
      const [h, w] = d.segmentation.size;
      expect(rleToString(rleFrString(d.segmentation.counts, h, w))).toBe(d.segmentation.counts);
      expect(encode(decode(d.segmentation), h, w).counts).toBe(d.segmentation.counts);
    }
  });

  test('malformed strings are refused', () => {
    expect(() => rleFrString('21131MO03', 5, 4)).toThrow(/cover 17 pixels but size \[5, 4\] has 20/);
    expect(() => rleFrString('2113 1MO032', 5, 4)).toThrow(/invalid character " " at position 4/);
    expect(() => rleFrString('21131MO03R', 5, 4)).toThrow(/ends inside a value/);
    expect(() => rleFrString('O', 5, 4)).toThrow(/count -1 at run 0/);
    expect(() => decode({ size: [4, 5], counts: '21131MO032p' })).toThrow(/invalid character "p"/);
  });
});

describe('rasterisation', () => {
  test('real COCO polygon (annotation 230831, image 139 at 426×640)', () => {
    const gt = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'coco/eval/gt_annotations_139_285.json'), 'utf8')) as {
      annotations: Array<{ id: number; segmentation: number[][] }>;
    };
    const polys = gt.annotations[0].segmentation;
    const merged = merge(frPyObjects(polys, 426, 640));
    expect(merged.counts).toBe(
      'iP\\52W=100O10000O010O10O01N100fNL^E6a:N[E2e:1WE0XOIX;;XE1]OGZ;?eD7N^O\\;e1O00000O10001O:F0001N2O1O1OmE_N^8_1oFXOP9b2O2O06H2N2N2N2N2N3PNTF<n9BVF:l9DYF7j9FZF7o9_OUF=S:[OQFa0W:TOPFh0^;K7H8H9G[SX2',
    );
    expect(area(merged)).toBe(2922);
    expect(toBbox(merged)).toEqual([413, 158, 53, 138]);
  });

  test('polygon with a repeated point and coordinates outside the image', () => {
    const poly = [-3.2, -1.0, 10.6, 2.3, 10.6, 2.3, 12.1, 14.9, 4.4, 16.0, -2.0, 8.8];
    const r = frPyObjects([poly], 12, 11)[0];
    expect(r.counts).toBe('0;1=0C0000001O000000');
    expect(area(r)).toBe(119);
    expect(toBbox(r)).toEqual([0, 0, 11, 12]);
    const m = rows(decode(r), 11);
    expect(m[0]).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(m[1]).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(m[11]).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  test('fractional box (frPyObjects of an N×4 array)', () => {
    const r = frBbox([[1.3, 2.6, 4.2, 3.3]], 9, 8)[0];
    expect(r.counts).toBe('<360000000?');
    expect(area(r)).toBe(15);
    expect(toBbox(r)).toEqual([1, 3, 5, 3]);
  });

  test('toBbox of a run wrapping to the next column spans the full height', () => {
    expect(toBbox(frPyObjects({ size: [4, 5], counts: [3, 2, 15] }, 4, 5))).toEqual([0, 0, 2, 4]);
  });

  test('bad polygons are refused', () => {
    expect(() => frPyObjects([[1, 2, Number.NaN, 4, 5, 6]], 10, 10)).toThrow(/point 1 is not finite/);
    expect(() => frPyObjects([] as number[][], 10, 10)).toThrow(/empty list/);
  });
});

describe('iou and merge', () => {
  const dt = [
    [10, 10, 20, 20],
    [15.5, 12.25, 10, 30],
  ];
  const gt = [
    [12, 8, 18, 25],
    [0, 0, 40, 40],
  ];

  test('box IoU with a crowd ground truth', () => {
    expect(matrix(iou(dt, gt, [0, 1]))).toEqual([
      [0.7346938775510204, 1.0],
      [0.3824884792626728, 0.925],
    ]);
  });

  test('mask IoU, crowd, and size mismatch (-1)', () => {
    const rd = frBbox(dt, 50, 50);
    const rg = frBbox(gt, 50, 50);
    expect(matrix(iou(rd, rg, [0, 1]))).toEqual([
      [0.7346938775510204, 1.0],
      [0.3888888888888889, 0.9333333333333333],
    ]);
    expect(matrix(iou(rd, frBbox(gt, 50, 51), [0, 0]))).toEqual([
      [-1, -1],
      [-1, -1],
    ]);
    // Mixed kinds (possible from untyped JSON) are refused at run time.
    expect(() => iou(rd, gt as unknown as CompressedRle[], [0, 0])).toThrow(/both be boxes/);
  });

  test('union and intersection', () => {
    const rd = frBbox(dt, 50, 50);
    const rg = frBbox(gt, 50, 50);
    const u = merge([...rd, ...rg]);
    expect(u.counts).toBe('0X1:0000000000000000000000000000002N000000000000000000N20000000000000000000000000d?');
    expect(area(u)).toBe(1620);
    const i = merge(rd, true);
    expect(i.counts).toBe('\\i0b0P100000000000000000TU1');
    expect(area(i)).toBe(180);
  });
});
