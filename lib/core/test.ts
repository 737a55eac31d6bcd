/**
 * Detectron's test path for one image (detectron/core/test.py, im_detect_all): the
 * network runs in libtorch, the post-processing on typed arrays with Detectron's float32
 * arithmetic (test_postprocess.ts).
 */
import { inferenceMode } from '../nn/autograd';
import { dispose, tidy } from '../nn/scope';
import { fromArray, Tensor } from '../nn/tensor';
import type { GeneralizedRCNN } from '../modeling/model_builder';
import type { Cfg } from '../modeling/config_types';
import type { RoIFeatures } from '../modeling/roi_xform';
import { collectAndDistributeFpnRpnProposals } from '../ops/collect_and_distribute_fpn_rpn_proposals';
import { generateProposals, ProposalOptions } from '../ops/generate_proposals';
import { getImageBlob, ImageBlob } from '../utils/blob';
import type { SoftNmsMethod, BoxVotingScoring } from '../utils/boxes';
import type { NdArray } from '../utils/ndarray';
import type { Detection, ImageDetections } from './detections';
import {
  boxResultsWithNmsAndLimit, getRoisBlob, keypointResults, predictBoxes, segmResults,
} from './test_postprocess';
import { StageTimes } from './timers';

/** What the first stages computed, for debugging and the golden checks. */
export interface BoxStageDebug {
  blobShape: number[];
  imInfo: number[];
  /** Proposals (R×5, network-input pixels) and their objectness, best first. */
  proposals: Float32Array;
  proposalScores: Float32Array;
  /** Class probabilities R×C and box deltas R×4C of the RoIs. */
  clsProb: Float32Array;
  bboxPred: Float32Array;
}

interface BoxStage {
  scores: Float32Array;
  boxes: Float32Array;
  imScale: number;
  features: RoIFeatures;
  debug: BoxStageDebug;
}

function pixelMeans(cfg: Cfg): number[] {
  return cfg.PIXEL_MEANS[0][0].slice();
}

/** Detectron's get_image_blob with the config's means and padding. */
export function imageBlob(cfg: Cfg, im: NdArray, scale: number, maxSize: number): ImageBlob {
  return getImageBlob(im, scale, maxSize, {
    pixelMeans: pixelMeans(cfg),
    coarsestStride: cfg.FPN.FPN_ON ? cfg.FPN.COARSEST_STRIDE : 0,
  });
}

function proposalOptions(cfg: Cfg): ProposalOptions {
  return {
    preNmsTopN: cfg.TEST.RPN_PRE_NMS_TOP_N,
    postNmsTopN: cfg.TEST.RPN_POST_NMS_TOP_N,
    nmsThresh: cfg.TEST.RPN_NMS_THRESH,
    minSize: cfg.TEST.RPN_MIN_SIZE,
    bboxXformClip: cfg.BBOX_XFORM_CLIP,
  };
}

/** RPN proposals for the image (R×5 and scores), through GenerateProposals and, on FPN, collection. */
function rpnProposals(model: GeneralizedRCNN, src: RoIFeatures, imInfo: Float32Array): { rois: Float32Array; scores: Float32Array } {
  const cfg = model.cfg;
  const perLevel = model.rpnOutputs(src).map((out) => {
    const [n, a, h, w] = out.clsLogits.shape;
    const probs = tidy(() => out.clsLogits.sigmoid().data() as Float32Array);
    const deltas = out.bboxPred.data() as Float32Array;
    dispose([out.clsLogits, out.bboxPred]);
    return generateProposals(probs, deltas, { n, a, h, w }, imInfo, out.anchors, 1 / out.stride, proposalOptions(cfg));
  });
  if (perLevel.length === 1) return { rois: perLevel[0].rois, scores: perLevel[0].roiProbs };
  const collected = collectAndDistributeFpnRpnProposals(
    perLevel.map((p) => p.rois), perLevel.map((p) => p.roiProbs), cfg.TEST.RPN_POST_NMS_TOP_N,
    { minLevel: cfg.FPN.ROI_MIN_LEVEL, maxLevel: cfg.FPN.ROI_MAX_LEVEL, canonicalScale: cfg.FPN.ROI_CANONICAL_SCALE, canonicalLevel: cfg.FPN.ROI_CANONICAL_LEVEL },
  );
  return { rois: collected.rois, scores: collected.scores };
}

/** R×5 rois as a tensor on the model's device. */
function roisTensor(rois: Float32Array, device: string): Tensor {
  return fromArray(rois, [rois.length / 5, 5], { device });
}

/**
 * im_detect_bbox: class scores R×C and class boxes R×4C in image pixels for the RPN's
 * proposals, or for `boxProposals` (R×4 image boxes) when given. Keeps the conv features
 * for the mask and keypoint heads.
 */
export function imDetectBbox(
  model: GeneralizedRCNN, im: NdArray, scale: number, maxSize: number, boxProposals: Float32Array | null,
): BoxStage {
  const cfg = model.cfg;
  const blob = imageBlob(cfg, im, scale, maxSize);
  const [height, width] = im.shape;
  const imInfo = blob.imInfo.data as Float32Array;
  return inferenceMode(() => {
    const input = fromArray(blob.blob.data as Float32Array, blob.blob.shape, { device: model.device });
    const features = model.features(input);
    input.dispose();
    const proposals = boxProposals === null
      ? rpnProposals(model, features, imInfo)
      : { rois: getRoisBlob(boxProposals, blob.imScale), scores: new Float32Array(boxProposals.length / 4) };
    const rois = roisTensor(proposals.rois, model.device);
    const { clsScore, bboxPred } = model.boxes(features, rois);
    const clsProb = tidy(() => clsScore.softmax(1).data() as Float32Array);
    const deltas = bboxPred.data() as Float32Array;
    dispose([rois, clsScore, bboxPred]);
    const numClasses = cfg.MODEL.NUM_CLASSES;
    const boxes = predictBoxes(proposals.rois, blob.imScale, deltas, numClasses, height, width, {
      bboxReg: cfg.TEST.BBOX_REG,
      clsAgnosticBboxReg: cfg.MODEL.CLS_AGNOSTIC_BBOX_REG,
      bboxRegWeights: cfg.MODEL.BBOX_REG_WEIGHTS as unknown as [number, number, number, number],
      bboxXformClip: cfg.BBOX_XFORM_CLIP,
    });
    return {
      scores: clsProb,
      boxes,
      imScale: blob.imScale,
      features,
      debug: {
        blobShape: blob.blob.shape.slice(),
        imInfo: Array.from(imInfo),
        proposals: proposals.rois,
        proposalScores: proposals.scores,
        clsProb,
        bboxPred: deltas,
      },
    };
  });
}

/** Sigmoid mask probabilities R×Cm×M×M for image boxes R×4 (im_detect_mask). */
export function imDetectMask(model: GeneralizedRCNN, features: RoIFeatures, imScale: number, boxes: Float32Array): Float32Array {
  return inferenceMode(() =>
    tidy(() => {
      const rois = roisTensor(getRoisBlob(boxes, imScale), model.device);
      return model.masks(features, rois).sigmoid().data() as Float32Array;
    }),
  );
}

/** Keypoint heatmaps R×K×S×S for image boxes R×4 (im_detect_keypoints). */
export function imDetectKeypoints(
  model: GeneralizedRCNN, features: RoIFeatures, imScale: number, boxes: Float32Array,
): { heatmaps: Float32Array; shape: number[] } {
  return inferenceMode(() =>
    tidy(() => {
      const rois = roisTensor(getRoisBlob(boxes, imScale), model.device);
      const maps = model.keypoints(features, rois);
      return { heatmaps: maps.data() as Float32Array, shape: maps.shape };
    }),
  );
}

function softNmsMethod(name: string): SoftNmsMethod {
  if (name === 'linear' || name === 'gaussian' || name === 'hard') return name;
  throw new Error(`TEST.SOFT_NMS.METHOD must be linear or gaussian, got '${name}'`);
}

/** The detections of the box stage, per class, as Detectron's box_results_with_nms_and_limit. */
function boxResults(cfg: Cfg, scores: Float32Array, boxes: Float32Array) {
  return boxResultsWithNmsAndLimit(scores, boxes, cfg.MODEL.NUM_CLASSES, {
    scoreThresh: cfg.TEST.SCORE_THRESH,
    nmsThresh: cfg.TEST.NMS,
    detectionsPerIm: cfg.TEST.DETECTIONS_PER_IM,
    softNms: { enabled: cfg.TEST.SOFT_NMS.ENABLED, method: softNmsMethod(cfg.TEST.SOFT_NMS.METHOD), sigma: cfg.TEST.SOFT_NMS.SIGMA },
    bboxVote: {
      enabled: cfg.TEST.BBOX_VOTE.ENABLED,
      voteTh: cfg.TEST.BBOX_VOTE.VOTE_TH,
      scoringMethod: cfg.TEST.BBOX_VOTE.SCORING_METHOD as BoxVotingScoring,
    },
  });
}

export interface DetectResult extends ImageDetections {
  debug: BoxStageDebug;
}

/** im_detect_all without test-time augmentation. */
export function imDetectAll(
  model: GeneralizedRCNN, im: NdArray, boxProposals: Float32Array | null = null, times = new StageTimes(),
): DetectResult {
  const cfg = model.cfg;
  const [height, width] = im.shape;
  const stage = times.time('im_detect_bbox', () =>
    imDetectBbox(model, im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE, boxProposals));
  try {
    const res = times.time('misc_bbox', () => boxResults(cfg, stage.scores, stage.boxes));
    let clsBoxes = res.clsBoxes;
    const n = res.scores.length;
    let segms: ReturnType<typeof segmResults> | null = null;
    if (cfg.MODEL.MASK_ON && n > 0) {
      const masks = times.time('im_detect_mask', () => imDetectMask(model, stage.features, stage.imScale, res.boxes));
      segms = times.time('misc_mask', () => segmResults(clsBoxes, masks, res.boxes, height, width, {
        resolution: cfg.MRCNN.RESOLUTION,
        clsSpecificMask: cfg.MRCNN.CLS_SPECIFIC_MASK,
        threshBinarize: cfg.MRCNN.THRESH_BINARIZE,
      }));
    }
    let keyps: Float32Array[][] | null = null;
    if (cfg.MODEL.KEYPOINTS_ON && n > 0) {
      const maps = times.time('im_detect_keypoints', () => imDetectKeypoints(model, stage.features, stage.imScale, res.boxes));
      const kp = times.time('misc_keypoints', () => keypointResults(clsBoxes, maps.heatmaps, maps.shape, res.boxes, {
        nmsOks: cfg.KRCNN.NMS_OKS,
        inferenceMinSize: cfg.KRCNN.INFERENCE_MIN_SIZE,
      }));
      keyps = kp.clsKeyps;
      clsBoxes = kp.clsBoxes;
    }
    return {
      height, width, imScale: stage.imScale,
      detections: assemble(clsBoxes, segms, keyps),
      debug: stage.debug,
    };
  } finally {
    dispose(stage.features.features);
  }
}

/** Detections class by class, with each one's mask and keypoints. */
function assemble(
  clsBoxes: readonly Float32Array[], segms: ReturnType<typeof segmResults> | null, keyps: Float32Array[][] | null,
): Detection[] {
  const out: Detection[] = [];
  clsBoxes.forEach((dets, j) => {
    for (let t = 0; t < dets.length / 5; t++) {
      const d: Detection = {
        classId: j,
        box: [dets[5 * t], dets[5 * t + 1], dets[5 * t + 2], dets[5 * t + 3]],
        score: dets[5 * t + 4],
      };
      const segm = segms?.[j]?.[t];
      if (segm !== undefined) d.mask = segm;
      const kp = keyps?.[j]?.[t];
      if (kp !== undefined) {
        const k = kp.length / 4;
        d.keypoints = Array.from({ length: k }, (_, i) => [kp[i], kp[k + i], kp[2 * k + i], kp[3 * k + i]] as [number, number, number, number]);
      }
      out.push(d);
    }
  });
  return out;
}
