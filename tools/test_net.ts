/**
 * `detectron test_net`: Detectron's tools/test_net.py. Runs a model over a dataset (a catalog
 * name, or one's own annotation file + image folder), saves detections.pkl and the COCO results
 * files, and prints Detectron's AP tables. A stopped run resumes from its per-image results
 * (lib/core/test_engine_dataset.ts).
 *
 *   detectron test_net --cfg e2e_mask_rcnn_R-50-FPN_1x.yaml --wts model_final.pkl \
 *     --dataset coco_2017_val [--range 0 500] [--vis] [--output-dir out] [TEST.SCALE 800 ...]
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError } from 'commander';
import {
  assertAndInferCfg, getDefaultConfig, mergeCfgFromCfg, mergeCfgFromFile, mergeCfgFromList,
} from '../lib/core/config';
import type { FrozenDetectronConfig } from '../lib/core/config_defaults';
import { resolveWeights } from '../lib/core/model_zoo';
import { testNetOnDataset, testOutputDir, type TestNetResult } from '../lib/core/test_engine_dataset';
import { contains, datasets, getAnnFn, type DatasetSpec } from '../lib/datasets/dataset_catalog';
import { JsonDataset } from '../lib/datasets/json_dataset';
import type { EvalLog } from '../lib/datasets/task_evaluation';
import { setThreads } from '../lib/nn/runtime';
import type { ReportStream } from '../lib/utils/inference_report';
import type { VisFormat } from '../lib/utils/vis';
import { generateRpnOnDataset, type GenerateRpnResult } from '../lib/core/rpn_generator';
import { addImsPerBatchOption, addThreadsOption, takeImsPerBatch } from './common_options';

export interface TestNetCliOptions {
  cfg: string;
  wts?: string;
  dataset?: string;
  imageDir?: string;
  range?: string[];
  vis?: boolean;
  outputExt: VisFormat;
  outputDir?: string;
  set: string[];
  device: string;
  threads?: number;
  restart?: boolean;
  /** Images per conv-body batch (also TEST.IMS_PER_BATCH N among the overrides). */
  imsPerBatch?: number;
}

export interface TestNetIo {
  log: EvalLog;
  reportStream?: ReportStream;
}

const defaultIo = (): TestNetIo => ({
  log: {
    info: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`${line}\n`),
  },
});

function visFormat(v: string): VisFormat {
  if (v === 'png' || v === 'jpg' || v === 'jpeg' || v === 'pdf') return v;
  throw new InvalidArgumentError(`expected png, jpg or pdf, got '${v}'`);
}

/** --range START END: Detectron's images [START, END) of the roidb. */
export function parseRange(values: readonly string[] | undefined): [number, number] | null {
  if (values === undefined) return null;
  const nums = values.map(Number);
  if (nums.length !== 2 || !nums.every((n) => Number.isInteger(n) && n >= 0) || nums[0] > nums[1]) {
    throw new Error(`--range takes two integers START END with 0 <= START <= END (images [START, END)); got '${values.join(' ')}'` +
      (values.length > 2 ? ' (put config KEY VALUE pairs before --range, or use --set)' : ''));
  }
  return [nums[0], nums[1]];
}

/** A dataset argument: a catalog name, or an annotation file (then --image-dir is its images). */
export function resolveDatasetArg(arg: string, imageDir: string | undefined): { spec: string | DatasetSpec; byFile: boolean } {
  if (contains(arg)) {
    if (imageDir === undefined) return { spec: arg, byFile: false };
    return { spec: { name: arg, annotationFile: getAnnFn(arg), imageDirectory: path.resolve(imageDir) }, byFile: false };
  }
  const looksLikeFile = arg.endsWith('.json') || arg.includes('/') || arg.includes(path.sep) || fs.existsSync(arg);
  if (!looksLikeFile) {
    throw new Error(`unknown dataset '${arg}': neither a dataset name nor an annotation file.\n` +
      `Known datasets: ${datasets().join(', ')}\n` +
      'Or give your own: --dataset path/to/annotations.json --image-dir path/to/images');
  }
  if (!fs.existsSync(arg) || !fs.statSync(arg).isFile()) throw new Error(`annotation file '${path.resolve(arg)}' not found`);
  if (imageDir === undefined) throw new Error(`--dataset ${arg} is an annotation file: give the folder of its images with --image-dir`);
  return {
    spec: { name: path.basename(arg, '.json'), annotationFile: path.resolve(arg), imageDirectory: path.resolve(imageDir) },
    byFile: true,
  };
}

/** Defaults + file + overrides, then what this run sets (saved with the detections, as Detectron's cfg). */
function buildConfig(file: string, overrides: readonly string[], run?: object): FrozenDetectronConfig {
  const cfg = getDefaultConfig();
  mergeCfgFromFile(cfg, file);
  mergeCfgFromList(cfg, overrides);
  if (run !== undefined) mergeCfgFromCfg(cfg, run);
  return assertAndInferCfg(cfg);
}

export interface TestNetSummary {
  runs: TestNetResult[];
  /** RPN-only models: Detectron's generate_rpn_on_dataset, one per dataset. */
  proposalRuns: GenerateRpnResult[];
  /** Images that failed over all datasets. */
  failed: number;
  /** Every EXPECTED_RESULTS row passed. */
  expectedOk: boolean;
}

/** Runs test_net over --dataset (or every TEST.DATASETS entry). */
export async function testNet(opts: readonly string[], o: TestNetCliOptions, io: TestNetIo = defaultIo()): Promise<TestNetSummary> {
  if (o.threads !== undefined) setThreads(o.threads);
  const taken = takeImsPerBatch([...opts, ...o.set]);
  const overrides = taken.overrides;
  const imsPerBatch = o.imsPerBatch ?? taken.imsPerBatch ?? 1;
  const range = parseRange(o.range);
  const base = buildConfig(o.cfg, overrides);
  const weightsSpec = o.wts ?? (base.TEST.WEIGHTS !== '' ? base.TEST.WEIGHTS : undefined);
  if (weightsSpec === undefined) throw new Error('no weights: give --wts (a file, URL or model-zoo name) or TEST.WEIGHTS');
  const names = o.dataset !== undefined ? [o.dataset] : [...base.TEST.DATASETS];
  if (names.length === 0) throw new Error('no dataset: give --dataset (a dataset name or an annotation file) or TEST.DATASETS');
  if (range !== null && names.length > 1) throw new Error('--range works on a single dataset: give --dataset');
  // Datasets first: a wrong name fails before any download.
  const sources = names.map((n) => ({ arg: n, ...resolveDatasetArg(n, o.imageDir) }));
  const weights = await resolveWeights(weightsSpec).catch((err: Error) => {
    throw new Error(`${err.message}\nOr pass a weights file you have: --wts /path/to/model_final.pkl`);
  });
  const outputRoot = path.resolve(o.outputDir ?? base.OUTPUT_DIR);
  const summary: TestNetSummary = { runs: [], proposalRuns: [], failed: 0, expectedOk: true };
  for (const source of sources) {
    const dataset = await JsonDataset.load(source.spec);
    const run: Record<string, unknown> = { TEST: { WEIGHTS: weights, DATASETS: [dataset.name] }, OUTPUT_DIR: outputRoot };
    if (o.vis === true) run.VIS = true;
    const cfg = buildConfig(o.cfg, overrides, run);
    if (cfg.MODEL.RPN_ONLY) {
      // Detectron's test_net runs generate_rpn_on_dataset for RPN-only models
      const rpn = await generateRpnOnDataset({
        cfg, weights, dataset, outputDir: testOutputDir(outputRoot, dataset.name, cfg), range, device: o.device, imsPerBatch, log: io.log,
        ...(io.reportStream !== undefined ? { reportStream: io.reportStream } : {}),
      });
      summary.proposalRuns.push(rpn);
      summary.failed += rpn.failed.length;
      continue;
    }
    const result = await testNetOnDataset({
      cfg,
      weights,
      dataset,
      datasetGivenByFile: source.byFile,
      outputDir: testOutputDir(outputRoot, dataset.name, cfg),
      range,
      visFormat: o.outputExt,
      device: o.device,
      restart: o.restart === true,
      imsPerBatch,
      log: io.log,
      ...(io.reportStream !== undefined ? { reportStream: io.reportStream } : {}),
    });
    summary.runs.push(result);
    summary.failed += result.failed.length;
    summary.expectedOk &&= result.expectedOk;
  }
  return summary;
}

export function register(program: Command): void {
  const cmd = program
    .command('test_net')
    .description("run a model over a dataset, save detections.pkl and COCO results, print AP (Detectron's tools/test_net.py); " +
      'an RPN-only model saves rpn_proposals.pkl and prints its AR')
    .argument('[opts...]', 'config overrides, KEY VALUE pairs (as Detectron\'s test_net.py takes them)')
    .requiredOption('--cfg <file>', 'Detectron YAML config (original or converted)')
    .option('--wts <weights>', 'weights: a path, a URL or a model-zoo name (default: TEST.WEIGHTS)')
    .option('--dataset <name|annotations.json>', 'a dataset name (data/README.md) or a COCO annotation file (default: TEST.DATASETS)')
    .option('--image-dir <dir>', "the images of an annotation file given to --dataset (or another folder for a named dataset's images)")
    .option('--range <start end...>', 'only images [start, end) of the dataset; writes detection_range_<start>_<end>.pkl, no evaluation')
    .option('--vis', 'also draw the detections (score >= VIS_TH) into <output>/vis', false)
    .option('--output-ext <ext>', 'picture format with --vis: pdf, png or jpg', visFormat, 'pdf' as VisFormat)
    .option('--output-dir <dir>', 'results go to <dir>/test/<dataset>/<MODEL.TYPE> (default: OUTPUT_DIR)')
    .option('--set <KEY VALUE...>', 'config overrides, KEY VALUE pairs', [])
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--restart', 'discard saved per-image results instead of resuming from them', false);
  addImsPerBatchOption(addThreadsOption(cmd)).action(async (opts: string[], o: TestNetCliOptions) => {
    const summary = await testNet(opts, o);
    if (summary.failed > 0) {
      process.stderr.write(`detectron: ${summary.failed} image(s) failed\n`);
      process.exitCode = 1;
    }
    if (!summary.expectedOk) {
      process.stderr.write('detectron: results outside EXPECTED_RESULTS\n');
      process.exitCode = 1;
    }
  });
}
