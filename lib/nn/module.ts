/**
 * Modules: parameters with Detectron's blob names. Each parameter is registered under a
 * local name and the name of the Detectron blob it corresponds to, so that loading a
 * Detectron `.pkl` and writing one back are lookups in `detectronWeightMapping()` (the
 * role of Detectron.pytorch's `detectron_weight_mapping`).
 */
import { keep, tidy } from './scope';
import { Tensor, zeros } from './tensor';
import { noGrad } from './autograd';

/** How Detectron initialises a parameter when no weights file provides it. */
export type Init =
  | { fill: 'gaussian'; std: number }
  | { fill: 'xavier' }
  | { fill: 'msra' }
  | { fill: 'constant'; value: number };

/** What Detectron's optimizer treats differently (optimizer.py: biases, GroupNorm, frozen). */
export type ParamKind = 'weight' | 'bias' | 'gn' | 'affine';

export interface Parameter {
  tensor: Tensor;
  /** Detectron's blob name. */
  blob: string;
  kind: ParamKind;
  /** False for frozen parameters (AffineChannel, FREEZE_AT stages). */
  trainable: boolean;
  init: Init;
}

export abstract class Module {
  training = false;
  private readonly params = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();

  /**
   * Registers a parameter. Layers read it through the returned object (`p.tensor`), since
   * moving the module to another device or loading weights may replace the tensor.
   */
  protected addParameter(
    name: string, shape: number[], blob: string, kind: ParamKind, init: Init, trainable = true,
  ): Parameter {
    const tensor = keep(zeros(shape));
    initialise(tensor, init);
    const p: Parameter = { tensor, blob, kind, trainable: trainable && kind !== 'affine', init };
    this.params.set(name, p);
    return p;
  }

  protected addModule<M extends Module>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  /** Every parameter, by dotted path. */
  namedParameters(prefix = ''): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    for (const [name, p] of this.params) out.push([prefix + name, p]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** Detectron blob name → parameter. Modules sharing a parameter list it once. */
  detectronWeightMapping(): Map<string, Parameter> {
    const map = new Map<string, Parameter>();
    for (const [, p] of this.namedParameters()) if (!map.has(p.blob)) map.set(p.blob, p);
    return map;
  }

  /** Marks every parameter of this module (and below) frozen or trainable. */
  setTrainable(flag: boolean): void {
    for (const [, p] of this.namedParameters()) p.trainable = flag && p.kind !== 'affine';
  }

  /** Where the parameters live ('cpu' for a module without any). */
  get device(): string {
    const first = this.namedParameters()[0];
    return first === undefined ? 'cpu' : first[1].tensor.device;
  }

  train(flag = true): this {
    this.training = flag;
    for (const child of this.children.values()) child.train(flag);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Moves parameters to a device (in place: the Parameter objects keep their identity). */
  to(device: string): this {
    for (const [, p] of this.namedParameters()) {
      if (p.tensor.device === device) continue;
      const moved = keep(p.tensor.to(device));
      if (p.tensor.requiresGrad) moved.requiresGrad_(true);
      p.tensor.dispose();
      p.tensor = moved;
    }
    return this;
  }

  /**
   * Stores 4-D weights channels-last (NHWC). With channels-last activations, mkldnn's CPU
   * convolutions then run without per-call reorders (about 1.6x faster).
   */
  channelsLast(): this {
    for (const [, p] of this.namedParameters()) {
      if (p.tensor.ndim !== 4) continue;
      // Canonical NHWC strides, also for 1×1 kernels whose NCHW strides already pass as
      // channels-last: mkldnn returns their gradients with NHWC strides, and DDP's reducer lays
      // its buckets out by the parameter's strides, so the two must agree.
      const moved = keep(tidy(() => p.tensor.detach().permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)));
      if (p.tensor.requiresGrad) moved.requiresGrad_(true);
      p.tensor.dispose();
      p.tensor = moved;
    }
    return this;
  }

  dispose(): void {
    for (const [, p] of this.namedParameters()) p.tensor.dispose();
  }
}

/** Fills `t` as Caffe2's fillers do (XavierFill, MSRAFill, GaussianFill, ConstantFill). */
export function initialise(t: Tensor, init: Init): void {
  noGrad(() =>
    tidy(() => {
      const shape = t.shape;
      const numel = t.numel;
      switch (init.fill) {
        case 'gaussian':
          t.normal_(0, init.std);
          break;
        case 'xavier': {
          // Caffe2: uniform(-s, s), s = sqrt(3 / fan_in), fan_in = numel / shape[0].
          const scale = Math.sqrt(3 / (numel / shape[0]));
          t.uniform_(-scale, scale);
          break;
        }
        case 'msra': {
          // Caffe2: gaussian with std sqrt(2 / fan_out), fan_out = numel / shape[1].
          t.normal_(0, Math.sqrt(2 / (numel / (shape.length > 1 ? shape[1] : shape[0]))));
          break;
        }
        case 'constant':
          t.fill_(init.value);
          break;
      }
    }),
  );
}
