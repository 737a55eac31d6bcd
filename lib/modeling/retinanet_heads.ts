/**
 * RetinaNet heads (Detectron's modeling/retinanet_heads.py, add_fpn_retinanet_outputs): a
 * classification tower and a box tower of RETINANET.NUM_CONVS 3×3 convs + ReLU, each ending
 * in a 3×3 prediction conv, run on every FPN level RPN_MIN_LEVEL..RPN_MAX_LEVEL with the
 * weights of the finest level (Detectron's ConvShared: blobs `..._fpn{RPN_MIN_LEVEL}`).
 */
import { noGrad } from '../nn/autograd';
import { Conv2d } from '../nn/layers';
import { Init, Module } from '../nn/module';
import { tidy } from '../nn/scope';
import { fromArray, Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';

/** Raw head outputs of one pyramid level. */
export interface RetinaNetLevelOutput {
  level: number;
  /** N×(A·K)×H×W class logits; K = NUM_CLASSES - 1 (sigmoid) or NUM_CLASSES (SOFTMAX). */
  clsLogits: Tensor;
  /** N×(A·4)×H×W box deltas, N×(A·4(C-1))×H×W with CLASS_SPECIFIC_BBOX. */
  bboxPred: Tensor;
}

const GAUSS_001: Init = { fill: 'gaussian', std: 0.01 };

/** Anchors per location: SCALES_PER_OCTAVE × len(ASPECT_RATIOS). */
export function retinanetNumAnchors(cfg: Cfg): number {
  return cfg.RETINANET.SCALES_PER_OCTAVE * cfg.RETINANET.ASPECT_RATIOS.length;
}

/** Class logits per anchor: background included only with SOFTMAX. */
export function retinanetClsPredDim(cfg: Cfg): number {
  return cfg.RETINANET.SOFTMAX ? cfg.MODEL.NUM_CLASSES : cfg.MODEL.NUM_CLASSES - 1;
}

/**
 * get_retinanet_bias_init: every anchor starts as background with probability
 * 1 - PRIOR_PROB. Sigmoid: one constant -log((1 - p) / p). Softmax: per anchor, the
 * background logit log((C - 1)(1 - p) / p) and 0 for the C - 1 classes.
 */
export function retinanetClsBiasInit(cfg: Cfg): Float32Array {
  const p = cfg.RETINANET.PRIOR_PROB;
  const dim = retinanetClsPredDim(cfg);
  const a = retinanetNumAnchors(cfg);
  const bias = new Float32Array(a * dim);
  if (!cfg.RETINANET.SOFTMAX) return bias.fill(-Math.log((1 - p) / p));
  const background = Math.log(((cfg.MODEL.NUM_CLASSES - 1) * (1 - p)) / p);
  for (let i = 0; i < a; i++) bias[i * dim] = background;
  return bias;
}

/** NUM_CONVS 3×3 convs + ReLU (`retnet_{cls,bbox}_conv_n{i}_fpn{kMin}`). */
class Tower extends Module {
  readonly convs: Conv2d[] = [];

  constructor(kind: 'cls' | 'bbox', kMin: number, dim: number, numConvs: number) {
    super();
    for (let i = 0; i < numConvs; i++) {
      this.convs.push(this.addModule(`conv${i}`, new Conv2d(`retnet_${kind}_conv_n${i}_fpn${kMin}`, dim, dim, 3, {
        padding: 1, weightInit: GAUSS_001,
      })));
    }
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.convs.reduce((h, conv) => conv.forward(h).relu_(), x));
  }
}

export class RetinaNetHeads extends Module {
  readonly clsTower: Tower;
  /** Null with SHARE_CLS_BBOX_TOWER: the box predictor reads the class tower's features. */
  readonly bboxTower: Tower | null;
  readonly clsPred: Conv2d;
  readonly bboxPred: Conv2d;
  readonly minLevel: number;
  readonly maxLevel: number;

  constructor(cfg: Cfg, dimIn: number) {
    super();
    const r = cfg.RETINANET;
    this.minLevel = cfg.FPN.RPN_MIN_LEVEL;
    this.maxLevel = cfg.FPN.RPN_MAX_LEVEL;
    const kMin = this.minLevel;
    const a = retinanetNumAnchors(cfg);
    this.clsTower = this.addModule('cls_tower', new Tower('cls', kMin, dimIn, r.NUM_CONVS));
    this.bboxTower = r.SHARE_CLS_BBOX_TOWER ? null : this.addModule('bbox_tower', new Tower('bbox', kMin, dimIn, r.NUM_CONVS));
    const bias = retinanetClsBiasInit(cfg);
    this.clsPred = this.addModule('cls_pred', new Conv2d(`retnet_cls_pred_fpn${kMin}`, dimIn, retinanetClsPredDim(cfg) * a, 3, {
      padding: 1, weightInit: GAUSS_001, biasInit: { fill: 'constant', value: r.SOFTMAX ? 0 : bias[0] },
    }));
    if (r.SOFTMAX) this.setGivenClsBias(bias);
    const regDim = r.CLASS_SPECIFIC_BBOX ? 4 * (cfg.MODEL.NUM_CLASSES - 1) : 4;
    this.bboxPred = this.addModule('bbox_pred', new Conv2d(`retnet_bbox_pred_fpn${kMin}`, dimIn, regDim * a, 3, {
      padding: 1, weightInit: GAUSS_001,
    }));
  }

  /** Softmax's GivenTensorFill bias, which no Init fill describes: written after the zero fill. */
  private setGivenClsBias(values: Float32Array): void {
    const bias = this.clsPred.bias;
    if (bias === null) throw new Error('retnet_cls_pred has no bias');
    noGrad(() => tidy(() => {
      bias.tensor.copy_(fromArray(values, [values.length]));
    }));
  }

  /** One level's logits and deltas. */
  forwardLevel(x: Tensor, level: number): RetinaNetLevelOutput {
    return tidy(() => {
      const clsFeat = this.clsTower.forward(x);
      const bboxFeat = this.bboxTower === null ? clsFeat : this.bboxTower.forward(x);
      return { level, clsLogits: this.clsPred.forward(clsFeat), bboxPred: this.bboxPred.forward(bboxFeat) };
    });
  }

  /**
   * Outputs for levels RPN_MIN_LEVEL..RPN_MAX_LEVEL, finest first; `features` and `levels`
   * as the pyramid gives them, which must hold exactly those levels (Detectron asserts it).
   */
  forward(features: Tensor[], levels: number[]): RetinaNetLevelOutput[] {
    const want = this.maxLevel - this.minLevel + 1;
    if (levels.length !== want || levels.some((l, i) => l !== this.minLevel + i)) {
      throw new Error(`RetinaNet heads need FPN levels ${this.minLevel}..${this.maxLevel}, got [${levels.join(', ')}]`);
    }
    return levels.map((lvl, i) => this.forwardLevel(features[i], lvl));
  }
}
