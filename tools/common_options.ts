/** Options every command shares. */
import { Command, InvalidArgumentError } from 'commander';

export interface ThreadsOptions {
  threads?: number;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** --threads N: libtorch's intra-op threads (default: $DETECTRON_THREADS, else every core). */
export function addThreadsOption(cmd: Command): Command {
  return cmd.option('--threads <n>', 'CPU threads for libtorch (default: $DETECTRON_THREADS or all cores)', positiveInt);
}

/**
 * Images per inference batch: `--ims-per-batch N`, or `TEST.IMS_PER_BATCH N` among the config
 * overrides. Detectron's config has no TEST.IMS_PER_BATCH (it tests one image at a time), so the
 * pair is taken out of the overrides rather than merged: configs we save stay loadable by
 * Detectron's merge_cfg_from_cfg. Batching never changes results (lib/core/detect.ts).
 */
export function takeImsPerBatch(overrides: readonly string[]): { overrides: string[]; imsPerBatch: number | null } {
  const out: string[] = [];
  let imsPerBatch: number | null = null;
  for (let i = 0; i < overrides.length; i++) {
    if (overrides[i] === 'TEST.IMS_PER_BATCH' && i % 2 === 0) {
      const v = overrides[i + 1];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 1) throw new Error(`TEST.IMS_PER_BATCH must be a positive integer, got '${v}'`);
      imsPerBatch = n;
      i++;
    } else {
      out.push(overrides[i]);
    }
  }
  return { overrides: out, imsPerBatch };
}

/** --ims-per-batch N: images per conv-body batch at test time (TEST.IMS_PER_BATCH). */
export function addImsPerBatchOption(cmd: Command): Command {
  return cmd.option('--ims-per-batch <n>', 'images per inference batch: images of equal blob shape share one conv-body pass (same results; also TEST.IMS_PER_BATCH N)', positiveInt);
}
