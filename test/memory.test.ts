/**
 * libtorch memory is invisible to V8's GC, so a training loop must release its tensors
 * deterministically. 1,000 forward+backward+update steps of a small conv net inside
 * tidy() must leave resident memory flat.
 */
import { F, keep, noGrad, randn, tidy, Tensor, zeros } from '../lib/nn';

function step(x: Tensor, w1: Tensor, w2: Tensor, b2: Tensor): number {
  return tidy(() => {
    const h = F.conv2d(x, w1, null, { padding: 1 }).relu();
    const y = F.conv2d(h, w2, b2, { padding: 1, stride: 2 });
    const loss = y.mul(y).mean();
    loss.backward();
    noGrad(() => {
      for (const p of [w1, w2, b2]) {
        const g = p.grad!;
        p.add_(g, -1e-3);
        p.zeroGrad();
      }
    });
    return loss.item();
  });
}

test('1,000 training steps inside tidy() keep resident memory flat', () => {
  const x = keep(randn([2, 3, 32, 32]));
  const w1 = keep(randn([8, 3, 3, 3]).mul(0.1).requiresGrad_());
  const w2 = keep(randn([8, 8, 3, 3]).mul(0.1).requiresGrad_());
  const b2 = keep(zeros([8]).requiresGrad_());
  const losses: number[] = [];
  for (let i = 0; i < 100; i++) losses.push(step(x, w1, w2, b2)); // warm up allocator caches
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 1000; i++) losses.push(step(x, w1, w2, b2));
  const grown = process.memoryUsage().rss - before;
  // Each step allocates ~250 KB of tensors; leaking them would grow RSS by ~250 MB.
  expect(grown).toBeLessThan(16 * 1024 * 1024);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
  for (const t of [x, w1, w2, b2]) t.dispose();
});
