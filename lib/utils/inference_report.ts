/**
 * Progress and timing output of `detectron infer_simple`: a progress bar with images/s on
 * stderr, and at the end a per-stage timing summary over the run (Detectron's timers:
 * im_detect_bbox, misc_bbox, im_detect_mask, misc_mask, im_detect_keypoints, misc_keypoints,
 * plus the command's own stages such as decode and vis).
 *
 * A redrawn bar only works on a terminal: when the stream is not a TTY (CI, a log file) or CI is
 * set, each finished image prints one plain line instead, so logs stay readable.
 */
import * as path from 'path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Timer, TimerSet } from './timer';

/** Accumulated time of one stage; the test path's StageTimes.summary() gives these. */
export interface StageTotals {
  stage: string;
  totalMs: number;
  calls: number;
}

/** Anything that reports stage totals (lib/core/timers.ts StageTimes does). */
export interface StageSource {
  summary(): ReadonlyArray<StageTotals>;
}

/** Where the report writes: process.stderr by default. */
export interface ReportStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface InferenceReportOptions {
  stream?: ReportStream;
  /** false prints plain lines even on a terminal. A bar needs a TTY stream and CI unset. */
  tty?: boolean;
  /** Monotonic clock in seconds (tests pass a fake one). */
  clock?: () => number;
}

function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Detectron's per-image log lines: 'Inference time: 1.234s' then ' | stage: 0.812s' per stage. */
export function detectronTimingLines(inferenceSeconds: number, stages: StageSource): string[] {
  return [
    `Inference time: ${inferenceSeconds.toFixed(3)}s`,
    ...stages.summary().map((s) => ` | ${s.stage}: ${(s.totalMs / 1000 / Math.max(1, s.calls)).toFixed(3)}s`),
  ];
}

export class InferenceReport {
  /** Run-wide timers by stage, in first-use order; add the command's own stages here. */
  readonly timers: TimerSet;
  private readonly stream: ReportStream;
  private readonly tty: boolean;
  private readonly clock: () => number;
  private readonly started: number;
  private done = 0;
  private failed = 0;
  private bars?: MultiBar;
  private bar?: SingleBar;

  constructor(readonly total: number, options: InferenceReportOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    // cli-progress moves the cursor: only a real terminal can show it.
    this.tty = options.tty !== false && this.stream.isTTY === true && !process.env.CI;
    this.clock = options.clock ?? nowSeconds;
    this.timers = new TimerSet(this.clock);
    this.started = this.clock();
    if (this.tty) this.startBar();
  }

  private startBar(): void {
    this.bars = new MultiBar(
      {
        stream: this.stream as NodeJS.WritableStream,
        format: ' {bar} {value}/{total} images | {rate} img/s | ETA {eta_formatted} | {image}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 20,
        fps: 10,
      },
      Presets.shades_classic,
    );
    this.bar = this.bars.create(this.total, 0, { rate: '0.00', image: '' });
  }

  /** A run-wide timer (created on first use), e.g. report.timer('decode').tic(). */
  timer(stage: string): Timer {
    return this.timers.get(stage);
  }

  /** Adds one image's stage times (the test path's StageTimes) to the run totals. */
  addStages(source: StageSource): void {
    for (const s of source.summary()) this.timers.get(s.stage).add(s.totalMs / 1000, s.calls);
  }

  /** Prints a line above the bar (or plainly), without garbling the bar. */
  log(line: string): void {
    if (this.bars) this.bars.log(`${line}\n`);
    else this.stream.write(`${line}\n`);
  }

  /** Images per second since the report started. */
  rate(): number {
    const elapsed = this.clock() - this.started;
    return elapsed > 0 ? this.done / elapsed : 0;
  }

  /** Marks one image finished (`ok` false for one that failed, e.g. did not decode). */
  imageDone(image: string, ok = true): void {
    this.done += 1;
    if (!ok) this.failed += 1;
    const rate = this.rate().toFixed(2);
    if (this.bar) {
      this.bar.update(this.done, { rate, image: path.basename(image) });
    } else {
      const width = String(this.total).length;
      this.stream.write(`[${String(this.done).padStart(width)}/${this.total}] ${image}${ok ? '' : ' FAILED'} (${rate} img/s)\n`);
    }
  }

  /** The end-of-run summary: totals, then one row per stage (calls, total, mean). */
  summaryLines(): string[] {
    const elapsed = this.clock() - this.started;
    const head =
      `Processed ${this.done} image${this.done === 1 ? '' : 's'}` +
      `${this.failed ? ` (${this.failed} failed)` : ''} in ${elapsed.toFixed(3)}s (${this.rate().toFixed(2)} img/s)`;
    const rows = this.timers.entries();
    if (rows.length === 0) return [head];
    const nameWidth = Math.max(5, ...rows.map(([name]) => name.length));
    const lines = [head, `${'stage'.padEnd(nameWidth)}  ${'calls'.padStart(6)}  ${'total (s)'.padStart(10)}  ${'mean (s)'.padStart(9)}`];
    for (const [name, t] of rows) {
      lines.push(
        `${name.padEnd(nameWidth)}  ${String(t.calls).padStart(6)}  ${t.totalTime.toFixed(3).padStart(10)}  ${t.averageTime.toFixed(3).padStart(9)}`,
      );
    }
    return lines;
  }

  /** Stops the bar and prints the summary; returns its lines. */
  finish(): string[] {
    if (this.bars) {
      this.bars.stop();
      this.bars = undefined;
      this.bar = undefined;
    }
    const lines = this.summaryLines();
    for (const l of lines) this.stream.write(`${l}\n`);
    return lines;
  }
}
