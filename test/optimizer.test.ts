/**
 * Detectron's SGD update on a toy model, against numpy float32 values of Caffe2's update rule.
 *
 * The expected numbers come from a scratch numpy script (outside the repo) that replays
 * optimizer.py's ops in float32: biases `grad *= 2`, GN scale `grad += WEIGHT_DECAY_GN * p`,
 * weights `grad += WEIGHT_DECAY * p`, then MomentumSGDUpdate `m = lr * grad + mu * m; p -= m`,
 * and _CorrectMomentum (`m *= new_lr / old_lr`, float32) when the lr drops 0.01 -> 0.001 before
 * the third step. Gradients are the X arrays below (loss = sum(param * X), so grad = X exactly).
 */
import { MomentumSGD, sgdOptionsFromCfg, updateRule, type SgdOptions } from '../lib/modeling/optimizer';
import { Module, type Parameter, type ParamKind } from '../lib/nn/module';
import { tidy } from '../lib/nn/scope';
import { noGrad } from '../lib/nn/autograd';
import { tensor, type Tensor } from '../lib/nn/tensor';

class Toy extends Module {
  readonly w: Parameter;
  readonly b: Parameter;
  readonly gs: Parameter;
  readonly gb: Parameter;
  readonly aff: Parameter;
  readonly frozen: Parameter;

  constructor() {
    super();
    const p = (name: string, n: number, blob: string, kind: ParamKind, trainable = true): Parameter =>
      this.addParameter(name, n === 4 ? [2, 2] : [n], blob, kind, { fill: 'constant', value: 0 }, trainable);
    this.w = p('w', 4, 'toy_w', 'weight');
    this.b = p('b', 2, 'toy_b', 'bias');
    this.gs = p('gs', 2, 'toy_gn_s', 'gn');
    this.gb = p('gb', 2, 'toy_gn_b', 'gn');
    this.aff = p('aff', 2, 'toy_bn_s', 'affine');
    this.frozen = p('frozen', 2, 'res1_w', 'weight', false);
    const init: Array<[Parameter, number[]]> = [
      [this.w, [0.5, -1.0, 2.0, 0.25]],
      [this.b, [0.1, -0.2]],
      [this.gs, [1.0, 0.9]],
      [this.gb, [0.05, -0.05]],
      [this.aff, [1.0, 1.0]],
      [this.frozen, [3.0, 4.0]],
    ];
    noGrad(() => tidy(() => {
      for (const [param, v] of init) {
        param.tensor.copy_(tensor(v, param.tensor.shape));
        param.tensor.requiresGrad_(true);
      }
    }));
  }
}

type Grads = Record<'w' | 'b' | 'gs' | 'gb', number[]>;

const X: Grads[] = [
  { w: [0.3, -0.7, 1.1, 0.05], b: [0.2, -0.4], gs: [0.15, -0.25], gb: [0.6, 0.01] },
  { w: [-0.2, 0.4, 0.9, -1.3], b: [0.1, 0.3], gs: [-0.5, 0.35], gb: [-0.2, 0.7] },
  { w: [0.8, 0.1, -0.6, 0.45], b: [-0.9, 0.05], gs: [0.2, 0.2], gb: [0.3, -0.1] },
];
const LRS = [0.01, 0.01, 0.001];

/** numpy float32 results (see the header), printed as float(x). */
const EXPECTED: Array<Record<'w' | 'b' | 'gs' | 'gb', { param: number[]; momentum: number[] }>> = [
  {
    w: { param: [0.49699750542640686, -0.992995023727417, 1.9889899492263794, 0.24949875473976135], momentum: [0.0030025001615285873, -0.0070050000213086605, 0.011010000482201576, 0.0005012499750591815] },
    b: { param: [0.09600000083446503, -0.19200000166893005], momentum: [0.004000000189989805, -0.00800000037997961] },
    gs: { param: [0.9984899759292603, 0.9024909734725952], momentum: [0.0015100000891834497, -0.002490999875590205] },
    gb: { param: [0.03800000250339508, -0.050200000405311584], momentum: [0.012000000104308128, 0.00019999999494757503] },
  },
  {
    w: { param: [0.49629276990890503, -0.9906855821609497, 1.9700709581375122, 0.2620463967323303], momentum: [0.0007047350518405437, -0.0023094648495316505, 0.018918944522738457, -0.012547627091407776] },
    b: { param: [0.09040000289678574, -0.1907999962568283], momentum: [0.005600000265985727, -0.0012000002898275852] },
    gs: { param: [1.0021209716796875, 0.9012238383293152], momentum: [-0.0036310148425400257, 0.0012671251315623522] },
    gb: { param: [0.031200002878904343, -0.06437999755144119], momentum: [0.006799999158829451, 0.014179999940097332] },
  },
  {
    w: { param: [0.4954290986061096, -0.990577220916748, 1.968967318534851, 0.2627255618572235], momentum: [0.0008636743295937777, -0.00010834717977559194, 0.0011036901269108057, -0.0006791555788367987] },
    b: { param: [0.09169600158929825, -0.1907919943332672], momentum: [-0.0012960000894963741, -8.000031812116504e-06] },
    gs: { param: [1.0022467374801636, 0.900908887386322], momentum: [-0.00012578921450767666, 0.0003149425028823316] },
    gb: { param: [0.02998800203204155, -0.06545619666576385], momentum: [0.0012120000319555402, 0.001076200045645237] },
  },
];

const SOLVER = {
  MOMENTUM: 0.9,
  WEIGHT_DECAY: 0.0005,
  WEIGHT_DECAY_GN: 0.001,
  SCALE_MOMENTUM: true,
  SCALE_MOMENTUM_THRESHOLD: 1.1,
  LOG_LR_CHANGE_THRESHOLD: 1.1,
};

function backward(m: Toy, g: Grads): void {
  tidy(() => {
    const terms: Tensor[] = [
      m.w.tensor.mul(tensor(g.w, [2, 2])).sum(),
      m.b.tensor.mul(tensor(g.b)).sum(),
      m.gs.tensor.mul(tensor(g.gs)).sum(),
      m.gb.tensor.mul(tensor(g.gb)).sum(),
      m.aff.tensor.mul(tensor([5, 5])).sum(),
      m.frozen.tensor.mul(tensor([7, 7])).sum(),
    ];
    terms.reduce((a, b) => a.add(b)).backward();
  });
}

const values = (t: Tensor): number[] => t.toNumbers();

describe('MomentumSGD (Detectron / Caffe2 update)', () => {
  test('update rules: biases and GN betas are biases, GN gammas gn, the rest weights', () => {
    expect(updateRule({ kind: 'bias', blob: 'conv1_b' })).toBe('bias');
    expect(updateRule({ kind: 'gn', blob: 'res2_0_branch2a_gn_b' })).toBe('bias');
    expect(updateRule({ kind: 'gn', blob: 'res2_0_branch2a_gn_s' })).toBe('gn');
    expect(updateRule({ kind: 'weight', blob: 'conv1_w' })).toBe('weight');
  });

  test('three steps match numpy float32 bit for bit, incl. bias 2x lr, decay, momentum correction', () => {
    const m = new Toy();
    const logs: string[] = [];
    const opt = MomentumSGD.forModel(m, sgdOptionsFromCfg(SOLVER, { log: (s) => logs.push(s) }));
    expect(opt.trainableBlobs).toEqual(['toy_w', 'toy_b', 'toy_gn_s', 'toy_gn_b']);
    expect(opt.lr).toBe(0);
    for (let t = 0; t < 3; t++) {
      opt.setLr(LRS[t], t);
      opt.zeroGrad();
      backward(m, X[t]);
      expect(opt.step().noGrad).toEqual([]);
      const buffers = opt.momentumBuffers();
      for (const k of ['w', 'b', 'gs', 'gb'] as const) {
        const p = m[k];
        expect(values(p.tensor)).toEqual(EXPECTED[t][k].param);
        expect(values(buffers.get(`${p.blob}_momentum`) as Tensor)).toEqual(EXPECTED[t][k].momentum);
      }
    }
    // Frozen parameters never move and have no momentum.
    expect(values(m.aff.tensor)).toEqual([1, 1]);
    expect(values(m.frozen.tensor)).toEqual([3, 4]);
    expect([...opt.momentumBuffers().keys()]).toEqual(['toy_w_momentum', 'toy_b_momentum', 'toy_gn_s_momentum', 'toy_gn_b_momentum']);
    expect(opt.lr).toBe(Math.fround(0.001));
    expect(logs).toEqual([
      'Changing learning rate 0.000000 -> 0.010000 at iter 0',
      'Changing learning rate 0.010000 -> 0.001000 at iter 2',
      'Scaling update history by 0.100000 (new lr / old lr)',
    ]);
    opt.dispose();
    m.dispose();
  });

  test('no momentum correction below the threshold, on the first lr, or when disabled', () => {
    const m = new Toy();
    const opt = MomentumSGD.forModel(m, sgdOptionsFromCfg(SOLVER));
    opt.setLr(0.01);
    opt.zeroGrad();
    backward(m, X[0]);
    opt.step();
    const before = values(opt.momentumBuffers().get('toy_w_momentum') as Tensor);
    opt.setLr(0.0105); // ratio 1.05 < 1.1 (a warm-up step)
    expect(values(opt.momentumBuffers().get('toy_w_momentum') as Tensor)).toEqual(before);
    opt.setLr(0.05); // ratio > 1.1: scaled by fround(0.05 / 0.0105)
    const c = Math.fround(Math.fround(0.05) / Math.fround(0.0105));
    expect(values(opt.momentumBuffers().get('toy_w_momentum') as Tensor)).toEqual(before.map((v) => Math.fround(v * c)));
    opt.dispose();

    const off = MomentumSGD.forModel(m, sgdOptionsFromCfg({ ...SOLVER, SCALE_MOMENTUM: false }));
    off.setLr(0.01);
    off.zeroGrad();
    backward(m, X[0]);
    off.step();
    const kept = values(off.momentumBuffers().get('toy_w_momentum') as Tensor);
    off.setLr(0.0001);
    expect(values(off.momentumBuffers().get('toy_w_momentum') as Tensor)).toEqual(kept);
    off.dispose();
    m.dispose();
  });

  test('iter_size: gradients of several backward passes are summed, never divided', () => {
    const a = new Toy();
    const b = new Toy();
    const opts: SgdOptions = sgdOptionsFromCfg(SOLVER);
    const oa = MomentumSGD.forModel(a, opts);
    const ob = MomentumSGD.forModel(b, opts);
    oa.setLr(0.01);
    ob.setLr(0.01);
    oa.zeroGrad();
    backward(a, X[0]);
    backward(a, X[1]); // iter_size 2: libtorch accumulates
    oa.step();
    const sum = (k: keyof Grads): number[] => X[0][k].map((v, i) => Math.fround(Math.fround(v) + Math.fround(X[1][k][i])));
    ob.zeroGrad();
    backward(b, { w: sum('w'), b: sum('b'), gs: sum('gs'), gb: sum('gb') });
    ob.step();
    for (const k of ['w', 'b', 'gs', 'gb'] as const) expect(values(a[k].tensor)).toEqual(values(b[k].tensor));
    oa.dispose();
    ob.dispose();
    a.dispose();
    b.dispose();
  });

  test('Detectron.pytorch options: BIAS_DOUBLE_LR off, BIAS_WEIGHT_DECAY on', () => {
    const m = new Toy();
    const opt = MomentumSGD.forModel(m, sgdOptionsFromCfg(SOLVER, { biasDoubleLr: false, biasWeightDecay: true }));
    opt.setLr(0.01);
    opt.zeroGrad();
    backward(m, X[0]);
    opt.step();
    // b: m = lr * (g + wd * p), no doubling.
    const lr = Math.fround(0.01);
    const wd = Math.fround(0.0005);
    const expected = [0.1, -0.2].map((p0, i) => {
      const p = Math.fround(p0);
      const g = Math.fround(Math.fround(X[0].b[i]) + Math.fround(wd * p));
      return Math.fround(p - Math.fround(lr * g));
    });
    expect(values(m.b.tensor)).toEqual(expected);
    opt.dispose();
    m.dispose();
  });

  test('a parameter without gradient still decays (zero gradient, as in the static graph)', () => {
    const m = new Toy();
    const opt = MomentumSGD.forModel(m, sgdOptionsFromCfg(SOLVER));
    opt.setLr(0.01);
    opt.zeroGrad();
    expect(opt.step().noGrad).toEqual(['toy_w', 'toy_b', 'toy_gn_s', 'toy_gn_b']);
    const wd = Math.fround(0.0005);
    const lr = Math.fround(0.01);
    expect(values(m.w.tensor)).toEqual([0.5, -1.0, 2.0, 0.25].map((p) => Math.fround(p - Math.fround(lr * Math.fround(wd * p)))));
    expect(values(m.b.tensor)).toEqual([0.1, -0.2].map(Math.fround));
    opt.dispose();
    m.dispose();
  });

  test('momentum arrays round-trip through loadMomentum; mismatches are reported', () => {
    const m = new Toy();
    const opt = MomentumSGD.forModel(m, sgdOptionsFromCfg(SOLVER));
    opt.setLr(0.01);
    opt.zeroGrad();
    backward(m, X[0]);
    opt.step();
    const saved = opt.momentumArrays();
    expect(saved.get('toy_w_momentum')?.shape).toEqual([2, 2]);
    const fresh = MomentumSGD.forModel(m, sgdOptionsFromCfg(SOLVER));
    const extra = new Map(saved);
    extra.set('other_momentum', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    extra.set('toy_b_momentum', { dtype: 'float32', shape: [3], data: new Float32Array(3) });
    const report = fresh.loadMomentum(extra);
    expect(report.loaded).toEqual(['toy_w_momentum', 'toy_gn_s_momentum', 'toy_gn_b_momentum']);
    expect(report.mismatched).toEqual(['toy_b_momentum: file [3] vs model [2]']);
    expect(report.unused).toEqual(['other_momentum']);
    expect(values(fresh.momentumBuffers().get('toy_w_momentum') as Tensor)).toEqual(Array.from(saved.get('toy_w_momentum')?.data ?? [], Number));
    expect(() => fresh.loadMomentum(extra, true)).toThrow(/toy_b_momentum: file \[3\] vs model \[2\]/);
    opt.dispose();
    fresh.dispose();
    m.dispose();
  });
});
