/**
 * GPU figures for R-50-FPN Mask R-CNN at Detectron's scales (TRAIN.SCALES (800,), MAX_SIZE
 * 1333; TEST.SCALE 800): training throughput in images/s and inference latency per image, in
 * float32 and in mixed precision, with the CUDA caching allocator's peak memory. Weights come
 * from make_detectron_pkl.py (the heaviest case at test time: 100 detections per image).
 * Anchors: maskrcnn-benchmark ≈ 4.4 img/s training per V100; NVIDIA's optimised version ≈ 24
 * img/s per A100 with AMP.
 *
 *   npx tsc -p . && node dist/bench/gpu.js [--device cuda] [--amp fp16|bf16] [--steps 20] [--bs 2] [--images 5]
 *
 * Needs a libtorch with CUDA (the build links our CUDA kernels then); see ../shared/gpu/README.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import { detectImage } from '../lib/core/detect';
import { initializeModelFromCfg } from '../lib/core/test_engine';
import { trainModel } from '../lib/core/train';
import { parseAmpDType, type AmpDType } from '../lib/nn/amp';
import { cudaMemory, resetCudaPeakMemory, setCudnnBenchmark } from '../lib/nn/runtime';
import { native } from '../lib/nn/native';
import { imread } from '../lib/utils/image_io';
import { argNumber, argString, FIXTURES, generatedWeights, ROOT } from './common';

const CFG = 'e2e_mask_rcnn_R-50-FPN_1x.yaml';
const ARCH = 'e2e_mask_rcnn_R-50-FPN';
const MiB = 2 ** 20;

function deviceIndex(device: string): number {
  return device === 'cuda' ? 0 : Number(device.slice('cuda:'.length));
}

/** Steady-state seconds per step: the steps after `warm`, from the per-iteration times Detectron logs (running means). */
function steadyStepSeconds(dir: string, warm: number): number {
  const stats = fs.readFileSync(path.join(dir, 'training_stats.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { iter: number; time: number | string });
  const at = (i: number): number => Number(stats[i].time) * (stats[i].iter + 1);
  const last = stats.length - 1;
  const first = Math.min(warm, last - 1);
  return (at(last) - at(first)) / (stats[last].iter - stats[first].iter);
}

async function train(device: string, amp: AmpDType | undefined, steps: number, bs: number): Promise<void> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gpu-'));
  resetCudaPeakMemory(deviceIndex(device));
  try {
    await trainModel({
      cfg: path.join(FIXTURES, 'configs/detectron/12_2017_baselines', CFG),
      datasets: [path.join(FIXTURES, 'coco/annotations/instances_mini.json')], imageDir: path.join(FIXTURES, 'coco/images'),
      overrides: ['TRAIN.SCALES', '(800,)', 'TRAIN.MAX_SIZE', '1333', 'SOLVER.WARM_UP_ITERS', '0'],
      batchSize: bs, lr: 0.0002, epochs: Math.ceil((steps * bs) / 5) + 1, maxSteps: steps,
      loadDetectron: generatedWeights(ARCH), outputDir: out, seed: 7, dispInterval: 1, device, amp, log: () => {},
    });
    const s = steadyStepSeconds(out, 3);
    const mem = cudaMemory(deviceIndex(device));
    console.log(`  training ${amp ?? 'float32'}: ${s.toFixed(3)} s/step at batch ${bs} = ${(bs / s).toFixed(2)} images/s, ` +
      `peak GPU memory ${(mem.peakAllocated / MiB).toFixed(0)} MiB`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

async function infer(device: string, amp: AmpDType | undefined, count: number): Promise<void> {
  const cfg = loadConfig(path.join(ROOT, 'configs/12_2017_baselines', CFG));
  const model = initializeModelFromCfg(cfg, generatedWeights(ARCH), { device });
  model.mixedPrecision = amp ?? null;
  const dir = path.join(ROOT, 'demo');
  const images = await Promise.all(fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, count)
    .map((f) => imread(path.join(dir, f))));
  detectImage(model, images[0]); // cuDNN autotuning and allocator warm-up
  resetCudaPeakMemory(deviceIndex(device));
  const start = process.hrtime.bigint();
  // Every image's detections are read back to the host (item()/data()), so the time includes the GPU work.
  for (const im of images) detectImage(model, im);
  const perImage = Number(process.hrtime.bigint() - start) / 1e6 / images.length;
  const mem = cudaMemory(deviceIndex(device));
  model.dispose();
  console.log(`  inference ${amp ?? 'float32'}: ${perImage.toFixed(1)} ms per image over ${images.length} demo images, ` +
    `peak GPU memory ${(mem.peakAllocated / MiB).toFixed(0)} MiB`);
}

async function main(): Promise<void> {
  const device = argString('--device', 'cuda');
  const info = native.info();
  if (!info.cuda || !info.kernelsCuda) {
    throw new Error(`bench/gpu needs a CUDA libtorch and the addon built with our CUDA kernels (libtorch cuda: ${info.cuda}, ` +
      `kernels: ${info.kernelsCuda}); see ../shared/gpu/README.md`);
  }
  const amp = parseAmpDType(argString('--amp', 'fp16'));
  const steps = argNumber('--steps', 20);
  const bs = argNumber('--bs', 2);
  const images = argNumber('--images', 5);
  setCudnnBenchmark(true);
  console.log(`R-50-FPN Mask R-CNN on ${device} (${info.cudaDevices} CUDA device(s)), libtorch ${info.torchVersion}`);
  for (const mode of [undefined, amp]) {
    await train(device, mode, steps, bs);
    await infer(device, mode, images);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
