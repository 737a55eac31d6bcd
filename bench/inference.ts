/**
 * Inference wall time per image on CPU at TEST.SCALE 800 on the demo photographs, with the
 * per-stage split and peak memory: R-50-FPN Mask R-CNN and R-50-C4 Faster R-CNN, on
 * weights from make_detectron_pkl.py (random weights keep the full 100 detections per
 * image, the heaviest case for the mask head).
 *
 *   node dist/bench/inference.js [--images N] [--threads T]
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import { detectImage } from '../lib/core/detect';
import { initializeModelFromCfg } from '../lib/core/test_engine';
import { StageTimes } from '../lib/core/timers';
import { getThreads, setThreads } from '../lib/nn/runtime';
import { imread } from '../lib/utils/image_io';
import { argNumber, FIXTURES, generatedWeights, ROOT } from './common';




async function benchModel(name: string, config: string, arch: string, images: string[]): Promise<void> {
  const cfg = loadConfig(path.join(ROOT, 'configs/12_2017_baselines', config));
  const model = initializeModelFromCfg(cfg, generatedWeights(arch));
  const warm = await imread(images[0]);
  detectImage(model, warm); // first call pays for mkldnn's primitive creation
  const times = new StageTimes();
  let peak = process.memoryUsage().rss;
  const start = process.hrtime.bigint();
  for (const file of images) {
    const im = await imread(file);
    detectImage(model, im, times);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const perImage = Number(process.hrtime.bigint() - start) / 1e6 / images.length;
  model.dispose();
  console.log(`${name}: ${(perImage / 1000).toFixed(2)} s per image over ${images.length} demo images, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
  for (const s of times.summary()) console.log(`  ${s.stage.padEnd(20)} ${(s.meanMs / 1000).toFixed(3)} s`);
}

async function main(): Promise<void> {
  setThreads(argNumber('--threads', getThreads()));
  const dir = path.join(ROOT, 'demo');
  const images = fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, argNumber('--images', 3)).map((f) => path.join(dir, f));
  console.log(`threads ${getThreads()}, TEST.SCALE 800, MAX_SIZE 1333`);
  await benchModel('Mask R-CNN R-50-FPN', 'e2e_mask_rcnn_R-50-FPN_1x.yaml', 'e2e_mask_rcnn_R-50-FPN', images);
  await benchModel('Faster R-CNN R-50-C4', 'e2e_faster_rcnn_R-50-C4_1x.yaml', 'e2e_faster_rcnn_R-50-C4', images);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
