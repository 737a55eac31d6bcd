/**
 * The Python values an unpickled weights file can contain, as plain TypeScript values.
 *
 *   None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> PyFloat,
 *   str (Python 3) / unicode (Python 2) -> string, bytes / bytearray -> Uint8Array,
 *   Python 2 str -> Py2Str (raw bytes: array data must never go through a text decoder),
 *   list -> PyValue[], tuple -> PyTuple, dict / OrderedDict -> PyDict,
 *   numpy dtype / ndarray -> NumpyDType / NumpyArray, an allow-listed global -> PyGlobal.
 *
 * Floats are boxed so that 1 and 1.0 stay distinct (numpy makes int64 of one, float64 of the
 * other); tuples are boxed so that APPEND on a tuple can be refused as Python would.
 */
import type { DType, NdArray } from '../../lib/utils/ndarray';

export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python 2 `str`: a byte string. Detectron stored blob names and array data this way. */
export class Py2Str {
  constructor(readonly bytes: Uint8Array) {}

  /** As Detectron's load_object reads it under Python 3: pickle.load(..., encoding='latin1'). */
  get text(): string {
    return latin1Text(this.bytes);
  }
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export type PyKey = string | number | bigint | boolean | null;
export type PyDict = Map<PyKey, PyValue>;

/** numpy.dtype as pickled: the element type from REDUCE, the byte order from BUILD. */
export class NumpyDType {
  constructor(
    readonly descr: string,
    readonly dtype: DType,
    readonly itemsize: number,
    public byteOrder: '<' | '>' | '|',
  ) {}
}

/** An ndarray: created empty by `_reconstruct`, filled by BUILD (or built at once by scalar()). */
export class NumpyArray {
  constructor(public array: NdArray | null = null) {}
}

/** A resolved, allow-listed global such as numpy.dtype; see allowed_globals.ts. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | Py2Str
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | NumpyDType
  | NumpyArray
  | PyGlobal;

/**
 * Bytes 0..255 to code points 0..255. (TextDecoder's 'latin1' is windows-1252 and would map
 * 0x80..0x9f elsewhere, so decode through Buffer, which implements true ISO-8859-1.)
 */
export function latin1Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Text to bytes, one byte per code point; null when a code point is above 255. */
export function latin1Bytes(text: string): Uint8Array | null {
  if (/[^\u0000-\u00ff]/.test(text)) return null;
  const out = new Uint8Array(text.length);
  Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(text, 'latin1');
  return out;
}

/** Python-ish type name for error messages. */
export function describe(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number' || typeof value === 'bigint') return 'int';
  if (typeof value === 'string') return 'str';
  if (value instanceof PyFloat) return 'float';
  if (value instanceof Py2Str) return 'str (Python 2 bytes)';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'list';
  if (value instanceof PyTuple) return 'tuple';
  if (value instanceof Map) return 'dict';
  if (value instanceof NumpyDType) return 'numpy.dtype';
  if (value instanceof NumpyArray) return 'numpy.ndarray';
  return value.qualifiedName;
}

/** A str-like value (str, Python 2 str) as text; undefined for anything else. */
export function asText(value: PyValue): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Py2Str) return value.text;
  return undefined;
}

/** Raw bytes of a bytes-like value (bytes, bytearray, Python 2 str); undefined otherwise. */
export function asBytes(value: PyValue): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof Py2Str) return value.bytes;
  return undefined;
}
