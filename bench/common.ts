/** What the benchmarks share: the package root, the shared fixtures, flags, generated weights. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../lib/nn/native';

export const ROOT = packageRoot();
export const FIXTURES = path.resolve(ROOT, '../shared/fixtures');

/** The value after `--name` on the command line, or `fallback`. */
export function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** A numeric flag; a value that is not a number is an error naming the flag. */
export function argNumber(name: string, fallback: number): number {
  const v = argString(name, String(fallback));
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} takes a number, got '${v}'`);
  return n;
}

/** make_detectron_pkl.py weights (seed 1) for `arch`, cached in data/cache as the tests cache them. */
export function generatedWeights(arch: string): string {
  const file = path.join(ROOT, 'data/cache', `${arch}_s1.pkl`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    execFileSync('python3', [path.join(FIXTURES, 'make_detectron_pkl.py'), arch, file, '--seed', '1']);
  }
  return file;
}
