/**
 * Fast R-CNN box heads and outputs (Detectron's modeling/fast_rcnn_heads.py, and
 * ResNet.py's add_ResNet_roi_conv5_head): RoI features → hidden representation →
 * class scores and class-specific box deltas.
 */
import * as F from '../nn/functional';
import { Conv2d, Linear } from '../nn/layers';
import { Init, Module } from '../nn/module';
import { tidy } from '../nn/scope';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';
import { ConvNorm, ResStage } from './ResNet';
import { RoIFeatures, roiFeatureTransform, XformOptions } from './roi_xform';

/** Caffe2 filler named in a config (CONV_INIT keys) as our Init. */
export function fillerInit(name: string, std: number): Init {
  switch (name) {
    case 'GaussianFill':
      return { fill: 'gaussian', std };
    case 'MSRAFill':
      return { fill: 'msra' };
    case 'XavierFill':
      return { fill: 'xavier' };
  }
  throw new Error(`unknown weight filler '${name}' (expected GaussianFill, MSRAFill or XavierFill)`);
}

/** A box head: RoIs → N×dimOut features. */
export interface BoxHead extends Module {
  readonly dimOut: number;
  forward(src: RoIFeatures, rois: Tensor): Tensor;
}

function boxXform(cfg: Cfg): XformOptions {
  return {
    method: cfg.FAST_RCNN.ROI_XFORM_METHOD,
    resolution: cfg.FAST_RCNN.ROI_XFORM_RESOLUTION,
    samplingRatio: cfg.FAST_RCNN.ROI_XFORM_SAMPLING_RATIO,
  };
}

/** Two hidden FC layers, fc6 and fc7 (roi_2mlp_head). */
export class Roi2MlpHead extends Module implements BoxHead {
  readonly fc6: Linear;
  readonly fc7: Linear;
  readonly dimOut: number;

  constructor(private readonly cfg: Cfg, dimIn: number) {
    super();
    const res = cfg.FAST_RCNN.ROI_XFORM_RESOLUTION;
    this.dimOut = cfg.FAST_RCNN.MLP_HEAD_DIM;
    this.fc6 = this.addModule('fc6', new Linear('fc6', dimIn * res * res, this.dimOut));
    this.fc7 = this.addModule('fc7', new Linear('fc7', this.dimOut, this.dimOut));
  }

  forward(src: RoIFeatures, rois: Tensor): Tensor {
    return tidy(() => {
      const x = roiFeatureTransform(src, rois, boxXform(this.cfg), this.cfg);
      return this.fc7.forward(this.fc6.forward(x).relu_()).relu_();
    });
  }
}

/** NUM_STACKED_CONVS 3×3 convs then fc6 (roi_Xconv1fc_head and its GroupNorm variant). */
export class RoiXconv1fcHead extends Module implements BoxHead {
  readonly convs: Array<Module & { forward(x: Tensor): Tensor }> = [];
  readonly fc6: Linear;
  readonly dimOut: number;

  constructor(private readonly cfg: Cfg, dimIn: number, gn: boolean) {
    super();
    const hidden = cfg.FAST_RCNN.CONV_HEAD_DIM;
    let d = dimIn;
    for (let i = 0; i < cfg.FAST_RCNN.NUM_STACKED_CONVS; i++) {
      const name = `head_conv${i + 1}`;
      const conv = gn
        ? new ConvNorm(cfg, name, d, hidden, 3, { padding: 1, gn: true, weightInit: { fill: 'msra' } })
        : new Conv2d(name, d, hidden, 3, { padding: 1, weightInit: { fill: 'msra' } });
      this.convs.push(this.addModule(name, conv));
      d = hidden;
    }
    const res = cfg.FAST_RCNN.ROI_XFORM_RESOLUTION;
    this.dimOut = cfg.FAST_RCNN.MLP_HEAD_DIM;
    this.fc6 = this.addModule('fc6', new Linear('fc6', d * res * res, this.dimOut));
  }

  forward(src: RoIFeatures, rois: Tensor): Tensor {
    return tidy(() => {
      let x = roiFeatureTransform(src, rois, boxXform(this.cfg), this.cfg);
      for (const conv of this.convs) x = conv.forward(x).relu_();
      return this.fc6.forward(x).relu_();
    });
  }
}

/** res5 applied to each RoI, then 7×7 average pooling (ResNet_roi_conv5_head). */
export class ResNetRoiConv5Head extends Module implements BoxHead {
  readonly res5: ResStage;
  readonly dimOut = 2048;

  constructor(private readonly cfg: Cfg, dimIn: number) {
    super();
    const inner = cfg.RESNETS.NUM_GROUPS * cfg.RESNETS.WIDTH_PER_GROUP * 8;
    const strideInit = Math.trunc(cfg.FAST_RCNN.ROI_XFORM_RESOLUTION / 7);
    this.res5 = this.addModule('res5', new ResStage(cfg, 'res5', 3, dimIn, 2048, inner, 1, strideInit));
  }

  /** res5 output before pooling (`res5_2_sum`), which the shared mask head reuses. */
  res5Features(src: RoIFeatures, rois: Tensor, xform: XformOptions): Tensor {
    return tidy(() => this.res5.forward(roiFeatureTransform(src, rois, xform, this.cfg)));
  }

  forward(src: RoIFeatures, rois: Tensor): Tensor {
    return tidy(() => F.avgPool2d(this.res5Features(src, rois, boxXform(this.cfg)), 7).flatten(1));
  }
}

/** cls_score and bbox_pred (fast_rcnn_outputs). */
export class FastRcnnOutputs extends Module {
  readonly clsScore: Linear;
  readonly bboxPred: Linear;

  constructor(cfg: Cfg, dimIn: number) {
    super();
    const classes = cfg.MODEL.NUM_CLASSES;
    this.clsScore = this.addModule('cls_score', new Linear('cls_score', dimIn, classes, { weightInit: { fill: 'gaussian', std: 0.01 } }));
    const boxOut = cfg.MODEL.CLS_AGNOSTIC_BBOX_REG ? 4 * 2 : 4 * classes;
    this.bboxPred = this.addModule('bbox_pred', new Linear('bbox_pred', dimIn, boxOut, { weightInit: { fill: 'gaussian', std: 0.001 } }));
  }

  /** Class logits and box deltas. */
  forward(x: Tensor): { clsScore: Tensor; bboxPred: Tensor } {
    return { clsScore: this.clsScore.forward(x), bboxPred: this.bboxPred.forward(x) };
  }
}
