/**
 * Training statistics as Detectron logs them (detectron/utils/training_stats.py and logging.py):
 * losses and metrics smoothed by the median over a window of 20 iterations, a
 * `json_stats: {...}` line every LOG_PERIOD (20) iterations and at the last one, an ETA from the
 * average iteration time (the timer is reset LOG_PERIOD iterations after the start, to drop the
 * slow first iterations), peak GPU memory in MiB. Also: a JSON-lines stats file, Detectron.pytorch's
 * iter_size averaging and TensorBoard scalars, and a progress bar (stderr; plain lines when not
 * a TTY).
 */
import * as fs from 'fs';
import { Presets, SingleBar } from 'cli-progress';
import { Timer } from './timer';

/** Detectron's SmoothedValue: a window for the median/mean and a running global mean. */
export class SmoothedValue {
  private readonly window: number[] = [];
  total = 0;
  count = 0;

  constructor(readonly windowSize: number) {}

  addValue(value: number): void {
    this.window.push(value);
    if (this.window.length > this.windowSize) this.window.shift();
    this.count += 1;
    this.total += value;
  }

  /** np.median of the window: the middle value, or the mean of the two middle ones. NaN when empty. */
  getMedianValue(): number {
    const n = this.window.length;
    if (n === 0) return NaN;
    // numpy sorts NaN last and a window containing NaN has median NaN.
    if (this.window.some(Number.isNaN)) return NaN;
    const s = [...this.window].sort((a, b) => a - b);
    const mid = n >> 1;
    return n % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  }

  getAverageValue(): number {
    if (this.window.length === 0) return NaN;
    let sum = 0;
    for (const v of this.window) sum += v;
    return sum / this.window.length;
  }

  getGlobalAverageValue(): number {
    return this.total / this.count;
  }
}

/** One stats record: Detectron's GetStats dict. Numbers under INT_STAT_KEYS are ints, all other numbers floats. */
export interface IterStats {
  iter: number;
  lr: number;
  time: number;
  loss: number;
  eta: string;
  mb_qsize?: number;
  mem?: number;
  [lossOrMetric: string]: number | string | undefined;
}

/** The keys Detectron logs as Python ints (everything else numeric is a float). */
export const INT_STAT_KEYS: ReadonlySet<string> = new Set(['iter', 'mb_qsize', 'mem']);

/**
 * Python's '{:.6f}'.format(x) (any precision): correctly rounded, ties to even, 'nan'/'inf',
 * '-0.000000' for negative zero. JS toFixed rounds exactly too but breaks ties upwards and writes
 * exponents from 1e21 on; a tie at `digits` decimals needs x * 2^(digits+1) to be an odd integer.
 */
export function pyFormatFixed(x: number, digits = 6): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let body: string;
  const scaled = a * 2 ** (digits + 1); // exact: a power-of-two scaling
  if (Number.isInteger(scaled) && scaled % 2 === 1) {
    // a = j / 2^(d+1), j odd: a * 10^d = j * 5^d / 2 lies exactly halfway; pick the even neighbour.
    const twice = BigInt(scaled) * 5n ** BigInt(digits);
    let n = (twice - 1n) / 2n;
    if (n % 2n !== 0n) n += 1n;
    body = bigToFixed(n, digits);
  } else if (a >= 1e21) {
    body = `${BigInt(a).toString()}${digits > 0 ? `.${'0'.repeat(digits)}` : ''}`;
  } else {
    body = a.toFixed(digits);
  }
  return negative ? `-${body}` : body;
}

function bigToFixed(n: bigint, digits: number): string {
  const s = n.toString().padStart(digits + 1, '0');
  return digits === 0 ? s : `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}`;
}

/** json.dumps(str) with ensure_ascii: everything outside ' '..'~' escaped, lowercase hex. */
export function pyJsonString(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Detectron's log_json_stats line: top-level floats formatted '{:.6f}' (so they appear as JSON
 * strings), keys sorted, Python's json separators: `json_stats: {"eta": "...", "iter": 20, ...}`.
 */
export function formatJsonStats(stats: IterStats, intKeys: ReadonlySet<string> = INT_STAT_KEYS): string {
  const keys = Object.keys(stats)
    .filter((k) => stats[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts = keys.map((k) => {
    const v = stats[k] as number | string;
    let text: string;
    if (typeof v === 'string') text = pyJsonString(v);
    else if (intKeys.has(k) && Number.isInteger(v)) text = String(v);
    else text = pyJsonString(pyFormatFixed(v, 6));
    return `${pyJsonString(k)}: ${text}`;
  });
  return `json_stats: {${parts.join(', ')}}`;
}

/** str(datetime.timedelta(seconds=int(seconds))): 'H:MM:SS', '1 day, H:MM:SS', '3 days, ...'. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  let s = Math.trunc(seconds);
  // timedelta normalises negatives to a negative day count and a positive remainder.
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  if (days === 0) return hms;
  return `${days} day${Math.abs(days) === 1 ? '' : 's'}, ${hms}`;
}

/** numpy's round (half to even) to an integer. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export type LossDict = Readonly<Record<string, number>>;

export interface TrainingStatsOptions {
  /** SOLVER.MAX_ITER (for the ETA and the last-iteration log). */
  maxIter: number;
  /** Detectron: 20. */
  logPeriod?: number;
  /** Detectron: 20. */
  windowSize?: number;
  /** Peak GPU memory in bytes (max over devices), or null where there is none (CPU): 'mem' is then left out. */
  memoryBytes?: () => number | null;
  /** Minibatch queue length (Detectron's mb_qsize); left out when absent. */
  queueSize?: () => number;
  /** Monotonic clock in seconds (tests pass a fake one). */
  clock?: () => number;
}

/** Detectron's TrainingStats: feed it each iteration's losses and metrics, ask it for log lines. */
export class TrainingStats {
  readonly logPeriod: number;
  readonly windowSize: number;
  readonly iterTimer: Timer;
  /** The sum of this iteration's losses (Detectron checks it for NaN). */
  iterTotalLoss = NaN;
  private readonly smoothed = new Map<string, SmoothedValue>();
  private readonly smoothedTotalLoss: SmoothedValue;
  private readonly smoothedQsize: SmoothedValue;

  constructor(private readonly o: TrainingStatsOptions) {
    this.logPeriod = o.logPeriod ?? 20;
    this.windowSize = o.windowSize ?? 20;
    this.iterTimer = new Timer(o.clock);
    this.smoothedTotalLoss = new SmoothedValue(this.windowSize);
    this.smoothedQsize = new SmoothedValue(this.windowSize);
  }

  iterTic(): void {
    this.iterTimer.tic();
  }

  iterToc(): number {
    return this.iterTimer.toc(false);
  }

  resetIterTimer(): void {
    this.iterTimer.reset();
  }

  /** Detectron resets the timer once, LOG_PERIOD iterations after the (re)start, to drop warm-up outliers. */
  maybeResetIterTimer(curIter: number, startIter: number): void {
    if (curIter === startIter + this.logPeriod) this.resetIterTimer();
  }

  private series(key: string): SmoothedValue {
    let s = this.smoothed.get(key);
    if (s === undefined) {
      s = new SmoothedValue(this.windowSize);
      this.smoothed.set(key, s);
    }
    return s;
  }

  /**
   * Adds one SGD iteration. With iter_size > 1, pass one dict per inner pass: each value is
   * their mean (Detectron.pytorch's _mean_and_reset_inner_list), and the total loss the mean
   * of the inner totals. The total loss sums the losses only, not the metrics.
   */
  updateIterStats(losses: LossDict | readonly LossDict[], metrics: LossDict | readonly LossDict[] = {}): void {
    const lossList = Array.isArray(losses) ? (losses as readonly LossDict[]) : [losses as LossDict];
    const metricList = Array.isArray(metrics) ? (metrics as readonly LossDict[]) : [metrics as LossDict];
    const lossMeans = meanOver(lossList);
    const metricMeans = meanOver(metricList);
    for (const [k, v] of lossMeans) this.series(k).addValue(v);
    for (const [k, v] of metricMeans) this.series(k).addValue(v);
    // Detectron: np.sum of the losses; Detectron.pytorch (iter_size): mean of the inner sums.
    let total = 0;
    for (const inner of lossList) {
      let sum = 0;
      for (const v of Object.values(inner)) sum += v;
      total += sum;
    }
    this.iterTotalLoss = lossList.length === 1 ? total : total / lossList.length;
    this.smoothedTotalLoss.addValue(this.iterTotalLoss);
    if (this.o.queueSize !== undefined) this.smoothedQsize.addValue(this.o.queueSize());
  }

  /** Whether Detectron logs at this iteration. */
  shouldLog(curIter: number): boolean {
    return curIter % this.logPeriod === 0 || curIter === this.o.maxIter - 1;
  }

  /** Detectron's GetStats. */
  getStats(curIter: number, lr: number): IterStats {
    const avg = this.iterTimer.averageTime;
    const stats: IterStats = {
      iter: curIter,
      lr,
      time: avg,
      loss: this.smoothedTotalLoss.getMedianValue(),
      eta: formatEta(avg * (this.o.maxIter - curIter)),
    };
    if (this.o.queueSize !== undefined) stats.mb_qsize = roundHalfEven(this.smoothedQsize.getMedianValue());
    const mem = this.o.memoryBytes?.() ?? null;
    if (mem !== null) stats.mem = Math.ceil(mem / 1024 / 1024);
    for (const [k, v] of this.smoothed) stats[k] = v.getMedianValue();
    return stats;
  }

  /** The json_stats line when this iteration is logged, else null. */
  logIterStats(curIter: number, lr: number): { line: string; stats: IterStats } | null {
    if (!this.shouldLog(curIter)) return null;
    const stats = this.getStats(curIter, lr);
    return { line: formatJsonStats(stats), stats };
  }
}

function meanOver(list: readonly LossDict[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const d of list) for (const [k, v] of Object.entries(d)) sums.set(k, (sums.get(k) ?? 0) + v);
  if (list.length > 1) for (const [k, v] of sums) sums.set(k, v / list.length);
  return sums;
}

/** Something that takes scalars (tensorboard.ts EventWriter). */
export interface ScalarSink {
  addScalar(tag: string, value: number, step: number): void;
}

/** Detectron.pytorch's tb_log_stats: every numeric stat except iter and eta, tagged by its key. */
export function logStatsToScalars(sink: ScalarSink, stats: IterStats, step: number): void {
  for (const [k, v] of Object.entries(stats)) {
    if (k === 'iter' || k === 'eta' || typeof v !== 'number') continue;
    sink.addScalar(k, v, step);
  }
}

/** Appends one JSON object per logged iteration (numbers as numbers; NaN as null). */
export class StatsFileWriter {
  private fd: number | null;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  write(stats: IterStats, extra: Readonly<Record<string, number | string>> = {}): void {
    if (this.fd === null) throw new Error(`${this.file}: the stats file is closed`);
    // A whole line per write call, so a crash leaves complete lines behind.
    fs.writeSync(this.fd, `${JSON.stringify({ ...stats, ...extra })}\n`);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Where the progress output goes: process.stderr by default. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface TrainingProgressOptions {
  stream?: ProgressStream;
  /** false forces plain lines. A bar needs a TTY stream and CI unset. */
  tty?: boolean;
  /** Without a TTY, print a plain line every this many iterations (default 20) and at the last. */
  plainEvery?: number;
}

export interface ProgressPayload {
  loss: number;
  lr: number;
  eta: string;
}

/** The progress hook of the training loop: a redrawn bar on a terminal, plain lines elsewhere. */
export class TrainingProgress {
  private readonly stream: ProgressStream;
  private readonly bar: SingleBar | null = null;
  private readonly plainEvery: number;

  constructor(
    readonly total: number,
    startIter: number,
    o: TrainingProgressOptions = {},
  ) {
    this.stream = o.stream ?? process.stderr;
    this.plainEvery = Math.max(1, o.plainEvery ?? 20);
    const tty = o.tty !== false && this.stream.isTTY === true && !process.env.CI;
    if (tty) {
      this.bar = new SingleBar(
        {
          stream: this.stream as NodeJS.WritableStream,
          format: ' {bar} {value}/{total} iter | loss {loss} | lr {lr} | ETA {eta}',
          hideCursor: true,
          clearOnComplete: false,
          fps: 5,
        },
        Presets.shades_classic,
      );
      this.bar.start(total, startIter, { loss: '-', lr: '-', eta: '-' });
    }
  }

  /** After iteration `curIter` (0-indexed). */
  update(curIter: number, p: ProgressPayload): void {
    const done = curIter + 1;
    const payload = { loss: p.loss.toFixed(4), lr: p.lr.toFixed(6), eta: p.eta };
    if (this.bar !== null) {
      this.bar.update(done, payload);
    } else if (done % this.plainEvery === 0 || done === this.total) {
      this.stream.write(`[${done}/${this.total}] loss ${payload.loss} lr ${payload.lr} eta ${payload.eta}\n`);
    }
  }

  /** A line that must not garble the bar. */
  log(line: string): void {
    if (this.bar !== null) {
      // cli-progress's SingleBar has no log(): clear the line, print, let the next redraw restore the bar.
      this.stream.write(`\r\x1b[K${line}\n`);
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
