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
import { roundHalfEven } from '../utils/cv2_resize';
import type { SoftNmsMethod, BoxVotingScoring } from '../utils/boxes';
import type { NdArray } from '../utils/ndarray';
import type { Detection, ImageDetections } from './detections';
import {
  boxResultsWithNmsAndLimit, getRoisBlob, keypointResults, predictBoxes, segmResults,
} from './test_postprocess';
import { ConvBody, imDetectBboxAug, imDetectKeypointsAug, imDetectMaskAug } from './test_aug';
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

/**
 * A conv-body pass already made for an image (batched inference): its blob and its features,
 * which the test path then owns and disposes.
 */
export interface PrecomputedBody {
  blob: ImageBlob;
  features: RoIFeatures;
}

/** im_detect_bbox's outputs; `features` are the conv body's, to be disposed by the caller. */
export interface BoxStage {
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

/** Detectron's im_proposals: an RPN-only (or Faster R-CNN) model's proposals for one image. */
export interface ImageProposals {
  /** R×4 float32 boxes in image pixels (rois / im_scale), best first. */
  boxes: Float32Array;
  /** R objectness scores. */
  scores: Float32Array;
  imScale: number;
}

/**
 * Proposals of the RPN for the network-input features (core/rpn_generator.py im_proposals'
 * network part): the single level's rpn_rois, or on a multilevel FPN RPN every level's
 * rpn_rois_fpnN concatenated and the TEST.RPN_POST_NMS_TOP_N best kept by score (Detectron does
 * no NMS across levels here, unlike CollectAndDistributeFpnRpnProposals).
 */
export function rpnProposalsForImage(model: GeneralizedRCNN, src: RoIFeatures, imInfo: Float32Array): { rois: Float32Array; scores: Float32Array } {
  const cfg = model.cfg;
  const perLevel = model.rpnOutputs(src).map((out) => {
    const [n, a, h, w] = out.clsLogits.shape;
    const probs = tidy(() => out.clsLogits.sigmoid().data() as Float32Array);
    const deltas = out.bboxPred.data() as Float32Array;
    dispose([out.clsLogits, out.bboxPred]);
    return generateProposals(probs, deltas, { n, a, h, w }, imInfo, out.anchors, 1 / out.stride, proposalOptions(cfg));
  });
  if (!(cfg.FPN.FPN_ON && cfg.FPN.MULTILEVEL_RPN)) return { rois: perLevel[0].rois, scores: perLevel[0].roiProbs };
  const total = perLevel.reduce((s, p) => s + p.roiProbs.length, 0);
  const rois = new Float32Array(5 * total);
  const scores = new Float32Array(total);
  let at = 0;
  for (const p of perLevel) {
    rois.set(p.rois, 5 * at);
    scores.set(p.roiProbs, at);
    at += p.roiProbs.length;
  }
  // np.argsort(-scores)[:POST_NMS_TOP_N]; ties (vanishingly rare in float32 probabilities) stay
  // in level order here, where numpy's quicksort leaves their order unspecified.
  const order = Array.from({ length: total }, (_, i) => i).sort((x, y) => scores[y] - scores[x] || x - y)
    .slice(0, Math.max(0, cfg.TEST.RPN_POST_NMS_TOP_N));
  const index = Int32Array.from(order);
  return { rois: takeRows(rois, index, 5), scores: takeRows(scores, index, 1) };
}

/** boxes[:, 1:] / im_scale in float32 (numpy divides the float32 rois by the scale cast to float32). */
function roisToImageBoxes(rois: Float32Array, imScale: number): Float32Array {
  const r = rois.length / 5;
  const s = Math.fround(imScale);
  const out = new Float32Array(4 * r);
  for (let i = 0; i < r; i++) for (let c = 0; c < 4; c++) out[4 * i + c] = rois[5 * i + 1 + c] / s;
  return out;
}

/** The conv body's features for one image blob, on the model's device. */
function bodyFeatures(model: GeneralizedRCNN, blob: ImageBlob): RoIFeatures {
  const input = fromArray(blob.blob.data as Float32Array, blob.blob.shape, { device: model.device });
  try {
    return model.features(input);
  } finally {
    input.dispose();
  }
}

/**
 * Detectron's im_proposals: the image at TEST.SCALE / TEST.MAX_SIZE through the conv body and
 * RPN; boxes in image pixels and their objectness, best first. `features` (the conv body's
 * output for this image's blob, e.g. from a batched pass) skips the body; it is disposed.
 */
export function imProposals(model: GeneralizedRCNN, im: NdArray, pre: PrecomputedBody | null = null): ImageProposals {
  const cfg = model.cfg;
  if (model.rpn === null) throw new Error('im_proposals needs a model with an RPN (MODEL.RPN_ONLY or MODEL.FASTER_RCNN)');
  const blob = pre?.blob ?? imageBlob(cfg, im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE);
  return inferenceMode(() => {
    const features = pre !== null ? pre.features : bodyFeatures(model, blob);
    try {
      const { rois, scores } = rpnProposalsForImage(model, features, blob.imInfo.data as Float32Array);
      return { boxes: roisToImageBoxes(rois, blob.imScale), scores, imScale: blob.imScale };
    } finally {
      dispose(features.features);
    }
  });
}

/**
 * The conv body for several images' blobs in as few passes as exactness allows: images whose
 * blobs have the same shape share one N×3×H×W pass (each sample of a batched convolution is
 * computed as it is alone); blobs of different shapes are never padded together, since zero
 * padding beyond an image's own blob changes its border features (the AffineChannel biases make
 * the padded region non-zero after the first layer). Returns each image's features (views of
 * its group's outputs), in input order; the caller disposes them.
 */
export function convBodyBatch(model: GeneralizedRCNN, blobs: readonly ImageBlob[]): RoIFeatures[] {
  const groups = new Map<string, number[]>();
  blobs.forEach((b, i) => {
    const key = b.blob.shape.join('x');
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [i]);
    else g.push(i);
  });
  const out: RoIFeatures[] = new Array(blobs.length);
  return inferenceMode(() => {
    for (const members of groups.values()) {
      const shape = blobs[members[0]].blob.shape.slice();
      const per = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(per * members.length);
      members.forEach((i, k) => data.set(blobs[i].blob.data as Float32Array, k * per));
      shape[0] = members.length;
      const input = fromArray(data, shape, { device: model.device });
      const features = model.features(input);
      input.dispose();
      if (members.length === 1) {
        out[members[0]] = features;
        continue;
      }
      members.forEach((i, k) => {
        out[i] = { ...features, features: features.features.map((t) => t.narrow(0, k, 1)) };
      });
      dispose(features.features);
    }
    return out;
  });
}

/** R×5 rois as a tensor on the model's device. */
function roisTensor(rois: Float32Array, device: string): Tensor {
  return fromArray(rois, [rois.length / 5, 5], { device });
}

/** Rows `index` of an R×cols array. */
function takeRows(a: Float32Array, index: Int32Array, cols: number): Float32Array {
  const out = new Float32Array(index.length * cols);
  index.forEach((i, t) => out.set(a.subarray(i * cols, (i + 1) * cols), t * cols));
  return out;
}

/**
 * im_detect_bbox's DEDUP_BOXES for precomputed proposals: rois whose np.round(roi × dedup) rows
 * hash alike (· [1, 1e3, 1e6, 1e9, 1e12], exact in double) are one RoI. As np.unique with
 * return_index / return_inverse: the unique rois in ascending hash order, each the first of its
 * kind, and for every roi the position of its representative.
 */
function dedupRois(rois: Float32Array, dedup: number): { index: Int32Array; inverse: Int32Array } {
  const r = rois.length / 5;
  const s = Math.fround(dedup);
  const v = [1, 1e3, 1e6, 1e9, 1e12];
  const hashes = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let h = 0;
    for (let c = 0; c < 5; c++) h += roundHalfEven(Math.fround(rois[5 * i + c] * s)) * v[c];
    hashes[i] = h;
  }
  const order = Array.from({ length: r }, (_, i) => i).sort((a, b) => hashes[a] - hashes[b] || a - b);
  const index: number[] = [];
  const inverse = new Int32Array(r);
  order.forEach((i, t) => {
    if (t === 0 || hashes[i] !== hashes[order[t - 1]]) index.push(i);
    inverse[i] = index.length - 1;
  });
  return { index: Int32Array.from(index), inverse };
}

/** [0, x1, y1, x2, y2] rows for R×4 boxes, as rois at scale 1 (predictBoxes then returns them unchanged). */
function boxesAsRois(boxes: Float32Array): Float32Array {
  const r = boxes.length / 4;
  const out = new Float32Array(5 * r);
  for (let i = 0; i < r; i++) out.set(boxes.subarray(4 * i, 4 * i + 4), 5 * i + 1);
  return out;
}

/**
 * im_detect_bbox: class scores R×C and class boxes R×4C in image pixels for the RPN's
 * proposals, or for `boxProposals` (R×4 image boxes) when given. Keeps the conv features
 * for the mask and keypoint heads.
 */
export function imDetectBbox(
  model: GeneralizedRCNN, im: NdArray, scale: number, maxSize: number, boxProposals: Float32Array | null,
  pre: PrecomputedBody | null = null,
): BoxStage {
  const cfg = model.cfg;
  const blob = pre?.blob ?? imageBlob(cfg, im, scale, maxSize);
  const [height, width] = im.shape;
  const imInfo = blob.imInfo.data as Float32Array;
  return inferenceMode(() => {
    const features = pre !== null ? pre.features : bodyFeatures(model, blob);
    let proposals: { rois: Float32Array; scores: Float32Array };
    // Detectron regresses from rois / im_scale with its own RPN and from the given image boxes
    // themselves otherwise (not their float32 round trip through the network scale)
    let regressFrom: { rois: Float32Array; scale: number };
    let inverse: Int32Array | null = null;
    if (boxProposals === null) {
      proposals = rpnProposals(model, features, imInfo);
      regressFrom = { rois: proposals.rois, scale: blob.imScale };
    } else {
      let boxes = boxProposals;
      let rois = getRoisBlob(boxes, blob.imScale);
      if (cfg.DEDUP_BOXES > 0 && !cfg.MODEL.FASTER_RCNN) {
        const unique = dedupRois(rois, cfg.DEDUP_BOXES);
        rois = takeRows(rois, unique.index, 5);
        boxes = takeRows(boxes, unique.index, 4);
        inverse = unique.inverse;
      }
      proposals = { rois, scores: new Float32Array(rois.length / 5) };
      regressFrom = cfg.MODEL.FASTER_RCNN ? { rois, scale: blob.imScale } : { rois: boxesAsRois(boxes), scale: 1 };
    }
    const rois = roisTensor(proposals.rois, model.device);
    const { clsScore, bboxPred } = model.boxes(features, rois);
    const clsProb = tidy(() => clsScore.softmax(1).data() as Float32Array);
    const deltas = bboxPred.data() as Float32Array;
    dispose([rois, clsScore, bboxPred]);
    const numClasses = cfg.MODEL.NUM_CLASSES;
    const boxes = predictBoxes(regressFrom.rois, regressFrom.scale, deltas, numClasses, height, width, {
      bboxReg: cfg.TEST.BBOX_REG,
      clsAgnosticBboxReg: cfg.MODEL.CLS_AGNOSTIC_BBOX_REG,
      bboxRegWeights: cfg.MODEL.BBOX_REG_WEIGHTS as unknown as [number, number, number, number],
      bboxXformClip: cfg.BBOX_XFORM_CLIP,
    });
    return {
      // deduplicated rois' predictions back to every proposal
      scores: inverse === null ? clsProb : takeRows(clsProb, inverse, numClasses),
      boxes: inverse === null ? boxes : takeRows(boxes, inverse, 4 * numClasses),
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

/**
 * im_detect_all, with test-time augmentation where TEST.BBOX_AUG / MASK_AUG / KPS_AUG enable it
 * (test_aug.ts). `pre`: the image's conv body already run at TEST.SCALE (batched inference; not
 * with TEST.BBOX_AUG, whose passes are its own).
 */
export function imDetectAll(
  model: GeneralizedRCNN, im: NdArray, boxProposals: Float32Array | null = null, times = new StageTimes(),
  pre: PrecomputedBody | null = null,
): DetectResult {
  const cfg = model.cfg;
  const [height, width] = im.shape;
  if (pre !== null && cfg.TEST.BBOX_AUG.ENABLED) {
    dispose(pre.features.features);
    throw new Error('a precomputed conv body cannot serve TEST.BBOX_AUG (each augmentation runs its own)');
  }
  const stage = times.time('im_detect_bbox', () => (cfg.TEST.BBOX_AUG.ENABLED
    ? imDetectBboxAug(model, im, boxProposals)
    : imDetectBbox(model, im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE, boxProposals, pre)));
  // Detectron's heads read whatever conv features its workspace last computed: the identity
  // pass's, except after an augmented mask stage, whose last pass leaves its own (transformed
  // image) features for a keypoint head run without augmentation. `live` holds those.
  let live: ConvBody | null = null;
  try {
    const res = times.time('misc_bbox', () => boxResults(cfg, stage.scores, stage.boxes));
    let clsBoxes = res.clsBoxes;
    const n = res.scores.length;
    let segms: ReturnType<typeof segmResults> | null = null;
    if (cfg.MODEL.MASK_ON && n > 0) {
      const masks = times.time('im_detect_mask', () => {
        if (!cfg.TEST.MASK_AUG.ENABLED) return imDetectMask(model, stage.features, stage.imScale, res.boxes);
        const aug = imDetectMaskAug(model, im, res.boxes, {
          identity: stage, keepLast: cfg.MODEL.KEYPOINTS_ON && !cfg.TEST.KPS_AUG.ENABLED,
        });
        live = aug.last;
        return aug.masks;
      });
      segms = times.time('misc_mask', () => segmResults(clsBoxes, masks, res.boxes, height, width, {
        resolution: cfg.MRCNN.RESOLUTION,
        clsSpecificMask: cfg.MRCNN.CLS_SPECIFIC_MASK,
        threshBinarize: cfg.MRCNN.THRESH_BINARIZE,
      }));
    }
    let keyps: Float32Array[][] | null = null;
    if (cfg.MODEL.KEYPOINTS_ON && n > 0) {
      const maps = times.time('im_detect_keypoints', () => (cfg.TEST.KPS_AUG.ENABLED
        ? imDetectKeypointsAug(model, im, res.boxes, { identity: stage })
        // with the identity pass's im_scale, as Detectron
        : imDetectKeypoints(model, (live ?? stage).features, stage.imScale, res.boxes)));
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
    if (live !== null) dispose((live as ConvBody).features.features);
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
