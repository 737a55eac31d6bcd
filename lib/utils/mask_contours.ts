/**
 * Contours of a binary mask as OpenCV's `cv2.findContours(mask, cv2.RETR_CCOMP,
 * cv2.CHAIN_APPROX_NONE)` returns them, which Detectron's vis_one_image draws as polygons.
 *
 * The algorithm is Suzuki & Abe's border following (1985) as OpenCV implements it: a raster
 * scan finds the start of each outer border (a 0 -> 1 step) and each hole border (a 1 -> 0 step
 * right of an unfinished border), and follows it with 8-connectivity, marking its pixels so that
 * it is not found again. We keep OpenCV's conventions because they decide the polygon vertices:
 *   - every border pixel is a vertex (CHAIN_APPROX_NONE), starting at the scan's start pixel;
 *   - the image is padded with a zero frame (cv::findContours does since OpenCV 3.2), so masks
 *     touching the image edge are closed there;
 *   - the order is OpenCV's contour tree in pre-order: each new contour is prepended to its
 *     parent's children, so outer borders come last-found first, each followed by its holes
 *     (again last-found first). With RETR_CCOMP a hole's parent is the outer border of the
 *     connected component around it, and everything inside a hole is top level again.
 */

/** One border: vertices x0, y0, x1, y1, ... in image pixels (pixel centres). */
export interface Contour {
  points: Int32Array;
  isHole: boolean;
  /** Index (in the returned list) of the outer border a hole belongs to; -1 for outer borders. */
  parent: number;
}

/** Region of the mask to search, [x0, x1) × [y0, y1); everything outside must be 0. */
export interface MaskRoi {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** OpenCV's chain-code directions: 0 = +x, then counter-clockwise on screen (y grows down). */
const DX = [1, 1, 0, -1, -1, -1, 0, 1];
const DY = [0, -1, -1, -1, 0, 1, 1, 1];

/** Marks OpenCV leaves on followed border pixels: visited, and visited on a right-hand bound. */
const VISITED = 2;
const RIGHT_BOUND = -126; // (schar)(2 | 0x80)

/** The padded 0/1 work image that border following marks in place. */
interface WorkImage {
  img: Int8Array;
  /** Padded width and height (region + 2). */
  w: number;
  h: number;
  /** Image coordinates of padded pixel (0, 0). */
  ox: number;
  oy: number;
  /** Flat-index offsets of the 8 directions, twice, so a search can run past direction 7. */
  deltas: Int32Array;
}

function makeWorkImage(mask: ArrayLike<number>, width: number, roi: MaskRoi): WorkImage {
  const rw = roi.x1 - roi.x0;
  const rh = roi.y1 - roi.y0;
  const w = rw + 2;
  const h = rh + 2;
  const img = new Int8Array(w * h);
  for (let y = 0; y < rh; y++) {
    const src = (roi.y0 + y) * width + roi.x0;
    const dst = (y + 1) * w + 1;
    for (let x = 0; x < rw; x++) if (mask[src + x] !== 0) img[dst + x] = 1;
  }
  const deltas = new Int32Array(16);
  for (let s = 0; s < 16; s++) deltas[s] = DY[s & 7] * w + DX[s & 7];
  return { img, w, h, ox: roi.x0 - 1, oy: roi.y0 - 1, deltas };
}

/**
 * Follows one border from flat index `start` (OpenCV's icvFetchContour, CHAIN_APPROX_NONE),
 * marking it in the work image, and returns its vertices in image coordinates.
 */
function followBorder(wi: WorkImage, start: number, isHole: boolean): Int32Array {
  const { img, w, deltas } = wi;
  const pts: number[] = [];
  let px = (start % w) + wi.ox;
  let py = Math.floor(start / w) + wi.oy;
  // First neighbour clockwise from the left (outer) or from the right (hole).
  const sEnd0 = isHole ? 0 : 4;
  let s = sEnd0;
  let i1 = start;
  do {
    s = (s - 1) & 7;
    i1 = start + deltas[s];
    if (img[i1] !== 0) break;
  } while (s !== sEnd0);
  if (s === sEnd0) {
    img[start] = RIGHT_BOUND; // an isolated pixel
    return Int32Array.of(px, py);
  }
  let i3 = start;
  for (;;) {
    const sEnd = s;
    let i4: number;
    for (;;) {
      i4 = i3 + deltas[++s];
      if (img[i4] !== 0) break;
    }
    s &= 7;
    // A pixel whose right neighbour is background is marked so no hole starts at it again.
    if ((s - 1) >>> 0 < sEnd >>> 0) img[i3] = RIGHT_BOUND;
    else if (img[i3] === 1) img[i3] = VISITED;
    pts.push(px, py);
    px += DX[s];
    py += DY[s];
    if (i4 === start && i3 === i1) break;
    i3 = i4;
    s = (s + 4) & 7;
  }
  return Int32Array.from(pts);
}

/** Labels the 8-connected component of foreground pixel `seed` with `label` (iterative fill). */
function labelComponent(wi: WorkImage, labels: Int32Array, seed: number, label: number): void {
  const stack = [seed];
  labels[seed] = label;
  while (stack.length > 0) {
    const i = stack.pop() as number;
    for (let s = 0; s < 8; s++) {
      const j = i + wi.deltas[s];
      if (wi.img[j] !== 0 && labels[j] === 0) {
        labels[j] = label;
        stack.push(j);
      }
    }
  }
}

interface FoundContour {
  points: Int32Array;
  isHole: boolean;
  /** Discovery index of the outer border, -1 for outer borders. */
  parent: number;
}

/** The raster scan of cvFindNextContour: all borders in discovery order. */
function scanBorders(wi: WorkImage): FoundContour[] {
  const { img, w, h } = wi;
  // Component label (discovery index of its outer border + 1) of each foreground pixel.
  const labels = new Int32Array(w * h);
  const found: FoundContour[] = [];
  for (let y = 1; y < h - 1; y++) {
    let prev = 0;
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const p = img[i];
      if (p === prev) continue;
      if (prev === 0 && p === 1) {
        labelComponent(wi, labels, i, found.length + 1);
        found.push({ points: followBorder(wi, i, false), isHole: false, parent: -1 });
        prev = img[i]; // now marked
      } else if (p === 0 && prev >= 1) {
        found.push({ points: followBorder(wi, i - 1, true), isHole: true, parent: labels[i - 1] - 1 });
        prev = 0;
      } else {
        prev = p;
      }
    }
  }
  return found;
}

/** OpenCV's output order: the contour tree in pre-order, children last-found first. */
function treeOrder(found: FoundContour[]): Contour[] {
  const holesOf = new Map<number, number[]>();
  found.forEach((c, k) => {
    if (!c.isHole) return;
    const list = holesOf.get(c.parent);
    if (list) list.push(k);
    else holesOf.set(c.parent, [k]);
  });
  const out: Contour[] = [];
  for (let k = found.length - 1; k >= 0; k--) {
    if (found[k].isHole) continue;
    const outerIndex = out.length;
    out.push({ points: found[k].points, isHole: false, parent: -1 });
    const holes = holesOf.get(k) ?? [];
    for (let j = holes.length - 1; j >= 0; j--) {
      out.push({ points: found[holes[j]].points, isHole: true, parent: outerIndex });
    }
  }
  return out;
}

/**
 * cv2.findContours(mask, RETR_CCOMP, CHAIN_APPROX_NONE) of a row-major H×W mask (nonzero =
 * foreground). `roi` limits the search to a region that holds all the foreground (e.g. the
 * mask's bounding box), which gives the same contours at a fraction of the cost.
 */
export function findContours(mask: ArrayLike<number>, height: number, width: number, roi?: MaskRoi): Contour[] {
  if (mask.length !== height * width) {
    throw new Error(`findContours: mask has ${mask.length} values, expected ${height}×${width}`);
  }
  const r = roi ?? { x0: 0, y0: 0, x1: width, y1: height };
  if (r.x0 < 0 || r.y0 < 0 || r.x1 > width || r.y1 > height || r.x1 < r.x0 || r.y1 < r.y0) {
    throw new Error(`findContours: region [${r.x0}, ${r.x1}) × [${r.y0}, ${r.y1}) is outside the ${width}×${height} mask`);
  }
  return treeOrder(scanBorders(makeWorkImage(mask, width, r)));
}
