/**
 * Proposal recall: Detectron's json_dataset_evaluator.evaluate_box_proposals and
 * task_evaluation.evaluate_box_proposals / log_box_proposal_results (AR@100 and AR@1000 over
 * all, small, medium and large ground-truth boxes).
 */
import { bboxOverlaps, pairwiseSum } from '../utils/boxes';
import type { RoidbEntry } from './json_dataset';
import { formatFixed, type LogLine } from './pycocotools/cocoeval';
import type { EvalResults } from './task_evaluation';

export type ProposalArea = 'all' | 'small' | 'medium' | 'large' | '96-128' | '128-256' | '256-512' | '512-inf';

const AREA_RANGES: Record<ProposalArea, [number, number]> = {
  all: [0 ** 2, 1e5 ** 2],
  small: [0 ** 2, 32 ** 2],
  medium: [32 ** 2, 96 ** 2],
  large: [96 ** 2, 1e5 ** 2],
  '96-128': [96 ** 2, 128 ** 2],
  '128-256': [128 ** 2, 256 ** 2],
  '256-512': [256 ** 2, 512 ** 2],
  '512-inf': [512 ** 2, 1e5 ** 2],
};

export interface BoxProposalStats {
  ar: number;
  /** Per threshold, or per class × threshold (row-major) when class specific. */
  recalls: Float64Array;
  thresholds: Float64Array;
  gtOverlaps: Float64Array;
  numPos: number;
}

/** np.arange(0.5, 0.95 + 1e-5, 0.05): start + i × step. */
function defaultThresholds(): Float64Array {
  const n = Math.ceil((0.95 + 1e-5 - 0.5) / 0.05);
  return Float64Array.from({ length: n }, (_, i) => 0.5 + i * 0.05);
}

/**
 * evaluate_box_proposals over a roidb with ground truth and proposals (gt_classes 0): for each
 * image, gt boxes (non-crowd, area in range) are greedily matched to their best-covering
 * proposal among the first `limit`; recall at each IoU threshold, AR their mean.
 */
export function evaluateBoxProposals(
  roidb: readonly RoidbEntry[],
  o: { area?: ProposalArea; limit?: number | null; thresholds?: Float64Array; classSpecific?: boolean } = {},
): BoxProposalStats {
  const [lo, hi] = AREA_RANGES[o.area ?? 'all'];
  if (lo === undefined) throw new Error(`Unknown area range: ${o.area}`);
  const overlapsAll: number[] = [];
  const gtClassesAll: number[] = [];
  let numPos = 0;
  for (const entry of roidb) {
    const gtInds: number[] = [];
    entry.gt_classes.forEach((c, i) => c > 0 && entry.is_crowd[i] === 0 && gtInds.push(i));
    const valid = gtInds.map((g, k) => k).filter((k) => {
      const a = entry.seg_areas[gtInds[k]];
      return a >= lo && a <= hi;
    });
    const gtBoxes = new Float32Array(4 * valid.length);
    valid.forEach((k, t) => gtBoxes.set(entry.boxes.subarray(4 * gtInds[k], 4 * gtInds[k] + 4), 4 * t));
    // Detectron indexes gt_classes with the positions within gt_inds (as it does; identical
    // whenever the entry has no crowd box before a counted one)
    for (const k of valid) gtClassesAll.push(entry.gt_classes[k]);
    numPos += valid.length;
    const nonGt: number[] = [];
    entry.gt_classes.forEach((c, i) => c === 0 && nonGt.push(i));
    if (nonGt.length === 0) continue;
    const take = o.limit !== undefined && o.limit !== null && nonGt.length > o.limit ? nonGt.slice(0, o.limit) : nonGt;
    const boxes = new Float32Array(4 * take.length);
    take.forEach((i, t) => boxes.set(entry.boxes.subarray(4 * i, 4 * i + 4), 4 * t));
    const n = take.length;
    const k = valid.length;
    const ov = k === 0 ? new Float32Array(0) : bboxOverlaps(boxes, gtBoxes);
    const covered = new Float64Array(k);
    for (let j = 0; j < Math.min(n, k); j++) {
      // the gt box best covered by any proposal (first on ties, as argmax), and that proposal
      let gtInd = -1;
      let gtOvr = -Infinity;
      let boxInd = -1;
      for (let g = 0; g < k; g++) {
        let best = -Infinity;
        let arg = 0;
        for (let b = 0; b < n; b++) {
          const v = ov[b * k + g];
          if (v > best) { best = v; arg = b; }
        }
        if (best > gtOvr) { gtOvr = best; gtInd = g; boxInd = arg; }
      }
      if (!(gtOvr >= 0)) throw new Error('evaluate_box_proposals: negative overlap');
      covered[j] = ov[boxInd * k + gtInd];
      for (let g = 0; g < k; g++) ov[boxInd * k + g] = -1;
      for (let b = 0; b < n; b++) ov[b * k + gtInd] = -1;
    }
    for (const v of covered) overlapsAll.push(v);
  }
  const thresholds = o.thresholds ?? defaultThresholds();
  if (!(o.classSpecific ?? false)) {
    const gtOverlaps = Float64Array.from(overlapsAll).sort();
    const recalls = thresholds.map((t) => gtOverlaps.filter((v) => v >= t).length / numPos);
    return { ar: pairwiseSum(recalls) / recalls.length, recalls, thresholds, gtOverlaps, numPos };
  }
  if (gtClassesAll.length !== overlapsAll.length) {
    throw new Error(`evaluate_box_proposals: ${gtClassesAll.length} gt classes for ${overlapsAll.length} overlaps (an image without proposals): numpy fails here too`);
  }
  const classes = [...new Set(gtClassesAll)].sort((a, b) => a - b);
  const recalls = new Float64Array(classes.length * thresholds.length);
  const means = classes.map((c, i) => {
    const inds = gtClassesAll.map((g, t) => (g === c ? t : -1)).filter((t) => t >= 0);
    thresholds.forEach((t, j) => {
      recalls[i * thresholds.length + j] = inds.filter((x) => overlapsAll[x] >= t).length / inds.length;
    });
    return pairwiseSum(recalls.subarray(i * thresholds.length, (i + 1) * thresholds.length)) / thresholds.length;
  });
  return { ar: pairwiseSum(means) / means.length, recalls, thresholds, gtOverlaps: Float64Array.from(overlapsAll), numPos };
}

/** task_evaluation.evaluate_box_proposals: {dataset: {box_proposal: {AR@100, ARs@100, ...}}}. */
export function evaluateBoxProposalsForDataset(datasetName: string, roidb: readonly RoidbEntry[], classSpecific: boolean): EvalResults {
  const metrics: Record<string, number> = {};
  const areas: Array<[ProposalArea, string]> = [['all', ''], ['small', 's'], ['medium', 'm'], ['large', 'l']];
  for (const limit of [100, 1000]) {
    for (const [area, suffix] of areas) {
      metrics[`AR${suffix}@${limit}`] = evaluateBoxProposals(roidb, { area, limit, classSpecific }).ar;
    }
  }
  return { [datasetName]: { box_proposal: metrics } };
}

/** log_box_proposal_results. */
export function logBoxProposalResults(results: EvalResults, log: LogLine): void {
  for (const [dataset, tasks] of Object.entries(results)) {
    const metrics = tasks.box_proposal;
    const pad = Math.max(...Object.keys(metrics).map((k) => k.length));
    log(dataset);
    for (const [k, v] of Object.entries(metrics)) log(`${k.padEnd(pad)}: ${formatFixed(v, 3)}`);
  }
}
