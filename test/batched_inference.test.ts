/**
 * Batched inference (TEST.IMS_PER_BATCH > 1): images whose blobs share a shape go through one
 * conv-body pass, others through their own; the detections must be identical, bit for bit, to
 * running the images one at a time. Also reports the speed-up of a batch of equal shapes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import type { ImageDetections } from '../lib/core/detections';
import { detectImage, detectImages } from '../lib/core/detect';
import { convBodyBatch, imageBlob } from '../lib/core/test';
import { loadDetectronWeights } from '../lib/modeling/detectron_weights';
import { GeneralizedRCNN } from '../lib/modeling/model_builder';
import { inferenceMode } from '../lib/nn/autograd';
import { dispose } from '../lib/nn/scope';
import { fromArray } from '../lib/nn/tensor';
import { imread } from '../lib/utils/image_io';
import type { NdArray } from '../lib/utils/ndarray';
import { loadWeights } from '../converters/weights';
import { takeImsPerBatch } from '../tools/common_options';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const IMAGES = path.join(FIXTURES, 'coco/images');
const SET = ['TEST.SCALE', '320', 'TEST.MAX_SIZE', '500', 'TEST.DETECTIONS_PER_IM', '50', 'TEST.RPN_POST_NMS_TOP_N', '100'];

function makeModel(config: string, arch: string): GeneralizedRCNN {
  const cfg = loadConfig(path.join(FIXTURES, 'configs/detectron/12_2017_baselines', config), { overrides: SET });
  const model = new GeneralizedRCNN(cfg);
  loadDetectronWeights(model, loadWeights(detectronPkl(arch, 1)).blobs, { strict: true });
  model.eval().channelsLast();
  return model;
}

let ims: NdArray[];
beforeAll(async () => {
  const files = fs.readdirSync(IMAGES).sort().map((f) => path.join(IMAGES, f));
  // five images at 320: blobs 320×512 (two), 320×480 (two) and 320×448; one repeated.
  ims = await Promise.all([...files, files[0]].map((f) => imread(f)));
});

function strip(d: ImageDetections): ImageDetections {
  return { height: d.height, width: d.width, imScale: d.imScale, detections: d.detections };
}

describe.each([
  ['e2e_mask_rcnn_R-50-FPN_1x.yaml', 'e2e_mask_rcnn_R-50-FPN'],
  ['e2e_faster_rcnn_R-50-C4_1x.yaml', 'e2e_faster_rcnn_R-50-C4'],
])('%s', (config, arch) => {
  let model: GeneralizedRCNN;
  beforeAll(() => { model = makeModel(config, arch); });
  afterAll(() => model.dispose());

  test('the blobs of the fixture images fall in groups of equal shapes', () => {
    const shapes = ims.map((im) => imageBlob(model.cfg, im, 320, 500).blob.shape.join('x'));
    const distinct = new Set(shapes);
    expect(distinct.size).toBeGreaterThan(1);
    expect(distinct.size).toBeLessThan(shapes.length);
  });

  test('a shared conv-body pass gives each image exactly its own features', () => {
    const blobs = ims.map((im) => imageBlob(model.cfg, im, 320, 500));
    const batched = convBodyBatch(model, blobs);
    try {
      blobs.forEach((b, i) => {
        const alone = inferenceMode(() => {
          const input = fromArray(b.blob.data as Float32Array, b.blob.shape);
          const f = model.features(input);
          input.dispose();
          return f;
        });
        try {
          expect(batched[i].features.length).toBe(alone.features.length);
          alone.features.forEach((t, l) => {
            expect(batched[i].features[l].shape).toEqual(t.shape);
            const a = t.contiguous().data() as Float32Array;
            const b2 = batched[i].features[l].contiguous().data() as Float32Array;
            expect(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b2.buffer, b2.byteOffset, b2.byteLength))).toBe(0);
          });
        } finally {
          dispose(alone.features);
        }
      });
    } finally {
      for (const f of batched) dispose(f.features);
    }
  });

  test('detectImages gives the detections of one image at a time, bit for bit', () => {
    const single = ims.map((im) => strip(detectImage(model, im)));
    const batched = detectImages(model, ims).map(strip);
    expect(single.some((d) => d.detections.length > 0)).toBe(true);
    expect(batched).toEqual(single);
  });
});

test('speed-up of a batch of four equal-shape images (FPN, 320 pixels)', () => {
  const model = makeModel('e2e_mask_rcnn_R-50-FPN_1x.yaml', 'e2e_mask_rcnn_R-50-FPN');
  try {
    const batch = [ims[0], ims[0], ims[0], ims[0]];
    detectImage(model, ims[0]); // warm-up
    const t0 = process.hrtime.bigint();
    for (const im of batch) detectImage(model, im);
    const t1 = process.hrtime.bigint();
    detectImages(model, batch);
    const t2 = process.hrtime.bigint();
    const one = Number(t1 - t0) / 1e6;
    const four = Number(t2 - t1) / 1e6;
    process.stdout.write(`batched inference: 4 images one at a time ${one.toFixed(0)} ms, one batch ${four.toFixed(0)} ms (×${(one / four).toFixed(2)})\n`);
  } finally {
    model.dispose();
  }
});

test('TEST.IMS_PER_BATCH is taken from the overrides (it is no Detectron config key)', () => {
  expect(takeImsPerBatch(['TEST.SCALE', '320', 'TEST.IMS_PER_BATCH', '4'])).toEqual({ overrides: ['TEST.SCALE', '320'], imsPerBatch: 4 });
  expect(takeImsPerBatch(['TEST.SCALE', '320'])).toEqual({ overrides: ['TEST.SCALE', '320'], imsPerBatch: null });
  expect(() => takeImsPerBatch(['TEST.IMS_PER_BATCH', '0'])).toThrow(/positive integer/);
});
