import { arange, cat, fromArray, full, manualSeed, ones, randn, stack, tensor, Tensor, tidy, where, zeros } from '../lib/nn';
import { noGrad, inferenceMode, isGradEnabled } from '../lib/nn/autograd';

function values(t: Tensor): number[] {
  return t.toNumbers();
}

describe('tensor creation and conversion', () => {
  test('fromArray shares the typed array memory on CPU unless asked to copy', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const shared = fromArray(data, [2, 3]);
    const copied = fromArray(data, [2, 3], { copy: true });
    data[0] = 42;
    expect(shared.shape).toEqual([2, 3]);
    expect(values(shared)).toEqual([42, 2, 3, 4, 5, 6]);
    expect(values(copied)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('the copy-free tensor keeps its buffer alive after the array is dropped', () => {
    let t = fromArray(new Float64Array(1000).fill(0.5), [10, 100]);
    for (let i = 0; i < 3; i++) {
      new Float64Array(1_000_000).fill(7); // churn the heap
    }
    global.gc?.();
    expect(t.sum().item()).toBe(500);
    t = t.mul(2);
    expect(t.sum().item()).toBe(1000);
  });

  test('every dtype round-trips through typed arrays', () => {
    expect(fromArray(new Int32Array([-1, 2]), [2]).data()).toEqual(new Int32Array([-1, 2]));
    expect(Array.from(fromArray(new BigInt64Array([-5n, 9007199254740993n])).data() as BigInt64Array)).toEqual([
      -5n,
      9007199254740993n,
    ]);
    expect(fromArray(new Uint8Array([0, 255])).data()).toEqual(new Uint8Array([0, 255]));
    const b = tensor([0, 3, 0], [3], { dtype: 'bool' });
    expect(b.dtype).toBe('bool');
    expect(b.data()).toEqual(new Uint8Array([0, 1, 0]));
    expect(tensor([1.5, 2.5], [2], { dtype: 'float64' }).to('int64').toNumbers()).toEqual([1, 2]);
  });

  test('a shape that does not match the data is refused', () => {
    expect(() => fromArray(new Float32Array(5), [2, 3])).toThrow('5 values cannot fill shape [2, 3]');
  });

  test('creation functions', () => {
    expect(values(zeros([2, 2]))).toEqual([0, 0, 0, 0]);
    expect(values(ones([3], { dtype: 'int32' }))).toEqual([1, 1, 1]);
    expect(values(full([2], 7.5))).toEqual([7.5, 7.5]);
    expect(values(arange(0, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(arange(0, 5).dtype).toBe('int64');
    expect(values(arange(0, 1, 0.25, { dtype: 'float32' }))).toEqual([0, 0.25, 0.5, 0.75]);
  });

  test('seeded random numbers repeat', () => {
    manualSeed(3);
    const a = randn([5]).toNumbers();
    manualSeed(3);
    const b = randn([5]).toNumbers();
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(5);
  });

  test('devices: unknown names are refused, and CUDA without CUDA gives libtorch\'s error', () => {
    expect(() => zeros([1], { device: 'gpu' })).toThrow("unknown device 'gpu'");
    expect(() => zeros([1], { device: 'cuda:0' })).toThrow(/CUDA|cuda/);
  });
});

describe('shape and indexing ops', () => {
  const x = () => fromArray(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);

  test('reshape, permute, transpose, narrow, select, slice', () => {
    expect(x().reshape(6, 4).shape).toEqual([6, 4]);
    expect(x().permute(2, 0, 1).shape).toEqual([4, 2, 3]);
    expect(values(x().permute(2, 0, 1).contiguous().reshape(-1)).slice(0, 6)).toEqual([0, 4, 8, 12, 16, 20]);
    expect(values(x().transpose(0, 2).select(0, 1).reshape(-1))).toEqual([1, 13, 5, 17, 9, 21]);
    expect(values(x().narrow(2, 1, 2).select(0, 0).reshape(-1))).toEqual([1, 2, 5, 6, 9, 10]);
    expect(values(x().reshape(-1).slice(0, 3, 12, 4))).toEqual([3, 7, 11]);
    expect(x().flatten(1).shape).toEqual([2, 12]);
    expect(x().unsqueeze(0).shape).toEqual([1, 2, 3, 4]);
    expect(x().unsqueeze(0).squeeze(0).shape).toEqual([2, 3, 4]);
  });

  test('cat, stack, split', () => {
    const a = tensor([1, 2]);
    const b = tensor([3, 4]);
    expect(values(cat([a, b]))).toEqual([1, 2, 3, 4]);
    expect(stack([a, b], 1).shape).toEqual([2, 2]);
    expect(values(stack([a, b], 1).reshape(-1))).toEqual([1, 3, 2, 4]);
    const parts = tensor([1, 2, 3, 4, 5]).split([2, 3]);
    expect(parts.map(values)).toEqual([[1, 2], [3, 4, 5]]);
    expect(tensor([1, 2, 3, 4, 5]).split(2).map(values)).toEqual([[1, 2], [3, 4], [5]]);
  });

  test('indexSelect, gather, scatter, maskedSelect, nonzero, where, index', () => {
    const t = tensor([10, 20, 30, 40]);
    const idx = tensor([3, 0], [2], { dtype: 'int64' });
    expect(values(t.indexSelect(0, idx))).toEqual([40, 10]);
    const m = tensor([1, 2, 3, 4], [2, 2]);
    expect(values(m.gather(1, tensor([1, 0, 0, 0], [2, 2], { dtype: 'int64' })))).toEqual([2, 1, 3, 3]);
    expect(values(zeros([4]).scatter(0, idx, tensor([7, 8])))).toEqual([8, 0, 0, 7]);
    expect(values(zeros([2]).scatterAdd(0, tensor([1, 1, 0], [3], { dtype: 'int64' }), tensor([1, 2, 5])))).toEqual([5, 3]);
    expect(values(t.maskedSelect(t.gt(15).logicalAnd(t.lt(35))))).toEqual([20, 30]);
    expect(values(t.maskedFill(t.ge(30), -1))).toEqual([10, 20, -1, -1]);
    expect(values(t.gt(15).nonzero().reshape(-1))).toEqual([1, 2, 3]);
    expect(values(where(t.gt(25), t, zeros([4])))).toEqual([0, 0, 30, 40]);
    expect(values(m.index(tensor([1, 1, 0], [3], { dtype: 'int64' })).reshape(-1))).toEqual([3, 4, 3, 4, 1, 2]);
    expect(values(m.index(null, tensor([1], [1], { dtype: 'int64' })).reshape(-1))).toEqual([2, 4]);
    expect(values(t.indexPut([idx], tensor([1, 2]), true))).toEqual([12, 20, 30, 41]);
  });

  test('bad indices give libtorch errors, not crashes', () => {
    const t = tensor([1, 2, 3]);
    expect(() => t.indexSelect(0, tensor([5], [1], { dtype: 'int64' }))).toThrow(/out of range|index/i);
    expect(() => t.reshape(2, 2)).toThrow(/shape '\[2, 2\]' is invalid for input of size 3/);
    expect(() => t.matmul(tensor([1, 2]))).toThrow(/size|shape|inconsistent/i);
    expect(() => t.indexSelect(0, tensor([0], [1], { dtype: 'float32' }))).toThrow(/Long|Int|dtype|index/i);
  });
});

describe('math, reductions and sorting', () => {
  test('elementwise math and comparisons', () => {
    const t = tensor([1, 4, 9]);
    expect(values(t.sqrt())).toEqual([1, 2, 3]);
    expect(values(t.add(1).mul(2).sub(tensor([0, 1, 2])).div(2))).toEqual([2, 4.5, 9]);
    expect(values(t.pow(0.5))).toEqual([1, 2, 3]);
    expect(values(t.clamp(2, 5))).toEqual([2, 4, 5]);
    expect(values(t.log().exp()).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([1, 4, 9]);
    expect(values(tensor([-1, 0, 2]).relu())).toEqual([0, 0, 2]);
    expect(values(tensor([0]).sigmoid())).toEqual([0.5]);
    expect(values(tensor([0.5, 1.5, 2.5, -0.5]).round())).toEqual([0, 2, 2, -0]);
    expect(values(t.eq(4))).toEqual([0, 1, 0]);
    expect(values(t.maximum(tensor([2, 2, 20])))).toEqual([2, 4, 20]);
    expect(values(arange(0, 4).div(2))).toEqual([0, 0.5, 1, 1.5]);
  });

  test('reductions', () => {
    const m = tensor([1, 5, 3, 2, 8, 0], [2, 3]);
    expect(m.sum().item()).toBe(19);
    expect(values(m.sum(1))).toEqual([9, 10]);
    expect(m.sum(0, true).shape).toEqual([1, 3]);
    expect(values(m.mean(0))).toEqual([1.5, 6.5, 1.5]);
    expect(m.amax().item()).toBe(8);
    const { values: mv, indices } = m.max(1);
    expect(values(mv)).toEqual([5, 8]);
    expect(values(indices)).toEqual([1, 1]);
    expect(values(m.argmax(0))).toEqual([1, 1, 0]);
    expect(values(tensor([1, 2, 3]).cumsum(0))).toEqual([1, 3, 6]);
  });

  test('sort (stable keeps equal elements in order), argsort, topk', () => {
    const t = tensor([3, 1, 3, 2, 3]);
    expect(values(t.argsort(0, true, true))).toEqual([0, 2, 4, 3, 1]);
    const s = t.sort(0, false, true);
    expect(values(s.values)).toEqual([1, 2, 3, 3, 3]);
    expect(values(s.indices)).toEqual([1, 3, 0, 2, 4]);
    const k = tensor([5, 9, 1, 7]).topk(2);
    expect(values(k.values)).toEqual([9, 7]);
    expect(values(k.indices)).toEqual([1, 3]);
  });
});

describe('autograd', () => {
  test('gradients of a composite function', () => {
    const x = tensor([1, 2, 3]).requiresGrad_();
    const y = x.mul(x).sum(); // dy/dx = 2x
    y.backward();
    expect(values(x.grad!)).toEqual([2, 4, 6]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
  });

  test('noGrad records nothing and restores the mode', () => {
    const x = tensor([1, 2]).requiresGrad_();
    const y = noGrad(() => x.mul(3));
    expect(y.requiresGrad).toBe(false);
    expect(isGradEnabled()).toBe(true);
    const z = inferenceMode(() => x.mul(3));
    expect(values(z)).toEqual([3, 6]);
    expect(isGradEnabled()).toBe(true);
  });

  test('backward of a non-scalar without a gradient is a JS error', () => {
    const x = tensor([1, 2]).requiresGrad_();
    expect(() => x.mul(2).backward()).toThrow(/scalar/);
  });
});

describe('scopes', () => {
  test('tidy disposes what it does not return', () => {
    let inner: Tensor | undefined;
    const out = tidy(() => {
      inner = ones([2]).mul(2);
      return { result: inner.add(1), list: [inner.mul(0)] };
    });
    expect(inner!.isDisposed).toBe(true);
    expect(values(out.result)).toEqual([3, 3]);
    expect(values(out.list[0])).toEqual([0, 0]);
  });

  test('tidy disposes everything when the function throws', () => {
    let made: Tensor | undefined;
    expect(() =>
      tidy(() => {
        made = ones([2]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(made!.isDisposed).toBe(true);
    expect(() => made!.sum()).toThrow('disposed');
  });

  test('returned tensors move to the enclosing scope', () => {
    let middle: Tensor | undefined;
    tidy(() => {
      middle = tidy(() => ones([1]).add(1));
      expect(middle.isDisposed).toBe(false);
    });
    expect(middle!.isDisposed).toBe(true);
  });
});
