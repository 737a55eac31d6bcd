/**
 * A RandomSource that replays numpy draws recorded while running Detectron's code (see
 * roi_data_expected.ts), checking that each request matches what Detectron asked for.
 */
import type { RandomSource } from '../../lib/roi_data/rng';
import type { Draw } from './roi_data_expected';

export class ReplaySource implements RandomSource {
  private readonly draws: Draw[];

  constructor(draws: readonly Draw[]) {
    this.draws = draws.map(([k, v]) => [k, [...v]]);
  }

  get remaining(): number {
    return this.draws.length;
  }

  private take(kind: Draw[0], size: number): number[] {
    const d = this.draws.shift();
    if (d === undefined) throw new Error(`ReplaySource: no recorded draw left for ${kind}(${size})`);
    if (d[0] !== kind || d[1].length !== size) throw new Error(`ReplaySource: asked ${kind}(${size}), recorded ${d[0]}(${d[1].length})`);
    return d[1];
  }

  choice(pool: ArrayLike<number>, size: number): Int32Array {
    const v = this.take('choice', size);
    const inPool = new Set(Array.from(pool));
    for (const x of v) if (!inPool.has(x)) throw new Error(`ReplaySource: recorded choice ${x} is not in the pool`);
    return Int32Array.from(v);
  }

  randintArray(high: number, size: number): Int32Array {
    const v = this.take('randint', size);
    for (const x of v) if (!(x >= 0 && x < high)) throw new Error(`ReplaySource: recorded randint ${x} outside [0, ${high})`);
    return Int32Array.from(v);
  }

  randint(high: number): number {
    return this.randintArray(high, 1)[0];
  }
}
