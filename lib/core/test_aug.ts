/**
 * Detectron's test-time augmentation (detectron/core/test.py: im_detect_bbox_aug,
 * im_detect_mask_aug, im_detect_keypoints_aug and their hflip / scale / aspect-ratio helpers).
 *
 * Each augmented pass runs the conv body on its own transformed image; predictions are mapped
 * back to the original image and combined with the array heuristics of test_postprocess.ts.
 * The order of the passes, the transforms applied to boxes and the dtypes follow Detectron, so
 * the combined arrays are Detectron's (float32 means are order-dependent).
 */
import { inferenceMode } from '../nn/autograd';
import { dispose } from '../nn/scope';
import { fromArray } from '../nn/tensor';
import type { GeneralizedRCNN } from '../modeling/model_builder';
import type { Cfg } from '../modeling/config_types';
import type { RoIFeatures } from '../modeling/roi_xform';
import { aspectRatio, flipBoxes } from '../utils/boxes';
import { cv2Resize, roundHalfEven } from '../utils/cv2_resize';
import { flipHeatmaps } from '../utils/keypoints';
import type { NdArray } from '../utils/ndarray';
import { BoxStage, imageBlob, imDetectBbox, imDetectKeypoints, imDetectMask } from './test';
import {
  BboxAugHeuristic, KpsAugHeuristic, MaskAugHeuristic, combineBboxAug, combineHeatmapsAug, combineHeatmapsSizeDep,
  combineMaskAug, flipMasks,
} from './test_postprocess';

// ---------------------------------------------------------------------------------------------
// Image transforms.

function checkImage(im: NdArray, what: string): [number, number, number] {
  if (im.shape.length !== 3 || (im.dtype !== 'uint8' && im.dtype !== 'float32')) {
    throw new Error(`${what}: expected an H×W×C uint8 or float32 image, got ${im.dtype} [${im.shape.join(', ')}]`);
  }
  const [h, w, c] = im.shape;
  return [h, w, c];
}

/** im[:, ::-1, :]: the horizontally mirrored image. */
export function flipImage(im: NdArray): NdArray {
  const [h, w, c] = checkImage(im, 'flipImage');
  const src = im.data as Uint8Array | Float32Array;
  const out = im.dtype === 'uint8' ? new Uint8Array(src.length) : new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const s = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) out[row + x * c + k] = src[s + k];
    }
  }
  return { dtype: im.dtype, shape: [h, w, c], data: out };
}

/**
 * image_utils.aspect_ratio_rel: the image resized (cv2.resize, INTER_LINEAR) to width
 * round(aspect_ratio * width) (Python 3's round: half to even), height unchanged.
 *
 * Images are uint8 in Detectron, which OpenCV resizes in fixed point: per output column, source
 * column sx = floor(fx) and weights round(2048 (1 - fx)), round(2048 fx) for
 * fx = (float)((dx + 0.5) * w / dw - 0.5), clamped at the borders; row sums S of pixel × weight.
 * With the height unchanged every vertical weight pair is (2048, 0), for which OpenCV's SIMD row
 * pass ((S >> 4) * 2048 >> 16, then (+2) >> 2) and its scalar pass ((S * 2048 + 2^21) >> 22)
 * both reduce to (S + 1024) >> 11 — checked against cv2 4.6 on random images.
 */
export function aspectRatioRel(im: NdArray, ratio: number): NdArray {
  const [h, w, c] = checkImage(im, 'aspectRatioRel');
  const dw = roundHalfEven(ratio * w);
  if (!(dw >= 1)) throw new Error(`aspectRatioRel: aspect ratio ${ratio} gives a width of ${dw} for a ${w} px wide image`);
  if (im.dtype === 'float32') return cv2Resize(im, { dsize: [dw, h], interpolation: 'linear' });
  if (dw === w) return { dtype: 'uint8', shape: [h, w, c], data: Uint8Array.from(im.data as Uint8Array) };
  const src = im.data as Uint8Array;
  const scaleX = 1 / (dw / w);
  const xofs = new Int32Array(dw);
  const a0 = new Int32Array(dw);
  const a1 = new Int32Array(dw);
  for (let dx = 0; dx < dw; dx++) {
    let fx = Math.fround((dx + 0.5) * scaleX - 0.5);
    let sx = Math.floor(fx);
    fx = Math.fround(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx >= w - 1) {
      fx = 0;
      sx = w - 1;
    }
    xofs[dx] = sx;
    a0[dx] = roundHalfEven(Math.fround(Math.fround(1 - fx) * 2048));
    a1[dx] = roundHalfEven(Math.fround(fx * 2048));
  }
  const out = new Uint8Array(h * dw * c);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let dx = 0; dx < dw; dx++) {
      const s0 = row + xofs[dx] * c;
      // a1 is 0 wherever sx + 1 would leave the row
      const s1 = a1[dx] === 0 ? s0 : s0 + c;
      for (let k = 0; k < c; k++) {
        const sum = src[s0 + k] * a0[dx] + src[s1 + k] * a1[dx];
        out[(y * dw + dx) * c + k] = Math.min(255, Math.max(0, (sum + 1024) >> 11));
      }
    }
  }
  return { dtype: 'uint8', shape: [h, dw, c], data: out };
}

// ---------------------------------------------------------------------------------------------
// The conv body alone (im_conv_body_only).

/** Conv features of one transformed image and its blob scale: Detectron's workspace after im_conv_body_only. */
export interface ConvBody {
  features: RoIFeatures;
  imScale: number;
}

/** im_conv_body_only: features of the image at a target scale. The caller disposes them. */
export function imConvBodyOnly(model: GeneralizedRCNN, im: NdArray, targetScale: number, targetMaxSize: number): ConvBody {
  const blob = imageBlob(model.cfg, im, targetScale, targetMaxSize);
  return inferenceMode(() => {
    const input = fromArray(blob.blob.data as Float32Array, blob.blob.shape, { device: model.device });
    try {
      return { features: model.features(input), imScale: blob.imScale };
    } finally {
      input.dispose();
    }
  });
}

/**
 * The network calls the augmentations make, the model's by default (modelNetwork). Separate so
 * that the orchestration (which passes, on which image and boxes, in which order) can be checked
 * against Detectron's own code with synthetic outputs.
 */
export interface AugNetwork {
  /** im_detect_bbox; the returned features belong to the caller. */
  detectBbox(im: NdArray, scale: number, maxSize: number, proposals: Float32Array | null): BoxStage;
  /** im_conv_body_only. */
  convBody(im: NdArray, scale: number, maxSize: number): ConvBody;
  /** im_detect_mask: soft masks R×Cm×M×M for image boxes R×4 on these features. */
  masks(body: ConvBody, boxes: Float32Array): Float32Array;
  /** im_detect_keypoints: heatmaps R×K×S×S. */
  keypoints(body: ConvBody, boxes: Float32Array): { heatmaps: Float32Array; shape: number[] };
  /** Frees a conv body's features. */
  release(body: ConvBody): void;
}

/** The model's network calls (test.ts). */
export function modelNetwork(model: GeneralizedRCNN): AugNetwork {
  return {
    detectBbox: (im, scale, maxSize, proposals) => imDetectBbox(model, im, scale, maxSize, proposals),
    convBody: (im, scale, maxSize) => imConvBodyOnly(model, im, scale, maxSize),
    masks: (body, boxes) => imDetectMask(model, body.features, body.imScale, boxes),
    keypoints: (body, boxes) => imDetectKeypoints(model, body.features, body.imScale, boxes),
    release: (body) => dispose(body.features.features),
  };
}

// ---------------------------------------------------------------------------------------------
// Boxes: im_detect_bbox_aug.

function bboxHeuristic(name: string, which: string): BboxAugHeuristic {
  if (name === 'ID' || name === 'AVG' || name === 'UNION') return name;
  throw new Error(`${which} heur ${name} not supported`);
}

/** One pass's predictions in the original image: scores R×C, boxes R×4C. */
interface BoxPreds {
  scores: Float32Array;
  boxes: Float32Array;
}

/** im_detect_bbox on a transformed image, features dropped (only the identity pass keeps them). */
function detectBoxes(net: AugNetwork, im: NdArray, scale: number, maxSize: number, proposals: Float32Array | null): BoxPreds {
  const stage = net.detectBbox(im, scale, maxSize, proposals);
  net.release(stage);
  return { scores: stage.scores, boxes: stage.boxes };
}

/**
 * im_detect_bbox_hflip: detect on the mirrored image and mirror the boxes back. Precomputed
 * proposals are mirrored too; a Faster R-CNN makes its own (Detectron passes None).
 */
function detectBoxesHflip(
  cfg: Cfg, net: AugNetwork, im: NdArray, scale: number, maxSize: number, proposals: Float32Array | null,
): BoxPreds {
  const width = im.shape[1];
  const proposalsHf = cfg.MODEL.FASTER_RCNN || proposals === null ? null : flipBoxes(proposals, 4, width);
  const hf = detectBoxes(net, flipImage(im), scale, maxSize, proposalsHf);
  return { scores: hf.scores, boxes: flipBoxes(hf.boxes, 4 * cfg.MODEL.NUM_CLASSES, width) };
}

/**
 * im_detect_bbox_aspect_ratio: detect on the width-rescaled image (at TEST.SCALE / MAX_SIZE),
 * optionally mirrored, and scale the boxes' x back by 1 / aspect_ratio.
 */
function detectBoxesAspectRatio(
  cfg: Cfg, net: AugNetwork, im: NdArray, ratio: number, proposals: Float32Array | null, hflip: boolean,
): BoxPreds {
  const imAr = aspectRatioRel(im, ratio);
  const proposalsAr = cfg.MODEL.FASTER_RCNN || proposals === null ? null : aspectRatio(proposals, 4, ratio);
  const ar = hflip
    ? detectBoxesHflip(cfg, net, imAr, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE, proposalsAr)
    : detectBoxes(net, imAr, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE, proposalsAr);
  // Python's 1.0 / aspect_ratio in double, rounded to float32 when numpy multiplies
  return { scores: ar.scores, boxes: aspectRatio(ar.boxes, 4 * cfg.MODEL.NUM_CLASSES, 1.0 / ratio) };
}

/**
 * im_detect_bbox_aug: scores and boxes from the H_FLIP, SCALES (+ SCALE_H_FLIP) and
 * ASPECT_RATIOS (+ ASPECT_RATIO_H_FLIP) passes and, last, the identity pass, combined by
 * SCORE_HEUR / COORD_HEUR. Returns the identity pass's im_scale, features (the caller disposes
 * them: Detectron's workspace holds them for the mask and keypoint heads) and debug values.
 */
export function imDetectBboxAug(model: GeneralizedRCNN, im: NdArray, boxProposals: Float32Array | null): BoxStage {
  return detectBboxAug(model.cfg, modelNetwork(model), im, boxProposals);
}

/** imDetectBboxAug on any network. */
export function detectBboxAug(cfg: Cfg, net: AugNetwork, im: NdArray, boxProposals: Float32Array | null): BoxStage {
  const aug = cfg.TEST.BBOX_AUG;
  if (aug.SCALE_SIZE_DEP) throw new Error('TEST.BBOX_AUG.SCALE_SIZE_DEP: size dependent scaling not implemented (as in Detectron)');
  const scoreHeur = bboxHeuristic(aug.SCORE_HEUR, 'Score');
  const coordHeur = bboxHeuristic(aug.COORD_HEUR, 'Coord');
  if ((scoreHeur === 'UNION') !== (coordHeur === 'UNION')) {
    throw new Error('TEST.BBOX_AUG: the score and coord heuristics must both be UNION or neither');
  }
  // Faster R-CNN passes make their own proposals, so their rows do not correspond
  if (cfg.MODEL.FASTER_RCNN && scoreHeur !== 'UNION') {
    throw new Error('TEST.BBOX_AUG: the UNION heuristic must be used to combine Faster R-CNN predictions');
  }
  const preds: BoxPreds[] = [];
  if (aug.H_FLIP) preds.push(detectBoxesHflip(cfg, net, im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE, boxProposals));
  for (const scale of aug.SCALES) {
    // im_detect_bbox_scale: proposals stay in image coordinates
    preds.push(detectBoxes(net, im, scale, aug.MAX_SIZE, boxProposals));
    if (aug.SCALE_H_FLIP) preds.push(detectBoxesHflip(cfg, net, im, scale, aug.MAX_SIZE, boxProposals));
  }
  for (const ratio of aug.ASPECT_RATIOS) {
    preds.push(detectBoxesAspectRatio(cfg, net, im, ratio, boxProposals, false));
    if (aug.ASPECT_RATIO_H_FLIP) preds.push(detectBoxesAspectRatio(cfg, net, im, ratio, boxProposals, true));
  }
  // The identity pass last: its features are the ones the heads use afterwards
  const identity = net.detectBbox(im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE, boxProposals);
  preds.push({ scores: identity.scores, boxes: identity.boxes });
  try {
    const combined = combineBboxAug(preds.map((p) => p.scores), preds.map((p) => p.boxes), preds.length - 1, scoreHeur, coordHeur);
    return { ...identity, scores: combined.scores, boxes: combined.boxes };
  } catch (err) {
    net.release(identity);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared by the mask and keypoint augmentations: which passes run, on which image and boxes.

/** One augmented pass of a head: its image, target size, boxes in that image, and tags. */
interface HeadPass {
  /** Builds the transformed image (lazily: one image at a time is alive). */
  image: () => NdArray;
  scale: number;
  maxSize: number;
  boxes: () => Float32Array;
  /** The predictions come from the mirrored image and must be mirrored back. */
  hflip: boolean;
  /** Computed under downscaling / upscaling (combine_heatmaps_size_dep). */
  ds: boolean;
  us: boolean;
}

interface HeadAugConfig {
  H_FLIP: boolean;
  SCALES: readonly number[];
  MAX_SIZE: number;
  SCALE_H_FLIP: boolean;
  ASPECT_RATIOS: readonly number[];
  ASPECT_RATIO_H_FLIP: boolean;
}

/**
 * The passes of im_detect_mask_aug / im_detect_keypoints_aug after the identity one, in
 * Detectron's order: H_FLIP, each scale (then its flip), each aspect ratio (then its flip).
 * Scales are tagged as down/upscaling relative to TEST.SCALE (only keypoints use the tags).
 */
function headPasses(cfg: Cfg, aug: HeadAugConfig, im: NdArray, boxes: Float32Array): HeadPass[] {
  const { SCALE: scale, MAX_SIZE: maxSize } = cfg.TEST;
  const width = im.shape[1];
  const passes: HeadPass[] = [];
  const flipped = (image: () => NdArray, w: () => number, b: () => Float32Array, s: number, m: number, ds = false, us = false): HeadPass => ({
    image: () => flipImage(image()), scale: s, maxSize: m, boxes: () => flipBoxes(b(), 4, w()), hflip: true, ds, us,
  });
  const original = (): NdArray => im;
  const originalBoxes = (): Float32Array => boxes;
  if (aug.H_FLIP) passes.push(flipped(original, () => width, originalBoxes, scale, maxSize));
  for (const s of aug.SCALES) {
    const ds = s < scale;
    const us = s > scale;
    passes.push({ image: original, scale: s, maxSize: aug.MAX_SIZE, boxes: originalBoxes, hflip: false, ds, us });
    if (aug.SCALE_H_FLIP) passes.push(flipped(original, () => width, originalBoxes, s, aug.MAX_SIZE, ds, us));
  }
  for (const ratio of aug.ASPECT_RATIOS) {
    // Boxes are not mapped back: head outputs are box-relative
    const imAr = (): NdArray => aspectRatioRel(im, ratio);
    const boxesAr = (): Float32Array => aspectRatio(boxes, 4, ratio);
    passes.push({ image: imAr, scale, maxSize, boxes: boxesAr, hflip: false, ds: false, us: false });
    if (aug.ASPECT_RATIO_H_FLIP) passes.push(flipped(imAr, () => roundHalfEven(ratio * width), boxesAr, scale, maxSize));
  }
  return passes;
}

export interface HeadAugOptions {
  /**
   * The identity transform's conv body (the image at TEST.SCALE / TEST.MAX_SIZE), reused instead
   * of recomputed: the same input gives the same features. Stays owned by the caller.
   */
  identity?: ConvBody;
  /**
   * Return the conv body of the last pass instead of disposing it: Detectron's workspace still
   * holds it afterwards, and a head run without augmentation later reads it (see imDetectAll).
   */
  keepLast?: boolean;
}

/**
 * Runs the identity pass and then each augmented pass, one conv body alive at a time (plus the
 * caller's identity one). `head` gets the features, im_scale and boxes in the pass's image.
 */
function runHeadPasses<T>(
  cfg: Cfg, net: AugNetwork, im: NdArray, boxes: Float32Array, passes: readonly HeadPass[], opts: HeadAugOptions,
  head: (body: ConvBody, boxes: Float32Array, pass: HeadPass | null) => T,
): { outputs: T[]; last: ConvBody | null } {
  const outputs: T[] = [];
  let last: ConvBody | null = null;
  const release = (body: ConvBody, isLast: boolean): void => {
    if (body === opts.identity) return;
    if (isLast && opts.keepLast) last = body;
    else net.release(body);
  };
  const identity = opts.identity ?? net.convBody(im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE);
  try {
    outputs.push(head(identity, boxes, null));
  } finally {
    release(identity, passes.length === 0);
  }
  passes.forEach((pass, t) => {
    const body = net.convBody(pass.image(), pass.scale, pass.maxSize);
    try {
      outputs.push(head(body, pass.boxes(), pass));
    } finally {
      release(body, t === passes.length - 1);
    }
  });
  return { outputs, last };
}

// ---------------------------------------------------------------------------------------------
// Masks: im_detect_mask_aug.

function maskHeuristic(name: string): MaskAugHeuristic {
  if (name === 'SOFT_AVG' || name === 'SOFT_MAX' || name === 'LOGIT_AVG') return name;
  throw new Error(`TEST.MASK_AUG.HEUR: heuristic ${name} not supported`);
}

export interface MaskAugResult {
  /** Combined soft masks R×Cm×M×M. */
  masks: Float32Array;
  /** With keepLast: the last augmented pass's conv body, owned by the caller (null: no such pass). */
  last: ConvBody | null;
}

/**
 * im_detect_mask_aug: soft masks for image boxes R×4 from the identity pass, then H_FLIP,
 * SCALES (MASK_AUG.MAX_SIZE, + SCALE_H_FLIP) and ASPECT_RATIOS (TEST.SCALE, + ASPECT_RATIO_H_FLIP)
 * passes, combined by MASK_AUG.HEUR. Mirrored passes get mirrored boxes and their masks are
 * mirrored back; aspect-ratio passes get rescaled boxes (masks are box-relative).
 */
export function imDetectMaskAug(model: GeneralizedRCNN, im: NdArray, boxes: Float32Array, opts: HeadAugOptions = {}): MaskAugResult {
  return detectMaskAug(model.cfg, modelNetwork(model), im, boxes, opts);
}

/** imDetectMaskAug on any network. */
export function detectMaskAug(cfg: Cfg, net: AugNetwork, im: NdArray, boxes: Float32Array, opts: HeadAugOptions = {}): MaskAugResult {
  const aug = cfg.TEST.MASK_AUG;
  if (aug.SCALE_SIZE_DEP) throw new Error('TEST.MASK_AUG.SCALE_SIZE_DEP: size dependent scaling not implemented (as in Detectron)');
  const heur = maskHeuristic(aug.HEUR);
  const m = cfg.MRCNN.RESOLUTION;
  const r = boxes.length / 4;
  if (r === 0) throw new Error('imDetectMaskAug: no boxes (Detectron runs the mask heads only for detections)');
  const { outputs, last } = runHeadPasses(cfg, net, im, boxes, headPasses(cfg, aug, im, boxes), opts, (body, b, pass) => {
    const masks = net.masks(body, b);
    if (pass === null || !pass.hflip) return masks;
    return flipMasks(masks, [r, masks.length / (r * m * m), m, m]);
  });
  try {
    return { masks: combineMaskAug(outputs, heur), last };
  } catch (err) {
    if (last !== null) net.release(last);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Keypoints: im_detect_keypoints_aug.

function kpsHeuristic(name: string): KpsAugHeuristic {
  if (name === 'HM_AVG' || name === 'HM_MAX') return name;
  throw new Error(`TEST.KPS_AUG.HEUR: heuristic ${name} not supported`);
}

/**
 * im_detect_keypoints_aug: heatmaps R×K×S×S for image boxes R×4 from the identity pass, then
 * H_FLIP, SCALES (KPS_AUG.MAX_SIZE, + SCALE_H_FLIP) and ASPECT_RATIOS (+ ASPECT_RATIO_H_FLIP)
 * passes (mirrored heatmaps flipped back with left/right keypoints swapped), combined by
 * KPS_AUG.HEUR, per box when SCALE_SIZE_DEP: boxes with +1 area < AREA_TH ignore downscaled
 * passes, the others upscaled ones (relative to TEST.SCALE).
 */
export function imDetectKeypointsAug(model: GeneralizedRCNN, im: NdArray, boxes: Float32Array, opts: HeadAugOptions = {}): KeypointAugResult {
  return detectKeypointsAug(model.cfg, modelNetwork(model), im, boxes, opts);
}

export interface KeypointAugResult {
  /** Combined heatmaps R×K×S×S (`shape`). */
  heatmaps: Float32Array;
  shape: number[];
  /** With keepLast: the last augmented pass's conv body, owned by the caller (null: no such pass). */
  last: ConvBody | null;
}

/** imDetectKeypointsAug on any network. */
export function detectKeypointsAug(
  cfg: Cfg, net: AugNetwork, im: NdArray, boxes: Float32Array, opts: HeadAugOptions = {},
): KeypointAugResult {
  const aug = cfg.TEST.KPS_AUG;
  const heur = kpsHeuristic(aug.HEUR);
  const passes = headPasses(cfg, aug, im, boxes);
  let shape: number[] = [];
  const { outputs, last } = runHeadPasses(cfg, net, im, boxes, passes, opts, (body, b, pass) => {
    const maps = net.keypoints(body, b);
    shape = maps.shape;
    return pass !== null && pass.hflip ? flipHeatmaps(maps.heatmaps, maps.shape) : maps.heatmaps;
  });
  try {
    const heatmaps = aug.SCALE_SIZE_DEP
      ? combineHeatmapsSizeDep(outputs, [false, ...passes.map((p) => p.ds)], [false, ...passes.map((p) => p.us)], boxes, heur, aug.AREA_TH)
      : combineHeatmapsAug(outputs, heur);
    return { heatmaps, shape, last };
  } catch (err) {
    if (last !== null) net.release(last);
    throw err;
  }
}
