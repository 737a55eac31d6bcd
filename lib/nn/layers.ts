/**
 * Detectron's layers with its blob names: `Conv2d('res2_0_branch2a')` owns
 * `res2_0_branch2a_w` (and `_b` unless bias-free), `AffineChannel('res_conv1_bn')` owns
 * `res_conv1_bn_s` and `res_conv1_bn_b`, as Caffe2's helpers named them.
 */
import * as F from './functional';
import { Init, Module, Parameter } from './module';
import { Tensor } from './tensor';

type Pair = number | [number, number];

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  weightInit?: Init;
  biasInit?: Init;
}

const ZERO: Init = { fill: 'constant', value: 0 };

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly blob: string, inC: number, outC: number, kernel: number, readonly o: ConvOptions = {}) {
    super();
    const groups = o.groups ?? 1;
    this.weight = this.addParameter('weight', [outC, inC / groups, kernel, kernel], `${blob}_w`, 'weight',
      o.weightInit ?? { fill: 'xavier' });
    this.bias = (o.bias ?? true) ? this.addParameter('bias', [outC], `${blob}_b`, 'bias', o.biasInit ?? ZERO) : null;
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight.tensor, this.bias?.tensor ?? null, this.o);
  }
}

/** Caffe2's ConvTranspose: weight in×out×k×k. */
export class ConvTranspose2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(
    readonly blob: string, inC: number, outC: number, kernel: number,
    readonly o: { stride?: Pair; padding?: Pair; weightInit?: Init } = {},
  ) {
    super();
    this.weight = this.addParameter('weight', [inC, outC, kernel, kernel], `${blob}_w`, 'weight',
      o.weightInit ?? { fill: 'xavier' });
    this.bias = this.addParameter('bias', [outC], `${blob}_b`, 'bias', ZERO);
  }

  forward(x: Tensor): Tensor {
    return F.convTranspose2d(x, this.weight.tensor, this.bias.tensor, { stride: this.o.stride, padding: this.o.padding });
  }
}

/** Detectron's FC: weight out×in over the flattened input. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly blob: string, inF: number, outF: number, o: { weightInit?: Init } = {}) {
    super();
    this.weight = this.addParameter('weight', [outF, inF], `${blob}_w`, 'weight', o.weightInit ?? { fill: 'xavier' });
    this.bias = this.addParameter('bias', [outF], `${blob}_b`, 'bias', ZERO);
  }

  forward(x: Tensor): Tensor {
    const flat = x.ndim > 2 ? x.flatten(1) : x;
    const y = F.linear(flat, this.weight.tensor, this.bias.tensor);
    if (flat !== x) flat.dispose();
    return y;
  }
}

/** Frozen batch norm as Caffe2's AffineChannel: per-channel scale and bias. */
export class AffineChannel extends Module {
  readonly scale: Parameter;
  readonly bias: Parameter;

  constructor(readonly blob: string, channels: number) {
    super();
    this.scale = this.addParameter('scale', [channels], `${blob}_s`, 'affine', { fill: 'constant', value: 1 }, false);
    this.bias = this.addParameter('bias', [channels], `${blob}_b`, 'affine', ZERO, false);
  }

  forward(x: Tensor): Tensor {
    return F.affineChannel(x, this.scale.tensor, this.bias.tensor);
  }
}

/** Detectron's GroupNorm (`<name>_s`, `<name>_b`), eps from GROUP_NORM.EPSILON. */
export class GroupNorm extends Module {
  readonly scale: Parameter;
  readonly bias: Parameter;

  constructor(readonly blob: string, readonly groups: number, channels: number, readonly eps: number) {
    super();
    this.scale = this.addParameter('scale', [channels], `${blob}_s`, 'gn', { fill: 'constant', value: 1 });
    this.bias = this.addParameter('bias', [channels], `${blob}_b`, 'gn', ZERO);
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.groups, this.scale.tensor, this.bias.tensor, this.eps);
  }
}
