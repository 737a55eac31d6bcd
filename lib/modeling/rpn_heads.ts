/**
 * Region Proposal Network heads (Detectron's modeling/rpn_heads.py and FPN.py's
 * add_fpn_rpn_outputs): a 3×3 conv + ReLU, then per-anchor objectness logits and box
 * deltas. On FPN every level shares the weights of the first level's convs.
 */
import { Conv2d } from '../nn/layers';
import { Module } from '../nn/module';
import { tidy } from '../nn/scope';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';
import { generateAnchors } from '../ops/generate_proposals';

/** One level's raw RPN outputs with what is needed to decode them. */
export interface RpnLevelOutput {
  level: number;
  /** N×A×H×W objectness logits. */
  clsLogits: Tensor;
  /** N×4A×H×W box deltas. */
  bboxPred: Tensor;
  /** A×4 anchors of the first cell. */
  anchors: Float64Array;
  stride: number;
}

const GAUSS_001 = { fill: 'gaussian' as const, std: 0.01 };

class RpnConvs extends Module {
  readonly conv: Conv2d;
  readonly cls: Conv2d;
  readonly bbox: Conv2d;

  constructor(suffix: string, dimIn: number, dimOut: number, numAnchors: number) {
    super();
    this.conv = this.addModule('conv', new Conv2d(`conv_rpn${suffix}`, dimIn, dimOut, 3, { padding: 1, weightInit: GAUSS_001 }));
    this.cls = this.addModule('cls', new Conv2d(`rpn_cls_logits${suffix}`, dimOut, numAnchors, 1, { weightInit: GAUSS_001 }));
    this.bbox = this.addModule('bbox', new Conv2d(`rpn_bbox_pred${suffix}`, dimOut, 4 * numAnchors, 1, { weightInit: GAUSS_001 }));
  }

  forward(x: Tensor): { clsLogits: Tensor; bboxPred: Tensor } {
    return tidy(() => {
      const h = this.conv.forward(x).relu_();
      return { clsLogits: this.cls.forward(h), bboxPred: this.bbox.forward(h) };
    });
  }
}

/** Single-level RPN on a C4 body (`conv_rpn`, `rpn_cls_logits`, `rpn_bbox_pred`). */
export class SingleLevelRpn extends Module {
  readonly convs: RpnConvs;
  readonly anchors: Float64Array;
  readonly stride: number;

  constructor(cfg: Cfg, dimIn: number, spatialScale: number) {
    super();
    this.stride = 1 / spatialScale;
    this.anchors = generateAnchors(this.stride, cfg.RPN.SIZES, cfg.RPN.ASPECT_RATIOS);
    this.convs = this.addModule('rpn', new RpnConvs('', dimIn, dimIn, this.anchors.length / 4));
  }

  forward(features: Tensor[]): RpnLevelOutput[] {
    const out = this.convs.forward(features[0]);
    return [{ level: Math.round(Math.log2(this.stride)), ...out, anchors: this.anchors, stride: this.stride }];
  }
}

/** FPN RPN over levels RPN_MIN_LEVEL..RPN_MAX_LEVEL, weights shared with the first. */
export class FpnRpn extends Module {
  readonly convs: RpnConvs;
  readonly levelAnchors = new Map<number, Float64Array>();

  constructor(cfg: Cfg, dimIn: number) {
    super();
    const kMin = cfg.FPN.RPN_MIN_LEVEL;
    for (let lvl = kMin; lvl <= cfg.FPN.RPN_MAX_LEVEL; lvl++) {
      const size = cfg.FPN.RPN_ANCHOR_START_SIZE * 2 ** (lvl - kMin);
      this.levelAnchors.set(lvl, generateAnchors(2 ** lvl, [size], cfg.FPN.RPN_ASPECT_RATIOS));
    }
    const numAnchors = cfg.FPN.RPN_ASPECT_RATIOS.length;
    this.convs = this.addModule('rpn', new RpnConvs(`_fpn${kMin}`, dimIn, dimIn, numAnchors));
  }

  /** `features` and `levels` as the pyramid gives them; levels without anchors are skipped. */
  forward(features: Tensor[], levels: number[]): RpnLevelOutput[] {
    const out: RpnLevelOutput[] = [];
    levels.forEach((lvl, i) => {
      const anchors = this.levelAnchors.get(lvl);
      if (anchors === undefined) return;
      out.push({ level: lvl, ...this.convs.forward(features[i]), anchors, stride: 2 ** lvl });
    });
    return out;
  }
}
