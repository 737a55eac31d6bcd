/**
 * `detectron convert_config IN.yaml [-o OUT.yaml]` and `detectron convert_config IN_DIR -o OUT_DIR`:
 * rewrites Detectron YAML configs to our builder names (see converters/yaml/detectron_yaml.ts),
 * printing one line per change. Without -o, a single converted file goes to stdout and the report
 * to stderr.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { writeFileAtomicSync as writeFileAtomic } from '../lib/utils/atomic_write';
import { convertConfigText, convertConfigTree } from '../converters/yaml/convert_tree';
import { ConfigChange, formatChange } from '../converters/yaml/detectron_yaml';

interface ConvertConfigFlags {
  output?: string;
  check: boolean;
}

function report(changes: readonly ConfigChange[], out: NodeJS.WritableStream): void {
  for (const c of changes) out.write(`${formatChange(c)}\n`);
}

function convertFile(input: string, flags: ConvertConfigFlags): void {
  const result = convertConfigText(fs.readFileSync(input, 'utf8'), input, { check: flags.check });
  if (flags.output === undefined) {
    process.stdout.write(result.text);
    report(result.changes, process.stderr);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(flags.output)), { recursive: true });
  writeFileAtomic(flags.output, result.text);
  report(result.changes, process.stdout);
  process.stdout.write(`${input}: ${result.changes.length} change(s) -> ${flags.output}\n`);
}

function convertFolder(input: string, flags: ConvertConfigFlags): void {
  if (flags.output === undefined) throw new Error(`${input} is a folder: give an output folder with -o OUT_DIR`);
  if (fs.existsSync(flags.output) && !fs.statSync(flags.output).isDirectory()) {
    throw new Error(`${flags.output} exists and is not a folder (the input ${input} is a folder)`);
  }
  const results = convertConfigTree(input, flags.output, { check: flags.check });
  for (const r of results) report(r.changes, process.stdout);
  const changes = results.reduce((n, r) => n + r.changes.length, 0);
  process.stdout.write(`${results.length} config(s), ${changes} change(s) -> ${flags.output}\n`);
}

export function register(program: Command): void {
  program
    .command('convert_config')
    .description("convert Detectron YAML configs to this port's builder names (keeps comments and layout)")
    .argument('<input>', 'a Detectron .yaml config, or a folder of them (converted recursively)')
    .option('-o, --output <path>', 'output file (default: stdout), or output folder for a folder input')
    .option('--no-check', 'skip loading each converted config to check it')
    .action((input: string, flags: ConvertConfigFlags) => {
      if (!fs.existsSync(input)) throw new Error(`no such file or folder: ${input}`);
      if (fs.statSync(input).isDirectory()) convertFolder(input, flags);
      else convertFile(input, flags);
    });
}
