/**
 * The training data loader: Detectron's detectron/roi_data/loader.py (RoIDataLoader: per-epoch
 * shuffles, TRAIN.ASPECT_GROUPING, invalid minibatches skipped) with Detectron.pytorch's
 * TRAIN.ASPECT_CROPPING, built on worker threads instead of Python threads.
 *
 * Reproducibility: the batches of epoch e are a function of (seed, e) alone, and the minibatch
 * of (epoch e, batch b) draws from its own stream Rng.derive(seed, MINIBATCH, e, b); so the same
 * seed gives the same minibatches with any number of workers, in-process or not, and a run can
 * resume at any (epoch, batch) position.
 *
 * Workers receive plain data (the batch's roidb entries, the config) and return the blobs'
 * typed arrays by transferring their buffers. A bounded window of batches is prepared ahead of
 * the consumer; results are handed out in batch order. A worker error rejects `next()` with an
 * error naming the image.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Rng } from './rng';
import { RoiDataConfig, RoiDataEntry, RoiDataError, toPlainEntry } from './data_utils';
import { ImageReader, Minibatch, getMinibatch, minibatchRoidb } from './minibatch';
import type { AspectCroppingOptions } from './aspect_crop';

/** Stream tags separating the sampler's and the minibatches' random streams. */
const SAMPLER_STREAM = 1;
const MINIBATCH_STREAM = 2;

export interface SamplerOptions {
  /** TRAIN.IMS_PER_BATCH */
  imsPerBatch: number;
  /** TRAIN.ASPECT_GROUPING: batches hold only landscape (w >= h) or only portrait images. */
  aspectGrouping: boolean;
  /** e.g. cfg.RNG_SEED */
  seed: number;
}

/** Image sizes, all the sampler needs of the roidb. */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Batches of roidb indices per epoch, as Detectron's _shuffle_roidb_inds /
 * _get_next_minibatch_inds lay them out:
 *  - with aspect grouping: landscape and portrait indices shuffled separately, each cut to a
 *    multiple of IMS_PER_BATCH, split into batches, and the batches shuffled together;
 *  - without: one permutation, taken IMS_PER_BATCH at a time; the last batch wraps around to
 *    the permutation's start when the count does not divide (Detectron's rotating deque).
 */
export class Sampler {
  private readonly horz: Int32Array;
  private readonly vert: Int32Array;
  private readonly count: number;

  constructor(sizes: readonly ImageSize[], readonly opts: SamplerOptions) {
    const mb = opts.imsPerBatch;
    if (!Number.isInteger(mb) || mb <= 0) throw new Error(`Sampler: IMS_PER_BATCH must be a positive integer, got ${mb}`);
    if (sizes.length === 0) throw new Error('Sampler: the roidb is empty');
    const horz: number[] = [];
    const vert: number[] = [];
    sizes.forEach((s, i) => (s.width >= s.height ? horz : vert).push(i));
    this.horz = Int32Array.from(horz);
    this.vert = Int32Array.from(vert);
    this.count = sizes.length;
    if (this.batchesPerEpoch === 0) {
      throw new Error(`Sampler: no full batch of ${mb} images of one orientation (${horz.length} landscape, ${vert.length} portrait)`);
    }
  }

  get batchesPerEpoch(): number {
    const mb = this.opts.imsPerBatch;
    if (this.opts.aspectGrouping) return Math.floor(this.horz.length / mb) + Math.floor(this.vert.length / mb);
    return Math.ceil(this.count / mb);
  }

  /** The batches of epoch `epoch` (0-based), each IMS_PER_BATCH roidb indices. */
  epoch(epoch: number): Int32Array[] {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`Sampler: epoch must be a non-negative integer, got ${epoch}`);
    const rng = Rng.derive(this.opts.seed, SAMPLER_STREAM, epoch);
    return this.opts.aspectGrouping ? this.groupedEpoch(rng) : this.plainEpoch(rng);
  }

  private groupedEpoch(rng: Rng): Int32Array[] {
    const mb = this.opts.imsPerBatch;
    const h = rng.shuffle(Int32Array.from(this.horz));
    const v = rng.shuffle(Int32Array.from(this.vert));
    const rows: Int32Array[] = [];
    for (const group of [h, v]) {
      for (let i = 0; i + mb <= group.length; i += mb) rows.push(group.slice(i, i + mb));
    }
    return Array.from(rng.permutation(rows.length), (r) => rows[r]);
  }

  private plainEpoch(rng: Rng): Int32Array[] {
    const mb = this.opts.imsPerBatch;
    const perm = rng.permutation(this.count);
    return Array.from({ length: this.batchesPerEpoch }, (_, b) => Int32Array.from({ length: mb }, (_, i) => perm[(b * mb + i) % this.count]));
  }
}

/** Where the loader is: the next batch it will hand out. Save it with a checkpoint. */
export interface LoaderPosition {
  epoch: number;
  batch: number;
}

export interface LoaderOptions {
  /** Worker threads decoding images and building targets (`--nw N`); 0 builds in-process. */
  numWorkers?: number;
  /** Minibatches prepared ahead of the consumer (default 2 per worker, at least 2). */
  queueSize?: number;
  /** Default cfg.RNG_SEED. */
  seed?: number;
  /** Resume here (default epoch 0, batch 0). */
  start?: LoaderPosition;
  /** Detectron.pytorch's ASPECT_CROPPING (ASPECT_HI / ASPECT_LO); off when absent. */
  aspectCropping?: AspectCroppingOptions | null;
  /** In-process only (functions do not cross to workers): how images are read. */
  readImage?: ImageReader;
  /** Hand out invalid minibatches too (Detectron skips them). Default false. */
  keepInvalid?: boolean;
  /**
   * Data-parallel sharding (lib/utils/distributed.ts): the sampler lays out global minibatches
   * of IMS_PER_BATCH × `count` images and the loader hands out, for each, its shards `indices`
   * in that order, shard i being images [i·IMS_PER_BATCH, (i+1)·IMS_PER_BATCH) built with a
   * random stream of its own. Absent: one shard, the loader's plain behaviour.
   */
  shards?: { count: number; indices: readonly number[] };
}

/** A minibatch with where it came from. */
export interface LoadedMinibatch extends Minibatch {
  epoch: number;
  batch: number;
  /** Its shard of the global minibatch (0 without sharding). */
  shard: number;
  /** The roidb indices of its images. */
  roidbInds: Int32Array;
}

/** What a worker is asked to build. */
export interface WorkerTask {
  id: number;
  entries: RoiDataEntry[];
  seed: number;
  epoch: number;
  batch: number;
  /** The shard of a sharded loader (its own random stream); absent otherwise. */
  shard?: number;
}

/** What a worker answers. */
export type WorkerReply =
  | { id: number; ok: true; minibatch: Minibatch }
  | { id: number; ok: false; message: string; image: string | null; stack?: string };

/** The data a worker starts with. */
export interface WorkerInit {
  cfg: RoiDataConfig;
  aspectCropping: AspectCroppingOptions | null;
  /** The worker module to load (.js, or .ts transpiled on load). */
  entry: string;
}

/** Builds the minibatch of one task; the same function runs in workers and in-process. */
export function buildMinibatch(
  task: Omit<WorkerTask, 'id'>, cfg: RoiDataConfig, aspectCropping: AspectCroppingOptions | null, readImage?: ImageReader,
): Promise<Minibatch> {
  const rng = task.shard === undefined
    ? Rng.derive(task.seed, MINIBATCH_STREAM, task.epoch, task.batch)
    : Rng.derive(task.seed, MINIBATCH_STREAM, task.epoch, task.batch, task.shard);
  return getMinibatch(task.entries, cfg, rng, { aspectCropping, readImage });
}

/** The buffers of a minibatch's blobs, to transfer rather than copy. */
export function transferList(mb: Minibatch): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const b of Object.values(mb.blobs)) {
    const buf = b.data.buffer;
    if (buf instanceof ArrayBuffer && b.data.byteLength === buf.byteLength) seen.add(buf);
  }
  return [...seen];
}

/**
 * Bootstrap of a worker thread: loads the worker module, teaching require() TypeScript with
 * the compiler's transpileModule when running from sources (tests, ts scripts).
 */
const BOOTSTRAP = `
const { workerData } = require('worker_threads');
const { createRequire } = require('module');
const entry = workerData.entry;
if (entry.endsWith('.ts') && !require.extensions['.ts']) {
  const ts = createRequire(entry)('typescript');
  const fs = require('fs');
  require.extensions['.ts'] = (module, filename) => {
    const src = fs.readFileSync(filename, 'utf8');
    const out = ts.transpileModule(src, { fileName: filename, compilerOptions: {
      module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false } });
    module._compile(out.outputText, filename);
  };
}
createRequire(entry)(entry);
`;

function workerEntry(): string {
  const ext = path.extname(__filename) === '.ts' ? '.ts' : '.js';
  const file = path.join(__dirname, `loader_worker${ext}`);
  if (!fs.existsSync(file)) throw new Error(`loader worker module not found: ${file}`);
  return file;
}

interface Pending {
  task: WorkerTask;
  roidbInds: Int32Array;
  /** The last shard this loader takes of its global minibatch. */
  last: boolean;
  result?: Minibatch;
  error?: Error;
  waiters: Array<{ resolve: (m: Minibatch) => void; reject: (e: Error) => void }>;
}

function replyError(r: Extract<WorkerReply, { ok: false }>): Error {
  const e = r.image !== null ? new RoiDataError(r.image, r.message) : new Error(r.message);
  if (r.stack !== undefined) e.stack = `${e.name}: ${e.message}\n(in loader worker)\n${r.stack.split('\n').slice(1).join('\n')}`;
  return e;
}

/**
 * RoIDataLoader: hands out minibatches in order (epoch by epoch, batch by batch), preparing up
 * to `queueSize` ahead on `numWorkers` threads.
 */
export class RoiDataLoader<T extends RoiDataEntry = RoiDataEntry> {
  readonly sampler: Sampler;
  private readonly seed: number;
  private readonly queueSize: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly order: number[] = [];
  private readonly waiting: WorkerTask[] = [];
  private readonly busy = new Map<Worker, number>();
  private nextId = 0;
  private cursor: LoaderPosition;
  private consumed: LoaderPosition;
  private epochBatches: { epoch: number; batches: Int32Array[] } | null = null;
  private fatal: Error | null = null;
  private closed = false;
  private readonly shardCount: number;
  private readonly shardIndices: readonly number[];

  constructor(
    private readonly roidb: readonly T[], private readonly cfg: RoiDataConfig, private readonly opts: LoaderOptions = {},
  ) {
    this.seed = opts.seed ?? cfg.RNG_SEED;
    this.shardCount = opts.shards?.count ?? 1;
    this.shardIndices = opts.shards?.indices ?? [0];
    if (!Number.isInteger(this.shardCount) || this.shardCount < 1 || this.shardIndices.length === 0 ||
        this.shardIndices.some((i) => !Number.isInteger(i) || i < 0 || i >= this.shardCount)) {
      throw new Error(`bad shards: ${JSON.stringify(opts.shards)}`);
    }
    this.sampler = new Sampler(roidb, {
      imsPerBatch: cfg.TRAIN.IMS_PER_BATCH * this.shardCount, aspectGrouping: cfg.TRAIN.ASPECT_GROUPING, seed: this.seed,
    });
    const numWorkers = opts.numWorkers ?? 0;
    if (!Number.isInteger(numWorkers) || numWorkers < 0) throw new Error(`numWorkers must be a non-negative integer, got ${numWorkers}`);
    if (numWorkers > 0 && opts.readImage !== undefined) throw new Error('readImage works in-process only (numWorkers 0)');
    this.queueSize = Math.max(opts.queueSize ?? 2 * Math.max(numWorkers, 1), 1);
    const start = opts.start ?? { epoch: 0, batch: 0 };
    if (!(start.batch >= 0 && start.batch < this.sampler.batchesPerEpoch)) {
      throw new Error(`start batch ${start.batch} outside the epoch's ${this.sampler.batchesPerEpoch} batches`);
    }
    this.cursor = { ...start };
    this.consumed = { ...start };
    if (numWorkers > 0) this.startWorkers(numWorkers);
  }

  /** The position of the next minibatch `next()` returns (save with checkpoints). */
  position(): LoaderPosition {
    return { ...this.consumed };
  }

  /**
   * The roidb entries of a minibatch as its targets saw them (aspect-cropped where it was): what
   * end-to-end training passes to generateProposalLabels, like Detectron's 'roidb' blob.
   */
  roidbOf(mb: LoadedMinibatch): T[] {
    return minibatchRoidb(Array.from(mb.roidbInds, (i) => this.roidb[i]), mb.images);
  }

  /** The next valid minibatch (Detectron's get_next_minibatch). */
  async next(): Promise<LoadedMinibatch> {
    for (;;) {
      const mb = await this.nextAny();
      if (mb.valid || this.opts.keepInvalid) return mb;
    }
  }

  /** Stops the workers; pending minibatches are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('loader closed');
    for (const p of this.pending.values()) for (const w of p.waiters) w.reject(err);
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private async nextAny(): Promise<LoadedMinibatch> {
    if (this.closed) throw new Error('loader closed');
    if (this.fatal) throw this.fatal;
    this.fill();
    const id = this.order.shift();
    if (id === undefined) throw new Error('internal: loader queue empty after fill');
    const p = this.pending.get(id)!;
    try {
      const done = await this.wait(p);
      return { ...done, epoch: p.task.epoch, batch: p.task.batch, shard: p.task.shard ?? 0, roidbInds: p.roidbInds };
    } finally {
      // a failed batch is consumed too: the caller may go on with the next one
      this.pending.delete(id);
      if (p.last) this.advance(this.consumed);
      if (!this.closed && !this.fatal) this.fill();
    }
  }

  private wait(p: Pending): Promise<Minibatch> {
    if (p.result !== undefined) return Promise.resolve(p.result);
    if (p.error !== undefined) return Promise.reject(p.error);
    return new Promise<Minibatch>((resolve, reject) => p.waiters.push({ resolve, reject }));
  }

  private advance(pos: LoaderPosition): void {
    pos.batch++;
    if (pos.batch >= this.sampler.batchesPerEpoch) {
      pos.epoch++;
      pos.batch = 0;
    }
  }

  private batchAt(pos: LoaderPosition): Int32Array {
    if (this.epochBatches?.epoch !== pos.epoch) this.epochBatches = { epoch: pos.epoch, batches: this.sampler.epoch(pos.epoch) };
    return this.epochBatches.batches[pos.batch];
  }

  /** Schedules batches until `queueSize` are prepared or in preparation. */
  private fill(): void {
    const per = this.cfg.TRAIN.IMS_PER_BATCH;
    while (this.order.length < this.queueSize) {
      const global = this.batchAt(this.cursor);
      this.shardIndices.forEach((shard, k) => {
        const roidbInds = this.shardCount === 1 ? global : global.slice(shard * per, (shard + 1) * per);
        const task: WorkerTask = {
          id: this.nextId++, seed: this.seed, epoch: this.cursor.epoch, batch: this.cursor.batch,
          entries: Array.from(roidbInds, (i) => toPlainEntry(this.roidb[i])),
          ...(this.shardCount === 1 ? {} : { shard }),
        };
        const p: Pending = { task, roidbInds, waiters: [], last: k === this.shardIndices.length - 1 };
        this.pending.set(task.id, p);
        this.order.push(task.id);
        if (this.workers.length === 0) this.runInProcess(p);
        else this.dispatch(task);
      });
      this.advance(this.cursor);
    }
  }

  private runInProcess(p: Pending): void {
    const promise = buildMinibatch(p.task, this.cfg, this.opts.aspectCropping ?? null, this.opts.readImage);
    promise.then((m) => this.settle(p.task.id, m, undefined), (e: unknown) => this.settle(p.task.id, undefined, e as Error));
  }

  private settle(id: number, result: Minibatch | undefined, error: Error | undefined): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    if (error) p.error = error;
    else p.result = result;
    for (const w of p.waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve(result!);
    }
  }

  private startWorkers(n: number): void {
    const init: WorkerInit = { cfg: this.cfg, aspectCropping: this.opts.aspectCropping ?? null, entry: workerEntry() };
    for (let i = 0; i < n; i++) {
      const w = new Worker(BOOTSTRAP, { eval: true, workerData: init });
      w.on('message', (r: WorkerReply) => this.onReply(w, r));
      w.on('error', (e: Error) => this.onWorkerDeath(w, e));
      w.on('exit', (code) => {
        if (!this.closed && code !== 0) this.onWorkerDeath(w, new Error(`loader worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private dispatch(task: WorkerTask): void {
    const w = this.idle.pop();
    if (w === undefined) {
      this.waiting.push(task);
      return;
    }
    this.busy.set(w, task.id);
    w.postMessage(task);
  }

  private onReply(w: Worker, r: WorkerReply): void {
    this.busy.delete(w);
    this.idle.push(w);
    if (r.ok) this.settle(r.id, r.minibatch, undefined);
    else this.settle(r.id, undefined, replyError(r));
    const t = this.waiting.shift();
    if (t !== undefined) this.dispatch(t);
  }

  /** A crashed worker fails its task and every later use of the loader. */
  private onWorkerDeath(w: Worker, e: Error): void {
    if (this.closed) return;
    this.fatal = e;
    const id = this.busy.get(w);
    if (id !== undefined) this.settle(id, undefined, e);
    for (const p of this.pending.values()) if (!p.result && !p.error) this.settle(p.task.id, undefined, e);
  }
}
