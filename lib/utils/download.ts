/**
 * Resumable HTTP(S) downloads into a cache.
 *
 * Bytes go to `DEST.part`; an interrupted download resumes with an HTTP Range request from the
 * part's size (a server that ignores Range restarts it). The part is fsynced, checked (length,
 * and md5 where one is known) and only then renamed to DEST, so DEST is always complete. A lock
 * file keeps two processes from appending to the same part. Failures say which URL failed and
 * where to put the file by hand.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { Presets, SingleBar } from 'cli-progress';

export interface DownloadProgress {
  start(total: number | undefined, done: number): void;
  update(done: number): void;
  stop(): void;
}

export interface DownloadOptions {
  /** Expected md5 (hex) of the whole file; the download is refused on mismatch. */
  readonly md5?: string;
  /** Also fetch `URL.md5sum` (Detectron publishes one per file) and check against it. */
  readonly md5Sidecar?: boolean;
  /** Progress display; default: a cli-progress bar on stderr when it is a terminal. */
  readonly progress?: DownloadProgress | false;
  /** Socket inactivity timeout in ms (default 60 s). */
  readonly timeoutMs?: number;
  /** Where notes (e.g. "no checksum published") go; default stderr. */
  readonly log?: (message: string) => void;
}

const MAX_REDIRECTS = 5;

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A cli-progress bar on stderr, sized in MB. */
export function progressBar(label: string): DownloadProgress {
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {doneMb}/{totalMb} MB`,
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let total = 0;
  return {
    start(t, done) {
      total = t ?? 0;
      bar.start(total, done, { doneMb: mb(done), totalMb: t === undefined ? '?' : mb(total) });
    },
    update(done) {
      bar.update(done, { doneMb: mb(done), totalMb: total ? mb(total) : '?' });
    },
    stop() {
      bar.stop();
    },
  };
}

function request(url: string, headers: Record<string, string>, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new Error(`not a valid URL: ${url}`));
      return;
    }
    const lib = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (lib === undefined) {
      reject(new Error(`unsupported URL scheme ${parsed.protocol} in ${url}`));
      return;
    }
    const req = lib.get(parsed, { headers: { 'user-agent': 'detectron-ts', ...headers } }, resolve);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data for ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

/** GET with redirects followed; non-2xx statuses become HttpStatusError. */
async function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<http.IncomingMessage> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(current, headers, timeoutMs);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, current).toString();
      continue;
    }
    if (status >= 400 && status !== 416) {
      res.resume();
      throw new HttpStatusError(status, `HTTP ${status} ${res.statusMessage ?? ''}`.trim());
    }
    return res;
  }
  throw new Error(`more than ${MAX_REDIRECTS} redirects`);
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The total size from a 200's Content-Length or a 206's Content-Range. */
function totalSize(res: http.IncomingMessage): number | undefined {
  const range = res.headers['content-range'];
  if (typeof range === 'string') {
    const m = /\/(\d+)\s*$/.exec(range);
    if (m) return Number(m[1]);
  }
  const len = res.headers['content-length'];
  return len === undefined ? undefined : Number(len);
}

function rangeStart(res: http.IncomingMessage): number | undefined {
  const m = /^bytes\s+(\d+)-/.exec(String(res.headers['content-range'] ?? ''));
  return m ? Number(m[1]) : undefined;
}

/** Appends the response body to `part` from offset `start`, reporting progress. */
function writeBody(
  res: http.IncomingMessage,
  part: string,
  start: number,
  progress: DownloadProgress,
): Promise<number> {
  return new Promise((resolve, reject) => {
    // Truncate to the resume point: bytes past it (if any) are not trusted.
    const fd = fs.openSync(part, start === 0 ? 'w' : 'r+');
    fs.ftruncateSync(fd, start);
    let pos = start;
    res.on('data', (chunk: Buffer) => {
      fs.writeSync(fd, chunk, 0, chunk.length, pos);
      pos += chunk.length;
      progress.update(pos);
    });
    res.on('end', () => {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      resolve(pos);
    });
    res.on('error', (err) => {
      fs.closeSync(fd);
      reject(err);
    });
  });
}

function md5OfFile(file: string): string {
  const hash = createHash('md5');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n = fs.readSync(fd, buf, 0, buf.length, null); n > 0; n = fs.readSync(fd, buf, 0, buf.length, null)) {
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Detectron's `URL.md5sum` (a hex digest), or undefined when none is published. */
async function sidecarMd5(url: string, timeoutMs: number): Promise<string | undefined> {
  let res: http.IncomingMessage;
  try {
    res = await get(`${url}.md5sum`, {}, timeoutMs);
  } catch (err) {
    if (err instanceof HttpStatusError && err.status === 404) return undefined;
    throw err;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const m = /\b([0-9a-fA-F]{32})\b/.exec(Buffer.concat(chunks).toString('utf8'));
  if (!m) throw new Error(`${url}.md5sum does not hold an md5 digest`);
  return m[1].toLowerCase();
}

/** Takes `dest.part.lock`, clearing a stale one left by a dead process. */
function acquireLock(lock: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(lock, 'utf8').trim());
      let alive = false;
      try {
        // Signal 0 only checks that the process exists.
        alive = Number.isInteger(pid) && pid > 0 && process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`another download (process ${pid}) is writing this file; lock file ${lock}`);
      fs.rmSync(lock, { force: true });
    }
  }
  throw new Error(`cannot take the download lock ${lock}`);
}

const NO_PROGRESS: DownloadProgress = { start() {}, update() {}, stop() {} };

async function fetchToPart(url: string, part: string, options: DownloadOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60000;
  const have = fileSize(part);
  let res = await get(url, have > 0 ? { range: `bytes=${have}-` } : {}, timeoutMs);
  let start = 0;
  if (res.statusCode === 416) {
    res.resume();
    // Nothing left to send: the part may already be whole (a run that stopped before renaming).
    if (totalSize(res) === have) return;
    res = await get(url, {}, timeoutMs);
  } else if (res.statusCode === 206) {
    start = rangeStart(res) ?? -1;
    if (start !== have) {
      res.resume();
      throw new Error(`server resumed at byte ${start}, expected ${have}`);
    }
  }
  const total = totalSize(res);
  const bar =
    options.progress === false
      ? NO_PROGRESS
      : (options.progress ?? (process.stderr.isTTY ? progressBar(path.basename(part, '.part')) : NO_PROGRESS));
  bar.start(total, start);
  try {
    const end = await writeBody(res, part, start, bar);
    if (total !== undefined && end !== total) {
      throw new Error(`connection closed after ${end} of ${total} bytes (the partial file is kept for resuming)`);
    }
  } finally {
    bar.stop();
  }
}

/**
 * Downloads `url` to `dest` (resuming `dest.part`). Does nothing when `dest` exists.
 * On failure the error names the URL and where to put the file manually.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<string> {
  if (fs.existsSync(dest)) return dest;
  const part = `${dest}.part`;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const release = acquireLock(`${part}.lock`);
  try {
    await fetchToPart(url, part, options);
    let expected = options.md5?.toLowerCase();
    if (expected === undefined && options.md5Sidecar) {
      expected = await sidecarMd5(url, options.timeoutMs ?? 60000);
      if (expected === undefined) log(`note: no checksum published for ${url} (${url}.md5sum: HTTP 404)`);
    }
    if (expected !== undefined) {
      const actual = md5OfFile(part);
      if (actual !== expected) {
        fs.rmSync(part, { force: true });
        throw new Error(`md5 mismatch: got ${actual}, expected ${expected} (the download was deleted; retry)`);
      }
    }
    fs.renameSync(part, dest);
    return dest;
  } catch (err) {
    throw new Error(
      `cannot download ${url}: ${(err as Error).message}. If this machine is offline, fetch the file ` +
        `elsewhere and put it at ${dest}`,
    );
  } finally {
    release();
  }
}
