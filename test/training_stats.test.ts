/**
 * Detectron's training log. The expected json_stats lines were printed by a scratch python3 +
 * numpy script replaying detectron/utils/training_stats.py and logging.py (SmoothedValue median
 * windows of 20, log_json_stats' '{:.6f}' formatting, timer reset LOG_PERIOD iterations in) with
 * the same fake iteration times (0.5 + 0.01 * it s), losses, lr, mem and queue size as below.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  SmoothedValue,
  StatsFileWriter,
  TrainingProgress,
  TrainingStats,
  formatEta,
  formatJsonStats,
  logStatsToScalars,
  pyFormatFixed,
} from '../lib/utils/training_stats';

const f32 = Math.fround;

describe('training stats', () => {
  test('json_stats lines match Detectron over 45 iterations', () => {
    let now = 0;
    const ts = new TrainingStats({ maxIter: 100, clock: () => now, memoryBytes: () => 1234567890, queueSize: () => 64 });
    const lines: string[] = [];
    for (let it = 0; it < 45; it++) {
      now = 0;
      ts.iterTic();
      now = 0.5 + 0.01 * it;
      ts.iterToc();
      ts.updateIterStats(
        { loss_cls: f32(1 / (1 + it)), loss_bbox: f32(0.25 + 0.001 * (it % 7)) },
        { accuracy_cls: f32(0.5 + it / 100) },
      );
      const lr = f32(0.02 * ((1 / 3) * (1 - it / 500) + it / 500));
      const logged = ts.logIterStats(it, lr);
      if (logged !== null) lines.push(logged.line);
      ts.maybeResetIterTimer(it, 0);
    }
    expect(lines).toEqual([
      'json_stats: {"accuracy_cls": "0.500000", "eta": "0:00:50", "iter": 0, "loss": "1.250000", "loss_bbox": "0.250000", "loss_cls": "1.000000", "lr": "0.006667", "mb_qsize": 64, "mem": 1178, "time": "0.500000"}',
      'json_stats: {"accuracy_cls": "0.605000", "eta": "0:00:48", "iter": 20, "loss": "0.340621", "loss_bbox": "0.253000", "loss_cls": "0.087121", "lr": "0.007200", "mb_qsize": 64, "mem": 1178, "time": "0.600000"}',
      'json_stats: {"accuracy_cls": "0.805000", "eta": "0:00:48", "iter": 40, "loss": "0.284373", "loss_bbox": "0.253000", "loss_cls": "0.031754", "lr": "0.007733", "mb_qsize": 64, "mem": 1178, "time": "0.805000"}',
    ]);
    expect(ts.shouldLog(99)).toBe(true); // the last iteration is always logged
  });

  test("Python's {:.6f} and json.dumps details, and timedelta strings", () => {
    const line = formatJsonStats({
      a: 0.0078125, b: -0, c: 2.5e-7, d: -1e-9, e: 1e22, f: NaN, g: 0.0234375, eta: formatEta(200000.7), h: 'caf\u00e9\n', iter: 7,
    } as never);
    expect(line).toBe('json_stats: {"a": "0.007812", "b": "-0.000000", "c": "0.000000", "d": "-0.000000", "e": "10000000000000000000000.000000", "eta": "2 days, 7:33:20", "f": "nan", "g": "0.023438", "h": "caf\\u00e9\\n", "iter": 7}');
    expect([formatEta(86400), formatEta(59.9), formatEta(3 * 86400 + 3661)]).toEqual(['1 day, 0:00:00', '0:00:59', '3 days, 1:01:01']);
    expect(pyFormatFixed(2.5, 0)).toBe('2');
    expect(pyFormatFixed(-Infinity)).toBe('-inf');
  });

  test('iter_size: inner losses are averaged (Detectron.pytorch)', () => {
    const ts = new TrainingStats({ maxIter: 10 });
    ts.updateIterStats([{ loss_a: 1, loss_b: 2 }, { loss_a: 3, loss_b: 6 }], [{ acc: 0.5 }, { acc: 0.7 }]);
    expect(ts.iterTotalLoss).toBe(6);
    const s = ts.getStats(0, 0.01);
    expect([s.loss, s.loss_a, s.loss_b, s.acc]).toEqual([6, 2, 4, 0.6]);
    expect('mem' in s).toBe(false);
  });

  test('SmoothedValue: median over the last window only', () => {
    const v = new SmoothedValue(3);
    for (const x of [10, 1, 2, 3]) v.addValue(x);
    expect(v.getMedianValue()).toBe(2);
    v.addValue(100);
    expect(v.getMedianValue()).toBe(3);
    expect(v.getGlobalAverageValue()).toBeCloseTo(116 / 5, 12);
  });

  test('stats file (JSON lines), TensorBoard scalars and plain progress lines', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stats-test-'));
    try {
      const file = path.join(dir, 'stats.jsonl');
      const w = new StatsFileWriter(file);
      const stats = { iter: 20, lr: 0.01, time: 0.5, loss: 1.5, eta: '0:01:00', loss_cls: 1 };
      w.write(stats);
      w.write({ ...stats, iter: 40 }, { epoch: 0 });
      w.close();
      const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows.map((r) => [r.iter, r.epoch])).toEqual([[20, undefined], [40, 0]]);

      const scalars: Array<[string, number, number]> = [];
      logStatsToScalars({ addScalar: (t, v, s) => scalars.push([t, v, s]) }, stats, 20);
      expect(scalars).toEqual([['lr', 0.01, 20], ['time', 0.5, 20], ['loss', 1.5, 20], ['loss_cls', 1, 20]]);

      let out = '';
      const p = new TrainingProgress(40, 0, { stream: { write: (s: string) => (out += s), isTTY: false }, plainEvery: 20 });
      for (let it = 0; it < 40; it++) p.update(it, { loss: 0.5, lr: 0.02, eta: '0:00:01' });
      p.log('done');
      p.stop();
      expect(out).toBe('[20/40] loss 0.5000 lr 0.020000 eta 0:00:01\n[40/40] loss 0.5000 lr 0.020000 eta 0:00:01\ndone\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
