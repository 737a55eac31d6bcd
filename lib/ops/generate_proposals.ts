/**
 * RPN proposal generation: Detectron's detectron/ops/generate_proposals.py (GenerateProposalsOp,
 * as Detectron.pytorch runs it) and detectron/modeling/generate_anchors.py, over typed arrays.
 *
 * Per image: order the A×H×W objectness scores and 4A×H×W deltas as (H, W, A) like the anchors,
 * keep the pre-NMS top N by score, decode the anchors (weights 1,1,1,1, BBOX_XFORM_CLIP) in
 * float32, clip to the network input, drop boxes by Detectron HEAD's `_filter_boxes` (sides of at
 * least max(min_size, 1) pixels in the original image, centre inside the input), NMS, post-NMS
 * top N. Boxes are in network-input pixels.
 */
import { DEFAULT_BBOX_XFORM_CLIP, argsortDescending, bboxTransform, clipTiledBoxes, nms } from '../utils/boxes';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// Anchors.

/** np.round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * generate_anchors: A×4 anchors (float64) centred on (stride - 1) / 2, for each aspect ratio
 * (outer) and size (inner), with Detectron's rounding of the ratio-adjusted widths and heights.
 */
export function generateAnchors(
  stride = 16, sizes: readonly number[] = [32, 64, 128, 256, 512], aspectRatios: readonly number[] = [0.5, 1, 2],
): Float64Array {
  const out = new Float64Array(4 * sizes.length * aspectRatios.length);
  // the reference window (0, 0, stride - 1, stride - 1)
  const base = stride;
  const ctr = 0.5 * (base - 1);
  let o = 0;
  for (const ratio of aspectRatios) {
    const ws = roundHalfEven(Math.sqrt((base * base) / ratio));
    const hs = roundHalfEven(ws * ratio);
    // _mkanchors around ctr, then _whctrs of that anchor again (same centre, same size)
    const x1 = ctr - 0.5 * (ws - 1);
    const y1 = ctr - 0.5 * (hs - 1);
    const w = ctr + 0.5 * (ws - 1) - x1 + 1;
    const h = ctr + 0.5 * (hs - 1) - y1 + 1;
    const xc = x1 + 0.5 * (w - 1);
    const yc = y1 + 0.5 * (h - 1);
    for (const size of sizes) {
      const scale = size / stride;
      const sw = w * scale;
      const sh = h * scale;
      out[o++] = xc - 0.5 * (sw - 1);
      out[o++] = yc - 0.5 * (sh - 1);
      out[o++] = xc + 0.5 * (sw - 1);
      out[o++] = yc + 0.5 * (sh - 1);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ordering.

/**
 * The `k` highest values, highest first, ties in ascending index order: np.argsort(-v) (or its
 * argpartition shortcut) with a stable order for ties. k <= 0 or k >= n sorts everything.
 */
export function topKDescending(values: Float32Array, k: number): Int32Array {
  const n = values.length;
  if (k <= 0 || k >= n) return argsortDescending(values);
  // k-th largest value, then everything above it and the first tied indices up to k
  const sorted = Float32Array.from(values).sort();
  const t = sorted[n - k];
  const picked = new Int32Array(k);
  let c = 0;
  for (let i = 0; i < n; i++) if (values[i] > t) picked[c++] = i;
  for (let i = 0; i < n && c < k; i++) if (values[i] === t) picked[c++] = i;
  return picked.sort((a, b) => (values[b] - values[a]) || (a - b));
}

// ---------------------------------------------------------------------------------------------
// Proposals.

export interface ProposalOptions {
  /** RPN_PRE_NMS_TOP_N (<= 0: keep all). */
  preNmsTopN: number;
  /** RPN_POST_NMS_TOP_N (<= 0: keep all). */
  postNmsTopN: number;
  /** RPN_NMS_THRESH (<= 0: no NMS and no post-NMS cut, as Detectron). */
  nmsThresh: number;
  /** RPN_MIN_SIZE in original-image pixels (Detectron uses at least 1). */
  minSize: number;
  /** BBOX_XFORM_CLIP, default log(1000 / 16). */
  bboxXformClip?: number;
}

/** im_info row: network-input height, width and scale (float32 in Detectron's blob). */
export interface ImInfo {
  height: number;
  width: number;
  scale: number;
}

export interface ImageProposals {
  /** R×4 float32 boxes in network-input pixels, best first. */
  boxes: Float32Array;
  /** R objectness scores. */
  scores: Float32Array;
}

export interface RpnGrid {
  /** anchors per location */
  a: number;
  /** feature map height */
  h: number;
  /** feature map width */
  w: number;
}

/**
 * GenerateProposalsOp.proposals_for_one_image. `scores` is A×H×W, `deltas` 4A×H×W (one image of
 * the conv outputs), `anchors` A×4 (float64 as generate_anchors makes them), `featStride` the
 * level's stride (1 / spatial_scale).
 */
export function proposalsForOneImage(
  scores: Float32Array, deltas: Float32Array, grid: RpnGrid, anchors: Float64Array, featStride: number,
  imInfo: ImInfo, opts: ProposalOptions,
): ImageProposals {
  const { a, h, w } = grid;
  checkGrid(scores, deltas, grid, anchors);
  const hw = h * w;
  // scores in (H, W, A) order, as scores.transpose((1, 2, 0)).reshape(-1)
  const sHwa = new Float32Array(hw * a);
  for (let p = 0; p < hw; p++) for (let j = 0; j < a; j++) sHwa[p * a + j] = scores[j * hw + p];
  const order = topKDescending(sHwa, opts.preNmsTopN);
  const m = order.length;
  const anchorRows = new Float64Array(4 * m);
  const deltaRows = new Float32Array(4 * m);
  const orderedScores = new Float32Array(m);
  for (let r = 0; r < m; r++) {
    const idx = order[r];
    const j = idx % a;
    const p = (idx - j) / a;
    const x = p % w;
    const y = (p - x) / w;
    // anchor j shifted to cell (x, y): float64 like Detectron's all_anchors
    const sx = x * featStride;
    const sy = y * featStride;
    anchorRows[4 * r] = anchors[4 * j] + sx;
    anchorRows[4 * r + 1] = anchors[4 * j + 1] + sy;
    anchorRows[4 * r + 2] = anchors[4 * j + 2] + sx;
    anchorRows[4 * r + 3] = anchors[4 * j + 3] + sy;
    // deltas (4A, H, W) -> (H, W, 4A) -> rows of 4
    for (let c = 0; c < 4; c++) deltaRows[4 * r + c] = deltas[(4 * j + c) * hw + p];
    orderedScores[r] = sHwa[idx];
  }
  const decoded = bboxTransform(anchorRows, deltaRows, 4, [1, 1, 1, 1], opts.bboxXformClip ?? DEFAULT_BBOX_XFORM_CLIP);
  const proposals = clipTiledBoxes(decoded, 4, f32(imInfo.height), f32(imInfo.width));
  const kept = filterBoxes(proposals, opts.minSize, imInfo);
  let boxes = gatherRows(proposals, kept, 4);
  let probs = Float32Array.from(kept, (i) => orderedScores[i]);
  if (opts.nmsThresh > 0) {
    const dets = new Float32Array(5 * kept.length);
    for (let i = 0; i < kept.length; i++) {
      dets.set(boxes.subarray(4 * i, 4 * i + 4), 5 * i);
      dets[5 * i + 4] = probs[i];
    }
    let keep = nms(dets, opts.nmsThresh);
    if (opts.postNmsTopN > 0) keep = keep.slice(0, opts.postNmsTopN);
    boxes = gatherRows(boxes, keep, 4);
    probs = Float32Array.from(keep, (i) => probs[i]);
  }
  return { boxes, scores: probs };
}

function checkGrid(scores: Float32Array, deltas: Float32Array, grid: RpnGrid, anchors: Float64Array): void {
  const { a, h, w } = grid;
  if (![a, h, w].every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`generateProposals: grid sizes must be non-negative integers, got A=${a} H=${h} W=${w}`);
  }
  if (anchors.length !== 4 * a) throw new Error(`generateProposals: ${anchors.length / 4} anchors for A=${a}`);
  if (scores.length !== a * h * w) {
    throw new Error(`generateProposals: scores have ${scores.length} values, expected A×H×W = ${a}×${h}×${w}`);
  }
  if (deltas.length !== 4 * a * h * w) {
    throw new Error(`generateProposals: deltas have ${deltas.length} values, expected 4A×H×W = ${4 * a}×${h}×${w}`);
  }
}

function gatherRows(src: Float32Array, rows: ArrayLike<number>, cols: number): Float32Array {
  const out = new Float32Array(rows.length * cols);
  for (let i = 0; i < rows.length; i++) out.set(src.subarray(rows[i] * cols, rows[i] * cols + cols), i * cols);
  return out;
}

/**
 * _filter_boxes at Detectron's HEAD: keep boxes whose sides, measured in the original image
 * ((x2 - x1) / im_scale + 1), are at least max(minSize, 1), and whose centre (x1 + (w + 1) / 2)
 * lies inside the network input. float32 arithmetic, as on Detectron's float32 arrays.
 */
export function filterBoxes(boxes: Float32Array, minSize: number, imInfo: ImInfo): Int32Array {
  if (boxes.length % 4 !== 0) throw new Error(`filterBoxes: expected N×4 boxes, got ${boxes.length} values`);
  const scale = f32(imInfo.scale);
  const imH = f32(imInfo.height);
  const imW = f32(imInfo.width);
  const min = f32(Math.max(minSize, 1));
  const keep: number[] = [];
  for (let i = 0; i < boxes.length / 4; i++) {
    const x1 = boxes[4 * i], y1 = boxes[4 * i + 1];
    const dx = f32(boxes[4 * i + 2] - x1);
    const dy = f32(boxes[4 * i + 3] - y1);
    const wOrig = f32(f32(dx / scale) + 1);
    const hOrig = f32(f32(dy / scale) + 1);
    const xCtr = f32(x1 + f32(f32(dx + 1) / 2));
    const yCtr = f32(y1 + f32(f32(dy + 1) / 2));
    if (wOrig >= min && hOrig >= min && xCtr < imW && yCtr < imH) keep.push(i);
  }
  return Int32Array.from(keep);
}

export interface RpnBatch {
  /** number of images */
  n: number;
  a: number;
  h: number;
  w: number;
}

export interface RpnRois {
  /** R×5 float32 rois (batch index, x1, y1, x2, y2) in network-input pixels. */
  rois: Float32Array;
  /** R objectness probabilities. */
  roiProbs: Float32Array;
}

/**
 * GenerateProposalsOp.forward: proposals for every image of a batch. `scores` N×A×H×W, `deltas`
 * N×4A×H×W, `imInfo` N×3 (height, width, scale), `spatialScale` the level's 1 / stride.
 */
export function generateProposals(
  scores: Float32Array, deltas: Float32Array, batch: RpnBatch, imInfo: ArrayLike<number>,
  anchors: Float64Array, spatialScale: number, opts: ProposalOptions,
): RpnRois {
  const { n, a, h, w } = batch;
  if (imInfo.length !== 3 * n) throw new Error(`generateProposals: im_info must be N×3 = ${n}×3, got ${imInfo.length} values`);
  if (scores.length !== n * a * h * w || deltas.length !== 4 * n * a * h * w) {
    throw new Error(`generateProposals: scores/deltas of ${scores.length}/${deltas.length} values do not match N=${n} A=${a} H=${h} W=${w}`);
  }
  const featStride = 1 / spatialScale;
  const parts: ImageProposals[] = [];
  for (let i = 0; i < n; i++) {
    const s = scores.subarray(i * a * h * w, (i + 1) * a * h * w);
    const d = deltas.subarray(i * 4 * a * h * w, (i + 1) * 4 * a * h * w);
    const info = { height: imInfo[3 * i], width: imInfo[3 * i + 1], scale: imInfo[3 * i + 2] };
    parts.push(proposalsForOneImage(s, d, { a, h, w }, anchors, featStride, info, opts));
  }
  const total = parts.reduce((t, p) => t + p.scores.length, 0);
  const rois = new Float32Array(5 * total);
  const roiProbs = new Float32Array(total);
  let r = 0;
  parts.forEach((p, i) => {
    for (let j = 0; j < p.scores.length; j++, r++) {
      rois[5 * r] = i;
      rois.set(p.boxes.subarray(4 * j, 4 * j + 4), 5 * r + 1);
      roiProbs[r] = p.scores[j];
    }
  });
  return { rois, roiProbs };
}
