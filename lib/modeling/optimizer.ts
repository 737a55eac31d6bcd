/**
 * Detectron's parameter update (detectron/modeling/optimizer.py, add_single_gpu_param_update_ops,
 * and DetectionModelHelper.UpdateWorkspaceLr / _CorrectMomentum in detector.py), on libtorch tensors.
 *
 * Per trainable parameter, every SGD iteration:
 *   bias (incl. GroupNorm's beta):  grad = 2 * grad               (2x lr, no weight decay)
 *   GroupNorm scale (gamma):        grad = grad + WEIGHT_DECAY_GN * param
 *   any other weight:               grad = grad + WEIGHT_DECAY * param   (when WEIGHT_DECAY > 0)
 *   then Caffe2's MomentumSGDUpdate (no nesterov):
 *     momentum = MOMENTUM * momentum + lr * grad;  param -= momentum
 * The learning rate is inside the momentum history, hence SCALE_MOMENTUM: when the lr changes by
 * more than SCALE_MOMENTUM_THRESHOLD (either way) the history is scaled by new_lr / old_lr.
 *
 * Detectron doubles the *gradient* of biases (Scale op) rather than their lr; with the lr inside
 * the momentum the two are the same update (and the same float32 result: x2 is exact). Caffe2's
 * GroupNorm helper tags its beta as a bias, and the bias rule is checked first, so GN biases get
 * 2x and no decay; Detectron.pytorch (`'bias' in key` first) agrees. Detectron.pytorch's
 * SOLVER.BIAS_DOUBLE_LR / BIAS_WEIGHT_DECAY (defaults True / False: Detectron's behaviour) are
 * the `biasDoubleLr` / `biasWeightDecay` options.
 *
 * Frozen parameters (trainable false: AffineChannel, FREEZE_AT stages, the fixed bilinear
 * upsampling kernels) get no momentum and are never touched, as Detectron's TrainableParams
 * leaves out do_not_update_params.
 *
 * Arithmetic is float32 with one rounding per operation, in Caffe2's order (lr * grad and
 * mu * momentum rounded separately, then added), so results match Caffe2's CPU op / numpy float32.
 *
 * Gradient accumulation (--iter_size): the caller runs iter_size forward/backward passes,
 * libtorch sums their gradients, then calls step() once. step() does not divide by iter_size,
 * as Detectron.pytorch's train_net_step.py (loss.backward() iter_size times, optimizer.step()
 * once); it scales BASE_LR by --bs / config batch instead (see lr_policy.ts adjustSolverForBatch).
 */
import type { Module, Parameter } from '../nn/module';
import { noGrad } from '../nn/autograd';
import { keep, tidy } from '../nn/scope';
import { fromArray, zeros, type Tensor } from '../nn/tensor';
import type { DType, NdArray } from '../utils/ndarray';
import { lrChangeRatio } from '../utils/lr_policy';

export const MOMENTUM_SUFFIX = '_momentum';

export interface SgdOptions {
  /** SOLVER.MOMENTUM */
  momentum: number;
  /** SOLVER.WEIGHT_DECAY */
  weightDecay: number;
  /** SOLVER.WEIGHT_DECAY_GN */
  weightDecayGn: number;
  /** SOLVER.SCALE_MOMENTUM */
  scaleMomentum: boolean;
  /** SOLVER.SCALE_MOMENTUM_THRESHOLD */
  scaleMomentumThreshold: number;
  /** SOLVER.LOG_LR_CHANGE_THRESHOLD: lr changes smaller than this are not logged. */
  logLrChangeThreshold: number;
  /** Detectron.pytorch's SOLVER.BIAS_DOUBLE_LR; Detectron always doubles (default true). */
  biasDoubleLr?: boolean;
  /** Detectron.pytorch's SOLVER.BIAS_WEIGHT_DECAY; Detectron never decays biases (default false). */
  biasWeightDecay?: boolean;
  /** Where Detectron's logger.info lines go ('Changing learning rate ...'); default: nowhere. */
  log?: (message: string) => void;
}

/** The SOLVER keys the optimizer reads. */
export interface SgdSolverConfig {
  readonly MOMENTUM: number;
  readonly WEIGHT_DECAY: number;
  readonly WEIGHT_DECAY_GN: number;
  readonly SCALE_MOMENTUM: boolean;
  readonly SCALE_MOMENTUM_THRESHOLD: number;
  readonly LOG_LR_CHANGE_THRESHOLD: number;
}

export function sgdOptionsFromCfg(solver: SgdSolverConfig, extra: Partial<SgdOptions> = {}): SgdOptions {
  return {
    momentum: solver.MOMENTUM,
    weightDecay: solver.WEIGHT_DECAY,
    weightDecayGn: solver.WEIGHT_DECAY_GN,
    scaleMomentum: solver.SCALE_MOMENTUM,
    scaleMomentumThreshold: solver.SCALE_MOMENTUM_THRESHOLD,
    logLrChangeThreshold: solver.LOG_LR_CHANGE_THRESHOLD,
    ...extra,
  };
}

/** How a parameter is updated (Detectron's model.biases / model.gn_params / the rest). */
export type UpdateRule = 'bias' | 'gn' | 'weight';

/**
 * The rule for a parameter. GroupNorm layers register gamma and beta both as kind 'gn'; the beta
 * is the one whose blob ends in `_b` (Detectron's SpatialGN names them `<name>_s` / `<name>_b`).
 */
export function updateRule(p: Pick<Parameter, 'kind' | 'blob'>): UpdateRule {
  if (p.kind === 'bias') return 'bias';
  if (p.kind === 'gn') return p.blob.endsWith('_b') ? 'bias' : 'gn';
  return 'weight';
}

interface Slot {
  readonly blob: string;
  readonly param: Parameter;
  readonly rule: UpdateRule;
  momentum: Tensor;
}

export interface MomentumLoadReport {
  loaded: string[];
  /** Trainable parameters without a `<blob>_momentum` in the file (their history stays zero). */
  missing: string[];
  /** Momentum blobs no trainable parameter uses. */
  unused: string[];
  /** `name: file [..] vs model [..]` */
  mismatched: string[];
}

export class MomentumSGD {
  private readonly slots: Slot[] = [];
  private readonly options: Required<Omit<SgdOptions, 'log'>> & Pick<SgdOptions, 'log'>;
  private currentLr = 0;

  /**
   * `params`: Detectron blob name → parameter (a model's detectronWeightMapping()). Only the
   * trainable ones at construction are optimised, in the given order.
   */
  constructor(params: ReadonlyMap<string, Parameter>, options: SgdOptions) {
    this.options = { biasDoubleLr: true, biasWeightDecay: false, ...options };
    for (const [blob, param] of params) {
      if (!param.trainable) continue;
      this.slots.push({ blob, param, rule: updateRule(param), momentum: newMomentum(param.tensor) });
    }
  }

  static forModel(model: Module, options: SgdOptions): MomentumSGD {
    return new MomentumSGD(model.detectronWeightMapping(), options);
  }

  /**
   * The lr in effect (float32). 0 until the first setLr, like Detectron's `lr` blob, so the first
   * setLr never rescales the (zero) momentum.
   */
  get lr(): number {
    return this.currentLr;
  }

  /** Blob names of the parameters this optimiser updates. */
  get trainableBlobs(): string[] {
    return this.slots.map((s) => s.blob);
  }

  /**
   * Detectron's UpdateWorkspaceLr: sets the lr (rounded to float32) and, when SCALE_MOMENTUM is
   * on, the old lr is above 1e-7 and the change ratio exceeds SCALE_MOMENTUM_THRESHOLD, scales
   * every momentum buffer by new_lr / old_lr. Returns the lr now in effect.
   */
  setLr(newLr: number, curIter?: number): number {
    const lr = Math.fround(newLr);
    const cur = this.currentLr;
    if (cur === lr) return lr;
    const ratio = lrChangeRatio(cur, lr);
    const log = this.options.log;
    if (log !== undefined && ratio > this.options.logLrChangeThreshold) {
      const at = curIter === undefined ? '' : ` at iter ${curIter}`;
      log(`Changing learning rate ${cur.toFixed(6)} -> ${lr.toFixed(6)}${at}`);
    }
    this.currentLr = lr;
    if (this.options.scaleMomentum && cur > 1e-7 && ratio > this.options.scaleMomentumThreshold) {
      // Caffe2 divides the two float32 lrs in float32 (double division then fround is the same).
      this.correctMomentum(Math.fround(lr / cur));
    }
    return lr;
  }

  /** Detectron's _CorrectMomentum: momentum *= correction for every trainable parameter. */
  correctMomentum(correction: number): void {
    this.options.log?.(`Scaling update history by ${correction.toFixed(6)} (new lr / old lr)`);
    noGrad(() => {
      for (const s of this.slots) s.momentum.mul_(correction);
    });
  }

  /**
   * One SGD update of every trainable parameter from its accumulated gradient (`tensor.grad`).
   * A parameter that the backward pass did not reach has a zero gradient, as in Caffe2's static
   * graph: its momentum and weight decay still act. Returns the blobs that had no gradient, so
   * that a caller can spot parameters that were never marked requiresGrad.
   */
  step(): { noGrad: string[] } {
    const lr = this.currentLr;
    const { momentum: mu, weightDecay, weightDecayGn, biasDoubleLr, biasWeightDecay } = this.options;
    const missing: string[] = [];
    noGrad(() => {
      for (const s of this.slots) {
        tidy(() => {
          const p = s.param.tensor;
          if (s.momentum.device !== p.device) this.moveMomentum(s, p.device);
          let g: Tensor | null = p.grad;
          if (g === null) {
            missing.push(s.blob);
            g = zeros(p.shape, { dtype: p.dtype, device: p.device });
          }
          if (s.rule === 'bias') {
            if (biasWeightDecay && weightDecay > 0) g = g.add(p.mul(Math.fround(weightDecay)));
            if (biasDoubleLr) g = g.mul(2);
          } else if (s.rule === 'gn') {
            // Detectron adds WEIGHT_DECAY_GN * param unconditionally (a WeightedSum op).
            g = g.add(p.mul(Math.fround(weightDecayGn)));
          } else if (weightDecay > 0) {
            g = g.add(p.mul(Math.fround(weightDecay)));
          }
          // MomentumSGDUpdate: m = lr * g + mu * m (each product rounded), param -= m.
          const m = s.momentum;
          m.mul_(mu);
          m.add_(g.mul(lr));
          p.add_(m, -1);
        });
      }
    });
    return { noGrad: missing };
  }

  /** The accumulated gradients of the optimised parameters (those that have one). */
  gradients(): Tensor[] {
    return this.slots.flatMap((s) => (s.param.tensor.grad === null ? [] : [s.param.tensor.grad]));
  }

  /** Clears the gradients of the optimised parameters (before the next iteration's backward). */
  zeroGrad(): void {
    for (const s of this.slots) s.param.tensor.zeroGrad();
  }

  /** The momentum buffers, keyed `<blob>_momentum` as Detectron's weights files store them. */
  momentumBuffers(): Map<string, Tensor> {
    return new Map(this.slots.map((s) => [s.blob + MOMENTUM_SUFFIX, s.momentum]));
  }

  /** The momentum buffers as float32 CPU arrays, for a checkpoint. */
  momentumArrays(): Map<string, NdArray> {
    const out = new Map<string, NdArray>();
    for (const s of this.slots) {
      out.set(s.blob + MOMENTUM_SUFFIX, tidy(() => tensorToNdArray(s.momentum)));
    }
    return out;
  }

  /**
   * Loads momentum blobs (`<blob>_momentum`), as Detectron's initialize_gpu_from_weights_file
   * does when resuming. Buffers without a blob keep their values (zero for a fresh optimiser).
   * With `strict`, a missing or mismatched blob is an error.
   */
  loadMomentum(arrays: ReadonlyMap<string, NdArray>, strict = false): MomentumLoadReport {
    const report: MomentumLoadReport = { loaded: [], missing: [], unused: [], mismatched: [] };
    const used = new Set<string>();
    for (const s of this.slots) {
      const name = s.blob + MOMENTUM_SUFFIX;
      const a = arrays.get(name);
      if (a === undefined) {
        report.missing.push(name);
        continue;
      }
      used.add(name);
      const shape = s.momentum.shape;
      if (a.shape.length !== shape.length || a.shape.some((d, i) => d !== shape[i])) {
        report.mismatched.push(`${name}: file [${a.shape.join(', ')}] vs model [${shape.join(', ')}]`);
        continue;
      }
      noGrad(() =>
        tidy(() => {
          const src = fromArray(a.data, a.shape, { dtype: a.dtype });
          s.momentum.copy_(src.dtype === s.momentum.dtype ? src : src.to(s.momentum.dtype));
        }),
      );
      report.loaded.push(name);
    }
    for (const name of arrays.keys()) if (!used.has(name)) report.unused.push(name);
    if (strict && (report.missing.length > 0 || report.mismatched.length > 0)) {
      throw new Error(`momentum does not match the model: ${[...report.missing.map((m) => `${m} missing`), ...report.mismatched].join('; ')}`);
    }
    return report;
  }

  /** Sets the lr without rescaling the momentum (restoring a checkpoint's lr). */
  restoreLr(lr: number): void {
    this.currentLr = Math.fround(lr);
  }

  dispose(): void {
    for (const s of this.slots) s.momentum.dispose();
  }

  private moveMomentum(s: Slot, device: string): void {
    const moved = keep(s.momentum.to(device));
    s.momentum.dispose();
    s.momentum = moved;
  }
}

/** Zeros like the parameter (same dtype, device and memory format), outside every scope. */
function newMomentum(p: Tensor): Tensor {
  return keep(
    tidy(() => {
      const z = zeros(p.shape, { dtype: p.dtype, device: p.device });
      return p.ndim === 4 && p.isChannelsLast ? z.contiguous('channels_last') : z;
    }),
  );
}

/** A tensor's values as a row-major CPU NdArray. */
export function tensorToNdArray(t: Tensor): NdArray {
  return tidy(() => {
    const c = t.device === 'cpu' ? t.contiguous() : t.cpu().contiguous();
    // data() refuses reduced-precision floats, so the dtype left is an array dtype.
    const data = c.data();
    return { dtype: c.dtype as DType, shape: c.shape, data };
  });
}
