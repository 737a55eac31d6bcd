/**
 * Detectron's visualisation. Expected colours and contours were produced locally with
 * matplotlib 3.10 (plt.get_cmap('rainbow')), numpy (colormap.py's float32 arithmetic) and
 * OpenCV 4.14 (cv2.findContours(m, RETR_CCOMP, CHAIN_APPROX_NONE)); 300 random masks were also
 * compared with OpenCV vertex for vertex (and in order) during development.
 */
import sharp from 'sharp';
import type { Detection, ImageDetections } from '../lib/core/detections';
import { encode } from '../lib/datasets/pycocotools/mask';
import { COCO_CLASSES, getCocoDataset } from '../lib/datasets/dummy_datasets';
import { colormap, rainbow, rainbowColors } from '../lib/utils/colormap';
import { findContours } from '../lib/utils/mask_contours';
import type { NdArray } from '../lib/utils/ndarray';
import { jpegToPdf } from '../lib/utils/pdf_writer';
import { serifTextExtent } from '../lib/utils/text_metrics';
import { COCO_KEYPOINTS } from '../lib/utils/keypoints';
import {
  drawOrder, getClassString, kpConnections, maskColor, overlaySvg, visOneImage, visOutputName, writeVisOneImage,
} from '../lib/utils/vis';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

describe('colormap', () => {
  it('has Detectron\'s 79 colours, float32 × 255, BGR unless rgb', () => {
    expect(colormap()).toHaveLength(79);
    // numpy: colormap(rgb=True)[:2] and colormap()[0]
    expect(colormap(true)[0]).toEqual([0, 113.98500061035156, 188.9550018310547]);
    expect(colormap(true)[1]).toEqual([216.75, 82.875, 24.989999771118164]);
    expect(colormap()[0]).toEqual([188.9550018310547, 113.98500061035156, 0]);
    expect(colormap(true)[78]).toEqual([255, 255, 255]);
  });

  it('whitens mask colours by 40 % and cycles them', () => {
    const c = maskColor(0);
    expect(c[0]).toBeCloseTo(0.4, 12);
    expect(c[1]).toBeCloseTo(0.44699999690055847 * 0.6 + 0.4, 12);
    expect(c[2]).toBeCloseTo(0.7409999966621399 * 0.6 + 0.4, 12);
    expect(maskColor(79)).toEqual(maskColor(0));
  });

  it('rainbow matches matplotlib over linspace(0, 1, 17)', () => {
    const colors = rainbowColors(17);
    expect(colors).toHaveLength(17);
    const expected: Array<[number, number, number]> = [
      [0.5, 0.0, 1.0],
      [0.37450980392156863, 0.19584546700716696, 0.9951469164070644],
      [0.0019607843137254832, 0.7092813076058534, 0.9232891061054893],
      [0.503921568627451, 0.9999810273487268, 0.7049255469061472],
      [1.0, 0.18374951781657037, 0.09226835946330202],
      [1.0, 1.2246467991473532e-16, 6.123233995736766e-17],
    ];
    [0, 1, 4, 8, 15, 16].forEach((i, k) => {
      for (let j = 0; j < 3; j++) expect(colors[i][j]).toBeCloseTo(expected[k][j], 14);
      expect(colors[i][3]).toBe(1);
    });
    expect(rainbow(0.5)).toEqual(colors[8]);
  });
});

describe('findContours (RETR_CCOMP, CHAIN_APPROX_NONE)', () => {
  const mask = (rows: number[][]): [Uint8Array, number, number] => [Uint8Array.from(rows.flat()), rows.length, rows[0].length];
  const pts = (rows: number[][]): Array<{ points: number[]; parent: number }> =>
    findContours(...mask(rows)).map((c) => ({ points: Array.from(c.points), parent: c.parent }));

  it('follows an outer border with its hole, diagonal neighbours joined', () => {
    const m: number[][] = Array.from({ length: 7 }, () => new Array(8).fill(0));
    for (let y = 1; y < 6; y++) for (let x = 1; x < 7; x++) m[y][x] = 1;
    m[3][3] = 0;
    m[3][4] = 0;
    m[0][7] = 1;
    expect(pts(m)).toEqual([
      { points: [7, 0, 6, 1, 5, 1, 4, 1, 3, 1, 2, 1, 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 2, 5, 3, 5, 4, 5, 5, 5, 6, 5, 6, 4, 6, 3, 6, 2, 6, 1], parent: -1 },
      { points: [2, 3, 3, 2, 4, 2, 5, 3, 4, 4, 3, 4], parent: 0 },
    ]);
  });

  it('orders the tree as OpenCV: last-found outer first, each followed by its holes', () => {
    expect(pts([[1, 1, 1, 1, 1], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [0, 0, 1, 0, 0]])).toEqual([
      { points: [2, 4], parent: -1 },
      { points: [0, 0, 0, 1, 0, 2, 1, 2, 2, 2, 3, 2, 4, 2, 4, 1, 4, 0, 3, 0, 2, 0, 1, 0], parent: -1 },
      { points: [2, 1, 3, 0, 4, 1, 3, 2], parent: 1 },
      { points: [0, 1, 1, 0, 2, 1, 1, 2], parent: 1 },
    ]);
  });

  it('handles single pixels, lines and masks touching the image edge', () => {
    expect(pts([[1, 0, 0], [0, 0, 0], [0, 0, 0]])).toEqual([{ points: [0, 0], parent: -1 }]);
    expect(pts([[1, 1, 1], [1, 1, 1]])).toEqual([{ points: [0, 0, 0, 1, 1, 1, 2, 1, 2, 0, 1, 0], parent: -1 }]);
    expect(pts([[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]])).toEqual([{ points: [0, 1, 1, 1, 2, 1, 3, 1, 2, 1, 1, 1], parent: -1 }]);
    expect(pts([[0, 0], [0, 0]])).toEqual([]);
  });

  it('gives the same contours when searching only a region holding the mask', () => {
    const h = 30;
    const w = 40;
    const m = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const inside = (x - 20) ** 2 / 100 + (y - 15) ** 2 / 49 <= 1 && (x - 22) ** 2 + (y - 15) ** 2 > 6;
      m[y * w + x] = inside ? 1 : 0;
    }
    const full = findContours(m, h, w);
    expect(full.map((c) => c.isHole)).toEqual([false, true]);
    expect(findContours(m, h, w, { x0: 10, y0: 8, x1: 31, y1: 23 })).toEqual(full);
  });
});

describe('labels and order', () => {
  it('uses the dummy COCO dataset names', () => {
    expect(COCO_CLASSES).toHaveLength(81);
    expect(getCocoDataset().classes[0]).toBe('__background__');
    expect(getCocoDataset().classes[1]).toBe('person');
    expect(getCocoDataset().classes[80]).toBe('toothbrush');
  });

  it('formats class strings as Detectron (Python rounding, no lstrip effect)', () => {
    expect(getClassString(1, 0.987, getCocoDataset())).toBe('person 0.99');
    expect(getClassString(3, 0.125, getCocoDataset())).toBe('car 0.12'); // ties to even, like '{:0.2f}'
    expect(getClassString(7, 1, null)).toBe('id7 1.00');
  });

  it('draws largest boxes first and skips those under thresh', () => {
    const d = (score: number, box: [number, number, number, number]): Detection => ({ classId: 1, score, box });
    const dets = [d(0.9, [0, 0, 10, 10]), d(0.95, [0, 0, 30, 30]), d(0.5, [0, 0, 50, 50]), d(0.7, [0, 0, 20, 20])];
    expect(drawOrder(dets, 0.7)).toEqual([1, 3, 0]);
  });

  it('builds the COCO skeleton', () => {
    const lines = kpConnections(COCO_KEYPOINTS);
    expect(lines).toHaveLength(15);
    expect(lines[0]).toEqual([1, 2]); // left_eye - right_eye
    expect(lines[14]).toEqual([12, 11]); // right_hip - left_hip
  });

  it('measures DejaVu Serif text', () => {
    const e = serifTextExtent('ll', 2048);
    expect(e).toEqual({ width: 1310, ascent: 1556, descent: 426 });
  });

  it('names outputs as Detectron', () => {
    expect(visOutputName('/data/a/b.jpg', 'pdf')).toBe('b.jpg.pdf');
  });
});

/** A W×H BGR image of one colour. */
function flatImage(w: number, h: number, bgr: [number, number, number]): NdArray {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(bgr, 3 * i);
  return { dtype: 'uint8', shape: [h, w, 3], data };
}

function squareMask(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Detection['mask'] {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return encode(m, h, w);
}

async function rawPixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('visOneImage', () => {
  const W = 64;
  const H = 48;
  // RGB (200, 150, 100) stored as BGR.
  const image = flatImage(W, H, [100, 150, 200]);
  const person: Detection = {
    classId: 1, score: 0.98, box: [10, 12, 40, 42], mask: squareMask(W, H, 10, 12, 41, 43),
  };
  const dets: ImageDetections = { height: H, width: W, imScale: 1, detections: [person] };

  it('renders a PNG of the image size with the mask blended at alpha 0.5', async () => {
    const png = await visOneImage(image, dets, { format: 'png' });
    expect(png).not.toBeNull();
    const px = await rawPixels(png as Buffer);
    expect([px.width, px.height]).toEqual([W, H]);
    const at = (x: number, y: number): number[] => Array.from(px.data.subarray((y * W + x) * px.channels, (y * W + x) * px.channels + 3));
    // Inside: the whitened first colour (102, 170, 215) over (200, 150, 100) at 0.5.
    const inside = at(25, 27);
    [151, 160, 157.5].forEach((v, c) => expect(Math.abs(inside[c] - v)).toBeLessThanOrEqual(1.5));
    // Far from everything: the image itself.
    expect(at(55, 45)).toEqual([200, 150, 100]);
    // On the border: white-ish edge over the blend (brighter than the inside in every channel).
    const edge = at(10, 27);
    for (let c = 0; c < 3; c++) expect(edge[c]).toBeGreaterThan(inside[c]);
  });

  it('writes nothing below thresh unless alwaysOut, then the image unchanged', async () => {
    const low: ImageDetections = { ...dets, detections: [{ ...person, score: 0.5 }] };
    expect(await visOneImage(image, low, { format: 'png' })).toBeNull();
    const png = await visOneImage(image, low, { format: 'png', alwaysOut: true });
    const px = await rawPixels(png as Buffer);
    for (let i = 0; i < W * H; i++) expect(Array.from(px.data.subarray(i * px.channels, i * px.channels + 3))).toEqual([200, 150, 100]);
  });

  it('puts masks and boxes under keypoints under labels', () => {
    const kps = COCO_KEYPOINTS.map((_, k): [number, number, number, number] => [12 + k, 20, 3, 0.9]);
    const svg = overlaySvg({ ...dets, detections: [{ ...person, keypoints: kps }] });
    const rect = svg.indexOf('<rect');
    const path = svg.indexOf('<path');
    const line = svg.indexOf('<line');
    const text = svg.indexOf('<text');
    expect(rect).toBeGreaterThan(0);
    expect(path).toBeGreaterThan(rect);
    expect(line).toBeGreaterThan(path);
    expect(text).toBeGreaterThan(line);
    expect(svg).toContain('>person 0.98</text>');
    expect(svg).toContain('stroke="#008000" stroke-opacity="0.3"');
    // The box is snapped to pixel centres: data 10 -> picture 10.5 -> 11.5.
    expect(svg).toContain('<rect x="11.5" y="13.5" width="30" height="30"');
  });

  it('draws each mask contour as a polygon through pixel centres', () => {
    const small: Detection = { classId: 3, score: 0.8, box: [5, 3, 7, 4], mask: squareMask(W, H, 5, 3, 8, 5) };
    const svg = overlaySvg({ ...dets, detections: [small] }, { showClass: false, boxAlpha: 0 });
    expect(svg).toContain('<path d="M5.5 3.5L5.5 4.5L6.5 4.5L7.5 4.5L7.5 3.5L6.5 3.5Z" fill="#66aad7" fill-opacity="0.5" stroke="#ffffff" stroke-opacity="0.5" stroke-width="3.333"/>');
    expect(svg).not.toContain('<rect');
  });

  it('writes a JPEG and a one-page PDF holding the JPEG', async () => {
    const jpg = (await visOneImage(image, dets, { format: 'jpg' })) as Buffer;
    expect([jpg[0], jpg[1]]).toEqual([0xff, 0xd8]);
    expect((await sharp(jpg).metadata()).width).toBe(W);
    const pdf = (await visOneImage(image, dets, { format: 'pdf' })) as Buffer;
    expect(pdf.subarray(0, 7).toString('latin1')).toBe('%PDF-1.');
    expect(pdf.includes(jpg)).toBe(true);
    // Page in points at Detectron's 200 dpi: 64 px -> 23.04 pt.
    expect(pdf.toString('latin1')).toContain('/MediaBox [0 0 23.04 17.28]');
  });

  it('writes OUTPUT_DIR/basename.ext, creating the directory, or nothing', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vis-')), 'a', 'b');
    try {
      const out = await writeVisOneImage(image, '/images/x.jpg', dir, dets, { format: 'png' });
      expect(out).toBe(path.join(dir, 'x.jpg.png'));
      expect((await sharp(out as string).metadata()).width).toBe(W);
      const none = await writeVisOneImage(image, '/images/y.jpg', dir, { ...dets, detections: [] }, { format: 'png' });
      expect(none).toBeNull();
      expect(fs.readdirSync(dir)).toEqual(['x.jpg.png']);
    } finally {
      fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
    }
  });

  it('rejects detections for another image size', async () => {
    await expect(visOneImage(image, { ...dets, width: W + 1 })).rejects.toThrow(/65×48/);
  });
});

describe('jpegToPdf', () => {
  it('writes a valid cross-reference table', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 255, g: 0, b: 0 } } }).jpeg().toBuffer();
    const pdf = jpegToPdf(jpeg, 8, 4);
    const text = pdf.toString('latin1');
    expect(text.startsWith('%PDF-1.4\n')).toBe(true);
    expect(text.endsWith('%%EOF\n')).toBe(true);
    const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
    expect(text.slice(startxref, startxref + 5)).toBe('xref\n');
    const header = /^xref\n0 (\d+)\n/.exec(text.slice(startxref)) as RegExpExecArray;
    const count = Number(header[1]);
    expect(count).toBe(7);
    const entries = text.slice(startxref + header[0].length, startxref + header[0].length + 20 * count);
    expect(entries.slice(0, 20)).toBe('0000000000 65535 f \n');
    for (let i = 1; i < count; i++) {
      const entry = entries.slice(20 * i, 20 * i + 20);
      expect(entry).toMatch(/^\d{10} 00000 n \n$/);
      const offset = Number(entry.slice(0, 10));
      expect(text.slice(offset, offset + `${i} 0 obj`.length)).toBe(`${i} 0 obj`);
    }
    expect(text).toContain(`/Width 8 /Height 4 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length}`);
    expect(text).toContain('/MediaBox [0 0 8 4]');
    expect(() => jpegToPdf(Buffer.from('not a jpeg'), 8, 4)).toThrow(/JPEG/);
  });
});
