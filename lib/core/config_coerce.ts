/**
 * Detectron's `_decode_cfg_value` and `_check_and_coerce_cfg_value_type`, and the conversions
 * between checked Python values and the plain values stored in a config.
 */
import { CfgLiteral, PyType } from './config_defaults';
import { decodeCfgString } from './config_literal_eval';
import {
  NpArray,
  NpScalar,
  PyBytes,
  PyDict,
  PyTuple,
  PyValue,
  pyStr,
  pyTypeName,
} from './config_pyvalue';
import { SchemaNode } from './config_schema';

const PY_TYPE_NAMES: Record<PyType, string> = {
  str: 'str',
  int: 'int',
  float: 'float',
  bool: 'bool',
  tuple: 'tuple',
  list: 'list',
  ndarray: 'numpy.ndarray',
  'np.float64': 'numpy.float64',
};

const ATTRDICT = 'detectron.utils.collections.AttrDict';

/** `_decode_cfg_value`: YAML mappings become AttrDicts, strings go through literal_eval. */
export function decodeCfgValue(v: PyValue): PyValue {
  if (v instanceof PyDict) return v.attr ? v : new PyDict(v.entries, true);
  if (typeof v === 'string') return decodeCfgString(v);
  return v;
}

function expectedTypeName(node: SchemaNode): string {
  return node.kind === 'section' ? ATTRDICT : PY_TYPE_NAMES[node.py];
}

function sequenceItems(x: PyValue): PyValue[] | null {
  return Array.isArray(x) ? x : x instanceof PyTuple ? x.items : null;
}

/** `np.array(value, dtype=float64)` for the values a config can hold (ragged input fails). */
function toFloat64Array(v: PyValue, fullKey: string): NpArray {
  if (v instanceof NpArray) return new NpArray('float64', v.shape, v.data);
  const fail = (): Error => new Error(`Config key ${fullKey} needs numbers (a numpy float64 array), got ${pyStr(v)}`);
  const shape: number[] = [];
  for (let x: PyValue | undefined = v; x !== undefined; ) {
    const items = sequenceItems(x);
    if (items === null) break;
    shape.push(items.length);
    x = items[0];
  }
  const data: number[] = [];
  const walk = (x: PyValue, depth: number): void => {
    const items = sequenceItems(x);
    if (items !== null) {
      if (depth >= shape.length || items.length !== shape[depth]) throw fail();
      for (const item of items) walk(item, depth + 1);
      return;
    }
    if (depth !== shape.length) throw fail();
    if (typeof x === 'number') data.push(x);
    else if (typeof x === 'bigint') data.push(Number(x));
    else if (typeof x === 'boolean') data.push(x ? 1 : 0);
    else if (x instanceof NpScalar) data.push(x.value);
    else if (typeof x === 'string' && x.trim() !== '' && !Number.isNaN(Number(x.trim()))) data.push(Number(x.trim()));
    else throw fail();
  };
  walk(v, 0);
  return new NpArray('float64', shape, data);
}

/** Python's `str(value)` for a value already stored in a config (for messages). */
function storedValueStr(node: SchemaNode, stored: unknown): string {
  if (node.kind === 'section') return '{...}';
  return pyStr(fromPlain(stored, node.py));
}

/**
 * `_check_and_coerce_cfg_value_type`: the value must have the default's Python type, except that
 * anything becomes a str for a str key, tuple and list convert into each other, and anything
 * numeric becomes a float64 array for an ndarray key.
 */
export function checkAndCoerce(value: PyValue, node: SchemaNode, stored: unknown, fullKey: string): PyValue {
  const typeA = pyTypeName(value);
  const typeB = expectedTypeName(node);
  if (typeA === typeB) return value;
  if (node.kind === 'leaf') {
    if (node.py === 'ndarray') return toFloat64Array(value, fullKey);
    if (node.py === 'str') return pyStr(value);
    if (value instanceof PyTuple && node.py === 'list') return [...value.items];
    if (Array.isArray(value) && node.py === 'tuple') return new PyTuple([...value]);
  }
  throw new Error(
    `Type mismatch (<class '${typeB}'> vs. <class '${typeA}'>) with values (${storedValueStr(node, stored)} vs. ` +
      `${pyStr(value)}) for config key: ${fullKey}`,
  );
}

function safeNumber(v: bigint, fullKey: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`Config key ${fullKey}: integer ${v} is too large to hold exactly`);
  return n;
}

/** A value inside a tuple/list key as a plain literal. */
function literalFromPy(v: PyValue, fullKey: string): CfgLiteral {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'bigint') return safeNumber(v, fullKey);
  if (Array.isArray(v)) return v.map((x) => literalFromPy(x, fullKey));
  if (v instanceof PyTuple) return v.items.map((x) => literalFromPy(x, fullKey));
  if (v instanceof NpScalar) return v.value;
  if (v instanceof PyDict && v.entries.every(([k]) => typeof k === 'string')) {
    return Object.fromEntries(v.entries.map(([k, x]) => [k as string, literalFromPy(x, fullKey)]));
  }
  throw new Error(`Config key ${fullKey}: a ${pyTypeName(v)} value cannot be stored in a config list`);
}

/**
 * PIXEL_MEANS is subtracted from H×W×3 images; any shape that broadcasts to the same result as
 * 1×1×3 (a scalar, (3,), (1,3), (1,1,1)…) is stored as 1×1×3, anything else is an error.
 */
function pixelMeansFromArray(a: NpArray, fullKey: string): number[][][] {
  const last = a.shape.length === 0 ? 1 : a.shape[a.shape.length - 1];
  const leadingOnes = a.shape.slice(0, -1).every((d) => d === 1);
  if (a.shape.length > 3 || !leadingOnes || (last !== 1 && last !== 3)) {
    throw new Error(`Config key ${fullKey}: expected 3 BGR means (shape 1×1×3), got shape (${a.shape.join(', ')})`);
  }
  const v = last === 3 ? a.data : [a.data[0], a.data[0], a.data[0]];
  return [[[v[0], v[1], v[2]]]];
}

/** A checked Python value as the plain value the config stores. */
export function toPlain(v: PyValue, py: PyType, fullKey: string): unknown {
  switch (py) {
    case 'int':
      return safeNumber(v as bigint, fullKey);
    case 'np.float64':
      return (v as NpScalar).value;
    case 'ndarray':
      return pixelMeansFromArray(v as NpArray, fullKey);
    case 'tuple':
    case 'list':
      return literalFromPy(v, fullKey);
    default:
      return v;
  }
}

function pyFromLiteral(v: unknown): PyValue {
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? BigInt(v) : v;
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (Array.isArray(v)) return v.map(pyFromLiteral);
  if (v instanceof Uint8Array) return new PyBytes(v);
  if (typeof v === 'object' && v !== undefined) {
    return new PyDict(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, pyFromLiteral(x)]),
      false,
    );
  }
  throw new Error(`cannot read ${String(v)} as a config value`);
}

/** A plain stored value as the Python value it stands for (integral list items read as ints). */
export function fromPlain(v: unknown, py: PyType): PyValue {
  switch (py) {
    case 'int':
      return BigInt(v as number);
    case 'float':
      return v as number;
    case 'np.float64':
      return new NpScalar('float64', v as number);
    case 'ndarray': {
      const rows = v as number[][][];
      return new NpArray('float64', [rows.length, rows[0]?.length ?? 0, rows[0]?.[0]?.length ?? 0], rows.flat(2));
    }
    case 'tuple':
      return new PyTuple((v as unknown[]).map(pyFromLiteral));
    case 'list':
      return (v as unknown[]).map(pyFromLiteral);
    default:
      return v as string | boolean;
  }
}

/**
 * A plain JS object offered as config overrides, as the AttrDict tree Detectron would merge.
 * Numbers take the Python type of the key they go to where they can (an integral number for a
 * float key stays a float; a fractional one for an int key stays a float and is rejected).
 */
export function pyFromObject(obj: Record<string, unknown>, section: SchemaNode | undefined, prefix: string): PyDict {
  const entries: Array<[PyValue, PyValue]> = [];
  for (const [key, v] of Object.entries(obj)) {
    const fullKey = prefix + key;
    const node = section?.kind === 'section' ? section.children.get(key) : undefined;
    if (v === undefined) throw new Error(`Config key ${fullKey}: undefined is not a value`);
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) {
      entries.push([key, pyFromObject(v as Record<string, unknown>, node, `${fullKey}.`)]);
    } else if (typeof v === 'number' && node?.kind === 'leaf' && (node.py === 'float' || node.py === 'np.float64')) {
      entries.push([key, node.py === 'float' ? v : new NpScalar('float64', v)]);
    } else if (node?.kind === 'leaf' && node.py === 'ndarray' && Array.isArray(v)) {
      entries.push([key, toFloat64Array((v as unknown[]).map(pyFromLiteral), fullKey)]);
    } else {
      entries.push([key, pyFromLiteral(v)]);
    }
  }
  return new PyDict(entries, true);
}
