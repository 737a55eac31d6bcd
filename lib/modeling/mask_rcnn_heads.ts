/**
 * Mask R-CNN heads (Detectron's modeling/mask_rcnn_heads.py): RoI features → a 2×
 * transposed conv → per-class mask logits; sigmoid at test time.
 */
import { Conv2d, ConvTranspose2d } from '../nn/layers';
import { Module } from '../nn/module';
import { tidy } from '../nn/scope';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';
import { fillerInit, ResNetRoiConv5Head } from './fast_rcnn_heads';
import { ConvNorm, ResStage } from './ResNet';
import { RoIFeatures, roiFeatureTransform, XformOptions } from './roi_xform';

export interface MaskHead extends Module {
  readonly dimOut: number;
  forward(src: RoIFeatures, rois: Tensor): Tensor;
}

function maskXform(cfg: Cfg): XformOptions {
  return {
    method: cfg.MRCNN.ROI_XFORM_METHOD,
    resolution: cfg.MRCNN.ROI_XFORM_RESOLUTION,
    samplingRatio: cfg.MRCNN.ROI_XFORM_SAMPLING_RATIO,
  };
}

function upconv(cfg: Cfg, dimIn: number): ConvTranspose2d {
  return new ConvTranspose2d('conv5_mask', dimIn, cfg.MRCNN.DIM_REDUCED, 2, {
    stride: 2, weightInit: fillerInit(cfg.MRCNN.CONV_INIT, 0.001),
  });
}

/** X dilated 3×3 convs (`_[mask]_fcn{i}`, or `_mask_fcn{i}` with GroupNorm), then conv5_mask. */
export class MaskFcnHeadV1UpXConvs extends Module implements MaskHead {
  readonly convs: Array<Module & { forward(x: Tensor): Tensor }> = [];
  readonly up: ConvTranspose2d;
  readonly dimOut: number;

  constructor(private readonly cfg: Cfg, dimIn: number, numConvs: number, gn: boolean) {
    super();
    const dim = cfg.MRCNN.DIM_REDUCED;
    const dilation = cfg.MRCNN.DILATION;
    const weightInit = fillerInit(cfg.MRCNN.CONV_INIT, 0.001);
    let d = dimIn;
    for (let i = 1; i <= numConvs; i++) {
      const conv = gn
        ? new ConvNorm(cfg, `_mask_fcn${i}`, d, dim, 3, { padding: dilation, dilation, gn: true, weightInit })
        : new Conv2d(`_[mask]_fcn${i}`, d, dim, 3, { padding: dilation, dilation, weightInit });
      this.convs.push(this.addModule(`fcn${i}`, conv));
      d = dim;
    }
    this.up = this.addModule('conv5_mask', upconv(cfg, d));
    this.dimOut = dim;
  }

  forward(src: RoIFeatures, rois: Tensor): Tensor {
    return tidy(() => {
      let x = roiFeatureTransform(src, rois, maskXform(this.cfg), this.cfg);
      for (const conv of this.convs) x = conv.forward(x).relu_();
      return this.up.forward(x).relu_();
    });
  }
}

/**
 * res5 on mask RoIs then conv5_mask. v0up has its own `_[mask]_res5` weights (loaded from
 * res5's when the file has none, as Detectron's loader does); v0upshare reuses the box
 * head's res5, whose computation it can only share in training.
 */
export class MaskFcnHeadV0Up extends Module implements MaskHead {
  readonly res5: ResStage | null;
  readonly up: ConvTranspose2d;
  readonly dimOut: number;

  constructor(private readonly cfg: Cfg, dimIn: number, private readonly shared: ResNetRoiConv5Head | null) {
    super();
    if (shared === null) {
      const inner = cfg.RESNETS.NUM_GROUPS * cfg.RESNETS.WIDTH_PER_GROUP * 8;
      const strideInit = Math.trunc(cfg.MRCNN.ROI_XFORM_RESOLUTION / 7);
      this.res5 = this.addModule('res5', new ResStage(cfg, '_[mask]_res5', 3, dimIn, 2048, inner, cfg.MRCNN.DILATION, strideInit));
    } else {
      if (cfg.MRCNN.ROI_XFORM_RESOLUTION !== cfg.FAST_RCNN.ROI_XFORM_RESOLUTION) {
        throw new Error('mask_rcnn_fcn_head_v0upshare needs MRCNN.ROI_XFORM_RESOLUTION == FAST_RCNN.ROI_XFORM_RESOLUTION');
      }
      this.res5 = null;
    }
    this.up = this.addModule('conv5_mask', upconv(cfg, 2048));
    this.dimOut = cfg.MRCNN.DIM_REDUCED;
  }

  forward(src: RoIFeatures, rois: Tensor): Tensor {
    return tidy(() => {
      const x = this.shared !== null
        ? this.shared.res5Features(src, rois, maskXform(this.cfg))
        : this.res5!.forward(roiFeatureTransform(src, rois, maskXform(this.cfg), this.cfg));
      return this.up.forward(x).relu_();
    });
  }
}

/** mask_fcn_logits: one mask per class (or one for all with CLS_SPECIFIC_MASK off). */
export class MaskRcnnOutputs extends Module {
  readonly logits: Conv2d;

  constructor(cfg: Cfg, dimIn: number) {
    super();
    if (cfg.MRCNN.USE_FC_OUTPUT) throw new Error('MRCNN.USE_FC_OUTPUT is not supported');
    if (cfg.MRCNN.UPSAMPLE_RATIO !== 1) throw new Error('MRCNN.UPSAMPLE_RATIO other than 1 is not supported');
    const numCls = cfg.MRCNN.CLS_SPECIFIC_MASK ? cfg.MODEL.NUM_CLASSES : 1;
    const fill = cfg.MRCNN.CLS_SPECIFIC_MASK ? cfg.MRCNN.CONV_INIT : 'GaussianFill';
    this.logits = this.addModule('mask_fcn_logits', new Conv2d('mask_fcn_logits', dimIn, numCls, 1, { weightInit: fillerInit(fill, 0.001) }));
  }

  forward(x: Tensor): Tensor {
    return this.logits.forward(x);
  }
}
