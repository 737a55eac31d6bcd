/**
 * Python values as Detectron's config code sees them.
 *
 * Detectron's config semantics hinge on Python types: `_check_and_coerce_cfg_value_type` accepts
 * a value only when `type(new) is type(default)` (so `1` may not replace `0.001`), and coercion to
 * a string key applies Python's `str()`. JavaScript has one number type, so values read from YAML
 * or parsed like `ast.literal_eval` are kept in this small model until they have been checked:
 *
 *   str → string, int → bigint, float → number, bool → boolean, None → null, list → array,
 *   tuple → PyTuple, dict → PyDict, set → PySet, bytes → PyBytes, numpy values → NpScalar/NpArray.
 */

export type PyValue =
  | string
  | bigint
  | number
  | boolean
  | null
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyBytes
  | PyEllipsis
  | NpScalar
  | NpArray;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A dict in insertion order; `attr` marks Detectron's AttrDict (what YAML mappings become). */
export class PyDict {
  constructor(
    readonly entries: Array<[PyValue, PyValue]>,
    readonly attr: boolean,
  ) {}

  get(key: string): PyValue | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }
}

export class PySet {
  constructor(readonly items: PyValue[]) {}
}

export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}

export class PyEllipsis {
  static readonly INSTANCE = new PyEllipsis();
  private constructor() {}
}

/** numpy dtypes that a Detectron config dump can hold. */
export type NpDType = 'float64' | 'float32' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** A numpy scalar such as `np.float64(4.135…)` (Detectron's BBOX_XFORM_CLIP default). */
export class NpScalar {
  constructor(
    readonly dtype: NpDType,
    readonly value: number,
  ) {}
}

/** A numpy ndarray, row-major, values widened to JS numbers. */
export class NpArray {
  constructor(
    readonly dtype: NpDType,
    readonly shape: number[],
    readonly data: number[],
  ) {}
}

const ATTRDICT_TYPE = 'detectron.utils.collections.AttrDict';

/** Python's `type(v).__name__` (qualified for non-builtins), as Detectron's messages print it. */
export function pyTypeName(v: PyValue): string {
  if (typeof v === 'string') return 'str';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'boolean') return 'bool';
  if (v === null) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return v.attr ? ATTRDICT_TYPE : 'dict';
  if (v instanceof PySet) return 'set';
  if (v instanceof PyBytes) return 'bytes';
  if (v instanceof PyEllipsis) return 'ellipsis';
  if (v instanceof NpScalar) return `numpy.${v.dtype === 'bool' ? 'bool_' : v.dtype}`;
  return 'numpy.ndarray';
}

/** `repr(type(v))` in Python 3, e.g. `<class 'int'>`. */
export function pyTypeRepr(v: PyValue): string {
  return `<class '${pyTypeName(v)}'>`;
}

/**
 * Python 3's `repr(float)`: the shortest string that round-trips (as JavaScript's), laid out the
 * Python way: positional for exponents -4..15, else `d.ddde±XX`, always a `.0` or an exponent.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, expText] = Math.abs(x).toExponential().split('e');
  const exp = Number(expText);
  const digits = mantissa.replace('.', '');
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intLen = exp + 1;
    if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
    return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
  const e = Math.abs(exp);
  return `${sign}${digits[0]}${frac}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}

/** Python's `str.isprintable()` for one code point (approximated with Unicode categories). */
function isPrintable(ch: string): boolean {
  if (ch === ' ') return true;
  return !/[\p{C}\p{Z}]/u.test(ch);
}

function escapeCodePoint(cp: number): string {
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** Python 3's `repr(str)`: single quotes unless the text has ' and no ", escapes as CPython. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (isPrintable(ch)) out += ch;
    else out += escapeCodePoint(ch.codePointAt(0) as number);
  }
  return out + quote;
}

function pyBytesRepr(b: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = `b${quote}`;
  for (const c of b) {
    const ch = String.fromCharCode(c);
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** numpy's default formatting of an array's elements, enough for error messages. */
function npArrayStr(a: NpArray): string {
  const fmt = (x: number): string => (a.dtype.startsWith('float') ? `${x}` + (Number.isInteger(x) ? '.' : '') : `${x}`);
  const build = (dim: number, offset: number): [string, number] => {
    if (dim === a.shape.length) return [fmt(a.data[offset]), offset + 1];
    const parts: string[] = [];
    let at = offset;
    for (let i = 0; i < a.shape[dim]; i++) {
      const [s, next] = build(dim + 1, at);
      parts.push(s);
      at = next;
    }
    return [`[${parts.join(' ')}]`, at];
  };
  return build(0, 0)[0];
}

/** Python 3's `repr(v)`. */
export function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return pyStrRepr(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return pyFloatRepr(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null) return 'None';
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof PyTuple) {
    if (v.items.length === 1) return `(${pyRepr(v.items[0])},)`;
    return `(${v.items.map(pyRepr).join(', ')})`;
  }
  if (v instanceof PyDict) return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  if (v instanceof PySet) return v.items.length === 0 ? 'set()' : `{${v.items.map(pyRepr).join(', ')}}`;
  if (v instanceof PyBytes) return pyBytesRepr(v.bytes);
  if (v instanceof PyEllipsis) return 'Ellipsis';
  if (v instanceof NpScalar) {
    if (v.dtype === 'bool') return v.value ? 'True' : 'False';
    return v.dtype.startsWith('float') ? pyFloatRepr(v.value) : `${v.value}`;
  }
  return `array(${npArrayStr(v)})`;
}

/** Python 3's `str(v)`: the text itself for a str, numpy's printing for arrays, else `repr`. */
export function pyStr(v: PyValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof NpArray) return npArrayStr(v);
  return pyRepr(v);
}

/** Python equality for hashable literal values (used to de-duplicate dict keys and set items). */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  const num = (x: PyValue): number | bigint | null =>
    typeof x === 'bigint' || typeof x === 'number' ? x : typeof x === 'boolean' ? (x ? 1n : 0n) : null;
  const na = num(a);
  const nb = num(b);
  if (na !== null && nb !== null) {
    if (typeof na === 'bigint' && typeof nb === 'bigint') return na === nb;
    // int == float compares exact values, as Python does.
    if (typeof na === 'number' && typeof nb === 'number') return na === nb;
    const f = typeof na === 'number' ? na : (nb as number);
    const i = typeof na === 'bigint' ? na : (nb as bigint);
    return Number.isInteger(f) && BigInt(f) === i;
  }
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a === null || b === null) return a === b;
  if (a instanceof PyTuple && b instanceof PyTuple) {
    return a.items.length === b.items.length && a.items.every((x, i) => pyEquals(x, b.items[i]));
  }
  if (a instanceof PyBytes && b instanceof PyBytes) {
    return a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);
  }
  return a === b;
}

/** Whether Python could hash `v` (dict keys and set items must be hashable). */
export function pyIsHashable(v: PyValue): boolean {
  if (Array.isArray(v) || v instanceof PyDict || v instanceof PySet || v instanceof NpArray) return false;
  if (v instanceof PyTuple) return v.items.every(pyIsHashable);
  return true;
}
