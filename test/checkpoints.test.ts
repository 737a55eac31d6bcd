/**
 * Training checkpoints: round trip (weights, momentum, cfg, training state, RNG), readable by
 * our weights loader (a valid --wts) and by Python 3 + numpy the way Detectron's load_object
 * reads pickles, keep-last-N pruning, and a failed write leaving the previous checkpoint intact.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nodeIo, type AtomicIo } from '../lib/utils/atomic_write';
import { loadWeights } from '../converters/weights';
import { dumpCfgYaml, getDefaultConfig } from '../lib/core/config';
import { MomentumSGD, sgdOptionsFromCfg } from '../lib/modeling/optimizer';
import { Module, type Parameter } from '../lib/nn/module';
import { noGrad } from '../lib/nn/autograd';
import { tidy } from '../lib/nn/scope';
import { manualSeed, randn, tensor } from '../lib/nn/tensor';
import {
  CheckpointManager,
  captureRng,
  checkpointPeriod,
  epochCheckpointInterval,
  isEpochCheckpointStep,
  isIterCheckpoint,
  loadCheckpoint,
  modelBlobs,
  restoreCheckpoint,
  resumePosition,
  saveCheckpoint,
  type Checkpoint,
  type TrainState,
} from '../lib/utils/checkpoints';

const HAS_NUMPY = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const itNumpy = HAS_NUMPY ? it : it.skip;

class Net extends Module {
  readonly conv: Parameter;
  readonly bias: Parameter;
  readonly affine: Parameter;
  constructor(seed: number) {
    super();
    this.conv = this.addParameter('w', [4, 3, 3, 3], 'conv1_w', 'weight', { fill: 'msra' });
    this.bias = this.addParameter('b', [4], 'conv1_b', 'bias', { fill: 'constant', value: 0 });
    this.affine = this.addParameter('s', [4], 'res_conv1_bn_s', 'affine', { fill: 'constant', value: 1 });
    noGrad(() => tidy(() => {
      manualSeed(seed);
      this.conv.tensor.copy_(randn([4, 3, 3, 3]));
      this.bias.tensor.copy_(tensor([0.1, 0.2, 0.3, 0.4]));
    }));
    this.conv.tensor.requiresGrad_(true);
    this.bias.tensor.requiresGrad_(true);
  }
}

const SOLVER = { MOMENTUM: 0.9, WEIGHT_DECAY: 1e-4, WEIGHT_DECAY_GN: 0, SCALE_MOMENTUM: true, SCALE_MOMENTUM_THRESHOLD: 1.1, LOG_LR_CHANGE_THRESHOLD: 1.1 };
const CFG = dumpCfgYaml(getDefaultConfig());

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-test-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A model after two SGD steps, and its checkpoint. */
function trained(iteration = 41): { net: Net; opt: MomentumSGD; ckpt: Checkpoint } {
  const net = new Net(7);
  const opt = MomentumSGD.forModel(net, sgdOptionsFromCfg(SOLVER));
  for (let i = 0; i < 2; i++) {
    opt.setLr(0.02);
    opt.zeroGrad();
    tidy(() => net.conv.tensor.pow(2).sum().add(net.bias.tensor.mul(3).sum()).backward());
    opt.step();
  }
  const state: TrainState = {
    epoch: 1,
    step: 9,
    iteration,
    itersPerEpoch: 32,
    lr: opt.lr,
    rng: captureRng(() => [5489, 4294967295, 0, 623, 0.25, -1.5e300]),
  };
  return { net, opt, ckpt: { blobs: modelBlobs(net), momentum: opt.momentumArrays(), cfg: CFG, state } };
}

const arr = (a: { data: ArrayLike<number | bigint> } | undefined): number[] => Array.from(a?.data ?? [], Number);

describe('checkpoints', () => {
  test('save + load round trip: weights, momentum, cfg, state and RNG are identical', () => {
    const { net, opt, ckpt } = trained();
    const file = path.join(tmp, 'rt.pkl');
    saveCheckpoint(file, ckpt);
    const back = loadCheckpoint(file);
    expect([...back.blobs.keys()]).toEqual(['conv1_w', 'conv1_b', 'res_conv1_bn_s']);
    for (const [k, v] of ckpt.blobs) expect(back.blobs.get(k)).toEqual(v);
    expect([...back.momentum.keys()]).toEqual(['conv1_w_momentum', 'conv1_b_momentum']);
    for (const [k, v] of ckpt.momentum) expect(back.momentum.get(k)).toEqual(v);
    expect(back.cfg).toBe(CFG);
    expect(back.state).toEqual(ckpt.state);
    expect(back.state?.rng.torch?.dtype).toBe('uint8');
    opt.dispose();
    net.dispose();
  });

  test('a checkpoint is a valid weights file (--wts): blobs, momentum and cfg; the state is an ignored key', () => {
    const { net, opt, ckpt } = trained();
    const file = path.join(tmp, 'wts.pkl');
    saveCheckpoint(file, ckpt);
    const w = loadWeights(file);
    expect(w.format).toMatchObject({ kind: 'pickle', protocol: 2, layout: 'detectron', ignoredKeys: ['train_state'] });
    expect(w.blobs.get('conv1_w')).toEqual(ckpt.blobs.get('conv1_w'));
    expect(w.momentum.get('conv1_b_momentum')).toEqual(ckpt.momentum.get('conv1_b_momentum'));
    expect(w.cfg).toBe(CFG);
    opt.dispose();
    net.dispose();
  });

  test('restoreCheckpoint: weights, momentum, lr and libtorch RNG come back', () => {
    const { net, opt, ckpt } = trained();
    const file = path.join(tmp, 'resume.pkl');
    saveCheckpoint(file, ckpt);
    const afterSave = tidy(() => arr({ data: randn([5]).data() }));
    const fresh = new Net(99);
    const fopt = MomentumSGD.forModel(fresh, sgdOptionsFromCfg(SOLVER));
    let js: number[] = [];
    const r = restoreCheckpoint(file, fresh, fopt, { setJsRng: (s) => (js = s) });
    expect(r.weights.missing).toEqual([]);
    expect(r.momentum.loaded).toEqual(['conv1_w_momentum', 'conv1_b_momentum']);
    expect(tidy(() => arr({ data: randn([5]).data() }))).toEqual(afterSave);
    expect(js).toEqual([5489, 4294967295, 0, 623, 0.25, -1.5e300]);
    expect(fopt.lr).toBe(opt.lr);
    expect(modelBlobs(fresh)).toEqual(modelBlobs(net));
    expect(fopt.momentumArrays()).toEqual(opt.momentumArrays());
    expect(resumePosition(r.state)).toEqual({ startEpoch: 1, startStep: 10, startIteration: 42 });
    for (const o of [opt, fopt]) o.dispose();
    net.dispose();
    fresh.dispose();
  });

  itNumpy('Python 3 + numpy reads it as Detectron load_object does', () => {
    const { net, opt, ckpt } = trained();
    const file = path.join(tmp, 'py.pkl');
    saveCheckpoint(file, ckpt);
    const script = [
      'import json, pickle, sys, numpy as np',
      "d = pickle.load(open(sys.argv[1], 'rb'), encoding='latin1')",
      "b = d['blobs']; s = d['train_state']",
      "out = {'keys': sorted(d.keys()), 'blobs': {k: [str(v.dtype), list(v.shape), float(np.float64(v).sum())] for k, v in b.items()},",
      "  'cfg_head': d['cfg'].splitlines()[0], 'state': {k: v for k, v in s.items() if k != 'rng'},",
      "  'lr_type': type(s['lr']).__name__, 'js': s['rng']['js'].tolist(), 'torch': [str(s['rng']['torch'].dtype), int(s['rng']['torch'].size)]}",
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    const sum = (k: string, m: ReadonlyMap<string, { data: ArrayLike<number | bigint> }>): number => arr(m.get(k)).reduce((a, v) => a + v, 0);
    expect(out.keys).toEqual(['blobs', 'cfg', 'train_state']);
    const blobs = out.blobs as Record<string, [string, number[], number]>;
    expect(Object.keys(blobs).sort()).toEqual(['conv1_b', 'conv1_b_momentum', 'conv1_w', 'conv1_w_momentum', 'res_conv1_bn_s']);
    expect(blobs.conv1_w[0]).toBe('float32');
    expect(blobs.conv1_w[1]).toEqual([4, 3, 3, 3]);
    expect(blobs.conv1_w[2]).toBeCloseTo(sum('conv1_w', ckpt.blobs), 5);
    expect(blobs.conv1_w_momentum[2]).toBeCloseTo(sum('conv1_w_momentum', ckpt.momentum), 6);
    expect(out.cfg_head).toBe(CFG.split('\n')[0]);
    expect(out.state).toEqual({ version: 1, epoch: 1, step: 9, iteration: 41, iters_per_epoch: 32, lr: ckpt.state.lr });
    expect(out.lr_type).toBe('float');
    expect(out.js).toEqual([5489, 4294967295, 0, 623, 0.25, -1.5e300]);
    expect(out.torch).toEqual(['uint8', ckpt.state.rng.torch?.data.length]);
    opt.dispose();
    net.dispose();
  });

  test('keep-last-N pruning; model_final.pkl is never pruned and wins for resuming', () => {
    const { net, opt, ckpt } = trained();
    const out = path.join(tmp, 'run-keep');
    const mgr = new CheckpointManager(out, { keep: 2 });
    expect(mgr.latest()).toBeNull();
    const saved = [9, 19, 29].map((it) => mgr.save({ ...ckpt, state: { ...ckpt.state, iteration: it } }));
    expect(saved[0].removed).toEqual([]);
    expect(saved[2].removed).toEqual([path.join(out, 'ckpt', 'model_step9.pkl')]);
    expect(mgr.list().map((c) => c.iteration)).toEqual([19, 29]);
    expect(fs.readdirSync(path.join(out, 'ckpt')).sort()).toEqual(['model_step19.pkl', 'model_step29.pkl']);
    expect(mgr.latest()).toEqual({ kind: 'step', path: path.join(out, 'ckpt', 'model_step29.pkl') });
    mgr.saveFinal(ckpt);
    expect(mgr.latest()).toEqual({ kind: 'final', path: path.join(out, 'model_final.pkl') });
    opt.dispose();
    net.dispose();
  });

  test('a write failing half-way leaves the previous checkpoint intact and prunes nothing', () => {
    const { net, opt, ckpt } = trained();
    const out = path.join(tmp, 'run-fail');
    const good = new CheckpointManager(out, { keep: 1 });
    const first = good.save(ckpt).path;
    const before = fs.readFileSync(first);
    let written = 0;
    const failing: AtomicIo = {
      ...nodeIo,
      writeSync: (fd, buffer, offset, length) => {
        if (written > 200) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        const n = nodeIo.writeSync(fd, buffer, offset, Math.min(length, 150));
        written += n;
        return n;
      },
    };
    const bad = new CheckpointManager(out, { keep: 1, io: failing });
    expect(() => bad.save({ ...ckpt, state: { ...ckpt.state, iteration: 99 } })).toThrow(/cannot write .*model_step99\.pkl: ENOSPC/);
    expect(fs.readdirSync(path.join(out, 'ckpt'))).toEqual([path.basename(first)]);
    expect(fs.readFileSync(first).equals(before)).toBe(true);
    expect(loadCheckpoint(first).state?.iteration).toBe(41);
    opt.dispose();
    net.dispose();
  });

  test('when to save: Detectron.pytorch per epoch, Detectron every SNAPSHOT_ITERS / NUM_GPUS', () => {
    expect(epochCheckpointInterval(100, 3)).toBe(33);
    expect([32, 65, 98, 99].map((s) => isEpochCheckpointStep(s, 100, 3))).toEqual([true, true, true, true]);
    expect([0, 33, 97].map((s) => isEpochCheckpointStep(s, 100, 3))).toEqual([false, false, false]);
    expect(epochCheckpointInterval(2, 3)).toBe(1);
    expect(checkpointPeriod(20000, 8)).toBe(2500);
    expect(isIterCheckpoint(2499, 0, 2500)).toBe(true);
    expect(isIterCheckpoint(2499, 2499, 2500)).toBe(false);
    expect(resumePosition({ epoch: 2, step: 31, iteration: 95, itersPerEpoch: 32, lr: 0, rng: { js: null, torch: null } })).toEqual({ startEpoch: 3, startStep: 0, startIteration: 96 });
  });
});
