/**
 * Proposals over a dataset from an RPN-only model: Detectron's core/rpn_generator.py
 * (generate_rpn_on_dataset / generate_rpn_on_range / evaluate_proposal_file), which its
 * test_net runs when MODEL.RPN_ONLY. Writes rpn_proposals.pkl ({'boxes', 'scores', 'ids',
 * 'cfg'}: the proposal file a Fast R-CNN test reads through TEST.PROPOSAL_FILES), or
 * rpn_proposals_range_A_B.pkl for a range, and for a whole dataset the proposals' average recall
 * (printed as Detectron does, saved as rpn_proposal_recall.pkl).
 */
import * as fs from 'fs';
import * as path from 'path';
import { writePickle, type PklValue } from '../../converters/pkl/write_pkl';
import { PyFloat } from '../../converters/pkl/python_objects';
import { evaluateBoxProposalsForDataset, logBoxProposalResults } from '../datasets/box_proposal_eval';
import type { JsonDataset } from '../datasets/json_dataset';
import type { EvalLog, EvalResults } from '../datasets/task_evaluation';
import { GeneralizedRCNN } from '../modeling/model_builder';
import { decodeImage, ImageDecodeError } from '../utils/image_io';
import { InferenceReport, type ReportStream } from '../utils/inference_report';
import type { NdArray } from '../utils/ndarray';
import { dumpCfgYaml } from './config';
import type { Cfg } from '../modeling/config_types';
import { canBatchConvBody, precomputeBodies } from './detect';
import { imProposals } from './test';
import { initializeModelFromCfg } from './test_engine';
import { StageTimes } from './timers';

export interface GenerateRpnOptions {
  cfg: Cfg;
  weights: string;
  dataset: JsonDataset;
  outputDir: string;
  range?: [number, number] | null;
  device?: string;
  /** Images per conv-body batch (same results as 1). */
  imsPerBatch?: number;
  log: EvalLog;
  reportStream?: ReportStream;
}

export interface GenerateRpnResult {
  proposalFile: string;
  boxes: Float32Array[];
  scores: Float32Array[];
  ids: number[];
  /** {dataset: {box_proposal: {AR@100, ...}}} for a whole dataset, else null. */
  results: EvalResults | null;
  failed: string[];
}

/** rpn_proposals.pkl, or rpn_proposals_range_A_B.pkl for a range run. */
export function proposalsFileName(range: readonly [number, number] | null): string {
  return range === null ? 'rpn_proposals.pkl' : `rpn_proposals_range_${range[0]}_${range[1]}.pkl`;
}

/** The pickled dict: boxes (K×4 float32 each), scores (K float32 each), ids (ints), cfg (YAML). */
export function proposalsPklValue(boxes: readonly Float32Array[], scores: readonly Float32Array[], ids: readonly number[], cfgYaml: string): PklValue {
  const arr = (data: Float32Array, shape: number[]): NdArray => ({ dtype: 'float32', shape, data });
  return new Map<string, PklValue>([
    ['boxes', boxes.map((b) => arr(b, [b.length / 4, 4]))],
    ['scores', scores.map((s) => arr(s, [s.length]))],
    ['ids', ids.slice()],
    ['cfg', cfgYaml],
  ]);
}

/** generate_rpn_on_range (+ evaluate_proposal_file when the whole dataset ran). */
export async function generateRpnOnDataset(o: GenerateRpnOptions): Promise<GenerateRpnResult> {
  const cfg = o.cfg;
  if (!cfg.MODEL.RPN_ONLY && !cfg.MODEL.FASTER_RCNN) throw new Error('generating proposals needs MODEL.RPN_ONLY or MODEL.FASTER_RCNN');
  const roidb = o.dataset.getRoidb();
  const range = o.range ?? null;
  const [start, end] = range === null ? [0, roidb.length] : [Math.min(range[0], roidb.length), Math.min(range[1], roidb.length)];
  const entries = roidb.slice(start, end);
  fs.mkdirSync(o.outputDir, { recursive: true });
  o.log.info(`Output will be saved to: ${path.resolve(o.outputDir)}`);
  const model = initializeModelFromCfg(cfg, o.weights, { device: o.device ?? 'cpu' });
  if (!(model instanceof GeneralizedRCNN)) {
    model.dispose();
    throw new Error('generating proposals needs a Generalized R-CNN with an RPN');
  }
  const boxes: Float32Array[] = entries.map(() => new Float32Array(0));
  const scores: Float32Array[] = entries.map(() => new Float32Array(0));
  const ids = entries.map((e) => e.id);
  const failed: string[] = [];
  const batch = Math.max(1, o.imsPerBatch ?? 1);
  const started = process.hrtime.bigint();
  const report = new InferenceReport(entries.length, o.reportStream !== undefined ? { stream: o.reportStream } : {});
  try {
    for (let b = 0; b < entries.length; b += batch) {
      const chunk = entries.slice(b, b + batch).map((entry, k) => ({ entry, i: b + k, image: null as NdArray | null }));
      for (const c of chunk) {
        try {
          const bytes = await fs.promises.readFile(c.entry.image);
          const decoded = await report.timer('decode').time(() => decodeImage(bytes, c.entry.image));
          for (const w of decoded.warnings) report.log(`warning: ${c.entry.image}: ${w}`);
          c.image = decoded.image;
        } catch (err) {
          report.log(`error: ${c.entry.image}: ${err instanceof ImageDecodeError ? err.reason : (err as Error).message}`);
          failed.push(c.entry.image);
          report.imageDone(c.entry.image, false);
        }
      }
      const ok = chunk.filter((c) => c.image !== null);
      const times = ok.map(() => new StageTimes());
      const ims = ok.map((c) => c.image as NdArray);
      const pre = ok.length > 1 && canBatchConvBody(model) ? precomputeBodies(model, ims, times) : null;
      ok.forEach((c, k) => {
        const p = times[k].time('im_proposals', () => imProposals(model, ims[k], pre?.[k] ?? null));
        boxes[c.i] = p.boxes;
        scores[c.i] = p.scores;
        report.addStages(times[k]);
        report.imageDone(c.entry.image, true);
      });
    }
  } finally {
    model.dispose();
    report.finish();
  }
  o.log.info(`Total inference time: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(3)}s`);
  const proposalFile = path.join(o.outputDir, proposalsFileName(range));
  writePickle(proposalFile, proposalsPklValue(boxes, scores, ids, dumpCfgYaml(cfg)));
  o.log.info(`Wrote RPN proposals to ${path.resolve(proposalFile)}`);
  if (failed.length > 0) o.log.warn(`warning: ${failed.length} image(s) failed and have no proposals: ${failed.join(', ')}`);
  const results = range === null ? evaluateProposalFile(o.dataset, proposalFile, o.outputDir, cfg, o.log) : null;
  return { proposalFile, boxes, scores, ids, results, failed };
}

/** evaluate_proposal_file: the proposals' AR over the dataset's ground truth, logged and saved. */
export function evaluateProposalFile(dataset: JsonDataset, proposalFile: string, outputDir: string, cfg: Cfg, log: EvalLog): EvalResults {
  const roidb = dataset.getRoidb({ gt: true, proposalFile });
  const results = evaluateBoxProposalsForDataset(dataset.name, roidb, cfg.TEST.CLASS_SPECIFIC_AR);
  logBoxProposalResults(results, log.info);
  const value: PklValue = new Map(Object.entries(results).map(([name, tasks]) => [name, new Map(Object.entries(tasks).map(([task, metrics]) => [
    task, new Map(Object.entries(metrics).map(([k, v]) => [k, new PyFloat(v)] as [string, PklValue])),
  ] as [string, PklValue]))] as [string, PklValue]));
  writePickle(path.join(outputDir, 'rpn_proposal_recall.pkl'), value);
  return results;
}
