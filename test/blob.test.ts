/**
 * Detectron's test-time preprocessing against the shared golden pixels/ cases (OpenCV 4.6 imread
 * + Detectron's prep_im_for_blob / im_list_to_blob), and the rules in isolation.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { NdArray } from '../lib/utils/ndarray';
import { imread } from '../lib/utils/image_io';
import {
  computeImScale, getImageBlob, imListToBlob, prepImForBlob, subtractPixelMeans,
} from '../lib/utils/blob';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const GOLDEN_PIXELS = path.join(FIXTURES, 'golden/pixels');

interface GoldenBlob {
  scale: number;
  max_size: number;
  stride: number;
  im_scale: number;
  resized_hw: [number, number];
  blob_shape: number[];
  samples: [number, number, number, number][];
  sum: number;
  sha256: string;
}

interface GoldenFile {
  pixel_means_bgr: number[];
  cases: { image: string; blobs: GoldenBlob[] }[];
}

function sumOf(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe('blobs equal the golden pixels cases', () => {
  const files = fs.readdirSync(GOLDEN_PIXELS).filter((f) => f.endsWith('.json')).sort();
  const rows = files.flatMap((f) => {
    const g = JSON.parse(fs.readFileSync(path.join(GOLDEN_PIXELS, f), 'utf8')) as GoldenFile;
    return g.cases.map((c) => [c.image, c.blobs, g.pixel_means_bgr] as const);
  });

  it('has cases', () => {
    expect(rows.length).toBeGreaterThanOrEqual(14);
  });

  it.each(rows)('%s', async (image, blobs, means) => {
    const im = await imread(path.join(FIXTURES, image));
    for (const b of blobs) {
      const { image: resized, imScale } = prepImForBlob(im, means, b.scale, b.max_size);
      expect(imScale).toBe(b.im_scale);
      expect(resized.shape.slice(0, 2)).toEqual(b.resized_hw);
      const blob = imListToBlob([resized], b.stride);
      expect(blob.shape).toEqual(b.blob_shape);
      const data = blob.data as Float32Array;
      const [, , H, W] = blob.shape;
      for (const [c, y, x, v] of b.samples) {
        expect(Math.abs(data[(c * H + y) * W + x] - v)).toBeLessThanOrEqual(1e-3);
      }
      expect(Math.abs(sumOf(data) - b.sum)).toBeLessThanOrEqual(1e-6 * Math.abs(b.sum));
      // Beyond the tolerances: the blob is bit-identical to the reference's.
      expect(crypto.createHash('sha256').update(data).digest('hex')).toBe(b.sha256);
    }
  });
});

describe('Detectron preprocessing rules', () => {
  const DETECTRON_MEANS = [102.9801, 115.9465, 122.7717];

  it('subtracts means in double and rounds once, as numpy does for a float64 PIXEL_MEANS', () => {
    const im: NdArray = { dtype: 'uint8', shape: [1, 1, 3], data: Uint8Array.from([149, 0, 255]) };
    const out = subtractPixelMeans(im, DETECTRON_MEANS).data as Float32Array;
    expect(out[0]).toBe(Math.fround(149 - 102.9801)); // 46.019901275634766
    expect(out[0]).toBe(46.019901275634766);
    expect(out[1]).toBe(Math.fround(-115.9465));
    expect(out[2]).toBe(Math.fround(255 - 122.7717));
    // With float32 means (the golden's reference) the result is the float32 subtraction.
    const f32 = subtractPixelMeans(im, DETECTRON_MEANS.map(Math.fround)).data as Float32Array;
    expect(f32[0]).toBe(46.0198974609375);
  });

  it('scales the short side to the target unless the long side would pass max_size', () => {
    expect(computeImScale(600, 900, 800, 1333)).toBe(800 / 600);
    expect(computeImScale(600, 1116, 800, 1333)).toBe(1333 / 1116); // round(1488) > 1333
    expect(computeImScale(333, 500, 800, 1333)).toBe(800 / 333);
    // np.round is half-to-even: 0.5 * 2001 = 1000.5 rounds to 1000, which is not > 1000.
    expect(computeImScale(2, 2001, 1, 1000)).toBe(0.5);
    // 0.5 * 2003 = 1001.5 rounds to 1002 > 1001.
    expect(computeImScale(2, 2003, 1, 1001)).toBe(1001 / 2003);
  });

  it('pads to the coarsest stride only when given one, with zeros, NCHW', () => {
    const a: NdArray = { dtype: 'float32', shape: [2, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => i + 1) };
    const b: NdArray = { dtype: 'float32', shape: [3, 1, 3], data: Float32Array.from({ length: 9 }, (_, i) => -(i + 1)) };
    const plain = imListToBlob([a, b], 0);
    expect(plain.shape).toEqual([2, 3, 3, 3]);
    const d = plain.data as Float32Array;
    // image 0, channel 1, row 0: pixels (0,0),(0,1),(0,2) -> 2, 5, 8; row 2 is padding.
    expect(Array.from(d.slice(9, 18))).toEqual([2, 5, 8, 11, 14, 17, 0, 0, 0]);
    // image 1, channel 2: column 0 holds -3, -6, -9; the rest is padding.
    expect(Array.from(d.slice(27 + 18, 27 + 27))).toEqual([-3, 0, 0, -6, 0, 0, -9, 0, 0]);
    expect(imListToBlob([a], 32).shape).toEqual([1, 3, 32, 32]);
    expect(imListToBlob([b], 2).shape).toEqual([1, 3, 4, 2]);
  });

  it('builds im_info from the padded blob size, as Detectron does', () => {
    const im: NdArray = { dtype: 'uint8', shape: [30, 45, 3], data: new Uint8Array(30 * 45 * 3).fill(120) };
    const fpn = getImageBlob(im, 40, 1333, { pixelMeans: DETECTRON_MEANS, coarsestStride: 32 });
    expect(fpn.imScale).toBe(40 / 30);
    expect(fpn.blob.shape).toEqual([1, 3, 64, 64]); // resized 40 x 60
    expect(Array.from(fpn.imInfo.data as Float32Array)).toEqual([64, 64, Math.fround(40 / 30)]);
    expect(fpn.imInfo.shape).toEqual([1, 3]);
    const c4 = getImageBlob(im, 40, 1333, { pixelMeans: DETECTRON_MEANS, coarsestStride: 0 });
    expect(c4.blob.shape).toEqual([1, 3, 40, 60]);
    expect(Array.from(c4.imInfo.data as Float32Array)).toEqual([40, 60, Math.fround(40 / 30)]);
    // A constant image stays constant: 120 - mean, and zero in the padding.
    const d = fpn.blob.data as Float32Array;
    expect(d[0]).toBe(Math.fround(120 - 102.9801));
    expect(d[64 * 64 - 1]).toBe(0);
  });

  it('rejects bad input with a clear message', () => {
    const gray: NdArray = { dtype: 'uint8', shape: [4, 4], data: new Uint8Array(16) };
    expect(() => subtractPixelMeans(gray, DETECTRON_MEANS)).toThrow(/expected an H x W x 3 BGR image, got shape \[4, 4\]/);
    const im: NdArray = { dtype: 'uint8', shape: [4, 4, 3], data: new Uint8Array(48) };
    expect(() => subtractPixelMeans(im, [1, 2])).toThrow(/pixelMeans must be three finite numbers/);
    expect(() => computeImScale(4, 4, 0, 10)).toThrow(/targetSize and maxSize must be positive/);
    expect(() => imListToBlob([], 32)).toThrow(/no images/);
    const f: NdArray = { dtype: 'float32', shape: [4, 4, 3], data: new Float32Array(48) };
    expect(() => imListToBlob([f], 2.5)).toThrow(/coarsestStride must be a non-negative integer/);
  });
});
