/** The `detectron` command: one bin, a sub-command per tool (see tools/commands.ts). */
import { Command } from 'commander';
import { COMMANDS } from './commands';
import { addThreadsOption, ThreadsOptions } from './common_options';

/** Every leaf command takes --threads; the hook applies it before the command runs. */
function withThreads(cmd: Command): void {
  if (cmd.commands.length > 0) {
    cmd.commands.forEach(withThreads);
    return;
  }
  if (!cmd.options.some((o) => o.long === '--threads')) addThreadsOption(cmd);
}

export function buildProgram(): Command {
  const program = new Command('detectron')
    .description("Detectron's models on libtorch, from Node.js")
    .showHelpAfterError();
  for (const load of COMMANDS) load()(program);
  program.commands.forEach(withThreads);
  program.hook('preAction', (_program, action) => {
    const { threads } = action.opts<ThreadsOptions>();
    // Loaded here, not at the top, so that commands without tensors never load libtorch.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (threads !== undefined) (require('../lib/nn/runtime') as typeof import('../lib/nn/runtime')).setThreads(threads);
  });
  return program;
}

export function main(argv: string[]): void {
  buildProgram()
    .parseAsync(argv)
    .catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`detectron: ${message}\n`);
      process.exitCode = 1;
    });
}
