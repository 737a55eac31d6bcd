/**
 * Writing a file so that readers see either the old file or the complete new one: write a
 * temporary file in the same directory, fsync it, rename it over the target. On any failure
 * (ENOSPC, EIO, a bad value found half-way) the temporary file is removed and the error names
 * the target path. Every file Detectron.ts writes goes through here: weights, checkpoints,
 * configs, results, pictures.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

/** The fs calls used, so that tests can inject failures such as ENOSPC. */
export interface AtomicIo {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

export const nodeIo: AtomicIo = {
  openSync: (p, flags, mode) => fs.openSync(p, flags, mode),
  writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (p) => fs.unlinkSync(p),
};

const BUFFER_BYTES = 1 << 20;

/**
 * Buffered sequential writes to a file descriptor. Large chunks (array payloads) are written
 * straight from the caller's memory instead of being copied into the buffer.
 */
export class FileSink {
  private readonly buffer = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  private written = 0;

  constructor(
    private readonly fd: number,
    private readonly io: AtomicIo,
  ) {}

  /** Bytes accepted so far (buffered or written). */
  get length(): number {
    return this.written + this.used;
  }

  write(chunk: Uint8Array): void {
    if (chunk.length > BUFFER_BYTES / 4) {
      this.flush();
      this.writeAll(chunk);
      this.written += chunk.length;
      return;
    }
    if (this.used + chunk.length > BUFFER_BYTES) this.flush();
    this.buffer.set(chunk, this.used);
    this.used += chunk.length;
  }

  flush(): void {
    if (this.used === 0) return;
    this.writeAll(this.buffer.subarray(0, this.used));
    this.written += this.used;
    this.used = 0;
  }

  private writeAll(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const n = this.io.writeSync(this.fd, chunk, off, chunk.length - off);
      if (n <= 0) throw new Error('write made no progress');
      off += n;
    }
  }
}

/** A write of `file` failed; the message names the file and the cause. */
export class WriteError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(`cannot write ${file}: ${errorMessage(cause)}`, { cause });
    this.name = 'WriteError';
  }
}

/**
 * Calls `body` with a sink on a temporary file next to `target`, then moves it into place.
 * Throws a WriteError (`cannot write <target>: <reason>`) on failure.
 */
export function writeAtomicWith(target: string, body: (sink: FileSink) => void, io: AtomicIo = nodeIo): void {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = io.openSync(temp, 'wx', 0o644);
    const sink = new FileSink(fd, io);
    body(sink);
    sink.flush();
    io.fsyncSync(fd);
    io.closeSync(fd);
    fd = null;
    io.renameSync(temp, target);
  } catch (err) {
    if (fd !== null) {
      try {
        io.closeSync(fd);
      } catch {
        // the write error below is the one worth reporting
      }
    }
    try {
      io.unlinkSync(temp);
    } catch {
      // absent when open itself failed
    }
    throw new WriteError(target, err);
  }
  syncDirectory(dir);
}

/** An error's message; `instanceof Error` misses errors from other realms (vm contexts, jest). */
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}

/** Makes the rename durable; best effort, as some filesystems refuse fsync on directories. */
function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not fatal: the data itself is already synced
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Writes `data` to `file` atomically (the folder must exist). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, io: AtomicIo = nodeIo): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeAtomicWith(file, (sink) => sink.write(bytes), io);
}

/** writeFileAtomicSync for async callers. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  writeFileAtomicSync(file, data);
}
