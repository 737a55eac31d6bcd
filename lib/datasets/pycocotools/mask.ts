/**
 * pycocotools' mask API (common/maskApi.c + PythonAPI/pycocotools/_mask.pyx), bit-exact.
 *
 * COCO masks are run-length encoded in column-major (Fortran) order: pixel (y, x) of an H×W mask
 * is position x*H + y, and `counts` alternates runs of 0s and 1s, starting with 0s (possibly an
 * empty run). Our images are row-major, so every entry point says which order it takes:
 * `encode`/`decode` work on row-major H×W masks (what the rest of Detectron.ts uses),
 * `encodeColumnMajor`/`decodeColumnMajor` on pycocotools' native layout.
 *
 * Two levels, as in pycocotools:
 *  - `Rle` (uncompressed counts in a Uint32Array) and the `rle*`/`bbIou` functions of maskApi.c;
 *  - `CompressedRle` (`{size: [h, w], counts: string}`, the JSON format) and the functions of
 *    `pycocotools.mask`: encode, decode, merge, area, toBbox, iou, frPyObjects.
 */

/** Uncompressed RLE: column-major run lengths, alternating 0-runs and 1-runs, 0-run first. */
export interface Rle {
  readonly h: number;
  readonly w: number;
  readonly counts: Uint32Array;
}

/** COCO's compressed RLE, as stored in JSON: `counts` is maskApi.c's 6-bit ASCII codec. */
export interface CompressedRle {
  size: [number, number];
  counts: string;
}

/** COCO's uncompressed RLE in JSON (used for `iscrowd` ground truth). */
export interface UncompressedRle {
  size: [number, number];
  counts: number[];
}

/** A box as COCO stores it: [x, y, width, height]. */
export type XywhBox = readonly number[];

/** A polygon as COCO stores it: [x0, y0, x1, y1, ...]. */
export type Polygon = ArrayLike<number>;

/** An IoU matrix between D detections and G ground truths: `data[d * gt + g]`. */
export interface IouMatrix {
  readonly dt: number;
  readonly gt: number;
  readonly data: Float64Array;
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding binary masks.

/** Scratch space for counts while encoding/merging; grown on demand, never shrunk. */
let scratch = new Uint32Array(1 << 16);
function scratchOf(size: number): Uint32Array {
  if (scratch.length < size) scratch = new Uint32Array(Math.max(size, scratch.length * 2));
  return scratch;
}

function checkMaskSize(mask: ArrayLike<number>, h: number, w: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new Error(`mask size must be two non-negative integers, got ${h}×${w}`);
  }
  if (mask.length !== h * w) {
    throw new Error(`mask has ${mask.length} pixels but its size ${h}×${w} needs ${h * w}`);
  }
}

/**
 * rleEncode on a column-major mask. Like maskApi.c, a new run starts wherever a byte differs
 * from the previous one (the first compared against 0), so 0/1 and 0/255 masks both work.
 * Aligned masks are read a word at a time: a word that repeats the current byte 4 times holds
 * no transition.
 */
export function rleEncodeColumnMajor(mask: Uint8Array, h: number, w: number): Rle {
  checkMaskSize(mask, h, w);
  const a = h * w;
  const cnts = scratchOf(a + 1);
  const state = { k: 0, p: 0, c: 0 };
  let j = 0;
  if (mask.byteOffset % 4 === 0) {
    const words = new Int32Array(mask.buffer, mask.byteOffset, a >> 2);
    j = encodeWords(words, mask, cnts, state);
  }
  let { k, p, c } = state;
  for (; j < a; j++) {
    const v = mask[j];
    if (v !== p) {
      cnts[k++] = c;
      c = 0;
      p = v;
    }
    c++;
  }
  cnts[k++] = c;
  return { h, w, counts: cnts.slice(0, k) };
}

interface RunState {
  k: number;
  p: number;
  c: number;
}

/** The word-at-a-time part of rleEncodeColumnMajor; returns the first byte not yet consumed. */
function encodeWords(words: Int32Array, mask: Uint8Array, cnts: Uint32Array, state: RunState): number {
  let { k, p, c } = state;
  let fill = 0;
  for (let i = 0; i < words.length; i++) {
    if (words[i] === fill) {
      c += 4;
      continue;
    }
    for (let j = 4 * i; j < 4 * i + 4; j++) {
      const v = mask[j];
      if (v !== p) {
        cnts[k++] = c;
        c = 0;
        p = v;
      }
      c++;
    }
    fill = p * 0x01010101 | 0;
  }
  state.k = k;
  state.p = p;
  state.c = c;
  return 4 * words.length;
}

/**
 * Row-major masks are handled in a copy whose rows are padded to a multiple of 16 bytes, so that
 * vertical neighbours can be compared (encode) or XOR-accumulated (decode) as 32-bit words, four
 * words per step. The scratch is shared and grown on demand (Node runs this single-threaded).
 */
let padBytes = new Uint8Array(1 << 16);
let padWords = new Int32Array(padBytes.buffer);
function paddedScratch(size: number): void {
  if (padBytes.length < size) {
    padBytes = new Uint8Array((Math.max(size, padBytes.length * 2) + 15) & ~15);
    padWords = new Int32Array(padBytes.buffer);
  }
}

const paddedStride = (w: number): number => (w + 15) & ~15;

let found = new Uint32Array(1 << 12);
let sorted = new Uint32Array(1 << 12);
let columnStarts = new Int32Array(1 << 12);

function growFound(n: number): void {
  const next = new Uint32Array(Math.max(n, found.length * 2));
  next.set(found);
  found = next;
}

/**
 * Records the transitions among the 16 pixels of padded words i..i+3 (a row against the one
 * above) as column-major positions, counting them per column.
 */
function recordBlock(i: number, n: number, h: number, w: number, stride: number): number {
  if (n + 16 > found.length) growFound(n + 16);
  const bytes = padBytes;
  const perColumn = columnStarts;
  const y = Math.floor((4 * i) / stride);
  const x0 = 4 * i - y * stride;
  const xEnd = Math.min(w, x0 + 16);
  for (let x = x0, k = 4 * i; x < xEnd; x++, k++) {
    if (bytes[k] !== bytes[k - stride]) {
      found[n++] = x * h + y;
      perColumn[x]++;
    }
  }
  return n;
}

/** Scans rows 1..h-1 against the rows above; kept tiny so that V8 compiles it well. */
function scanRows(words: Int32Array, wpr: number, end: number, n: number, h: number, w: number): number {
  const stride = 4 * wpr;
  for (let i = wpr; i < end; i += 4) {
    if (
      words[i] !== words[i - wpr] ||
      words[i + 1] !== words[i + 1 - wpr] ||
      words[i + 2] !== words[i + 2 - wpr] ||
      words[i + 3] !== words[i + 3 - wpr]
    ) {
      n = recordBlock(i, n, h, w, stride);
    }
  }
  return n;
}

/**
 * rleEncode on a row-major H×W mask. A run starts at column-major position t = x*H + y where the
 * byte differs from the one at t-1: the pixel above, or for y = 0 the bottom of the previous
 * column. Rows are compared 16 pixels at a time; the positions found, row by row, are then
 * bucketed by column (a stable counting sort keeps y increasing within each column).
 */
export function rleEncodeRowMajor(mask: Uint8Array, h: number, w: number): Rle {
  checkMaskSize(mask, h, w);
  if (h * w === 0) return { h, w, counts: Uint32Array.of(0) };
  const stride = paddedStride(w);
  paddedScratch(h * stride);
  for (let y = 0; y < h; y++) padBytes.set(mask.subarray(y * w, y * w + w), y * stride);
  if (columnStarts.length < w + 1) columnStarts = new Int32Array(w + 1);
  const perColumn = columnStarts;
  perColumn.fill(0, 0, w + 1);
  if (found.length < w) growFound(w);
  let n = 0;
  if (mask[0] !== 0) {
    found[n++] = 0;
    perColumn[0]++;
  }
  for (let x = 1; x < w; x++) {
    if (mask[x] !== mask[(h - 1) * w + x - 1]) {
      found[n++] = x * h;
      perColumn[x]++;
    }
  }
  n = scanRows(padWords, stride >> 2, h * (stride >> 2), n, h, w);
  let total = 0;
  for (let x = 0; x < w; x++) {
    const c = perColumn[x];
    perColumn[x] = total;
    total += c;
  }
  if (sorted.length < n) sorted = new Uint32Array(Math.max(n, sorted.length * 2));
  for (let j = 0; j < n; j++) {
    const t = found[j];
    sorted[perColumn[Math.floor(t / h)]++] = t;
  }
  const counts = new Uint32Array(n + 1);
  let prev = 0;
  for (let j = 0; j < n; j++) {
    counts[j] = sorted[j] - prev;
    prev = sorted[j];
  }
  counts[n] = h * w - prev;
  return { h, w, counts };
}

function checkCountsCoverMask(rle: Rle): void {
  let total = 0;
  for (let j = 0; j < rle.counts.length; j++) total += rle.counts[j];
  if (total !== rle.h * rle.w) {
    throw new Error(`RLE counts cover ${total} pixels but its size ${rle.h}×${rle.w} has ${rle.h * rle.w}`);
  }
}

/** rleDecode to a column-major mask of 0/1 bytes. */
export function rleDecodeColumnMajor(rle: Rle): Uint8Array {
  checkCountsCoverMask(rle);
  const out = new Uint8Array(rle.h * rle.w);
  let pos = 0;
  for (let j = 0; j < rle.counts.length; j++) {
    const c = rle.counts[j];
    if (j % 2 === 1) out.fill(1, pos, pos + c);
    pos += c;
  }
  return out;
}

/** Columns [first, last] that hold any 1-run, or null for an empty mask. */
function foregroundColumns(rle: Rle): [number, number] | null {
  const { h, counts } = rle;
  let first = -1;
  let last = -1;
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (j % 2 === 1 && c > 0) {
      if (first < 0) first = Math.floor(pos / h);
      last = Math.floor((pos + c - 1) / h);
    }
    pos += c;
  }
  return first < 0 ? null : [first, last];
}

/** XOR-accumulates rows top to bottom: afterwards each pixel holds the parity above it. */
function accumulateRows(words: Int32Array, wpr: number, end: number): void {
  for (let i = wpr; i < end; i += 4) {
    words[i] ^= words[i - wpr];
    words[i + 1] ^= words[i + 1 - wpr];
    words[i + 2] ^= words[i + 2 - wpr];
    words[i + 3] ^= words[i + 3 - wpr];
  }
}

/**
 * rleDecode to a row-major H×W mask of 0/1 bytes, into `out` if given (it is overwritten).
 * Within the columns that hold foreground, each 1-run toggles the pixel where it starts and
 * where it stops in every column it covers; XOR-accumulating the rows then fills the runs.
 */
export function rleDecodeRowMajor(rle: Rle, out?: Uint8Array): Uint8Array {
  checkCountsCoverMask(rle);
  const { h, w, counts } = rle;
  if (out === undefined) out = new Uint8Array(h * w);
  else if (out.length !== h * w) throw new Error(`decode: output has ${out.length} pixels, expected ${h}×${w}`);
  else out.fill(0);
  const cols = foregroundColumns(rle);
  if (cols === null) return out;
  const [xa, xb] = cols;
  const cw = xb - xa + 1;
  const stride = paddedStride(cw);
  paddedScratch(h * stride);
  const bytes = padBytes;
  bytes.fill(0, 0, h * stride);
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (j % 2 === 1 && c > 0) {
      const end = pos + c;
      const x0 = Math.floor(pos / h);
      const xEnd = Math.floor(end / h);
      const yEnd = end - xEnd * h;
      bytes[(pos - x0 * h) * stride + x0 - xa] ^= 1;
      // Columns after the first that the run covers from their top.
      const lastTop = yEnd > 0 ? xEnd : xEnd - 1;
      for (let x = x0 + 1; x <= lastTop; x++) bytes[x - xa] ^= 1;
      if (yEnd > 0) bytes[yEnd * stride + xEnd - xa] ^= 1;
    }
    pos += c;
  }
  accumulateRows(padWords, stride >> 2, h * (stride >> 2));
  for (let y = 0; y < h; y++) out.set(bytes.subarray(y * stride, y * stride + cw), y * w + xa);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The compressed string codec (rleToString / rleFrString).

/**
 * rleToString: LEB128-like, 5 data bits per char offset by 48; counts beyond index 2 are stored
 * as the difference to the count two places earlier (same parity run), which is small.
 * Arithmetic is on plain numbers (not 32-bit bit ops) because differences span ±2^32.
 */
export function rleToString(rle: Rle): string {
  const cnts = rle.counts;
  // A count difference spans at most 33 signed bits: 7 characters of 5 bits.
  const out = Buffer.allocUnsafe(cnts.length * 7);
  let p = 0;
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i];
    if (i > 2) x -= cnts[i - 2];
    let more = true;
    while (more) {
      let c = x - Math.floor(x / 32) * 32; // low 5 bits, two's complement
      x = Math.floor(x / 32); // arithmetic shift
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out[p++] = c + 48;
    }
  }
  return out.toString('latin1', 0, p);
}

/**
 * rleFrString with the checks maskApi.c omits: characters outside '0'..'o', a value cut off at
 * the end of the string, negative counts and counts that do not cover h×w are errors.
 */
export function rleFrString(s: string, h: number, w: number): Rle {
  if (typeof s !== 'string') throw new Error(`RLE counts must be a string, got ${describe(s)}`);
  checkSize(h, w);
  const cnts = new Uint32Array(s.length);
  let m = 0;
  let p = 0;
  let total = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let scale = 1;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error(`RLE counts string ends inside a value at character ${p}`);
      const code = s.charCodeAt(p);
      if (code < 48 || code > 111) {
        throw new Error(`RLE counts string has invalid character ${JSON.stringify(s[p])} at position ${p}`);
      }
      const c = code - 48;
      x += (c & 0x1f) * scale;
      scale *= 32;
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= scale; // sign-extend from bit 5*k
    }
    if (m > 2) x += cnts[m - 2];
    if (x < 0 || x > 0xffffffff) throw new Error(`RLE counts string decodes to count ${x} at run ${m}`);
    cnts[m++] = x;
    total += x;
  }
  if (total !== h * w) {
    throw new Error(`RLE counts cover ${total} pixels but size [${h}, ${w}] has ${h * w}`);
  }
  return { h, w, counts: cnts.slice(0, m) };
}

function checkSize(h: number, w: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new Error(`RLE size must be [height, width] of non-negative integers, got [${h}, ${w}]`);
  }
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// ---------------------------------------------------------------------------------------------
// Measures: area, bounding box, IoU, merge.

/** rleArea: sum of the 1-runs. */
export function rleArea(rle: Rle): number {
  let a = 0;
  for (let j = 1; j < rle.counts.length; j += 2) a += rle.counts[j];
  return a;
}

/**
 * rleToBbox: [x, y, w, h] of the mask's pixels. As in maskApi.c, a 1-run that wraps to another
 * column makes the box span the full height.
 */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const { h, w, counts } = rle;
  const m = Math.floor(counts.length / 2) * 2;
  if (m === 0 || h === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += counts[j];
    const t = cc - (j % 2);
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * bbIou: D×G IoU of [x, y, w, h] boxes in double precision; for a crowd ground truth the union
 * is the detection's area. `dt`/`gt` are flat arrays of 4 numbers per box.
 */
export function bbIou(dt: ArrayLike<number>, gt: ArrayLike<number>, iscrowd: ArrayLike<number | boolean> | null): IouMatrix {
  const m = dt.length / 4;
  const n = gt.length / 4;
  const o = new Float64Array(m * n);
  for (let g = 0; g < n; g++) {
    const g0 = gt[4 * g], g1 = gt[4 * g + 1], g2 = gt[4 * g + 2], g3 = gt[4 * g + 3];
    const ga = g2 * g3;
    const crowd = iscrowd !== null && Boolean(iscrowd[g]);
    for (let d = 0; d < m; d++) {
      const d0 = dt[4 * d], d1 = dt[4 * d + 1], d2 = dt[4 * d + 2], d3 = dt[4 * d + 3];
      const da = d2 * d3;
      const iw = Math.min(d2 + d0, g2 + g0) - Math.max(d0, g0);
      if (iw <= 0) continue;
      const ih = Math.min(d3 + d1, g3 + g1) - Math.max(d1, g1);
      if (ih <= 0) continue;
      const i = iw * ih;
      const u = crowd ? da : da + ga - i;
      o[d * n + g] = i / u;
    }
  }
  return { dt: m, gt: n, data: o };
}

/** Intersection and union pixel counts of two same-size RLEs, walking both run lists. */
function rleIntersectUnion(a: Rle, b: Rle): [number, number] {
  const A = a.counts;
  const B = b.counts;
  let ca = A[0];
  let cb = B[0];
  let ka = 1;
  let kb = 1;
  let va = false;
  let vb = false;
  let inter = 0;
  let union = 0;
  let ct = 1;
  while (ct > 0) {
    const c = Math.min(ca, cb);
    if (va || vb) {
      union += c;
      if (va && vb) inter += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && ka < A.length) {
      ca = A[ka++];
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && kb < B.length) {
      cb = B[kb++];
      vb = !vb;
    }
    ct += cb;
  }
  return [inter, union];
}

/**
 * rleIou: D×G mask IoU. As maskApi.c does, the exact count is only taken where the bounding
 * boxes overlap; masks of different sizes get -1; a crowd gt divides by the detection's area.
 */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd: ArrayLike<number | boolean> | null): IouMatrix {
  const m = dt.length;
  const n = gt.length;
  const db = new Float64Array(4 * m);
  const gb = new Float64Array(4 * n);
  dt.forEach((r, i) => db.set(rleToBbox(r), 4 * i));
  gt.forEach((r, i) => gb.set(rleToBbox(r), 4 * i));
  const result = bbIou(db, gb, iscrowd);
  const o = result.data;
  for (let g = 0; g < n; g++) {
    const crowd = iscrowd !== null && Boolean(iscrowd[g]);
    for (let d = 0; d < m; d++) {
      if (!(o[d * n + g] > 0)) continue;
      if (dt[d].h !== gt[g].h || dt[d].w !== gt[g].w) {
        o[d * n + g] = -1;
        continue;
      }
      const [i, u0] = rleIntersectUnion(dt[d], gt[g]);
      const u = i === 0 ? 1 : crowd ? rleArea(dt[d]) : u0;
      o[d * n + g] = i / u;
    }
  }
  return result;
}

/**
 * rleMerge: union (or intersection) of RLEs. An empty list gives a 0×0 RLE and differing
 * sizes give 0×0 with no counts, both as maskApi.c.
 */
export function rleMerge(rles: readonly Rle[], intersect = false): Rle {
  const n = rles.length;
  if (n === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  let { h, w } = rles[0];
  if (n === 1) return { h, w, counts: rles[0].counts.slice() };
  let acc = rles[0].counts.slice();
  for (let i = 1; i < n; i++) {
    const B = rles[i].counts;
    if (rles[i].h !== h || rles[i].w !== w) {
      h = 0;
      w = 0;
      acc = new Uint32Array(0);
      break;
    }
    const A = acc;
    const out = scratchOf(h * w + 1);
    let ca = A[0];
    let cb = B[0];
    let v: boolean = false;
    let va: boolean = false;
    let vb: boolean = false;
    let m = 0, a = 1, b = 1, cc = 0, ct = 1;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++];
        va = !va;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.length) {
        cb = B[b++];
        vb = !vb;
      }
      ct += cb;
      const vp: boolean = v;
      v = intersect ? va && vb : va || vb;
      if (v !== vp || ct === 0) {
        out[m++] = cc;
        cc = 0;
      }
    }
    acc = out.slice(0, m);
  }
  return { h, w, counts: acc };
}

// ---------------------------------------------------------------------------------------------
// Rasterisation: polygons, boxes, uncompressed RLE.

/** C's (int) cast of a double: truncation toward zero; values outside int32 are refused. */
function cInt(v: number): number {
  const t = Math.trunc(v);
  if (!(t >= -2147483648 && t <= 2147483647)) throw new Error(`polygon coordinate ${v / 5} is out of range`);
  return t;
}

/**
 * rleFrPoly: rasterise a polygon (k points from `xy`) exactly as maskApi.c: points are scaled
 * ×5 and rounded, the boundary is walked densely, and a pixel column starts/ends a run where the
 * boundary crosses its centre line.
 */
export function rleFrPoly(xy: Polygon, h: number, w: number): Rle {
  checkSize(h, w);
  const k = Math.floor(xy.length / 2);
  if (k === 0) throw new Error('polygon has no points');
  const scale = 5;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) {
    const px = xy[2 * j];
    const py = xy[2 * j + 1];
    if (!Number.isFinite(px) || !Number.isFinite(py)) {
      throw new Error(`polygon point ${j} is not finite: (${px}, ${py})`);
    }
    x[j] = cInt(scale * px + 0.5);
    y[j] = cInt(scale * py + 0.5);
  }
  x[k] = x[0];
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs; xs = xe; xe = t;
      t = ys; ys = ye; ye = t;
    }
    // A repeated point gives 0/0 = NaN here; maskApi.c then stores an unused value (see below).
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = Math.trunc(ys + s * t + 0.5); // NaN (repeated point) lands as 0 and is never read
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = Math.trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // Points where the boundary crosses a pixel column's centre, downsampled back to pixels.
  const npts = m;
  const bx = new Int32Array(npts);
  const by = new Int32Array(npts);
  m = 0;
  for (let j = 1; j < npts; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx[m] = xd;
    by[m] = yd;
    m++;
  }
  // Sorted column-major positions of the crossings become run boundaries.
  const a = new Uint32Array(m + 1);
  for (let j = 0; j < m; j++) a[j] = (bx[j] * h + by[j]) >>> 0;
  a[m] = (h * w) >>> 0;
  a.sort();
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= p;
    p = t;
  }
  // Zero-length runs are dropped by folding the following run into the previous one.
  const b = new Uint32Array(a.length);
  let j = 0;
  let nb = 0;
  b[nb++] = a[j++];
  while (j < a.length) {
    if (a[j] > 0) b[nb++] = a[j++];
    else {
      j++;
      if (j < a.length) b[nb - 1] += a[j++];
    }
  }
  return { h, w, counts: b.slice(0, nb) };
}

/** rleFrBbox: a box [x, y, w, h] rasterised as the polygon of its corners. */
export function rleFrBbox(bb: XywhBox, h: number, w: number): Rle {
  const xs = bb[0], xe = xs + bb[2];
  const ys = bb[1], ye = ys + bb[3];
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/** An uncompressed JSON RLE as counts; its own `size` is used, as pycocotools does. */
export function rleFrUncompressed(obj: UncompressedRle): Rle {
  const [h, w] = sizeOf(obj);
  if (!Array.isArray(obj.counts)) throw new Error(`uncompressed RLE counts must be an array, got ${describe(obj.counts)}`);
  const counts = new Uint32Array(obj.counts.length);
  obj.counts.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) {
      throw new Error(`uncompressed RLE count ${i} must be a non-negative integer, got ${describe(c)}`);
    }
    counts[i] = c;
  });
  const rle = { h, w, counts };
  checkCountsCoverMask(rle);
  return rle;
}

function sizeOf(obj: { size?: unknown }): [number, number] {
  const size = obj.size;
  if (!Array.isArray(size) || size.length !== 2) {
    throw new Error(`RLE size must be [height, width], got ${describe(size)}`);
  }
  const [h, w] = size as unknown[];
  if (typeof h !== 'number' || typeof w !== 'number') {
    throw new Error(`RLE size must be [height, width] numbers, got ${describe(size)}`);
  }
  checkSize(h, w);
  return [h, w];
}

// ---------------------------------------------------------------------------------------------
// pycocotools.mask: the JSON-level API.

/** A compressed RLE (`counts` string) or an already-decoded `Rle`. */
export type RleLike = CompressedRle | Rle;

function isRle(r: RleLike): r is Rle {
  return (r as Rle).counts instanceof Uint32Array;
}

/** Decode a compressed RLE's counts string (checking it against its size). */
export function toRle(r: RleLike): Rle {
  if (isRle(r)) return r;
  if (r === null || typeof r !== 'object') throw new Error(`RLE must be an object, got ${describe(r)}`);
  const [h, w] = sizeOf(r);
  return rleFrString(r.counts, h, w);
}

export function toCompressed(r: Rle): CompressedRle {
  return { size: [r.h, r.w], counts: rleToString(r) };
}

/** pycocotools.mask.encode of a row-major H×W mask. */
export function encode(mask: Uint8Array, h: number, w: number): CompressedRle {
  return toCompressed(rleEncodeRowMajor(mask, h, w));
}

/** pycocotools.mask.encode of a column-major (Fortran) H×W mask, pycocotools' native layout. */
export function encodeColumnMajor(mask: Uint8Array, h: number, w: number): CompressedRle {
  return toCompressed(rleEncodeColumnMajor(mask, h, w));
}

/** pycocotools.mask.decode to a row-major H×W mask of 0/1 (into `out` if given). */
export function decode(rle: RleLike, out?: Uint8Array): Uint8Array {
  return rleDecodeRowMajor(toRle(rle), out);
}

/** pycocotools.mask.decode to a column-major H×W mask of 0/1. */
export function decodeColumnMajor(rle: RleLike): Uint8Array {
  return rleDecodeColumnMajor(toRle(rle));
}

/** pycocotools.mask.merge: union (default) or intersection. */
export function merge(rles: readonly RleLike[], intersect = false): CompressedRle {
  return toCompressed(rleMerge(rles.map(toRle), intersect));
}

/** pycocotools.mask.area. */
export function area(rle: RleLike): number {
  return rleArea(toRle(rle));
}

/** pycocotools.mask.toBbox: [x, y, w, h]. */
export function toBbox(rle: RleLike): [number, number, number, number] {
  return rleToBbox(toRle(rle));
}

function isBoxList(objs: readonly unknown[]): objs is XywhBox[] {
  return objs.every((o) => (Array.isArray(o) || ArrayBuffer.isView(o)) && (o as ArrayLike<number>).length === 4);
}

/**
 * pycocotools.mask.iou: D×G IoU between boxes ([x, y, w, h] each) or between RLEs; both sides
 * must be of the same kind. `iscrowd` has one flag per ground truth.
 */
export function iou(dt: readonly XywhBox[], gt: readonly XywhBox[], iscrowd: ArrayLike<number | boolean>): IouMatrix;
export function iou(dt: readonly RleLike[], gt: readonly RleLike[], iscrowd: ArrayLike<number | boolean>): IouMatrix;
export function iou(
  dt: readonly (XywhBox | RleLike)[],
  gt: readonly (XywhBox | RleLike)[],
  iscrowd: ArrayLike<number | boolean>,
): IouMatrix {
  if (dt.length === 0 || gt.length === 0) return { dt: dt.length, gt: gt.length, data: new Float64Array(0) };
  if (iscrowd.length !== gt.length) {
    throw new Error(`iou: iscrowd has ${iscrowd.length} flags for ${gt.length} ground truths`);
  }
  const dtBoxes = isBoxList(dt);
  const gtBoxes = isBoxList(gt);
  if (dtBoxes && gtBoxes) return bbIou(flattenBoxes(dt), flattenBoxes(gt), iscrowd);
  if (dtBoxes || gtBoxes) throw new Error('iou: dt and gt must both be boxes (N×4) or both be RLEs');
  return rleIou((dt as RleLike[]).map(toRle), (gt as RleLike[]).map(toRle), iscrowd);
}

function flattenBoxes(boxes: readonly XywhBox[]): Float64Array {
  const out = new Float64Array(boxes.length * 4);
  boxes.forEach((b, i) => out.set(b, 4 * i));
  return out;
}

/** pycocotools.mask.frPoly: one RLE per polygon (odd trailing coordinates are ignored). */
export function frPoly(polys: readonly Polygon[], h: number, w: number): CompressedRle[] {
  return polys.map((p, i) => {
    if (!isArrayLike(p)) throw new Error(`frPoly: polygon ${i} must be a list of numbers, got ${describe(p)}`);
    return toCompressed(rleFrPoly(p, h, w));
  });
}

/** pycocotools.mask.frBbox: one RLE per [x, y, w, h] box. */
export function frBbox(boxes: readonly XywhBox[], h: number, w: number): CompressedRle[] {
  return boxes.map((b, i) => {
    if (b.length !== 4) throw new Error(`frBbox: box ${i} must have 4 numbers, got ${b.length}`);
    return toCompressed(rleFrBbox(b, h, w));
  });
}

/** pycocotools.mask.frUncompressedRLE: note each keeps its own `size`, not h×w. */
export function frUncompressedRLE(rles: readonly UncompressedRle[]): CompressedRle[] {
  return rles.map((r) => toCompressed(rleFrUncompressed(r)));
}

/** Polygons, boxes or uncompressed RLEs, as pycocotools' frPyObjects accepts them. */
export type PyObjects = readonly Polygon[] | Polygon | readonly UncompressedRle[] | UncompressedRle;

/**
 * pycocotools.mask.frPyObjects with its dispatch: a list whose *first* element has 4 numbers is
 * a list of boxes, one with more is a list of polygons, a list of {size, counts} is uncompressed
 * RLEs; a flat list of 4 numbers is one box, of more one polygon, a {size, counts} one RLE.
 * Lists give lists, single objects give one RLE. (pycocotools takes boxes only as a numpy N×4
 * array and raises a TypeError for Python lists of boxes; lists of boxes work here.)
 */
export function frPyObjects(obj: readonly Polygon[] | readonly UncompressedRle[], h: number, w: number): CompressedRle[];
export function frPyObjects(obj: Polygon | UncompressedRle, h: number, w: number): CompressedRle;
export function frPyObjects(obj: PyObjects, h: number, w: number): CompressedRle | CompressedRle[];
export function frPyObjects(obj: PyObjects, h: number, w: number): CompressedRle | CompressedRle[] {
  if (isArrayLike(obj)) {
    if (obj.length === 0) throw new Error('frPyObjects: empty list');
    const first: unknown = obj[0];
    if (isArrayLike(first)) {
      const list = obj as readonly Polygon[];
      if (first.length === 4) return frBbox(list.map((b) => Array.from(b)), h, w);
      if (first.length > 4) return frPoly(list, h, w);
      throw new Error(`frPyObjects: first polygon has ${first.length} coordinates, expected more than 4`);
    }
    if (isUncompressed(first)) return frUncompressedRLE(obj as readonly UncompressedRle[]);
    if (typeof first === 'number') {
      const flat = obj as Polygon;
      if (flat.length === 4) return frBbox([Array.from(flat)], h, w)[0];
      if (flat.length > 4) return frPoly([flat], h, w)[0];
    }
    throw new Error(`frPyObjects: input type is not supported: ${describe(obj)}`);
  }
  if (isUncompressed(obj)) return frUncompressedRLE([obj])[0];
  throw new Error(`frPyObjects: input type is not supported: ${describe(obj)}`);
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

function isUncompressed(v: unknown): v is UncompressedRle {
  return v !== null && typeof v === 'object' && 'counts' in v && 'size' in v;
}
