/**
 * `detectron test_net`: Detectron's tools/test_net.py. Runs a model over a dataset (a catalog
 * name, or one's own annotation file + image folder), saves detections.pkl and the COCO results
 * files, and prints Detectron's AP tables. A stopped run resumes from its per-image results
 * (lib/core/test_engine_dataset.ts).
 *
 *   detectron test_net --cfg e2e_mask_rcnn_R-50-FPN_1x.yaml --wts model_final.pkl \
 *     --dataset coco_2017_val [--range 0 500] [--nproc 4] [--vis] [--output-dir out] [TEST.SCALE 800 ...]
 *
 * Sharded runs (Detectron's multi_gpu_test_net_on_dataset) ride on the per-image results:
 * with --nproc N this process starts N `test_net --range A B` children on contiguous ranges,
 * then runs the whole range itself, which finds every image done and only merges and
 * evaluates. Started by a launcher (torchrun's $WORLD_SIZE and $RANK), each process runs its
 * rank's range and rank 0 waits for the others' results before merging.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  assertAndInferCfg, getDefaultConfig, mergeCfgFromCfg, mergeCfgFromFile, mergeCfgFromList,
} from '../lib/core/config';
import type { FrozenDetectronConfig } from '../lib/core/config_defaults';
import { resolveWeights } from '../lib/core/model_zoo';
import {
  discardPerImageResults, PER_IMAGE_DIR, RUN_FILE, testNetOnDataset, testOutputDir, type TestNetOptions, type TestNetResult,
} from '../lib/core/test_engine_dataset';
import { contains, datasets, getAnnFn, type DatasetSpec } from '../lib/datasets/dataset_catalog';
import { JsonDataset } from '../lib/datasets/json_dataset';
import type { EvalLog } from '../lib/datasets/task_evaluation';
import { getThreads, setThreads } from '../lib/nn/runtime';
import { distEnvFromProcess, rankDevice } from '../lib/utils/distributed';
import { detectronNodeArgs, splitRange, superviseChildren, type SupervisedChild } from '../lib/utils/distributed_launch';
import type { ReportStream } from '../lib/utils/inference_report';
import type { VisFormat } from '../lib/utils/vis';
import { generateRpnOnDataset, type GenerateRpnResult } from '../lib/core/rpn_generator';
import { addImsPerBatchOption, addThreadsOption, positiveInt, takeImsPerBatch } from './common_options';

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
  /** Processes to split each dataset's images among (default 1). */
  nproc?: number;
  /**
   * Set by --nproc for its children: images that fail do not fail the child (which would
   * stop the others); the parent's merging pass tries them again and reports them.
   */
  shardChild?: boolean;
}

export interface TestNetIo {
  log: EvalLog;
  reportStream?: ReportStream;
  /** The environment (default process.env): a launcher's $WORLD_SIZE and $RANK, $DETECTRON_SHARD_TIMEOUT; --nproc children get it. */
  env?: NodeJS.ProcessEnv;
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

/** How this process takes part in a run. */
type Sharding =
  | { kind: 'single' }
  /** --nproc N: children run the shards, this process merges. */
  | { kind: 'nproc'; nproc: number }
  /** Started by a launcher as rank `rank` of `worldSize`: runs its shard; rank 0 also merges. */
  | { kind: 'rank'; rank: number; worldSize: number; localRank: number; timeoutMs: number };

/** How long rank 0 waits for the other ranks' results, in ms: $DETECTRON_SHARD_TIMEOUT seconds, default an hour. */
export function shardTimeoutMs(env: NodeJS.ProcessEnv): number {
  const v = env.DETECTRON_SHARD_TIMEOUT;
  if (v === undefined || v === '') return 3_600_000;
  const seconds = Number(v);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`$DETECTRON_SHARD_TIMEOUT must be a positive number of seconds, got '${v}'`);
  return seconds * 1000;
}

function shardingOf(o: TestNetCliOptions, env: NodeJS.ProcessEnv, rpnOnly: boolean): Sharding {
  const nproc = o.nproc ?? 1;
  if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`--nproc must be a positive integer, got ${nproc}`);
  const dist = distEnvFromProcess(env);
  const world = dist !== null && dist.worldSize > 1 ? dist : null;
  if (world !== null && nproc > 1) {
    throw new Error(`--nproc ${nproc} under a launcher ($WORLD_SIZE ${world.worldSize}): the launcher already starts one process per shard; drop --nproc`);
  }
  if (world === null && nproc === 1) return { kind: 'single' };
  if (rpnOnly) {
    throw new Error(`${world !== null ? `$WORLD_SIZE ${world.worldSize}` : `--nproc ${nproc}`}: an RPN-only model (MODEL.RPN_ONLY, ${o.cfg}) ` +
      'cannot be sharded: its proposals are not saved per image, so there is nothing to merge; run it in one process');
  }
  if (world === null) return { kind: 'nproc', nproc };
  return { kind: 'rank', rank: world.rank, worldSize: world.worldSize, localRank: world.localRank, timeoutMs: shardTimeoutMs(env) };
}

/** The images [start, end) a run covers: --range clipped to the dataset (as Python slices), or all of it. */
function coveredRange(dataset: JsonDataset, range: [number, number] | null): [number, number] {
  const count = dataset.COCO.getImgIds().length;
  return range === null ? [0, count] : [Math.min(range[0], count), Math.min(range[1], count)];
}

/** What one shard child is given besides the parent's own options. */
export interface ShardChild {
  /** The --dataset argument (as the parent got it, or a TEST.DATASETS name). */
  dataset: string;
  /** The weights file the parent resolved (no download per child). */
  weights: string;
  outputRoot: string;
  /** Config overrides, TEST.IMS_PER_BATCH taken out. */
  overrides: readonly string[];
  imsPerBatch: number;
  range: [number, number];
  threads: number;
  device: string;
}

/** `detectron test_net` arguments of one shard child: the parent's run on images [range). */
export function shardArgs(o: TestNetCliOptions, c: ShardChild): string[] {
  const args = ['test_net', '--cfg', o.cfg, '--wts', c.weights, '--dataset', c.dataset];
  if (o.imageDir !== undefined) args.push('--image-dir', o.imageDir);
  if (o.vis === true) args.push('--vis');
  args.push('--output-ext', o.outputExt, '--output-dir', c.outputRoot, '--device', c.device, '--threads', String(c.threads),
    '--ims-per-batch', String(c.imsPerBatch), '--range', String(c.range[0]), String(c.range[1]), '--shard-child');
  // Last, as --set takes every value after it.
  if (c.overrides.length > 0) args.push('--set', ...c.overrides);
  return args;
}

/**
 * --nproc: runs `ranges` in one child each and waits for all; the first to fail stops the
 * others at once (their finished images are saved) and fails the run with its output.
 */
async function runShardChildren(
  o: TestNetCliOptions, child: Omit<ShardChild, 'range' | 'device' | 'threads'>, ranges: Array<[number, number]>, datasetName: string, io: TestNetIo,
): Promise<void> {
  // Detectron's split leaves the empty ranges last: the children are ranks 0..k-1.
  const busy = ranges.filter(([a, b]) => b > a);
  const threads = Math.max(1, Math.floor((o.threads ?? getThreads()) / ranges.length));
  const env = io.env ?? process.env;
  const specs = busy.map((range, rank): SupervisedChild => ({
    nodeArgs: detectronNodeArgs(shardArgs(o, { ...child, range, threads, device: rankDevice(o.device, rank) })),
    env: { ...env, OMP_NUM_THREADS: String(threads) },
    label: `images [${range[0]}, ${range[1]}) of ${datasetName}`,
  }));
  io.log.info(`Running ${datasetName} in ${specs.length} processes: ${busy.map(([a, b]) => `[${a}, ${b})`).join(' ')}`);
  await superviseChildren(specs, {
    stdout: 'lines',
    // Nothing to wind down: per-image results are written atomically, so the others can stop now.
    graceMs: 0,
    onLine: (rank, line, stream) => {
      if (stream === 'stdout') io.log.info(`[rank ${rank}] ${line}`);
      else io.log.warn(`[rank ${rank}] ${line}`);
    },
  });
}

/**
 * The output of one rank under a launcher: lines prefixed '[rank r] ' (none for rank 0, whose
 * merge prints the results), progress as one plain line per image, since the ranks share a
 * terminal that a redrawn bar would garble.
 */
function rankIo(io: TestNetIo, rank: number): { log: EvalLog; reportStream: ReportStream } {
  const prefix = rank === 0 ? '' : `[rank ${rank}] `;
  const target = io.reportStream ?? process.stderr;
  return {
    log: { info: (l) => io.log.info(prefix + l), warn: (l) => io.log.warn(prefix + l) },
    reportStream: { write: (chunk: string) => target.write(chunk.replace(/^(?=.)/gm, prefix)) },
  };
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
  const env = io.env ?? process.env;
  const sharding = shardingOf(o, env, base.MODEL.RPN_ONLY);
  // Datasets first: a wrong name fails before any download.
  const sources = names.map((n) => ({ arg: n, ...resolveDatasetArg(n, o.imageDir) }));
  const weights = await resolveWeights(weightsSpec).catch((err: Error) => {
    throw new Error(`${err.message}\nOr pass a weights file you have: --wts /path/to/model_final.pkl`);
  });
  const outputRoot = path.resolve(o.outputDir ?? base.OUTPUT_DIR);
  const summary: TestNetSummary = { runs: [], proposalRuns: [], failed: 0, expectedOk: true };
  for (const [i, source] of sources.entries()) {
    const dataset = await JsonDataset.load(source.spec);
    const test: Record<string, unknown> = { WEIGHTS: weights, DATASETS: [dataset.name] };
    // Detectron's get_inference_dataset: dataset i takes TEST.PROPOSAL_FILES[i].
    const files = base.TEST.PROPOSAL_FILES;
    if (base.TEST.PRECOMPUTED_PROPOSALS && sources.length > 1 && files.length === sources.length) test.PROPOSAL_FILES = [files[i]];
    const run: Record<string, unknown> = { TEST: test, OUTPUT_DIR: outputRoot };
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
    const outputDir = testOutputDir(outputRoot, dataset.name, cfg);
    const common: TestNetOptions = {
      cfg,
      weights,
      dataset,
      datasetGivenByFile: source.byFile,
      outputDir,
      range,
      visFormat: o.outputExt,
      device: o.device,
      restart: o.restart === true && sharding.kind === 'single',
      imsPerBatch,
      log: io.log,
      ...(io.reportStream !== undefined ? { reportStream: io.reportStream } : {}),
    };
    const [start, end] = coveredRange(dataset, range);
    if (sharding.kind === 'nproc') {
      // Here, not in the children: they would discard each other's results.
      if (o.restart === true) discardPerImageResults(outputDir);
      const ranges = splitRange(start, end, sharding.nproc);
      await runShardChildren(o, { dataset: source.arg, weights, outputRoot, overrides, imsPerBatch }, ranges, dataset.name, io);
    }
    let result: TestNetResult;
    if (sharding.kind === 'rank') {
      if (o.restart === true) {
        throw new Error(`--restart under a launcher ($WORLD_SIZE ${sharding.worldSize}): the ranks would discard each other's results; ` +
          `delete ${path.join(outputDir, PER_IMAGE_DIR)} and ${path.join(outputDir, RUN_FILE)} before launching instead`);
      }
      const mine = splitRange(start, end, sharding.worldSize)[sharding.rank];
      const ofRank = { ...common, ...rankIo(io, sharding.rank), device: rankDevice(o.device, sharding.localRank) };
      result = sharding.rank === 0
        ? await testNetOnDataset({ ...ofRank, shard: { compute: mine, timeoutMs: sharding.timeoutMs } })
        : await testNetOnDataset({ ...ofRank, range: mine });
    } else {
      result = await testNetOnDataset(common);
    }
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
    .option('--restart', 'discard saved per-image results instead of resuming from them', false)
    .option('--nproc <n>', "processes to split the images among (contiguous ranges, Detectron's multi-GPU test_net); " +
      'their results are merged, then evaluated; with --device cuda, process r uses cuda:r', positiveInt, 1);
  cmd.addOption(new Option('--shard-child', 'a child of --nproc (internal)').hideHelp());
  addImsPerBatchOption(addThreadsOption(cmd)).action(async (opts: string[], o: TestNetCliOptions) => {
    const summary = await testNet(opts, o);
    if (summary.failed > 0 && o.shardChild !== true) {
      process.stderr.write(`detectron: ${summary.failed} image(s) failed\n`);
      process.exitCode = 1;
    }
    if (!summary.expectedOk) {
      process.stderr.write('detectron: results outside EXPECTED_RESULTS\n');
      process.exitCode = 1;
    }
  });
}
