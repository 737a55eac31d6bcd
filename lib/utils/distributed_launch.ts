/**
 * Starting and supervising the N processes of a single-machine data-parallel job (what
 * `torchrun --nproc_per_node N` does): each child reruns the `detectron` command with
 * torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) on a free
 * loopback port. The first rank to fail fails the job: the others get a grace period to end on
 * their own (their collectives fail as soon as a peer's connection drops), then are killed;
 * the error names the rank and ends with its last output lines.
 *
 * The supervision (superviseChildren) also runs `test_net --nproc N`'s children, each on a
 * range of the dataset (Detectron's subprocess_utils.process_in_parallel, splitRange).
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

/** The `node` arguments that run `detectron ...args` (this package's CLI) in a child process. */
export function detectronNodeArgs(args: readonly string[]): string[] {
  return [...selfCommand(), ...args];
}

/**
 * Detectron's subprocess_utils.process_in_parallel split: [start, end) into `n` contiguous
 * ranges as np.array_split makes them (the first (end - start) % n one image longer; empty
 * ranges at the end when there are fewer images than parts).
 */
export function splitRange(start: number, end: number, n: number): Array<[number, number]> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`cannot split [${start}, ${end}) into ${n} parts: expected a positive integer`);
  const size = Math.floor((end - start) / n);
  const longer = (end - start) % n;
  const out: Array<[number, number]> = [];
  let a = start;
  for (let i = 0; i < n; i++) {
    const b = a + size + (i < longer ? 1 : 0);
    out.push([a, b]);
    a = b;
  }
  return out;
}

/** One supervised child: `node` arguments and its environment. */
export interface SupervisedChild {
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  /** Said after "rank r of n" in the failure message, e.g. which images the rank ran. */
  label?: string;
}

export interface SuperviseOptions {
  /** Milliseconds the other ranks get to end after one failed, before they are killed (default 5 s). */
  graceMs?: number;
  /** Each line a child writes to stderr (and to stdout when `stdout` is 'lines'). */
  onLine: (rank: number, line: string, stream: 'stdout' | 'stderr') => void;
  /** Children's stdout: shared with this process (default), or split into lines for onLine. */
  stdout?: 'inherit' | 'lines';
  /** Called with each child once started (tests use it to inject failures). */
  onSpawn?: (rank: number, child: ChildProcess) => void;
}

/** A child's error lines: 'error: <what>' (e.g. an image that failed), 'detectron: <why it stopped>', thrown errors. */
const ERROR_LINE = /^(error:|detectron:|\w*Error\b)/;

/** Calls `onLine` with each complete line of `stream`, and the unterminated rest on close. */
function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): () => void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    lines.forEach(onLine);
  });
  return () => {
    if (partial !== '') onLine(partial);
    partial = '';
  };
}

/**
 * Runs the children as one job; resolves when every one succeeded, rejects with the first
 * failure (naming its rank, ending with its last output lines) once all have ended: the others
 * get `graceMs` to end on their own, then are killed.
 */
export async function superviseChildren(specs: readonly SupervisedChild[], o: SuperviseOptions): Promise<void> {
  const n = specs.length;
  if (n === 0) return;
  const children: ChildProcess[] = [];
  const tails: string[][] = specs.map(() => []);
  // Error lines scroll out of the tail behind a run's closing summary: kept apart for the message.
  const errors: string[][] = specs.map(() => []);
  const pipeStdout = o.stdout === 'lines';
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
      specs.forEach((spec, rank) => {
        const name = `rank ${rank} of ${n}${spec.label === undefined ? '' : ` (${spec.label})`}`;
        const child = spawn(process.execPath, spec.nodeArgs, { env: spec.env, stdio: ['ignore', pipeStdout ? 'pipe' : 'inherit', 'pipe'] });
        children.push(child);
        const line = (stream: 'stdout' | 'stderr') => (text: string): void => {
          tails[rank].push(text);
          if (tails[rank].length > 20) tails[rank].shift();
          if (ERROR_LINE.test(text)) errors[rank].push(text);
          if (errors[rank].length > 5) errors[rank].shift();
          o.onLine(rank, text, stream);
        };
        const flushes = [splitLines(child.stderr!, line('stderr'))];
        if (pipeStdout) flushes.push(splitLines(child.stdout!, line('stdout')));
        child.on('error', (e) => {
          failure ??= new Error(`${name} could not start: ${e.message}`);
        });
        child.on('close', (code, signal) => {
          flushes.forEach((flush) => flush());
          running--;
          if ((code !== 0 || signal !== null) && failure === null) {
            const last = tails[rank].filter((l) => l.trim() !== '').slice(-8);
            const earlier = errors[rank].filter((l) => !last.includes(l));
            const tail = [...earlier, ...(earlier.length > 0 ? ['...'] : []), ...last].join('\n  ');
            failure = new Error(`${name} ${describeExit(code, signal)}; the job is stopped` +
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
      });
    });
  } finally {
    process.removeListener('exit', onParentExit);
  }
}

/** Runs the job; resolves when every rank succeeded, rejects with the first failure. */
export async function launchLocal(o: LaunchOptions): Promise<void> {
  const n = o.nproc;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--nproc must be a positive integer, got ${n}`);
  const port = await freePort();
  const threads = o.threadsPerProcess ?? Math.max(1, Math.floor(os.cpus().length / n));
  const specs = Array.from({ length: n }, (_, rank): SupervisedChild => ({
    nodeArgs: detectronNodeArgs(o.args),
    env: {
      ...process.env, ...o.env,
      RANK: String(rank), WORLD_SIZE: String(n), LOCAL_RANK: String(rank),
      MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
      DETECTRON_THREADS: String(threads), OMP_NUM_THREADS: String(threads),
    },
  }));
  const onLine = o.onLine ?? ((rank: number, line: string) => process.stderr.write(rank === 0 ? `${line}\n` : `[rank ${rank}] ${line}\n`));
  await superviseChildren(specs, { onLine, graceMs: o.graceMs, onSpawn: o.onSpawn });
}
