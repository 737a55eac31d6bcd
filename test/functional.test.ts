import { arange, F, fromArray, ones, tensor, Tensor, zeros } from '../lib/nn';

const close = (t: Tensor, expected: number[], digits = 5) =>
  t.toNumbers().forEach((v, i) => expect(v).toBeCloseTo(expected[i], digits));

describe('layers', () => {
  const image = () => arange(0, 16, 1, { dtype: 'float64' }).reshape(1, 1, 4, 4);

  test('conv2d with stride, padding, dilation and groups', () => {
    const x = arange(0, 9, 1, { dtype: 'float32' }).reshape(1, 1, 3, 3);
    const w = ones([1, 1, 2, 2]);
    expect(F.conv2d(x, w).toNumbers()).toEqual([8, 12, 20, 24]);
    expect(F.conv2d(x, w, tensor([1]), { stride: 2, padding: 1 }).toNumbers()).toEqual([1, 4, 10, 25]);
    expect(F.conv2d(x, w, null, { dilation: 2 }).toNumbers()).toEqual([16]);
    const two = arange(0, 18, 1, { dtype: 'float32' }).reshape(1, 2, 3, 3);
    const grouped = F.conv2d(two, ones([2, 1, 1, 1]), null, { groups: 2 });
    expect(grouped.shape).toEqual([1, 2, 3, 3]);
    expect(grouped.toNumbers()).toEqual(two.toNumbers());
  });

  test('a conv weight of the wrong rank is a JS error carrying libtorch\'s message', () => {
    expect(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 3, 3]))).toThrow(/weight|dimension|4D|expected/i);
    expect(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3]))).toThrow(/channels|input/i);
  });

  test('conv_transpose2d doubles the resolution like Detectron\'s mask upsampler', () => {
    const x = ones([1, 1, 2, 2]);
    const y = F.convTranspose2d(x, ones([1, 1, 2, 2]), null, { stride: 2 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(y.sum().item()).toBe(16);
  });

  test('linear', () => {
    const y = F.linear(tensor([1, 2], [1, 2]), tensor([1, 0, 1, 1, 2, -1], [3, 2]), tensor([0, 1, 2]));
    expect(y.toNumbers()).toEqual([1, 4, 2]);
  });

  test('pooling', () => {
    expect(F.avgPool2d(image(), 2).toNumbers()).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(F.maxPool2d(image(), 3, { stride: 2, padding: 1, ceilMode: true }).toNumbers()).toEqual([
      5, 7, 7, 13, 15, 15, 13, 15, 15,
    ]);
  });

  test('upsampling', () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(F.upsampleNearest(x, [4, 4]).toNumbers().slice(0, 8)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    close(F.upsampleBilinear(x, [3, 3]), [1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0]);
  });

  test('group norm and affine channel', () => {
    const x = arange(0, 8, 1, { dtype: 'float32' }).reshape(1, 4, 1, 2);
    close(F.groupNorm(x, 2, null, null), [-1.34164, -0.44721, 0.44721, 1.34164, -1.34164, -0.44721, 0.44721, 1.34164]);
    const y = F.affineChannel(ones([1, 2, 1, 1]), tensor([2, 3]), tensor([1, -1]));
    expect(y.toNumbers()).toEqual([3, 2]);
  });

  test('softmax and log-softmax', () => {
    close(F.softmax(tensor([1, 2, 3], [1, 3]), 1), [0.09003, 0.24473, 0.66524]);
    close(F.logSoftmax(tensor([0, 0], [1, 2]), 1), [-Math.LN2, -Math.LN2]);
  });
});

describe("Detectron's losses", () => {
  test('SigmoidCrossEntropyLoss ignores -1 and normalises by the valid count', () => {
    const loss = F.sigmoidCrossEntropyLoss(tensor([0, 2, -1]), tensor([1, 0, -1], [3], { dtype: 'int32' }));
    // (log 2 + log(1 + e^2)) / 2
    expect(loss.item()).toBeCloseTo((Math.LN2 + Math.log(1 + Math.exp(2))) / 2, 5);
    // Unnormalised (FPN RPN levels): the plain sum times the scale.
    const summed = F.sigmoidCrossEntropyLoss(tensor([0, 0], [2, 1]), tensor([1, -1], [2, 1]), { normalize: false, scale: 0.5 });
    expect(summed.item()).toBeCloseTo(Math.LN2 * 0.5, 6);
  });

  test('SoftmaxWithLoss: mean, ignore label, per-entry weights', () => {
    const logits = tensor([1.0, 2.0, 0.5, 0.1, -1.0, 3.0, 2.0, 2.0, 2.0], [3, 3], { dtype: 'float64' });
    const labels = tensor([2, 0, 1], [3], { dtype: 'int64' });
    // Values from torch.nn.functional.cross_entropy (float64).
    expect(F.softmaxCrossEntropy(logits, labels).item()).toBeCloseTo(2.011251763912182, 12);
    const ignoring = F.softmaxCrossEntropy(logits, tensor([2, -1, 1], [3], { dtype: 'int64' }), { ignoreIndex: -1 });
    expect(ignoring.item()).toBeCloseTo(1.5314905363880273, 12);
    const weighted = F.softmaxCrossEntropy(logits, labels, { weight: tensor([1, 0, 2], [3], { dtype: 'float64' }) });
    expect(weighted.item()).toBeCloseTo(1.3871977871480548, 12);
  });

  test('SmoothL1Loss with beta, inside and outside weights', () => {
    const pred = tensor([0.5, 2, 1, 1], [2, 2]);
    const target = zeros([2, 2]);
    const inside = tensor([1, 1, 0, 1], [2, 2]);
    const outside = tensor([1, 1, 1, 2], [2, 2]);
    // 0.5·0.25 + (2 - 0.5) + 0 + 2·(0.5·1) = 2.625, divided by N = 2.
    expect(F.smoothL1Loss(pred, target, inside, outside, { beta: 1 }).item()).toBeCloseTo(1.3125, 6);
    // beta 1/9: every |x| ≥ 1/9, so all linear: (0.5-1/18) + (2-1/18) + 2·(1-1/18) = 4.2777...
    expect(F.smoothL1Loss(pred, target, inside, outside, { beta: 1 / 9, normalizer: 1 }).item()).toBeCloseTo(
      0.5 - 1 / 18 + (2 - 1 / 18) + 2 * (1 - 1 / 18),
      5,
    );
  });

  test('SigmoidFocalLoss matches a direct evaluation of Caffe2\'s formula', () => {
    // N=1, A=2 anchors, K=2 classes, H=1, W=2; channels a·K + j.
    const logits = fromArray(new Float64Array([0.3, -1.2, 2.0, 0.1, -0.5, 0.7, 1.5, -2.0]), [1, 4, 1, 2]);
    const labels = fromArray(new Int32Array([1, 0, 2, -1]), [1, 2, 1, 2]);
    const loss = F.sigmoidFocalLoss(logits, labels, { numClasses: 2, gamma: 2, alpha: 0.25, normalizer: 3 });
    // numpy evaluation of the operator's per-element formula.
    expect(loss.item()).toBeCloseTo(0.4931538296562272, 12);
  });

  test('losses are differentiable', () => {
    const x = tensor([0.5, -0.5]).requiresGrad_();
    F.sigmoidCrossEntropyLoss(x, tensor([1, 0], [2], { dtype: 'int32' })).backward();
    // d/dx of BCE = sigmoid(x) - t, divided by 2 valid entries.
    close(x.grad!, [(1 / (1 + Math.exp(-0.5)) - 1) / 2, 1 / (1 + Math.exp(0.5)) / 2]);
  });
});
