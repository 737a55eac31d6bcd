/**
 * Tensors: a thin TypeScript face over libtorch tensors in the native addon. Every
 * operation returns a new Tensor (in-place ones end in `_`). Tensors live until
 * `dispose()` or the end of the enclosing `tidy()` scope (scope.ts).
 */
import { arrayOfTensorDType, checkDevice, Device, DType, dtypeCode, dtypeFromCode, dtypeOfArray, isReducedFloat, TensorDType, TypedArray } from './dtype';
import { native, NativeTensor } from './native';
import { tidy, track } from './scope';
import { numel as shapeNumel } from '../utils/ndarray';

/** A second operand: a tensor, or a number or boolean broadcast against the first. */
export type Operand = Tensor | number | boolean;

export interface CreateOptions {
  dtype?: TensorDType;
  device?: Device | string;
}

function raw(x: Operand): NativeTensor | number | boolean {
  return x instanceof Tensor ? x.handle : x;
}

export class Tensor {
  private shapeCache: number[] | null = null;

  /** Wraps a native handle; the new tensor joins the innermost open scope. */
  constructor(readonly handle: NativeTensor) {
    track(this);
  }

  // ---- properties -------------------------------------------------------------------
  get shape(): number[] {
    if (this.shapeCache === null) this.shapeCache = this.handle.shape();
    return this.shapeCache.slice();
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return shapeNumel(this.shape);
  }
  size(dim: number): number {
    const shape = this.shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) throw new RangeError(`dim ${dim} out of range for a ${shape.length}-d tensor`);
    return shape[d];
  }
  get dtype(): TensorDType {
    return dtypeFromCode(this.handle.dtype());
  }
  get device(): string {
    return this.handle.device();
  }
  get isDisposed(): boolean {
    return this.handle.isDisposed();
  }
  dispose(): void {
    this.handle.dispose();
  }

  // ---- reading values -----------------------------------------------------------------
  /** A copy of the values in row-major order (bool as 0/1 bytes). */
  data(): TypedArray {
    return arrayOfTensorDType(this.dtype, this.handle.toArrayBuffer());
  }
  /** The values as JS numbers (int64 converted; exact up to 2^53). */
  toNumbers(): number[] {
    const d = this.data();
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d);
  }
  item(): number {
    return Number(this.handle.item());
  }

  // ---- conversion ---------------------------------------------------------------------
  to(target: TensorDType | Device | string, copy = false): Tensor {
    const isDevice = target === 'cpu' || target.startsWith('cuda');
    const device = isDevice ? checkDevice(target) : this.device;
    const dtype = isDevice ? this.dtype : (target as TensorDType);
    return new Tensor(native.to(this.handle, device, dtypeCode(dtype), copy));
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  clone(): Tensor {
    return new Tensor(native.clone(this.handle));
  }
  /** A row-major copy (or this tensor's data when already so); 'channels_last' for NHWC memory. */
  contiguous(format: 'contiguous' | 'channels_last' = 'contiguous'): Tensor {
    return new Tensor(native.contiguous(this.handle, format === 'channels_last'));
  }
  get isChannelsLast(): boolean {
    return native.isChannelsLast(this.handle);
  }
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }
  get isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }

  // ---- shapes -------------------------------------------------------------------------
  reshape(...shape: number[] | [number[]]): Tensor {
    const dims = Array.isArray(shape[0]) ? shape[0] : (shape as number[]);
    return new Tensor(native.reshape(this.handle, dims));
  }
  view(...shape: number[] | [number[]]): Tensor {
    return this.reshape(...shape);
  }
  permute(...dims: number[]): Tensor {
    return new Tensor(native.permute(this.handle, dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return new Tensor(native.transpose(this.handle, d0, d1));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, dim));
  }
  expand(...shape: number[]): Tensor {
    return new Tensor(native.expand(this.handle, shape));
  }
  flatten(start = 0, end = -1): Tensor {
    return new Tensor(native.flatten(this.handle, start, end));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.handle, dim, start, length));
  }
  /** Elements start..end (exclusive) with a step along `dim`, like Python's slicing. */
  slice(dim: number, start: number, end: number, step = 1): Tensor {
    return new Tensor(native.slice(this.handle, dim, start, end, step));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.handle, dim, index));
  }
  split(sizes: number | number[], dim = 0): Tensor[] {
    return native.split(this.handle, sizes, dim).map((h) => new Tensor(h));
  }
  flip(...dims: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dims));
  }
  repeat(...repeats: number[]): Tensor {
    return new Tensor(native.repeat(this.handle, repeats));
  }

  // ---- indexing -----------------------------------------------------------------------
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatter(this.handle, dim, index.handle, src.handle));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatterAdd(this.handle, dim, index.handle, src.handle));
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.maskedSelect(this.handle, mask.handle));
  }
  maskedFill(mask: Tensor, value: number | boolean): Tensor {
    return new Tensor(native.maskedFill(this.handle, mask.handle, value));
  }
  /** Indices of non-zero elements, N×ndim int64. */
  nonzero(): Tensor {
    return new Tensor(native.nonzero(this.handle));
  }
  /** Advanced indexing along the leading dimensions; null keeps a dimension whole. */
  index(...indices: Array<Tensor | null>): Tensor {
    return new Tensor(native.index(this.handle, indices.map((t) => (t === null ? null : t.handle))));
  }
  /** A copy with `values` written (or added, with accumulate) at `indices`. */
  indexPut(indices: Array<Tensor | null>, values: Tensor, accumulate = false): Tensor {
    const idx = indices.map((t) => (t === null ? null : t.handle));
    return new Tensor(native.indexPut(this.handle, idx, values.handle, accumulate));
  }

  // ---- elementwise ----------------------------------------------------------------------
  add(other: Operand): Tensor {
    return new Tensor(native.add(this.handle, raw(other)));
  }
  sub(other: Operand): Tensor {
    return new Tensor(native.sub(this.handle, raw(other)));
  }
  mul(other: Operand): Tensor {
    return new Tensor(native.mul(this.handle, raw(other)));
  }
  div(other: Operand): Tensor {
    return new Tensor(native.div(this.handle, raw(other)));
  }
  pow(other: Operand): Tensor {
    return new Tensor(native.pow(this.handle, raw(other)));
  }
  maximum(other: Operand): Tensor {
    return new Tensor(native.maximum(this.handle, raw(other)));
  }
  minimum(other: Operand): Tensor {
    return new Tensor(native.minimum(this.handle, raw(other)));
  }
  eq(other: Operand): Tensor {
    return new Tensor(native.eq(this.handle, raw(other)));
  }
  ne(other: Operand): Tensor {
    return new Tensor(native.ne(this.handle, raw(other)));
  }
  lt(other: Operand): Tensor {
    return new Tensor(native.lt(this.handle, raw(other)));
  }
  le(other: Operand): Tensor {
    return new Tensor(native.le(this.handle, raw(other)));
  }
  gt(other: Operand): Tensor {
    return new Tensor(native.gt(this.handle, raw(other)));
  }
  ge(other: Operand): Tensor {
    return new Tensor(native.ge(this.handle, raw(other)));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(native.logicalAnd(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(native.logicalOr(this.handle, other.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(native.logicalNot(this.handle));
  }
  matmul(other: Tensor): Tensor {
    return new Tensor(native.matmul(this.handle, other.handle));
  }
  neg(): Tensor {
    return new Tensor(native.neg(this.handle));
  }
  abs(): Tensor {
    return new Tensor(native.abs(this.handle));
  }
  exp(): Tensor {
    return new Tensor(native.exp(this.handle));
  }
  log(): Tensor {
    return new Tensor(native.log(this.handle));
  }
  sqrt(): Tensor {
    return new Tensor(native.sqrt(this.handle));
  }
  floor(): Tensor {
    return new Tensor(native.floor(this.handle));
  }
  ceil(): Tensor {
    return new Tensor(native.ceil(this.handle));
  }
  /** Round half to even, like numpy and libtorch. */
  round(): Tensor {
    return new Tensor(native.round(this.handle));
  }
  sigmoid(): Tensor {
    return new Tensor(native.sigmoid(this.handle));
  }
  tanh(): Tensor {
    return new Tensor(native.tanh(this.handle));
  }
  relu(): Tensor {
    return new Tensor(native.relu(this.handle));
  }
  /** ReLU in place: only on temporaries nothing else reads. */
  relu_(): this {
    native.relu_(this.handle);
    return this;
  }
  /** this + t1 · t2 in one pass. */
  addcmul(t1: Tensor, t2: Tensor): Tensor {
    return new Tensor(native.addcmul(this.handle, t1.handle, t2.handle));
  }
  isfinite(): Tensor {
    return new Tensor(native.isfinite(this.handle));
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return new Tensor(native.clamp(this.handle, min, max));
  }
  softmax(dim: number): Tensor {
    return new Tensor(native.softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(native.logSoftmax(this.handle, dim));
  }

  // ---- reductions ---------------------------------------------------------------------
  sum(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(dims === undefined ? native.sum(this.handle) : native.sum(this.handle, asDims(dims), keepdim));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(dims === undefined ? native.mean(this.handle) : native.mean(this.handle, asDims(dims), keepdim));
  }
  /** Largest value over all elements, or over `dims`. */
  amax(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(dims === undefined ? native.amax(this.handle) : native.amax(this.handle, asDims(dims), keepdim));
  }
  amin(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(dims === undefined ? native.amin(this.handle) : native.amin(this.handle, asDims(dims), keepdim));
  }
  /** Largest values along `dim` and their indices. */
  max(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = native.maxDim(this.handle, dim, keepdim);
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }
  min(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = native.minDim(this.handle, dim, keepdim);
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(dim === undefined ? native.argmax(this.handle) : native.argmax(this.handle, dim, keepdim));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(native.cumsum(this.handle, dim));
  }
  any(): Tensor {
    return new Tensor(native.any(this.handle));
  }
  all(): Tensor {
    return new Tensor(native.all(this.handle));
  }
  /** Sorted values and their indices; `stable` keeps the order of equal elements. */
  sort(dim = -1, descending = false, stable = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = native.sort(this.handle, dim, descending, stable);
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }
  argsort(dim = -1, descending = false, stable = false): Tensor {
    const [values, indices] = native.sort(this.handle, dim, descending, stable);
    values.dispose();
    return new Tensor(indices);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = native.topk(this.handle, k, dim, largest, sorted);
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }

  // ---- autograd -----------------------------------------------------------------------
  get requiresGrad(): boolean {
    return this.handle.requiresGrad();
  }
  requiresGrad_(flag = true): this {
    this.handle.setRequiresGrad(flag);
    return this;
  }
  /** The accumulated gradient, or null before any backward pass reached this tensor. */
  get grad(): Tensor | null {
    const g = this.handle.grad();
    return g === null ? null : new Tensor(g);
  }
  zeroGrad(): void {
    this.handle.zeroGrad();
  }
  backward(gradient?: Tensor, retainGraph = false): void {
    this.handle.backward(gradient?.handle, retainGraph);
  }

  // ---- in place (optimizers, initialisers) ----------------------------------------------------
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  fill_(value: number | boolean): this {
    native.fill_(this.handle, value);
    return this;
  }
  normal_(mean: number, std: number): this {
    native.normal_(this.handle, mean, std);
    return this;
  }
  uniform_(low: number, high: number): this {
    native.uniform_(this.handle, low, high);
    return this;
  }
  /** this += alpha * other */
  add_(other: Tensor, alpha = 1): this {
    native.add_(this.handle, other.handle, alpha);
    return this;
  }
  mul_(other: Operand): this {
    native.mul_(this.handle, raw(other) as NativeTensor | number);
    return this;
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }
}

function asDims(dims: number | number[]): number[] {
  return Array.isArray(dims) ? dims : [dims];
}

function opts(options: CreateOptions | undefined, fallback: DType = 'float32'): [number, string] {
  return [dtypeCode(options?.dtype ?? fallback), checkDevice(options?.device ?? 'cpu')];
}

/**
 * A tensor over a typed array's values. On CPU the tensor shares the array's memory and
 * keeps it alive (no copy), like torch.from_numpy; pass `copy: true` for an independent
 * tensor. Shared-memory arrays are always copied.
 */
export function fromArray(
  data: TypedArray,
  shape: number[] = [data.length],
  options: { dtype?: DType; device?: Device | string; copy?: boolean } = {},
): Tensor {
  const dtype = options.dtype ?? dtypeOfArray(data);
  const n = shapeNumel(shape);
  if (n !== data.length) throw new RangeError(`${data.length} values cannot fill shape [${shape.join(', ')}]`);
  const shared = typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
  const device = checkDevice(options.device ?? 'cpu');
  if (dtype === 'bool') {
    // libtorch assumes bool bytes are 0 or 1; any other byte value must be normalised.
    const bytes = fromArray(data, shape, { dtype: 'uint8', copy: true });
    const flags = bytes.ne(0);
    bytes.dispose();
    if (device === 'cpu') return flags;
    const moved = flags.to(device);
    flags.dispose();
    return moved;
  }
  const copy = (options.copy ?? false) || shared;
  const t = new Tensor(native.fromBuffer(data, shape, dtypeCode(dtype), copy || device !== 'cpu'));
  if (device === 'cpu') return t;
  const moved = t.to(device);
  t.dispose();
  return moved;
}

/** A tensor from JS numbers (float32 unless a dtype is given). */
export function tensor(values: number[] | number, shape?: number[], options: CreateOptions = {}): Tensor {
  const list = Array.isArray(values) ? values : [values];
  const dims = shape ?? (Array.isArray(values) ? [list.length] : []);
  const dtype = options.dtype ?? 'float32';
  let data: TypedArray;
  switch (dtype) {
    case 'float64':
      data = Float64Array.from(list);
      break;
    case 'int32':
      data = Int32Array.from(list);
      break;
    case 'int64':
      data = BigInt64Array.from(list, (v) => BigInt(Math.trunc(v)));
      break;
    case 'uint8':
    case 'bool':
      data = Uint8Array.from(list);
      break;
    default:
      data = Float32Array.from(list);
  }
  // Reduced-precision floats are made in float32, then converted.
  if (isReducedFloat(dtype)) return tidy(() => fromArray(data, dims, { device: options.device, copy: true }).to(dtype));
  return fromArray(data, dims, { dtype, device: options.device, copy: true });
}

export function zeros(shape: number[], options?: CreateOptions): Tensor {
  return new Tensor(native.zeros(shape, ...opts(options)));
}
export function ones(shape: number[], options?: CreateOptions): Tensor {
  return new Tensor(native.ones(shape, ...opts(options)));
}
export function empty(shape: number[], options?: CreateOptions): Tensor {
  return new Tensor(native.empty(shape, ...opts(options)));
}
export function full(shape: number[], value: number | boolean, options?: CreateOptions): Tensor {
  const [dtype, device] = opts(options);
  return new Tensor(native.full(shape, dtype, device, value));
}
/** start, start+step, ... below end; int64 unless a dtype is given. */
export function arange(start: number, end: number, step = 1, options?: CreateOptions): Tensor {
  return new Tensor(native.arange(start, end, step, ...opts(options, 'int64')));
}
export function rand(shape: number[], options?: CreateOptions): Tensor {
  return new Tensor(native.rand(shape, ...opts(options)));
}
export function randn(shape: number[], options?: CreateOptions): Tensor {
  return new Tensor(native.randn(shape, ...opts(options)));
}
export function randint(low: number, high: number, shape: number[], options?: CreateOptions): Tensor {
  return new Tensor(native.randint(low, high, shape, ...opts(options, 'int64')));
}
export function randperm(n: number, options?: CreateOptions): Tensor {
  return new Tensor(native.randperm(n, ...opts(options, 'int64')));
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(tensors.map((t) => t.handle), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(tensors.map((t) => t.handle), dim));
}
export function where(condition: Tensor, a: Tensor, b: Tensor): Tensor {
  return new Tensor(native.where(condition.handle, a.handle, b.handle));
}
/** Seeds libtorch's default generators. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
/** The CPU generator's state (a uint8 tensor), to save with a checkpoint. */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}
