/** Wall time per named stage of the test path, like Detectron's `timers` dict of Timers. */
export class StageTimes {
  private readonly totals = new Map<string, { ms: number; calls: number }>();

  /** Runs `fn`, adding its duration to stage `name`. */
  time<R>(name: string, fn: () => R): R {
    const start = process.hrtime.bigint();
    try {
      return fn();
    } finally {
      this.add(name, Number(process.hrtime.bigint() - start) / 1e6);
    }
  }

  add(name: string, ms: number): void {
    const t = this.totals.get(name) ?? { ms: 0, calls: 0 };
    t.ms += ms;
    t.calls += 1;
    this.totals.set(name, t);
  }

  /** Stages in first-use order with total and mean milliseconds. */
  summary(): Array<{ stage: string; totalMs: number; calls: number; meanMs: number }> {
    return [...this.totals].map(([stage, t]) => ({ stage, totalMs: t.ms, calls: t.calls, meanMs: t.ms / t.calls }));
  }
}
