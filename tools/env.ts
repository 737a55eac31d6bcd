/** `detectron env`: what a bug report needs about this installation. */
import type { Command } from 'commander';
import { envReport, EnvReport } from '../lib/nn/runtime';

export function formatEnv(r: EnvReport): string {
  const lines = [
    ['Node.js', r.node],
    ['libtorch', `${r.torchVersion} (${r.libtorch ? `${r.libtorch.dir}, found via ${r.libtorch.source}` : 'location not recorded'})`],
    ['addon', r.addon],
    ['CUDA available', r.cuda ? `yes, ${r.cudaDevices} device(s)` : 'no'],
    ['cuDNN available', r.cudnn ? 'yes' : 'no'],
    ['CUDA kernels', r.kernelsCuda ? 'linked' : 'not linked (CPU-only libtorch)'],
    ['BLAS', r.blas],
    ['distributed (c10d)', r.distributed.backends.length === 0 ? 'not built'
      : `${r.distributed.backends.join(', ')}; gradients reduced ${r.distributed.reducer ? 'during backward (DDP reducer)' : 'after backward'}`],
    ['threads', String(r.threads)],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export function register(program: Command): void {
  program
    .command('env')
    .description('print libtorch, CUDA, BLAS and thread information for bug reports')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const report = envReport();
      process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : formatEnv(report) + '\n');
    });
}
