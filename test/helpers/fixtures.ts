/** Paths of the shared fixtures and generated test weights. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures');
export const CACHE = path.resolve(__dirname, '../../data/cache');

/** A Detectron-format weights file from make_detectron_pkl.py, generated once into data/cache. */
export function detectronPkl(arch: string, seed: number, extra: string[] = []): string {
  const suffix = extra.length > 0 ? `_${extra.map((e) => e.replace(/^--/, '')).join('_')}` : '';
  const file = path.join(CACHE, `${arch}_s${seed}${suffix}.pkl`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(CACHE, { recursive: true });
    const tmp = `${file}.tmp${process.pid}`;
    execFileSync('python3', [path.join(FIXTURES, 'make_detectron_pkl.py'), arch, tmp, '--seed', String(seed), ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    fs.renameSync(tmp, file);
  }
  return file;
}
