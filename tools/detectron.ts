/** The `detectron` command: one bin, a sub-command per tool (see tools/commands.ts). */
import { Command } from 'commander';
import { COMMANDS } from './commands';

export function buildProgram(): Command {
  const program = new Command('detectron')
    .description("Detectron's models on libtorch, from Node.js")
    .showHelpAfterError();
  for (const load of COMMANDS) load()(program);
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
