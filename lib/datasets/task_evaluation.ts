/**
 * Detectron's detectron/datasets/task_evaluation.py (evaluate_all, evaluate_boxes,
 * evaluate_masks, evaluate_keypoints, check_expected_results, log_copy_paste_friendly_results)
 * with the results-file half of json_dataset_evaluator.py: from test_net's all_boxes /
 * all_segms / all_keyps, write the COCO results files Detectron writes
 * (`bbox_<dataset>_results.json`, `segmentations_...`, `keypoints_...`) in its order, evaluate
 * each with our COCOeval and print Detectron's AP tables.
 *
 * Results nest as Detectron's OrderedDicts: dataset -> task ('box', 'mask', 'keypoint') ->
 * metric ('AP', 'AP50', ...) -> value, -1 where a task was not evaluated.
 */
import { randomUUID } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import type { Cfg } from '../modeling/config_types';
import type { AllResults } from '../core/test_engine_dataset';
import {
  writeCocoResults, xyxyToXywh, type CocoBboxResult, type CocoKeypointResult, type CocoResult, type CocoSegmResult,
} from '../core/results_io';
import { keypointScore, type KeypointConfidence } from '../utils/keypoints';
import type { JsonDataset } from './json_dataset';
import { evaluateCocoResults } from './json_dataset_evaluator';
import type { IouType } from './pycocotools/coco';
import { formatFixed, type LogLine } from './pycocotools/cocoeval';

/** metric -> value, in Detectron's order. */
export type Metrics = Record<string, number>;
/** task ('box', 'mask', 'keypoint') -> metrics. */
export type TaskResults = Record<string, Metrics>;
/** dataset name -> tasks. */
export type EvalResults = Record<string, TaskResults>;

export interface EvalLog {
  /** What Detectron logs at INFO: file names, the AP tables, pycocotools' summary. */
  info: LogLine;
  /** What Detectron logs as warnings (evaluation skipped and why). */
  warn: LogLine;
}

export interface EvaluateOptions {
  log: EvalLog;
  /**
   * Use the COCO json evaluator whatever the dataset's name (TEST.FORCE_JSON_DATASET_EVAL).
   * Datasets given by an annotation file are COCO json by construction, so test_net sets it for
   * them; Detectron would refuse their names ('No evaluator for dataset').
   */
  forceJson?: boolean;
}

const BOX_METRICS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'] as const;
const KEYPOINT_METRICS = ['AP', 'AP50', 'AP75', 'APm', 'APl'] as const;

function emptyMetrics(names: readonly string[]): Metrics {
  return Object.fromEntries(names.map((n) => [n, -1]));
}

/** _coco_eval_to_{box,mask}_results: stats 0..5. */
function boxLikeMetrics(stats: readonly number[] | null): Metrics {
  const m = emptyMetrics(BOX_METRICS);
  if (stats !== null) BOX_METRICS.forEach((name, i) => (m[name] = stats[i]));
  return m;
}

/** _coco_eval_to_keypoint_results: keypoint stats have no small-area row (APm is stats[3]). */
function keypointMetrics(stats: readonly number[] | null): Metrics {
  const m = emptyMetrics(KEYPOINT_METRICS);
  if (stats !== null) KEYPOINT_METRICS.forEach((name, i) => (m[name] = stats[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Results files (json_dataset_evaluator's _write_coco_*_results_file)

/** (contiguous class index, json category id) for the dataset's classes the model has. */
function evaluatedClasses(dataset: JsonDataset, numClasses: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let clsInd = 0; clsInd < dataset.classes.length; clsInd++) {
    const cls = dataset.classes[clsInd];
    if (cls === '__background__') continue;
    // Detectron stops at the model's last class when the dataset has more.
    if (clsInd >= numClasses) break;
    const catId = dataset.categoryToIdMap.get(cls);
    if (catId === undefined) throw new Error(`dataset ${dataset.name}: class '${cls}' has no category id`);
    out.push([clsInd, catId]);
  }
  return out;
}

/** The dataset's image ids as Detectron orders its roidb (ascending), checked against the results. */
function sortedImageIds(dataset: JsonDataset, all: AllResults): number[] {
  const ids = dataset.COCO.getImgIds().sort((a, b) => a - b);
  const numImages = all.boxes[0]?.length ?? 0;
  if (ids.length !== numImages) {
    throw new Error(`results hold ${numImages} images but dataset ${dataset.name} has ${ids.length}; evaluation needs the whole dataset`);
  }
  return ids;
}

/** Rows of an N×5 (x1, y1, x2, y2, score) array. */
function rows(dets: Float32Array): number {
  return dets.length / 5;
}

export function cocoBboxResults(dataset: JsonDataset, all: AllResults): CocoBboxResult[] {
  const imageIds = sortedImageIds(dataset, all);
  const out: CocoBboxResult[] = [];
  for (const [clsInd, catId] of evaluatedClasses(dataset, all.boxes.length)) {
    imageIds.forEach((imageId, i) => {
      const dets = all.boxes[clsInd][i];
      if (dets === null) return;
      for (let k = 0; k < rows(dets); k++) {
        out.push({ image_id: imageId, category_id: catId, bbox: xyxyToXywh(Array.from(dets.subarray(5 * k, 5 * k + 4))), score: dets[5 * k + 4] });
      }
    });
  }
  return out;
}

export function cocoSegmResults(dataset: JsonDataset, all: AllResults): CocoSegmResult[] {
  const imageIds = sortedImageIds(dataset, all);
  const out: CocoSegmResult[] = [];
  for (const [clsInd, catId] of evaluatedClasses(dataset, all.boxes.length)) {
    imageIds.forEach((imageId, i) => {
      const dets = all.boxes[clsInd][i];
      if (dets === null) return;
      const rles = all.segms[clsInd][i];
      for (let k = 0; k < rows(dets); k++) {
        const rle = rles[k];
        if (rle === undefined) throw new Error(`image ${imageId}, class ${clsInd}: ${rows(dets)} boxes but ${rles.length} masks`);
        out.push({ image_id: imageId, category_id: catId, segmentation: { size: [rle.size[0], rle.size[1]], counts: rle.counts }, score: dets[5 * k + 4] });
      }
    });
  }
  return out;
}

export function cocoKeypointResults(dataset: JsonDataset, all: AllResults, confidence: KeypointConfidence): CocoKeypointResult[] {
  const imageIds = sortedImageIds(dataset, all);
  const out: CocoKeypointResult[] = [];
  for (const [clsInd, catId] of evaluatedClasses(dataset, all.boxes.length)) {
    imageIds.forEach((imageId, i) => {
      const dets = all.boxes[clsInd][i];
      // Detectron skips images with no boxes of the class (an empty list or a 0×5 array).
      if (dets === null || rows(dets) === 0) return;
      for (const [j, kps] of all.keyps[clsInd][i].entries()) {
        const k = kps.length / 4;
        const xyv: number[] = [];
        for (let t = 0; t < k; t++) xyv.push(kps[t], kps[k + t], 1);
        out.push({ image_id: imageId, category_id: catId, keypoints: xyv, score: keypointScore(kps, k, dets[5 * j + 4], confidence) });
      }
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Evaluator = 'json' | 'cityscapes' | 'voc';

/** _use_json_dataset_evaluator / _use_cityscapes_evaluator / _use_voc_evaluator. */
function evaluatorFor(dataset: JsonDataset, cfg: Cfg, forceJson: boolean): Evaluator {
  if (dataset.name.includes('coco_') || cfg.TEST.FORCE_JSON_DATASET_EVAL || forceJson) return 'json';
  if (dataset.name.includes('cityscapes_')) return 'cityscapes';
  if (dataset.name.startsWith('voc_')) return 'voc';
  throw new Error(`No evaluator for dataset: ${dataset.name}`);
}

/** Results file name, with Detectron's uuid salt outside competition mode. */
function resultsFile(outputDir: string, prefix: string, dataset: JsonDataset, salt: boolean): string {
  return path.join(outputDir, `${prefix}_${dataset.name}_results${salt ? `_${randomUUID()}` : ''}.json`);
}

/**
 * Whether ground truth can be scored: Detectron skips datasets whose name contains 'test'
 * (annotations undisclosed). Datasets given by file are judged by having annotations instead.
 */
function groundTruthAvailable(dataset: JsonDataset, what: string, o: EvaluateOptions): boolean {
  const byName = o.forceJson !== true;
  if (byName && dataset.name.includes('test')) {
    o.log.warn(`${what} eval ignored as annotations are undisclosed on test: ${dataset.name} ignored`);
    return false;
  }
  if (dataset.COCO.dataset.annotations.length === 0) {
    o.log.warn(`${what} eval ignored: ${dataset.annotationFile} has no annotations`);
    return false;
  }
  return true;
}

/** Writes `results` to a results file, evaluates it (unless skipped), removes it when asked. */
async function evaluateTask(
  dataset: JsonDataset, results: readonly CocoResult[], file: string, iouType: IouType, what: string, cfg: Cfg, o: EvaluateOptions,
): Promise<number[] | null> {
  o.log.info(`Writing ${iouType === 'segm' ? 'segmentation' : iouType === 'keypoints' ? 'keypoint' : 'bbox'} results json to: ${path.resolve(file)}`);
  await writeCocoResults(file, results);
  let stats: number[] | null = null;
  if (groundTruthAvailable(dataset, what, o)) {
    if (results.length === 0) {
      // pycocotools' loadRes cannot take an empty list (Detectron would stop with an IndexError).
      o.log.warn(`${what} eval skipped: no detections to evaluate (metrics stay -1)`);
    } else {
      stats = evaluateCocoResults(dataset.COCO, file, iouType, o.log.info).stats.slice();
    }
  }
  // cleanup = not TEST.COMPETITION_MODE, as Detectron
  if (!cfg.TEST.COMPETITION_MODE) await fs.unlink(file);
  return stats;
}

/** evaluate_boxes: the bbox results file and its AP. */
export async function evaluateBoxes(dataset: JsonDataset, all: AllResults, outputDir: string, cfg: Cfg, o: EvaluateOptions): Promise<EvalResults> {
  o.log.info('Evaluating detections');
  const kind = evaluatorFor(dataset, cfg, o.forceJson === true);
  let stats: number[] | null = null;
  if (kind === 'voc') {
    o.log.warn(`dataset ${dataset.name}: the PASCAL VOC evaluator is not ported; box metrics stay -1`);
  } else {
    if (kind === 'cityscapes') o.log.warn('Cityscapes bbox evaluated using COCO metrics/conversions');
    const file = resultsFile(outputDir, 'bbox', dataset, !cfg.TEST.COMPETITION_MODE);
    stats = await evaluateTask(dataset, cocoBboxResults(dataset, all), file, 'bbox', 'Bbox', cfg, o);
  }
  return { [dataset.name]: { box: boxLikeMetrics(stats) } };
}

/** evaluate_masks: the segmentation results file and its AP. */
export async function evaluateMasks(dataset: JsonDataset, all: AllResults, outputDir: string, cfg: Cfg, o: EvaluateOptions): Promise<EvalResults> {
  o.log.info('Evaluating segmentations');
  const kind = evaluatorFor(dataset, cfg, o.forceJson === true);
  let stats: number[] | null = null;
  if (kind !== 'json') {
    o.log.warn(`dataset ${dataset.name}: the ${kind === 'voc' ? 'PASCAL VOC' : 'Cityscapes'} mask evaluator is not ported; mask metrics stay -1`);
  } else {
    const file = resultsFile(outputDir, 'segmentations', dataset, !cfg.TEST.COMPETITION_MODE);
    stats = await evaluateTask(dataset, cocoSegmResults(dataset, all), file, 'segm', 'Segmentation', cfg, o);
  }
  return { [dataset.name]: { mask: boxLikeMetrics(stats) } };
}

/** evaluate_keypoints: the keypoint results file and its AP. */
export async function evaluateKeypoints(dataset: JsonDataset, all: AllResults, outputDir: string, cfg: Cfg, o: EvaluateOptions): Promise<EvalResults> {
  o.log.info('Evaluating detections');
  let stats: number[] | null = null;
  // Detectron asserts a keypoints_coco_* dataset; any dataset with person keypoints will do here.
  if (dataset.keypoints === null) {
    o.log.warn(`dataset ${dataset.name} has no person keypoints (a person_keypoints_*.json file); keypoint metrics stay -1`);
  } else {
    const file = resultsFile(outputDir, 'keypoints', dataset, !cfg.TEST.COMPETITION_MODE);
    const confidence = cfg.KRCNN.KEYPOINT_CONFIDENCE as KeypointConfidence;
    stats = await evaluateTask(dataset, cocoKeypointResults(dataset, all, confidence), file, 'keypoints', 'Keypoint', cfg, o);
  }
  return { [dataset.name]: { keypoint: keypointMetrics(stats) } };
}

/** evaluate_all: boxes, then masks with MODEL.MASK_ON, then keypoints with MODEL.KEYPOINTS_ON. */
export async function evaluateAll(dataset: JsonDataset, all: AllResults, outputDir: string, cfg: Cfg, o: EvaluateOptions): Promise<EvalResults> {
  const results = await evaluateBoxes(dataset, all, outputDir, cfg, o);
  o.log.info('Evaluating bounding boxes is done!');
  if (cfg.MODEL.MASK_ON) {
    Object.assign(results[dataset.name], (await evaluateMasks(dataset, all, outputDir, cfg, o))[dataset.name]);
    o.log.info('Evaluating segmentations is done!');
  }
  if (cfg.MODEL.KEYPOINTS_ON) {
    Object.assign(results[dataset.name], (await evaluateKeypoints(dataset, all, outputDir, cfg, o))[dataset.name]);
    o.log.info('Evaluating keypoints is done!');
  }
  return results;
}

/** log_copy_paste_friendly_results: 'copypaste: ' lines, metric names then values. */
export function logCopyPasteFriendlyResults(results: EvalResults, log: LogLine): void {
  for (const [dataset, tasks] of Object.entries(results)) {
    log(`copypaste: Dataset: ${dataset}`);
    for (const [task, metrics] of Object.entries(tasks)) {
      log(`copypaste: Task: ${task}`);
      log(`copypaste: ${Object.keys(metrics).join(',')}`);
      log(`copypaste: ${Object.values(metrics).map((v) => formatFixed(v, 4)).join(',')}`);
    }
  }
}

function pyFormat(v: number, digits: number): string {
  return formatFixed(v, digits);
}

/**
 * check_expected_results: compares results with cfg.EXPECTED_RESULTS rows
 * [dataset, task, metric, expected] or [dataset, task, metric, [mean, std]], logging PASS/FAIL
 * lines; returns whether every row passed (true when there are none). Detectron's scalar check
 * reads `ok = (err > tol)`, which passes exactly the mismatches; this uses err <= tol, what its
 * message and tolerances mean. A missing dataset, task or metric is an error, as its asserts.
 */
export function checkExpectedResults(results: EvalResults, cfg: Cfg, log: EvalLog): boolean {
  const expected = cfg.EXPECTED_RESULTS;
  let allOk = true;
  for (const row of expected) {
    if (!Array.isArray(row) || row.length !== 4) {
      throw new Error(`EXPECTED_RESULTS rows must be [dataset, task, metric, value], got ${JSON.stringify(row)}`);
    }
    const [dataset, task, metric, want] = row as [string, string, string, unknown];
    if (!(dataset in results)) throw new Error(`Dataset ${dataset} not in results`);
    if (!(task in results[dataset])) throw new Error(`Task ${task} not in results`);
    if (!(metric in results[dataset][task])) throw new Error(`Metric ${metric} not in results`);
    const actual = results[dataset][task][metric];
    let ok: boolean;
    let msg: string;
    if (Array.isArray(want)) {
      if (want.length !== 2 || typeof want[0] !== 'number' || typeof want[1] !== 'number') {
        throw new Error('Expected result must be in (mean, std) format');
      }
      const [mean, std] = want as [number, number];
      const lo = mean - cfg.EXPECTED_RESULTS_SIGMA_TOL * std;
      const hi = mean + cfg.EXPECTED_RESULTS_SIGMA_TOL * std;
      ok = lo < actual && actual < hi;
      msg = `${dataset} > ${task} > ${metric} sanity check (actual vs. expected): ${pyFormat(actual, 3)} vs. mean=${pyFormat(mean, 4)}, ` +
        `std=${std.toPrecision(4)}, range=(${pyFormat(lo, 4)}, ${pyFormat(hi, 4)})`;
    } else {
      if (typeof want !== 'number') throw new Error(`EXPECTED_RESULTS: expected value must be a number or [mean, std], got ${JSON.stringify(want)}`);
      const err = Math.abs(actual - want);
      const tol = cfg.EXPECTED_RESULTS_ATOL + cfg.EXPECTED_RESULTS_RTOL * Math.abs(want);
      ok = err <= tol;
      msg = `${dataset} > ${task} > ${metric} sanity check (actual vs. expected): ${pyFormat(actual, 3)} vs. ${pyFormat(want, 3)}, ` +
        `err=${pyFormat(err, 3)}, tol=${pyFormat(tol, 3)}`;
    }
    if (ok) log.info(`PASS: ${msg}`);
    else {
      allOk = false;
      log.warn(`FAIL: ${msg}`);
    }
  }
  return allOk;
}
