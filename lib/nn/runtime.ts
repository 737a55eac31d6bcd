/** Threads and the facts `detectron env` reports. */
import * as fs from 'fs';
import * as path from 'path';
import { addonPath, defaultThreads, native, NativeInfo, packageRoot } from './native';

/**
 * Sets libtorch's intra-op thread count: `threads` if given, else $DETECTRON_THREADS,
 * else every core. (libtorch alone would count physical cores, which on a 2-vCPU VM is 1.)
 */
export function setThreads(threads?: number): number {
  const n = threads ?? defaultThreads();
  if (!Number.isInteger(n) || n < 1) throw new Error(`thread count must be a positive integer, got ${threads}`);
  native.setNumThreads(n);
  return n;
}

export function getThreads(): number {
  return native.getNumThreads();
}

/** cuDNN's autotuner (torch.backends.cudnn.benchmark); no effect without CUDA. */
export function setCudnnBenchmark(enabled: boolean): void {
  native.setCudnnBenchmark(enabled);
}

/** The CUDA caching allocator's bytes on `device` (torch.cuda.memory_allocated / max_memory_allocated). */
export function cudaMemory(device = 0): { allocated: number; peakAllocated: number; reserved: number } {
  return native.cudaMemory(device);
}

export function resetCudaPeakMemory(device = 0): void {
  native.resetCudaPeakMemory(device);
}

export interface EnvReport extends NativeInfo {
  node: string;
  addon: string;
  libtorch: { source: string; dir: string } | null;
  blas: string;
  /** c10d's collectives backends built into the addon, and whether DDP's reducer is bound. */
  distributed: { backends: string[]; reducer: boolean };
}

/** What the build found and what libtorch says about itself. */
export function envReport(): EnvReport {
  const info = native.info();
  const record = path.join(packageRoot(), 'build', 'native', 'libtorch.json');
  const libtorch = fs.existsSync(record)
    ? (JSON.parse(fs.readFileSync(record, 'utf8')) as { source: string; dir: string })
    : null;
  const dist = native.distInfo();
  return {
    ...info, node: process.version, addon: addonPath(), libtorch, blas: loadedBlas(info.config),
    distributed: { backends: dist.backends, reducer: dist.reducer },
  };
}

/**
 * The BLAS library actually mapped into this process: Debian's libtorch links the
 * generic libblas.so.3, which the alternatives system points at OpenBLAS or the slow
 * reference implementation.
 */
function loadedBlas(config: string): string {
  const built = /BLAS_INFO=([^,\s]+)/.exec(config)?.[1] ?? 'unknown';
  let maps = '';
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return built;
  }
  const libs = new Set<string>();
  for (const line of maps.split('\n')) {
    const file = line.slice(line.indexOf('/'));
    if (line.includes('/') && /blas|mkl/i.test(path.basename(file))) libs.add(fs.realpathSync(file));
  }
  return libs.size > 0 ? `${built} (${[...libs].join(', ')})` : built;
}
