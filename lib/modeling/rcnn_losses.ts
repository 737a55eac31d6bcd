/**
 * The training forward pass of a Generalized R-CNN: Detectron's losses, normalised as its
 * Caffe2 operators normalise them (rpn_heads.py, FPN.py add_fpn_rpn_losses,
 * fast_rcnn_heads.py, mask_rcnn_heads.py, keypoint_rcnn_heads.py). The minibatch carries
 * Detectron's blobs by name (roi_data/); proposal labels are generated between the RPN
 * and the heads, as the GenerateProposalLabels op does.
 */
import * as F from '../nn/functional';
import { noGrad } from '../nn/autograd';
import { dispose, tidy } from '../nn/scope';
import { fromArray, Tensor } from '../nn/tensor';
import type { NdArray } from '../utils/ndarray';
import type { RoidbEntry } from '../datasets/json_dataset';
import { collectFpnProposals } from '../ops/collect_and_distribute_fpn_rpn_proposals';
import { generateProposals } from '../ops/generate_proposals';
import { generateProposalLabels } from '../roi_data/generate_proposal_labels';
import type { RandomSource } from '../roi_data/rng';
import type { GeneralizedRCNN } from './model_builder';
import type { RoIFeatures } from './roi_xform';
import type { RpnLevelOutput } from './rpn_heads';

/** A training minibatch: Detectron's blobs and the roidb entries of its images. */
export interface TrainBatch {
  blobs: Record<string, NdArray>;
  roidb: readonly RoidbEntry[];
}

export interface TrainOutput {
  /** Loss tensors by Detectron's names (loss_rpn_cls_fpn2, loss_cls, loss_mask, ...). */
  losses: Map<string, Tensor>;
  /**
   * Detectron's accuracy_cls, a scalar tensor on the model's device: read with the losses
   * after the forward pass, not in the middle of it (on a GPU every read waits for the device).
   */
  accuracyCls: Tensor | null;
}

function blob(batch: TrainBatch, name: string, device: string): Tensor {
  const b = batch.blobs[name];
  if (b === undefined) throw new Error(`training minibatch has no '${name}' blob`);
  return fromArray(b.data, b.shape, { dtype: b.dtype, device });
}

/** Detectron's SpatialNarrowAs: the top-left H×W of a "wide" target blob. */
function narrowAs(t: Tensor, like: Tensor): Tensor {
  const [h, w] = like.shape.slice(2);
  return t.narrow(2, 0, h).narrow(3, 0, w);
}

/** RPN losses on every level; `scale` is Detectron's GetLossScale() (1 / NUM_GPUS). */
function rpnLosses(model: GeneralizedRCNN, outs: RpnLevelOutput[], batch: TrainBatch, losses: Map<string, Tensor>): void {
  const cfg = model.cfg;
  const scale = 1 / cfg.NUM_GPUS;
  const device = model.device;
  const fpn = cfg.FPN.FPN_ON && cfg.FPN.MULTILEVEL_RPN;
  for (const out of outs) {
    const suffix = fpn ? `_fpn${out.level}` : '';
    tidy(() => {
      const labels = narrowAs(blob(batch, `rpn_labels_int32_wide${suffix}`, device), out.clsLogits);
      const targets = narrowAs(blob(batch, `rpn_bbox_targets_wide${suffix}`, device), out.bboxPred);
      const inside = narrowAs(blob(batch, `rpn_bbox_inside_weights_wide${suffix}`, device), out.bboxPred);
      const outside = narrowAs(blob(batch, `rpn_bbox_outside_weights_wide${suffix}`, device), out.bboxPred);
      // FPN levels are summed unnormalised and scaled by the sampled anchor count;
      // single-level RPN normalises by the valid labels.
      const perLevel = fpn ? scale / cfg.TRAIN.RPN_BATCH_SIZE_PER_IM / cfg.TRAIN.IMS_PER_BATCH : scale;
      const cls = F.sigmoidCrossEntropyLoss(out.clsLogits, labels, { normalize: !fpn, scale: perLevel });
      const box = F.smoothL1Loss(out.bboxPred, targets, inside, outside, { beta: 1 / 9, scale: perLevel });
      losses.set(`loss_rpn_cls${suffix}`, cls);
      losses.set(`loss_rpn_bbox${suffix}`, box);
      return [cls, box];
    });
  }
}

/** RPN proposals for the batch at training settings (GenerateProposals + collect). */
function trainProposals(model: GeneralizedRCNN, outs: RpnLevelOutput[], imInfo: Float32Array): Float32Array {
  const cfg = model.cfg;
  const opts = {
    preNmsTopN: cfg.TRAIN.RPN_PRE_NMS_TOP_N,
    postNmsTopN: cfg.TRAIN.RPN_POST_NMS_TOP_N,
    nmsThresh: cfg.TRAIN.RPN_NMS_THRESH,
    minSize: cfg.TRAIN.RPN_MIN_SIZE,
    bboxXformClip: cfg.BBOX_XFORM_CLIP,
  };
  const perLevel = outs.map((out) => {
    const [n, a, h, w] = out.clsLogits.shape;
    const probs = noGrad(() => tidy(() => out.clsLogits.detach().sigmoid().data() as Float32Array));
    const deltas = noGrad(() => tidy(() => out.bboxPred.detach().data() as Float32Array));
    return generateProposals(probs, deltas, { n, a, h, w }, imInfo, out.anchors, 1 / out.stride, opts);
  });
  if (perLevel.length === 1) return perLevel[0].rois;
  // Detectron's collect keeps the top RPN_POST_NMS_TOP_N over the whole batch.
  return collectFpnProposals(perLevel.map((p) => p.rois), perLevel.map((p) => p.roiProbs), cfg.TRAIN.RPN_POST_NMS_TOP_N).rois;
}

function roisOf(labels: Record<string, NdArray>, name: string, device: string): Tensor {
  const b = labels[name];
  return fromArray(b.data as Float32Array, b.shape, { device });
}

function boxLosses(model: GeneralizedRCNN, src: RoIFeatures, labels: Record<string, NdArray>, losses: Map<string, Tensor>): Tensor {
  const device = model.device;
  const scale = 1 / model.cfg.NUM_GPUS;
  const t = (name: string): Tensor => fromArray(labels[name].data, labels[name].shape, { dtype: labels[name].dtype, device });
  return tidy(() => {
    const { clsScore, bboxPred } = model.boxes(src, roisOf(labels, 'rois', device));
    const cls = t('labels_int32');
    const lossCls = F.softmaxCrossEntropy(clsScore, cls, { scale });
    const lossBbox = F.smoothL1Loss(bboxPred, t('bbox_targets'), t('bbox_inside_weights'), t('bbox_outside_weights'), { beta: 1, scale });
    losses.set('loss_cls', lossCls);
    losses.set('loss_bbox', lossBbox);
    const accuracy = noGrad(() => clsScore.argmax(1).eq(cls.long()).float().mean());
    return { accuracy, keepA: lossCls, keepB: lossBbox };
  }).accuracy;
}

function maskLoss(model: GeneralizedRCNN, src: RoIFeatures, labels: Record<string, NdArray>, losses: Map<string, Tensor>): void {
  const cfg = model.cfg;
  const device = model.device;
  tidy(() => {
    const logits = model.masks(src, roisOf(labels, 'mask_rois', device));
    // masks_int32 is R × (classes·M·M): -1 outside the roi's class channel.
    const targets = fromArray(labels.masks_int32.data, labels.masks_int32.shape, { dtype: 'int32', device });
    const loss = F.sigmoidCrossEntropyLoss(logits.reshape(targets.shape), targets, {
      scale: cfg.MRCNN.WEIGHT_LOSS_MASK / cfg.NUM_GPUS,
    });
    losses.set('loss_mask', loss);
    return loss;
  });
}

function keypointLoss(model: GeneralizedRCNN, src: RoIFeatures, labels: Record<string, NdArray>, losses: Map<string, Tensor>): void {
  const cfg = model.cfg;
  const device = model.device;
  tidy(() => {
    const heatmaps = model.keypoints(src, roisOf(labels, 'keypoint_rois', device));
    const [n, k, h, w] = heatmaps.shape;
    // One softmax over the H·W locations of each keypoint's heatmap.
    const logits = heatmaps.reshape(n * k, h * w);
    const locations = fromArray(labels.keypoint_locations_int32.data, [n * k], { dtype: 'int32', device });
    const weights = fromArray(labels.keypoint_weights.data, [n * k], { dtype: 'float32', device });
    let loss = F.softmaxCrossEntropy(logits, locations, { weight: weights, scale: cfg.KRCNN.LOSS_WEIGHT / cfg.NUM_GPUS });
    if (!cfg.KRCNN.NORMALIZE_BY_VISIBLE_KEYPOINTS) loss = loss.mul((labels.keypoint_loss_normalizer.data as Float32Array)[0]);
    losses.set('loss_kps', loss);
    return loss;
  });
}

/**
 * Every loss of the model for one minibatch, differentiable with respect to the
 * parameters. `valid` false (a keypoint minibatch with too few visible keypoints) skips
 * the heads, as Detectron drops such minibatches.
 */
export function generalizedRcnnLosses(model: GeneralizedRCNN, batch: TrainBatch, rng: RandomSource): TrainOutput {
  const cfg = model.cfg;
  const device = model.device;
  const losses = new Map<string, Tensor>();
  const data = blob(batch, 'data', device);
  const src = model.features(data);
  data.dispose();
  let accuracyCls: Tensor | null = null;
  try {
    const outs = model.rpnOutputs(src);
    rpnLosses(model, outs, batch, losses);
    if (!cfg.MODEL.RPN_ONLY) {
      const imInfo = batch.blobs.im_info.data as Float32Array;
      const rois = trainProposals(model, outs, imInfo);
      const { blobs: labels } = generateProposalLabels(rois, batch.roidb, imInfo, cfg, rng);
      accuracyCls = boxLosses(model, src, labels, losses);
      if (cfg.MODEL.MASK_ON) maskLoss(model, src, labels, losses);
      if (cfg.MODEL.KEYPOINTS_ON) keypointLoss(model, src, labels, losses);
    }
    dispose(outs.map((o) => [o.clsLogits, o.bboxPred]));
  } catch (err) {
    dispose(losses);
    accuracyCls?.dispose();
    throw err;
  } finally {
    dispose(src.features);
  }
  return { losses, accuracyCls };
}
