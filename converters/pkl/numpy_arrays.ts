/**
 * numpy's pickle protocol for dtypes and arrays, rebuilt as NdArrays.
 *
 * An ndarray pickles as `_reconstruct(ndarray, (0,), 'b')` followed by BUILD with the state
 * `(version, shape, dtype, is_fortran, rawdata)`; a dtype as `dtype('f4', False, True)` followed
 * by BUILD with `(3, '<', None, None, None, -1, -1, 0)`; a scalar as `scalar(dtype, rawbytes)`;
 * protocol 5 uses `_frombuffer(buffer, dtype, shape, order)`. Only plain numeric dtypes are
 * accepted; results are always C order, native (little-endian) byte order.
 */
import { numel, type DType, type NdArray, type TypedArray } from '../../lib/utils/ndarray';
import { NumpyArray, NumpyDType, PyTuple, asBytes, asText, describe, latin1Text, type PyValue } from './python_objects';

/** Reports a problem at the current instruction; never returns. */
export type Fail = (detail: string) => never;

/**
 * Tracks which payload buffers already back an array, so that a payload referenced twice
 * (through the memo) is copied rather than shared between two blobs.
 */
export type ClaimedBuffers = WeakSet<ArrayBufferLike>;

const DESCRS: Readonly<Record<string, { dtype: DType; itemsize: number }>> = {
  f4: { dtype: 'float32', itemsize: 4 },
  f8: { dtype: 'float64', itemsize: 8 },
  i4: { dtype: 'int32', itemsize: 4 },
  i8: { dtype: 'int64', itemsize: 8 },
  u1: { dtype: 'uint8', itemsize: 1 },
  b1: { dtype: 'bool', itemsize: 1 },
};

const SUPPORTED = Object.keys(DESCRS).join(', ');

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('converters/pkl: a little-endian host is required');
}

type ByteOrderChar = '<' | '>' | '|' | '=';

function isByteOrder(c: string): c is ByteOrderChar {
  return c === '<' || c === '>' || c === '|' || c === '=';
}

/** '=' means the reader's native order; this code only runs on little-endian hosts. */
function normalizeOrder(c: ByteOrderChar): '<' | '>' | '|' {
  return c === '=' ? '<' : c;
}

/** numpy.dtype(descr, align, copy) as REDUCE calls it. */
export function makeDType(args: readonly PyValue[], fail: Fail): NumpyDType {
  if (args.length < 1 || args.length > 3) fail(`numpy.dtype expects 1 to 3 arguments, got ${args.length}`);
  const raw = asText(args[0]) ?? (args[0] instanceof Uint8Array ? latin1Text(args[0]) : undefined);
  if (raw === undefined) fail(`numpy.dtype: expected a type string such as 'f4', got ${describe(args[0])}`);
  let descr = raw;
  let order: '<' | '>' | '|' = '|';
  if (descr.length > 0 && isByteOrder(descr[0])) {
    order = normalizeOrder(descr[0]);
    descr = descr.slice(1);
  }
  const known = DESCRS[descr];
  if (known === undefined) fail(`unsupported numpy dtype '${raw}' (supported: ${SUPPORTED})`);
  if (known.itemsize === 1) order = '|';
  else if (order === '|') order = '<';
  return new NumpyDType(descr, known.dtype, known.itemsize, order);
}

/**
 * BUILD on a dtype: state (version, byteorder, subarray, names, fields, elsize, alignment,
 * flags[, metadata]) as numpy has written since version 3. Structured and sub-array dtypes are
 * refused.
 */
export function setDTypeState(dt: NumpyDType, state: PyValue, fail: Fail): void {
  if (!(state instanceof PyTuple)) fail(`numpy.dtype state must be a tuple, got ${describe(state)}`);
  const s = state.items;
  if (s.length !== 8 && s.length !== 9) fail(`unsupported numpy.dtype state: a ${s.length}-tuple (expected 8 or 9 items)`);
  const order = asText(s[1]);
  if (order === undefined || order.length !== 1 || !isByteOrder(order)) {
    fail(`numpy.dtype state: byte order must be one of < > | =, got ${order === undefined ? describe(s[1]) : `'${order}'`}`);
  }
  if (s[2] !== null || s[3] !== null || s[4] !== null) {
    fail(`numpy.dtype '${dt.descr}': structured or sub-array dtypes are not supported`);
  }
  const normalized = normalizeOrder(order);
  if (dt.itemsize > 1) dt.byteOrder = normalized === '|' ? '<' : normalized;
}

function shapeOf(value: PyValue, fail: Fail): number[] {
  const items = value instanceof PyTuple ? value.items : Array.isArray(value) ? value : undefined;
  if (items === undefined) fail(`array shape must be a tuple, got ${describe(value)}`);
  return items.map((d) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(`array shape entries must be non-negative ints, got ${typeof d === 'number' ? d : describe(d)}`);
    }
    return d;
  });
}

/**
 * BUILD on an ndarray: state (version, shape, dtype, is_fortran, rawdata) or, from old numpy,
 * (shape, dtype, is_fortran, rawdata).
 */
export function setArrayState(target: NumpyArray, state: PyValue, claimed: ClaimedBuffers, fail: Fail): void {
  if (target.array !== null) fail('numpy.ndarray state set twice');
  if (!(state instanceof PyTuple)) fail(`numpy.ndarray state must be a tuple, got ${describe(state)}`);
  const s = state.items.length === 5 ? state.items.slice(1) : state.items;
  if (s.length !== 4) fail(`unsupported numpy.ndarray state: a ${state.items.length}-tuple (expected 4 or 5 items)`);
  const [shapeValue, dt, fortran, raw] = s;
  if (!(dt instanceof NumpyDType)) fail(`numpy.ndarray state: expected a dtype, got ${describe(dt)}`);
  if (typeof fortran !== 'boolean' && fortran !== 0 && fortran !== 1) {
    fail(`numpy.ndarray state: is_fortran must be a bool, got ${describe(fortran)}`);
  }
  const data = asBytes(raw) ?? (typeof raw === 'string' ? latin1Payload(raw, fail) : undefined);
  if (data === undefined) {
    fail(`numpy.ndarray state: expected the raw data as bytes, got ${describe(raw)} (object arrays are not supported)`);
  }
  target.array = arrayFromBytes(data, dt, shapeOf(shapeValue, fail), fortran === true || fortran === 1, claimed, fail);
}

/**
 * Under Python 3 with encoding='latin1', a Python 2 str holding array bytes arrives as text;
 * numpy's setstate encodes it back to latin1. We only meet this for hand-made pickles (our
 * reader keeps Python 2 strs as bytes) but accept it the same way.
 */
function latin1Payload(text: string, fail: Fail): Uint8Array {
  const out = Buffer.from(text, 'latin1');
  if (out.length !== text.length || /[^\u0000-\u00ff]/.test(text)) fail('numpy.ndarray state: raw data text is not latin-1');
  return new Uint8Array(out);
}

/** `scalar(dtype, rawbytes)`: a 0-d array. */
export function makeScalar(args: readonly PyValue[], claimed: ClaimedBuffers, fail: Fail): NumpyArray {
  if (args.length !== 2) fail(`numpy scalar expects 2 arguments, got ${args.length}`);
  const [dt, raw] = args;
  if (!(dt instanceof NumpyDType)) fail(`numpy scalar: expected a dtype, got ${describe(dt)}`);
  const data = asBytes(raw);
  if (data === undefined) fail(`numpy scalar: expected raw bytes, got ${describe(raw)} (object scalars are not supported)`);
  return new NumpyArray(arrayFromBytes(data, dt, [], false, claimed, fail));
}

/** Protocol 5's `_frombuffer(buffer, dtype, shape, order)`. */
export function fromBuffer(args: readonly PyValue[], claimed: ClaimedBuffers, fail: Fail): NumpyArray {
  if (args.length !== 4) fail(`numpy _frombuffer expects 4 arguments, got ${args.length}`);
  const [buf, dt, shapeValue, orderValue] = args;
  const data = asBytes(buf);
  if (data === undefined) fail(`numpy _frombuffer: expected a bytes-like buffer, got ${describe(buf)}`);
  if (!(dt instanceof NumpyDType)) fail(`numpy _frombuffer: expected a dtype, got ${describe(dt)}`);
  const order = asText(orderValue);
  if (order !== 'C' && order !== 'F') fail(`numpy _frombuffer: order must be 'C' or 'F', got ${String(order ?? describe(orderValue))}`);
  return new NumpyArray(arrayFromBytes(data, dt, shapeOf(shapeValue, fail), order === 'F', claimed, fail));
}

/**
 * Raw element bytes to a C-order, native-order NdArray. Little-endian C-order data is used in
 * place when its buffer is aligned and not already claimed; anything else costs one copy.
 */
export function arrayFromBytes(
  raw: Uint8Array,
  dt: NumpyDType,
  shape: number[],
  fortran: boolean,
  claimed: ClaimedBuffers,
  fail: Fail,
): NdArray {
  const count = numel(shape);
  if (!Number.isSafeInteger(count * dt.itemsize)) fail(`array shape (${shape.join(', ')}) is too large`);
  if (raw.length !== count * dt.itemsize) {
    fail(
      `array data is ${raw.length} bytes but shape (${shape.join(', ')}) of ${dt.descr} ` +
        `needs ${count * dt.itemsize}`,
    );
  }
  const swap = dt.byteOrder === '>' && dt.itemsize > 1;
  const reorder = fortran && shape.length > 1;
  let bytes: Uint8Array;
  if (!swap && !reorder && raw.byteOffset % dt.itemsize === 0 && !claimed.has(raw.buffer)) {
    bytes = raw;
  } else if (reorder) {
    bytes = fortranToC(raw, shape, dt.itemsize, swap);
  } else {
    bytes = raw.slice();
    if (swap) swapBytes(bytes, dt.itemsize);
  }
  claimed.add(bytes.buffer);
  return { dtype: dt.dtype, shape, data: typedView(bytes, dt.dtype, count) };
}

function typedView(bytes: Uint8Array, dtype: DType, count: number): TypedArray {
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, count);
    case 'float64':
      return new Float64Array(buffer, byteOffset, count);
    case 'int32':
      return new Int32Array(buffer, byteOffset, count);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, count);
  }
}

function swapBytes(bytes: Uint8Array, itemsize: number): void {
  for (let i = 0; i < bytes.length; i += itemsize) {
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Copies Fortran-order elements into C order (and to little-endian when `swap`). */
function fortranToC(raw: Uint8Array, shape: readonly number[], itemsize: number, swap: boolean): Uint8Array {
  const out = new Uint8Array(raw.length);
  const ndim = shape.length;
  const fstride: number[] = new Array<number>(ndim);
  let s = itemsize;
  for (let d = 0; d < ndim; d++) {
    fstride[d] = s;
    s *= shape[d];
  }
  const index = new Array<number>(ndim).fill(0);
  const count = numel(shape);
  let src = 0;
  for (let i = 0; i < count; i++) {
    const dst = i * itemsize;
    for (let b = 0; b < itemsize; b++) out[dst + b] = raw[src + (swap ? itemsize - 1 - b : b)];
    // Advance the C-order multi-index (last axis fastest) and the Fortran byte offset with it.
    for (let d = ndim - 1; d >= 0; d--) {
      index[d]++;
      src += fstride[d];
      if (index[d] < shape[d]) break;
      src -= fstride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
