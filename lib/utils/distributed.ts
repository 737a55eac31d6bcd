/**
 * Data-parallel training over several processes on PyTorch's own c10d (ProcessGroupGloo for
 * CPU training, ProcessGroupNCCL for CUDA training, over a TCPStore; native/src/distributed.cc),
 * as torch.distributed + DistributedDataParallel do it.
 *
 * Batch semantics (Detectron.pytorch's): `--bs` is the global minibatch; each of the N ranks
 * takes IMS_PER_BATCH = bs / N images of every global minibatch, so the learning rate and the
 * schedule (which follow bs) do not change with N. The sampler lays out global minibatches
 * exactly as in one process (TRAIN.ASPECT_GROUPING included) and rank r takes images
 * [r·bs/N, (r+1)·bs/N) of each (RoiDataLoader's `shards`), with a random stream of its own.
 * Gradients are summed over ranks and divided by N (DDP's average) by libtorch's own DDP reducer
 * (c10d::Reducer): in buckets, each all-reduced as soon as backward has produced its gradients,
 * so communication overlaps the rest of backward; where this libtorch's Reducer is not bound
 * (or overlap is turned off) the same mean is taken after backward in one flat all-reduce.
 * Each rank's loss is
 * computed as one GPU's is in Detectron (NUM_GPUS 1 per process), and the losses logged are the
 * mean over ranks. `SerialGroup` is the exact single-process equivalent: one process computing
 * every rank's shard in turn and averaging their gradients, which a multi-process run must
 * match (test/distributed.test.ts).
 *
 * Process layout: torchrun's variables RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT;
 * `detectron train_net --nproc N` sets them for the children it starts (launchTraining in
 * tools/train_net.ts). Rank 0 alone logs and writes checkpoints. On CUDA each rank trains on
 * the GPU numbered by its LOCAL_RANK (rankDevice).
 */
import type { Module, Parameter } from '../nn/module';
import { native, type DistBackend } from '../nn/native';
import { tidy } from '../nn/scope';
import { fromArray, Tensor } from '../nn/tensor';

/** torchrun's environment. */
export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

/**
 * The device rank `localRank` trains on: with `cuda`, the GPU numbered by its local rank (one
 * process per GPU, as torchrun lays them out); an explicit device or the CPU as given.
 */
export function rankDevice(device: string, localRank: number): string {
  return device === 'cuda' ? `cuda:${localRank}` : device;
}

/** torch.distributed's choice of backend for a training device: NCCL for CUDA, Gloo for the CPU. */
export function backendFor(device: string): DistBackend {
  return device.startsWith('cuda') ? 'nccl' : 'gloo';
}

/** Default seconds a collective (or the rendezvous) waits for a peer: a dead rank ends the job. */
export const DEFAULT_TIMEOUT_MS = 300_000;

function envInt(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const v = env[name];
  if (v === undefined || v === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`distributed training needs $${name}`);
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`$${name} must be a non-negative integer, got '${v}'`);
  return n;
}

/** The job's layout from torchrun's variables; null when WORLD_SIZE is unset (one process). */
export function distEnvFromProcess(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE === '') return null;
  const worldSize = envInt(env, 'WORLD_SIZE');
  const rank = envInt(env, 'RANK');
  if (worldSize < 1 || rank >= worldSize) throw new Error(`$RANK ${rank} outside $WORLD_SIZE ${worldSize}`);
  return {
    rank, worldSize, localRank: envInt(env, 'LOCAL_RANK', rank),
    masterAddr: env.MASTER_ADDR || '127.0.0.1', masterPort: envInt(env, 'MASTER_PORT', 29500),
  };
}

/** What the training loop (lib/core/train.ts) needs of a data-parallel group. */
export interface DistributedTraining {
  readonly rank: number;
  readonly worldSize: number;
  /** The ranks whose shard this process computes each step: [rank], or all (SerialGroup). */
  readonly localRanks: readonly number[];
  /** Whether this process logs and writes files (rank 0). */
  readonly isMain: boolean;
  /**
   * DistributedDataParallel's construction: every rank's parameters become rank 0's, and the
   * trainable ones are registered for gradient reduction (before the first step).
   */
  wrapModel(model: Module): void;
  /**
   * Backward from `loss`; `sync` for the micro-batch that completes the step (the others only
   * accumulate, DDP's no_sync), whose gradients may then be reduced during backward.
   */
  backward(loss: Tensor, sync: boolean): void;
  /** After the step's last backward: each trainable gradient is its mean over the ranks (DDP). */
  allReduceGradients(model: Module): void;
  /** The mean over ranks of each value (same length on every rank). */
  averageScalars(values: readonly number[]): number[];
  /**
   * Every rank's row (row r = rank r) from the rows this process holds (`local`, by rank; the
   * same width everywhere; values exact in float64, e.g. 32-bit RNG words). Collective.
   */
  gatherRows(local: ReadonlyMap<number, readonly number[]>, width: number): number[][];
  barrier(): void;
  destroy(): void;
}

/** Parameters in a fixed order (the same on every rank), each once. */
function uniqueParameters(model: Module): Parameter[] {
  return [...model.detectronWeightMapping().values()];
}

function trainable(model: Module): Parameter[] {
  return uniqueParameters(model).filter((p) => p.trainable && p.tensor.requiresGrad);
}

/** Gives every listed parameter without a gradient a zero one (so all ranks reduce the same list). */
function materialiseZeroGrads(params: Parameter[]): void {
  if (params.length === 0) return;
  tidy(() => {
    let s: Tensor | null = null;
    for (const p of params) {
      const z = p.tensor.sum().mul(0);
      s = s === null ? z : s.add(z);
    }
    s!.backward();
  });
}

/** DDP's bucket sizes: 1 MiB for the first bucket (the last layers, ready first), then 25 MiB. */
const FIRST_BUCKET_BYTES = 1 << 20;
const BUCKET_BYTES = 25 << 20;

export interface ProcessGroupOptions {
  timeoutMs?: number;
  /**
   * The device this rank trains on (default cpu): it picks the backend (backendFor), and
   * scalars and flags travel through the collectives on it.
   */
  device?: string;
  /** Reduce gradients bucket by bucket during backward (default true; false: one all-reduce after backward). */
  overlap?: boolean;
}

/** A c10d process group (Gloo or NCCL): one per process. */
export class ProcessGroup implements DistributedTraining {
  readonly localRanks: readonly number[];
  private destroyed = false;
  /** Buckets of the c10d::Reducer reducing during backward; 0 when gradients are reduced after it. */
  private reducerBuckets = 0;
  private reducedInBackward = false;

  private constructor(
    readonly rank: number, readonly worldSize: number, readonly backend: DistBackend,
    /** Where the collectives' tensors live: the CPU for Gloo, this rank's GPU for NCCL. */
    readonly tensorDevice: string,
    /** The transport, as the native group describes it (Gloo's device, NCCL's version). */
    readonly transport: string,
    private readonly overlap: boolean,
  ) {
    this.localRanks = [rank];
  }

  get isMain(): boolean {
    return this.rank === 0;
  }

  /**
   * Joins the group (torch.distributed.init_process_group with the device's backend): blocks
   * until all ranks arrive at MASTER_ADDR:MASTER_PORT, where rank 0 serves the TCPStore.
   */
  static init(env: DistEnv, o: ProcessGroupOptions = {}): ProcessGroup {
    const timeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const device = o.device ?? 'cpu';
    const backend = backendFor(device);
    const built = native.distInfo().backends;
    if (!built.includes(backend)) {
      throw new Error(`training on ${device} across processes needs c10d's ${backend} backend, which this addon was built ` +
        `without (it has: ${built.length > 0 ? built.join(', ') : 'none'})` +
        (backend === 'nccl' ? '; build against a CUDA libtorch that has NCCL, with nccl.h findable ($NCCL_HOME/include)' : ''));
    }
    const transport = native.distInit(env.rank, env.worldSize, env.masterAddr, env.masterPort, timeout, backend);
    return new ProcessGroup(env.rank, env.worldSize, backend, backend === 'nccl' ? device : 'cpu', transport, o.overlap ?? true);
  }

  /** Whether gradients are reduced during backward (c10d::Reducer), known after wrapModel. */
  get overlapsBackward(): boolean {
    return this.reducerBuckets > 0;
  }

  /** Sums tensors over the ranks, in place (one flat buffer per dtype). */
  allReduce(tensors: readonly Tensor[]): void {
    this.check();
    if (tensors.length > 0) native.distAllReduce(tensors.map((t) => t.handle));
  }

  /** Copies `root`'s tensors to every rank, in place. */
  broadcast(tensors: readonly Tensor[], root = 0): void {
    this.check();
    if (tensors.length > 0) native.distBroadcast(tensors.map((t) => t.handle), root);
  }

  barrier(): void {
    this.check();
    native.distBarrier();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    native.distDestroy();
  }

  wrapModel(model: Module): void {
    this.check();
    this.broadcast(uniqueParameters(model).map((p) => p.tensor));
    const params = trainable(model);
    if (this.overlap && params.length > 0 && params.every((p) => p.tensor.device === this.tensorDevice)) {
      this.reducerBuckets = native.distReducerCreate(params.map((p) => p.tensor.handle), BUCKET_BYTES, FIRST_BUCKET_BYTES);
    }
  }

  backward(loss: Tensor, sync: boolean): void {
    this.check();
    if (this.reducerBuckets === 0 || !sync) {
      loss.backward();
      return;
    }
    native.distReducerPrepare([loss.handle]);
    this.reducedInBackward = true;
    try {
      loss.backward();
    } catch (e) {
      // The buckets' all-reduces run inside backward: a dead peer surfaces here.
      throw new Error(`gradient all-reduce (rank ${this.rank} of ${this.worldSize}) failed during backward: ${(e as Error).message}`);
    }
  }

  allReduceGradients(model: Module): void {
    if (this.reducedInBackward) {
      // The reducer has already replaced every used gradient by its mean.
      this.reducedInBackward = false;
      return;
    }
    const params = trainable(model);
    tidy(() => {
      // Which parameters have a gradient on some rank (a branch may see no input on one).
      const any = this.sumOnDevice(Float32Array.from(params, (p) => (p.tensor.grad === null ? 0 : 1)));
      const used = params.filter((_, i) => any[i] > 0);
      materialiseZeroGrads(used.filter((p) => p.tensor.grad === null));
      const grads = used.map((p) => p.tensor.grad!);
      this.allReduce(grads);
      for (const g of grads) g.mul_(1 / this.worldSize);
    });
  }

  averageScalars(values: readonly number[]): number[] {
    return Array.from(this.sumOnDevice(Float64Array.from(values)), (v) => v / this.worldSize);
  }

  gatherRows(local: ReadonlyMap<number, readonly number[]>, width: number): number[][] {
    // An all-gather as a sum: each rank fills its own row of zeros.
    const rows = new Float64Array(this.worldSize * width);
    for (const [rank, row] of local) {
      if (row.length !== width) throw new Error(`gatherRows: rank ${rank}'s row has ${row.length} values, expected ${width}`);
      rows.set(row, rank * width);
    }
    const all = this.sumOnDevice(rows);
    return Array.from({ length: this.worldSize }, (_, r) => Array.from(all.subarray(r * width, (r + 1) * width)));
  }

  /** Host values summed over the ranks, through a tensor on the collectives' device. */
  private sumOnDevice<A extends Float32Array | Float64Array>(values: A): A {
    return tidy(() => {
      const t = fromArray(values).to(this.tensorDevice);
      this.allReduce([t]);
      return t.to('cpu').data() as A;
    });
  }

  private check(): void {
    if (this.destroyed) throw new Error('the process group was destroyed');
  }
}

/**
 * One process standing in for `worldSize` ranks: it computes every rank's shard of each global
 * minibatch in turn (gradients accumulate) and divides the gradients by worldSize. The serial
 * definition of what ProcessGroup training computes.
 */
export class SerialGroup implements DistributedTraining {
  readonly rank = 0;
  readonly isMain = true;
  readonly localRanks: readonly number[];

  constructor(readonly worldSize: number) {
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new Error(`world size must be a positive integer, got ${worldSize}`);
    this.localRanks = Array.from({ length: worldSize }, (_, r) => r);
  }

  wrapModel(): void {}

  backward(loss: Tensor): void {
    loss.backward();
  }

  allReduceGradients(model: Module): void {
    tidy(() => {
      for (const p of trainable(model)) p.tensor.grad?.mul_(1 / this.worldSize);
    });
  }

  averageScalars(values: readonly number[]): number[] {
    return [...values];
  }

  gatherRows(local: ReadonlyMap<number, readonly number[]>, width: number): number[][] {
    return this.localRanks.map((r) => {
      const row = local.get(r);
      if (row === undefined || row.length !== width) throw new Error(`gatherRows: no row of ${width} values for rank ${r}`);
      return [...row];
    });
  }

  barrier(): void {}
  destroy(): void {}
}

/** Joins the group described by torchrun's variables (or `env`). */
export function initProcessGroup(env: DistEnv | null = null, o: ProcessGroupOptions = {}): ProcessGroup {
  const e = env ?? distEnvFromProcess();
  if (e === null) throw new Error('initProcessGroup: $WORLD_SIZE is not set');
  return ProcessGroup.init(e, o);
}

/**
 * Per-part loss records averaged over ranks, key by key (the keys are the model's, the same on
 * every rank; a key missing on this rank counts as 0).
 */
export function averageRecords(
  group: DistributedTraining, parts: ReadonlyArray<Record<string, number>>,
): Array<Record<string, number>> {
  if (group.localRanks.length === group.worldSize) return parts.map((p) => ({ ...p }));
  const keys = [...new Set(parts.flatMap((p) => Object.keys(p)))].sort();
  const flat = parts.flatMap((p) => keys.map((k) => p[k] ?? 0));
  const mean = group.averageScalars(flat);
  return parts.map((p, i) => Object.fromEntries(keys.flatMap((k, j) => (k in p ? [[k, mean[i * keys.length + j]]] : []))));
}
