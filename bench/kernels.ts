/**
 * Prints how fast Detectron's kernels and a few reference libtorch operations run here:
 *  - RoIAlign forward, backward (raw kernel) and forward+backward through autograd, for
 *    512 RoIs on an FPN P2 level of an 800×1216 image (1×256×200×304, scale 1/4, 7×7,
 *    sampling ratio 2), in float32;
 *  - RoIPoolF forward+backward on the same inputs;
 *  - NMS on 12,000 boxes: RPN-like clustered proposals at 0.7, and spread-out boxes where
 *    almost nothing is suppressed (the quadratic worst case);
 *  - conv2d 256→256 3×3 (padding 1) on 1×256×200×304, in GFLOP/s;
 *  - the cost of one trivial op through the addon (a 1-element add, raw and via Tensor).
 * Medians of a few runs, all intra-op threads.
 *
 *   npx tsc -p . && node dist/bench/kernels.js
 */
import { F, fromArray, getThreads, randn, Tensor, tidy, zeros } from '../lib/nn';
import { native } from '../lib/nn/native';
import { nms, roiAlign, roiAlignBackward, roiPool, softNms } from '../lib/nn/detectron_ops';

/** Median wall time of `runs` calls after one warm-up, in milliseconds. */
function medianMs(runs: number, fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IMAGE_H = 800;
const IMAGE_W = 1216;

/** RoIs of the sizes FPN assigns to P2 (sides about 16..112 px), inside the image. */
function p2Rois(count: number, rand: () => number): Tensor {
  const data = new Float32Array(count * 5);
  for (let r = 0; r < count; r++) {
    const w = 16 + rand() * 96;
    const h = 16 + rand() * 96;
    const x1 = rand() * (IMAGE_W - w);
    const y1 = rand() * (IMAGE_H - h);
    data.set([0, x1, y1, x1 + w, y1 + h], r * 5);
  }
  return fromArray(data, [count, 5]);
}

/**
 * 12,000 scored boxes. Clustered: jittered copies of 400 objects, as RPN proposals are.
 * Spread: independent boxes, which rarely overlap by 0.7.
 */
function boxes(count: number, clustered: boolean, rand: () => number): Tensor {
  const data = new Float32Array(count * 5);
  const centres = Array.from({ length: 400 }, () => [rand() * IMAGE_W, rand() * IMAGE_H, 20 + rand() * 300]);
  for (let i = 0; i < count; i++) {
    let cx: number, cy: number, side: number;
    if (clustered) {
      const c = centres[i % centres.length];
      side = c[2] * (0.8 + rand() * 0.4);
      cx = c[0] + (rand() - 0.5) * side * 0.3;
      cy = c[1] + (rand() - 0.5) * side * 0.3;
    } else {
      side = 8 + rand() * 120;
      cx = rand() * IMAGE_W;
      cy = rand() * IMAGE_H;
    }
    const aspect = 0.5 + rand() * 1.5;
    const w = side * Math.sqrt(aspect);
    const h = side / Math.sqrt(aspect);
    data.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, rand()], i * 5);
  }
  return fromArray(data, [count, 5]);
}

function benchRoiOps(): void {
  tidy(() => {
    const rand = random(1);
    const features = randn([1, 256, 200, 304]);
    const rois = p2Rois(512, rand);
    const o = { pooledH: 7, pooledW: 7, spatialScale: 1 / 4, samplingRatio: 2 };
    const gradOut = randn([512, 256, 7, 7]);
    const fwd = medianMs(5, () => tidy(() => void roiAlign(features, rois, o)));
    const bwd = medianMs(5, () => tidy(() => void roiAlignBackward(gradOut, rois, features.shape, o)));
    const leaf = features.clone().requiresGrad_();
    const both = medianMs(5, () =>
      tidy(() => {
        roiAlign(leaf, rois, o).mul(gradOut).sum().backward();
        leaf.zeroGrad();
      }),
    );
    console.log('RoIAlign 512 RoIs, 1x256x200x304, 7x7, scale 1/4, sampling 2 (float32)');
    console.log(`  forward                    ${fwd.toFixed(1).padStart(8)} ms`);
    console.log(`  backward (raw kernel)      ${bwd.toFixed(1).padStart(8)} ms`);
    console.log(`  forward+backward autograd  ${both.toFixed(1).padStart(8)} ms  (includes the x grad_output product and sum)`);
    const pool = medianMs(5, () =>
      tidy(() => {
        roiPool(leaf, rois, o).mul(gradOut).sum().backward();
        leaf.zeroGrad();
      }),
    );
    console.log(`RoIPoolF same inputs, forward+backward autograd ${pool.toFixed(1)} ms`);
  });
}

function benchNms(): void {
  tidy(() => {
    const rand = random(2);
    for (const clustered of [true, false]) {
      const dets = boxes(12000, clustered, rand);
      let kept = 0;
      const ms = medianMs(7, () =>
        tidy(() => {
          kept = nms(dets, 0.7).shape[0];
        }),
      );
      const what = clustered ? 'clustered (RPN-like)' : 'spread (few suppressed)';
      console.log(`NMS 12,000 boxes, thresh 0.7, ${what.padEnd(24)} ${ms.toFixed(2).padStart(7)} ms, kept ${kept}`);
    }
    const dets = boxes(2000, true, rand);
    const soft = medianMs(5, () => tidy(() => void softNms(dets, { method: 'linear', overlapThresh: 0.3 })));
    console.log(`soft-NMS (linear) 2,000 clustered boxes            ${soft.toFixed(2).padStart(7)} ms`);
  });
}

function benchConv(): void {
  tidy(() => {
    const x = randn([1, 256, 200, 304]);
    const w = randn([256, 256, 3, 3]).mul(0.01);
    const ms = medianMs(3, () => tidy(() => void F.conv2d(x, w, null, { padding: 1 })));
    const flops = 2 * 256 * 256 * 9 * 200 * 304;
    console.log(
      `conv2d 256->256 3x3 on 1x256x200x304: ${ms.toFixed(0)} ms, ${(flops / ms / 1e6).toFixed(1)} GFLOP/s`,
    );
  });
}

function benchCallOverhead(): void {
  const calls = 100000;
  const one = zeros([1]);
  const perCall = (fn: () => void) => (medianMs(3, () => {
    for (let i = 0; i < calls; i++) fn();
  }) * 1000) / calls;
  const raw = perCall(() => native.add(one.handle, 1).dispose());
  const wrapped = perCall(() => one.add(1).dispose());
  const query = perCall(() => void native.isContiguous(one.handle));
  console.log(`addon call overhead: 1-element add ${raw.toFixed(2)} us/call raw, ${wrapped.toFixed(2)} us via Tensor;` +
    ` a query with no tensor op (isContiguous) ${query.toFixed(2)} us`);
  one.dispose();
}

export function main(): void {
  console.log(`threads: ${getThreads()}`);
  benchRoiOps();
  benchNms();
  benchConv();
  benchCallOverhead();
}

if (require.main === module) main();
