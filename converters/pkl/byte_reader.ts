/**
 * Sequential reading of a pickle stream, from a file or from memory.
 *
 * Weights files are hundreds of MB, almost all of it array payloads. Reading the whole file into
 * one Buffer and then copying each payload out to an aligned typed array would hold the file
 * twice. Instead, small reads (opcodes, lengths, names) go through a 64 KiB window, and a large
 * payload is read by the kernel straight into its own freshly allocated ArrayBuffer: one copy,
 * peak memory about one file size, and every payload starts at byte 0 of its buffer, so it is
 * aligned for any dtype.
 *
 * Every failure names the file and the byte offset, and a length that runs past the end of the
 * file is refused before anything is allocated (a corrupt length cannot ask for 4 GB).
 */
import * as fs from 'fs';

/** A malformed, truncated or refused pickle: carries the file and the byte offset. */
export class PickleError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`${file}: byte ${offset}: ${detail}`);
    this.name = 'PickleError';
  }
}

/** Where the bytes come from. `read` copies into `target` and returns how many it copied. */
interface ByteSource {
  readonly size: number;
  read(target: Uint8Array, targetOffset: number, length: number, position: number): number;
  close(): void;
}

class FileSource implements ByteSource {
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  read(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    return fs.readSync(this.fd, target, targetOffset, length, position);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

class MemorySource implements ByteSource {
  readonly size: number;

  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }

  read(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.size - position));
    target.set(this.bytes.subarray(position, position + n), targetOffset);
    return n;
  }

  close(): void {}
}

const WINDOW_BYTES = 64 * 1024;
/** Payloads up to this size are copied out of the window; larger ones are read directly. */
const DIRECT_READ_BYTES = 16 * 1024;
/** GLOBAL's module and name lines: longer than any real dotted Python name. */
const MAX_LINE_BYTES = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ByteReader {
  private readonly window = new Uint8Array(WINDOW_BYTES);
  private readonly windowView = new DataView(this.window.buffer);
  /** File offset of window[0], and how many window bytes are valid. */
  private windowStart = 0;
  private windowLength = 0;
  private pos = 0;

  private constructor(
    private readonly source: ByteSource,
    readonly fileName: string,
  ) {}

  /** Opens `path` for streaming; call close() when done. */
  static openFile(path: string): ByteReader {
    const fd = fs.openSync(path, 'r');
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new Error(`${path}: not a regular file`);
      return new ByteReader(new FileSource(fd, stat.size), path);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** Reads from bytes already in memory; `name` is used in error messages. */
  static fromBytes(bytes: Uint8Array, name: string): ByteReader {
    return new ByteReader(new MemorySource(bytes), name);
  }

  get position(): number {
    return this.pos;
  }

  get size(): number {
    return this.source.size;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  close(): void {
    this.source.close();
  }

  /** Throws a PickleError at `offset` (default: the current position). */
  fail(detail: string, offset: number = this.pos): never {
    throw new PickleError(this.fileName, offset, detail);
  }

  /** Refuses a read of `n` bytes that would run past the end of the file. */
  require(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0) this.fail(`invalid length ${n} for ${what}`);
    if (n > this.remaining) {
      this.fail(
        `truncated: expected ${n} byte${n === 1 ? '' : 's'} of ${what}, ` +
          `but the file ends ${this.remaining} byte${this.remaining === 1 ? '' : 's'} later`,
      );
    }
  }

  u8(what: string): number {
    const at = this.windowed(1, what);
    return this.window[at];
  }

  u16(what: string): number {
    return this.windowView.getUint16(this.windowed(2, what), true);
  }

  i32(what: string): number {
    return this.windowView.getInt32(this.windowed(4, what), true);
  }

  u32(what: string): number {
    return this.windowView.getUint32(this.windowed(4, what), true);
  }

  /** A little-endian uint64 length; refused if above 2^53 (no file is that large). */
  u64(what: string): number {
    const start = this.pos;
    const at = this.windowed(8, what);
    const value = this.windowView.getUint32(at, true) + this.windowView.getUint32(at + 4, true) * 2 ** 32;
    if (!Number.isSafeInteger(value)) this.fail(`${what} ${value} is not a usable length`, start);
    return value;
  }

  /** BINFLOAT stores a big-endian IEEE double. */
  f64be(what: string): number {
    return this.windowView.getFloat64(this.windowed(8, what), false);
  }

  /**
   * `n` bytes as a Uint8Array that owns a fresh ArrayBuffer starting at offset 0, so it can back
   * a typed array of any element size without another copy.
   */
  bytes(n: number, what: string): Uint8Array {
    this.require(n, what);
    if (n <= DIRECT_READ_BYTES) {
      const at = this.windowed(n, what);
      return this.window.slice(at, at + n);
    }
    const out = new Uint8Array(n);
    // Whatever the window already holds comes from there; the rest straight from the source.
    const buffered = Math.max(0, Math.min(n, this.windowStart + this.windowLength - this.pos));
    if (buffered > 0) {
      const at = this.pos - this.windowStart;
      out.set(this.window.subarray(at, at + buffered));
    }
    let filled = buffered;
    while (filled < n) {
      const got = this.source.read(out, filled, n - filled, this.pos + filled);
      if (got <= 0) this.fail(`file ended early while reading ${what} (was it changed while being read?)`);
      filled += got;
    }
    this.pos += n;
    return out;
  }

  /** A newline-terminated line (GLOBAL's module and name), decoded as UTF-8. */
  line(what: string): string {
    const start = this.pos;
    const limit = Math.min(MAX_LINE_BYTES, this.remaining);
    this.fillWindow(limit);
    const at = this.pos - this.windowStart;
    const end = this.window.subarray(at, at + limit).indexOf(0x0a);
    if (end < 0) {
      if (limit < MAX_LINE_BYTES) this.fail(`truncated: ${what} has no terminating newline`, start);
      this.fail(`${what} is longer than ${MAX_LINE_BYTES} bytes`, start);
    }
    let text: string;
    try {
      text = utf8.decode(this.window.subarray(at, at + end));
    } catch {
      this.fail(`${what} is not valid UTF-8`, start);
    }
    this.pos += end + 1;
    return text;
  }

  /** Makes [pos, pos+n) available in the window, advances past it, returns its window index. */
  private windowed(n: number, what: string): number {
    this.require(n, what);
    this.fillWindow(n);
    const at = this.pos - this.windowStart;
    this.pos += n;
    return at;
  }

  /** Ensures the window covers [pos, pos+n); n is at most WINDOW_BYTES. */
  private fillWindow(n: number): void {
    const windowEnd = this.windowStart + this.windowLength;
    if (this.pos >= this.windowStart && this.pos + n <= windowEnd) return;
    const want = Math.min(WINDOW_BYTES, this.source.size - this.pos);
    let got = 0;
    while (got < want) {
      const r = this.source.read(this.window, got, want - got, this.pos + got);
      if (r <= 0) break;
      got += r;
    }
    this.windowStart = this.pos;
    this.windowLength = got;
    if (got < n) this.fail('file ended early (was it changed while being read?)');
  }
}
