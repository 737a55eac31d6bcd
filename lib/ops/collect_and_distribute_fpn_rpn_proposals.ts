/**
 * FPN RoI bookkeeping at test time: Detectron's detectron/ops/collect_and_distribute_fpn_rpn_
 * proposals.py (`collect`, `distribute`) and modeling/FPN.py (`map_rois_to_fpn_levels`,
 * `add_multilevel_roi_blobs`), over typed arrays. Rois are R×5 float32 (batch index, x1, y1,
 * x2, y2) in network-input pixels.
 */
import { FloatArray, argsortDescending, boxesArea, rowCount } from '../utils/boxes';

const f32 = Math.fround;

export interface CollectedProposals {
  /** R×5 rois, highest score first. */
  rois: Float32Array;
  /** Their scores (Detectron drops them after sorting; kept here for inspection). */
  scores: Float32Array;
}

/** Python's `[:stop]` end index for a sequence of `length` (negative counts from the end). */
function sliceEnd(stop: number, length: number): number {
  if (stop < 0) return Math.max(0, length + stop);
  return Math.min(stop, length);
}

/**
 * collect: concatenate every level's rois and scores (in level order) and keep the top
 * `postNmsTopN` by score (np.argsort(-scores)[:postNmsTopN], ties in index order). Detectron
 * applies the cut over the whole batch, which at test time (one image) is per image.
 */
export function collectFpnProposals(
  levelRois: readonly Float32Array[], levelScores: readonly Float32Array[], postNmsTopN: number,
): CollectedProposals {
  if (levelRois.length !== levelScores.length) {
    throw new Error(`collectFpnProposals: ${levelRois.length} roi levels but ${levelScores.length} score levels`);
  }
  const total = levelRois.reduce((t, r, l) => {
    const n = rowCount(r, 5, `collectFpnProposals rois of level ${l}`);
    if (levelScores[l].length !== n) throw new Error(`collectFpnProposals: level ${l} has ${n} rois but ${levelScores[l].length} scores`);
    return t + n;
  }, 0);
  const allRois = new Float32Array(5 * total);
  const allScores = new Float32Array(total);
  let at = 0;
  levelRois.forEach((r, l) => {
    allRois.set(r, 5 * at);
    allScores.set(levelScores[l], at);
    at += levelScores[l].length;
  });
  const order = argsortDescending(allScores).subarray(0, sliceEnd(postNmsTopN, total));
  const rois = new Float32Array(5 * order.length);
  const scores = new Float32Array(order.length);
  order.forEach((i, r) => {
    rois.set(allRois.subarray(5 * i, 5 * i + 5), 5 * r);
    scores[r] = allScores[i];
  });
  return { rois, scores };
}

export interface FpnLevelOptions {
  /** FPN.ROI_MIN_LEVEL / ROI_MAX_LEVEL */
  minLevel: number;
  maxLevel: number;
  /** FPN.ROI_CANONICAL_SCALE (224) and ROI_CANONICAL_LEVEL (4) */
  canonicalScale?: number;
  canonicalLevel?: number;
}

/**
 * map_rois_to_fpn_levels: floor(lvl0 + log2(sqrt(area) / s0 + 1e-6)) clipped to the level range,
 * area with Detectron's +1 sides. `boxes` is N×`cols`, the box being the last four columns
 * (cols 5: rois with a batch index, as Detectron passes rois[:, 1:5]). float32 boxes are
 * computed in float32 as numpy does.
 */
export function mapRoisToFpnLevels(boxes: FloatArray, cols: 4 | 5, opts: FpnLevelOptions): Int32Array {
  const n = rowCount(boxes, cols, 'mapRoisToFpnLevels');
  const xyxy = cols === 4 ? boxes : stripFirstColumn(boxes, n);
  const areas = boxesArea(xyxy);
  const r = boxes instanceof Float32Array ? f32 : (x: number): number => x;
  const s0 = r(opts.canonicalScale ?? 224);
  const lvl0 = r(opts.canonicalLevel ?? 4);
  const eps = r(1e-6);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = r(Math.sqrt(areas[i]));
    const lvl = Math.floor(r(lvl0 + r(Math.log2(r(r(s / s0) + eps)))));
    out[i] = Math.min(Math.max(lvl, opts.minLevel), opts.maxLevel);
  }
  return out;
}

function stripFirstColumn(rois: FloatArray, n: number): FloatArray {
  const out = rois instanceof Float32Array ? new Float32Array(4 * n) : new Float64Array(4 * n);
  for (let i = 0; i < n; i++) out.set(rois.subarray(5 * i + 1, 5 * i + 5), 4 * i);
  return out;
}

export interface DistributedRois {
  /** All rois, unchanged (Detectron's first output). */
  rois: Float32Array;
  /** Level of each roi. */
  levels: Int32Array;
  /** For each level minLevel..maxLevel: its rois (R_l×5) ... */
  levelRois: Float32Array[];
  /** ... and their indices into `rois`, ascending. */
  levelIndices: Int32Array[];
  /** Position of each roi in the concatenation of the level blobs (rois_idx_restore_int32). */
  idxRestore: Int32Array;
}

/**
 * distribute (and add_multilevel_roi_blobs, which is the same computation): split R×5 rois by
 * FPN level and record how to restore the original order from the level-concatenated order.
 */
export function distributeFpnRois(rois: Float32Array, opts: FpnLevelOptions): DistributedRois {
  const n = rowCount(rois, 5, 'distributeFpnRois');
  if (!(Number.isInteger(opts.minLevel) && Number.isInteger(opts.maxLevel) && opts.minLevel <= opts.maxLevel)) {
    throw new Error(`distributeFpnRois: bad level range ${opts.minLevel}..${opts.maxLevel}`);
  }
  const levels = mapRoisToFpnLevels(rois, 5, opts);
  const levelRois: Float32Array[] = [];
  const levelIndices: Int32Array[] = [];
  const idxRestore = new Int32Array(n);
  let at = 0;
  for (let lvl = opts.minLevel; lvl <= opts.maxLevel; lvl++) {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (levels[i] === lvl) idx.push(i);
    const blob = new Float32Array(5 * idx.length);
    idx.forEach((i, r) => {
      blob.set(rois.subarray(5 * i, 5 * i + 5), 5 * r);
      // argsort of a permutation is its inverse
      idxRestore[i] = at + r;
    });
    at += idx.length;
    levelRois.push(blob);
    levelIndices.push(Int32Array.from(idx));
  }
  return { rois, levels, levelRois, levelIndices, idxRestore };
}

/**
 * CollectAndDistributeFpnRpnProposalsOp at test time: collect the levels' proposals, keep the top
 * `postNmsTopN`, distribute them over the RoI levels.
 */
export function collectAndDistributeFpnRpnProposals(
  levelRois: readonly Float32Array[], levelScores: readonly Float32Array[], postNmsTopN: number, opts: FpnLevelOptions,
): DistributedRois & { scores: Float32Array } {
  const { rois, scores } = collectFpnProposals(levelRois, levelScores, postNmsTopN);
  return { ...distributeFpnRois(rois, opts), scores };
}
