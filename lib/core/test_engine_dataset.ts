/**
 * Inference over a dataset: Detectron's core/test_engine.py test_net / test_net_on_dataset.
 * Runs the model on the dataset's roidb (or an index range of it), collects Detectron's
 * all_boxes / all_segms / all_keyps, saves them as detections.pkl (detection_range_A_B.pkl for
 * a range) and, for a whole dataset, evaluates every enabled task (task_evaluation.ts).
 *
 * Unlike Detectron, each image's detections are saved as soon as they exist
 * (`per_image/<image id>.json`, written atomically, next to `test_net_run.json` which records
 * what produced them). A run that stops part-way therefore resumes where it stopped; a run with
 * another config, weights file or dataset refuses the saved results instead of mixing them.
 * Sharded runs (`test_net --nproc`, launcher ranks) merge through the same files: each process
 * saves its range's images, and the merging run finds them all done.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writePickle, type PklValue } from '../../converters/pkl/write_pkl';
import type { JsonDataset, RoidbEntry } from '../datasets/json_dataset';
import { checkExpectedResults, evaluateAll, logCopyPasteFriendlyResults, type EvalLog, type EvalResults } from '../datasets/task_evaluation';
import type { Cfg } from '../modeling/config_types';
import { writeFileAtomic } from '../utils/atomic_write';
import { decodeImage, ImageDecodeError } from '../utils/image_io';
import { InferenceReport, type ReportStream } from '../utils/inference_report';
import type { NdArray } from '../utils/ndarray';
import { writeVisOneImage, type VisFormat } from '../utils/vis';
import { dumpCfgYaml } from './config';
import { detectImages } from './detect';
import type { CompressedRle, ImageDetections } from './detections';
import { parseGoldenLayout, toGoldenImage } from './results_io';
import { initializeModelFromCfg } from './test_engine';
import { StageTimes } from './timers';

// ---------------------------------------------------------------------------------------------
// all_boxes / all_segms / all_keyps

/**
 * Detectron's detection lists, indexed [class][image] (class 0, background, stays empty):
 *   boxes: N×5 float32 rows (x1, y1, x2, y2, score), row-major; null where Detectron keeps its
 *          empty list (background, or an image that was not run);
 *   segms: one compressed RLE per box (MODEL.MASK_ON), else empty;
 *   keyps: one 4×K float32 array (rows x, y, logit, prob) per box of the keypoint class.
 */
export interface AllResults {
  boxes: Array<Array<Float32Array | null>>;
  segms: CompressedRle[][][];
  keyps: Float32Array[][][];
}

/** empty_results: every entry Detectron's empty list. */
export function emptyResults(numClasses: number, numImages: number): AllResults {
  const grid = <T>(v: () => T): T[][] => Array.from({ length: numClasses }, () => Array.from({ length: numImages }, v));
  return { boxes: grid(() => null), segms: grid(() => []), keyps: grid(() => []) };
}

/**
 * extend_results for one image: its detections, class by class (1..C-1). Boxes of every class
 * are set (0×5 where none, as box_results_with_nms_and_limit returns); masks and keypoints
 * where the test path produced them.
 */
export function extendResults(index: number, all: AllResults, dets: ImageDetections): void {
  const numClasses = all.boxes.length;
  const byClass: Array<ImageDetections['detections']> = Array.from({ length: numClasses }, () => []);
  for (const d of dets.detections) {
    if (d.classId < 1 || d.classId >= numClasses) throw new Error(`detection of class ${d.classId} outside 1..${numClasses - 1}`);
    byClass[d.classId].push(d);
  }
  for (let cls = 1; cls < numClasses; cls++) {
    const list = byClass[cls];
    const boxes = new Float32Array(5 * list.length);
    list.forEach((d, k) => boxes.set([d.box[0], d.box[1], d.box[2], d.box[3], d.score], 5 * k));
    all.boxes[cls][index] = boxes;
    if (list.some((d) => d.mask !== undefined)) {
      all.segms[cls][index] = list.map((d) => {
        if (d.mask === undefined) throw new Error(`class ${cls}: some detections have masks and some do not`);
        return d.mask;
      });
    }
    const withKeypoints = list.filter((d) => d.keypoints !== undefined);
    if (withKeypoints.length > 0) {
      all.keyps[cls][index] = withKeypoints.map((d) => {
        const kps = d.keypoints ?? [];
        const k = kps.length;
        const a = new Float32Array(4 * k);
        kps.forEach((p, j) => p.forEach((v, r) => (a[r * k + j] = v)));
        return a;
      });
    }
  }
}

function f32Array(data: Float32Array, shape: number[]): NdArray {
  return { dtype: 'float32', shape, data };
}

/**
 * The object Detectron's test_net pickles: {'all_boxes', 'all_segms', 'all_keyps', 'cfg'}.
 * Empty entries are empty lists, boxes N×5 float32 arrays, masks {'size': [h, w], 'counts'}
 * dicts, keypoints 4×K float32 arrays; cfg is the YAML dump of the config.
 */
export function detectionsPklValue(all: AllResults, cfgYaml: string): PklValue {
  const boxes: PklValue = all.boxes.map((cls) => cls.map((b): PklValue => (b === null ? [] : f32Array(b, [b.length / 5, 5]))));
  const segms: PklValue = all.segms.map((cls) => cls.map((im) => im.map((r): PklValue => new Map<string, PklValue>([
    ['size', [r.size[0], r.size[1]]],
    ['counts', r.counts],
  ]))));
  const keyps: PklValue = all.keyps.map((cls) => cls.map((im) => im.map((a): PklValue => f32Array(a, [4, a.length / 4]))));
  return new Map<string, PklValue>([['all_boxes', boxes], ['all_segms', segms], ['all_keyps', keyps], ['cfg', cfgYaml]]);
}

/** Detectron's file name: detections.pkl, or detection_range_A_B.pkl for a range run. */
export function detectionsFileName(range: readonly [number, number] | null): string {
  return range === null ? 'detections.pkl' : `detection_range_${range[0]}_${range[1]}.pkl`;
}

// ---------------------------------------------------------------------------------------------
// The record of a run, and its per-image results

export const RUN_FILE = 'test_net_run.json';
export const PER_IMAGE_DIR = 'per_image';

/** Config keys that do not change detections: a run may resume with other values of these. */
const RESULT_NEUTRAL_KEYS = new Set([
  'VIS', 'VIS_TH', 'OUTPUT_DIR', 'NUM_GPUS', 'TEST.WEIGHTS', 'TEST.DATASETS', 'TEST.PROPOSAL_FILES',
  'TEST.COMPETITION_MODE', 'TEST.FORCE_JSON_DATASET_EVAL', 'EXPECTED_RESULTS', 'EXPECTED_RESULTS_RTOL',
  'EXPECTED_RESULTS_ATOL', 'EXPECTED_RESULTS_SIGMA_TOL', 'EXPECTED_RESULTS_EMAIL',
]);

/** What produced a folder of per-image results. */
export interface RunRecord {
  version: 1;
  dataset: string;
  annotation_file: string;
  image_directory: string;
  proposal_file: string | null;
  weights: string;
  weights_sha256: string;
  /** Every config key that can change detections, as KEY -> JSON value. */
  cfg: Record<string, string>;
  /** Recorded for the message only: CPU and CUDA results differ in the last bits. */
  device: string;
}

/** The config as dotted KEY -> JSON value, result-neutral keys left out. */
export function cfgFingerprint(cfg: Cfg): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (node: unknown, prefix: string): void => {
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      for (const key of Object.keys(node).sort()) walk((node as Record<string, unknown>)[key], prefix === '' ? key : `${prefix}.${key}`);
    } else if (!RESULT_NEUTRAL_KEYS.has(prefix)) {
      out[prefix] = JSON.stringify(node);
    }
  };
  walk(cfg, '');
  return out;
}

/** sha256 of a file's bytes, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Why `saved` and `now` cannot share results; empty when they can. */
export function runDifferences(saved: RunRecord, now: RunRecord): string[] {
  const diffs: string[] = [];
  const field = (name: string, a: unknown, b: unknown): void => {
    if (a !== b) diffs.push(`${name}: ${JSON.stringify(a)} (saved) vs ${JSON.stringify(b)} (now)`);
  };
  field('dataset', saved.dataset, now.dataset);
  field('annotation file', saved.annotation_file, now.annotation_file);
  field('image folder', saved.image_directory, now.image_directory);
  field('proposal file', saved.proposal_file, now.proposal_file);
  if (saved.weights_sha256 !== now.weights_sha256) {
    diffs.push(`weights: ${saved.weights} (saved, sha256 ${saved.weights_sha256.slice(0, 12)}…) vs ${now.weights} (now, sha256 ${now.weights_sha256.slice(0, 12)}…)`);
  }
  const keys = [...new Set([...Object.keys(saved.cfg ?? {}), ...Object.keys(now.cfg)])].sort();
  const cfgDiffs = keys.filter((k) => saved.cfg?.[k] !== now.cfg[k]).map((k) => `${k}: ${saved.cfg?.[k] ?? '(absent)'} (saved) vs ${now.cfg[k] ?? '(absent)'} (now)`);
  const shown = 12;
  diffs.push(...cfgDiffs.slice(0, shown));
  if (cfgDiffs.length > shown) diffs.push(`... and ${cfgDiffs.length - shown} more config keys`);
  return diffs;
}

/** Per-image detections of one output folder, checked against the run that made them. */
export class PerImageStore {
  readonly dir: string;

  private constructor(readonly outputDir: string) {
    this.dir = path.join(outputDir, PER_IMAGE_DIR);
  }

  /**
   * Opens `outputDir` for `record`: adopts saved results of the same run, refuses those of
   * another (naming the differences), or with `restart` discards whatever is there.
   */
  static async open(outputDir: string, record: RunRecord, o: { restart?: boolean; warn?: (line: string) => void } = {}): Promise<PerImageStore> {
    const store = new PerImageStore(outputDir);
    const runFile = path.join(outputDir, RUN_FILE);
    fs.mkdirSync(outputDir, { recursive: true });
    if (o.restart === true) discardPerImageResults(outputDir);
    const saved = fs.existsSync(runFile) ? readRunRecord(runFile) : null;
    const hasImages = fs.existsSync(store.dir) && fs.readdirSync(store.dir).some((f) => f.endsWith('.json'));
    const again = 'Run with --restart to discard them, or choose another --output-dir.';
    if (saved === null && hasImages) {
      throw new Error(`${store.dir} holds per-image results but ${runFile} (what produced them) is missing. ${again}`);
    }
    if (saved !== null) {
      const diffs = runDifferences(saved, record);
      if (diffs.length > 0) {
        throw new Error(`${outputDir} holds results of a different run:\n  ${diffs.join('\n  ')}\n${again}`);
      }
      // cuda:0 and cuda:1 compute alike (sharded runs put each process on its own GPU).
      if (deviceKind(saved.device) !== deviceKind(record.device)) {
        o.warn?.(`warning: resuming results computed on ${saved.device} on ${record.device}; the two differ in the last bits`);
      }
    }
    fs.mkdirSync(store.dir, { recursive: true });
    await writeFileAtomic(runFile, `${JSON.stringify(record, null, 1)}\n`);
    return store;
  }

  fileFor(imageId: number): string {
    return path.join(this.dir, `${imageId}.json`);
  }

  /** The saved detections of `entry`, or null when there are none (or they are unreadable). */
  load(entry: RoidbEntry, warn?: (line: string) => void): ImageDetections | null {
    const file = this.fileFor(entry.id);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return null;
    }
    try {
      const doc = JSON.parse(text) as { image_id?: unknown };
      const [image] = parseGoldenLayout(text, file);
      if (doc.image_id !== entry.id || image === undefined || image.image !== entry.image) {
        warn?.(`warning: ${file} is for another image; running it again`);
        return null;
      }
      return image.dets;
    } catch (err) {
      warn?.(`warning: ${file} is unreadable (${(err as Error).message}); running the image again`);
      return null;
    }
  }

  /** Saves one image's detections (golden layout, one image), atomically. */
  async save(entry: RoidbEntry, dets: ImageDetections): Promise<void> {
    const doc = { image_id: entry.id, images: [toGoldenImage(entry.image, dets)] };
    await writeFileAtomic(this.fileFor(entry.id), `${JSON.stringify(doc)}\n`);
    fs.rmSync(this.failureFileFor(entry.id), { force: true });
  }

  failureFileFor(imageId: number): string {
    return path.join(this.dir, `${imageId}.failed.json`);
  }

  /**
   * Records that `entry` failed (why), so that the process merging a sharded run counts it as
   * failed instead of waiting for its results. A later run tries the image again.
   */
  async saveFailure(entry: RoidbEntry, why: string): Promise<void> {
    await writeFileAtomic(this.failureFileFor(entry.id), `${JSON.stringify({ image_id: entry.id, image: entry.image, error: why })}\n`);
  }

  /**
   * Why `entry` failed, or null when no failure is recorded for it at or after `since` (ms
   * since the epoch: older records are from an earlier run, whose failed images run again).
   */
  loadFailure(entry: RoidbEntry, since: number): string | null {
    try {
      const file = this.failureFileFor(entry.id);
      if (fs.statSync(file).mtimeMs < since) return null;
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { image_id?: unknown; error?: unknown };
      return doc.image_id === entry.id && typeof doc.error === 'string' ? doc.error : null;
    } catch {
      return null;
    }
  }
}

/** Removes the per-image results of `outputDir` and the record of their run (--restart). */
export function discardPerImageResults(outputDir: string): void {
  fs.rmSync(path.join(outputDir, PER_IMAGE_DIR), { recursive: true, force: true });
  fs.rmSync(path.join(outputDir, RUN_FILE), { force: true });
}

/** 'cpu', 'cuda' (any index), ... */
function deviceKind(device: string): string {
  return device.split(':')[0];
}

function readRunRecord(file: string): RunRecord {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
    if (r === null || typeof r !== 'object' || r.version !== 1) throw new Error('not a version-1 run record');
    return r;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}. Run with --restart to discard the saved results.`);
  }
}

// ---------------------------------------------------------------------------------------------
// test_net

export interface TestNetOptions {
  /** The config (with TEST.WEIGHTS etc. as the run used them: it is saved in detections.pkl). */
  cfg: Cfg;
  /** A local weights file. */
  weights: string;
  dataset: JsonDataset;
  /** The dataset was given by annotation file: always COCO-json evaluated (see task_evaluation). */
  datasetGivenByFile?: boolean;
  /** Where the results go: Detectron's get_output_dir (OUTPUT_DIR/test/<dataset>/<MODEL.TYPE>). */
  outputDir: string;
  /** Images [start, end) of the roidb; null for all (then evaluation follows). */
  range?: [number, number] | null;
  /** Write pictures into outputDir/vis (cfg.VIS). */
  visFormat?: VisFormat;
  device?: string;
  /** Discard saved per-image results instead of resuming. */
  restart?: boolean;
  log: EvalLog;
  /** Progress output (stderr by default). */
  reportStream?: ReportStream;
  /** Images per conv-body batch (TEST.IMS_PER_BATCH); results are those of 1. */
  imsPerBatch?: number;
  /**
   * Rank 0 of a sharded run: compute only the images [compute[0], compute[1]) (dataset
   * indices) of the range; other processes compute the rest. Their per-image results are
   * waited for, then merged; the error after `timeoutMs` names the images still missing.
   */
  shard?: ShardWait;
}

export interface ShardWait {
  compute: readonly [number, number];
  timeoutMs: number;
  /** Milliseconds between looks at the output folder (default 1000). */
  pollMs?: number;
}

export interface TestNetResult {
  detectionsFile: string;
  all: AllResults;
  /** Metrics when the whole dataset was evaluated, else null. */
  results: EvalResults | null;
  /** Whether every cfg.EXPECTED_RESULTS row passed (true when there are none or no evaluation). */
  expectedOk: boolean;
  /** Images that could not be read or decoded (they count as having no detections). */
  failed: string[];
  computed: number;
  resumed: number;
}

/** Detectron's get_output_dir(dataset, training=False) under `outputRoot`. */
export function testOutputDir(outputRoot: string, datasetName: string, cfg: Cfg): string {
  return path.join(outputRoot, 'test', datasetName, cfg.MODEL.TYPE);
}

/** get_roidb_and_dataset: the roidb (with proposals when the model needs them) and the range. */
function roidbAndRange(o: TestNetOptions): { roidb: RoidbEntry[]; start: number; end: number; proposalFile: string | null } {
  const cfg = o.cfg;
  let proposalFile: string | null = null;
  let roidb: RoidbEntry[];
  if (cfg.TEST.PRECOMPUTED_PROPOSALS) {
    const files = cfg.TEST.PROPOSAL_FILES;
    const index = cfg.TEST.DATASETS.indexOf(o.dataset.name);
    proposalFile = files.length === 1 ? files[0] : index >= 0 && index < files.length ? files[index] : null;
    if (proposalFile === null) {
      throw new Error(`this model takes precomputed proposals (TEST.PRECOMPUTED_PROPOSALS): give one file per dataset in TEST.PROPOSAL_FILES, e.g. --set TEST.PROPOSAL_FILES '("proposals.pkl",)'`);
    }
    roidb = o.dataset.getRoidb({ proposalFile, proposalLimit: cfg.TEST.PROPOSAL_LIMIT });
  } else {
    roidb = o.dataset.getRoidb();
  }
  const range = o.range ?? null;
  if (range === null) return { roidb, start: 0, end: roidb.length, proposalFile };
  const [a, b] = range;
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a) {
    throw new Error(`--range ${a} ${b}: expected 0 <= start <= end (images [start, end) of the ${roidb.length})`);
  }
  // Python slicing: an end past the roidb stops at its end.
  return { roidb, start: Math.min(a, roidb.length), end: Math.min(b, roidb.length), proposalFile };
}

/** Detectron's box_proposals for an entry: its non-gt boxes (gt_classes == 0). */
function boxProposals(entry: RoidbEntry): Float32Array {
  const keep: number[] = [];
  entry.gt_classes.forEach((c, i) => c === 0 && keep.push(i));
  const out = new Float32Array(4 * keep.length);
  keep.forEach((i, t) => out.set(entry.boxes.subarray(4 * i, 4 * i + 4), 4 * t));
  return out;
}

/** test_net (+ test_net_on_dataset's evaluation when there is no range). */
export async function testNetOnDataset(o: TestNetOptions): Promise<TestNetResult> {
  const cfg = o.cfg;
  if (cfg.MODEL.RPN_ONLY) throw new Error('MODEL.RPN_ONLY: RPN-only models generate proposals: use generateRpnOnDataset (lib/core/rpn_generator.ts), as `detectron test_net` does');
  const device = o.device ?? 'cpu';
  const { roidb, start, end, proposalFile } = roidbAndRange(o);
  const range = o.range ?? null;
  const record: RunRecord = {
    version: 1,
    dataset: o.dataset.name,
    annotation_file: path.resolve(o.dataset.annotationFile),
    image_directory: path.resolve(o.dataset.imageDirectory),
    proposal_file: proposalFile === null ? null : path.resolve(proposalFile),
    weights: path.resolve(o.weights),
    weights_sha256: await fileSha256(o.weights),
    cfg: cfgFingerprint(cfg),
    device,
  };
  const store = await PerImageStore.open(o.outputDir, record, { restart: o.restart, warn: o.log.warn });
  const entries = roidb.slice(start, end);
  const dets = new Map<number, ImageDetections>();
  const todo: Array<{ index: number; entry: RoidbEntry; proposals: Float32Array | null }> = [];
  // A shard's rank 0 computes its own images and waits for the others'.
  const others: RoidbEntry[] = [];
  const shard = o.shard;
  const mine = (index: number): boolean => shard === undefined || (index >= shard.compute[0] && index < shard.compute[1]);
  entries.forEach((entry, i) => {
    const proposals = cfg.TEST.PRECOMPUTED_PROPOSALS ? boxProposals(entry) : null;
    // Detectron skips images without proposals: their results stay empty.
    if (proposals !== null && proposals.length === 0) return;
    const saved = store.load(entry, o.log.warn);
    if (saved !== null) dets.set(entry.id, saved);
    else if (mine(start + i)) todo.push({ index: start + i, entry, proposals });
    else others.push(entry);
  });
  const resumed = dets.size;
  if (resumed > 0) o.log.warn(`resuming: ${resumed} of ${entries.length} images already done (${store.dir})`);

  const failed: string[] = [];
  const started = process.hrtime.bigint();
  if (todo.length > 0) {
    const model = initializeModelFromCfg(cfg, o.weights, { device });
    const report = new InferenceReport(todo.length, o.reportStream !== undefined ? { stream: o.reportStream } : {});
    const batch = Math.max(1, o.imsPerBatch ?? 1);
    try {
      for (let b = 0; b < todo.length; b += batch) {
        const chunk = todo.slice(b, b + batch);
        const images: Array<NdArray | string> = [];
        for (const { entry } of chunk) images.push(await readImage(entry, report));
        const ok = chunk.map((c, k) => ({ ...c, image: images[k] })).filter((c): c is typeof c & { image: NdArray } => typeof c.image !== 'string');
        const times = ok.map(() => new StageTimes());
        const results = detectImages(model, ok.map((c) => c.image), times, ok.map((c) => c.proposals));
        times.forEach((t) => report.addStages(t));
        for (const [k, { entry }] of chunk.entries()) {
          const at = ok.findIndex((c) => c.entry === entry);
          if (at < 0) {
            failed.push(entry.image);
            await store.saveFailure(entry, images[k] as string);
            report.imageDone(entry.image, false);
            continue;
          }
          const result = results[at];
          await visOne(ok[at].image, result, chunk[k].index, entry, o, report);
          await report.timer('save').time(() => store.save(entry, result));
          dets.set(entry.id, result);
          report.imageDone(entry.image, true);
        }
      }
    } finally {
      model.dispose();
      report.finish();
    }
  }
  o.log.info(`Total inference time: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(3)}s`);
  if (shard !== undefined && others.length > 0) failed.push(...await awaitSavedResults(store, others, dets, shard, o.log));

  const all = emptyResults(cfg.MODEL.NUM_CLASSES, entries.length);
  entries.forEach((entry, i) => {
    const d = dets.get(entry.id);
    if (d !== undefined) extendResults(i, all, d);
  });
  const detectionsFile = path.join(o.outputDir, detectionsFileName(range));
  writePickle(detectionsFile, detectionsPklValue(all, dumpCfgYaml(cfg)));
  o.log.info(`Wrote detections to: ${path.resolve(detectionsFile)}`);
  if (failed.length > 0) {
    o.log.warn(`warning: ${failed.length} image(s) failed and count as having no detections: ${failed.join(', ')}; ` +
      'fix them and run again (finished images are kept)');
  }

  let results: EvalResults | null = null;
  let expectedOk = true;
  if (range === null) {
    if (cfg.MODEL.NUM_CLASSES !== o.dataset.numClasses) {
      o.log.warn(`warning: the model has ${cfg.MODEL.NUM_CLASSES} classes (MODEL.NUM_CLASSES), dataset ${o.dataset.name} ${o.dataset.numClasses}; ` +
        'classes are matched by index, as Detectron does');
    }
    results = await evaluateAll(o.dataset, all, o.outputDir, cfg, { log: o.log, forceJson: o.datasetGivenByFile === true });
    expectedOk = checkExpectedResults(results, cfg, o.log);
    logCopyPasteFriendlyResults(results, o.log.info);
  }
  return { detectionsFile, all, results, expectedOk, failed, computed: todo.length - failed.length, resumed };
}

/** When this process started: the other ranks of a launch record their failures after it. */
const PROCESS_START_MS = Date.now() - process.uptime() * 1000;

/**
 * Polls `store` until every entry of `pending` has saved results (adding them to `dets`) or a
 * recorded failure; returns the images that failed in the other processes. Throws naming the
 * images still missing after `timeoutMs`.
 */
async function awaitSavedResults(
  store: PerImageStore, pending: readonly RoidbEntry[], dets: Map<number, ImageDetections>,
  o: ShardWait, log: EvalLog,
): Promise<string[]> {
  let missing = [...pending];
  const failed: string[] = [];
  log.warn(`waiting for the other processes' results of ${missing.length} image(s) in ${store.dir} (timeout ${o.timeoutMs / 1000} s)`);
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    // Results are renamed into place whole: a file that exists is complete.
    missing = missing.filter((entry) => {
      const saved = fs.existsSync(store.fileFor(entry.id)) ? store.load(entry) : null;
      if (saved !== null) {
        dets.set(entry.id, saved);
        return false;
      }
      const why = store.loadFailure(entry, PROCESS_START_MS);
      if (why !== null) {
        log.warn(`error: ${entry.image}: ${why} (in another process)`);
        failed.push(entry.image);
      }
      return why === null;
    });
    if (missing.length === 0) return failed;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(o.pollMs ?? 1000, Math.max(0, deadline - Date.now()))));
  }
  const shown = missing.slice(0, 10).map((e) => `${e.image} (id ${e.id}, ${store.fileFor(e.id)})`);
  throw new Error(`timed out after ${o.timeoutMs / 1000} s waiting for the other processes' results of ${missing.length} image(s): ` +
    `${shown.join(', ')}${missing.length > shown.length ? `, ... and ${missing.length - shown.length} more` : ''}. ` +
    'Check the logs of the ranks that run them (an image that failed there has no results), or raise $DETECTRON_SHARD_TIMEOUT');
}

/** The entry's image, decoded; null when it cannot be read or decoded (reported; the run goes on). */
/** The decoded image, or why it could not be read (also logged). */
async function readImage(entry: RoidbEntry, report: InferenceReport): Promise<NdArray | string> {
  try {
    const bytes = await fs.promises.readFile(entry.image);
    const decoded = await report.timer('decode').time(() => decodeImage(bytes, entry.image));
    for (const w of decoded.warnings) report.log(`warning: ${entry.image}: ${w}`);
    return decoded.image;
  } catch (err) {
    const why = err instanceof ImageDecodeError ? err.reason : (err as Error).message;
    report.log(`error: ${entry.image}: ${why}`);
    return why;
  }
}

/**
 * Draws an image's detections when cfg.VIS. Detection errors (not the image's fault: device,
 * memory) stop the run; every finished image is already saved for the next run.
 */
async function visOne(image: NdArray, dets: ImageDetections, index: number, entry: RoidbEntry, o: TestNetOptions, report: InferenceReport): Promise<void> {
  if (!o.cfg.VIS) return;
  const stem = path.basename(entry.image, path.extname(entry.image));
  // Detectron names pictures '<i>_<image stem>' with i the index within the range it ran;
  // the index within the dataset keeps names stable across resumed and ranged runs.
  await report.timer('vis').time(() => writeVisOneImage(image, `${index}_${stem}`, path.join(o.outputDir, 'vis'), dets, {
    thresh: o.cfg.VIS_TH, boxAlpha: 0.8, showClass: true, dataset: { classes: o.dataset.classes }, format: o.visFormat ?? 'pdf',
  }));
}
