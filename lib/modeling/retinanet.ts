/**
 * RetinaNet (Detectron's model_builder.retinanet / build_generic_retinanet_model): an FPN
 * conv body with levels RPN_MIN_LEVEL..RPN_MAX_LEVEL (P6 and P7 by stride-2 convs on C5 with
 * FPN.EXTRA_CONV_LEVELS) and the RetinaNet heads on every level. MODEL.TYPE 'retinanet'.
 */
import { Module } from '../nn/module';
import { Tensor } from '../nn/tensor';
import type { Cfg } from './config_types';
import * as FPN from './FPN';
import { RetinaNetHeads, RetinaNetLevelOutput } from './retinanet_heads';
import { mixedPrecisionFeatures, type AmpDType } from '../nn/amp';

export const RETINANET_TYPE = 'retinanet';

/** The conv bodies a RetinaNet can have: Detectron's FPN bodies with all levels (no P2only). */
const FPN_BODIES: Readonly<Record<string, (cfg: Cfg) => FPN.FPNBody>> = {
  'FPN.fpn_ResNet50_conv5_body': FPN.fpn_ResNet50_conv5_body,
  'FPN.fpn_ResNet101_conv5_body': FPN.fpn_ResNet101_conv5_body,
  'FPN.fpn_ResNet152_conv5_body': FPN.fpn_ResNet152_conv5_body,
};

function checkConfig(cfg: Cfg): void {
  if (cfg.MODEL.TYPE !== RETINANET_TYPE) throw new Error(`MODEL.TYPE '${cfg.MODEL.TYPE}' is not '${RETINANET_TYPE}'`);
  // Detectron's test engine takes the RetinaNet path only with RETINANET_ON; without it the
  // model would be run as an R-CNN and fail.
  if (!cfg.RETINANET.RETINANET_ON) throw new Error(`MODEL.TYPE '${RETINANET_TYPE}' needs RETINANET.RETINANET_ON`);
  if (!cfg.FPN.FPN_ON) throw new Error('RetinaNet needs FPN.FPN_ON');
  if (FPN_BODIES[cfg.MODEL.CONV_BODY] === undefined) {
    throw new Error(`MODEL.CONV_BODY: '${cfg.MODEL.CONV_BODY}' is not a RetinaNet body; known: ${Object.keys(FPN_BODIES).join(', ')}`);
  }
}

export class RetinaNet extends Module {
  readonly body: FPN.FPNBody;
  /** Mixed precision for the conv body (lib/nn/amp.ts), or null for float32 throughout. */
  mixedPrecision: AmpDType | null = null;
  readonly heads: RetinaNetHeads;

  constructor(readonly cfg: Cfg) {
    super();
    checkConfig(cfg);
    this.body = this.addModule('conv_body', FPN_BODIES[cfg.MODEL.CONV_BODY](cfg));
    const { RPN_MIN_LEVEL: kMin, RPN_MAX_LEVEL: kMax } = cfg.FPN;
    if (this.body.minLevel !== kMin || this.body.maxLevel !== kMax) {
      // Detectron asserts len(blobs_in) == k_max - k_min + 1 (e.g. MULTILEVEL_ROIS widens the pyramid).
      throw new Error(`RetinaNet: the FPN body has levels ${this.body.minLevel}..${this.body.maxLevel}, the heads need ${kMin}..${kMax}`);
    }
    this.heads = this.addModule('retinanet_heads', new RetinaNetHeads(cfg, this.body.dimOut));
  }

  /** The pyramid for the image blob (N×3×H×W), finest level first. */
  features(blob: Tensor): FPN.Pyramid {
    // Channels-last activations, as GeneralizedRCNN.features: mkldnn convs without reorders.
    const input = blob.contiguous('channels_last');
    try {
      return mixedPrecisionFeatures(input.device, this.mixedPrecision, () => this.body.forward(input));
    } finally {
      if (input !== blob) input.dispose();
    }
  }

  /** Class logits and box deltas per level, RPN_MIN_LEVEL first. */
  forward(blob: Tensor): RetinaNetLevelOutput[] {
    const pyramid = this.features(blob);
    try {
      return this.heads.forward(pyramid.features, pyramid.levels);
    } finally {
      for (const t of pyramid.features) t.dispose();
    }
  }
}
