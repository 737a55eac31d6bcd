/**
 * pycocotools' COCOeval (PythonAPI/pycocotools/cocoeval.py) for bbox, segm and keypoints.
 *
 * Numbers match pycocotools to the last bit where we can make them: IoU as maskApi.c computes it
 * in double, OKS in float64 in numpy's operation order, thresholds from numpy's linspace
 * arithmetic, stable (mergesort) ordering by descending score, np.searchsorted(side='left') on
 * recall, and means with numpy's pairwise summation. The one source of possible last-bit
 * differences is exp() in OKS (numpy's SIMD exp vs V8's), far below any printed digit.
 */
import { COCO, type CocoAnnotation, type IouType } from './coco';
import { bbIou, rleIou, type IouMatrix, type Rle } from './mask';

/** COCO's per-keypoint OKS constants (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles). */
export const COCO_KEYPOINT_SIGMAS: readonly number[] = [
  0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89,
].map((s) => s / 10.0);

/** np.spacing(1): the gap between 1 and the next double. */
const SPACING_1 = Number.EPSILON;

/** np.linspace(start, stop, num, endpoint=True) with numpy's arithmetic: i*step + start, last = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const div = num - 1;
  const step = (stop - start) / div;
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** np.round for the small positive values used here (half to even). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * numpy's pairwise summation of a contiguous float64 run (what np.sum / np.mean use): blocks of
 * up to 128 are summed with 8 interleaved accumulators, larger runs are split in halves.
 */
export function pairwiseSum(a: ArrayLike<number>, lo = 0, n = a.length - lo): number {
  if (n < 8) {
    let res = -0.0;
    for (let i = 0; i < n; i++) res += a[lo + i];
    return res;
  }
  if (n <= 128) {
    const r = [a[lo], a[lo + 1], a[lo + 2], a[lo + 3], a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[lo + i + j];
    }
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[lo + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2);
}

/** np.mean of a 1-D float64 array; NaN for an empty one (numpy warns and returns nan). */
export function npMean(a: ArrayLike<number>): number {
  return a.length === 0 ? NaN : pairwiseSum(a) / a.length;
}

export type AreaRange = [number, number];

/** COCOeval.Params: the evaluation settings, defaults as pycocotools sets them per iouType. */
export class Params {
  imgIds: number[] = [];
  catIds: number[] = [];
  iouThrs: Float64Array;
  recThrs: Float64Array;
  maxDets: number[];
  areaRng: AreaRange[];
  areaRngLbl: string[];
  useCats = true;
  iouType: IouType;
  kptOksSigmas: Float64Array;

  constructor(iouType: IouType = 'segm') {
    if (iouType !== 'bbox' && iouType !== 'segm' && iouType !== 'keypoints') {
      throw new Error(`iouType must be bbox, segm or keypoints, got ${JSON.stringify(iouType)}`);
    }
    this.iouType = iouType;
    this.iouThrs = linspace(0.5, 0.95, roundHalfEven((0.95 - 0.5) / 0.05) + 1);
    this.recThrs = linspace(0.0, 1.0, roundHalfEven((1.0 - 0.0) / 0.01) + 1);
    this.kptOksSigmas = Float64Array.from(COCO_KEYPOINT_SIGMAS);
    if (iouType === 'keypoints') {
      this.maxDets = [20];
      this.areaRng = [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]];
      this.areaRngLbl = ['all', 'medium', 'large'];
    } else {
      this.maxDets = [1, 10, 100];
      this.areaRng = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]];
      this.areaRngLbl = ['all', 'small', 'medium', 'large'];
    }
  }

  clone(): Params {
    const p = new Params(this.iouType);
    p.imgIds = [...this.imgIds];
    p.catIds = [...this.catIds];
    p.iouThrs = this.iouThrs.slice();
    p.recThrs = this.recThrs.slice();
    p.maxDets = [...this.maxDets];
    p.areaRng = this.areaRng.map(([a, b]) => [a, b]);
    p.areaRngLbl = [...this.areaRngLbl];
    p.useCats = this.useCats;
    p.kptOksSigmas = this.kptOksSigmas.slice();
    return p;
  }
}

/** A ground truth as evaluation sees it. */
interface EvalGt {
  id: number;
  area: number;
  iscrowd: boolean;
  ignore: boolean;
  bbox: readonly number[] | null;
  rle: Rle | null;
  keypoints: readonly number[] | null;
}

/** A detection as evaluation sees it. */
interface EvalDt {
  id: number;
  area: number;
  score: number;
  bbox: readonly number[] | null;
  rle: Rle | null;
  keypoints: readonly number[] | null;
}

/** evaluateImg's result for one image, category and area range. Matrices are T×D / T×G row-major. */
export interface EvalImg {
  imageId: number;
  categoryId: number;
  aRng: AreaRange;
  maxDet: number;
  dtIds: number[];
  gtIds: number[];
  dtMatches: Float64Array;
  gtMatches: Float64Array;
  dtScores: Float64Array;
  gtIgnore: Uint8Array;
  dtIgnore: Uint8Array;
}

/** accumulate's result: precision/scores T×R×K×A×M, recall T×K×A×M, C order, -1 where absent. */
export interface Accumulated {
  params: Params;
  counts: [number, number, number, number, number];
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

export type LogLine = (line: string) => void;

const stdoutLine: LogLine = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Indices that sort `keys` ascending, stably (np.argsort(kind='mergesort')). */
function stableArgsort(keys: ArrayLike<number>): number[] {
  const idx = Array.from({ length: keys.length }, (_, i) => i);
  return idx.sort((a, b) => keys[a] - keys[b]);
}

/** Stable order of descending score, as np.argsort(-scores, kind='mergesort'). */
function byDescendingScore<T extends { score: number }>(items: readonly T[]): T[] {
  return stableArgsort(items.map((d) => -d.score)).map((i) => items[i]);
}

/** np.searchsorted(sorted, v, side='left'): the first index whose value is >= v. */
function searchsortedLeft(sorted: ArrayLike<number>, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function finiteList(v: unknown, len: number | null): v is number[] {
  return Array.isArray(v) && (len === null || v.length === len) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

export class COCOeval {
  readonly cocoGt: COCO;
  readonly cocoDt: COCO;
  params: Params;
  evalImgs: (EvalImg | null)[] = [];
  eval: Accumulated | null = null;
  stats: number[] = [];
  /** IoU (or OKS) per image and category: D×G, null where pycocotools has []. */
  readonly ious = new Map<number, Map<number, IouMatrix | null>>();
  private paramsEval: Params | null = null;
  private gts = new Map<number, Map<number, EvalGt[]>>();
  private dts = new Map<number, Map<number, EvalDt[]>>();

  constructor(cocoGt: COCO, cocoDt: COCO, iouType: IouType = 'segm') {
    this.cocoGt = cocoGt;
    this.cocoDt = cocoDt;
    this.params = new Params(iouType);
    this.params.imgIds = cocoGt.getImgIds().sort((a, b) => a - b);
    this.params.catIds = cocoGt.getCatIds().sort((a, b) => a - b);
  }

  // -------------------------------------------------------------------------------------------
  // Preparation: annotations to the form evaluation needs, with their checks.

  private prepare(): void {
    const p = this.params;
    const filter = p.useCats ? { imgIds: p.imgIds, catIds: p.catIds } : { imgIds: p.imgIds };
    const gts = this.cocoGt.loadAnns(this.cocoGt.getAnnIds(filter));
    const dts = this.cocoDt.loadAnns(this.cocoDt.getAnnIds(filter));
    this.gts = new Map();
    this.dts = new Map();
    for (const g of gts) push(this.gts, g.image_id, g.category_id, this.toEvalGt(g));
    for (const d of dts) push(this.dts, d.image_id, d.category_id, this.toEvalDt(d));
    this.evalImgs = [];
    this.eval = null;
  }

  private toEvalGt(ann: CocoAnnotation): EvalGt {
    const where = `ground truth annotation ${ann.id} (image ${ann.image_id})`;
    const type = this.params.iouType;
    const crowd = ann.iscrowd;
    if (typeof crowd !== 'number' && typeof crowd !== 'boolean') {
      throw new Error(`${where}: "iscrowd" must be 0 or 1, got ${describe(crowd)}`);
    }
    if (typeof ann.area !== 'number' || Number.isNaN(ann.area)) {
      throw new Error(`${where}: "area" must be a number, got ${describe(ann.area)}`);
    }
    let ignore = Boolean(crowd);
    if (type === 'keypoints') {
      if (typeof ann.num_keypoints !== 'number') {
        throw new Error(`${where}: "num_keypoints" must be a number, got ${describe(ann.num_keypoints)}`);
      }
      ignore = ann.num_keypoints === 0 || ignore;
    }
    return {
      id: ann.id,
      area: ann.area,
      iscrowd: Boolean(crowd),
      ignore,
      bbox: type === 'segm' ? null : checkedBox(ann.bbox, where),
      rle: type === 'segm' ? this.cocoGt.annToRle(ann) : null,
      keypoints: type === 'keypoints' ? checkedKeypoints(ann.keypoints, this.params.kptOksSigmas.length, where) : null,
    };
  }

  private toEvalDt(ann: CocoAnnotation): EvalDt {
    const where = `results entry ${ann.id - 1} (image ${ann.image_id})`;
    const type = this.params.iouType;
    if (typeof ann.score !== 'number' || !Number.isFinite(ann.score)) {
      throw new Error(`${where}: score must be a finite number, got ${describe(ann.score)}`);
    }
    if (type === 'segm' && ann.segmentation === undefined) throw new Error(`${where}: has no segmentation to evaluate`);
    if (type === 'keypoints' && ann.keypoints === undefined) throw new Error(`${where}: has no keypoints to evaluate`);
    return {
      id: ann.id,
      area: ann.area as number,
      score: ann.score,
      bbox: type === 'bbox' ? checkedBox(ann.bbox, where) : null,
      rle: type === 'segm' ? this.cocoDt.annToRle(ann) : null,
      keypoints: type === 'keypoints' ? checkedKeypoints(ann.keypoints, this.params.kptOksSigmas.length, where) : null,
    };
  }

  private gtOf(imgId: number, catId: number): EvalGt[] {
    return this.params.useCats ? lookup(this.gts, imgId, catId) : this.params.catIds.flatMap((c) => lookup(this.gts, imgId, c));
  }

  private dtOf(imgId: number, catId: number): EvalDt[] {
    return this.params.useCats ? lookup(this.dts, imgId, catId) : this.params.catIds.flatMap((c) => lookup(this.dts, imgId, c));
  }

  // -------------------------------------------------------------------------------------------
  // evaluate: per-image matching.

  /** Runs per-image evaluation, filling `evalImgs` (order: category, area range, image). */
  evaluate(): void {
    const p = this.params;
    p.imgIds = [...new Set(p.imgIds)].sort((a, b) => a - b);
    if (p.useCats) p.catIds = [...new Set(p.catIds)].sort((a, b) => a - b);
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    this.prepare();
    const catIds = p.useCats ? p.catIds : [-1];
    this.ious.clear();
    for (const imgId of p.imgIds) {
      const row = new Map<number, IouMatrix | null>();
      for (const catId of catIds) {
        row.set(catId, p.iouType === 'keypoints' ? this.computeOks(imgId, catId) : this.computeIoU(imgId, catId));
      }
      this.ious.set(imgId, row);
    }
    const maxDet = p.maxDets[p.maxDets.length - 1];
    const evalImgs: (EvalImg | null)[] = [];
    for (const catId of catIds) {
      for (const aRng of p.areaRng) {
        for (const imgId of p.imgIds) evalImgs.push(this.evaluateImg(imgId, catId, aRng, maxDet));
      }
    }
    this.evalImgs = evalImgs;
    this.paramsEval = p.clone();
  }

  /** Box or mask IoU of an image's detections (best maxDets[-1] by score) against its gts. */
  computeIoU(imgId: number, catId: number): IouMatrix | null {
    const p = this.params;
    const gt = this.gtOf(imgId, catId);
    let dt = this.dtOf(imgId, catId);
    if (gt.length === 0 && dt.length === 0) return null;
    dt = byDescendingScore(dt).slice(0, p.maxDets[p.maxDets.length - 1]);
    if (gt.length === 0 || dt.length === 0) return null;
    const iscrowd = gt.map((g) => (g.iscrowd ? 1 : 0));
    if (p.iouType === 'segm') return rleIou(dt.map((d) => d.rle as Rle), gt.map((g) => g.rle as Rle), iscrowd);
    if (p.iouType === 'bbox') return bbIou(flatBoxes(dt), flatBoxes(gt), iscrowd);
    throw new Error(`unknown iouType for iou computation: ${p.iouType}`);
  }

  /** Object keypoint similarity, in numpy's float64 operation order. */
  computeOks(imgId: number, catId: number): IouMatrix | null {
    const p = this.params;
    // pycocotools indexes by category here even with useCats off.
    const gts = lookup(this.gts, imgId, catId);
    const dts = byDescendingScore(lookup(this.dts, imgId, catId)).slice(0, p.maxDets[p.maxDets.length - 1]);
    if (gts.length === 0 || dts.length === 0) return null;
    const sigmas = p.kptOksSigmas;
    const k = sigmas.length;
    const vars = sigmas.map((s) => s * 2 * (s * 2));
    const out = new Float64Array(dts.length * gts.length);
    const e = new Float64Array(k);
    gts.forEach((gt, j) => {
      const g = gt.keypoints as readonly number[];
      const bb = gt.bbox as readonly number[];
      let k1 = 0;
      for (let i = 0; i < k; i++) if (g[3 * i + 2] > 0) k1++;
      const x0 = bb[0] - bb[2], x1 = bb[0] + bb[2] * 2;
      const y0 = bb[1] - bb[3], y1 = bb[1] + bb[3] * 2;
      const scale = gt.area + SPACING_1;
      dts.forEach((dt, i) => {
        const d = dt.keypoints as readonly number[];
        let n = 0;
        for (let t = 0; t < k; t++) {
          const xd = d[3 * t], yd = d[3 * t + 1];
          let dx: number, dy: number;
          if (k1 > 0) {
            if (!(g[3 * t + 2] > 0)) continue;
            dx = xd - g[3 * t];
            dy = yd - g[3 * t + 1];
          } else {
            dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
            dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
          }
          e[n++] = Math.exp(-((dx * dx + dy * dy) / vars[t] / scale / 2));
        }
        out[i * gts.length + j] = pairwiseSum(e, 0, n) / n;
      });
    });
    return { dt: dts.length, gt: gts.length, data: out };
  }

  /** Greedy matching of one image/category/area range at every IoU threshold. */
  evaluateImg(imgId: number, catId: number, aRng: AreaRange, maxDet: number): EvalImg | null {
    const p = this.params;
    const gtAll = this.gtOf(imgId, catId);
    const dtAll = this.dtOf(imgId, catId);
    if (gtAll.length === 0 && dtAll.length === 0) return null;
    const ignoreFlags = gtAll.map((g) => (g.ignore || g.area < aRng[0] || g.area > aRng[1] ? 1 : 0));
    const gtind = stableArgsort(ignoreFlags);
    const gt = gtind.map((i) => gtAll[i]);
    const dt = byDescendingScore(dtAll).slice(0, maxDet);
    const T = p.iouThrs.length;
    const G = gt.length;
    const D = dt.length;
    const gtm = new Float64Array(T * G);
    const dtm = new Float64Array(T * D);
    const gtIg = Uint8Array.from(gtind, (i) => ignoreFlags[i]);
    const dtIg = new Uint8Array(T * D);
    const ious = this.ious.get(imgId)?.get(catId) ?? null;
    if (ious !== null) {
      const nG = ious.gt;
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < D; d++) {
          let iou = Math.min(p.iouThrs[t], 1 - 1e-10);
          let m = -1;
          for (let g = 0; g < G; g++) {
            // A matched gt is taken, unless it is a crowd; once a regular gt is matched, stop at
            // the ignored ones (sorted last).
            if (gtm[t * G + g] > 0 && !gt[g].iscrowd) continue;
            if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
            const v = ious.data[d * nG + gtind[g]];
            if (v < iou) continue;
            iou = v;
            m = g;
          }
          if (m === -1) continue;
          dtIg[t * D + d] = gtIg[m];
          dtm[t * D + d] = gt[m].id;
          gtm[t * G + m] = dt[d].id;
        }
      }
    }
    for (let d = 0; d < D; d++) {
      const outside = dt[d].area < aRng[0] || dt[d].area > aRng[1];
      if (!outside) continue;
      for (let t = 0; t < T; t++) if (dtm[t * D + d] === 0) dtIg[t * D + d] = 1;
    }
    return {
      imageId: imgId,
      categoryId: catId,
      aRng,
      maxDet,
      dtIds: dt.map((d) => d.id),
      gtIds: gt.map((g) => g.id),
      dtMatches: dtm,
      gtMatches: gtm,
      dtScores: Float64Array.from(dt, (d) => d.score),
      gtIgnore: gtIg,
      dtIgnore: dtIg,
    };
  }

  // -------------------------------------------------------------------------------------------
  // accumulate: precision/recall over images.

  /** Accumulates per-image results into precision/recall arrays (`this.eval`). */
  accumulate(params?: Params): Accumulated {
    const pe = this.paramsEval;
    if (pe === null) throw new Error('Please run evaluate() first');
    const p = params ?? this.params;
    p.catIds = p.useCats ? p.catIds : [-1];
    const T = p.iouThrs.length;
    const R = p.recThrs.length;
    const K = p.useCats ? p.catIds.length : 1;
    const A = p.areaRng.length;
    const M = p.maxDets.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    const scores = new Float64Array(T * R * K * A * M).fill(-1);

    const setK = new Set(pe.useCats ? pe.catIds : [-1]);
    const setA = new Set(pe.areaRng.map((a) => a.join(',')));
    const setM = new Set(pe.maxDets);
    const setI = new Set(pe.imgIds);
    const kList = indicesWhere(p.catIds, (k) => setK.has(k));
    const mList = p.maxDets.filter((m) => setM.has(m));
    const aList = indicesWhere(p.areaRng, (a) => setA.has(a.join(',')));
    const iList = indicesWhere(p.imgIds, (i) => setI.has(i));
    const I0 = pe.imgIds.length;
    const A0 = pe.areaRng.length;

    kList.forEach((k0, k) => {
      aList.forEach((a0, a) => {
        mList.forEach((maxDet, m) => {
          const E = iList.map((i) => this.evalImgs[k0 * A0 * I0 + a0 * I0 + i]).filter((e): e is EvalImg => e !== null);
          if (E.length === 0) return;
          const acc = concatenate(E, maxDet, T);
          if (acc.npig === 0) return;
          for (let t = 0; t < T; t++) {
            const { rc, pr, nd } = precisionRecall(acc, t);
            recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
            for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
            for (let ri = 0; ri < R; ri++) {
              // Past the last detection pycocotools hits an IndexError and leaves zeros.
              const pi = searchsortedLeft(rc, nd, p.recThrs[ri]);
              const at = (((t * R + ri) * K + k) * A + a) * M + m;
              precision[at] = pi < nd ? pr[pi] : 0;
              scores[at] = pi < nd ? acc.scores[pi] : 0;
            }
          }
        });
      });
    });
    this.eval = { params: p, counts: [T, R, K, A, M], precision, recall, scores };
    return this.eval;
  }

  // -------------------------------------------------------------------------------------------
  // summarize: pycocotools' 12 (10 for keypoints) headline numbers and their printed lines.

  /** One summary number: mean precision (ap) or recall over the selected entries, -1 if none. */
  summarizeOne(ap: boolean, iouThr: number | null, areaRng: string, maxDets: number): number {
    const ev = this.eval;
    if (ev === null) throw new Error('Please run accumulate() first');
    const p = this.params;
    const [, R, K, A, M] = ev.counts;
    const aind = indicesWhere(p.areaRngLbl, (l) => l === areaRng);
    const mind = indicesWhere(p.maxDets, (m) => m === maxDets);
    const tind = iouThr === null ? indicesWhere(Array.from(p.iouThrs), () => true) : indicesWhere(Array.from(p.iouThrs), (t) => t === iouThr);
    const values: number[] = [];
    for (const t of tind) {
      if (ap) {
        for (let r = 0; r < R; r++) {
          for (let k = 0; k < K; k++) {
            for (const a of aind) {
              for (const m of mind) {
                const v = ev.precision[(((t * R + r) * K + k) * A + a) * M + m];
                if (v > -1) values.push(v);
              }
            }
          }
        }
      } else {
        for (let k = 0; k < K; k++) {
          for (const a of aind) {
            for (const m of mind) {
              const v = ev.recall[((t * K + k) * A + a) * M + m];
              if (v > -1) values.push(v);
            }
          }
        }
      }
    }
    return values.length === 0 ? -1 : npMean(values);
  }

  /** The printed line for one summary number, exactly as pycocotools formats it. */
  summaryLine(ap: boolean, iouThr: number | null, areaRng: string, maxDets: number, value: number): string {
    const p = this.params;
    const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = ap ? '(AP)' : '(AR)';
    const iouStr =
      iouThr === null
        ? `${formatFixed(p.iouThrs[0], 2)}:${formatFixed(p.iouThrs[p.iouThrs.length - 1], 2)}`
        : formatFixed(iouThr, 2);
    return ` ${title} ${type} @[ IoU=${iouStr.padEnd(9)} | area=${areaRng.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${formatFixed(value, 3)}`;
  }

  /** Computes `stats` and prints pycocotools' summary lines through `log` (stdout by default). */
  summarize(log: LogLine = stdoutLine): number[] {
    if (this.eval === null) throw new Error('Please run accumulate() first');
    const md = this.params.maxDets;
    const rows: Array<[boolean, number | null, string, number]> =
      this.params.iouType === 'keypoints'
        ? [
            [true, null, 'all', 20],
            [true, 0.5, 'all', 20],
            [true, 0.75, 'all', 20],
            [true, null, 'medium', 20],
            [true, null, 'large', 20],
            [false, null, 'all', 20],
            [false, 0.5, 'all', 20],
            [false, 0.75, 'all', 20],
            [false, null, 'medium', 20],
            [false, null, 'large', 20],
          ]
        : [
            [true, null, 'all', 100],
            [true, 0.5, 'all', md[2]],
            [true, 0.75, 'all', md[2]],
            [true, null, 'small', md[2]],
            [true, null, 'medium', md[2]],
            [true, null, 'large', md[2]],
            [false, null, 'all', md[0]],
            [false, null, 'all', md[1]],
            [false, null, 'all', md[2]],
            [false, null, 'small', md[2]],
            [false, null, 'medium', md[2]],
            [false, null, 'large', md[2]],
          ];
    this.stats = rows.map(([ap, thr, area, maxDets]) => {
      const v = this.summarizeOne(ap, thr, area, maxDets);
      log(this.summaryLine(ap, thr, area, maxDets, v));
      return v;
    });
    return this.stats;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function push<T>(map: Map<number, Map<number, T[]>>, img: number, cat: number, v: T): void {
  let row = map.get(img);
  if (row === undefined) map.set(img, (row = new Map()));
  const list = row.get(cat);
  if (list === undefined) row.set(cat, [v]);
  else list.push(v);
}

function lookup<T>(map: Map<number, Map<number, T[]>>, img: number, cat: number): T[] {
  return map.get(img)?.get(cat) ?? [];
}

function indicesWhere<T>(list: readonly T[], pred: (v: T) => boolean): number[] {
  const out: number[] = [];
  list.forEach((v, i) => {
    if (pred(v)) out.push(i);
  });
  return out;
}

function flatBoxes(items: readonly { bbox: readonly number[] | null }[]): Float64Array {
  const out = new Float64Array(items.length * 4);
  items.forEach((it, i) => out.set(it.bbox as readonly number[], 4 * i));
  return out;
}

function checkedBox(v: unknown, where: string): number[] {
  if (!finiteList(v, 4)) throw new Error(`${where}: bbox must be 4 finite numbers [x, y, w, h], got ${describe(v)}`);
  return v;
}

function checkedKeypoints(v: unknown, k: number, where: string): number[] {
  if (!finiteList(v, 3 * k)) {
    throw new Error(`${where}: keypoints must be ${3 * k} finite numbers (${k} x, y, v triples), got ${describe(v)}`);
  }
  return v;
}

/** Detections of several images for one category/area/maxDet, merged in descending score order. */
interface Concatenated {
  scores: Float64Array;
  dtm: Uint8Array; // T×N: matched (pycocotools tests the matched gt id for non-zero)
  dtIg: Uint8Array; // T×N
  n: number;
  npig: number;
}

function concatenate(E: readonly EvalImg[], maxDet: number, T: number): Concatenated {
  const parts = E.map((e) => Math.min(maxDet, e.dtScores.length));
  const n = parts.reduce((s, x) => s + x, 0);
  const raw = new Float64Array(n);
  let off = 0;
  E.forEach((e, j) => {
    raw.set(e.dtScores.subarray(0, parts[j]), off);
    off += parts[j];
  });
  const order = stableArgsort(Array.from(raw, (s) => -s));
  const scores = Float64Array.from(order, (i) => raw[i]);
  // Column c of the concatenation lives in image j at detection c - start[j].
  const src = new Int32Array(n);
  const col = new Int32Array(n);
  off = 0;
  E.forEach((e, j) => {
    for (let d = 0; d < parts[j]; d++) {
      src[off + d] = j;
      col[off + d] = d;
    }
    off += parts[j];
  });
  const dtm = new Uint8Array(T * n);
  const dtIg = new Uint8Array(T * n);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < n; c++) {
      const i = order[c];
      const e = E[src[i]];
      const D = e.dtScores.length;
      dtm[t * n + c] = e.dtMatches[t * D + col[i]] !== 0 ? 1 : 0;
      dtIg[t * n + c] = e.dtIgnore[t * D + col[i]];
    }
  }
  let npig = 0;
  for (const e of E) for (const g of e.gtIgnore) if (g === 0) npig++;
  return { scores, dtm, dtIg, n, npig };
}

/** Cumulative recall and precision at each detection for threshold index t. */
function precisionRecall(acc: Concatenated, t: number): { rc: Float64Array; pr: Float64Array; nd: number } {
  const nd = acc.n;
  const rc = new Float64Array(nd);
  const pr = new Float64Array(nd);
  let tp = 0;
  let fp = 0;
  for (let c = 0; c < nd; c++) {
    if (!acc.dtIg[t * nd + c]) {
      if (acc.dtm[t * nd + c]) tp++;
      else fp++;
    }
    rc[c] = tp / acc.npig;
    pr[c] = tp / (fp + tp + SPACING_1);
  }
  return { rc, pr, nd };
}

/**
 * Python's '{:.Nf}'.format(x): correctly rounded, ties (exactly representable halves) to even,
 * 'nan' for NaN. JavaScript's toFixed rounds ties up, hence the check on the exact expansion.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const ax = Math.abs(x);
  if (ax >= 1e21) return sign + ax.toFixed(digits);
  const exact = ax.toFixed(100);
  const dot = exact.indexOf('.');
  const kept = exact.slice(0, dot) + exact.slice(dot + 1, dot + 1 + digits);
  const rest = exact.slice(dot + 1 + digits);
  let n = BigInt(kept);
  const half = '5'.padEnd(rest.length, '0');
  if (rest > half || (rest === half && n % 2n === 1n)) n += 1n;
  const s = n.toString().padStart(digits + 1, '0');
  const body = digits > 0 ? `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}` : s;
  return sign + body;
}
