/**
 * YAML as Detectron reads it (PyYAML, YAML 1.1), into Python values; and config dumps.
 *
 * Plain scalars resolve with PyYAML's own implicit rules (`yes`/`on` are booleans, `1e-3` is a
 * string until `literal_eval`, `0777` is octal), so a config loads to exactly what Detectron
 * sees. The Python tags found in `yaml.dump(cfg)` output (the `cfg` string inside Detectron's
 * model_final.pkl: AttrDict objects, tuples, numpy scalars and arrays, py2 unicode/str/long) are
 * read as data; no tag can make this loader run anything, and unknown tags are an error.
 */
import {
  Alias,
  Document,
  LineCounter,
  Node as YamlNode,
  Pair,
  Scalar,
  YAMLMap,
  YAMLSeq,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
} from 'yaml';
import {
  NpArray,
  NpDType,
  NpScalar,
  PyBytes,
  PyDict,
  PySet,
  PyTuple,
  PyValue,
  pyEquals,
  pyFloatRepr,
  pyIsHashable,
  pyRepr,
  pyStrRepr,
} from './config_pyvalue';
import { literalEval } from './config_literal_eval';

const TAG = 'tag:yaml.org,2002:';
const ATTRDICT_TAGS = new Set([
  `${TAG}python/object/new:detectron.utils.collections.AttrDict`,
  // Detectron's _RENAMED_MODULES: configs saved before the package was named `detectron`.
  `${TAG}python/object/new:utils.collections.AttrDict`,
]);
const NUMPY_MODULES = ['numpy.core.multiarray', 'numpy._core.multiarray'];

// PyYAML's implicit resolvers (resolver.py), in its order of precedence.
const anchored = (alternatives: string[]): RegExp => new RegExp(`^(?:${alternatives.join('|')})$`);
const BOOL_RE = anchored(['yes|Yes|YES|no|No|NO', 'true|True|TRUE|false|False|FALSE', 'on|On|ON|off|Off|OFF']);
const FLOAT_RE = anchored([
  '[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?',
  '\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?',
  '[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*',
  '[-+]?\\.(?:inf|Inf|INF)',
  '\\.(?:nan|NaN|NAN)',
]);
const INT_RE = anchored([
  '[-+]?0b[0-1_]+',
  '[-+]?0[0-7_]+',
  '[-+]?(?:0|[1-9][0-9_]*)',
  '[-+]?0x[0-9a-fA-F_]+',
  '[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+',
]);
const NULL_RE = anchored(['~', 'null|Null|NULL', '']);
const TIMESTAMP_RE = anchored([
  '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]',
  '[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\\.[0-9]*)?' +
    '(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?',
]);
const DATE_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

const BOOL_VALUES: Record<string, boolean> = { yes: true, no: false, true: true, false: false, on: true, off: false };

/** PyYAML's construct_yaml_int. */
export function constructYamlInt(text: string): bigint {
  let v = text.replace(/_/g, '');
  let sign = 1n;
  if (v[0] === '-') sign = -1n;
  if (v[0] === '+' || v[0] === '-') v = v.slice(1);
  if (!/^(?:0b[01]+|0x[0-9a-fA-F]+|[0-9]+(?::[0-9]+)*)$/.test(v)) {
    throw new Error(`invalid int ${JSON.stringify(text)}`);
  }
  if (v === '0') return 0n;
  if (v.startsWith('0b') || v.startsWith('0x')) return sign * BigInt(v);
  if (v[0] === '0') {
    if (!/^[0-7]+$/.test(v)) throw new Error(`invalid octal int ${JSON.stringify(text)}`);
    return sign * BigInt(`0o${v}`);
  }
  if (v.includes(':')) return sign * v.split(':').reduce((acc, part) => acc * 60n + BigInt(part), 0n);
  return sign * BigInt(v);
}

/** PyYAML's construct_yaml_float. */
export function constructYamlFloat(text: string): number {
  let v = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (v[0] === '-') sign = -1;
  if (v[0] === '+' || v[0] === '-') v = v.slice(1);
  if (v === '.inf') return sign * Infinity;
  if (v === '.nan') return NaN;
  if (v.includes(':')) return sign * v.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  const x = Number(v);
  if (v === '' || Number.isNaN(x)) throw new Error(`invalid float ${JSON.stringify(text)}`);
  return sign * x;
}

/** How PyYAML types an untagged plain scalar. */
export function resolvePlainScalar(text: string): PyValue {
  if (BOOL_RE.test(text)) return BOOL_VALUES[text.toLowerCase()];
  if (FLOAT_RE.test(text)) return constructYamlFloat(text);
  if (INT_RE.test(text)) return constructYamlInt(text);
  if (NULL_RE.test(text)) return null;
  if (TIMESTAMP_RE.test(text)) {
    // A date prints back as itself (str(datetime.date) is ISO); a datetime would not.
    if (DATE_RE.test(text)) return text;
    throw new Error(`timestamps such as ${JSON.stringify(text)} are not supported in configs; quote the value`);
  }
  return text;
}

/** numpy dtype read from `!!python/object/apply:numpy.dtype` (args[0] like 'f8'; state[1] byte order). */
interface NpDtypeRef {
  readonly npDtype: NpDType;
  readonly littleEndian: boolean;
}

const DTYPE_CODES: Record<string, NpDType> = {
  f8: 'float64',
  f4: 'float32',
  f2: 'float16',
  i8: 'int64',
  i4: 'int32',
  i2: 'int16',
  i1: 'int8',
  u1: 'uint8',
  b1: 'bool',
};

type Built = PyValue | NpDtypeRef | { readonly ignored: true };

function isDtypeRef(v: Built): v is NpDtypeRef {
  return typeof v === 'object' && v !== null && 'npDtype' in v;
}

function decodeBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'base64'));
}

/** Elements of a numpy buffer (`rawdata`) as JS numbers. */
function decodeNumpyBuffer(bytes: Uint8Array, dtype: NpDtypeRef, count: number, where: string): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dtype.littleEndian;
  const size: Record<NpDType, number> = {
    float64: 8,
    float32: 4,
    float16: 2,
    int64: 8,
    int32: 4,
    int16: 2,
    int8: 1,
    uint8: 1,
    bool: 1,
  };
  const n = size[dtype.npDtype];
  if (bytes.length !== n * count) {
    const expected = `${n * count} for ${count} × ${dtype.npDtype}`;
    throw new Error(`${where}: numpy data has ${bytes.length} bytes, expected ${expected}`);
  }
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * n;
    switch (dtype.npDtype) {
      case 'float64':
        out.push(view.getFloat64(o, le));
        break;
      case 'float32':
        out.push(view.getFloat32(o, le));
        break;
      case 'float16':
        throw new Error(`${where}: float16 numpy values are not supported`);
      case 'int64': {
        const v = view.getBigInt64(o, le);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new Error(`${where}: int64 value ${v} does not fit a JS number exactly`);
        }
        out.push(Number(v));
        break;
      }
      case 'int32':
        out.push(view.getInt32(o, le));
        break;
      case 'int16':
        out.push(view.getInt16(o, le));
        break;
      case 'int8':
        out.push(view.getInt8(o));
        break;
      case 'uint8':
        out.push(view.getUint8(o));
        break;
      case 'bool':
        out.push(view.getUint8(o) ? 1 : 0);
        break;
    }
  }
  return out;
}

/** Builds Python values from a parsed YAML document, PyYAML-style. */
class PyYamlBuilder {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly source: string,
    private readonly text: string,
  ) {}

  private where(node: YamlNode | null | undefined, atTag = false): string {
    let offset = node?.range?.[0];
    if (offset === undefined) return this.source;
    if (atTag) {
      // A node's range starts after its tag; point at the tag itself.
      let bang = this.text.lastIndexOf('!', offset - 1);
      while (bang > 0 && this.text[bang - 1] === '!') bang--;
      if (bang >= 0) offset = bang;
    }
    const { line, col } = this.lines.linePos(offset);
    return `${this.source}:${line}:${col}`;
  }

  private fail(node: YamlNode | null | undefined, message: string): Error {
    return new Error(`${this.where(node)}: ${message}`);
  }

  value(node: unknown): PyValue {
    const v = this.build(node);
    if (isDtypeRef(v) || (typeof v === 'object' && v !== null && 'ignored' in v)) {
      throw this.fail(node as YamlNode, 'a numpy dtype or Python name is only allowed inside a numpy value');
    }
    return v;
  }

  private build(node: unknown): Built {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.build((node as Alias).resolve(this.doc));
    if (isScalar(node)) return this.scalar(node);
    if (isSeq(node)) return this.seq(node);
    if (isMap(node)) return this.map(node);
    throw this.fail(node as YamlNode, 'unsupported YAML node');
  }

  private scalar(node: Scalar): Built {
    const text = String(node.value ?? '');
    const tag = node.tag;
    if (tag === undefined) return node.type === 'PLAIN' ? this.plain(node, text) : text;
    const short = tag.startsWith(TAG) ? tag.slice(TAG.length) : tag;
    try {
      switch (short) {
        case '!':
        case 'str':
        case 'python/str':
        case 'python/unicode':
          return text;
        case 'int':
        case 'python/int':
        case 'python/long':
          return constructYamlInt(text);
        case 'float':
        case 'python/float':
          return constructYamlFloat(text);
        case 'bool':
        case 'python/bool': {
          const b = BOOL_VALUES[text.toLowerCase()];
          if (b === undefined) throw new Error(`invalid bool ${JSON.stringify(text)}`);
          return b;
        }
        case 'null':
        case 'python/none':
          return null;
        case 'timestamp':
          return this.plain(node, text);
        case 'binary':
        case 'python/bytes':
          return new PyBytes(decodeBase64(text));
      }
    } catch (err) {
      throw this.fail(node, (err as Error).message);
    }
    if (short.startsWith('python/name:')) return { ignored: true };
    throw this.unsupportedTag(node, tag);
  }

  private plain(node: Scalar, text: string): PyValue {
    // PyYAML resolves these to tags it has no constructor for.
    if (text === '<<' || text === '=') throw this.fail(node, `a plain ${text} cannot be a value (quote it)`);
    try {
      return resolvePlainScalar(text);
    } catch (err) {
      throw this.fail(node, (err as Error).message);
    }
  }

  private unsupportedTag(node: YamlNode, tag: string): Error {
    const shown = tag.startsWith(TAG) ? `!!${tag.slice(TAG.length)}` : tag;
    return new Error(
      `${this.where(node, true)}: unsupported YAML tag ${shown} (configs are read as data: AttrDict, tuples, ` +
        'numpy scalars/arrays and plain values only)',
    );
  }

  private seq(node: YAMLSeq): Built {
    const tag = node.tag;
    const short = tag?.startsWith(TAG) ? tag.slice(TAG.length) : tag;
    if (short === undefined || short === 'seq' || short === 'python/list') return node.items.map((n) => this.value(n));
    if (short === 'python/tuple') return new PyTuple(node.items.map((n) => this.value(n)));
    const numpy = this.numpyCall(short);
    if (numpy === 'scalar') return this.numpyScalar(node, node.items);
    if (numpy === 'dtype') return this.numpyDtype(node, node.items, undefined);
    throw this.unsupportedTag(node, tag as string);
  }

  private numpyCall(short: string | undefined): 'scalar' | 'dtype' | 'reconstruct' | undefined {
    if (short === 'python/object/apply:numpy.dtype') return 'dtype';
    for (const m of NUMPY_MODULES) {
      if (short === `python/object/apply:${m}.scalar`) return 'scalar';
      if (short === `python/object/apply:${m}._reconstruct`) return 'reconstruct';
    }
    return undefined;
  }

  /** Pairs of a mapping after PyYAML's merge-key (`<<`) flattening; later pairs win. */
  private pairs(node: YAMLMap): Pair[] {
    const merged: Pair[] = [];
    const own: Pair[] = [];
    for (const pair of node.items) {
      const key = pair.key;
      if (isScalar(key) && key.type === 'PLAIN' && key.tag === undefined && key.value === '<<') {
        const target = isAlias(pair.value) ? (pair.value as Alias).resolve(this.doc) : pair.value;
        if (isMap(target)) merged.push(...this.pairs(target));
        else if (isSeq(target)) {
          const subs = target.items.map((item) => {
            const m = isAlias(item) ? (item as Alias).resolve(this.doc) : item;
            if (!isMap(m)) throw this.fail(item as YamlNode, 'a merge key needs mappings');
            return this.pairs(m);
          });
          for (const sub of subs.reverse()) merged.push(...sub);
        } else throw this.fail(pair.value as YamlNode, 'a merge key needs a mapping or a list of mappings');
      } else own.push(pair);
    }
    return [...merged, ...own];
  }

  private dict(node: YAMLMap, attr: boolean): PyDict {
    const entries: Array<[PyValue, PyValue]> = [];
    for (const pair of this.pairs(node)) {
      const key = this.value(pair.key);
      if (!pyIsHashable(key)) throw this.fail(pair.key as YamlNode, `unhashable mapping key ${pyRepr(key)}`);
      const value = this.value(pair.value);
      const existing = entries.find(([k]) => pyEquals(k, key));
      if (existing) existing[1] = value;
      else entries.push([key, value]);
    }
    return new PyDict(entries, attr);
  }

  private map(node: YAMLMap): Built {
    const tag = node.tag;
    if (tag === undefined || tag === `${TAG}map` || tag === `${TAG}python/dict`) return this.dict(node, false);
    if (tag === `${TAG}set`) return new PySet(this.dict(node, false).entries.map(([k]) => k));
    if (ATTRDICT_TAGS.has(tag)) {
      // AttrDict is a dict subclass: PyYAML writes its items under `dictitems` (state is the
      // immutability flag, which the loaded value does not keep).
      const fields = this.dict(node, false);
      const items = fields.get('dictitems');
      if (items === undefined) return new PyDict([], true);
      if (!(items instanceof PyDict)) throw this.fail(node, 'AttrDict dictitems must be a mapping');
      return new PyDict(items.entries, true);
    }
    const short = tag.startsWith(TAG) ? tag.slice(TAG.length) : tag;
    const numpy = this.numpyCall(short);
    if (numpy === undefined) throw this.unsupportedTag(node, tag);
    const args = this.mapField(node, 'args');
    if (numpy === 'scalar') return this.numpyScalar(node, args);
    if (numpy === 'dtype') return this.numpyDtype(node, args, this.mapField(node, 'state'));
    return this.numpyArray(node);
  }

  private mapField(node: YAMLMap, name: string): unknown[] {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === name);
    if (!pair) return [];
    const v = isAlias(pair.value) ? (pair.value as Alias).resolve(this.doc) : pair.value;
    if (!isSeq(v)) throw this.fail(node, `numpy ${name} must be a list`);
    return v.items;
  }

  private numpyDtype(node: YamlNode, args: unknown[], state: unknown[] | undefined): NpDtypeRef {
    const code = this.build(args[0]);
    const npDtype = typeof code === 'string' ? DTYPE_CODES[code] : undefined;
    if (npDtype === undefined) throw this.fail(node, `unsupported numpy dtype ${JSON.stringify(code)}`);
    const order = state && state.length > 1 ? this.build(state[1]) : '<';
    if (order !== '<' && order !== '>' && order !== '|' && order !== '=') {
      throw this.fail(node, `unsupported numpy byte order ${JSON.stringify(order)}`);
    }
    return { npDtype, littleEndian: order !== '>' };
  }

  /** Raw bytes of a numpy buffer: `!!binary` (py3, or py2 non-text) or text (py2 str). */
  private rawBytes(node: unknown, built: Built): Uint8Array {
    if (built instanceof PyBytes) return built.bytes;
    if (typeof built === 'string') return new Uint8Array(Buffer.from(built, 'utf8'));
    throw this.fail(node as YamlNode, 'numpy data must be bytes');
  }

  private numpyScalar(node: YamlNode, args: unknown[]): NpScalar {
    const dtype = this.build(args[0]);
    if (!isDtypeRef(dtype)) throw this.fail(node, 'numpy scalar without a dtype');
    const bytes = this.rawBytes(args[1], this.build(args[1]));
    const [value] = decodeNumpyBuffer(bytes, dtype, 1, this.where(node));
    return new NpScalar(dtype.npDtype, value);
  }

  /** `_reconstruct(ndarray, (0,), b'b')` then `__setstate__((version, shape, dtype, fortran, data))`. */
  private numpyArray(node: YAMLMap): NpArray {
    const state = this.mapField(node, 'state');
    const shapeValue = this.build(state[1]);
    const dtype = this.build(state[2]);
    const fortran = this.build(state[3]);
    if (!(shapeValue instanceof PyTuple) || !shapeValue.items.every((d) => typeof d === 'bigint')) {
      throw this.fail(node, 'numpy array state has no shape tuple');
    }
    if (!isDtypeRef(dtype)) throw this.fail(node, 'numpy array state has no dtype');
    const shape = shapeValue.items.map((d) => Number(d));
    const count = shape.reduce((a, b) => a * b, 1);
    let data = decodeNumpyBuffer(this.rawBytes(state[4], this.build(state[4])), dtype, count, this.where(node));
    if (fortran === true && shape.length > 1) data = fortranToC(data, shape);
    return new NpArray(dtype.npDtype, shape, data);
  }
}

function fortranToC(data: number[], shape: number[]): number[] {
  const out = new Array<number>(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    let stride = 1;
    for (let d = 0; d < shape.length; d++) {
      f += idx[d] * stride;
      stride *= shape[d];
    }
    out[c] = data[f];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Parses YAML text the way Detectron's `load_cfg` (PyYAML `yaml.load`) does, into Python values.
 * `source` names the file (or "embedded cfg") in error messages.
 */
export function loadPyYaml(text: string, source: string): PyValue {
  const { doc, lines } = parseFailsafeYaml(text, source);
  return new PyYamlBuilder(doc, lines, source, text).value(doc.contents);
}

/**
 * The YAML document with every scalar kept as text (failsafe schema), so that PyYAML's 1.1
 * resolution can be applied by hand, and positions for messages; a syntax error names
 * `source:line:col`.
 */
export function parseFailsafeYaml(text: string, source: string): { doc: Document.Parsed; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    schema: 'failsafe',
    resolveKnownTags: false,
    uniqueKeys: false,
    lineCounter: lines,
    prettyErrors: false,
  });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    throw new Error(`${source}:${pos.line}:${pos.col}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  return { doc, lines };
}

// ---------------------------------------------------------------------------------------------
// Dumping

/** Can `s` be written as a plain YAML scalar that PyYAML reads back as the same string? */
function plainSafe(s: string, inFlow: boolean): boolean {
  if (s === '' || s !== s.trim()) return false;
  if (typeof resolvePlainScalar(s) !== 'string' || TIMESTAMP_RE.test(s)) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s) || s === '<<' || s === '=') return false;
  if (/: |:$| #|[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(s)) return false;
  if (inFlow && /[,[\]{}]/.test(s)) return false;
  return true;
}

function quoteYaml(s: string): string {
  if (/[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(s)) return JSON.stringify(s);
  return `'${s.replace(/'/g, "''")}'`;
}

/** A string as YAML; `decoded` strings also survive Detectron's literal_eval on load. */
export function dumpString(s: string, decoded: boolean, inFlow: boolean): string {
  // A string that literal_eval would turn into something else ('1.50', 'True', '(1,)') is
  // written as its Python repr, which literal_eval turns back into the same string.
  if (decoded && literalEval(s) !== undefined) return quoteYaml(pyStrRepr(s));
  return plainSafe(s, inFlow) ? s : quoteYaml(s);
}

/** A float as a YAML 1.1 float PyYAML recognises (it needs a '.' and a signed exponent). */
export function dumpFloat(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (!Number.isFinite(x)) return x > 0 ? '.inf' : '-.inf';
  const r = pyFloatRepr(x);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([-+]\d+)$/.exec(r);
  if (m) return `${m[1]}${m[2]}.${m[3] ?? '0'}e${m[4]}`;
  return r;
}

/** numpy.float64 as PyYAML wrote it for Detectron's BBOX_XFORM_CLIP. */
export function dumpNpFloat64(x: number): string {
  const buf = Buffer.alloc(8);
  buf.writeDoubleLE(x, 0);
  const dtype =
    '!!python/object/apply:numpy.dtype {args: [f8, 0, 1], state: !!python/tuple [3, <, null, null, null, -1, -1, 0]}';
  return `!!python/object/apply:numpy.core.multiarray.scalar [${dtype}, !!binary '${buf.toString('base64')}']`;
}
