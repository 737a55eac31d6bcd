/**
 * Learning-rate schedules: Detectron's detectron/utils/lr_policy.py as a function of the SGD
 * iteration, Detectron.pytorch's epoch schedule (tools/train_net.py: --epochs, --lr_decay_epochs,
 * --lr_decay_gamma), and Detectron.pytorch's adaptation of the solver to another batch size
 * (the linear scaling rule of tools/train_net_step.py).
 *
 * Numbers: the policies compute in float64 exactly as Python does (same operations in the same
 * order), and `getLrAtIter` returns the value rounded to float32, as Detectron's
 * `np.float32(lr)` does: the lr lives in a float32 blob, and the optimizer compares and scales
 * with that float32 value (optimizer.ts).
 */

/** The SOLVER keys the schedules read (a subset of the config's SolverConfig). */
export interface LrScheduleConfig {
  readonly BASE_LR: number;
  /** 'step' | 'steps_with_decay' | 'steps_with_lrs' | 'steps_with_relative_lrs' | 'cosine_decay' | 'exp_decay' */
  readonly LR_POLICY: string;
  readonly GAMMA: number;
  readonly STEP_SIZE: number;
  readonly STEPS: readonly number[];
  readonly LRS: readonly number[];
  readonly MAX_ITER: number;
  readonly WARM_UP_ITERS: number;
  readonly WARM_UP_FACTOR: number;
  /** 'constant' | 'linear' */
  readonly WARM_UP_METHOD: string;
}

export type LrPolicyFn = (curIter: number) => number;

/**
 * Detectron's get_step_index: the index of the last entry of STEPS (+ [MAX_ITER]) that is
 * <= curIter. Past MAX_ITER it stays at the last step, as the Python loop does.
 */
export function getStepIndex(solver: Pick<LrScheduleConfig, 'STEPS' | 'MAX_ITER'>, curIter: number): number {
  if (solver.STEPS.length === 0 || solver.STEPS[0] !== 0) throw new Error('The first step should always start at 0.');
  const steps = [...solver.STEPS, solver.MAX_ITER];
  let ind = 0;
  for (ind = 0; ind < steps.length; ind++) if (curIter < steps[ind]) break;
  // Python's `for ... break` leaves ind at the last index when nothing breaks.
  if (ind === steps.length) ind = steps.length - 1;
  return ind - 1;
}

function listEntry(list: readonly number[], ind: number, key: string): number {
  const v = list[ind];
  if (v === undefined) throw new RangeError(`SOLVER.${key} has no entry ${ind} (it has ${list.length})`);
  return v;
}

/** The policy function of SOLVER.LR_POLICY, without warm-up. */
export function getLrFunc(solver: LrScheduleConfig): LrPolicyFn {
  switch (solver.LR_POLICY) {
    case 'step':
      return (it) => solver.BASE_LR * solver.GAMMA ** Math.floor(it / solver.STEP_SIZE);
    case 'steps_with_decay':
      return (it) => solver.BASE_LR * solver.GAMMA ** getStepIndex(solver, it);
    case 'steps_with_lrs':
      return (it) => listEntry(solver.LRS, getStepIndex(solver, it), 'LRS');
    case 'steps_with_relative_lrs':
      // Not in Detectron's lr_policy.py; the definition of the forks that have it
      // (PySlowFast, video-nonlocal-net): LRS are multipliers of BASE_LR.
      return (it) => listEntry(solver.LRS, getStepIndex(solver, it), 'LRS') * solver.BASE_LR;
    case 'cosine_decay':
      return (it) => {
        const iterFrac = it / solver.MAX_ITER;
        const cosFrac = 0.5 * (Math.cos(Math.PI * iterFrac) + 1);
        return solver.BASE_LR * cosFrac;
      };
    case 'exp_decay':
      return (it) => {
        // GAMMA is the ratio final lr / initial lr.
        const iterFrac = it / solver.MAX_ITER;
        return solver.BASE_LR * Math.exp(iterFrac * Math.log(solver.GAMMA));
      };
    default:
      throw new Error(`Unknown LR policy: ${solver.LR_POLICY}`);
  }
}

/** The warm-up multiplier at `it` (1 once warm-up is over). */
export function warmUpFactor(
  solver: Pick<LrScheduleConfig, 'WARM_UP_ITERS' | 'WARM_UP_FACTOR' | 'WARM_UP_METHOD'>,
  it: number,
): number {
  if (!(it < solver.WARM_UP_ITERS)) return 1;
  if (solver.WARM_UP_METHOD === 'constant') return solver.WARM_UP_FACTOR;
  if (solver.WARM_UP_METHOD === 'linear') {
    const alpha = it / solver.WARM_UP_ITERS;
    return solver.WARM_UP_FACTOR * (1 - alpha) + alpha;
  }
  throw new Error(`Unknown SOLVER.WARM_UP_METHOD: ${solver.WARM_UP_METHOD}`);
}

/** Detectron's get_lr_at_iter: the policy's lr times the warm-up factor, as a float32 value. */
export function getLrAtIter(solver: LrScheduleConfig, it: number): number {
  let lr = getLrFunc(solver)(it);
  // Detectron multiplies only inside warm-up (lr *= factor), so a factor of 1 is never applied.
  if (it < solver.WARM_UP_ITERS) lr *= warmUpFactor(solver, it);
  return Math.fround(lr);
}

// ---- Detectron.pytorch's epoch schedule (tools/train_net.py) -----------------------------------

export interface EpochSchedule {
  /** BASE_LR after the batch-size adjustment (and --lr, when given). */
  readonly baseLr: number;
  /** --lr_decay_gamma, else SOLVER.GAMMA. */
  readonly gamma: number;
  /** --lr_decay_epochs: 0-indexed epochs at whose start the lr is multiplied by gamma (default [4, 5]). */
  readonly lrDecayEpochs: readonly number[];
  /** Warm-up, counted in global SGD iterations (not in Detectron.pytorch's train_net.py; kept from Detectron). */
  readonly warmUp?: Pick<LrScheduleConfig, 'WARM_UP_ITERS' | 'WARM_UP_FACTOR' | 'WARM_UP_METHOD'>;
}

/** Detectron.pytorch's train_net.py defaults: --epochs 6, --lr_decay_epochs 4 5. */
export const EPOCH_DEFAULTS = { epochs: 6, lrDecayEpochs: [4, 5] as readonly number[] } as const;

/**
 * The lr of an epoch without warm-up. train_net.py pops the head of lr_decay_epochs when the
 * epoch equals it and multiplies the running lr by gamma (`lr *= gamma`); this replays that
 * from epoch 0, so the value (including its float64 rounding) is the uninterrupted run's. (The
 * Python script skips a decay when resuming mid-epoch or past a decay epoch; that is a bug of
 * its bookkeeping, not a schedule, and is not reproduced.)
 */
export function epochBaseLr(s: EpochSchedule, epoch: number): number {
  const pending = [...s.lrDecayEpochs];
  let lr = s.baseLr;
  for (let e = 0; e <= epoch; e++) {
    if (pending.length > 0 && e === pending[0]) {
      pending.shift();
      lr *= s.gamma;
    }
  }
  return lr;
}

/** The lr at (epoch, global step): the epoch's lr times the warm-up factor, as float32. */
export function getLrAtEpoch(s: EpochSchedule, epoch: number, globalStep: number): number {
  let lr = epochBaseLr(s, epoch);
  if (s.warmUp !== undefined && globalStep < s.warmUp.WARM_UP_ITERS) lr *= warmUpFactor(s.warmUp, globalStep);
  return Math.fround(lr);
}

/** Iterations per epoch: Detectron.pytorch drops the last incomplete batch. */
export function itersPerEpoch(trainSize: number, batchSize: number): number {
  return Math.floor(trainSize / batchSize);
}

// ---- batch-size adaptation (Detectron.pytorch's linear scaling rule) ---------------------------

export interface BatchAdjustInput {
  readonly BASE_LR: number;
  readonly STEPS: readonly number[];
  readonly MAX_ITER: number;
  /** TRAIN.IMS_PER_BATCH × NUM_GPUS of the config. */
  readonly originalBatchSize: number;
  /** --bs: images per forward/backward pass (all devices together). */
  readonly batchSize: number;
  /** --iter_size: forward/backward passes whose gradients are summed before each SGD step. */
  readonly iterSize: number;
  /** Scale STEPS and MAX_ITER (train_net_step.py); the epoch-based train_net.py does not. */
  readonly adjustSteps: boolean;
}

export interface BatchAdjusted {
  BASE_LR: number;
  STEPS: number[];
  MAX_ITER: number;
  effectiveBatchSize: number;
}

/**
 * Detectron.pytorch's adaptation to another batch size:
 *  - BASE_LR *= batchSize / originalBatchSize. Only --bs counts, not iter_size: the gradients
 *    of the iter_size passes are summed, not averaged (the optimizer does not divide by
 *    iter_size), which already multiplies the step by iter_size; the net effect is the linear
 *    scaling rule on the effective batch batchSize × iterSize.
 *  - (train_net_step.py) STEPS and MAX_ITER *= originalBatchSize / effectiveBatchSize, rounded
 *    as int(x * scale + 0.5), so that the same number of images is seen. WARM_UP_ITERS is not
 *    scaled (neither does Detectron.pytorch).
 * An explicit --lr or --lr_decay_gamma is applied by the caller afterwards, as there.
 */
export function adjustSolverForBatch(a: BatchAdjustInput): BatchAdjusted {
  if (!(a.batchSize > 0 && a.iterSize >= 1 && a.originalBatchSize > 0)) {
    throw new RangeError(`invalid batch sizes: bs ${a.batchSize}, iter_size ${a.iterSize}, config ${a.originalBatchSize}`);
  }
  const effectiveBatchSize = a.batchSize * a.iterSize;
  const BASE_LR = a.BASE_LR * (a.batchSize / a.originalBatchSize);
  if (!a.adjustSteps) return { BASE_LR, STEPS: [...a.STEPS], MAX_ITER: a.MAX_ITER, effectiveBatchSize };
  const stepScale = a.originalBatchSize / effectiveBatchSize;
  // Python's int() truncates; the values are non-negative, so floor.
  const scale = (x: number): number => Math.floor(x * stepScale + 0.5);
  return { BASE_LR, STEPS: a.STEPS.map(scale), MAX_ITER: scale(a.MAX_ITER), effectiveBatchSize };
}

/** Detectron's _get_lr_change_ratio: max(new/old, old/new), guarded against 0. */
export function lrChangeRatio(curLr: number, newLr: number): number {
  const eps = 1e-10;
  return Math.max(newLr / Math.max(curLr, eps), curLr / Math.max(newLr, eps));
}
