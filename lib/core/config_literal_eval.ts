/**
 * Python 3's `ast.literal_eval`, as Detectron's `_decode_cfg_value` uses it.
 *
 * Detectron runs every string config value (from YAML or the command line) through
 * `literal_eval`; when Python raises ValueError or SyntaxError the text stays a plain string.
 * `decodeCfgValue` mirrors that: it returns the literal's value, or the text itself when Python
 * would not read it as a literal. Where Python would raise something else (an unhashable dict
 * key) or produce a value this port does not model (complex numbers, `\N{…}` escapes), it throws.
 */
import { PyBytes, PyDict, PyEllipsis, PySet, PyTuple, PyValue, pyIsHashable, pyEquals, pyRepr } from './config_pyvalue';

/** Python would raise ValueError/SyntaxError: Detectron keeps the text as a string. */
class NotALiteral extends Error {}

type Token =
  | { kind: 'num'; value: bigint | number; imag: boolean }
  | { kind: 'str'; value: string | Uint8Array; fstring: boolean }
  | { kind: 'name'; value: string }
  | { kind: 'op'; value: string }
  | { kind: 'newline' }
  | { kind: 'end' };

const IDENT = /[A-Za-z_0-9\u0080-\uffff]/;
const DIGITS = '[0-9](?:_?[0-9])*';
const POINT_FLOAT = `(?:(?:${DIGITS})?\\.${DIGITS}|${DIGITS}\\.)`;
const EXP_FLOAT = `(?:${DIGITS}|${POINT_FLOAT})[eE][+-]?${DIGITS}`;
const IMAG_RE = new RegExp(`(?:${EXP_FLOAT}|${POINT_FLOAT}|${DIGITS})[jJ]`, 'y');
const FLOAT_RE = new RegExp(`${EXP_FLOAT}|${POINT_FLOAT}`, 'y');
const INT_RE = /0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[0-9a-fA-F])+|[1-9](?:_?[0-9])*|0+(?:_?0)*/y;
const STRING_PREFIXES = new Set(['', 'r', 'u', 'b', 'br', 'rb', 'f', 'fr', 'rf']);

function matchAt(re: RegExp, text: string, at: number): string | null {
  re.lastIndex = at;
  const m = re.exec(text);
  return m ? m[0] : null;
}

function parseIntLiteral(text: string): bigint {
  const t = text.replace(/_/g, '');
  if (/^0[bBoOxX]/.test(t)) return BigInt(t.toLowerCase());
  return BigInt(t);
}

class Tokenizer {
  private pos = 0;
  private depth = 0;
  private lineHasToken = false;
  readonly tokens: Token[] = [];

  constructor(private readonly src: string) {}

  run(): Token[] {
    while (this.pos < this.src.length) this.step();
    if (this.depth > 0) throw new NotALiteral('unclosed bracket');
    this.tokens.push({ kind: 'end' });
    return this.tokens;
  }

  private push(t: Token): void {
    this.tokens.push(t);
    this.lineHasToken = true;
  }

  private step(): void {
    const s = this.src;
    const c = s[this.pos];
    if (c === ' ' || c === '\t' || c === '\f') {
      if (this.depth === 0 && this.atLineStart()) this.rejectIndentedLine();
      this.pos++;
      return;
    }
    if (c === '\0') throw new NotALiteral('null byte');
    if (c === '#') {
      while (this.pos < s.length && s[this.pos] !== '\n' && s[this.pos] !== '\r') this.pos++;
      return;
    }
    if (c === '\\' && (s[this.pos + 1] === '\n' || s[this.pos + 1] === '\r')) {
      this.pos += s.startsWith('\r\n', this.pos + 1) ? 3 : 2;
      if (this.pos >= s.length) throw new NotALiteral('EOF after line continuation');
      return;
    }
    if (c === '\n' || c === '\r') {
      if (this.depth === 0 && this.lineHasToken) this.tokens.push({ kind: 'newline' });
      this.lineHasToken = false;
      this.pos++;
      return;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(s[this.pos + 1] ?? ''))) return this.number();
    if (c === '"' || c === "'") return this.string('');
    if (IDENT.test(c)) return this.nameOrString();
    if (s.startsWith('...', this.pos)) {
      this.push({ kind: 'op', value: '...' });
      this.pos += 3;
      return;
    }
    if ('([{'.includes(c)) this.depth++;
    if (')]}'.includes(c)) {
      if (this.depth === 0) throw new NotALiteral('unmatched bracket');
      this.depth--;
    }
    this.push({ kind: 'op', value: c });
    this.pos++;
  }

  private atLineStart(): boolean {
    return this.pos > 0 && (this.src[this.pos - 1] === '\n' || this.src[this.pos - 1] === '\r');
  }

  /** An indented line at top level is an IndentationError, unless it is blank or a comment. */
  private rejectIndentedLine(): void {
    let p = this.pos;
    while (p < this.src.length && ' \t\f'.includes(this.src[p])) p++;
    const next = this.src[p];
    const blank = next === undefined || next === '\n' || next === '\r' || next === '#';
    if (!blank) throw new NotALiteral('unexpected indent');
  }

  private number(): void {
    const s = this.src;
    const imag = matchAt(IMAG_RE, s, this.pos);
    const flt = matchAt(FLOAT_RE, s, this.pos);
    const int = matchAt(INT_RE, s, this.pos);
    let text: string;
    let token: Token;
    if (imag !== null && imag.length >= (flt?.length ?? 0) && imag.length >= (int?.length ?? 0)) {
      text = imag;
      token = { kind: 'num', value: Number(imag.slice(0, -1).replace(/_/g, '')), imag: true };
    } else if (flt !== null && flt.length >= (int?.length ?? 0)) {
      text = flt;
      token = { kind: 'num', value: Number(flt.replace(/_/g, '')), imag: false };
    } else if (int !== null) {
      text = int;
      token = { kind: 'num', value: parseIntLiteral(int), imag: false };
    } else {
      throw new NotALiteral('invalid number');
    }
    this.pos += text.length;
    // "1abc", "0777", "1_": Python's tokenizer rejects a number running into a name or digit.
    if (this.pos < s.length && IDENT.test(s[this.pos])) throw new NotALiteral('invalid decimal literal');
    this.push(token);
  }

  private nameOrString(): void {
    const s = this.src;
    let end = this.pos;
    while (end < s.length && IDENT.test(s[end])) end++;
    const word = s.slice(this.pos, end);
    if ((s[end] === '"' || s[end] === "'") && STRING_PREFIXES.has(word.toLowerCase())) {
      this.pos = end;
      return this.string(word.toLowerCase());
    }
    this.pos = end;
    this.push({ kind: 'name', value: word });
  }

  private string(prefix: string): void {
    const s = this.src;
    const q = s[this.pos];
    const triple = s.startsWith(q.repeat(3), this.pos);
    const close = triple ? q.repeat(3) : q;
    let p = this.pos + close.length;
    let body = '';
    for (;;) {
      if (p >= s.length) throw new NotALiteral('unterminated string');
      if (s.startsWith(close, p)) break;
      const ch = s[p];
      if (!triple && (ch === '\n' || ch === '\r')) throw new NotALiteral('unterminated string');
      if (ch === '\\' && p + 1 < s.length) {
        body += ch + s[p + 1];
        p += 2;
        continue;
      }
      body += ch;
      p++;
    }
    this.pos = p + close.length;
    const raw = prefix.includes('r');
    const bytes = prefix.includes('b');
    const fstring = prefix.includes('f');
    if (bytes) {
      this.push({ kind: 'str', value: decodeBytes(body, raw), fstring: false });
    } else {
      this.push({ kind: 'str', value: raw ? body : decodeEscapes(body), fstring });
    }
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Python's escape sequences in a (non-raw) str literal. */
function decodeEscapes(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = body[++i];
    if (e === '\n') continue;
    if (e === '\r') {
      if (body[i + 1] === '\n') i++;
      continue;
    }
    if (e in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[e];
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i)) as RegExpExecArray;
      out += String.fromCodePoint(parseInt(m[0], 8));
      i += m[0].length - 1;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new NotALiteral('truncated escape');
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) throw new NotALiteral('illegal Unicode character');
      out += String.fromCodePoint(cp);
      i += n;
    } else if (e === 'N') {
      throw new Error('config values with \\N{...} escapes are not supported; write the character itself');
    } else {
      out += `\\${e}`;
    }
  }
  return out;
}

/** A bytes literal: ASCII only; \u, \U and \N are not escapes there. */
function decodeBytes(body: string, raw: boolean): Uint8Array {
  for (const ch of body) if (ch.charCodeAt(0) > 0x7f) throw new NotALiteral('bytes can only contain ASCII');
  let text = body;
  if (!raw) {
    text = '';
    for (let i = 0; i < body.length; i++) {
      if (body[i] === '\\' && 'uUN'.includes(body[i + 1] ?? '')) {
        text += body[i] + body[i + 1];
        i++;
        continue;
      }
      if (body[i] === '\\') {
        const start = i;
        const e = body[i + 1];
        let len = 2;
        if (e === 'x') len = 4;
        else if (/[0-7]/.test(e)) len = 1 + (/^[0-7]{1,3}/.exec(body.slice(i + 1)) as RegExpExecArray)[0].length;
        const decoded = decodeEscapes(body.slice(start, start + len));
        if (decoded.length === 1 && decoded.charCodeAt(0) > 0xff) throw new NotALiteral('bytes escape out of range');
        text += decoded;
        i = start + len - 1;
        continue;
      }
      text += body[i];
    }
  }
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Syntax tree of the literal subset; anything else has already failed to parse. */
type Node =
  | { t: 'const'; v: PyValue }
  | { t: 'imag' }
  | { t: 'name'; id: string }
  | { t: 'unary'; op: string; operand: Node }
  | { t: 'binary'; op: string; left: Node; right: Node }
  | { t: 'tuple'; items: Node[] }
  | { t: 'list'; items: Node[] }
  | { t: 'set'; items: Node[] }
  | { t: 'dict'; keys: Node[]; values: Node[] }
  | { t: 'call'; fn: string };

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  parseInput(): Node {
    const node = this.testlist(['newline', 'end']);
    while (this.peek().kind === 'newline') this.i++;
    if (this.peek().kind !== 'end') throw new NotALiteral('invalid syntax');
    return node;
  }

  private peek(): Token {
    return this.toks[this.i];
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === v;
  }

  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new NotALiteral('invalid syntax');
    this.i++;
  }

  private atEndOf(closers: string[]): boolean {
    const t = this.peek();
    if (t.kind === 'newline' || t.kind === 'end') return closers.includes(t.kind);
    return t.kind === 'op' && closers.includes(t.value);
  }

  /** `a, b, c` with an optional trailing comma; a tuple when there is any comma. */
  private testlist(closers: string[]): Node {
    if (this.atEndOf(closers)) throw new NotALiteral('empty expression');
    const first = this.expr();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.isOp(',')) {
      this.i++;
      if (this.atEndOf(closers)) break;
      items.push(this.expr());
    }
    return { t: 'tuple', items };
  }

  /** Additive expression: the only binary operators literal_eval accepts (for complex). */
  private expr(): Node {
    let left = this.unary();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.peek() as { value: string }).value;
      this.i++;
      left = { t: 'binary', op, left, right: this.unary() };
    }
    if (this.peek().kind === 'op' && /^[*/%@<>=!&|^~.]$/.test((this.peek() as { value: string }).value)) {
      throw new NotALiteral('operator not allowed in a literal');
    }
    return left;
  }

  private unary(): Node {
    if (this.isOp('-') || this.isOp('+')) {
      const op = (this.peek() as { value: string }).value;
      this.i++;
      return { t: 'unary', op, operand: this.unary() };
    }
    return this.atom();
  }

  private atom(): Node {
    const t = this.peek();
    this.i++;
    if (t.kind === 'num') return t.imag ? { t: 'imag' } : { t: 'const', v: t.value };
    if (t.kind === 'str') return this.strings(t);
    if (t.kind === 'name') {
      if (this.isOp('(')) {
        this.i++;
        this.expectOp(')');
        return { t: 'call', fn: t.value };
      }
      return { t: 'name', id: t.value };
    }
    if (t.kind !== 'op') throw new NotALiteral('invalid syntax');
    if (t.value === '...') return { t: 'const', v: PyEllipsis.INSTANCE };
    if (t.value === '(') return this.parenthesised();
    if (t.value === '[') return this.list();
    if (t.value === '{') return this.braces();
    throw new NotALiteral('invalid syntax');
  }

  /** Adjacent string literals concatenate; str and bytes cannot mix; f-strings are not literals. */
  private strings(first: Extract<Token, { kind: 'str' }>): Node {
    const parts = [first];
    for (let t = this.peek(); t.kind === 'str'; t = this.peek()) {
      parts.push(t);
      this.i++;
    }
    const isBytes = parts.map((p) => p.value instanceof Uint8Array);
    if (isBytes.some((b) => b !== isBytes[0])) throw new NotALiteral('cannot mix bytes and nonbytes literals');
    if (parts.some((p) => p.fstring)) return { t: 'name', id: '<f-string>' };
    if (isBytes[0]) {
      const arrays = parts.map((p) => p.value as Uint8Array);
      const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
      let at = 0;
      for (const a of arrays) {
        out.set(a, at);
        at += a.length;
      }
      return { t: 'const', v: new PyBytes(out) };
    }
    return { t: 'const', v: parts.map((p) => p.value as string).join('') };
  }

  private parenthesised(): Node {
    if (this.isOp(')')) {
      this.i++;
      return { t: 'tuple', items: [] };
    }
    const node = this.testlist([')']);
    this.expectOp(')');
    return node;
  }

  private list(): Node {
    const items: Node[] = [];
    while (!this.isOp(']')) {
      items.push(this.expr());
      if (!this.isOp(',')) break;
      this.i++;
    }
    this.expectOp(']');
    return { t: 'list', items };
  }

  private braces(): Node {
    if (this.isOp('}')) {
      this.i++;
      return { t: 'dict', keys: [], values: [] };
    }
    const first = this.expr();
    if (this.isOp(':')) {
      const keys = [first];
      this.i++;
      const values = [this.expr()];
      while (this.isOp(',')) {
        this.i++;
        if (this.isOp('}')) break;
        keys.push(this.expr());
        this.expectOp(':');
        values.push(this.expr());
      }
      this.expectOp('}');
      return { t: 'dict', keys, values };
    }
    const items = [first];
    while (this.isOp(',')) {
      this.i++;
      if (this.isOp('}')) break;
      items.push(this.expr());
    }
    this.expectOp('}');
    return { t: 'set', items };
  }
}

const UNSUPPORTED_COMPLEX = 'complex numbers are not supported in config values';

function isRealNumber(v: PyValue): v is bigint | number {
  return typeof v === 'bigint' || typeof v === 'number';
}

/** A (possibly signed) int/float constant, as literal_eval's `_convert_signed_num`. */
function signedNumber(node: Node): bigint | number | 'imag' {
  if (node.t === 'imag') return 'imag';
  if (node.t === 'const' && isRealNumber(node.v)) return node.v;
  if (node.t === 'unary') {
    const operand = node.operand;
    if (operand.t === 'imag') return 'imag';
    if (operand.t === 'const' && isRealNumber(operand.v)) {
      if (node.op === '+') return operand.v;
      return typeof operand.v === 'bigint' ? -operand.v : -operand.v;
    }
  }
  throw new NotALiteral('malformed node');
}

function hashable(v: PyValue): PyValue {
  if (!pyIsHashable(v)) throw new Error(`unhashable value ${pyRepr(v)} used as a dict key or set item`);
  return v;
}

function evaluate(node: Node): PyValue {
  switch (node.t) {
    case 'const':
      return node.v;
    case 'imag':
      throw new Error(UNSUPPORTED_COMPLEX);
    case 'name':
      if (node.id === 'True') return true;
      if (node.id === 'False') return false;
      if (node.id === 'None') return null;
      throw new NotALiteral('malformed node');
    case 'call':
      // Python >= 3.9 reads `set()` as the empty set.
      if (node.fn === 'set') return new PySet([]);
      throw new NotALiteral('malformed node');
    case 'unary': {
      const n = signedNumber(node);
      if (n === 'imag') throw new Error(UNSUPPORTED_COMPLEX);
      return n;
    }
    case 'binary': {
      // Only `real ± imaginary` is a literal; everything else is ValueError.
      const left = signedNumber(node.left);
      if (node.right.t === 'imag' && left !== 'imag') throw new Error(UNSUPPORTED_COMPLEX);
      throw new NotALiteral('malformed node');
    }
    case 'tuple':
      return new PyTuple(node.items.map(evaluate));
    case 'list':
      return node.items.map(evaluate);
    case 'set': {
      const out: PyValue[] = [];
      for (const item of node.items.map(evaluate)) {
        if (!out.some((x) => pyEquals(x, hashable(item)))) out.push(item);
      }
      return new PySet(out);
    }
    case 'dict': {
      const entries: Array<[PyValue, PyValue]> = [];
      node.keys.forEach((k, idx) => {
        const key = hashable(evaluate(k));
        const value = evaluate(node.values[idx]);
        const existing = entries.find(([x]) => pyEquals(x, key));
        if (existing) existing[1] = value;
        else entries.push([key, value]);
      });
      return new PyDict(entries, false);
    }
  }
}

/**
 * `ast.literal_eval(text)`; returns `undefined` where Python raises ValueError or SyntaxError.
 * Throws (with a clear message) where Python would raise anything else.
 */
export function literalEval(text: string): PyValue | undefined {
  try {
    // Python 3.10+ strips leading spaces and tabs before parsing.
    const src = text.replace(/^[ \t]+/, '');
    const tokens = new Tokenizer(src).run();
    return evaluate(new Parser(tokens).parseInput());
  } catch (err) {
    if (err instanceof NotALiteral) return undefined;
    throw err;
  }
}

/**
 * Detectron's `_decode_cfg_value` for a string: the literal it spells, or the string itself
 * (Detectron's configs write bare strings such as `generalized_rcnn` or `FPN.add_fpn_…`).
 */
export function decodeCfgString(text: string): PyValue {
  const v = literalEval(text);
  return v === undefined ? text : v;
}
