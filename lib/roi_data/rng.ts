/**
 * A small seeded random number generator for training data: xoshiro128** (Blackman & Vigna),
 * seeded through splitmix32. Replaces Detectron's global numpy.random state (npr.choice,
 * npr.randint, np.random.permutation), whose exact streams we do not reproduce: what we keep is
 * the *distribution* of each draw (uniform, with or without replacement, as Detectron asks for)
 * and full determinism from a seed, independent of threads and timing.
 *
 * Streams: `Rng.derive(seed, ...keys)` gives an independent generator per (seed, epoch, batch)
 * so a minibatch built in a worker thread draws exactly what it would draw in-process, and any
 * epoch or batch can be recomputed without replaying the ones before it (checkpoint resume).
 */

/** The state of an Rng: four 32-bit words, as plain numbers (JSON-serialisable). */
export interface RngState {
  readonly s: readonly [number, number, number, number];
}

/**
 * The draws target builders make. Tests can inject a scripted source that replays numpy's
 * recorded draws to compare whole outputs with Detectron's.
 */
export interface RandomSource {
  /** A uniform integer in [0, high). */
  randint(high: number): number;
  /** `size` uniform integers in [0, high), with replacement (npr.randint(high, size=size)). */
  randintArray(high: number, size: number): Int32Array;
  /**
   * `size` distinct elements of `pool` in random order (npr.choice(pool, size, replace=False),
   * which also returns its picks in random order).
   */
  choice(pool: ArrayLike<number>, size: number): Int32Array;
}

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Folds a seed and stream keys into one 32-bit seed (order-sensitive). */
export function deriveSeed(seed: number, ...keys: readonly number[]): number {
  checkSeed(seed, 'seed');
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const k of keys) {
    checkSeed(k, 'stream key');
    h = fmix32((h + Math.imul(fmix32(k >>> 0) ^ 0x85ebca6b, 0x27d4eb2f)) >>> 0);
  }
  return h;
}

function checkSeed(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`Rng: ${what} must be an integer in [0, 2^32), got ${v}`);
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng implements RandomSource {
  private readonly s = new Uint32Array(4);

  /** A generator seeded with a 32-bit integer (splitmix32 expands it to the 128-bit state). */
  constructor(seed: number) {
    checkSeed(seed, 'seed');
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      this.s[i] = (z ^ (z >>> 15)) >>> 0;
    }
    // xoshiro's only forbidden state; splitmix32 cannot produce it, but keep the guard cheap
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** An independent stream for (seed, ...keys), e.g. (RNG_SEED, epoch, batch). */
  static derive(seed: number, ...keys: readonly number[]): Rng {
    return new Rng(deriveSeed(seed, ...keys));
  }

  /** A generator resuming exactly from a saved state. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    if (!Array.isArray(state.s) || state.s.length !== 4) throw new Error('Rng.fromState: state must have four words');
    state.s.forEach((v, i) => {
      checkSeed(v, `state word ${i}`);
      r.s[i] = v;
    });
    if ((r.s[0] | r.s[1] | r.s[2] | r.s[3]) === 0) throw new Error('Rng.fromState: the all-zero state is invalid');
    return r;
  }

  getState(): RngState {
    return { s: [this.s[0], this.s[1], this.s[2], this.s[3]] };
  }

  /** The next 32 random bits (xoshiro128**). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, high), unbiased (rejection of the short last block). */
  randint(high: number): number {
    if (!Number.isInteger(high) || high <= 0 || high > 0x100000000) {
      throw new Error(`Rng.randint: high must be an integer in [1, 2^32], got ${high}`);
    }
    if (high === 0x100000000) return this.nextUint32();
    // 2^32 mod high values at the bottom would be over-represented: draw again there
    const reject = 0x100000000 % high;
    for (;;) {
      const v = this.nextUint32();
      if (v >= reject) return v % high;
    }
  }

  randintArray(high: number, size: number): Int32Array {
    checkSize(size, 'randintArray');
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.randint(high);
    return out;
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n-1 (np.random.permutation(n)). */
  permutation(n: number): Int32Array {
    checkSize(n, 'permutation');
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * `size` distinct elements of `pool` in random order: a partial Fisher-Yates shuffle of a copy
   * (the first `size` positions), O(pool length) copies and O(size) draws.
   */
  choice(pool: ArrayLike<number>, size: number): Int32Array {
    checkSize(size, 'choice');
    if (size > pool.length) throw new Error(`Rng.choice: cannot take ${size} distinct elements from ${pool.length}`);
    const a = Int32Array.from(pool);
    for (let i = 0; i < size; i++) {
      const j = i + this.randint(a.length - i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a.slice(0, size);
  }
}

function checkSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size < 0) throw new Error(`Rng.${what}: size must be a non-negative integer, got ${size}`);
}
