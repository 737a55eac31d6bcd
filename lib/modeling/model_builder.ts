/**
 * Builds a Generalized R-CNN (Detectron's modeling/model_builder.py) from a config:
 * conv body, RPN, and the box, mask and keypoint heads the config turns on, each chosen by
 * its builder name (Detectron's names without `add_`).
 */
import { Module } from '../nn/module';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';
import { BoxHead, FastRcnnOutputs, ResNetRoiConv5Head, Roi2MlpHead, RoiXconv1fcHead } from './fast_rcnn_heads';
import * as FPN from './FPN';
import { KeypointOutputs, RoiPoseHeadV1ConvX } from './keypoint_rcnn_heads';
import { MaskFcnHeadV0Up, MaskFcnHeadV1UpXConvs, MaskHead, MaskRcnnOutputs } from './mask_rcnn_heads';
import * as ResNet from './ResNet';
import type { RoIFeatures } from './roi_xform';
import { FpnRpn, RpnLevelOutput, SingleLevelRpn } from './rpn_heads';
import { mixedPrecisionFeatures, type AmpDType } from '../nn/amp';

type Body = ResNet.ResNetConvBody | FPN.FPNBody;

const CONV_BODIES: Readonly<Record<string, (cfg: Cfg) => Body>> = {
  'ResNet.ResNet50_conv4_body': ResNet.ResNet50_conv4_body,
  'ResNet.ResNet50_conv5_body': ResNet.ResNet50_conv5_body,
  'ResNet.ResNet101_conv4_body': ResNet.ResNet101_conv4_body,
  'ResNet.ResNet101_conv5_body': ResNet.ResNet101_conv5_body,
  'ResNet.ResNet152_conv5_body': ResNet.ResNet152_conv5_body,
  'FPN.fpn_ResNet50_conv5_body': FPN.fpn_ResNet50_conv5_body,
  'FPN.fpn_ResNet50_conv5_P2only_body': FPN.fpn_ResNet50_conv5_P2only_body,
  'FPN.fpn_ResNet101_conv5_body': FPN.fpn_ResNet101_conv5_body,
  'FPN.fpn_ResNet101_conv5_P2only_body': FPN.fpn_ResNet101_conv5_P2only_body,
  'FPN.fpn_ResNet152_conv5_body': FPN.fpn_ResNet152_conv5_body,
  'FPN.fpn_ResNet152_conv5_P2only_body': FPN.fpn_ResNet152_conv5_P2only_body,
};

function lookup<T>(table: Readonly<Record<string, T>>, key: string, name: string): T {
  const found = table[key];
  if (found === undefined) {
    throw new Error(`${key}: unknown ${name} '${key}'; known: ${Object.keys(table).join(', ')}`);
  }
  return found;
}

function buildBoxHead(cfg: Cfg, dimIn: number): BoxHead {
  const heads: Record<string, () => BoxHead> = {
    'fast_rcnn_heads.roi_2mlp_head': () => new Roi2MlpHead(cfg, dimIn),
    'fast_rcnn_heads.roi_Xconv1fc_head': () => new RoiXconv1fcHead(cfg, dimIn, false),
    'fast_rcnn_heads.roi_Xconv1fc_gn_head': () => new RoiXconv1fcHead(cfg, dimIn, true),
    'ResNet.ResNet_roi_conv5_head': () => new ResNetRoiConv5Head(cfg, dimIn),
  };
  const name = cfg.FAST_RCNN.ROI_BOX_HEAD;
  const make = heads[name];
  if (make === undefined) throw new Error(`FAST_RCNN.ROI_BOX_HEAD: unknown box head '${name}'; known: ${Object.keys(heads).join(', ')}`);
  return make();
}

function buildMaskHead(cfg: Cfg, dimIn: number, boxHead: BoxHead | null): MaskHead {
  // v0upshare reuses the box head's res5; Detectron's test net rebuilds it with
  // MRCNN.DILATION, which matches the shared module only when the dilation is 1.
  const shared = boxHead instanceof ResNetRoiConv5Head && cfg.MRCNN.DILATION === 1 ? boxHead : null;
  const heads: Record<string, () => MaskHead> = {
    'mask_rcnn_heads.mask_rcnn_fcn_head_v1up4convs': () => new MaskFcnHeadV1UpXConvs(cfg, dimIn, 4, false),
    'mask_rcnn_heads.mask_rcnn_fcn_head_v1up4convs_gn': () => new MaskFcnHeadV1UpXConvs(cfg, dimIn, 4, true),
    'mask_rcnn_heads.mask_rcnn_fcn_head_v1up': () => new MaskFcnHeadV1UpXConvs(cfg, dimIn, 2, false),
    'mask_rcnn_heads.mask_rcnn_fcn_head_v1upXconvs': () => new MaskFcnHeadV1UpXConvs(cfg, dimIn, 4, false),
    'mask_rcnn_heads.mask_rcnn_fcn_head_v0upshare': () => new MaskFcnHeadV0Up(cfg, dimIn, shared),
    'mask_rcnn_heads.mask_rcnn_fcn_head_v0up': () => new MaskFcnHeadV0Up(cfg, dimIn, null),
  };
  const name = cfg.MRCNN.ROI_MASK_HEAD;
  const make = heads[name];
  if (make === undefined) throw new Error(`MRCNN.ROI_MASK_HEAD: unknown mask head '${name}'; known: ${Object.keys(heads).join(', ')}`);
  return make();
}

function buildKeypointHead(cfg: Cfg, dimIn: number): RoiPoseHeadV1ConvX {
  const name = cfg.KRCNN.ROI_KEYPOINTS_HEAD;
  if (name !== 'keypoint_rcnn_heads.roi_pose_head_v1convX') {
    throw new Error(`KRCNN.ROI_KEYPOINTS_HEAD: unknown keypoint head '${name}'; known: keypoint_rcnn_heads.roi_pose_head_v1convX`);
  }
  return new RoiPoseHeadV1ConvX(cfg, dimIn);
}

/**
 * Model types built as a Generalized R-CNN: Detectron's current name and the older
 * per-model names that its earlier configs (e.g. the test-time augmentation ones) use.
 */
export const GENERALIZED_RCNN_TYPES: readonly string[] = [
  'generalized_rcnn', 'fast_rcnn', 'faster_rcnn', 'mask_rcnn', 'keypoint_rcnn', 'rpn',
];

/** Box head outputs for a set of RoIs. */
export interface BoxOutputs {
  clsScore: Tensor;
  bboxPred: Tensor;
}

export class GeneralizedRCNN extends Module {
  readonly body: Body;
  readonly rpn: SingleLevelRpn | FpnRpn | null;
  readonly boxHead: BoxHead | null;
  readonly boxOutputs: FastRcnnOutputs | null;
  readonly maskHead: MaskHead | null;
  readonly maskOutputs: MaskRcnnOutputs | null;
  readonly keypointHead: RoiPoseHeadV1ConvX | null;
  readonly keypointOutputs: KeypointOutputs | null;
  /** Mixed precision for the conv body (lib/nn/amp.ts), or null for float32 throughout. */
  mixedPrecision: AmpDType | null = null;

  constructor(readonly cfg: Cfg) {
    super();
    if (!GENERALIZED_RCNN_TYPES.includes(cfg.MODEL.TYPE)) {
      throw new Error(`MODEL.TYPE '${cfg.MODEL.TYPE}' is not a Generalized R-CNN (expected one of ${GENERALIZED_RCNN_TYPES.join(', ')})`);
    }
    this.body = this.addModule('conv_body', lookup(CONV_BODIES, cfg.MODEL.CONV_BODY, 'conv body')(cfg));
    const fpn = this.body instanceof FPN.FPNBody;
    if (fpn !== cfg.FPN.FPN_ON) {
      throw new Error(`MODEL.CONV_BODY '${cfg.MODEL.CONV_BODY}' ${fpn ? 'needs' : 'cannot have'} FPN.FPN_ON`);
    }
    const dim = this.body.dimOut;
    if (cfg.RPN.RPN_ON) {
      this.rpn = this.addModule('rpn', fpn && cfg.FPN.MULTILEVEL_RPN ? new FpnRpn(cfg, dim) : new SingleLevelRpn(cfg, dim, this.body.spatialScale));
    } else {
      this.rpn = null;
    }
    if (cfg.MODEL.RPN_ONLY) {
      this.boxHead = this.boxOutputs = this.maskHead = this.maskOutputs = null;
      this.keypointHead = this.keypointOutputs = null;
      return;
    }
    this.boxHead = this.addModule('box_head', buildBoxHead(cfg, dim));
    this.boxOutputs = this.addModule('box_outs', new FastRcnnOutputs(cfg, this.boxHead.dimOut));
    if (cfg.MODEL.MASK_ON) {
      this.maskHead = this.addModule('mask_head', buildMaskHead(cfg, dim, this.boxHead));
      this.maskOutputs = this.addModule('mask_outs', new MaskRcnnOutputs(cfg, this.maskHead.dimOut));
    } else {
      this.maskHead = this.maskOutputs = null;
    }
    if (cfg.MODEL.KEYPOINTS_ON) {
      this.keypointHead = this.addModule('keypoint_head', buildKeypointHead(cfg, dim));
      this.keypointOutputs = this.addModule('keypoint_outs', new KeypointOutputs(cfg, this.keypointHead.dimOut));
    } else {
      this.keypointHead = this.keypointOutputs = null;
    }
  }

  /** The conv body's features for the image blob (N×3×H×W), where heads pool from. */
  features(blob: Tensor): RoIFeatures {
    // Channels-last activations: mkldnn convolutions run without reorders (with channelsLast()).
    const input = blob.contiguous('channels_last');
    try {
      return mixedPrecisionFeatures(input.device, this.mixedPrecision, () => this.bodyFeatures(input));
    } finally {
      if (input !== blob) input.dispose();
    }
  }

  private bodyFeatures(blob: Tensor): RoIFeatures {
    if (this.body instanceof FPN.FPNBody) return this.body.forward(blob);
    const out = this.body.forward(blob).stages;
    const last = out[out.length - 1];
    for (const t of out.slice(0, -1)) t.dispose();
    return { features: [last], scales: [this.body.spatialScale], levels: [Math.round(-Math.log2(this.body.spatialScale))] };
  }

  /** Raw RPN outputs per level. */
  rpnOutputs(src: RoIFeatures): RpnLevelOutput[] {
    if (this.rpn === null) throw new Error('this model has no RPN (MODEL.FASTER_RCNN and MODEL.RPN_ONLY are off)');
    return this.rpn instanceof FpnRpn ? this.rpn.forward(src.features, src.levels) : this.rpn.forward(src.features);
  }

  /** Class logits and box deltas for RoIs (R×5, network-input pixels). */
  boxes(src: RoIFeatures, rois: Tensor): BoxOutputs {
    if (this.boxHead === null || this.boxOutputs === null) throw new Error('this model has no box head (MODEL.RPN_ONLY)');
    const hidden = this.boxHead.forward(src, rois);
    const out = this.boxOutputs.forward(hidden);
    hidden.dispose();
    return out;
  }

  /** Mask logits R×C×M×M for RoIs. */
  masks(src: RoIFeatures, rois: Tensor): Tensor {
    if (this.maskHead === null || this.maskOutputs === null) throw new Error('this model has no mask head (MODEL.MASK_ON)');
    const hidden = this.maskHead.forward(src, rois);
    const out = this.maskOutputs.forward(hidden);
    hidden.dispose();
    return out;
  }

  /** Keypoint heatmap logits R×K×S×S for RoIs. */
  keypoints(src: RoIFeatures, rois: Tensor): Tensor {
    if (this.keypointHead === null || this.keypointOutputs === null) throw new Error('this model has no keypoint head (MODEL.KEYPOINTS_ON)');
    const hidden = this.keypointHead.forward(src, rois);
    const out = this.keypointOutputs.forward(hidden);
    hidden.dispose();
    return out;
  }
}
