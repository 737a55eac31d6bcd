/**
 * A strict, data-only pickle machine for protocols 1-5 (binary opcodes).
 *
 * Why not the `pickleparser` package alone: its SHORT_BINSTRING/BINSTRING go through
 * TextDecoder('ascii') (which is windows-1252), so Python 2 array bytes come out corrupted; its
 * opcode switch cannot be extended per opcode; unknown globals become placeholder objects instead
 * of errors; DICT assigns keys on a plain object ('__proto__' included); a short stack or a missing
 * memo entry yields `undefined` instead of an error; and its errors carry no file or offset.
 * This machine follows CPython's Lib/pickle.py semantics for the opcodes it accepts and refuses
 * everything else with the file, the byte offset and the opcode.
 *
 * Termination: every opcode consumes at least one byte and no opcode loops, so any input ends
 * (with a value or an error) after at most file-size steps.
 */
import { callGlobal, resolveGlobal, type CallContext } from './allowed_globals';
import type { ByteReader } from './byte_reader';
import { setArrayState, setDTypeState } from './numpy_arrays';
import { HIGHEST_PROTOCOL, OP, opcodeName } from './opcodes';
import {
  NumpyArray,
  NumpyDType,
  Py2Str,
  PyFloat,
  PyTuple,
  describe,
  latin1Text,
  type PyDict,
  type PyKey,
  type PyValue,
} from './python_objects';

export interface Unpickled {
  value: PyValue;
  /** From the PROTO opcode; 1 when there is none (protocol 0 text opcodes are refused). */
  protocol: number;
}

/** Runs the pickle in `reader` to its STOP opcode; the whole input must be that one pickle. */
export function unpickle(reader: ByteReader): Unpickled {
  return new Unpickler(reader).run();
}

/** Python ints can be arbitrarily long; nothing in a weights file needs more than a few bytes. */
const MAX_LONG_BYTES = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Unpickler {
  private readonly stack: PyValue[] = [];
  /** Stack heights at each MARK (CPython keeps the same thing as its metastack). */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private protocol = 1;
  private opStart = 0;
  private op = 0;
  private readonly ctx: CallContext;

  constructor(private readonly reader: ByteReader) {
    this.ctx = { fail: (detail) => this.fail(detail), claimed: new WeakSet() };
  }

  run(): Unpickled {
    for (;;) {
      if (this.reader.remaining === 0) this.reader.fail('truncated: the pickle ends without a STOP opcode');
      this.opStart = this.reader.position;
      this.op = this.reader.u8('opcode');
      if (this.op === OP.STOP) return this.stop();
      this.step();
    }
  }

  private stop(): Unpickled {
    const value = this.pop();
    if (this.stack.length > 0 || this.marks.length > 0) {
      this.fail(`the pickle stops with ${this.stack.length} value(s) and ${this.marks.length} MARK(s) left over`);
    }
    if (this.reader.remaining > 0) {
      this.reader.fail(`${this.reader.remaining} unexpected byte(s) after the STOP opcode`, this.reader.position);
    }
    return { value, protocol: this.protocol };
  }

  /** An error at the current opcode. */
  private fail(detail: string): never {
    this.reader.fail(`${opcodeName(this.op)}: ${detail}`, this.opStart);
  }

  private what(part: string): string {
    return `${opcodeName(this.op)} ${part}`;
  }

  // ---- stack ------------------------------------------------------------------------------

  private get frameBase(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
  }

  private push(value: PyValue): void {
    this.stack.push(value);
  }

  private pop(): PyValue {
    if (this.stack.length <= this.frameBase) this.fail('stack underflow');
    return this.stack.pop() as PyValue;
  }

  private top(): PyValue {
    if (this.stack.length <= this.frameBase) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  /** Removes and returns everything pushed since the last MARK. */
  private popMark(): PyValue[] {
    const base = this.marks.pop();
    if (base === undefined) this.fail('no MARK to pop to');
    return this.stack.splice(base);
  }

  // ---- opcodes ----------------------------------------------------------------------------

  private step(): void {
    const r = this.reader;
    switch (this.op) {
      case OP.PROTO: {
        const version = r.u8(this.what('version'));
        if (version > HIGHEST_PROTOCOL) this.fail(`unsupported pickle protocol ${version} (at most ${HIGHEST_PROTOCOL})`);
        this.protocol = version;
        return;
      }
      case OP.FRAME:
        // Frames only group opcodes for buffered reading; check the announced length exists.
        r.require(r.u64(this.what('length')), 'FRAME contents');
        return;
      case OP.MARK:
        this.marks.push(this.stack.length);
        return;
      case OP.POP:
        if (this.stack.length > this.frameBase) this.stack.pop();
        else this.popMark();
        return;
      case OP.POP_MARK:
        this.popMark();
        return;
      case OP.DUP:
        this.push(this.top());
        return;

      case OP.NONE:
        return this.push(null);
      case OP.NEWTRUE:
        return this.push(true);
      case OP.NEWFALSE:
        return this.push(false);
      case OP.BININT:
        return this.push(r.i32(this.what('argument')));
      case OP.BININT1:
        return this.push(r.u8(this.what('argument')));
      case OP.BININT2:
        return this.push(r.u16(this.what('argument')));
      case OP.LONG1:
        return this.push(this.readLong(r.u8(this.what('length'))));
      case OP.LONG4: {
        const n = r.i32(this.what('length'));
        if (n < 0) this.fail(`negative length ${n}`);
        return this.push(this.readLong(n));
      }
      case OP.BINFLOAT:
        return this.push(new PyFloat(r.f64be(this.what('argument'))));

      case OP.SHORT_BINSTRING:
        return this.push(new Py2Str(r.bytes(r.u8(this.what('length')), this.what('data'))));
      case OP.BINSTRING: {
        const n = r.i32(this.what('length'));
        if (n < 0) this.fail(`negative length ${n}`);
        return this.push(new Py2Str(r.bytes(n, this.what('data'))));
      }
      case OP.SHORT_BINBYTES:
        return this.push(r.bytes(r.u8(this.what('length')), this.what('data')));
      case OP.BINBYTES:
        return this.push(r.bytes(r.u32(this.what('length')), this.what('data')));
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        return this.push(r.bytes(r.u64(this.what('length')), this.what('data')));
      case OP.SHORT_BINUNICODE:
        return this.push(this.readText(r.u8(this.what('length'))));
      case OP.BINUNICODE:
        return this.push(this.readText(r.u32(this.what('length'))));
      case OP.BINUNICODE8:
        return this.push(this.readText(r.u64(this.what('length'))));

      case OP.EMPTY_TUPLE:
        return this.push(new PyTuple([]));
      case OP.TUPLE:
        return this.push(new PyTuple(this.popMark()));
      case OP.TUPLE1: {
        const a = this.pop();
        return this.push(new PyTuple([a]));
      }
      case OP.TUPLE2: {
        const b = this.pop();
        const a = this.pop();
        return this.push(new PyTuple([a, b]));
      }
      case OP.TUPLE3: {
        const c = this.pop();
        const b = this.pop();
        const a = this.pop();
        return this.push(new PyTuple([a, b, c]));
      }

      case OP.EMPTY_LIST:
        return this.push([]);
      case OP.LIST:
        return this.push(this.popMark());
      case OP.APPEND: {
        const value = this.pop();
        this.listOnTop().push(value);
        return;
      }
      case OP.APPENDS: {
        const items = this.popMark();
        const list = this.listOnTop();
        for (const item of items) list.push(item);
        return;
      }

      case OP.EMPTY_DICT:
        return this.push(new Map<PyKey, PyValue>());
      case OP.DICT: {
        const items = this.popMark();
        const dict: PyDict = new Map();
        this.setItems(dict, items);
        return this.push(dict);
      }
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        this.dictOnTop().set(this.dictKey(key), value);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        this.setItems(this.dictOnTop(), items);
        return;
      }

      case OP.BINPUT:
        return this.memoize(r.u8(this.what('index')));
      case OP.LONG_BINPUT:
        return this.memoize(r.u32(this.what('index')));
      case OP.MEMOIZE:
        return this.memoize(this.memo.size);
      case OP.BINGET:
        return this.recall(r.u8(this.what('index')));
      case OP.LONG_BINGET:
        return this.recall(r.u32(this.what('index')));

      case OP.GLOBAL: {
        const module = r.line(this.what('module name'));
        const name = r.line(this.what('name'));
        return this.push(this.resolve(module, name));
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          this.fail(`module and name must be str, got ${describe(module)} and ${describe(name)}`);
        }
        return this.push(this.resolve(module, name));
      }
      case OP.REDUCE: {
        const args = this.pop();
        const callable = this.pop();
        if (!(args instanceof PyTuple)) this.fail(`arguments must be a tuple, got ${describe(args)}`);
        return this.push(callGlobal(callable, args.items, this.ctx));
      }
      case OP.BUILD: {
        const state = this.pop();
        const target = this.top();
        if (target instanceof NumpyDType) setDTypeState(target, state, this.ctx.fail);
        else if (target instanceof NumpyArray) setArrayState(target, state, this.ctx.claimed, this.ctx.fail);
        else this.fail(`cannot set the state of a ${describe(target)}`);
        return;
      }
      case OP.READONLY_BUFFER:
        this.top();
        return;

      case OP.INST: {
        const module = r.line(this.what('module name'));
        const name = r.line(this.what('name'));
        this.fail(`refusing to create an instance of ${module}.${name}: class instances are not allowed in weights files`);
      }
      case OP.OBJ:
      case OP.NEWOBJ:
      case OP.NEWOBJ_EX:
        this.fail('refusing to create a class instance: only numpy arrays and plain data are allowed in weights files');
      case OP.PERSID:
      case OP.BINPERSID:
        this.fail('persistent ids (references to objects outside the file) are not supported');
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4:
        this.fail('extension-registry codes (copyreg) are not supported');
      case OP.NEXT_BUFFER:
        this.fail('out-of-band buffers are not supported: pickle with buffer_callback=None');
      case OP.EMPTY_SET:
      case OP.ADDITEMS:
      case OP.FROZENSET:
        this.fail('sets do not occur in weights files and are not supported');
      case OP.INT:
      case OP.LONG:
      case OP.FLOAT:
      case OP.STRING:
      case OP.UNICODE:
      case OP.GET:
      case OP.PUT:
        this.fail('protocol 0 text opcodes are not supported (weights files use protocol 2 or later)');
      default:
        this.fail('not a pickle opcode (corrupt or not a pickle file)');
    }
  }

  private readLong(n: number): number | bigint {
    if (n > MAX_LONG_BYTES) this.fail(`a ${n}-byte integer is larger than any weights file needs`);
    const bytes = this.reader.bytes(n, this.what('data'));
    if (n === 0) return 0;
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
    if (bytes[n - 1] & 0x80) value -= 1n << BigInt(8 * n); // two's complement
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private readText(n: number): string {
    const bytes = this.reader.bytes(n, this.what('data'));
    try {
      return utf8.decode(bytes);
    } catch {
      this.fail('string is not valid UTF-8');
    }
  }

  private resolve(module: string, name: string): PyValue {
    const resolved = resolveGlobal(module, name);
    if (resolved === undefined) {
      this.fail(`refusing to load global '${module}.${name}': only numpy arrays and plain data are allowed in weights files`);
    }
    return resolved;
  }

  private memoize(index: number): void {
    this.memo.set(index, this.top());
  }

  private recall(index: number): void {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} was never stored`);
    this.push(this.memo.get(index) as PyValue);
  }

  private listOnTop(): PyValue[] {
    const list = this.top();
    if (!Array.isArray(list)) this.fail(`cannot append to a ${describe(list)}`);
    return list;
  }

  private dictOnTop(): PyDict {
    const dict = this.top();
    if (!(dict instanceof Map)) this.fail(`cannot set items on a ${describe(dict)}`);
    return dict;
  }

  private setItems(dict: PyDict, items: PyValue[]): void {
    if (items.length % 2 !== 0) this.fail(`odd number of items (${items.length}) for key/value pairs`);
    for (let i = 0; i < items.length; i += 2) dict.set(this.dictKey(items[i]), items[i + 1]);
  }

  /**
   * Dict keys as Map keys. Python 2 strs and bytes become latin1 text, as Detectron's
   * load_object reads them; 1.0 and 1 are the same key, as in Python.
   */
  private dictKey(key: PyValue): PyKey {
    if (key === null || typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean') return key;
    if (typeof key === 'bigint') return key;
    if (key instanceof Py2Str) return key.text;
    if (key instanceof Uint8Array) return latin1Text(key);
    if (key instanceof PyFloat) return key.value;
    this.fail(`unsupported dict key of type ${describe(key)}`);
  }
}
