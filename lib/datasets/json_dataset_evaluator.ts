/**
 * The COCO-evaluation half of Detectron's detectron/datasets/json_dataset_evaluator.py: running
 * pycocotools' COCOeval on a results file, the per-category AP@[.5:.95] that
 * `_log_detection_eval_metrics` prints, and that log itself.
 */
import { COCO, type IouType } from './pycocotools/coco';
import { COCOeval, formatFixed, npMean, type LogLine } from './pycocotools/cocoeval';

export interface CocoEvalResult {
  cocoEval: COCOeval;
  /** pycocotools' summary numbers: 12 (bbox, segm) or 10 (keypoints). */
  stats: number[];
  /** AP@[.5:.95], area all, largest maxDets, per category id; NaN where undefined. */
  perCategoryAP: Map<number, number>;
}

/** Index of the IoU threshold within 1e-5 of `thr` (Detectron's _get_thr_ind). */
function thresholdIndex(cocoEval: COCOeval, thr: number): number {
  const i = Array.from(cocoEval.params.iouThrs).findIndex((t) => t > thr - 1e-5 && t < thr + 1e-5);
  if (i < 0) throw new Error(`no IoU threshold near ${thr} in the evaluation parameters`);
  return i;
}

/**
 * Mean precision over IoU 0.50..0.95 and all recall thresholds, area range 'all' and the last
 * maxDets (Detectron's index 2 = 100 detections; 20 for keypoints), for category index `k`
 * (or all categories when k is null). NaN where no precision is defined, as numpy gives.
 */
export function meanPrecision(cocoEval: COCOeval, k: number | null): number {
  const ev = cocoEval.eval;
  if (ev === null) throw new Error('Please run accumulate() first');
  const [, R, K, A, M] = ev.counts;
  const lo = thresholdIndex(cocoEval, 0.5);
  const hi = thresholdIndex(cocoEval, 0.95);
  const m = M - 1;
  const values: number[] = [];
  for (let t = lo; t <= hi; t++) {
    for (let r = 0; r < R; r++) {
      for (let c = k ?? 0; c < (k === null ? K : k + 1); c++) {
        const v = ev.precision[(((t * R + r) * K + c) * A + 0) * M + m];
        if (v > -1) values.push(v);
      }
    }
  }
  return npMean(values);
}

/** Per-category AP keyed by category id, in ascending id order (COCOeval's category axis). */
export function perCategoryAP(cocoEval: COCOeval): Map<number, number> {
  const out = new Map<number, number>();
  cocoEval.params.catIds.forEach((catId, k) => out.set(catId, meanPrecision(cocoEval, k)));
  return out;
}

/**
 * Detectron's _log_detection_eval_metrics: the mean AP and one AP per category (×100, one
 * decimal, 'nan' where undefined), then pycocotools' summary.
 */
export function logDetectionEvalMetrics(cocoEval: COCOeval, log: LogLine): void {
  log(`~~~~ Mean and per-category AP @ IoU=[${formatFixed(0.5, 2)},${formatFixed(0.95, 2)}] ~~~~`);
  log(formatFixed(100 * meanPrecision(cocoEval, null), 1));
  for (let k = 0; k < cocoEval.params.catIds.length; k++) log(formatFixed(100 * meanPrecision(cocoEval, k), 1));
  log('~~~~ Summary metrics ~~~~');
  cocoEval.summarize(log);
}

/**
 * Evaluates a COCO results file (or parsed results) against ground truth, as Detectron's
 * _do_detection_eval / _do_segmentation_eval / _do_keypoint_eval do. Bbox and segm print
 * _log_detection_eval_metrics' lines; keypoints only the summary (as Detectron). Lines go to
 * `log`; pass a no-op to stay silent.
 */
export function evaluateCocoResults(gt: COCO | string, results: unknown, iouType: IouType, log: LogLine): CocoEvalResult {
  const cocoGt = typeof gt === 'string' ? COCO.fromFile(gt) : gt;
  const cocoDt = cocoGt.loadRes(results);
  const cocoEval = new COCOeval(cocoGt, cocoDt, iouType);
  cocoEval.evaluate();
  cocoEval.accumulate();
  if (iouType === 'keypoints') cocoEval.summarize(log);
  else logDetectionEvalMetrics(cocoEval, log);
  return { cocoEval, stats: cocoEval.stats, perCategoryAP: perCategoryAP(cocoEval) };
}
