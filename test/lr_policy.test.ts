/**
 * Learning-rate schedules against Python.
 *
 * The iteration policies' expected values were printed by Detectron's own
 * detectron/utils/lr_policy.py (the file at the mirror's HEAD, exec'd by a scratch script with a
 * stand-in AttrDict cfg; python3 + numpy 1.24), as float(get_lr_at_iter(it)). Detectron's file
 * has no 'steps_with_relative_lrs' (it raises NotImplementedError); its values below follow the
 * forks' definition LRS[ind] * BASE_LR, computed the same way. The epoch schedule and the batch
 * adjustments were replayed in Python from Detectron.pytorch's tools/train_net.py and
 * tools/train_net_step.py.
 */
import {
  adjustSolverForBatch,
  epochBaseLr,
  getLrAtEpoch,
  getLrAtIter,
  getStepIndex,
  itersPerEpoch,
  lrChangeRatio,
  type LrScheduleConfig,
} from '../lib/utils/lr_policy';

const BASE: LrScheduleConfig = {
  BASE_LR: 0.02,
  LR_POLICY: 'steps_with_decay',
  GAMMA: 0.1,
  STEP_SIZE: 30000,
  STEPS: [0, 60000, 80000],
  LRS: [],
  MAX_ITER: 90000,
  WARM_UP_ITERS: 500,
  WARM_UP_FACTOR: 1.0 / 3.0,
  WARM_UP_METHOD: 'linear',
};

const CASES: Array<[string, Partial<LrScheduleConfig>, Array<[number, number]>]> = [
  ['steps_with_decay, linear warm-up', {}, [[0, 0.006666666828095913], [1, 0.006693333387374878], [250, 0.013333333656191826], [499, 0.019973333925008774], [500, 0.019999999552965164], [59999, 0.019999999552965164], [60000, 0.0020000000949949026], [79999, 0.0020000000949949026], [80000, 0.00019999999494757503], [89999, 0.00019999999494757503], [90000, 0.00019999999494757503]]],
  ['steps_with_decay, constant warm-up', { WARM_UP_METHOD: 'constant', WARM_UP_ITERS: 1000, WARM_UP_FACTOR: 0.1 }, [[0, 0.0020000000949949026], [999, 0.0020000000949949026], [1000, 0.019999999552965164], [60000, 0.0020000000949949026]]],
  ['step', { LR_POLICY: 'step', BASE_LR: 0.01, STEP_SIZE: 30000, WARM_UP_ITERS: 0 }, [[0, 0.009999999776482582], [29999, 0.009999999776482582], [30000, 0.0010000000474974513], [60000, 9.999999747378752e-05], [89999, 9.999999747378752e-05]]],
  ['steps_with_lrs', { LR_POLICY: 'steps_with_lrs', STEPS: [0, 60, 80], LRS: [0.02, 0.002, 0.0002], MAX_ITER: 90, WARM_UP_ITERS: 10 }, [[0, 0.006666666828095913], [5, 0.013333333656191826], [10, 0.019999999552965164], [59, 0.019999999552965164], [60, 0.0020000000949949026], [79, 0.0020000000949949026], [80, 0.00019999999494757503], [89, 0.00019999999494757503]]],
  ['steps_with_relative_lrs', { LR_POLICY: 'steps_with_relative_lrs', BASE_LR: 0.01, STEPS: [0, 100, 150], LRS: [1, 0.1, 0.01], MAX_ITER: 200, WARM_UP_ITERS: 0 }, [[0, 0.009999999776482582], [99, 0.009999999776482582], [100, 0.0010000000474974513], [150, 9.999999747378752e-05], [199, 9.999999747378752e-05], [250, 9.999999747378752e-05]]],
  ['cosine_decay', { LR_POLICY: 'cosine_decay', BASE_LR: 0.01, MAX_ITER: 1000, WARM_UP_ITERS: 100 }, [[0, 0.0033333334140479565], [50, 0.0066256276331841946], [100, 0.009755282662808895], [333, 0.007504533044993877], [500, 0.004999999888241291], [999, 2.4673990850487826e-8]]],
  ['exp_decay', { LR_POLICY: 'exp_decay', BASE_LR: 0.01, GAMMA: 0.01, MAX_ITER: 1000, WARM_UP_ITERS: 0 }, [[0, 0.009999999776482582], [1, 0.009954053908586502], [250, 0.003162277629598975], [500, 0.0010000000474974513], [777, 0.0002792543964460492], [999, 0.0001004615769488737]]],
];

describe("Detectron's lr policies", () => {
  test.each(CASES)('%s', (_name, overrides, expected) => {
    const solver = { ...BASE, ...overrides };
    for (const [it, lr] of expected) expect([it, getLrAtIter(solver, it)]).toEqual([it, lr]);
  });

  test('errors as Detectron raises them', () => {
    expect(() => getLrAtIter({ ...BASE, LR_POLICY: 'poly' }, 0)).toThrow('Unknown LR policy: poly');
    expect(() => getLrAtIter({ ...BASE, WARM_UP_METHOD: 'exp' }, 0)).toThrow('Unknown SOLVER.WARM_UP_METHOD: exp');
    expect(() => getStepIndex({ STEPS: [10, 20], MAX_ITER: 30 }, 0)).toThrow('The first step should always start at 0.');
  });

  test('lr change ratio is symmetric and guarded at 0', () => {
    expect(lrChangeRatio(0.01, 0.001)).toBeCloseTo(10, 12);
    expect(lrChangeRatio(0.001, 0.01)).toBeCloseTo(10, 12);
    expect(lrChangeRatio(0, 0.01)).toBeCloseTo(1e8, 0);
  });
});

describe("Detectron.pytorch's epoch schedule (train_net.py)", () => {
  // --bs 4 with a config batch of 16 (BASE_LR 0.02 -> 0.005), default --lr_decay_epochs 4 5, gamma 0.1.
  const adjusted = adjustSolverForBatch({ BASE_LR: 0.02, STEPS: [0, 60000, 80000], MAX_ITER: 90000, originalBatchSize: 16, batchSize: 4, iterSize: 1, adjustSteps: false });
  const schedule = {
    baseLr: adjusted.BASE_LR,
    gamma: 0.1,
    lrDecayEpochs: [4, 5],
    warmUp: { WARM_UP_ITERS: 500, WARM_UP_FACTOR: 1 / 3, WARM_UP_METHOD: 'linear' },
  };

  test('linear scaling of BASE_LR only; STEPS and MAX_ITER untouched', () => {
    expect(adjusted).toEqual({ BASE_LR: 0.005, STEPS: [0, 60000, 80000], MAX_ITER: 90000, effectiveBatchSize: 4 });
  });

  test('decay at the start of epochs 4 and 5', () => {
    const expected = [0.004999999888241291, 0.004999999888241291, 0.004999999888241291, 0.004999999888241291, 0.0005000000237487257, 4.999999873689376e-5];
    expect([0, 1, 2, 3, 4, 5].map((e) => getLrAtEpoch(schedule, e, 100000))).toEqual(expected);
    expect(epochBaseLr(schedule, 5)).toBe(0.005 * 0.1 * 0.1);
  });

  test('warm-up counts global iterations', () => {
    expect(getLrAtEpoch(schedule, 0, 100)).toBe(0.0023333332501351833);
    expect(getLrAtEpoch(schedule, 0, 500)).toBe(Math.fround(0.005));
  });

  test('iterations per epoch drop the last partial batch', () => {
    expect(itersPerEpoch(118287, 16)).toBe(7392);
  });
});

describe("Detectron.pytorch's batch adaptation (train_net_step.py)", () => {
  test('bs 4 x iter_size 2 vs 8 GPUs x 2 images: lr by bs, steps by effective batch', () => {
    expect(adjustSolverForBatch({ BASE_LR: 0.02, STEPS: [0, 60000, 80000], MAX_ITER: 90000, originalBatchSize: 16, batchSize: 4, iterSize: 2, adjustSteps: true }))
      .toEqual({ BASE_LR: 0.005, STEPS: [0, 120000, 160000], MAX_ITER: 180000, effectiveBatchSize: 8 });
  });

  test('int(x * scale + 0.5) rounding', () => {
    expect(adjustSolverForBatch({ BASE_LR: 0.02, STEPS: [0, 60000, 80000], MAX_ITER: 90000, originalBatchSize: 16, batchSize: 3, iterSize: 1, adjustSteps: true }))
      .toEqual({ BASE_LR: 0.00375, STEPS: [0, 320000, 426667], MAX_ITER: 480000, effectiveBatchSize: 3 });
  });
});
