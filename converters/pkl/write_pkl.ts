/**
 * Writes Detectron-format weights pickles, byte-compatible in spirit with what Detectron's
 * Python 2 `save_object` produced: protocol 2, `{u'blobs': {name: ndarray}, u'cfg': yaml}`,
 * blob names and array data as Python 2 strs, arrays through numpy.core.multiarray._reconstruct.
 * Python 3 + numpy (`pickle.load(f, encoding='latin1')`, i.e. Detectron's load_object) and
 * Python 2 both read it. Array bytes are written straight from the typed arrays.
 */
import { DTYPE_BYTES, numel, type DType, type NdArray } from '../../lib/utils/ndarray';
import { writeAtomicWith, type AtomicIo, type FileSink } from '../../lib/utils/atomic_write';
import { OP } from './opcodes';
import { latin1Bytes, PyFloat } from './python_objects';

/**
 * A Python value for an extra top-level key (checkpoints' training state): None, bool, int
 * (an integral number or a bigint), float (a non-integral number, or any number boxed in
 * PyFloat), str (unicode), a numpy array, a list, or a dict with str keys.
 */
export type PklValue =
  | null
  | boolean
  | number
  | bigint
  | PyFloat
  | string
  | NdArray
  | readonly PklValue[]
  | ReadonlyMap<string, PklValue>;

export interface PklToWrite {
  blobs: ReadonlyMap<string, NdArray>;
  /** Written as further blobs; every name must end in `_momentum`. */
  momentum?: ReadonlyMap<string, NdArray>;
  cfg?: string | null;
  /**
   * Further top-level entries after 'blobs' and 'cfg' (e.g. a checkpoint's training state).
   * Detectron's loader ignores keys it does not know, so the file stays a valid weights file.
   */
  extra?: ReadonlyMap<string, PklValue>;
}

export interface WritePklOptions {
  /** 'detectron' (default): {'blobs': ..., 'cfg': ...}; 'flat': {name: array}, no cfg. */
  layout?: 'detectron' | 'flat';
  io?: AtomicIo;
}

const MOMENTUM_SUFFIX = '_momentum';

/** Validates everything first, then writes `path` atomically. */
export function writePkl(path: string, weights: PklToWrite, options: WritePklOptions = {}): void {
  const layout = options.layout ?? 'detectron';
  const entries = blobEntries(weights, path);
  const cfg = weights.cfg ?? null;
  if (layout === 'flat' && cfg !== null) throw new Error(`cannot write ${path}: the flat layout has no place for a cfg`);
  const extra = [...(weights.extra ?? [])];
  if (layout === 'flat' && extra.length > 0) throw new Error(`cannot write ${path}: the flat layout has no place for extra keys`);
  for (const [key, value] of extra) {
    if (key === 'blobs' || key === 'cfg') throw new Error(`cannot write ${path}: extra key '${key}' is reserved`);
    checkValue(value, `'${key}'`, path, 0);
  }
  writeAtomicWith(
    path,
    (sink) => {
      const p = new PickleWriter(sink);
      p.op(OP.PROTO, 2);
      if (layout === 'flat') {
        p.dict(entries.length, (i) => p.blobEntry(entries[i]));
      } else {
        const top: Array<() => void> = [() => p.topEntry('blobs', () => p.dict(entries.length, (i) => p.blobEntry(entries[i])))];
        if (cfg !== null) top.push(() => p.topEntry('cfg', () => p.name(cfg)));
        for (const [key, value] of extra) top.push(() => p.topEntry(key, () => p.value(value)));
        p.dict(top.length, (i) => top[i]());
      }
      p.op(OP.STOP);
    },
    options.io,
  );
}

/**
 * Writes one Python value (see PklValue) as a protocol-2 pickle, atomically, after checking it
 * all: Detectron's save_object for objects that are not weights, such as test_net's
 * detections.pkl ({'all_boxes': [[ndarray]], 'all_segms': ..., 'all_keyps': ..., 'cfg': yaml}).
 */
export function writePickle(path: string, value: PklValue, options: { io?: AtomicIo } = {}): void {
  checkValue(value, 'the value', path, 0);
  writeAtomicWith(
    path,
    (sink) => {
      const p = new PickleWriter(sink);
      p.op(OP.PROTO, 2);
      p.value(value);
      p.op(OP.STOP);
    },
    options.io,
  );
}

type Entry = [string, NdArray];

function blobEntries(weights: PklToWrite, path: string): Entry[] {
  const entries: Entry[] = [];
  for (const [name, array] of weights.blobs) {
    if (name.endsWith(MOMENTUM_SUFFIX)) {
      throw new Error(`cannot write ${path}: blob '${name}' ends in ${MOMENTUM_SUFFIX}; pass it in 'momentum'`);
    }
    entries.push([name, checkArray(name, array, path)]);
  }
  for (const [name, array] of weights.momentum ?? []) {
    if (!name.endsWith(MOMENTUM_SUFFIX)) {
      throw new Error(`cannot write ${path}: momentum blob '${name}' must end in ${MOMENTUM_SUFFIX}`);
    }
    entries.push([name, checkArray(name, array, path)]);
  }
  return entries;
}

const TYPED_ARRAY: Readonly<Record<DType, { name: string; is: (data: unknown) => boolean }>> = {
  float32: { name: 'Float32Array', is: (d) => d instanceof Float32Array },
  float64: { name: 'Float64Array', is: (d) => d instanceof Float64Array },
  int32: { name: 'Int32Array', is: (d) => d instanceof Int32Array },
  int64: { name: 'BigInt64Array', is: (d) => d instanceof BigInt64Array },
  uint8: { name: 'Uint8Array', is: (d) => d instanceof Uint8Array },
  bool: { name: 'Uint8Array', is: (d) => d instanceof Uint8Array },
};

/** An NdArray whose data does not match its dtype and shape would be written as garbage. */
export function checkArray(name: string, array: NdArray, path: string): NdArray {
  const bad = (why: string): never => {
    throw new Error(`cannot write ${path}: blob '${name}' ${why}`);
  };
  if (!(array.dtype in TYPED_ARRAY)) bad(`has unsupported dtype '${String(array.dtype)}'`);
  if (!TYPED_ARRAY[array.dtype].is(array.data)) {
    bad(`has dtype ${array.dtype} but its data is a ${array.data.constructor.name}, not a ${TYPED_ARRAY[array.dtype].name}`);
  }
  for (const d of array.shape) if (!Number.isSafeInteger(d) || d < 0) bad(`has an invalid shape [${array.shape.join(', ')}]`);
  if (array.data.length !== numel(array.shape)) {
    bad(`has ${array.data.length} values but shape [${array.shape.join(', ')}] needs ${numel(array.shape)}`);
  }
  return array;
}

const MAX_DEPTH = 32;

function isNdArray(value: PklValue): value is NdArray {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map) && !(value instanceof PyFloat);
}

/** Refuses what the writer cannot represent before the first byte is written. */
function checkValue(value: PklValue, where: string, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error(`cannot write ${path}: ${where} is nested more than ${MAX_DEPTH} deep`);
  if (Array.isArray(value)) {
    value.forEach((v: PklValue, i: number) => checkValue(v, `${where}[${i}]`, path, depth + 1));
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      if (typeof k !== 'string') throw new Error(`cannot write ${path}: ${where} has a non-string key`);
      checkValue(v, `${where}['${k}']`, path, depth + 1);
    }
  } else if (isNdArray(value)) {
    checkArray(where, value, path);
  }
}

/** numpy's (descr, byte order) for each dtype, as `np.dtype(x).__reduce__()` gives them. */
const NUMPY_DESCR: Readonly<Record<DType, [string, string]>> = {
  float32: ['f4', '<'],
  float64: ['f8', '<'],
  int32: ['i4', '<'],
  int64: ['i8', '<'],
  uint8: ['u1', '|'],
  bool: ['b1', '|'],
};

const MAX_BINSTRING = 0x7fffffff;
/** Python's pickler batches SETITEMS by this many pairs. */
const BATCH = 1000;

class PickleWriter {
  private memoSize = 0;
  private readonly memo = new Map<string, number>();

  constructor(private readonly sink: FileSink) {}

  op(code: number, ...bytes: number[]): void {
    this.sink.write(Uint8Array.of(code, ...bytes));
  }

  private u32(code: number, value: number): void {
    const b = new Uint8Array(5);
    b[0] = code;
    new DataView(b.buffer).setUint32(1, value, true);
    this.sink.write(b);
  }

  private i32(code: number, value: number): void {
    const b = new Uint8Array(5);
    b[0] = code;
    new DataView(b.buffer).setInt32(1, value, true);
    this.sink.write(b);
  }

  /** Memoizes the value on top of the stack under `key` (if any) and returns its index. */
  private put(key?: string): number {
    const index = this.memoSize++;
    if (index < 256) this.op(OP.BINPUT, index);
    else this.u32(OP.LONG_BINPUT, index);
    if (key !== undefined) this.memo.set(key, index);
    return index;
  }

  /** Pushes a memoized value again; false when `key` was never memoized. */
  private get(key: string): boolean {
    const index = this.memo.get(key);
    if (index === undefined) return false;
    if (index < 256) this.op(OP.BINGET, index);
    else this.u32(OP.LONG_BINGET, index);
    return true;
  }

  int(value: number): void {
    if (value >= 0 && value < 256) this.op(OP.BININT1, value);
    else if (value >= 0 && value < 65536) this.op(OP.BININT2, value & 0xff, value >> 8);
    else if (value >= -0x80000000 && value <= 0x7fffffff) this.i32(OP.BININT, value);
    else throw new Error(`integer ${value} does not fit a BININT`);
  }

  /** A Python 2 str: raw bytes. */
  py2str(bytes: Uint8Array): void {
    if (bytes.length < 256) this.op(OP.SHORT_BINSTRING, bytes.length);
    else if (bytes.length <= MAX_BINSTRING) this.i32(OP.BINSTRING, bytes.length);
    else throw new Error(`a ${bytes.length}-byte string exceeds protocol 2's 2 GiB limit`);
    this.sink.write(bytes);
  }

  unicode(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.u32(OP.BINUNICODE, bytes.length);
    this.sink.write(bytes);
  }

  /** Names and cfg as Python 2 strs, as Detectron wrote them; unicode if not latin-1. */
  name(text: string): void {
    const bytes = latin1Bytes(text);
    if (bytes === null) this.unicode(text);
    else this.py2str(bytes);
  }

  private global(module: string, name: string): void {
    if (this.get(`global:${module}.${name}`)) return;
    this.sink.write(Buffer.from(`c${module}\n${name}\n`, 'ascii'));
    this.put(`global:${module}.${name}`);
  }

  /** numpy.dtype(descr, False, True) with its BUILD state, memoized like cPickle does. */
  private dtype(dtype: DType): void {
    if (this.get(`dtype:${dtype}`)) return;
    const [descr, order] = NUMPY_DESCR[dtype];
    this.global('numpy', 'dtype');
    this.py2str(Buffer.from(descr, 'ascii'));
    this.int(0);
    this.int(1);
    this.op(OP.TUPLE3);
    this.op(OP.REDUCE);
    this.put(`dtype:${dtype}`);
    this.op(OP.MARK);
    this.int(3);
    this.py2str(Buffer.from(order, 'ascii'));
    this.op(OP.NONE, OP.NONE, OP.NONE);
    this.i32(OP.BININT, -1);
    this.i32(OP.BININT, -1);
    this.int(0);
    this.op(OP.TUPLE, OP.BUILD);
  }

  /** _reconstruct(ndarray, (0,), 'b') then BUILD (1, shape, dtype, False, rawdata). */
  array(array: NdArray): void {
    this.global('numpy.core.multiarray', '_reconstruct');
    this.global('numpy', 'ndarray');
    this.int(0);
    this.op(OP.TUPLE1);
    this.py2str(Uint8Array.of(0x62)); // 'b'
    this.op(OP.TUPLE3, OP.REDUCE);
    this.op(OP.MARK);
    this.int(1);
    this.op(OP.MARK);
    for (const d of array.shape) this.int(d);
    this.op(OP.TUPLE);
    this.dtype(array.dtype);
    this.op(OP.NEWFALSE);
    const { buffer, byteOffset } = array.data;
    this.py2str(new Uint8Array(buffer, byteOffset, array.data.length * DTYPE_BYTES[array.dtype]));
    this.op(OP.TUPLE, OP.BUILD);
  }

  /** A Python float (8-byte big-endian double). */
  float(value: number): void {
    const b = new Uint8Array(9);
    b[0] = OP.BINFLOAT;
    new DataView(b.buffer).setFloat64(1, value, false);
    this.sink.write(b);
  }

  /** Any int: BININT* when it fits, else LONG1 (little-endian two's complement). */
  bigInt(value: bigint): void {
    if (value >= -0x80000000n && value <= 0x7fffffffn) {
      this.int(Number(value));
      return;
    }
    const bytes: number[] = [];
    let v = value;
    for (;;) {
      const byte = Number(BigInt.asUintN(8, v));
      bytes.push(byte);
      v >>= 8n;
      // Done when the rest is pure sign extension of the last byte written.
      if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
    }
    this.op(OP.LONG1, bytes.length, ...bytes);
  }

  /** A value of an extra top-level key; see PklValue. */
  value(value: PklValue): void {
    if (value === null) this.op(OP.NONE);
    else if (value === true) this.op(OP.NEWTRUE);
    else if (value === false) this.op(OP.NEWFALSE);
    else if (typeof value === 'bigint') this.bigInt(value);
    else if (typeof value === 'number') {
      // JS has one number type: integral values are Python ints, the rest floats (box in PyFloat to force a float).
      if (Number.isInteger(value)) this.bigInt(BigInt(value));
      else this.float(value);
    } else if (value instanceof PyFloat) this.float(value.value);
    else if (typeof value === 'string') this.unicode(value);
    else if (Array.isArray(value)) this.list(value);
    else if (value instanceof Map) {
      const entries = [...(value as ReadonlyMap<string, PklValue>)];
      this.dict(entries.length, (i) => {
        this.unicode(entries[i][0]);
        this.value(entries[i][1]);
      });
    } else this.array(value as NdArray);
  }

  private list(items: readonly PklValue[]): void {
    this.op(OP.EMPTY_LIST);
    this.put();
    for (let start = 0; start < items.length; start += BATCH) {
      this.op(OP.MARK);
      for (let i = start; i < Math.min(items.length, start + BATCH); i++) this.value(items[i]);
      this.op(OP.APPENDS);
    }
  }

  blobEntry([name, array]: Entry): void {
    this.name(name);
    this.array(array);
  }

  topEntry(key: string, value: () => void): void {
    this.unicode(key);
    value();
  }

  /** A dict of `count` items, written by `item(i)` as key then value, in SETITEMS batches. */
  dict(count: number, item: (i: number) => void): void {
    this.op(OP.EMPTY_DICT);
    this.put();
    for (let start = 0; start < count; start += BATCH) {
      this.op(OP.MARK);
      for (let i = start; i < Math.min(count, start + BATCH); i++) item(i);
      this.op(OP.SETITEMS);
    }
  }
}
