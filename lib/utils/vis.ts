/**
 * Detectron's detection visualisation (detectron/utils/vis.py, vis_one_image: the matplotlib
 * version that infer_simple saves as PDF/PNG), rendered without matplotlib: the overlay is an
 * SVG that sharp (librsvg) composites onto the image.
 *
 * What is drawn, as vis_one_image draws it (sizes in points at `dpi`, 200 in Detectron):
 *   - detections with score >= thresh, largest box first (less occlusion);
 *   - the box: edge 'g' (#008000), 0.5 pt, alpha box_alpha (0.3 in infer_simple);
 *   - each mask as the polygons of its cv2.findContours(RETR_CCOMP, CHAIN_APPROX_NONE) contours,
 *     outer borders and holes alike: face = the colormap colour whitened by 40 %, edge white
 *     1.2 pt, alpha 0.5 on both; colours cycle over the detections that have a mask;
 *   - keypoints above kp_thresh (logit): the COCO skeleton, 1 pt lines and '.' markers (3 pt),
 *     alpha 0.7, coloured by matplotlib's 'rainbow' over the 15 lines + 2 mid lines
 *     (nose - mid shoulder, mid shoulder - mid hip);
 *   - 'class 0.98' in 3 pt serif, white, on a 'g' box with alpha 0.4, 2 px above the box.
 * matplotlib draws by layer, not in call order: all patches (boxes, masks), then all lines
 * (keypoints), then all text; the SVG keeps those layers. Coordinates: matplotlib shows pixel
 * (x, y) centred on data point (x, y), so data point v is at v + 0.5 in the picture.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { Detection, ImageDetections } from '../core/detections';
import { rleToBbox, toRle } from '../datasets/pycocotools/mask';
import { formatFixed } from '../datasets/pycocotools/cocoeval';
import { ClassNames, getCocoDataset } from '../datasets/dummy_datasets';
import { writeFileAtomic } from './atomic_write';
import { colormap, rainbowColors } from './colormap';
import { COCO_KEYPOINTS } from './keypoints';
import { findContours } from './mask_contours';
import type { NdArray } from './ndarray';
import { jpegToPdf } from './pdf_writer';
import { serifTextExtent } from './text_metrics';

export type VisFormat = 'pdf' | 'png' | 'jpg' | 'jpeg';

export interface VisOptions {
  /** Class names for the labels; null labels 'id{n}' (Detectron's dataset=None). Default COCO. */
  dataset?: ClassNames | null;
  /** Minimum score of a drawn detection. Default 0.7 (infer_simple's --thresh). */
  thresh?: number;
  /** Minimum keypoint logit of a drawn keypoint. Default 2 (--kp-thresh). */
  kpThresh?: number;
  /** Opacity of the box edges; 0 hides them. Default 0.3 (what infer_simple passes). */
  boxAlpha?: number;
  /** Draw 'class score' labels. Default true (what infer_simple passes). */
  showClass?: boolean;
  /** Resolution the point sizes are rendered at, and the PDF page's. Default 200 (Detectron's). */
  dpi?: number;
  /** Encoded picture format. Default 'pdf' (--output-ext). */
  format?: VisFormat;
  /** Produce a picture even when no detection reaches thresh (--always-out). Default false. */
  alwaysOut?: boolean;
  /** JPEG quality for 'jpg' and for the picture inside a PDF. Default 95. */
  jpegQuality?: number;
}

type Resolved = Required<Omit<VisOptions, 'dataset'>> & { dataset: ClassNames | null };

function resolveOptions(o: VisOptions): Resolved {
  return {
    dataset: o.dataset === undefined ? getCocoDataset() : o.dataset,
    thresh: o.thresh ?? 0.7,
    kpThresh: o.kpThresh ?? 2,
    boxAlpha: o.boxAlpha ?? 0.3,
    showClass: o.showClass ?? true,
    dpi: o.dpi ?? 200,
    format: o.format ?? 'pdf',
    alwaysOut: o.alwaysOut ?? false,
    jpegQuality: o.jpegQuality ?? 95,
  };
}

// Detectron's styles, in matplotlib's units (points; colours in [0, 1]).
const BOX_EDGE_PT = 0.5;
const MASK_EDGE_PT = 1.2;
const MASK_ALPHA = 0.5;
/** vis_one_image's w_ratio: mask colours are mixed with 40 % white. */
const MASK_WHITEN = 0.4;
const KP_LINE_PT = 1.0;
/** '.' markers are circles of half the marker size, with matplotlib's 1 pt marker edge. */
const KP_MARKER_PT = 3.0;
const KP_MARKER_EDGE_PT = 1.0;
const KP_ALPHA = 0.7;
const LABEL_FONT_PT = 3;
const LABEL_BG_ALPHA = 0.4;
/** Label baseline above the box top, in data pixels. */
const LABEL_LIFT = 2;
/** matplotlib's 'g'. */
const GREEN: [number, number, number] = [0, 0.5, 0];
const WHITE: [number, number, number] = [1, 1, 1];

/** kp_connections: the COCO skeleton as index pairs into `keypoints`. */
export function kpConnections(keypoints: readonly string[]): Array<[number, number]> {
  const pairs: Array<[string, string]> = [
    ['left_eye', 'right_eye'], ['left_eye', 'nose'], ['right_eye', 'nose'], ['right_eye', 'right_ear'],
    ['left_eye', 'left_ear'], ['right_shoulder', 'right_elbow'], ['right_elbow', 'right_wrist'],
    ['left_shoulder', 'left_elbow'], ['left_elbow', 'left_wrist'], ['right_hip', 'right_knee'],
    ['right_knee', 'right_ankle'], ['left_hip', 'left_knee'], ['left_knee', 'left_ankle'],
    ['right_shoulder', 'left_shoulder'], ['right_hip', 'left_hip'],
  ];
  return pairs.map(([a, b]) => [indexOfKeypoint(keypoints, a), indexOfKeypoint(keypoints, b)]);
}

function indexOfKeypoint(keypoints: readonly string[], name: string): number {
  const i = keypoints.indexOf(name);
  if (i < 0) throw new Error(`keypoint ${name} is not in the keypoint list`);
  return i;
}

/** get_class_string: 'person 0.98' ('id{n}' without a dataset). */
export function getClassString(classIndex: number, score: number, dataset: ClassNames | null): string {
  const name = dataset?.classes[classIndex] ?? `id${classIndex}`;
  // Detectron's .lstrip('0') acts on ' 0.98', which starts with a space: it removes nothing.
  return `${name} ${formatFixed(score, 2)}`;
}

/**
 * The indices vis_one_image draws, in drawing order: score >= thresh, largest box area first
 * (areas in float32 as numpy's, without Detectron's usual +1; equal areas keep their order).
 */
export function drawOrder(detections: readonly Detection[], thresh: number): number[] {
  const f = Math.fround;
  const areas = detections.map(({ box }) => f(f(f(box[2]) - f(box[0])) * f(f(box[3]) - f(box[1]))));
  return detections
    .map((_, i) => i)
    .sort((a, b) => areas[b] - areas[a] || a - b)
    .filter((i) => detections[i].score >= thresh);
}

/** Whether vis_one_image writes a picture at all. */
export function hasVisibleDetection(dets: ImageDetections, thresh: number): boolean {
  return dets.detections.some((d) => d.score >= thresh);
}

/** The mask colour of the k-th drawn mask: colormap(rgb=True)/255 whitened, in [0, 1]. */
export function maskColor(k: number): [number, number, number] {
  const list = colormap(true);
  const c = list[k % list.length];
  return [0, 1, 2].map((j) => Math.fround(c[j] / 255) * (1 - MASK_WHITEN) + MASK_WHITEN) as [number, number, number];
}

// ------------------------------------------------------------------------------------------
// SVG overlay.

/** An SVG colour from [0, 1] components, rounded as Agg converts to 8 bits. */
function svgColor(c: readonly number[]): string {
  const hex = (v: number): string => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, '0');
  return `#${hex(c[0])}${hex(c[1])}${hex(c[2])}`;
}

/** Short decimal for SVG attributes. */
function n(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '');
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Layers of the overlay, in matplotlib's z-order. */
interface Layers {
  patches: string[];
  lines: string[];
  texts: string[];
}

/**
 * The box rectangle. matplotlib snaps rectilinear paths to the pixel grid: with an odd rounded
 * line width, vertices go to pixel centres, floor(v + 0.5) + 0.5 in picture coordinates.
 */
function boxSvg(box: Detection['box'], pxPerPt: number, alpha: number): string {
  const snap = (v: number): number => Math.floor(v + 0.5 + 0.5) + 0.5;
  const lw = BOX_EDGE_PT * pxPerPt;
  const [x0, y0, x1, y1] = [snap(box[0]), snap(box[1]), snap(box[2]), snap(box[3])];
  return (
    `<rect x="${n(x0)}" y="${n(y0)}" width="${n(x1 - x0)}" height="${n(y1 - y0)}" fill="none" ` +
    `stroke="${svgColor(GREEN)}" stroke-opacity="${n(alpha)}" stroke-width="${n(lw)}"/>`
  );
}

/**
 * The mask cut to its bounding box, decoded straight from the runs: decoding whole images costs
 * most of the drawing time when there are many masks. Contours are the same as on the full mask
 * (findContours pads with zeros either way).
 */
function decodeRegion(compressed: NonNullable<Detection['mask']>): { mask: Uint8Array; x0: number; y0: number; w: number; h: number } {
  const rle = toRle(compressed);
  const [x0, y0, w, h] = rleToBbox(rle);
  const mask = new Uint8Array(w * h);
  let p = 0;
  for (let j = 0; j < rle.counts.length; j++) {
    const run = rle.counts[j];
    // Odd runs are foreground; positions are column-major: p = x * H + y.
    if (j % 2 === 1) {
      let x = Math.floor(p / rle.h);
      let y = p - x * rle.h;
      for (let k = 0; k < run; k++) {
        mask[(y - y0) * w + (x - x0)] = 1;
        if (++y === rle.h) {
          y = 0;
          x += 1;
        }
      }
    }
    p += run;
  }
  return { mask, x0, y0, w, h };
}

/** One polygon per contour (outer borders and holes), as vis_one_image adds them. */
function maskSvg(det: Detection, height: number, width: number, color: readonly number[], pxPerPt: number): string[] {
  const rle = det.mask as NonNullable<Detection['mask']>;
  if (rle.size[0] !== height || rle.size[1] !== width) {
    throw new Error(`mask of size ${rle.size[0]}×${rle.size[1]} on a ${height}×${width} image`);
  }
  const region = decodeRegion(rle);
  const contours = findContours(region.mask, region.h, region.w);
  const style =
    `fill="${svgColor(color)}" fill-opacity="${MASK_ALPHA}" stroke="${svgColor(WHITE)}" ` +
    `stroke-opacity="${MASK_ALPHA}" stroke-width="${n(MASK_EDGE_PT * pxPerPt)}"`;
  const [ox, oy] = [region.x0 + 0.5, region.y0 + 0.5];
  return contours.map(({ points }) => {
    const d: string[] = [];
    for (let k = 0; k < points.length; k += 2) d.push(`${k === 0 ? 'M' : 'L'}${points[k] + ox} ${points[k + 1] + oy}`);
    return `<path d="${d.join('')}Z" ${style}/>`;
  });
}

type Kp = readonly [number, number, number, number];

function kpLineSvg(p: readonly number[], q: readonly number[], color: string, pxPerPt: number): string {
  return (
    `<line x1="${n(p[0] + 0.5)}" y1="${n(p[1] + 0.5)}" x2="${n(q[0] + 0.5)}" y2="${n(q[1] + 0.5)}" ` +
    `stroke="${color}" stroke-opacity="${KP_ALPHA}" stroke-width="${n(KP_LINE_PT * pxPerPt)}" stroke-linecap="square"/>`
  );
}

function kpMarkerSvg(p: readonly number[], color: string, pxPerPt: number): string {
  return (
    `<circle cx="${n(p[0] + 0.5)}" cy="${n(p[1] + 0.5)}" r="${n((KP_MARKER_PT / 4) * pxPerPt)}" ` +
    `fill="${color}" fill-opacity="${KP_ALPHA}" stroke="${color}" stroke-opacity="${KP_ALPHA}" ` +
    `stroke-width="${n(KP_MARKER_EDGE_PT * pxPerPt)}"/>`
  );
}

/** vis_one_image's keypoint block: skeleton lines and markers, then the two mid lines. */
function keypointsSvg(kps: readonly Kp[], kpThresh: number, pxPerPt: number): string[] {
  if (kps.length !== COCO_KEYPOINTS.length) {
    throw new Error(`vis draws COCO's ${COCO_KEYPOINTS.length} keypoints, the detection has ${kps.length}`);
  }
  const kpLines = kpConnections(COCO_KEYPOINTS);
  const colors = rainbowColors(kpLines.length + 2).map(svgColor);
  const out: string[] = [];
  kpLines.forEach(([i1, i2], l) => {
    if (kps[i1][2] > kpThresh && kps[i2][2] > kpThresh) out.push(kpLineSvg(kps[i1], kps[i2], colors[l], pxPerPt));
    if (kps[i1][2] > kpThresh) out.push(kpMarkerSvg(kps[i1], colors[l], pxPerPt));
    if (kps[i2][2] > kpThresh) out.push(kpMarkerSvg(kps[i2], colors[l], pxPerPt));
  });
  const at = (name: string): Kp => kps[indexOfKeypoint(COCO_KEYPOINTS, name)];
  const mid = (a: Kp, b: Kp): number[] => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const [rs, ls, rh, lh, nose] = ['right_shoulder', 'left_shoulder', 'right_hip', 'left_hip', 'nose'].map(at);
  const midShoulder = mid(rs, ls);
  const scMidShoulder = Math.min(rs[2], ls[2]);
  const midHip = mid(rh, lh);
  const scMidHip = Math.min(rh[2], lh[2]);
  if (scMidShoulder > kpThresh && nose[2] > kpThresh) {
    out.push(kpLineSvg(midShoulder, nose, colors[kpLines.length], pxPerPt));
  }
  if (scMidShoulder > kpThresh && scMidHip > kpThresh) {
    out.push(kpLineSvg(midShoulder, midHip, colors[kpLines.length + 1], pxPerPt));
  }
  return out;
}

/**
 * The label: baseline 2 px above the box at its left edge, on a background box the size of the
 * text's layout (pad 0) that matplotlib snaps to whole pixels (a fill without edge).
 */
function labelSvg(text: string, box: Detection['box'], pxPerPt: number): string {
  const size = LABEL_FONT_PT * pxPerPt;
  const ext = serifTextExtent(text, size);
  const x = box[0] + 0.5;
  const baseline = box[1] - LABEL_LIFT + 0.5;
  const r = (v: number): number => Math.floor(v + 0.5);
  const [bx0, by0, bx1, by1] = [r(x), r(baseline - ext.ascent), r(x + ext.width), r(baseline + ext.descent)];
  return (
    `<rect x="${bx0}" y="${by0}" width="${bx1 - bx0}" height="${by1 - by0}" fill="${svgColor(GREEN)}" ` +
    `fill-opacity="${LABEL_BG_ALPHA}"/>` +
    `<text x="${Math.round(x)}" y="${Math.round(baseline)}" font-family="DejaVu Serif, serif" ` +
    `font-size="${n(size)}" fill="#ffffff">${xmlEscape(text)}</text>`
  );
}

/** The whole overlay for one image, as an SVG document the size of the image. */
export function overlaySvg(dets: ImageDetections, options: VisOptions = {}): string {
  const o = resolveOptions(options);
  const pxPerPt = o.dpi / 72;
  const layers: Layers = { patches: [], lines: [], texts: [] };
  let maskColorId = 0;
  for (const i of drawOrder(dets.detections, o.thresh)) {
    const det = dets.detections[i];
    if (o.boxAlpha > 0) layers.patches.push(boxSvg(det.box, pxPerPt, o.boxAlpha));
    if (o.showClass) layers.texts.push(labelSvg(getClassString(det.classId, det.score, o.dataset), det.box, pxPerPt));
    if (det.mask) {
      // Appended one by one: a mask can have more contours than a spread's argument limit.
      for (const p of maskSvg(det, dets.height, dets.width, maskColor(maskColorId), pxPerPt)) layers.patches.push(p);
      maskColorId += 1;
    }
    if (det.keypoints) for (const l of keypointsSvg(det.keypoints, o.kpThresh, pxPerPt)) layers.lines.push(l);
  }
  const { width, height } = dets;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<g stroke-linejoin="miter">${layers.patches.join('')}</g>` +
    `<g stroke-linejoin="round">${layers.lines.join('')}</g>` +
    `<g>${layers.texts.join('')}</g></svg>`
  );
}

// ------------------------------------------------------------------------------------------
// Rendering and encoding.

/** BGR uint8 H×W×3 (imread's layout) as packed RGB, what imshow(im[:, :, ::-1]) shows. */
function bgrToRgb(image: NdArray): { rgb: Buffer; height: number; width: number } {
  const [height, width, channels] = image.shape;
  if (image.dtype !== 'uint8' || image.shape.length !== 3 || channels !== 3) {
    throw new Error(`visOneImage needs a uint8 H×W×3 BGR image, got ${image.dtype} [${image.shape.join(', ')}]`);
  }
  const src = image.data as Uint8Array;
  const rgb = Buffer.allocUnsafe(src.length);
  for (let i = 0; i < src.length; i += 3) {
    rgb[i] = src[i + 2];
    rgb[i + 1] = src[i + 1];
    rgb[i + 2] = src[i];
  }
  return { rgb, height, width };
}

async function encode(pipeline: sharp.Sharp, o: Resolved, width: number, height: number): Promise<Buffer> {
  // 4:4:4 keeps the thin coloured lines and small labels from bleeding.
  const jpeg = (): Promise<Buffer> => pipeline.jpeg({ quality: o.jpegQuality, chromaSubsampling: '4:4:4' }).toBuffer();
  switch (o.format) {
    case 'png':
      return pipeline.png().toBuffer();
    case 'jpg':
    case 'jpeg':
      return jpeg();
    case 'pdf':
      return jpegToPdf(await jpeg(), width, height, { dpi: o.dpi });
    default:
      throw new Error(`unsupported visualisation format ${String(o.format)} (pdf, png, jpg)`);
  }
}

/**
 * vis_one_image: the image with its detections drawn, encoded as `options.format`; null when no
 * detection reaches the threshold and `alwaysOut` is off (Detectron writes nothing then).
 */
export async function visOneImage(imageBGR: NdArray, dets: ImageDetections, options: VisOptions = {}): Promise<Buffer | null> {
  const o = resolveOptions(options);
  if (!o.alwaysOut && !hasVisibleDetection(dets, o.thresh)) return null;
  const { rgb, height, width } = bgrToRgb(imageBGR);
  if (height !== dets.height || width !== dets.width) {
    throw new Error(`detections are for a ${dets.width}×${dets.height} image, the image is ${width}×${height}`);
  }
  let pipeline = sharp(rgb, { raw: { width, height, channels: 3 } });
  const svg = overlaySvg(dets, options);
  pipeline = pipeline.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  return encode(pipeline, o, width, height);
}

/** Detectron's output file name: the image's base name plus '.ext' ('a.jpg' -> 'a.jpg.pdf'). */
export function visOutputName(imName: string, format: VisFormat | string): string {
  return `${path.basename(imName)}.${format}`;
}

/**
 * vis_one_image with its file handling: creates `outputDir`, writes
 * `outputDir/basename(imName).ext` atomically, and returns its path (null when nothing was due).
 */
export async function writeVisOneImage(
  imageBGR: NdArray, imName: string, outputDir: string, dets: ImageDetections, options: VisOptions = {},
): Promise<string | null> {
  const picture = await visOneImage(imageBGR, dets, options);
  if (picture === null) return null;
  await fs.mkdir(outputDir, { recursive: true });
  const out = path.join(outputDir, visOutputName(imName, resolveOptions(options).format));
  await writeFileAtomic(out, picture);
  return out;
}
