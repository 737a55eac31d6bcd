/**
 * The training forward pass of RetinaNet: Detectron's add_fpn_retinanet_losses
 * (modeling/retinanet_heads.py) with its Caffe2 operators SelectSmoothL1Loss, SigmoidFocalLoss
 * and SoftmaxFocalLoss (modules/detectron/*_op.cu), normalised as they normalise. The minibatch
 * carries roi_data/retinanet.ts's blobs; there is no proposal stage. Autograd derives the
 * gradients, which equal the operators' hand-written gradient kernels.
 */
import * as F from '../nn/functional';
import { dispose, tidy } from '../nn/scope';
import { fromArray, Tensor, zeros } from '../nn/tensor';
import type { TrainBatch, TrainOutput } from './rcnn_losses';
import type { RetinaNet } from './retinanet';
import type { RetinaNetLevelOutput } from './retinanet_heads';

/** Caffe2's FLT_MIN floor under log(p). */
const FLT_MIN = 1.1754943508222875e-38;

export interface RetinaNetTrainOutput extends TrainOutput {
  /** Detectron's AddMetrics(['retnet_fg_num', 'retnet_bg_num']). */
  metrics: Record<string, number>;
}

/** The operators' normaliser: max(fg_num, 1). */
function normalizerOf(fgNum: number): number {
  return Math.max(fgNum, 1);
}

/**
 * Caffe2's SelectSmoothL1Loss. `pred` N×D×H×W box deltas; `targets` M×4 and `locs` M×4
 * [n, c, y, x] (row-major): row i compares pred[n, c + j, y, x] with targets[i, j], j < 4.
 * Sum of 0.5·d²/beta (|d| < beta) or |d| - 0.5·beta, divided by max(normalizer, 1), times
 * `scale`; 0 when M = 0.
 *
 * Locations outside pred (a field-of-anchors cell past the level's output: the op would
 * index another channel or image there) are left out.
 */
export function selectSmoothL1Loss(
  pred: Tensor, targets: ArrayLike<number>, locs: ArrayLike<number>,
  o: { beta: number; normalizer: number; scale?: number },
): Tensor {
  if (pred.ndim !== 4) throw new Error(`SelectSmoothL1Loss: pred must be N×D×H×W, got [${pred.shape.join(', ')}]`);
  if (targets.length !== locs.length || targets.length % 4 !== 0) {
    throw new Error(`SelectSmoothL1Loss: ${targets.length / 4} targets for ${locs.length / 4} locations`);
  }
  const [n, d, h, w] = pred.shape;
  const index: number[] = [];
  const kept: number[] = [];
  for (let i = 0; i < locs.length; i += 4) {
    const im = Math.trunc(locs[i]);
    const c = Math.trunc(locs[i + 1]);
    const y = Math.trunc(locs[i + 2]);
    const x = Math.trunc(locs[i + 3]);
    if (im < 0 || im >= n || c < 0 || c + 4 > d || y < 0 || y >= h || x < 0 || x >= w) continue;
    for (let j = 0; j < 4; j++) {
      index.push(((im * d + c + j) * h + y) * w + x);
      kept.push(targets[i + j]);
    }
  }
  if (index.length === 0) return zeros([], { dtype: pred.dtype, device: pred.device });
  return tidy(() => {
    const idx = fromArray(BigInt64Array.from(index, BigInt), [index.length], { dtype: 'int64', device: pred.device });
    const y = fromArray(Float32Array.from(kept), [kept.length], { device: pred.device }).to(pred.dtype);
    const diff = pred.reshape(-1).indexSelect(0, idx).sub(y);
    const ad = diff.abs();
    const small = ad.lt(o.beta).to(pred.dtype);
    const loss = small.mul(diff.mul(diff).mul(0.5 / o.beta)).add(small.neg().add(1).mul(ad.sub(0.5 * o.beta)));
    return loss.sum().mul((o.scale ?? 1) / normalizerOf(o.normalizer));
  });
}

/**
 * Caffe2's SoftmaxFocalLoss. `logits` N×(A·C)×H×W (channel a·C + c: class c of anchor a,
 * c = 0 background), `labels` N×A×H×W (-1 ignored). Per anchor with label l ≥ 0 and softmax
 * probability p of class l: -(1 - p)^gamma · log(max(p, FLT_MIN)), weighted 1 - alpha for
 * l = 0 and alpha for l ≥ 1; summed, divided by max(normalizer, 1), times `scale`.
 */
export function softmaxFocalLoss(
  logits: Tensor, labels: Tensor, o: { numClasses: number; gamma: number; alpha: number; normalizer: number; scale?: number },
): Tensor {
  return tidy(() => {
    const [n, ac, h, w] = logits.shape;
    const c = o.numClasses;
    if (ac % c !== 0) throw new Error(`SoftmaxFocalLoss: ${ac} channels are not a multiple of ${c} classes`);
    const a = ac / c;
    const probs = logits.reshape(n, a, c, h, w).softmax(2);
    const lab = labels.to('int64').reshape(n, a, 1, h, w);
    const p = probs.gather(2, lab.clamp(0, null)).squeeze(2);
    const l = lab.squeeze(2);
    const weight = l.eq(0).to(logits.dtype).mul(1 - o.alpha).add(l.ge(1).to(logits.dtype).mul(o.alpha));
    const term = p.neg().add(1).pow(o.gamma).mul(p.clamp(FLT_MIN, null).log());
    return term.mul(weight).sum().mul(-(o.scale ?? 1) / normalizerOf(o.normalizer));
  });
}

function blobArray(batch: TrainBatch, name: string): ArrayLike<number> {
  const b = batch.blobs[name];
  if (b === undefined) throw new Error(`training minibatch has no '${name}' blob`);
  return b.data as ArrayLike<number>;
}

/**
 * The level's labels (N×A×h×w int32) at the logits' size: Detectron crops them in roi_data to
 * the padded input's feature size, which is the output's with a COARSEST_STRIDE-padded input.
 */
function levelLabels(batch: TrainBatch, level: number, like: Tensor, a: number): Tensor {
  const name = `retnet_cls_labels_fpn${level}`;
  const b = batch.blobs[name];
  if (b === undefined) throw new Error(`training minibatch has no '${name}' blob`);
  const [n, , h, w] = like.shape;
  const [bn, ba, bh, bw] = b.shape;
  if (bn !== n || ba !== a || bh < h || bw < w) {
    throw new Error(`${name} is [${b.shape.join(', ')}] but level ${level} predicts ${n}×${a}×${h}×${w} ` +
      '(the input must be padded to FPN.COARSEST_STRIDE = 2^RPN_MAX_LEVEL)');
  }
  const t = fromArray(b.data, b.shape, { dtype: b.dtype, device: like.device });
  return bh === h && bw === w ? t : t.narrow(2, 0, h).narrow(3, 0, w);
}

/**
 * Every RetinaNet loss for one minibatch, differentiable with respect to the parameters:
 * `retnet_loss_bbox_fpn{lvl}` (SelectSmoothL1Loss, beta BBOX_REG_BETA, scale
 * BBOX_REG_WEIGHT / NUM_GPUS) for each level, then `fl_fpn{lvl}` (sigmoid or softmax focal
 * loss, scale 1 / NUM_GPUS), all normalised by retnet_fg_num.
 */
export function retinanetLosses(model: RetinaNet, batch: TrainBatch): RetinaNetTrainOutput {
  const cfg = model.cfg;
  const r = cfg.RETINANET;
  const device = model.device;
  const scale = 1 / cfg.NUM_GPUS;
  const fgNum = blobArray(batch, 'retnet_fg_num')[0];
  const bgNum = blobArray(batch, 'retnet_bg_num')[0];
  const data = batch.blobs.data;
  if (data === undefined) throw new Error("training minibatch has no 'data' blob");
  const input = fromArray(data.data, data.shape, { dtype: data.dtype, device });
  const losses = new Map<string, Tensor>();
  let outs: RetinaNetLevelOutput[];
  try {
    outs = model.forward(input);
  } finally {
    input.dispose();
  }
  try {
    for (const out of outs) {
      tidy(() => {
        const loss = selectSmoothL1Loss(out.bboxPred, blobArray(batch, `retnet_roi_bbox_targets_fpn${out.level}`),
          blobArray(batch, `retnet_roi_fg_bbox_locs_fpn${out.level}`), {
            beta: r.BBOX_REG_BETA, normalizer: fgNum, scale: scale * r.BBOX_REG_WEIGHT,
          });
        losses.set(`retnet_loss_bbox_fpn${out.level}`, loss);
        return loss;
      });
    }
    const numClasses = r.SOFTMAX ? cfg.MODEL.NUM_CLASSES : cfg.MODEL.NUM_CLASSES - 1;
    for (const out of outs) {
      tidy(() => {
        const a = out.clsLogits.size(1) / numClasses;
        const labels = levelLabels(batch, out.level, out.clsLogits, a);
        const o = { numClasses, gamma: r.LOSS_GAMMA, alpha: r.LOSS_ALPHA, normalizer: normalizerOf(fgNum), scale };
        const loss = r.SOFTMAX ? softmaxFocalLoss(out.clsLogits, labels, o) : F.sigmoidFocalLoss(out.clsLogits, labels, o);
        losses.set(`fl_fpn${out.level}`, loss);
        return loss;
      });
    }
  } catch (err) {
    dispose(losses);
    throw err;
  } finally {
    dispose(outs.map((o) => [o.clsLogits, o.bboxPred]));
  }
  return { losses, accuracyCls: null, metrics: { retnet_fg_num: fgNum, retnet_bg_num: bgNum } };
}
