/**
 * Multi-process training on c10d/Gloo over 127.0.0.1: collectives between two real processes,
 * a two-process `train_net --nproc 2` against its serial definition (one process computing
 * both ranks' shards of the same global minibatches, SerialGroup), and a killed rank ending
 * the job with a clear error.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { trainModel, TrainOptions } from '../lib/core/train';
import { native } from '../lib/nn/native';
import { loadCheckpoint } from '../lib/utils/checkpoints';
import { backendFor, initProcessGroup, rankDevice, SerialGroup } from '../lib/utils/distributed';
import { freePort, launchLocal, nodeArgsForModule } from '../lib/utils/distributed_launch';
import { buildProgram } from '../tools/detectron';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const ROOT = path.join(__dirname, '..');
const CFG = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');
const ANN = path.join(FIXTURES, 'coco/annotations/instances_mini.json');
const IMAGES = path.join(FIXTURES, 'coco/images');
const SMALL = ['TRAIN.SCALES', '(256,)', 'TRAIN.MAX_SIZE', '400', 'TRAIN.USE_FLIPPED', 'False', 'SOLVER.WARM_UP_ITERS', '0',
  'TRAIN.RPN_PRE_NMS_TOP_N', '1000', 'TRAIN.RPN_POST_NMS_TOP_N', '500', 'TRAIN.BATCH_SIZE_PER_IM', '128'];

const available = native.distInfo().available;
const maybe = available ? describe : describe.skip;

/** Runs `code` (with `d` = lib/utils/distributed, `T` = lib/nn/tensor) in `n` ranks; their stdout JSON. */
async function runRanks(n: number, code: string): Promise<unknown[]> {
  const port = await freePort();
  const call = `const d = m; const T = require(${JSON.stringify(path.join(ROOT, 'lib/nn/tensor.ts'))});\n` +
    `const g = d.initProcessGroup(null, { timeoutMs: 20000 });\n${code}\ng.destroy();`;
  const runs = Array.from({ length: n }, (_, rank) => new Promise<unknown>((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgsForModule(path.join(ROOT, 'lib/utils/distributed.ts'), call), {
      env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(n), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), DETECTRON_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += String(c)));
    child.stderr.on('data', (c) => (err += String(c)));
    child.on('close', (codeOut) => (codeOut === 0 ? resolve(JSON.parse(out)) : reject(new Error(`rank ${rank}: ${err}`))));
  }));
  return Promise.all(runs);
}

describe('process layout', () => {
  test('one GPU per rank, and the backend torch.distributed picks for each device', () => {
    expect(rankDevice('cuda', 0)).toBe('cuda:0');
    expect(rankDevice('cuda', 3)).toBe('cuda:3');
    expect(rankDevice('cuda:1', 3)).toBe('cuda:1');
    expect(rankDevice('cpu', 3)).toBe('cpu');
    expect(backendFor('cpu')).toBe('gloo');
    expect(backendFor('cuda:2')).toBe('nccl');
  });

  const withoutNccl = native.distInfo().backends.includes('nccl') ? test.skip : test;
  withoutNccl('CUDA training across processes without NCCL in the build is refused before any rendezvous', () => {
    const env = { rank: 0, worldSize: 2, localRank: 0, masterAddr: '127.0.0.1', masterPort: 1 };
    expect(() => initProcessGroup(env, { device: 'cuda:0' })).toThrow(
      new RegExp(`training on cuda:0 across processes needs c10d's nccl backend, which this addon was built without \\(it has: ${
        native.distInfo().backends.join(', ') || 'none'}\\); build against a CUDA libtorch that has NCCL`));
  });
});

maybe('distributed (c10d/Gloo)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('two processes all-reduce, broadcast and average over Gloo', async () => {
    const results = await runRanks(2, `
      const r = g.rank;
      const a = T.fromArray(new Float32Array([r + 1, 10 * (r + 1), -0.5]));
      const b = T.fromArray(new Float64Array([r === 0 ? 1e-12 : 1, 3]));
      g.allReduce([a, b]);
      const c = T.fromArray(new Float32Array([r, r, r]));
      g.broadcast([c], 1);
      g.barrier();
      const avg = g.averageScalars([r, 2 * r]);
      const rows = g.gatherRows(new Map([[r, [r + 1, 2 ** 32 - 1 - r]]]), 2);
      process.stdout.write(JSON.stringify({ a: Array.from(a.data()), b: Array.from(b.data()), c: Array.from(c.data()), avg, rows,
        backend: g.backend, tensorDevice: g.tensorDevice, transport: g.transport }));
    `);
    for (const r of results as Array<Record<string, unknown>>) {
      expect(r.a).toEqual([3, 30, -1]);
      expect(r.b).toEqual([1 + 1e-12, 6]);
      expect(r.c).toEqual([1, 1, 1]);
      expect(r.avg).toEqual([0.5, 1]);
      expect(r.rows).toEqual([[1, 2 ** 32 - 1], [2, 2 ** 32 - 2]]);
      expect([r.backend, r.tensorDevice, r.transport]).toEqual(['gloo', 'cpu', 'hostname 127.0.0.1']);
    }
  });

  test("DDP's reducer averages gradients during backward: accumulation without sync, a layer unused on one rank", async () => {
    const results = await runRanks(2, `
      const L = require(${JSON.stringify(path.join(ROOT, 'lib/nn/layers.ts'))});
      const { Module } = require(${JSON.stringify(path.join(ROOT, 'lib/nn/module.ts'))});
      class Two extends Module {
        constructor() { super(); this.a = this.addModule('a', new L.Linear('a', 3, 2)); this.b = this.addModule('b', new L.Linear('b', 3, 2)); }
      }
      const model = new Two();
      for (const [, p] of model.namedParameters()) p.tensor.requiresGrad_(true);
      g.wrapModel(model);
      const r = g.rank;
      const step = (x, sync, useB) => {
        let loss = model.a.forward(T.fromArray(new Float32Array(x), [1, 3])).sum();
        if (useB) loss = loss.add(model.b.forward(T.fromArray(new Float32Array([4, 5, 6]), [1, 3])).sum().mul(r + 1));
        g.backward(loss, sync);
      };
      step([r + 1, 1, 2], false, false);
      const local = Array.from(model.a.weight.tensor.grad.data());
      step([1, 1, r + 1], true, r === 0);
      g.allReduceGradients(model);
      const grad = (p) => (p.tensor.grad === null ? null : Array.from(p.tensor.grad.data()));
      process.stdout.write(JSON.stringify({
        overlaps: g.overlapsBackward, local, aw: grad(model.a.weight), ab: grad(model.a.bias), bw: grad(model.b.weight), bb: grad(model.b.bias),
      }));
    `);
    const [r0, r1] = results as Array<Record<string, unknown>>;
    // Before the synchronised backward each rank holds its own gradient.
    expect(r0.local).toEqual([1, 1, 2, 1, 1, 2]);
    expect(r1.local).toEqual([2, 1, 2, 2, 1, 2]);
    for (const r of [r0, r1]) {
      expect(r.overlaps).toBe(true);
      // a: mean over ranks of x + x' per rank: rank 0 (2, 2, 3), rank 1 (3, 2, 4).
      expect(r.aw).toEqual([2.5, 2, 3.5, 2.5, 2, 3.5]);
      expect(r.ab).toEqual([2, 2]);
      // b: used on rank 0 only (weight 1); rank 1 contributes zeros to the mean.
      expect(r.bw).toEqual([2, 2.5, 3, 2, 2.5, 3]);
      expect(r.bb).toEqual([0.5, 0.5]);
    }
  });

  const base = (out: string): TrainOptions => ({
    cfg: CFG, datasets: [ANN], imageDir: IMAGES, overrides: SMALL, batchSize: 2, lr: 0.0002, epochs: 2, maxSteps: 2,
    loadDetectron: detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), outputDir: path.join(dir, out), seed: 7,
    log: () => {}, dispInterval: 1,
  });
  const statsOf = (out: string): Array<Record<string, number>> =>
    fs.readFileSync(path.join(dir, out, 'training_stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  test('train_net --nproc 2 matches one process computing both shards of the same global minibatches', async () => {
    const serial = await trainModel({ ...base('serial'), distributed: new SerialGroup(2) });
    expect(serial.steps).toBe(2);
    await buildProgram().exitOverride().parseAsync([
      'node', 'detectron', 'train_net', '--dataset', ANN, '--image-dir', IMAGES, '--cfg', CFG, '--bs', '2', '--nproc', '2',
      '--epochs', '2', '--max_steps', '2', '--lr', '0.0002', '--seed', '7', '--disp_interval', '1',
      '--load_detectron', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--output_dir', path.join(dir, 'ddp'), '--set', ...SMALL,
    ]);
    const a = statsOf('serial');
    const b = statsOf('ddp');
    expect(b.map((s) => s.iter)).toEqual([0, 1]);
    for (let i = 0; i < a.length; i++) {
      for (const k of Object.keys(a[i]).filter((key) => key.startsWith('loss') || key === 'accuracy_cls')) {
        expect(Math.abs(b[i][k] - a[i][k])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(a[i][k])));
      }
    }
    // The weights after two SGD steps on averaged gradients agree too.
    const wa = loadCheckpoint(path.join(dir, 'serial', 'model_final.pkl')).blobs;
    const wb = loadCheckpoint(path.join(dir, 'ddp', 'model_final.pkl')).blobs;
    expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
    let worst = 0;
    for (const [name, x] of wa) {
      const y = wb.get(name)!;
      for (let i = 0; i < x.data.length; i++) worst = Math.max(worst, Math.abs(Number(x.data[i]) - Number(y.data[i])));
    }
    expect(worst).toBeLessThan(1e-5);
    // Only rank 0 writes.
    expect(fs.readdirSync(path.join(dir, 'ddp')).sort()).toEqual(fs.readdirSync(path.join(dir, 'serial')).sort());
  }, 600_000);

  test('a killed rank stops the job with an error naming it', async () => {
    const children: ChildProcess[] = [];
    const lines: string[] = [];
    let killedAt = 0;
    const job = launchLocal({
      nproc: 2, graceMs: 120_000,
      args: ['train_net', '--dataset', ANN, '--image-dir', IMAGES, '--cfg', CFG, '--bs', '2', '--epochs', '50', '--lr', '0.0002',
        '--disp_interval', '1', '--load_detectron', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--output_dir', path.join(dir, 'killed'),
        '--set', ...SMALL],
      onSpawn: (rank, child) => (children[rank] = child),
      onLine: (rank, line) => {
        lines.push(`${rank}: ${line}`);
        if (rank === 0 && killedAt === 0 && /json_stats|iter/.test(line)) {
          killedAt = Date.now();
          children[1].kill('SIGKILL');
        }
      },
    });
    await expect(job).rejects.toThrow(/rank 1 of 2 was killed by SIGKILL; the job is stopped/);
    expect(killedAt).toBeGreaterThan(0);
    // Rank 0 ended on its own, its collective failing on the closed connection.
    expect(children[0].exitCode).toBe(1);
    expect(lines.join('\n')).toMatch(/0: detectron: gradient all-reduce \(rank 0 of 2\) failed during backward: .*Connection closed by peer/);
    // Within about one training step (rank 0 notices at its next all-reduce).
    expect(Date.now() - killedAt).toBeLessThan(60_000);
  });
});
