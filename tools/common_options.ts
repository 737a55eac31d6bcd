/** Options every command shares. */
import { Command, InvalidArgumentError } from 'commander';

export interface ThreadsOptions {
  threads?: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** --threads N: libtorch's intra-op threads (default: $DETECTRON_THREADS, else every core). */
export function addThreadsOption(cmd: Command): Command {
  return cmd.option('--threads <n>', 'CPU threads for libtorch (default: $DETECTRON_THREADS or all cores)', positiveInt);
}
