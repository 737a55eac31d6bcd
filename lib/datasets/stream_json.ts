/**
 * Streaming reader for large JSON files such as COCO's annotation files (instances_train2017.json
 * is 448 MB: more than one JavaScript string can hold).
 *
 * The file is read in fixed-size chunks. A byte-level scanner follows the structure of the top
 * level (an object, or an array) and cuts each member value, and each element of a member that
 * is an array, out of the byte stream; each such piece is decoded and handed to the engine's
 * JSON.parse on its own. So only one chunk and one element (one image, one annotation) are ever
 * held as text; the parsed values are whatever the visitor keeps.
 *
 * The result is the same as JSON.parse on the whole text (RFC 8259 JSON, duplicate keys: the last
 * one wins, "__proto__" is an ordinary key). A syntax error is reported as a JsonStreamError with
 * the file, the byte offset, line and column, and the member / element it is in.
 */
import * as fs from 'fs';

/** A syntax error in a JSON file, located in the file. */
export class JsonStreamError extends Error {
  constructor(
    readonly file: string,
    /** Byte offset of the offending byte (or of the end of the file). */
    readonly offset: number,
    /** 1-based line and column (column in bytes) of `offset`. */
    readonly line: number,
    readonly column: number,
    /** What is wrong there, e.g. "unexpected character ']'". */
    readonly detail: string,
    /** Where in the document: 'annotations[17]', 'top level', ... */
    readonly where: string,
  ) {
    super(`${file}: invalid JSON at line ${line}, column ${column} (byte ${offset}), in ${where}: ${detail}`);
    this.name = 'JsonStreamError';
  }
}

/** How a top-level member is delivered. */
export type MemberMode = 'stream' | 'value' | 'skip';

/**
 * Receives the top level of a JSON object piece by piece. For each member, `member(key)` chooses:
 * 'stream' (the default): if the value is an array, each element goes to `item` and the end to
 * `arrayEnd`; any other value goes to `value`. 'value': the whole value goes to `value` (it must
 * fit in one string). 'skip': the value is checked and dropped.
 */
export interface JsonObjectVisitor {
  member?(key: string): MemberMode;
  item?(key: string, value: unknown, index: number): void;
  arrayEnd?(key: string, length: number): void;
  value?(key: string, value: unknown): void;
}

export interface StreamJsonOptions {
  /** Bytes read at a time (default 4 MiB). */
  chunkBytes?: number;
}

const DEFAULT_CHUNK = 4 << 20;

/**
 * Streams a file whose top level is a JSON object through `visitor`. Resolves when the whole
 * file has been read and checked; rejects with a JsonStreamError on a syntax error, or with the
 * visitor's own error (file and position added to its message).
 */
export async function streamJsonObjectFile(path: string, visitor: JsonObjectVisitor, options: StreamJsonOptions = {}): Promise<void> {
  await runScanner(path, new Scanner(visitor, false), options);
}

/**
 * JSON.parse of a whole file, streaming: the elements of the top-level value's arrays are parsed
 * one at a time, so files larger than the largest string can be read (the result must still fit
 * in memory).
 */
export async function parseJsonFile(path: string, options: StreamJsonOptions = {}): Promise<unknown> {
  const root: { value: unknown } = { value: undefined };
  let obj: Record<string, unknown> | null = null;
  let arr: unknown[] | null = null;
  const define = (key: string, v: unknown): void => {
    // defineProperty: "__proto__" must become an own property, as JSON.parse makes it.
    Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
  };
  const visitor: JsonObjectVisitor & { rootStart(kind: 'object' | 'array'): void; rootItem(v: unknown): void; rootValue(v: unknown): void } = {
    rootStart(kind) {
      if (kind === 'object') root.value = obj = {};
      else root.value = arr = [];
    },
    rootItem(v) {
      (arr as unknown[]).push(v);
    },
    rootValue(v) {
      root.value = v;
    },
    member(key) {
      define(key, []);
      return 'stream';
    },
    item(key, v) {
      ((obj as Record<string, unknown>)[key] as unknown[]).push(v);
    },
    value(key, v) {
      define(key, v);
    },
  };
  await runScanner(path, new Scanner(visitor, true), options);
  return root.value;
}

async function runScanner(path: string, scanner: Scanner, options: StreamJsonOptions): Promise<void> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new Error(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, 'r');
  } catch (err) {
    throw new Error(`cannot open JSON file ${path}: ${(err as Error).message}`);
  }
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    let offset = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, chunkBytes, offset);
      if (bytesRead === 0) break;
      scanner.feed(buf, bytesRead, offset);
      offset += bytesRead;
    }
    scanner.end(offset);
  } catch (err) {
    if (err instanceof ScanFailure) {
      const { line, column } = await lineAndColumn(fh, err.offset);
      throw new JsonStreamError(path, err.offset, line, column, err.detail, err.where);
    }
    if (err instanceof VisitorFailure) {
      const { line, column } = await lineAndColumn(fh, err.offset);
      const inner = err.cause;
      const msg = `${path}: line ${line}, column ${column} (byte ${err.offset}), ${err.where}: ${inner.message}`;
      throw Object.assign(new Error(msg), { cause: inner });
    }
    throw err;
  } finally {
    await fh.close();
  }
}

/** 1-based line and byte column of `offset`, counting '\n' in the file before it. */
async function lineAndColumn(fh: fs.promises.FileHandle, offset: number): Promise<{ line: number; column: number }> {
  const buf = Buffer.allocUnsafe(1 << 20);
  let line = 1;
  let lineStart = 0;
  for (let pos = 0; pos < offset; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, offset - pos), pos);
    if (bytesRead === 0) break;
    for (let i = buf.indexOf(0x0a, 0); i >= 0 && i < bytesRead; i = buf.indexOf(0x0a, i + 1)) {
      line++;
      lineStart = pos + i + 1;
    }
    pos += bytesRead;
  }
  return { line, column: offset - lineStart + 1 };
}

/** A syntax error found while scanning (line and column are added afterwards). */
class ScanFailure extends Error {
  constructor(
    readonly offset: number,
    readonly detail: string,
    readonly where: string,
  ) {
    super(detail);
  }
}

/** An error thrown by the visitor, with the position of the value it was given. */
class VisitorFailure extends Error {
  constructor(
    readonly offset: number,
    readonly where: string,
    override readonly cause: Error,
  ) {
    super(cause.message);
  }
}

// Byte values.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Scanner states between values. */
const enum St {
  /** Before the top-level value. */
  Start,
  /** After '{': a key or '}'. */
  KeyOrEnd,
  /** After ',' in the object: a key. */
  Key,
  /** After a key: ':'. */
  Colon,
  /** After ':': the member's value. */
  MemberValue,
  /** After a member's value: ',' or '}'. */
  MemberCommaOrEnd,
  /** After '[' of a streamed array: an element or ']'. */
  ItemOrEnd,
  /** After ',' in a streamed array: an element. */
  Item,
  /** After an element: ',' or ']'. */
  ItemCommaOrEnd,
  /** After the top-level value: only whitespace. */
  Done,
}

/** What the value being collected is. */
const enum Collect {
  None,
  /** The key string of a member. */
  Key,
  /** A member's value given whole. */
  MemberValue,
  /** An element of a streamed array. */
  Item,
  /** The whole top-level value (neither object nor array, or an array inside parseJsonFile's root). */
  RootValue,
}

const enum Kind {
  Container,
  String,
  Scalar,
}

type RootVisitor = JsonObjectVisitor & {
  rootStart?(kind: 'object' | 'array'): void;
  rootItem?(v: unknown): void;
  rootValue?(v: unknown): void;
};

class Scanner {
  private state = St.Start;
  /** The top level is an array whose elements are streamed (parseJsonFile only). */
  private rootArray = false;
  private key = '';
  private mode: MemberMode = 'stream';
  private index = 0;

  // The value being collected.
  private collect = Collect.None;
  private kind = Kind.Scalar;
  private depth = 0;
  private inString = false;
  private escape = false;
  /** Absolute offset of the value's first byte. */
  private valueStart = 0;
  /** Copies of the value's bytes from earlier chunks. */
  private parts: Buffer[] = [];

  constructor(
    private readonly visitor: RootVisitor,
    private readonly anyRoot: boolean,
  ) {}

  private where(): string {
    if (this.state === St.Start || this.state === St.Done || this.collect === Collect.RootValue) return 'the top level';
    if (this.rootArray) return `element [${this.index}] of the top-level array`;
    if (this.collect === Collect.Key || this.state === St.Key || this.state === St.KeyOrEnd) return 'a top-level key';
    if (this.collect === Collect.Item || this.state === St.ItemOrEnd || this.state === St.Item || this.state === St.ItemCommaOrEnd) {
      return `"${this.key}"[${this.index}]`;
    }
    return `"${this.key}"`;
  }

  private fail(offset: number, detail: string): never {
    throw new ScanFailure(offset, detail, this.where());
  }

  private unexpected(c: number, offset: number, expected: string): never {
    this.fail(offset, `unexpected ${describeByte(c)}, expected ${expected}`);
  }

  feed(buf: Buffer, n: number, base: number): void {
    let i = 0;
    while (i < n) {
      if (this.collect !== Collect.None) {
        i = this.continueValue(buf, i, n, base);
        continue;
      }
      const c = buf[i];
      if (isWs(c)) {
        i++;
        continue;
      }
      const at = base + i;
      switch (this.state) {
        case St.Start:
          if (c === 0xef) this.fail(at, 'the file starts with a UTF-8 byte order mark, which JSON does not allow');
          if (c === LBRACE) {
            this.visitor.rootStart?.('object');
            this.state = St.KeyOrEnd;
            i++;
          } else if (!this.anyRoot) {
            this.unexpected(c, at, "'{' (the file must hold a JSON object)");
          } else if (c === LBRACKET) {
            this.visitor.rootStart?.('array');
            this.rootArray = true;
            this.index = 0;
            this.state = St.ItemOrEnd;
            i++;
          } else {
            this.beginValue(Collect.RootValue, c, at);
          }
          break;
        case St.KeyOrEnd:
        case St.Key:
          if (c === QUOTE) this.beginValue(Collect.Key, c, at);
          else if (c === RBRACE && this.state === St.KeyOrEnd) {
            this.state = St.Done;
            i++;
          } else this.unexpected(c, at, this.state === St.Key ? 'a key string' : "a key string or '}'");
          break;
        case St.Colon:
          if (c !== COLON) this.unexpected(c, at, "':'");
          this.state = St.MemberValue;
          i++;
          break;
        case St.MemberValue:
          if (c === LBRACKET && this.mode !== 'value') {
            // Streamed (or, for 'skip', checked element by element and dropped).
            this.index = 0;
            this.state = St.ItemOrEnd;
            i++;
          } else {
            this.beginValue(Collect.MemberValue, c, at);
          }
          break;
        case St.MemberCommaOrEnd:
          if (c === COMMA) this.state = St.Key;
          else if (c === RBRACE) this.state = St.Done;
          else this.unexpected(c, at, "',' or '}'");
          i++;
          break;
        case St.ItemOrEnd:
        case St.Item:
          if (c === RBRACKET && this.state === St.ItemOrEnd) {
            this.endArray(at);
            i++;
          } else if (c === RBRACKET || c === COMMA || c === RBRACE || c === COLON) {
            this.unexpected(c, at, 'a value');
          } else {
            this.beginValue(Collect.Item, c, at);
          }
          break;
        case St.ItemCommaOrEnd:
          if (c === COMMA) {
            this.index++;
            this.state = St.Item;
          } else if (c === RBRACKET) {
            this.index++;
            this.endArray(at);
          } else this.unexpected(c, at, "',' or ']'");
          i++;
          break;
        case St.Done:
          this.unexpected(c, at, 'the end of the file after the top-level value');
      }
    }
  }

  private endArray(at: number): void {
    if (this.rootArray) {
      this.state = St.Done;
      return;
    }
    if (this.mode === 'stream') this.call(at, () => this.visitor.arrayEnd?.(this.key, this.index));
    this.state = St.MemberCommaOrEnd;
  }

  /** Starts collecting the value whose first byte is `c` (not consumed yet). */
  private beginValue(what: Collect, c: number, at: number): void {
    this.collect = what;
    this.valueStart = at;
    this.parts.length = 0;
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    if (c === LBRACE || c === LBRACKET) this.kind = Kind.Container;
    else if (c === QUOTE) this.kind = Kind.String;
    else if (c === RBRACE || c === RBRACKET || c === COMMA || c === COLON) this.unexpected(c, at, 'a value');
    else this.kind = Kind.Scalar;
  }

  /** Scans the value being collected from buf[i]; returns where the outer scan goes on. */
  private continueValue(buf: Buffer, i: number, n: number, base: number): number {
    const start = i;
    let end = -1;
    if (this.kind === Kind.Container) {
      let depth = this.depth;
      let inString = this.inString;
      let escape = this.escape;
      for (; i < n; i++) {
        const c = buf[i];
        if (inString) {
          if (escape) escape = false;
          else if (c === BACKSLASH) escape = true;
          else if (c === QUOTE) inString = false;
          continue;
        }
        if (c < LBRACKET) {
          // digits, signs, '.', ',', ':', whitespace: nothing to track but strings
          if (c === QUOTE) inString = true;
          continue;
        }
        if (c === LBRACE || c === LBRACKET) depth++;
        else if (c === RBRACE || c === RBRACKET) {
          if (--depth === 0) {
            end = i + 1;
            break;
          }
        }
      }
      this.depth = depth;
      this.inString = inString;
      this.escape = escape;
    } else if (this.kind === Kind.String) {
      // The opening quote is at the value's first byte.
      let first = this.parts.length === 0 && base + start === this.valueStart;
      let escape = this.escape;
      for (; i < n; i++) {
        const c = buf[i];
        if (first) {
          first = false;
          continue;
        }
        if (escape) escape = false;
        else if (c === BACKSLASH) escape = true;
        else if (c === QUOTE) {
          end = i + 1;
          break;
        }
      }
      this.escape = escape;
    } else {
      for (; i < n; i++) {
        const c = buf[i];
        if (isWs(c) || c === COMMA || c === RBRACKET || c === RBRACE || c === COLON) {
          end = i;
          break;
        }
      }
    }
    if (end < 0) {
      this.parts.push(Buffer.from(buf.subarray(start, n)));
      return n;
    }
    let text: string;
    if (this.parts.length === 0) text = buf.toString('utf8', start, end);
    else {
      this.parts.push(buf.subarray(start, end));
      text = Buffer.concat(this.parts).toString('utf8');
      this.parts.length = 0;
    }
    this.finishValue(text);
    return end;
  }

  /** Parses a collected value and hands it on. */
  private finishValue(text: string): void {
    const what = this.collect;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const { index, detail } = locateJsonError(text, (err as Error).message);
      this.fail(this.valueStart + Buffer.byteLength(text.slice(0, index), 'utf8'), detail);
    }
    this.collect = Collect.None;
    const at = this.valueStart;
    switch (what) {
      case Collect.Key:
        this.key = value as string;
        this.mode = 'stream';
        this.call(at, () => {
          this.mode = this.visitor.member?.(this.key) ?? 'stream';
        });
        this.state = St.Colon;
        break;
      case Collect.MemberValue:
        if (this.mode !== 'skip') this.call(at, () => this.visitor.value?.(this.key, value));
        this.state = St.MemberCommaOrEnd;
        break;
      case Collect.Item:
        if (this.rootArray) this.visitor.rootItem?.(value);
        else if (this.mode !== 'skip') this.call(at, () => this.visitor.item?.(this.key, value, this.index));
        this.state = St.ItemCommaOrEnd;
        break;
      case Collect.RootValue:
        this.visitor.rootValue?.(value);
        this.state = St.Done;
        break;
      default:
        break;
    }
  }

  private call(at: number, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw new VisitorFailure(at, this.where(), err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** At the end of the file. */
  end(size: number): void {
    if (this.collect !== Collect.None) {
      // Only a top-level number / true / false / null ends with the file.
      if (this.collect === Collect.RootValue && this.kind === Kind.Scalar) {
        this.finishValue(Buffer.concat(this.parts).toString('utf8'));
        return;
      }
      this.fail(size, 'unexpected end of file');
    }
    if (this.state === St.Done) return;
    if (this.state === St.Start) this.fail(size, 'the file is empty (no JSON value)');
    this.fail(size, 'unexpected end of file');
  }
}

function describeByte(c: number): string {
  if (c >= 0x20 && c < 0x7f) return `character '${String.fromCharCode(c)}'`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/**
 * Where JSON.parse failed in `text`, found by a strict validator (engines' messages do not
 * always give a position): the UTF-16 index of the offending character and what is wrong.
 */
export function locateJsonError(text: string, fallback: string): { index: number; detail: string } {
  const v = new Validator(text);
  try {
    v.value(0);
    v.ws();
    if (v.i < text.length) v.err(`unexpected ${v.describe()} after the value`);
  } catch (err) {
    if (err instanceof ValidationError) return { index: err.index, detail: err.message };
    if (err instanceof RangeError) return { index: 0, detail: `value nested too deeply (${fallback})` };
    throw err;
  }
  return { index: 0, detail: fallback };
}

class ValidationError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_DEPTH = 10000;

/** A strict RFC 8259 recursive-descent checker, used only to locate an error. */
class Validator {
  i = 0;

  constructor(private readonly s: string) {}

  err(msg: string, at = this.i): never {
    throw new ValidationError(at, msg);
  }

  describe(): string {
    if (this.i >= this.s.length) return 'end of data';
    const ch = this.s[this.i];
    const code = ch.charCodeAt(0);
    return code < 0x20 ? `control character U+${code.toString(16).padStart(4, '0')}` : `character '${ch}'`;
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) this.err('value nested too deeply');
    this.ws();
    const c = this.s[this.i];
    if (c === '{') this.object(depth);
    else if (c === '[') this.array(depth);
    else if (c === '"') this.string();
    else if (c === '-' || (c >= '0' && c <= '9')) this.number();
    else if (this.s.startsWith('true', this.i)) this.i += 4;
    else if (this.s.startsWith('false', this.i)) this.i += 5;
    else if (this.s.startsWith('null', this.i)) this.i += 4;
    else this.err(`unexpected ${this.describe()}, expected a value`);
  }

  object(depth: number): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.err(`unexpected ${this.describe()}, expected a key string`);
      this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.err(`unexpected ${this.describe()}, expected ':'`);
      this.i++;
      this.value(depth + 1);
      this.ws();
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === '}') {
        this.i++;
        return;
      } else this.err(`unexpected ${this.describe()}, expected ',' or '}'`);
    }
  }

  array(depth: number): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.ws();
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === ']') {
        this.i++;
        return;
      } else this.err(`unexpected ${this.describe()}, expected ',' or ']'`);
    }
  }

  string(): void {
    this.i++;
    for (;;) {
      if (this.i >= this.s.length) this.err('unterminated string');
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return;
      }
      if (c < 0x20) this.err(`${this.describe()} in a string`);
      if (c === 0x5c) {
        const e = this.s[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) this.err('invalid \\u escape');
          this.i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i += 2;
        else this.err('invalid escape in a string');
      } else this.i++;
    }
  }

  number(): void {
    const m = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    m.lastIndex = this.i;
    const r = m.exec(this.s);
    if (r === null || r[0] === '-' || r[0].length === 0) this.err('invalid number');
    this.i += r[0].length;
    const next = this.s[this.i];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.err('invalid number');
  }
}
