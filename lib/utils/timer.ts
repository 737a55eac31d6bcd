/**
 * Detectron's detectron/utils/timer.py: a stopwatch that accumulates calls, in seconds.
 * `timers` in Detectron is a defaultdict(Timer); `TimerSet` is that, keeping first-use order.
 */

/** Seconds from a monotonic clock (unaffected by wall-clock changes). */
function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export class Timer {
  totalTime = 0;
  calls = 0;
  startTime = 0;
  diff = 0;
  averageTime = 0;

  constructor(private readonly clock: () => number = nowSeconds) {}

  tic(): void {
    this.startTime = this.clock();
  }

  /** Stops the current interval; returns the average over all calls (or this one's duration). */
  toc(average = true): number {
    this.diff = this.clock() - this.startTime;
    this.add(this.diff);
    return average ? this.averageTime : this.diff;
  }

  /** Records a duration measured elsewhere as one call. */
  add(seconds: number, calls = 1): void {
    this.totalTime += seconds;
    this.calls += calls;
    this.averageTime = this.calls > 0 ? this.totalTime / this.calls : 0;
  }

  reset(): void {
    this.totalTime = 0;
    this.calls = 0;
    this.startTime = 0;
    this.diff = 0;
    this.averageTime = 0;
  }

  /** Times `fn` (sync or async) as one call. */
  async time<R>(fn: () => R | Promise<R>): Promise<R> {
    this.tic();
    try {
      return await fn();
    } finally {
      this.toc();
    }
  }
}

/** defaultdict(Timer): a timer per name, created on first use, listed in first-use order. */
export class TimerSet {
  private readonly timers = new Map<string, Timer>();

  constructor(private readonly clock: () => number = nowSeconds) {}

  get(name: string): Timer {
    let t = this.timers.get(name);
    if (!t) {
      t = new Timer(this.clock);
      this.timers.set(name, t);
    }
    return t;
  }

  entries(): Array<[string, Timer]> {
    return [...this.timers];
  }
}
