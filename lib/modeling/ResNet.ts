/**
 * ResNet and ResNeXt bodies and the C4 RoI head (Detectron's modeling/ResNet.py), with
 * frozen batch norm as AffineChannel or GroupNorm, as the config's STEM_FUNC,
 * TRANS_FUNC and SHORTCUT_FUNC choose.
 */
import * as F from '../nn/functional';
import { AffineChannel, Conv2d, GroupNorm } from '../nn/layers';
import { Init, Module } from '../nn/module';
import { tidy } from '../nn/scope';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';

/** Blocks per stage of each depth. */
export const STAGE_BLOCKS: Readonly<Record<number, readonly [number, number, number, number]>> = {
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
};

/** GroupNorm groups for `dim` channels (Detectron's get_group_gn). */
export function groupsForGN(cfg: Cfg, dim: number): number {
  const { DIM_PER_GP, NUM_GROUPS } = cfg.GROUP_NORM;
  if (DIM_PER_GP !== -1 && NUM_GROUPS !== -1) {
    throw new Error('GROUP_NORM: set one of DIM_PER_GP and NUM_GROUPS to -1');
  }
  const groups = DIM_PER_GP > 0 ? Math.floor(dim / DIM_PER_GP) : NUM_GROUPS;
  return Math.max(groups, 1);
}

/** A conv followed by AffineChannel (`<p>_bn`) or GroupNorm (`<p>_gn`), bias-free. */
export class ConvNorm extends Module {
  readonly conv: Conv2d;
  readonly norm: AffineChannel | GroupNorm;

  constructor(
    cfg: Cfg, prefix: string, inC: number, outC: number, kernel: number,
    o: { stride?: number; padding?: number; dilation?: number; groups?: number; gn: boolean; weightInit?: Init },
  ) {
    super();
    this.conv = this.addModule('conv', new Conv2d(prefix, inC, outC, kernel, {
      stride: o.stride ?? 1, padding: o.padding ?? 0, dilation: o.dilation ?? 1, groups: o.groups ?? 1, bias: false,
      weightInit: o.weightInit ?? { fill: 'msra' },
    }));
    this.norm = this.addModule('norm', o.gn
      ? new GroupNorm(`${prefix}_gn`, groupsForGN(cfg, outC), outC, cfg.GROUP_NORM.EPSILON)
      : new AffineChannel(`${prefix}_bn`, outC));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.norm.forward(this.conv.forward(x)));
  }
}

function usesGN(cfg: Cfg): { stem: boolean; trans: boolean; shortcut: boolean } {
  const r = cfg.RESNETS;
  return {
    stem: r.STEM_FUNC.endsWith('basic_gn_stem'),
    trans: r.TRANS_FUNC.endsWith('bottleneck_gn_transformation'),
    shortcut: r.SHORTCUT_FUNC.endsWith('basic_gn_shortcut'),
  };
}

/** conv1 7×7/2 + norm + ReLU + 3×3/2 max pool. */
export class Stem extends Module {
  readonly conv1: Module & { forward(x: Tensor): Tensor };

  constructor(cfg: Cfg) {
    super();
    const gn = usesGN(cfg).stem;
    if (gn) {
      this.conv1 = this.addModule('conv1', new ConvNorm(cfg, 'conv1', 3, 64, 7, { stride: 2, padding: 3, gn: true }));
    } else {
      this.conv1 = this.addModule('conv1', new StemBN());
    }
  }

  forward(x: Tensor): Tensor {
    return tidy(() => F.maxPool2d(this.conv1.forward(x).relu_(), 3, { stride: 2, padding: 1 }));
  }
}

/** The BN stem names its affine `res_conv1_bn`, not `conv1_bn`. */
class StemBN extends Module {
  readonly conv: Conv2d;
  readonly bn: AffineChannel;

  constructor() {
    super();
    this.conv = this.addModule('conv', new Conv2d('conv1', 3, 64, 7, { stride: 2, padding: 3, bias: false, weightInit: { fill: 'msra' } }));
    this.bn = this.addModule('bn', new AffineChannel('res_conv1_bn', 64));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.bn.forward(this.conv.forward(x)));
  }
}

/** One bottleneck residual block `<prefix>` (res{stage}_{i}). */
export class Bottleneck extends Module {
  readonly branch2a: ConvNorm;
  readonly branch2b: ConvNorm;
  readonly branch2c: ConvNorm;
  readonly branch1: ConvNorm | null;

  constructor(
    cfg: Cfg, prefix: string, dimIn: number, dimOut: number, dimInner: number, dilation: number, strideInit: number,
  ) {
    super();
    // Detectron strides only where the block changes width, never after the stem, and
    // never in dilated stages.
    const stride = dimIn !== dimOut && dimIn !== 64 && dilation === 1 ? strideInit : 1;
    const [s1, s3] = cfg.RESNETS.STRIDE_1X1 ? [stride, 1] : [1, stride];
    const gn = usesGN(cfg);
    this.branch2a = this.addModule('branch2a', new ConvNorm(cfg, `${prefix}_branch2a`, dimIn, dimInner, 1, { stride: s1, gn: gn.trans }));
    this.branch2b = this.addModule('branch2b', new ConvNorm(cfg, `${prefix}_branch2b`, dimInner, dimInner, 3, {
      stride: s3, padding: dilation, dilation, groups: cfg.RESNETS.NUM_GROUPS, gn: gn.trans,
    }));
    this.branch2c = this.addModule('branch2c', new ConvNorm(cfg, `${prefix}_branch2c`, dimInner, dimOut, 1, { gn: gn.trans }));
    this.branch1 = dimIn === dimOut
      ? null
      : this.addModule('branch1', new ConvNorm(cfg, `${prefix}_branch1`, dimIn, dimOut, 1, { stride, gn: gn.shortcut }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const a = this.branch2a.forward(x).relu_();
      const b = this.branch2b.forward(a).relu_();
      const c = this.branch2c.forward(b);
      const shortcut = this.branch1 === null ? x : this.branch1.forward(x);
      return c.add(shortcut).relu_();
    });
  }
}

/** A stage of `n` blocks named `<prefix>_0` ... (Detectron's add_stage). */
export class ResStage extends Module {
  readonly blocks: Bottleneck[] = [];

  constructor(
    cfg: Cfg, prefix: string, n: number, dimIn: number, dimOut: number, dimInner: number, dilation: number,
    strideInit = 2,
  ) {
    super();
    let d = dimIn;
    for (let i = 0; i < n; i++) {
      this.blocks.push(this.addModule(String(i), new Bottleneck(cfg, `${prefix}_${i}`, d, dimOut, dimInner, dilation, strideInit)));
      d = dimOut;
    }
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = x;
      for (const block of this.blocks) y = block.forward(y);
      return y;
    });
  }
}

/** A conv body's outputs: the last feature map, or every stage's for FPN. */
export interface BodyOutput {
  /** res2 ... res5 outputs (res5 only for conv5 bodies). */
  stages: Tensor[];
}

/** ResNet stem + res2..res{4|5} (Detectron's add_ResNet_convX_body). */
export class ResNetConvBody extends Module {
  readonly stem: Stem;
  readonly stages: ResStage[] = [];
  readonly dimOut: number;
  readonly spatialScale: number;

  constructor(cfg: Cfg, blockCounts: readonly number[]) {
    super();
    const freezeAt = cfg.TRAIN.FREEZE_AT;
    if (![0, 2, 3, 4, 5].includes(freezeAt)) throw new Error(`TRAIN.FREEZE_AT must be 0, 2, 3, 4 or 5, got ${freezeAt}`);
    this.stem = this.addModule('stem', new Stem(cfg));
    const inner = cfg.RESNETS.NUM_GROUPS * cfg.RESNETS.WIDTH_PER_GROUP;
    const dims = [256, 512, 1024, 2048];
    let dimIn = 64;
    for (let s = 0; s < blockCounts.length; s++) {
      const dilation = s === 3 ? cfg.RESNETS.RES5_DILATION : 1;
      this.stages.push(this.addModule(`res${s + 2}`,
        new ResStage(cfg, `res${s + 2}`, blockCounts[s], dimIn, dims[s], inner * 2 ** s, dilation)));
      dimIn = dims[s];
    }
    this.dimOut = dimIn;
    this.spatialScale = blockCounts.length === 4 ? (1 / 32) * cfg.RESNETS.RES5_DILATION : 1 / 16;
    // Detectron stops gradients after stage FREEZE_AT: the stem and those stages never train.
    if (freezeAt > 0) {
      this.stem.setTrainable(false);
      for (let s = 0; s < Math.min(freezeAt - 1, this.stages.length); s++) this.stages[s].setTrainable(false);
    }
  }

  forward(x: Tensor): BodyOutput {
    return tidy(() => {
      const stages: Tensor[] = [];
      let y = this.stem.forward(x);
      for (const stage of this.stages) {
        y = stage.forward(y);
        stages.push(y);
      }
      return { stages };
    });
  }
}

function convXBody(depth: number, last: 4 | 5): (cfg: Cfg) => ResNetConvBody {
  return (cfg) => new ResNetConvBody(cfg, STAGE_BLOCKS[depth].slice(0, last - 1));
}

export const ResNet50_conv4_body = convXBody(50, 4);
export const ResNet50_conv5_body = convXBody(50, 5);
export const ResNet101_conv4_body = convXBody(101, 4);
export const ResNet101_conv5_body = convXBody(101, 5);
export const ResNet152_conv5_body = convXBody(152, 5);
