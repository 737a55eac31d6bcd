/**
 * Starting and supervising the N processes of a single-machine data-parallel job (what
 * `torchrun --nproc_per_node N` does): each child reruns the `detectron` command with
 * torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) on a free
 * loopback port. The first rank to fail fails the job: the others get a grace period to end on
 * their own (their collectives fail as soon as a peer's connection drops), then are killed;
 * the error names the rank and ends with its last output lines.
 */
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface LaunchOptions {
  nproc: number;
  /** The `detectron` arguments after the program name, e.g. ['train_net', '--cfg', ...]. */
  args: string[];
  /** Extra environment for every child. */
  env?: NodeJS.ProcessEnv;
  /** Libtorch threads per child (default: the cores divided among the children, at least 1). */
  threadsPerProcess?: number;
  /** Milliseconds the other ranks get to end after one failed, before they are killed (default 5 s). */
  graceMs?: number;
  /** Each line a child writes to stderr (default: rank 0's as is, the others' prefixed). */
  onLine?: (rank: number, line: string) => void;
  /** Called with each child once started (tests use it to inject failures). */
  onSpawn?: (rank: number, child: ChildProcess) => void;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * `node` arguments that load `entry` (a .js module, or a .ts one through the compiler's
 * transpileModule, as the loader's worker threads do) and evaluate `call` with it bound to `m`;
 * the process's own arguments follow in process.argv.slice(1).
 */
export function nodeArgsForModule(entry: string, call: string): string[] {
  const tsHook = !entry.endsWith('.ts') ? '' : `
const { createRequire } = require('module');
const ts = createRequire(${JSON.stringify(entry)})('typescript');
const fs = require('fs');
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions: {
    module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false } });
  module._compile(out.outputText, filename);
};`;
  return ['-e', `${tsHook}\nconst m = require(${JSON.stringify(entry)});\n${call};`];
}

/** How to rerun our own CLI: tools/detectron's main, compiled or from sources. */
function selfCommand(): string[] {
  const entry = path.join(__dirname, '..', '..', 'tools', `detectron${path.extname(__filename)}`);
  return nodeArgsForModule(entry, "m.main(['node', 'detectron', ...process.argv.slice(1)])");
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Runs the job; resolves when every rank succeeded, rejects with the first failure. */
export async function launchLocal(o: LaunchOptions): Promise<void> {
  const n = o.nproc;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--nproc must be a positive integer, got ${n}`);
  const port = await freePort();
  const threads = o.threadsPerProcess ?? Math.max(1, Math.floor(os.cpus().length / n));
  const children: ChildProcess[] = [];
  const tails: string[][] = Array.from({ length: n }, () => []);
  const onLine = o.onLine ?? ((rank: number, line: string) => process.stderr.write(rank === 0 ? `${line}\n` : `[rank ${rank}] ${line}\n`));
  const killAll = (signal: NodeJS.Signals): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  const onParentExit = (): void => killAll('SIGKILL');
  process.on('exit', onParentExit);
  try {
    await new Promise<void>((resolve, reject) => {
      let running = n;
      let failure: Error | null = null;
      let grace: NodeJS.Timeout | null = null;
      for (let rank = 0; rank < n; rank++) {
        const env: NodeJS.ProcessEnv = {
          ...process.env, ...o.env,
          RANK: String(rank), WORLD_SIZE: String(n), LOCAL_RANK: String(rank),
          MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
          DETECTRON_THREADS: String(threads), OMP_NUM_THREADS: String(threads),
        };
        const child = spawn(process.execPath, [...selfCommand(), ...o.args], { env, stdio: ['ignore', 'inherit', 'pipe'] });
        children.push(child);
        let partial = '';
        child.stderr!.setEncoding('utf8');
        child.stderr!.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop()!;
          for (const line of lines) {
            tails[rank].push(line);
            if (tails[rank].length > 20) tails[rank].shift();
            onLine(rank, line);
          }
        });
        child.on('error', (e) => {
          failure ??= new Error(`rank ${rank} could not start: ${e.message}`);
        });
        child.on('close', (code, signal) => {
          if (partial !== '') {
            tails[rank].push(partial);
            onLine(rank, partial);
            partial = '';
          }
          running--;
          if ((code !== 0 || signal !== null) && failure === null) {
            const tail = tails[rank].filter((l) => l.trim() !== '').slice(-8).join('\n  ');
            failure = new Error(`rank ${rank} of ${n} ${describeExit(code, signal)}; the job is stopped` +
              (tail === '' ? '' : `; its last output:\n  ${tail}`));
            grace = setTimeout(() => killAll('SIGKILL'), o.graceMs ?? 5_000);
          }
          if (running === 0) {
            if (grace !== null) clearTimeout(grace);
            if (failure !== null) reject(failure);
            else resolve();
          }
        });
        o.onSpawn?.(rank, child);
      }
    });
  } finally {
    process.removeListener('exit', onParentExit);
  }
}
