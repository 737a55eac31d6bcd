/**
 * Training checkpoints as Detectron weights pickles: Detectron's save_model_to_weights_file
 * layout `{'blobs': {name: array, '<name>_momentum': array}, 'cfg': yaml}` plus one extra
 * top-level key, 'train_state', holding where training stands. Detectron's load_object (and
 * Python 3 + numpy, pickle.load(f, encoding='latin1')) reads the whole file; Detectron's
 * initialize_gpu_from_weights_file and our loadWeights only look at 'blobs' and 'cfg', so every
 * checkpoint is also a valid `--wts` for inference.
 *
 * 'train_state' = {
 *   'version': 1,
 *   'epoch': int, 'step': int,        # 0-indexed epoch, and iteration within it, just completed
 *   'iteration': int,                 # 0-indexed global SGD iteration just completed
 *   'iters_per_epoch': int,           # 0 for iteration-based training
 *   'lr': float,                      # the lr of that iteration
 *   'rng': {'js': float64 array or None, 'torch': uint8 array or None},
 * }
 * The JS RNG state is whatever numbers the data loader's generator exposes, stored as float64
 * (exact for any JS number); libtorch's is its CPU generator state bytes (getRngState()).
 *
 * Files: `<output>/ckpt/model_step{iteration}.pkl` (Detectron.pytorch's names, .pkl instead of
 * .pth) and `<output>/model_final.pkl` (where Detectron's AUTO_RESUME looks). Writes are atomic
 * (temporary file, fsync, rename: converters/pkl/atomic_write.ts), and the keep-last-N pruning
 * runs only after the new file is in place, so a failed write never costs an older checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { AtomicIo } from './atomic_write';
import { ByteReader } from '../../converters/pkl/byte_reader';
import { NumpyArray, Py2Str, PyFloat, describe, type PyDict, type PyValue } from '../../converters/pkl/python_objects';
import { blobToNdArray } from '../../converters/pkl/blob_values';
import { unpickle } from '../../converters/pkl/unpickler';
import { writePkl, type PklValue } from '../../converters/pkl/write_pkl';
import { splitMomentum } from '../../converters/weights';
import type { MomentumSGD, MomentumLoadReport } from '../modeling/optimizer';
import { tensorToNdArray } from '../modeling/optimizer';
import { loadDetectronWeights, type LoadReport } from '../modeling/detectron_weights';
import type { Module } from '../nn/module';
import { tidy } from '../nn/scope';
import { fromArray, getRngState, setRngState } from '../nn/tensor';
import type { NdArray } from './ndarray';

export const TRAIN_STATE_KEY = 'train_state';
const STATE_VERSION = 1;

export interface RngState {
  /** The JS generator's state (e.g. MT19937 words and position), or null when not saved. */
  js: number[] | null;
  /** libtorch's CPU generator state (uint8), or null. */
  torch: NdArray | null;
  /**
   * Data-parallel training: the RoI-sampling generator of every rank (row r = rank r), so that
   * each rank resumes its own stream; null for one process.
   */
  ranks?: number[][] | null;
}

export interface TrainState {
  /** 0-indexed epoch of the iteration just completed (0 for iteration-based training). */
  epoch: number;
  /** 0-indexed iteration within that epoch (Detectron.pytorch's args.step). */
  step: number;
  /** 0-indexed global SGD iteration just completed (Detectron's cur_iter). */
  iteration: number;
  /** Iterations per epoch; 0 for iteration-based training. */
  itersPerEpoch: number;
  /** The learning rate of that iteration. */
  lr: number;
  rng: RngState;
}

export interface Checkpoint {
  /** Every model parameter by Detectron blob name (frozen ones too, as Detectron saves them). */
  blobs: ReadonlyMap<string, NdArray>;
  /** `<blob>_momentum` for the trainable parameters. */
  momentum: ReadonlyMap<string, NdArray>;
  /** The config as YAML (dumpCfgYaml). */
  cfg: string;
  state: TrainState;
}

export interface LoadedCheckpoint {
  blobs: Map<string, NdArray>;
  momentum: Map<string, NdArray>;
  cfg: string | null;
  /** Null for a plain weights file (no 'train_state'). */
  state: TrainState | null;
}

// ---- writing ---------------------------------------------------------------------------------

function stateToPkl(s: TrainState): PklValue {
  const ints: Array<[string, number]> = [
    ['epoch', s.epoch],
    ['step', s.step],
    ['iteration', s.iteration],
    ['iters_per_epoch', s.itersPerEpoch],
  ];
  for (const [k, v] of ints) if (!Number.isSafeInteger(v) || v < 0) throw new Error(`train state: ${k} must be a non-negative integer, got ${v}`);
  const rng = new Map<string, PklValue>([
    ['js', s.rng.js === null ? null : { dtype: 'float64', shape: [s.rng.js.length], data: Float64Array.from(s.rng.js) }],
    ['torch', s.rng.torch],
    ['ranks', ranksToArray(s.rng.ranks ?? null)],
  ]);
  return new Map<string, PklValue>([
    ['version', STATE_VERSION],
    ...ints,
    // Boxed so that an lr of 1 is still a Python float.
    ['lr', new PyFloat(s.lr)],
    ['rng', rng],
  ]);
}

/** Per-rank generator states as a ranks × width float64 array (exact for 32-bit words). */
function ranksToArray(ranks: number[][] | null): NdArray | null {
  if (ranks === null || ranks.length === 0) return null;
  const width = ranks[0].length;
  if (ranks.some((r) => r.length !== width)) throw new Error('train state: every rank\'s RNG state must have the same length');
  return { dtype: 'float64', shape: [ranks.length, width], data: Float64Array.from(ranks.flat()) };
}

/** Writes a checkpoint atomically; `io` lets tests inject write failures. */
export function saveCheckpoint(file: string, ckpt: Checkpoint, io?: AtomicIo): void {
  writePkl(
    file,
    { blobs: ckpt.blobs, momentum: ckpt.momentum, cfg: ckpt.cfg, extra: new Map([[TRAIN_STATE_KEY, stateToPkl(ckpt.state)]]) },
    { io },
  );
}

/** Every parameter of `model` by Detectron blob name, as float32 CPU arrays. */
export function modelBlobs(model: Module): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  for (const [blob, p] of model.detectronWeightMapping()) out.set(blob, tensorToNdArray(p.tensor));
  return out;
}

/** The RNG states to save: libtorch's CPU generator, and the JS generator's if given. */
export function captureRng(jsState: (() => number[]) | null = null): RngState {
  return { js: jsState === null ? null : [...jsState()], torch: tidy(() => tensorToNdArray(getRngState())) };
}

/** Puts saved RNG states back (libtorch's here, the JS one through `setJs`). */
export function restoreRng(rng: RngState, setJs: ((state: number[]) => void) | null = null): void {
  if (rng.torch !== null) {
    const state = rng.torch;
    tidy(() => setRngState(fromArray(state.data, state.shape, { dtype: 'uint8', copy: true })));
  }
  if (rng.js !== null && setJs !== null) setJs(rng.js);
}

// ---- reading ---------------------------------------------------------------------------------

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

function toNumber(v: PyValue | undefined, key: string, file: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  return fail(file, `train_state['${key}'] must be a number, got ${v === undefined ? 'nothing' : describe(v)}`);
}

function optionalArray(v: PyValue | undefined, key: string, file: string): NdArray | null {
  if (v === undefined || v === null) return null;
  if (v instanceof NumpyArray && v.array !== null) return v.array;
  return fail(file, `train_state['rng']['${key}'] must be an array or None, got ${describe(v)}`);
}

function stateFromPkl(v: PyValue, file: string): TrainState {
  if (!(v instanceof Map)) fail(file, `'${TRAIN_STATE_KEY}' must be a dict, got ${describe(v)}`);
  const d = v as PyDict;
  const version = toNumber(d.get('version'), 'version', file);
  if (version > STATE_VERSION) fail(file, `train_state version ${version} is newer than this reader (${STATE_VERSION})`);
  const rngValue = d.get('rng');
  const rng = rngValue instanceof Map ? rngValue : new Map<string, PyValue>();
  const js = optionalArray(rng.get('js'), 'js', file);
  const ranks = optionalArray(rng.get('ranks'), 'ranks', file);
  if (ranks !== null && ranks.shape.length !== 2) fail(file, `train_state['rng']['ranks'] must be 2-d (ranks × state), got shape [${ranks.shape}]`);
  return {
    epoch: toNumber(d.get('epoch'), 'epoch', file),
    step: toNumber(d.get('step'), 'step', file),
    iteration: toNumber(d.get('iteration'), 'iteration', file),
    itersPerEpoch: toNumber(d.get('iters_per_epoch'), 'iters_per_epoch', file),
    lr: toNumber(d.get('lr'), 'lr', file),
    rng: {
      js: js === null ? null : Array.from(js.data, Number),
      torch: optionalArray(rng.get('torch'), 'torch', file),
      ...(ranks === null ? {} : {
        ranks: Array.from({ length: ranks.shape[0] }, (_, r) =>
          Array.from(ranks.data.slice(r * ranks.shape[1], (r + 1) * ranks.shape[1]), Number)),
      }),
    },
  };
}

function cfgText(v: PyValue | undefined, file: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Py2Str) return v.text;
  return fail(file, `'cfg' must be a YAML string, got ${describe(v)}`);
}

/**
 * Reads a checkpoint (or any Detectron weights pickle: `state` is then null), in one pass over
 * the file.
 */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  const reader = ByteReader.openFile(file);
  let top: PyValue;
  try {
    top = unpickle(reader).value;
  } finally {
    reader.close();
  }
  if (!(top instanceof Map)) fail(file, `expected a dict at the top level, got ${describe(top)}`);
  const dict = top as PyDict;
  const blobsValue = dict.get('blobs');
  if (!(blobsValue instanceof Map)) fail(file, `'blobs' must be a dict of arrays`);
  const all = new Map<string, NdArray>();
  for (const [name, value] of blobsValue as PyDict) {
    if (typeof name !== 'string') fail(file, `blob names must be strings, got ${String(name)}`);
    const a = blobToNdArray(value);
    if (typeof a === 'string') fail(file, `blob '${name}' is ${a}; expected a numpy array`);
    all.set(name, a);
  }
  const stateValue = dict.get(TRAIN_STATE_KEY);
  return {
    ...splitMomentum(all),
    cfg: cfgText(dict.get('cfg'), file),
    state: stateValue === undefined ? null : stateFromPkl(stateValue, file),
  };
}

export interface RestoreOptions {
  /** Restore libtorch's RNG (default true). */
  restoreRng?: boolean;
  /** Receives the saved JS RNG state. */
  setJsRng?: (state: number[]) => void;
}

export interface Restored {
  state: TrainState;
  weights: LoadReport;
  momentum: MomentumLoadReport;
  cfg: string | null;
}

/**
 * Resumes from a checkpoint: weights into the model (strict: every parameter must be there with
 * its shape), momentum into the optimiser, the lr (without momentum rescaling), the RNG states.
 * Detectron's AUTO_RESUME starts its lr blob at 0 instead, which skips a momentum correction
 * when an lr step falls exactly on the resumed iteration; restoring the lr makes the resumed
 * run identical to an uninterrupted one.
 */
export function restoreCheckpoint(file: string, model: Module, optimizer: MomentumSGD, o: RestoreOptions = {}): Restored {
  const ckpt = loadCheckpoint(file);
  if (ckpt.state === null) throw new Error(`${file}: not a training checkpoint (no '${TRAIN_STATE_KEY}')`);
  const weights = loadDetectronWeights(model, ckpt.blobs, { strict: true, source: file });
  const momentum = optimizer.loadMomentum(ckpt.momentum);
  optimizer.restoreLr(ckpt.state.lr);
  if (o.restoreRng ?? true) restoreRng(ckpt.state.rng, o.setJsRng ?? null);
  else if (o.setJsRng !== undefined && ckpt.state.rng.js !== null) o.setJsRng(ckpt.state.rng.js);
  return { state: ckpt.state, weights, momentum, cfg: ckpt.cfg };
}

// ---- where and when --------------------------------------------------------------------------

export interface ResumePosition {
  startEpoch: number;
  /** First iteration within startEpoch. */
  startStep: number;
  /** First global iteration. */
  startIteration: number;
}

/**
 * Where training continues after a checkpoint (Detectron.pytorch's train_net.py --resume): the
 * next epoch when the checkpoint closed an epoch, else the next step of the same epoch.
 */
export function resumePosition(s: TrainState): ResumePosition {
  if (s.itersPerEpoch > 0 && s.step === s.itersPerEpoch - 1) {
    return { startEpoch: s.epoch + 1, startStep: 0, startIteration: s.iteration + 1 };
  }
  return { startEpoch: s.epoch, startStep: s.step + 1, startIteration: s.iteration + 1 };
}

/** Detectron.pytorch: iters_per_epoch // ckpt_num_per_epoch (at least 1, where Python would divide by zero). */
export function epochCheckpointInterval(itersPerEpoch: number, ckptNumPerEpoch: number): number {
  return Math.max(1, Math.floor(itersPerEpoch / Math.max(1, ckptNumPerEpoch)));
}

/** Whether train_net.py saves after `step` of an epoch: every interval, and at the epoch's end. */
export function isEpochCheckpointStep(step: number, itersPerEpoch: number, ckptNumPerEpoch: number): boolean {
  return (step + 1) % epochCheckpointInterval(itersPerEpoch, ckptNumPerEpoch) === 0 || step === itersPerEpoch - 1;
}

/** Detectron's CHECKPOINT_PERIOD = int(TRAIN.SNAPSHOT_ITERS / NUM_GPUS). */
export function checkpointPeriod(snapshotIters: number, numGpus: number): number {
  return Math.max(1, Math.trunc(snapshotIters / numGpus));
}

/** Detectron's train loop: save after cur_iter when (cur_iter + 1) % period == 0 and cur_iter > start_iter. */
export function isIterCheckpoint(curIter: number, startIter: number, period: number): boolean {
  return (curIter + 1) % period === 0 && curIter > startIter;
}

export interface CheckpointManagerOptions {
  /** Keep this many `model_step*.pkl` (the newest); 0 or absent keeps all. model_final.pkl is never pruned. */
  keep?: number;
  io?: AtomicIo;
}

export interface SavedCheckpoint {
  path: string;
  /** Older checkpoints deleted by the keep-last-N rule. */
  removed: string[];
}

const STEP_FILE = /^model_step(\d+)\.pkl$/;

export class CheckpointManager {
  readonly ckptDir: string;
  readonly finalPath: string;

  constructor(
    readonly outputDir: string,
    private readonly options: CheckpointManagerOptions = {},
  ) {
    this.ckptDir = path.join(outputDir, 'ckpt');
    this.finalPath = path.join(outputDir, 'model_final.pkl');
  }

  stepPath(iteration: number): string {
    return path.join(this.ckptDir, `model_step${iteration}.pkl`);
  }

  /** Writes `ckpt/model_step{state.iteration}.pkl`, then prunes to the newest `keep`. */
  save(ckpt: Checkpoint): SavedCheckpoint {
    fs.mkdirSync(this.ckptDir, { recursive: true });
    const file = this.stepPath(ckpt.state.iteration);
    saveCheckpoint(file, ckpt, this.options.io);
    return { path: file, removed: this.prune() };
  }

  /** Writes model_final.pkl (never pruned). */
  saveFinal(ckpt: Checkpoint): string {
    fs.mkdirSync(this.outputDir, { recursive: true });
    saveCheckpoint(this.finalPath, ckpt, this.options.io);
    return this.finalPath;
  }

  /** The step checkpoints on disk, oldest first. */
  list(): Array<{ iteration: number; path: string }> {
    let names: string[];
    try {
      names = fs.readdirSync(this.ckptDir);
    } catch {
      return [];
    }
    const out: Array<{ iteration: number; path: string }> = [];
    for (const name of names) {
      const m = STEP_FILE.exec(name);
      if (m !== null) out.push({ iteration: Number(m[1]), path: path.join(this.ckptDir, name) });
    }
    return out.sort((a, b) => a.iteration - b.iteration);
  }

  /** What to resume from: model_final.pkl if training finished, else the newest step checkpoint. */
  latest(): { kind: 'final' | 'step'; path: string } | null {
    if (fs.existsSync(this.finalPath)) return { kind: 'final', path: this.finalPath };
    const all = this.list();
    return all.length === 0 ? null : { kind: 'step', path: all[all.length - 1].path };
  }

  /** Deletes all but the newest `keep` step checkpoints; returns what it deleted. */
  prune(): string[] {
    const keep = this.options.keep ?? 0;
    if (!(keep > 0)) return [];
    const all = this.list();
    const removed: string[] = [];
    for (const c of all.slice(0, Math.max(0, all.length - keep))) {
      fs.unlinkSync(c.path);
      removed.push(c.path);
    }
    return removed;
  }
}
