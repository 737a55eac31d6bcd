/**
 * The training-data RNG: xoshiro128** against its reference sequence, seeding and stream
 * derivation against an independent Python model of the same algorithms (a scratch script
 * outside the repo), and the sampling helpers' contracts.
 */
import { Rng, deriveSeed } from '../lib/roi_data/rng';

describe('Rng', () => {
  it('is xoshiro128** (reference outputs for state 1, 2, 3, 4)', () => {
    const r = Rng.fromState({ s: [1, 2, 3, 4] });
    expect(Array.from({ length: 6 }, () => r.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeds with splitmix32 and derives streams as the Python model does', () => {
    const r = new Rng(42);
    expect(Array.from({ length: 6 }, () => r.nextUint32())).toEqual([660444221, 3652823732, 77672526, 910233633, 2297337756, 3786072677]);
    expect(deriveSeed(7, 1, 2)).toBe(851854691);
    const d = Rng.derive(7, 1, 2);
    expect([d.nextUint32(), d.nextUint32(), d.nextUint32()]).toEqual([901402239, 3843059053, 4130731491]);
    expect(deriveSeed(7, 1, 2)).not.toBe(deriveSeed(7, 2, 1));
  });

  it('saves and restores its state exactly (checkpoints)', () => {
    const r = new Rng(3);
    r.permutation(17);
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const a = Array.from(r.choice(Int32Array.from({ length: 50 }, (_, i) => i), 10));
    const b = Array.from(Rng.fromState(saved).choice(Int32Array.from({ length: 50 }, (_, i) => i), 10));
    expect(b).toEqual(a);
    expect(() => Rng.fromState({ s: [0, 0, 0, 0] })).toThrow(/all-zero/);
  });

  it('choice draws distinct pool elements in random order', () => {
    const r = new Rng(11);
    const pool = Int32Array.from({ length: 30 }, (_, i) => 100 + i);
    for (let t = 0; t < 20; t++) {
      const c = Array.from(r.choice(pool, 12));
      expect(new Set(c).size).toBe(12);
      for (const x of c) expect(x >= 100 && x < 130).toBe(true);
    }
    // like npr.choice(replace=False), taking everything still permutes
    const all = Array.from(new Rng(1).choice(pool, 30));
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from(pool));
    expect(all).not.toEqual(Array.from(pool));
    expect(() => r.choice(pool, 31)).toThrow(/distinct/);
  });

  it('randint is uniform and in range', () => {
    const r = new Rng(5);
    const counts = new Array(6).fill(0);
    const n = 60000;
    for (let i = 0; i < n; i++) counts[r.randint(6)]++;
    for (const c of counts) expect(Math.abs(c - n / 6)).toBeLessThan(600);
    const arr = r.randintArray(3, 1000);
    expect(Math.min(...arr)).toBe(0);
    expect(Math.max(...arr)).toBe(2);
    expect(() => r.randint(0)).toThrow();
  });

  it('permutation covers 0..n-1; nextFloat is in [0, 1)', () => {
    const r = new Rng(9);
    expect(Array.from(r.permutation(100)).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });
});
