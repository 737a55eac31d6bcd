/**
 * Automatic mixed precision, as torch.cuda.amp: `autocast` runs a block with libtorch's autocast
 * on (convolutions and matrix products in float16/bfloat16, precision-sensitive ops in float32),
 * and `GradScaler` keeps float16 gradients from underflowing with dynamic loss scaling.
 *
 * float16 is CUDA's; on CPU libtorch autocasts to bfloat16 only. bfloat16 has float32's
 * exponent range, so it needs no loss scaling.
 */
import { native } from './native';
import { dtypeCode, isReducedFloat } from './dtype';
import { tidy } from './scope';
import type { Tensor } from './tensor';

export type AmpDType = 'float16' | 'bfloat16';

/** `--amp` values: fp16, bf16 (or the dtype names). */
export function parseAmpDType(value: string): AmpDType {
  if (value === 'fp16' || value === 'float16') return 'float16';
  if (value === 'bf16' || value === 'bfloat16') return 'bfloat16';
  throw new Error(`mixed precision: expected fp16 or bf16, got '${value}'`);
}

/** The device type ('cpu' or 'cuda') of a device string. */
function deviceType(device: string): 'cpu' | 'cuda' {
  return device.startsWith('cuda') ? 'cuda' : 'cpu';
}

/** Checks that autocast can compute in `dtype` on `device` (float16 needs CUDA). */
export function checkAmp(device: string, dtype: AmpDType): void {
  if (deviceType(device) === 'cpu' && dtype === 'float16') {
    throw new Error("mixed precision on CPU computes in bf16 only (libtorch's CPU autocast); use --amp bf16, or fp16 on a CUDA device");
  }
}

/** Runs `fn` with autocast on for `device`'s type in `dtype`; restores the previous state after. */
export function autocast<T>(device: string, dtype: AmpDType, fn: () => T): T {
  checkAmp(device, dtype);
  native.autocastEnter(deviceType(device), dtypeCode(dtype));
  try {
    return fn();
  } finally {
    native.autocastExit();
  }
}

export interface GradScalerOptions {
  /** torch.cuda.amp.GradScaler's defaults. */
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

/**
 * Dynamic loss scaling (torch.cuda.amp.GradScaler): the loss is multiplied by `scale` before
 * backward; before the update the gradients are divided by it, and a step whose gradients hold
 * an inf or NaN is skipped and the scale halved; after `growthInterval` good steps in a row the
 * scale doubles. The check reads one number back per step (the sum of the gradients' norms).
 */
export class GradScaler {
  private current: number;
  private goodSteps = 0;
  private readonly growthFactor: number;
  private readonly backoffFactor: number;
  private readonly growthInterval: number;

  constructor(o: GradScalerOptions = {}) {
    this.current = o.initScale ?? 2 ** 16;
    this.growthFactor = o.growthFactor ?? 2;
    this.backoffFactor = o.backoffFactor ?? 0.5;
    this.growthInterval = o.growthInterval ?? 2000;
    if (!(this.current > 0) || !(this.growthFactor > 1) || !(this.backoffFactor > 0 && this.backoffFactor < 1) ||
      !(Number.isInteger(this.growthInterval) && this.growthInterval >= 1)) {
      throw new Error(`GradScaler: bad options ${JSON.stringify(o)}`);
    }
  }

  get scale(): number {
    return this.current;
  }

  /** The loss to call backward on. */
  scaleLoss(loss: Tensor): Tensor {
    return loss.mul(this.current);
  }

  /**
   * Divides the gradients by the scale in place and updates the scale. Returns whether the
   * step may be taken (false: some gradient is not finite; skip the update, zero the gradients).
   */
  unscaleAndUpdate(grads: readonly Tensor[]): boolean {
    const finite = tidy(() => {
      let sum: Tensor | null = null;
      for (const g of grads) {
        g.mul_(1 / this.current);
        const n = g.float().abs().sum();
        sum = sum === null ? n : sum.add(n);
      }
      return sum === null || Number.isFinite(sum.item());
    });
    if (!finite) {
      this.current *= this.backoffFactor;
      this.goodSteps = 0;
      return false;
    }
    if (++this.goodSteps >= this.growthInterval) {
      this.current *= this.growthFactor;
      this.goodSteps = 0;
    }
    return true;
  }

  state(): { scale: number; goodSteps: number } {
    return { scale: this.current, goodSteps: this.goodSteps };
  }

  restore(s: { scale: number; goodSteps: number }): void {
    if (!(s.scale > 0) || !Number.isInteger(s.goodSteps) || s.goodSteps < 0) throw new Error(`GradScaler: bad state ${JSON.stringify(s)}`);
    this.current = s.scale;
    this.goodSteps = s.goodSteps;
  }
}

/**
 * Runs a conv body (and FPN) under autocast when `dtype` is set, and returns its feature maps
 * in float32: the heads, our RoI kernels and the losses then run in float32, as they read
 * values back and pool with float kernels. The body is where nearly all the FLOPs are.
 */
export function mixedPrecisionFeatures<T extends { features: Tensor[] }>(device: string, dtype: AmpDType | null, body: () => T): T {
  if (dtype === null) return body();
  const out = autocast(device, dtype, body);
  const features = out.features.map((f) => {
    if (!isReducedFloat(f.dtype)) return f;
    const full = f.float();
    f.dispose();
    return full;
  });
  return { ...out, features };
}
