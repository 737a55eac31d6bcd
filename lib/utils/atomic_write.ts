/**
 * Whole-file writes that never leave a half-written file behind: the bytes go to a temporary
 * file in the destination's directory (so the rename stays on one filesystem), are fsynced, and
 * the temporary file is renamed over the destination. A reader sees the old file or the new one.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

/** A write of `file` failed; the message names the file and the cause. */
export class WriteError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(`cannot write ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'WriteError';
  }
}

function tempNameFor(file: string): string {
  const dir = path.dirname(file);
  return path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Best effort: make the rename itself durable (not every filesystem lets a directory be opened). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Directories cannot be fsynced everywhere; the data itself already is.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes `data` to `file` atomically; throws WriteError (and leaves no temporary file) on failure. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempNameFor(file);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw new WriteError(file, err);
  }
  await syncDirectory(path.dirname(file));
}
