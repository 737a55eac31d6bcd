/**
 * Layers and losses as functions of tensors. The losses follow Detectron's Caffe2
 * operators (SigmoidCrossEntropyLoss, SoftmaxWithLoss, SmoothL1Loss, SigmoidFocalLoss), so
 * their values and normalisations are Detectron's; autograd derives their gradients.
 */
import { native } from './native';
import { tidy } from './scope';
import { arange, Tensor } from './tensor';

type Pair = number | [number, number];

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.conv2d(x.handle, weight.handle, bias?.handle ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0),
      pair(o.dilation ?? 1), o.groups ?? 1),
  );
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

export function convTranspose2d(
  x: Tensor, weight: Tensor, bias: Tensor | null = null, o: ConvTranspose2dOptions = {},
): Tensor {
  return new Tensor(
    native.convTranspose2d(x.handle, weight.handle, bias?.handle ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0),
      pair(o.outputPadding ?? 0), o.groups ?? 1, pair(o.dilation ?? 1)),
  );
}

/** x · weightᵀ + bias, weight out×in as Detectron's FC blobs. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return new Tensor(native.linear(x.handle, weight.handle, bias?.handle ?? null));
}

export function relu(x: Tensor): Tensor {
  return x.relu();
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}

export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export function maxPool2d(x: Tensor, kernel: Pair, o: PoolOptions = {}): Tensor {
  return new Tensor(
    native.maxPool2d(x.handle, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), [1, 1], o.ceilMode ?? false),
  );
}

export function avgPool2d(x: Tensor, kernel: Pair, o: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  return new Tensor(
    native.avgPool2d(x.handle, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), o.ceilMode ?? false,
      o.countIncludePad ?? true),
  );
}

/** Nearest-neighbour upsampling to an explicit [height, width]. */
export function upsampleNearest(x: Tensor, size: [number, number]): Tensor {
  return new Tensor(native.upsampleNearest2d(x.handle, size));
}

export function upsampleBilinear(x: Tensor, size: [number, number], alignCorners = false): Tensor {
  return new Tensor(native.upsampleBilinear2d(x.handle, size, alignCorners));
}

export function groupNorm(x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(native.groupNorm(x.handle, groups, weight?.handle ?? null, bias?.handle ?? null, eps));
}

/** Caffe2's AffineChannel: y = x · scale[c] + bias[c] (Detectron's frozen batch norm). */
export function affineChannel(x: Tensor, scale: Tensor, bias: Tensor): Tensor {
  return tidy(() => {
    const c = scale.numel;
    // bias + x·scale in one pass; rounds exactly like (x·scale) + bias.
    return bias.reshape(1, c, 1, 1).addcmul(x, scale.reshape(1, c, 1, 1));
  });
}

export type Reduction = 'none' | 'mean' | 'sum';

export function bceWithLogits(logits: Tensor, targets: Tensor, weight: Tensor | null = null, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(native.bceWithLogits(logits.handle, targets.handle, weight?.handle ?? null, reduction));
}

/** Negative log-likelihood of int64 `targets` under log-probabilities (class dim 1). */
export function nllLoss(
  logProbs: Tensor, targets: Tensor, o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {},
): Tensor {
  return new Tensor(
    native.nllLoss(logProbs.handle, targets.handle, o.weight?.handle ?? null, o.reduction ?? 'mean', o.ignoreIndex ?? -100),
  );
}

/**
 * Detectron's SigmoidCrossEntropyLoss: labels 0/1 with -1 ignored; the summed loss is
 * divided by the count of valid entries (floored at 1e-5, as the Caffe2 op does) when
 * `normalize`, and left as a sum otherwise; then multiplied by `scale`.
 */
export function sigmoidCrossEntropyLoss(
  logits: Tensor, labels: Tensor, o: { normalize?: boolean; scale?: number } = {},
): Tensor {
  return tidy(() => {
    const valid = labels.ne(-1).to(logits.dtype);
    const targets = labels.clamp(0, null).to(logits.dtype);
    const total = bceWithLogits(logits, targets, valid, 'sum');
    const normalizer = (o.normalize ?? true) ? Math.max(valid.sum().item(), 1e-5) : 1;
    return total.mul((o.scale ?? 1) / normalizer);
  });
}

/**
 * Detectron's SoftmaxWithLoss over class dim 1: mean of -log p(label) over the entries,
 * or, with per-entry `weight`, sum(weight · -log p) / sum(weight); times `scale`.
 * Entries labelled `ignoreIndex` count neither in the sum nor the normalizer.
 */
export function softmaxCrossEntropy(
  logits: Tensor, labels: Tensor, o: { weight?: Tensor; ignoreIndex?: number; scale?: number } = {},
): Tensor {
  return tidy(() => {
    const logp = logits.logSoftmax(1);
    const targets = labels.to('int64');
    const scale = o.scale ?? 1;
    if (o.weight === undefined) {
      return nllLoss(logp, targets, { reduction: 'mean', ignoreIndex: o.ignoreIndex ?? -100 }).mul(scale);
    }
    const perEntry = nllLoss(logp, targets, { reduction: 'none', ignoreIndex: o.ignoreIndex ?? -100 });
    const w = o.weight.to(logits.dtype).reshape(perEntry.shape);
    // Caffe2 gives 0 rather than NaN when every weight is 0.
    const total = w.sum().item();
    return perEntry.mul(w).sum().mul(total > 0 ? scale / total : 0);
  });
}

/**
 * Detectron's SmoothL1Loss: x = inside · (pred - target); 0.5·x²/beta where |x| < beta,
 * else |x| - 0.5·beta; times outside; summed and divided by `normalizer` (Caffe2 uses
 * the batch dimension of pred), times `scale`.
 */
export function smoothL1Loss(
  pred: Tensor, target: Tensor, insideWeights: Tensor, outsideWeights: Tensor,
  o: { beta: number; normalizer?: number; scale?: number },
): Tensor {
  return tidy(() => {
    const x = pred.sub(target).mul(insideWeights);
    const ax = x.abs();
    const small = ax.lt(o.beta);
    const quadratic = x.mul(x).mul(0.5 / o.beta);
    const linearPart = ax.sub(0.5 * o.beta);
    const loss = small.to(pred.dtype).mul(quadratic).add(small.logicalNot().to(pred.dtype).mul(linearPart));
    const normalizer = o.normalizer ?? pred.size(0);
    return loss.mul(outsideWeights).sum().mul((o.scale ?? 1) / normalizer);
  });
}

/**
 * Detectron's SigmoidFocalLoss (RetinaNet). `logits` N×(A·K)×H×W for K foreground
 * classes, `labels` N×A×H×W with 0 = background, k ≥ 1 = class k, -1 = ignore. Channel
 * a·K + j scores class j + 1 of anchor a. Sum over all terms divided by `normalizer`
 * (the foreground count), times `scale`.
 */
export function sigmoidFocalLoss(
  logits: Tensor, labels: Tensor, o: { numClasses: number; gamma: number; alpha: number; normalizer: number; scale?: number },
): Tensor {
  return tidy(() => {
    const [n, ak, h, w] = logits.shape;
    const k = o.numClasses;
    const a = ak / k;
    const x = logits.reshape(n, a, k, h, w);
    const classIds = arange(1, k + 1, 1, { device: labels.device }).reshape(1, 1, k, 1, 1);
    const lab = labels.to('int64').reshape(n, a, 1, h, w);
    const positive = lab.eq(classIds).to(logits.dtype);
    const negative = lab.ne(classIds).logicalAnd(lab.ne(-1)).to(logits.dtype);
    const p = x.sigmoid();
    // log(p), floored as Caffe2 does with FLT_MIN so that p = 0 gives a finite loss.
    const logP = p.clamp(1.1754943508222875e-38, null).log();
    const posTerm = p.neg().add(1).pow(o.gamma).mul(logP);
    // log(1 - p) computed stably from the logit: -x·[x≥0] - log(1 + exp(x - 2x·[x≥0])).
    const ge = x.ge(0).to(logits.dtype);
    const logOneMinusP = x.mul(ge).neg().sub(x.sub(x.mul(ge).mul(2)).exp().add(1).log());
    const negTerm = p.pow(o.gamma).mul(logOneMinusP);
    const total = positive.mul(posTerm).mul(o.alpha).add(negative.mul(negTerm).mul(1 - o.alpha)).sum();
    return total.mul(-(o.scale ?? 1) / o.normalizer);
  });
}
