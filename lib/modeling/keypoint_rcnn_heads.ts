/**
 * Keypoint R-CNN heads (Detectron's modeling/keypoint_rcnn_heads.py): stacked 3×3 convs
 * on RoI features, a transposed conv to low-resolution heatmaps (`kps_score_lowres`),
 * then a fixed bilinear 2× upsampling (`kps_score`).
 */
import { Conv2d, ConvTranspose2d } from '../nn/layers';
import { Module } from '../nn/module';
import { noGrad } from '../nn/autograd';
import { fromArray } from '../nn/tensor';
import { tidy } from '../nn/scope';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';
import { fillerInit } from './fast_rcnn_heads';
import { RoIFeatures, roiFeatureTransform } from './roi_xform';

/** conv_fcn1 ... conv_fcnX (roi_pose_head_v1convX). */
export class RoiPoseHeadV1ConvX extends Module {
  readonly convs: Conv2d[] = [];
  readonly dimOut: number;

  constructor(private readonly cfg: Cfg, dimIn: number) {
    super();
    const k = cfg.KRCNN;
    let d = dimIn;
    for (let i = 1; i <= k.NUM_STACKED_CONVS; i++) {
      this.convs.push(this.addModule(`conv_fcn${i}`, new Conv2d(`conv_fcn${i}`, d, k.CONV_HEAD_DIM, k.CONV_HEAD_KERNEL, {
        padding: Math.floor(k.CONV_HEAD_KERNEL / 2), weightInit: fillerInit(k.CONV_INIT, 0.01),
      })));
      d = k.CONV_HEAD_DIM;
    }
    this.dimOut = d;
  }

  forward(src: RoIFeatures, rois: Tensor): Tensor {
    return tidy(() => {
      const k = this.cfg.KRCNN;
      let x = roiFeatureTransform(src, rois, {
        method: k.ROI_XFORM_METHOD, resolution: k.ROI_XFORM_RESOLUTION, samplingRatio: k.ROI_XFORM_SAMPLING_RATIO,
      }, this.cfg);
      for (const conv of this.convs) x = conv.forward(x).relu_();
      return x;
    });
  }
}

/** FCN's bilinear upsampling filter of side `size` (Detectron's upsample_filt). */
function bilinearFilter(size: number): number[] {
  const factor = Math.floor((size + 1) / 2);
  const center = size % 2 === 1 ? factor - 1 : factor - 0.5;
  const out: number[] = [];
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) out.push((1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor));
  }
  return out;
}

/** Heatmap outputs: kps_deconv (optional), kps_score_lowres, bilinear kps_score. */
export class KeypointOutputs extends Module {
  readonly deconv: ConvTranspose2d | null;
  readonly score: ConvTranspose2d | Conv2d;
  readonly upsample: ConvTranspose2d | null;

  constructor(cfg: Cfg, dimIn: number) {
    super();
    const k = cfg.KRCNN;
    const pad = Math.trunc(k.DECONV_KERNEL / 2 - 1);
    let d = dimIn;
    this.deconv = null;
    if (k.USE_DECONV) {
      this.deconv = this.addModule('kps_deconv', new ConvTranspose2d('kps_deconv', d, k.DECONV_DIM, k.DECONV_KERNEL, {
        stride: 2, padding: pad, weightInit: { fill: 'gaussian', std: 0.01 },
      }));
      d = k.DECONV_DIM;
    }
    const name = k.UP_SCALE > 1 ? 'kps_score_lowres' : 'kps_score';
    const init = fillerInit(k.CONV_INIT, 0.001);
    this.score = this.addModule(name, k.USE_DECONV_OUTPUT
      ? new ConvTranspose2d(name, d, k.NUM_KEYPOINTS, k.DECONV_KERNEL, { stride: 2, padding: pad, weightInit: init })
      : new Conv2d(name, d, k.NUM_KEYPOINTS, 1, { weightInit: init }));
    this.upsample = k.UP_SCALE > 1 ? this.addModule('kps_score', this.bilinear(k.NUM_KEYPOINTS, k.UP_SCALE)) : null;
  }

  /** A transposed conv fixed to bilinear upsampling, never trained (BilinearInterpolation). */
  private bilinear(channels: number, upScale: number): ConvTranspose2d {
    if (upScale % 2 !== 0) throw new Error(`KRCNN.UP_SCALE must be even, got ${upScale}`);
    const size = upScale * 2;
    const up = new ConvTranspose2d('kps_score', channels, channels, size, { stride: upScale, padding: upScale / 2 });
    const filter = bilinearFilter(size);
    const w = new Float32Array(channels * channels * size * size);
    for (let c = 0; c < channels; c++) w.set(filter, (c * channels + c) * size * size);
    noGrad(() => tidy(() => up.weight.tensor.copy_(fromArray(w, [channels, channels, size, size]))));
    up.setTrainable(false);
    return up;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = x;
      if (this.deconv !== null) y = this.deconv.forward(y).relu_();
      y = this.score.forward(y);
      return this.upsample !== null ? this.upsample.forward(y) : y;
    });
  }
}
