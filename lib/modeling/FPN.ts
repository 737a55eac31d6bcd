/**
 * Feature Pyramid Networks on ResNet bodies (Detectron's modeling/FPN.py): lateral 1×1
 * convs, nearest-neighbour top-down pathway, 3×3 output convs, and the coarser levels —
 * P6 by stride-2 subsampling of P5 for RPN, or P6/P7 by stride-2 convs on C5 (RetinaNet).
 */
import * as F from '../nn/functional';
import { Conv2d } from '../nn/layers';
import { Module } from '../nn/module';
import { tidy } from '../nn/scope';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';
import { ConvNorm, ResNetConvBody, STAGE_BLOCKS } from './ResNet';

const LOWEST_BACKBONE_LVL = 2;
const HIGHEST_BACKBONE_LVL = 5;

/** Feature maps of a pyramid, finest level first. */
export interface Pyramid {
  levels: number[];
  features: Tensor[];
  /** 1 / stride of each level. */
  scales: number[];
}

/** The FPN levels the model needs (Detectron's get_min_max_levels). */
export function minMaxLevels(cfg: Cfg): [number, number] {
  const f = cfg.FPN;
  if (f.MULTILEVEL_RPN && !f.MULTILEVEL_ROIS) return [f.RPN_MIN_LEVEL, f.RPN_MAX_LEVEL];
  if (!f.MULTILEVEL_RPN && f.MULTILEVEL_ROIS) return [f.ROI_MIN_LEVEL, f.ROI_MAX_LEVEL];
  if (f.MULTILEVEL_RPN && f.MULTILEVEL_ROIS) {
    return [Math.min(f.RPN_MIN_LEVEL, f.ROI_MIN_LEVEL), Math.max(f.RPN_MAX_LEVEL, f.ROI_MAX_LEVEL)];
  }
  return [LOWEST_BACKBONE_LVL, HIGHEST_BACKBONE_LVL];
}

/** A 1×1 or 3×3 FPN conv, plain or with GroupNorm (FPN.USE_GN), Xavier-initialised. */
function fpnConv(cfg: Cfg, name: string, inC: number, kernel: number, zeroInit = false): Module & { forward(x: Tensor): Tensor } {
  const padding = (kernel - 1) / 2;
  const weightInit = zeroInit ? { fill: 'constant' as const, value: 0 } : { fill: 'xavier' as const };
  if (cfg.FPN.USE_GN) return new ConvNorm(cfg, name, inC, cfg.FPN.DIM, kernel, { padding, gn: true, weightInit });
  return new Conv2d(name, inC, cfg.FPN.DIM, kernel, { padding, weightInit });
}

export class FPNBody extends Module {
  readonly body: ResNetConvBody;
  readonly inner: Module & { forward(x: Tensor): Tensor };
  readonly laterals: Array<Module & { forward(x: Tensor): Tensor }> = [];
  readonly outputs: Array<Module & { forward(x: Tensor): Tensor }> = [];
  readonly extra: Conv2d[] = [];
  readonly minLevel: number;
  readonly maxLevel: number;
  readonly subsampleP6: boolean;
  readonly dimOut: number;

  constructor(cfg: Cfg, depth: number, readonly p2only = false) {
    super();
    const counts = STAGE_BLOCKS[depth];
    this.body = this.addModule('body', new ResNetConvBody(cfg, counts));
    [this.minLevel, this.maxLevel] = minMaxLevels(cfg);
    this.dimOut = cfg.FPN.DIM;
    // Backbone stages used, coarsest first, named by their last block's output blob.
    const stageBlobs = [5, 4, 3, 2].map((s) => `res${s}_${counts[s - 2] - 1}_sum`);
    const dims = [2048, 1024, 512, 256];
    const n = 4 - (this.minLevel - LOWEST_BACKBONE_LVL);
    this.inner = this.addModule('inner', fpnConv(cfg, `fpn_inner_${stageBlobs[0]}`, dims[0], 1));
    for (let i = 1; i < n; i++) {
      this.laterals.push(this.addModule(`lateral${i}`,
        fpnConv(cfg, `fpn_inner_${stageBlobs[i]}_lateral`, dims[i], 1, cfg.FPN.ZERO_INIT_LATERAL)));
    }
    for (let i = 0; i < n; i++) {
      this.outputs.push(this.addModule(`output${i}`, fpnConv(cfg, `fpn_${stageBlobs[i]}`, this.dimOut, 3)));
    }
    this.subsampleP6 = !cfg.FPN.EXTRA_CONV_LEVELS && this.maxLevel === HIGHEST_BACKBONE_LVL + 1;
    if (cfg.FPN.EXTRA_CONV_LEVELS && this.maxLevel > HIGHEST_BACKBONE_LVL) {
      let dimIn = dims[0];
      for (let lvl = HIGHEST_BACKBONE_LVL + 1; lvl <= this.maxLevel; lvl++) {
        this.extra.push(this.addModule(`fpn_${lvl}`, new Conv2d(`fpn_${lvl}`, dimIn, this.dimOut, 3, {
          stride: 2, padding: 1, weightInit: { fill: 'xavier' },
        })));
        dimIn = this.dimOut;
      }
    }
  }

  get spatialScale(): number {
    return 1 / 2 ** this.minLevel;
  }

  forward(x: Tensor): Pyramid {
    return tidy(() => {
      const stages = this.body.forward(x).stages; // res2 ... res5
      const coarseFirst = stages.slice().reverse();
      const n = this.outputs.length;
      let top = this.inner.forward(coarseFirst[0]);
      const inners = [top];
      for (let i = 1; i < n; i++) {
        const lateral = this.laterals[i - 1].forward(coarseFirst[i]);
        const [h, w] = lateral.shape.slice(2);
        top = lateral.add(F.upsampleNearest(top, [h, w]));
        inners.push(top);
      }
      const features = inners.map((t, i) => this.outputs[i].forward(t)); // P5 ... P(min)
      const levels = inners.map((_, i) => HIGHEST_BACKBONE_LVL - i);
      if (this.subsampleP6) {
        features.unshift(F.maxPool2d(features[0], 1, { stride: 2 }));
        levels.unshift(HIGHEST_BACKBONE_LVL + 1);
      }
      let c = coarseFirst[0];
      this.extra.forEach((conv, i) => {
        c = conv.forward(i > 0 ? c.relu() : c);
        features.unshift(c);
        levels.unshift(HIGHEST_BACKBONE_LVL + 1 + i);
      });
      const pyramid: Pyramid = {
        levels: levels.reverse(),
        features: features.reverse(),
        scales: [],
      };
      pyramid.scales = pyramid.levels.map((l) => 1 / 2 ** l);
      if (this.p2only) {
        return { levels: pyramid.levels.slice(0, 1), features: pyramid.features.slice(0, 1), scales: pyramid.scales.slice(0, 1) };
      }
      return pyramid;
    });
  }
}

const fpnBody = (depth: number, p2only = false) => (cfg: Cfg) => new FPNBody(cfg, depth, p2only);

export const fpn_ResNet50_conv5_body = fpnBody(50);
export const fpn_ResNet50_conv5_P2only_body = fpnBody(50, true);
export const fpn_ResNet101_conv5_body = fpnBody(101);
export const fpn_ResNet101_conv5_P2only_body = fpnBody(101, true);
export const fpn_ResNet152_conv5_body = fpnBody(152);
export const fpn_ResNet152_conv5_P2only_body = fpnBody(152, true);
