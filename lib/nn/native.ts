/**
 * Loads the libtorch addon built from native/ (scripts/build_native.js) and types its
 * flat functions. Everything above this file goes through `Tensor` (tensor.ts); only the
 * tensor layer and the kernel wrappers call the addon directly.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** A libtorch tensor owned by a JS object (native/src/tensor_handle.h). */
export interface NativeTensor {
  dispose(): void;
  isDisposed(): boolean;
  shape(): number[];
  dtype(): number;
  device(): string;
  toArrayBuffer(): ArrayBuffer;
  item(): number | boolean;
  requiresGrad(): boolean;
  setRequiresGrad(flag: boolean): void;
  grad(): NativeTensor | null;
  zeroGrad(): void;
  backward(gradient?: NativeTensor, retainGraph?: boolean): void;
  bytes(): number;
}

type T = NativeTensor;
type Operand = NativeTensor | number | boolean;
type Pair = [NativeTensor, NativeTensor];

export interface NativeInfo {
  torchVersion: string;
  config: string;
  parallel: string;
  cuda: boolean;
  cudnn: boolean;
  cudaDevices: number;
  threads: number;
  kernelsCuda: boolean;
}

/** c10d's collectives backends: Gloo for CPU tensors, NCCL for CUDA tensors. */
export type DistBackend = 'gloo' | 'nccl';

export interface NativeAddon {
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number, copy: boolean): T;
  empty(shape: number[], dtype: number, device: string): T;
  zeros(shape: number[], dtype: number, device: string): T;
  ones(shape: number[], dtype: number, device: string): T;
  full(shape: number[], dtype: number, device: string, value: number | boolean): T;
  scalarTensor(value: number | boolean, dtype: number, device: string): T;
  arange(start: number, end: number, step: number, dtype: number, device: string): T;
  rand(shape: number[], dtype: number, device: string): T;
  randn(shape: number[], dtype: number, device: string): T;
  randint(low: number, high: number, shape: number[], dtype: number, device: string): T;
  randperm(n: number, dtype: number, device: string): T;
  manualSeed(seed: number): void;
  getRngState(): T;
  setRngState(state: T): void;

  to(t: T, device: string, dtype: number, copy: boolean): T;
  clone(t: T): T;
  contiguous(t: T, channelsLast?: boolean): T;
  isChannelsLast(t: T): boolean;
  detach(t: T): T;
  isContiguous(t: T): boolean;

  reshape(t: T, shape: number[]): T;
  permute(t: T, dims: number[]): T;
  transpose(t: T, d0: number, d1: number): T;
  squeeze(t: T, dim?: number): T;
  unsqueeze(t: T, dim: number): T;
  expand(t: T, shape: number[]): T;
  flatten(t: T, start: number, end: number): T;
  narrow(t: T, dim: number, start: number, length: number): T;
  slice(t: T, dim: number, start: number, end: number, step: number): T;
  select(t: T, dim: number, index: number): T;
  cat(ts: T[], dim: number): T;
  stack(ts: T[], dim: number): T;
  split(t: T, sizes: number | number[], dim: number): T[];
  flip(t: T, dims: number[]): T;
  repeat(t: T, repeats: number[]): T;

  indexSelect(t: T, dim: number, index: T): T;
  gather(t: T, dim: number, index: T): T;
  scatter(t: T, dim: number, index: T, src: T): T;
  scatterAdd(t: T, dim: number, index: T, src: T): T;
  maskedSelect(t: T, mask: T): T;
  maskedFill(t: T, mask: T, value: number | boolean): T;
  nonzero(t: T): T;
  where(cond: T, a: T, b: T): T;
  index(t: T, indices: Array<T | null>): T;
  indexPut(t: T, indices: Array<T | null>, values: T, accumulate: boolean): T;

  copy_(dst: T, src: T): void;
  fill_(t: T, value: number | boolean): void;
  normal_(t: T, mean: number, std: number): void;
  uniform_(t: T, low: number, high: number): void;
  add_(t: T, other: T, alpha: number): void;
  mul_(t: T, other: Operand): void;

  add(a: T, b: Operand): T;
  sub(a: T, b: Operand): T;
  mul(a: T, b: Operand): T;
  div(a: T, b: Operand): T;
  pow(a: T, b: Operand): T;
  maximum(a: T, b: Operand): T;
  minimum(a: T, b: Operand): T;
  eq(a: T, b: Operand): T;
  ne(a: T, b: Operand): T;
  lt(a: T, b: Operand): T;
  le(a: T, b: Operand): T;
  gt(a: T, b: Operand): T;
  ge(a: T, b: Operand): T;
  logicalAnd(a: T, b: T): T;
  logicalOr(a: T, b: T): T;
  matmul(a: T, b: T): T;
  neg(t: T): T;
  abs(t: T): T;
  exp(t: T): T;
  log(t: T): T;
  sqrt(t: T): T;
  floor(t: T): T;
  ceil(t: T): T;
  round(t: T): T;
  sigmoid(t: T): T;
  tanh(t: T): T;
  relu(t: T): T;
  relu_(t: T): void;
  addcmul(self: T, t1: T, t2: T): T;
  logicalNot(t: T): T;
  isfinite(t: T): T;
  clamp(t: T, min: number | null, max: number | null): T;

  sum(t: T, dims?: number[], keepdim?: boolean): T;
  mean(t: T, dims?: number[], keepdim?: boolean): T;
  amax(t: T, dims?: number[], keepdim?: boolean): T;
  amin(t: T, dims?: number[], keepdim?: boolean): T;
  any(t: T): T;
  all(t: T): T;
  maxDim(t: T, dim: number, keepdim: boolean): Pair;
  minDim(t: T, dim: number, keepdim: boolean): Pair;
  argmax(t: T, dim?: number, keepdim?: boolean): T;
  cumsum(t: T, dim: number): T;
  sort(t: T, dim: number, descending: boolean, stable: boolean): Pair;
  topk(t: T, k: number, dim: number, largest: boolean, sorted: boolean): Pair;

  conv2d(x: T, w: T, b: T | null, stride: number[], padding: number[], dilation: number[], groups: number): T;
  convTranspose2d(
    x: T, w: T, b: T | null, stride: number[], padding: number[], outputPadding: number[], groups: number,
    dilation: number[],
  ): T;
  linear(x: T, w: T, b: T | null): T;
  softmax(t: T, dim: number): T;
  logSoftmax(t: T, dim: number): T;
  maxPool2d(x: T, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean): T;
  avgPool2d(x: T, kernel: number[], stride: number[], padding: number[], ceilMode: boolean, countIncludePad: boolean): T;
  upsampleNearest2d(x: T, size: number[]): T;
  upsampleBilinear2d(x: T, size: number[], alignCorners: boolean): T;
  groupNorm(x: T, groups: number, weight: T | null, bias: T | null, eps: number): T;
  bceWithLogits(logits: T, targets: T, weight: T | null, reduction: string): T;
  nllLoss(logProbs: T, targets: T, weight: T | null, reduction: string, ignoreIndex: number): T;

  setNumThreads(n: number): void;
  getNumThreads(): number;
  setGradEnabled(enabled: boolean): void;
  isGradEnabled(): boolean;
  enterInferenceMode(): void;
  exitInferenceMode(): void;
  /** torch.autocast scopes (lib/nn/amp.ts): deviceType 'cpu' | 'cuda', a float16/bfloat16 dtype code. */
  autocastEnter(deviceType: string, dtypeCode: number): void;
  autocastExit(): void;
  setCudnnBenchmark(enabled: boolean): void;
  cudaMemory(device: number): { allocated: number; peakAllocated: number; reserved: number };
  resetCudaPeakMemory(device: number): void;
  info(): NativeInfo;

  // c10d process group, Gloo or NCCL (native/src/distributed.cc); one per process.
  distInit(rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number, backend: DistBackend): string;
  distAllReduce(tensors: T[]): void;
  distBroadcast(tensors: T[], root: number): void;
  distBarrier(): void;
  distDestroy(): void;
  distInfo(): {
    available: boolean; backends: DistBackend[]; initialized: boolean; rank: number; worldSize: number;
    backend: DistBackend | ''; device: string; reducer: boolean;
  };
  /** DDP's c10d::Reducer over `params`; returns its bucket count (0 when this libtorch's Reducer is not bound). */
  distReducerCreate(params: T[], bucketBytes: number, firstBucketBytes: number): number;
  /** Makes the next backward from `outputs` all-reduce gradients bucket by bucket. */
  distReducerPrepare(outputs: T[]): void;
}

/** The package root: the nearest folder upwards holding detectron-ts's package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'detectron-ts') {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find detectron-ts's package.json above ${__dirname}`);
    dir = parent;
  }
}

export function addonPath(): string {
  return path.join(packageRoot(), 'build', 'native', 'Release', 'detectron_native.node');
}

/** Environment variable read when no --threads is given. */
export const THREADS_ENV = 'DETECTRON_THREADS';

/** Intra-op threads unless told otherwise: $DETECTRON_THREADS, else every core. */
export function defaultThreads(): number {
  const fromEnv = process.env[THREADS_ENV];
  if (fromEnv === undefined || fromEnv === '') return os.cpus().length;
  const n = Number(fromEnv);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${THREADS_ENV} must be a positive integer, got '${fromEnv}'`);
  return n;
}

function load(): NativeAddon {
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new Error(`the native addon is not built (${file} is missing); run: npm run build:native`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(file) as NativeAddon;
  // libtorch alone uses the physical core count (1 on a 2-vCPU VM).
  addon.setNumThreads(defaultThreads());
  return addon;
}

export const native: NativeAddon = load();
