/**
 * lib/core/test_aug.ts: Detectron's test-time augmentation.
 *
 * The orchestration (which passes run, on which image, scale and boxes, in which order) and the
 * combination arithmetic are checked against Detectron's own im_detect_bbox_aug,
 * im_detect_mask_aug and im_detect_keypoints_aug (detectron/core/test.py, HEAD): a scratch script
 * outside the repo imported that module under Debian's python3 (numpy 1.24, OpenCV 4.6) with
 * caffe2 stubbed, and replaced im_detect_bbox / im_conv_body_only / im_detect_mask /
 * im_detect_keypoints by the synthetic network of `FakeNetwork` below (the same formulas), logging
 * every call. LOG_* are those logs (image sizes and the first 12 hex digits of the SHA-1 of the
 * image bytes, so flipped and aspect-ratio images are cv2's, target sizes, boxes passed), the
 * other literals the combined float32 outputs (base64, little-endian).
 *
 * With the model (generated weights, small scales): a horizontally symmetric image's flipped pass
 * reproduces the identity pass, augmentation without transforms is the plain path, and whole
 * augmented runs give well-formed detections.
 */
import { createHash } from 'crypto';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import type { Cfg } from '../lib/modeling/config_types';
import { imDetectAll, imDetectBbox, BoxStage } from '../lib/core/test';
import { dispose } from '../lib/nn/scope';
import {
  AugNetwork, ConvBody, aspectRatioRel, detectBboxAug, detectKeypointsAug, detectMaskAug, flipImage, modelNetwork,
} from '../lib/core/test_aug';
import type { MaskAugHeuristic } from '../lib/core/test_postprocess';
import { loadDetectronWeights } from '../lib/modeling/detectron_weights';
import { GeneralizedRCNN } from '../lib/modeling/model_builder';
import { flipBoxes } from '../lib/utils/boxes';
import { imread } from '../lib/utils/image_io';
import type { NdArray } from '../lib/utils/ndarray';
import { loadWeights } from '../converters/weights';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const AUG_DIR = path.join(FIXTURES, 'configs/detectron/test_time_aug');
const MASK_CFG = path.join(AUG_DIR, 'e2e_mask_rcnn_R-50-FPN_2x.yaml');
const KPS_CFG = path.join(AUG_DIR, 'keypoint_rcnn_R-50-FPN_1x.yaml');

type LogEntry = Array<string | number | null | number[]>;

function f32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

/** The synthetic uint8 image of the reference script: (7y + 13x + 29c + (xy mod 17)) mod 256. */
function patternImage(h: number, w: number): NdArray {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (y * 7 + x * 13 + c * 29 + ((x * y) % 17)) % 256;
  return { dtype: 'uint8', shape: [h, w, 3], data };
}

function sha(im: NdArray): string {
  const d = im.data;
  return createHash('sha1').update(Buffer.from(d.buffer, d.byteOffset, d.byteLength)).digest('hex').slice(0, 12);
}

/** ((131c + 31i) mod 997) / 996 × scale + offset, in double, then float32 (as the script's numpy). */
function synth(c: number, n: number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((c * 131 + i * 31) % 997) / 996) * scale + offset);
}

const NO_FEATURES = { features: [], scales: [], levels: [] };

/** The reference script's stand-in network: outputs from `synth`, every call logged. */
class FakeNetwork implements AugNetwork {
  readonly log: LogEntry[] = [];
  private calls = 0;
  private readonly ids = new WeakMap<ConvBody, number>();

  constructor(private readonly cfg: Cfg) {}

  detectBbox(im: NdArray, scale: number, maxSize: number, proposals: Float32Array | null): BoxStage {
    const c = this.calls++;
    const C = this.cfg.MODEL.NUM_CLASSES;
    this.log.push(['bbox', c, im.shape[0], im.shape[1], sha(im), scale, maxSize, proposals === null ? null : Array.from(proposals)]);
    const r = proposals === null ? 2 + (c % 3) : proposals.length / 4;
    const debug = { blobShape: [], imInfo: [], proposals: new Float32Array(0), proposalScores: new Float32Array(0), clsProb: new Float32Array(0), bboxPred: new Float32Array(0) };
    return { scores: synth(c, r * C), boxes: synth(c + 50, r * 4 * C, 60), imScale: scale / 100, features: NO_FEATURES, debug };
  }

  convBody(im: NdArray, scale: number, maxSize: number): ConvBody {
    const c = this.calls++;
    this.log.push(['conv', c, im.shape[0], im.shape[1], sha(im), scale, maxSize]);
    const body = { features: NO_FEATURES, imScale: scale / 100 };
    this.ids.set(body, c);
    return body;
  }

  masks(body: ConvBody, boxes: Float32Array): Float32Array {
    const c = this.calls++;
    this.log.push(['mask', c, this.ids.get(body) ?? -1, body.imScale, Array.from(boxes)]);
    const m = this.cfg.MRCNN.RESOLUTION;
    const channels = this.cfg.MRCNN.CLS_SPECIFIC_MASK ? this.cfg.MODEL.NUM_CLASSES : 1;
    const v = synth(c, (boxes.length / 4) * channels * m * m);
    // exact 1s and 0s in some passes: LOGIT_AVG's log(0) and its 1e-20 floor
    if (c % 2 === 1) for (let i = 0; i < v.length; i += 7) v[i] = 1;
    if (c % 3 === 0) for (let i = 3; i < v.length; i += 11) v[i] = 0;
    return v;
  }

  keypoints(body: ConvBody, boxes: Float32Array): { heatmaps: Float32Array; shape: number[] } {
    const c = this.calls++;
    this.log.push(['kps', c, this.ids.get(body) ?? -1, body.imScale, Array.from(boxes)]);
    const r = boxes.length / 4;
    return { heatmaps: synth(c, r * 17 * 2 * 2, 10, -5), shape: [r, 17, 2, 2] };
  }

  release(): void {
    // nothing to free
  }
}

const IMAGE = patternImage(40, 57);
const SMALL = ['MODEL.NUM_CLASSES', '3', 'MRCNN.RESOLUTION', '3', 'TEST.SCALE', '300', 'TEST.MAX_SIZE', '500'];
const MASK_AUG = [
  'TEST.BBOX_AUG.SCALES', '(200, 400)', 'TEST.BBOX_AUG.MAX_SIZE', '700', 'TEST.BBOX_AUG.ASPECT_RATIOS', '(0.5, 1.37)',
  'TEST.BBOX_AUG.ASPECT_RATIO_H_FLIP', 'True',
  'TEST.MASK_AUG.SCALES', '(250, 450)', 'TEST.MASK_AUG.MAX_SIZE', '800', 'TEST.MASK_AUG.ASPECT_RATIOS', '(0.75,)',
  'TEST.MASK_AUG.ASPECT_RATIO_H_FLIP', 'True',
];
const KPS_AUG = [
  'TEST.SCALE', '300', 'TEST.MAX_SIZE', '500',
  'TEST.BBOX_AUG.SCALES', '(200, 400)', 'TEST.BBOX_AUG.MAX_SIZE', '700',
  'TEST.BBOX_AUG.ASPECT_RATIOS', '(1.37,)', 'TEST.BBOX_AUG.ASPECT_RATIO_H_FLIP', 'True',
  'TEST.KPS_AUG.SCALES', '(200, 300, 400)', 'TEST.KPS_AUG.MAX_SIZE', '700', 'TEST.KPS_AUG.AREA_TH', '900',
  'TEST.KPS_AUG.ASPECT_RATIOS', '(0.5,)', 'TEST.KPS_AUG.ASPECT_RATIO_H_FLIP', 'True',
];
const MASK_BOXES = new Float32Array([3.5, 4.25, 30.75, 33.5, 10, 2, 55.5, 39, 0, 0, 12.125, 7.5]);
const PROPOSALS = new Float32Array([1, 2, 20.5, 30, 5.25, 0, 56, 39, 30, 10, 41.5, 22.75]);
// +1 areas 885 (< AREA_TH 900), 2040, 165
const KPS_BOXES = new Float32Array([3, 4, 32, 33.5, 5, 0, 55, 39, 30, 10, 41, 22.75]);

const LOG_FASTER_BBOX: LogEntry[] = [
  ["bbox", 0, 40, 57, "db69ac3b77eb", 300, 500, null],
  ["bbox", 1, 40, 57, "879c45fa9883", 200, 700, null],
  ["bbox", 2, 40, 57, "db69ac3b77eb", 200, 700, null],
  ["bbox", 3, 40, 57, "879c45fa9883", 400, 700, null],
  ["bbox", 4, 40, 57, "db69ac3b77eb", 400, 700, null],
  ["bbox", 5, 40, 28, "ca251d849ef9", 300, 500, null],
  ["bbox", 6, 40, 28, "aa19ae1612d5", 300, 500, null],
  ["bbox", 7, 40, 78, "a10584167195", 300, 500, null],
  ["bbox", 8, 40, 78, "69338f01984b", 300, 500, null],
  ["bbox", 9, 40, 57, "879c45fa9883", 300, 500, null],
];
const LOG_MASK: LogEntry[] = [
  ["conv", 0, 40, 57, "879c45fa9883", 300, 500],
  ["mask", 1, 0, 3.0, [3.5, 4.25, 30.75, 33.5, 10.0, 2.0, 55.5, 39.0, 0.0, 0.0, 12.125, 7.5]],
  ["conv", 2, 40, 57, "db69ac3b77eb", 300, 500],
  ["mask", 3, 2, 3.0, [25.25, 4.25, 52.5, 33.5, 0.5, 2.0, 46.0, 39.0, 43.875, 0.0, 56.0, 7.5]],
  ["conv", 4, 40, 57, "879c45fa9883", 250, 800],
  ["mask", 5, 4, 2.5, [3.5, 4.25, 30.75, 33.5, 10.0, 2.0, 55.5, 39.0, 0.0, 0.0, 12.125, 7.5]],
  ["conv", 6, 40, 57, "db69ac3b77eb", 250, 800],
  ["mask", 7, 6, 2.5, [25.25, 4.25, 52.5, 33.5, 0.5, 2.0, 46.0, 39.0, 43.875, 0.0, 56.0, 7.5]],
  ["conv", 8, 40, 57, "879c45fa9883", 450, 800],
  ["mask", 9, 8, 4.5, [3.5, 4.25, 30.75, 33.5, 10.0, 2.0, 55.5, 39.0, 0.0, 0.0, 12.125, 7.5]],
  ["conv", 10, 40, 57, "db69ac3b77eb", 450, 800],
  ["mask", 11, 10, 4.5, [25.25, 4.25, 52.5, 33.5, 0.5, 2.0, 46.0, 39.0, 43.875, 0.0, 56.0, 7.5]],
  ["conv", 12, 40, 43, "63945550e3c0", 300, 500],
  ["mask", 13, 12, 3.0, [2.625, 4.25, 23.0625, 33.5, 7.5, 2.0, 41.625, 39.0, 0.0, 0.0, 9.09375, 7.5]],
  ["conv", 14, 40, 43, "3fa5b075c491", 300, 500],
  ["mask", 15, 14, 3.0, [18.9375, 4.25, 39.375, 33.5, 0.375, 2.0, 34.5, 39.0, 32.90625, 0.0, 42.0, 7.5]],
];
const LOG_FAST_BBOX: LogEntry[] = [
  ["bbox", 0, 40, 57, "db69ac3b77eb", 300, 500, [35.5, 2.0, 55.0, 30.0, 0.0, 0.0, 50.75, 39.0, 14.5, 10.0, 26.0, 22.75]],
  ["bbox", 1, 40, 57, "879c45fa9883", 200, 700, [1.0, 2.0, 20.5, 30.0, 5.25, 0.0, 56.0, 39.0, 30.0, 10.0, 41.5, 22.75]],
  ["bbox", 2, 40, 57, "db69ac3b77eb", 200, 700, [35.5, 2.0, 55.0, 30.0, 0.0, 0.0, 50.75, 39.0, 14.5, 10.0, 26.0, 22.75]],
  ["bbox", 3, 40, 57, "879c45fa9883", 400, 700, [1.0, 2.0, 20.5, 30.0, 5.25, 0.0, 56.0, 39.0, 30.0, 10.0, 41.5, 22.75]],
  ["bbox", 4, 40, 57, "db69ac3b77eb", 400, 700, [35.5, 2.0, 55.0, 30.0, 0.0, 0.0, 50.75, 39.0, 14.5, 10.0, 26.0, 22.75]],
  ["bbox", 5, 40, 78, "a10584167195", 300, 500, [1.3700000047683716, 2.0, 28.08500099182129, 30.0, 7.192500114440918, 0.0, 76.72000122070312, 39.0, 41.099998474121094, 10.0, 56.85499954223633, 22.75]],
  ["bbox", 6, 40, 78, "69338f01984b", 300, 500, [48.915000915527344, 2.0, 75.62999725341797, 30.0, 0.279998779296875, 0.0, 69.80750274658203, 39.0, 20.145000457763672, 10.0, 35.900001525878906, 22.75]],
  ["bbox", 7, 40, 57, "879c45fa9883", 300, 500, [1.0, 2.0, 20.5, 30.0, 5.25, 0.0, 56.0, 39.0, 30.0, 10.0, 41.5, 22.75]],
];
const LOG_KPS: LogEntry[] = [
  ["conv", 0, 40, 57, "879c45fa9883", 300, 500],
  ["kps", 1, 0, 3.0, [3.0, 4.0, 32.0, 33.5, 5.0, 0.0, 55.0, 39.0, 30.0, 10.0, 41.0, 22.75]],
  ["conv", 2, 40, 57, "db69ac3b77eb", 300, 500],
  ["kps", 3, 2, 3.0, [24.0, 4.0, 53.0, 33.5, 1.0, 0.0, 51.0, 39.0, 15.0, 10.0, 26.0, 22.75]],
  ["conv", 4, 40, 57, "879c45fa9883", 200, 700],
  ["kps", 5, 4, 2.0, [3.0, 4.0, 32.0, 33.5, 5.0, 0.0, 55.0, 39.0, 30.0, 10.0, 41.0, 22.75]],
  ["conv", 6, 40, 57, "db69ac3b77eb", 200, 700],
  ["kps", 7, 6, 2.0, [24.0, 4.0, 53.0, 33.5, 1.0, 0.0, 51.0, 39.0, 15.0, 10.0, 26.0, 22.75]],
  ["conv", 8, 40, 57, "879c45fa9883", 300, 700],
  ["kps", 9, 8, 3.0, [3.0, 4.0, 32.0, 33.5, 5.0, 0.0, 55.0, 39.0, 30.0, 10.0, 41.0, 22.75]],
  ["conv", 10, 40, 57, "db69ac3b77eb", 300, 700],
  ["kps", 11, 10, 3.0, [24.0, 4.0, 53.0, 33.5, 1.0, 0.0, 51.0, 39.0, 15.0, 10.0, 26.0, 22.75]],
  ["conv", 12, 40, 57, "879c45fa9883", 400, 700],
  ["kps", 13, 12, 4.0, [3.0, 4.0, 32.0, 33.5, 5.0, 0.0, 55.0, 39.0, 30.0, 10.0, 41.0, 22.75]],
  ["conv", 14, 40, 57, "db69ac3b77eb", 400, 700],
  ["kps", 15, 14, 4.0, [24.0, 4.0, 53.0, 33.5, 1.0, 0.0, 51.0, 39.0, 15.0, 10.0, 26.0, 22.75]],
  ["conv", 16, 40, 28, "ca251d849ef9", 300, 500],
  ["kps", 17, 16, 3.0, [1.5, 4.0, 16.0, 33.5, 2.5, 0.0, 27.5, 39.0, 15.0, 10.0, 20.5, 22.75]],
  ["conv", 18, 40, 28, "aa19ae1612d5", 300, 500],
  ["kps", 19, 18, 3.0, [11.0, 4.0, 25.5, 33.5, -0.5, 0.0, 24.5, 39.0, 6.5, 10.0, 12.0, 22.75]],
];
const FASTER_BBOX_UNION = { shape: [29, 3], imScale: 3.0,
    scores: 'AAAAAM74/jzO+H49mjq/Pc74/j2BWx8+x64GPuGNJj77bEY+FUxmPpcVgz4kBZM+sfSiPj7ksj7L08I+x66GPlSelj7hjaY+bn22Pvtsxj6IXNY+FUzmPqE79j6XFQM/Xg0LPyQFEz/q/Bo/KwbKPrj12T5F5ek+0tT5Pi/iBD/22Qw/x64GP46mDj9UnhY/G5YeP+GNJj+ohS4/bn02PzR1Pj/7bEY/eVooP0BSMD8GSjg/zUFAP5M5SD9ZMVA/IClYP+YgYD+tGGg/cxBwPzoIeD8AAIA/KwZKP/L9UT+49Vk/fu1hP0XlaT8L3XE/3bFrP6Opcz9qoXs/79hVPKLyND2FN5o9uPXZPfbZDD4PuSw+JbxRPUacqD15Wug9VgwUPnDrMz6KylM+o6lzPl/EiT7rs5k+eKOpPgWTuT6Sgsk+0R07Pur8Wj4E3Ho+j12NPhxNnT6pPK0+',
    boxes: 'smKQQV1WEELaQ65B8UYfQsRAKUGFNy5CFANlQRkoPUKQ8EZArRhMQuj82kBBCVtCkcteQtX5aULAYiC/kcsKQGnqQEJp6rxA/dpPQoU3GkFBCSNC1flVQdX5MUIT3ohBCW8oQlPnL0KdXzdC59c+QjFQRkJ7yE1CxUBVQg+5XEJZMWRCo6lrQmwPOT97yCVAjqaOQN5oykCXFQNBv/YgQefXPkEPuVxBOJp6QbA9jEFELptB2B6qQWwPuUEAAMhBlPDWQSjh5UG80fRBKOEBQnJZCUK80RBCBkoYQlDCH0KaOidC5LIuQi4rNkJ4oz1CwPYQQEp4T0IAAMBA3mheQvRrW0JyWW1CACW8v2bFQEDMij1CU+fXQGB7TEL6tSdBpKkfQkp4Y0E4mi5CTZ2PQXzIAUJ1fq1BELkQQp1fy0GnzsdBxUDpQc+v5UH3kANCVgyMQYuBEkJ+7alBH3IhQgyUIEGzYjBCXFZcQUdTP0KwPSRA20NOQnijyUBvNF1CY6BcQgMlbEIgl5W/dX4tQDq/PkLbQ85Az69NQj7kIkES3iBCjqZeQabOL0JvNI1B95BnQkEJb0Jge8g/UMJbQHijqUDIZeVADJQQQTR1LkFdVkxBhTdqQVYMhEHq/JJBfu2hQRPesEGnzr9BO7/OQc+v3UFjoOxB95D7QcVABUIPuQxCWTEUQqOpG0LtISNCLis6Qj7k8kDCG0lCbzQ1QQZKHEK/9nBBmjorQohclkG80fxBsD20QXJZDULYHtJBbA/BQQAA8EGU8N5BlPAGQhxNhUEo4RVCRC6jQbzRJEKYFRNBUMIzQujXTkHkskJCwIfcP3ijUUKQpq5ADJRgQsVAWUKghG9CYMUAwEp4Y0CdXztCxUDpQDFQSkKzYjBB0tTZQfq1d0GRywpCJbyZQbmsKEJNnbdB4Y1GQnV+1UEJb2RCnV/zQRkogUJjoAhCrRiQQveQF0JBCZ9Ci4EmQtX5rUIfcjVCaeq8QrNiREL92stCR1NTQpHL2kLbQ2JCJbzpQju/dj6U8IZANHV+QOr8OkE7v/ZAxUCZQe0hN0EWA9VBPuRyQbNiCEJHU5dB20MmQm80tUEDJURClxXTQSsGYkK/9vBBU+d/QvRrB0I+5I5CiFwWQtLUnUIcTSVCIChhQOr8ukGozi9BE97YQTi/NsE7v/ZBcOp8wDFQCkI85NLBxUAZQuwhl8FZMShCcDQlwu0hN0JGUwfCghJGQsD2YMIWA1VCmBVDwqrzY0JQwkNCeKMpP+jXfsIPuYxALqqrQdge+kGBecFBAAAMQtVI10GU8BpCKBjtQSjhKUK+cwFCvNE4QmdbDEJQwkdCEUMXQuSyVkK7KiJCeKNlQmQSLUKRy4o/B+UJQIU3mkDSL5xAE94IQSBt80BjoERBN1UlQVkxgEHd81BBghKeQYWSfEGq87tBlhiUQdLU2UHp56lB+rX3QT23v0GRywpCCRTSQWOgHEJc4+dB95ArQmJ1pkGLgTpCtkS8QR9ySUJ3rXVBs2JYQg+mkEFHU2dCyPdWQmbFwD/QDkpB+rWnQHQoQUJNnQ9BHhBMQp1fS0EhWStC95CDQctANkIfcqFBzokVQkdTv0F3cSBCbzTdQfR0/0GXFftBJKIKQmB7DEJO1tNB9GsbQqGl6UGIXCpCpzeoQRxNOUL6Br5BsD1IQgAyeUFELldCU2iSQdgeZkLr2FdChTeaP1mTTUGCEp5AD7k0QlkxPEKjqUNC7SFLQjiaUkKCElpCzIphQhYDaUI7v3Y9O7/2Pz7kckBvNLVAv/bwQIhcFkGwPTRB2B5SQQAAcEGU8IZBKOGVQbzRpEFQwrNB5LLCQXij0UEMlOBB' };
const FAST_BBOX: Record<'AVG' | 'ID', { shape: number[]; imScale: number; scores: string; boxes: string }> = {
  AVG: { shape: [3, 2], imScale: 3.0,
    scores: '3LHrPmuh+z57yAU/EXDbPp1f6z4qT/s+',
    boxes: 'jPjzQeSyBkLUxdNBhTfvQYz480FWjAZC0sXTQWnq7kGM+PNByGUGQtTF00FNne5BjvjzQTo/BkLUxdNBMlDuQY7480HtIdBB1MXTQRYD7kEPwONB0dTPQdTF00H5te1B' },
  ID: { shape: [3, 2], imScale: 3.0,
    scores: '3bFrP6Opcz9qoXs/79hVPKLyND2FN5o9',
    boxes: 'RC7rQdge+kG2hwRCAAAMQkp4E0KU8BpC3mgiQijhKUJyWTFCvNE4QgZKQEJQwkdCmjpPQuSyVkIuK15CeKNlQsIbbUKRy4o/aeo8QIU3mkDV+dVAE94IQTu/JkFjoERB' },
};
const MASKS: Record<MaskAugHeuristic, string> = {
  SOFT_AVG: 'umM/P2xY6j5BwD0/7WrIPp4W2j47v7Y+o/IEPwAAgD+j8gQ/9tkcP3ij+T54o/k+XQ3LPqxh6T5gMic/KZgMPymYDD8pmAw/E97IPkJ3BD9DdwQ/sfQyP7ms+D5yWVE/sD0UP3MQsD6wPRQ/yRwMPwAAgD8gKdg+4/sDP+P7Az/j+wM/3x85P/q19z6Ry1o/yRzUPi105z5mxcA+a6ELP2qhCz9qoQs/4Y1GP4SAAz8v4iQ/sD2kPjy/9j51fs0+bn3mPgAAgD/wRhM/oTvWPqE71j4LJgs/ELlMPyQFAz9OVC4/d+waP+1quD57yPU+kcsSP7CG5T6vhuU+EidaP6uqCj9gezg/FgPFPhUDxT7EiQI/ps7fPgAAgD+Ry8o+MlASPzJQEj/vj+Q+BkpAPyRO1D5+7UE/20OuPmUOAj9SMNk+',
  SOFT_MAX: 'AACAP6Opcz8AAIA/j11NP1VVVT8cTV0/4kRlPwAAgD9vNHU/NSx9PzoIeD8AAIA/AACAP+uzWT8AAIA/BZN5Pz+bcT94o2k/aDM+P9BmfD8Jb3Q/AACAP4ISXj8AAIA/DgJuPxPeaD+b8X0/n814PwAAgD/ArU8/oIR3P9qMbz8UlWc/AACAP2tYej8AAIA/VgxUPx0EXD/j+2M/qvNrP3Drcz8243s/AACAPwG3fj8AAIA/eVpoP7NiYD/salg/CiZzPwAAgD9AUnA/L+JEP/bZTD/RHXs/AACAP0nBZD8AAIA/1rB0P9qMbz+ghHc/Z3x/P05UXj+IXFY/AACAP6E7dj8AAIA/y9NCP5HLSj9sD3k/HrtaPwAAgD+rqmo/caJyPziaej88dnU/AACAPycqTz8AAIA/QQlvP3oRZz+0GV8/',
  LOGIT_AVG: 'AACAP4ahtj4AAIA/NSIWO9vywT6W0Pc2V8EIPwAAgD+ojw0/aSo2P8Pp8T4AAIA/AACAP3yM2T4AAIA/YDAbP1+LFT8q8BI/vMqbPublCz/tFOs+AACAP3iY7z4AAIA/e9QdPwZxJTNFGy0/LSUPPwAAgD9737g+E2kKPxHEBz8RnAY/AACAP4n3+D4AAIA/jN4uO7Nm2j5HCh03/zQTP4meFj9owR4/AACAP8S3FD8AAIA/rQ/wNh2T8D7jUiw7Df1rOwAAgD8dpR0/lba5PpBTpT42hRE/AACAPz8bAz8AAIA/2lMpPwQEODM6Vec+dMAvP37JyD7j8NI+AACAP0SXFT8AAIA/L36jPmPVgj6HIgM/L/9JOwAAgD9Mtzo3U24eP29eJT91B8g+AACAP0XhrT4AAIA/MusNN/9qAz9BREY7',
};
const HEATMAPS: Record<string, string> = {
  HM_AVG_dep: 'FroDvxW6A79rWJK/TQvdPVox0D1gMdA9rGE5P6xhOT9bMdA9XzHQPaxhOT+sYTk/cH22PfaQqz8QJwq/ECcKv/aQqz/2kKs/tj77P7Y++z+IyZw9iMmcPbH0Mj+x9DI/hMmcPYhclr+PXQ2/59fmv8f3l7/G95e/JXPovwyUEL/G95e/xveXvwyUEL8MlBC/WMNSPVjDUj21hyw/tYcsP1DDUj1Qw1I9tocsP7WHLD+QWx89/COlPwcBF78HARe//COlP/wjpT+80fQ/vNH0P2Dn1zxQ59c8uxomP7saJj9A59c8hMmcv4Y3Gr/iRO2/uC9iPMFknr8h4O6/Am4dv8Fknr/CZJ6/A24dvwJuHb9ACR+/QAkfvwB/pDoAfqQ6oISfP6CEnz9iMu8/YjLvP4B/pLtAf6S7ghIeP4ISHj/eaKK/3miivzp2Jb86diW/YumdP0EJH0AE3Bo/IpftPyJOnD8wv/a8h6UXP7isKL8dBKS/nxYiwH1/9L99f/S/W5+lv1ufpb834yu/NuMrv3rHLr16xy69CW8UPwlvFD+mF5k/pheZP2bF6D9mxeg/WC9ivUgvYr2LOBE/izgRP9nVqL/Z1ai/MVAyvzFQMr9mfJc/w9IbQA0CDj8mKuc/KeGVPynhlT+Tywo/r4Y1vxdxqr8cTSXAd+z6v3fs+r9VDKy/VQysvyy9OL8svTi/bDO+vWkzvr0UlQc/FJUHPzq/Jj86vyY/Xg2jP2APuTzAp4U8vj+iP4LJHL+9iCM/vz+iP78/oj997fE/fe3xPwC/djsAv3Y7QFIgPz9SID8Av3Y7gKSgPwEAIL8gKfC/ce8PvP9Iob9fxPG/X8Txv/5Iob/+SKG/fTYjv342I79wx668cMeuvETlGT9E5Rk/gMeuvHzHrrxE5Rk/+mwmv5DLCr3E0ps/eaMpv8iuFj/D0ps/w9KbP4SA6z+EgOs/YDM+vWAzPr1KeBM/SngTP4AzPr2EN5o/9tksv/XZLL8wm3G9+rWnv1ox+L9aMfi/+rWnv/q1p79yEDC/cxAwv4iBkr2MgZK9TgsNP1ALDT+KgZK9i4GSvU8LDT/xRjO/',
  HM_AVG_all: '12czv+2zmT4SJ4q/smKgvXejKT55oyk+XsRJP1/EST96oyk+fqMpPrr1Wb649Vm+Ct2xvkZTJz/S1Dm/0tQ5v0dTJz9HUyc/Y1ejP2NXoz+Q7w8+ju8PPmVXQz9lV0M/ju8PPupFXL+jqXO+GpaevwG3vr4Bt76+y0Hgv81BQL8At76+ALe+vv7/fz7+/38+Q3fsPUN37D1o6jw/aOo8P0B37D1Ad+w9ya6Gvsquhr72kMu+UnkaP8euRr/Irka/UnkaP1F5Gj9p6pw/aOqcP20PuT1qD7k9b302P299Nj9tD7k94B9pv76Ik74VA6W/WAwUP+tq2L7Irua/whtNv+5q2L7wati+KZhMPieYTD6Opg6/jqYOv5anhT2Qp4U9+rWnP/q1pz+qhW4/qoVuP6UXMb+jFzG/I+GNvSPhjb2FN5q/hTeav4cTFb+HExW/kBRMPy4r5j+GXNY+CLi1P31/pD9aepE+rRhoP/1Iwb2ghDe/NuPbv3Y1jL92NYy/Am6dvwJunb+EgBu/g4Abv5SnRT+Up0U/kILJPpKCyT7+SKE//kihP7KrYT+yq2E/nPE9v5zxPb/gsPS94LD0vX+koL9/pKC/fu0hv37tIb+ZOj8/M77fP5qovD4NS68/gRKeP4ESnj+4Pls/VgwUvpZeRL8yUOK/caKSv3Gikr/72qO/+9qjv3haKL94Wii/oM04P6DNOD+nzq8+p86vPohcFj+IXBY/A9yaP+vYVT5cVgy/3tbnPqg8bb8mKZg94NbnPuDW5z54o4k/eKOJP0C/dr1Av3a9je8PP4zvDz9Av3a92tVwP4Kk4L4GSri/6/zaPlfDEr+jqXO/o6lzv1jDEr9YwxK/iIJJPYWCST12x669dseuvZKCCT+Sggk/dceuvXnHrr2Sggk/dn7tvlIwGb/2Is4+oBZ6v81lxTzzIs4+9SLOPn42gz9+NoM/Ri/ivUgv4r2WFQM/mBUDP1Yv4r3j+2M/a1j6vmpY+r4BScE+TZ0fv81BgL/NQYC/TZ0fv06dH78AmIO6M5iDupDLCr6Sywq+NlH5PjpR+T6Rywq+kssKvjpR+T4xmQO/',
  HM_MAX_dep: 'DJSQQFSehkAPuQxAxImaQPCPNEBge0hA0GZcQEBScEDYHoJAkBSMQEgKlkAAAKBAxveXQMFknkCEgJtAzIqRQJmDgEDCG21ACW+UQFF5ikDKHGRAOgh4QNX5hUCN749AReWZQEp4k0ACbp1ABwGXQM74jkAWA4VAR1NnP4bumEDbQ05Aa1g6QLsadkBLL2JAclkxQOJERUBSMFlAwhttQJmDgEBReYpACW+UQMFknkCIXJZAg8mcQEXlmUCN749AtdB9QEXlaUDL05JAE96IQEzmYEC80XRAll6EQE5UjkAGSphAC92RQMPSm0DIZZVAgVufQNdng0BReVo/R1OXQF4NS0DtITdAPuRyQM74XkD1Ii5AZQ5CQNX5VUBF5WlAtdB9QBPeiEDL05JAg8mcQHfsKkAHARdAV8NSQOfXPkAOAg5Afu0hQO/YNUBfxElAScGUQEQum0AGSphAAbeeQMeulkDNQZBAhTeaQIrKk0BCwJ1AYHvIPwAAIECQFAxAbn22P05U3j+XFQNABwEXQFDCi0CYzIFAwK2fQAi4lUA4mnpA1EKHQIw4kUBELptA+rUnQIrKE0DajE9AaqE7QJHLCkABtx5AcaIyQOGNRkAKJpNABZOZQMeulkDCG51AiROVQEEJn0BGnJhASy+SQAMlnEBlDsI/g8kcQBPeCEBzELA/U+fXPzO+/z+KyhNAESeKQFkxgECCEp5AyhyUQJAUjEBICpZAAACgQOxqOEDMipFAxveXQIkTlUCEgJtAPS10QM1BYEAOAo5AVgyEQNRCV0BELmtAtBl/QJKCiUBKeJNAQQmfQAcBl0AMlJBAxImaQM74jkCEgJs/ZFfDP0svYkDbQ05AFgOFQLsadkDiREVAUjBZQMIbbUCZg4BAUXmKQAlvlEDBZJ5AXg3LP43vj0CIXJZASniTQEXlmUC/9nBATwtdQNBmjEAYcYJAVgxUQMb3Z0A243tAU+eHQAvdkUACbp1AyGWVQIFbn0CG7phAj12NQIkTlT9p6rw/zvheQF4NS0DXZ4NAPuRyQGUOQkDV+VVAReVpQLXQfUAT3ohAy9OSQIPJnEBjoMQ/',
  HM_MAX_all: 'DJSQQAcBl0B1fi1AxImaQFVVVUDFQGlANSx9QNOLiECLgZJAQ3ecQEgKlkAAAKBAxveXQMFknkCEgJtAzIqRQJmDgEDCG21ACW+UQFF5ikDKHGRAOgh4QNX5hUCN749AReWZQEp4k0ACbp1ABwGXQIFbn0DIZZVAbzS1P4bumEBBCW9A0R1bQBBwi0BYeoFA2B5SQEgKZkC49XlAlPCGQEzmkEAE3JpACW+UQMFknkCIXJZAg8mcQEXlmUCN749AtdB9QEXlaUDL05JAE96IQEzmYEC80XRAll6EQE5UjkAGSphAC92RQMPSm0DIZZVAgVufQIrKk0B0x64/R1OXQMPSa0BT51dA0tSJQDO+f0Ba6E5Ay9NiQDu/dkBVVYVADUuPQMVAmUDL05JAg8mcQHfsKkAHARdAV8NSQOfXPkAOAg5Afu0hQO/YNUBfxElAScGUQEQum0AGSphAAbeeQMeulkDNQZBAhTeaQIrKk0BCwJ1AFgMFQGbFQED22SxAOgj4P43vD0D92iNAbcY3QAMlnEBLL5JAwK2fQAi4lUDPr41Ah6WXQIw4kUBELptA+rUnQIrKE0DajE9AaqE7QJHLCkABtx5AcaIyQOGNRkAKJpNABZOZQMeulkDCG51AiROVQEEJn0BGnJhASy+SQAMlnECYzAFA6I49QHijKUA/m/E/D7kMQH+kIEDwjzRAxImaQAyUkECCEp5AyhyUQJAUjEBICpZAAACgQAWTmUDMipFAxveXQIkTlUCEgJtAPS10QM1BYEAOAo5AVgyEQNRCV0BELmtAtBl/QJKCiUBKeJNAQQmfQAcBl0AMlJBAxImaQM74jkBDd5xAi4GSQEsvYkDbQ05AFgOFQLsadkDiREVAUjBZQMIbbUCZg4BAUXmKQAlvlEDBZJ5AxveXQI3vj0CIXJZASniTQEXlmUC/9nBATwtdQNBmjEAYcYJAVgxUQMb3Z0A243tAU+eHQAvdkUACbp1AyGWVQIFbn0CG7phAj12NQATcmkBM5pBAzvheQF4NS0DXZ4NAPuRyQGUOQkDV+VVAReVpQLXQfUAT3ohAy9OSQIPJnECIXJZA',
};

describe("Detectron's augmentation passes and arithmetic (synthetic network)", () => {
  test('im_detect_bbox_aug, Faster R-CNN, UNION (the mask TTA config): flips, scales, aspect ratios', () => {
    const cfg = loadConfig(MASK_CFG, { overrides: [...SMALL, ...MASK_AUG] });
    const net = new FakeNetwork(cfg);
    const out = detectBboxAug(cfg, net, IMAGE, null);
    expect(net.log).toEqual(LOG_FASTER_BBOX);
    expect(out.scores).toEqual(f32(FASTER_BBOX_UNION.scores));
    expect(out.boxes).toEqual(f32(FASTER_BBOX_UNION.boxes));
    expect([out.scores.length / 3, 3]).toEqual(FASTER_BBOX_UNION.shape);
    expect(out.imScale).toBe(FASTER_BBOX_UNION.imScale);
  });

  test.each(['AVG', 'ID'] as const)('im_detect_bbox_aug on precomputed proposals, %s (the keypoint TTA config)', (heur) => {
    const cfg = loadConfig(KPS_CFG, { overrides: [...KPS_AUG, 'TEST.BBOX_AUG.SCORE_HEUR', heur, 'TEST.BBOX_AUG.COORD_HEUR', heur] });
    expect(cfg.MODEL.FASTER_RCNN).toBe(false);
    const net = new FakeNetwork(cfg);
    const out = detectBboxAug(cfg, net, IMAGE, PROPOSALS);
    expect(net.log).toEqual(LOG_FAST_BBOX);
    expect(out.scores).toEqual(f32(FAST_BBOX[heur].scores));
    expect(out.boxes).toEqual(f32(FAST_BBOX[heur].boxes));
    expect(out.imScale).toBe(FAST_BBOX[heur].imScale);
  });

  test.each(['SOFT_AVG', 'SOFT_MAX', 'LOGIT_AVG'] as const)('im_detect_mask_aug, %s', (heur) => {
    const cfg = loadConfig(MASK_CFG, { overrides: [...SMALL, ...MASK_AUG, 'TEST.MASK_AUG.HEUR', heur] });
    const net = new FakeNetwork(cfg);
    const out = detectMaskAug(cfg, net, IMAGE, MASK_BOXES);
    expect(net.log).toEqual(LOG_MASK);
    expect(out.masks).toEqual(f32(MASKS[heur]));
    expect(out.last).toBeNull();
  });

  test.each([['HM_AVG', true], ['HM_AVG', false], ['HM_MAX', true], ['HM_MAX', false]] as const)(
    'im_detect_keypoints_aug, %s, SCALE_SIZE_DEP %s', (heur, dep) => {
      const cfg = loadConfig(KPS_CFG, { overrides: [...KPS_AUG, 'TEST.KPS_AUG.HEUR', heur, 'TEST.KPS_AUG.SCALE_SIZE_DEP', dep ? 'True' : 'False'] });
      const net = new FakeNetwork(cfg);
      const out = detectKeypointsAug(cfg, net, IMAGE, KPS_BOXES);
      expect(net.log).toEqual(LOG_KPS);
      expect(out.shape).toEqual([3, 17, 2, 2]);
      expect(out.heatmaps).toEqual(f32(HEATMAPS[`${heur}_${dep ? 'dep' : 'all'}`]));
    },
  );

  test('keepLast hands over the last pass\'s conv body; a given identity body is reused, not recomputed', () => {
    const cfg = loadConfig(MASK_CFG, { overrides: [...SMALL, ...MASK_AUG] });
    const net = new FakeNetwork(cfg);
    const identity = net.convBody(IMAGE, 300, 500);
    const out = detectMaskAug(cfg, net, IMAGE, MASK_BOXES, { identity, keepLast: true });
    expect(out.last).not.toBeNull();
    // the identity conv body was the FakeNetwork's call 0, so the log is the reference's
    expect(net.log).toEqual(LOG_MASK);
    expect(out.last?.imScale).toBe(3);
  });

  test("Detectron's assertions and unsupported heuristics", () => {
    const faster = loadConfig(MASK_CFG, { overrides: [...SMALL, 'TEST.BBOX_AUG.SCORE_HEUR', 'AVG', 'TEST.BBOX_AUG.COORD_HEUR', 'AVG'] });
    expect(() => detectBboxAug(faster, new FakeNetwork(faster), IMAGE, null)).toThrow(/UNION/);
    const mixed = loadConfig(KPS_CFG, { overrides: ['TEST.BBOX_AUG.SCORE_HEUR', 'UNION'] });
    expect(() => detectBboxAug(mixed, new FakeNetwork(mixed), IMAGE, PROPOSALS)).toThrow(/UNION/);
    const sizeDep = loadConfig(MASK_CFG, { overrides: ['TEST.BBOX_AUG.SCALE_SIZE_DEP', 'True'] });
    expect(() => detectBboxAug(sizeDep, new FakeNetwork(sizeDep), IMAGE, null)).toThrow(/SCALE_SIZE_DEP/);
    const maskDep = loadConfig(MASK_CFG, { overrides: ['TEST.MASK_AUG.SCALE_SIZE_DEP', 'True'] });
    expect(() => detectMaskAug(maskDep, new FakeNetwork(maskDep), IMAGE, MASK_BOXES)).toThrow(/SCALE_SIZE_DEP/);
    const badMask = loadConfig(MASK_CFG, { overrides: ['TEST.MASK_AUG.HEUR', 'HM_AVG'] });
    expect(() => detectMaskAug(badMask, new FakeNetwork(badMask), IMAGE, MASK_BOXES)).toThrow(/not supported/);
    const badKps = loadConfig(KPS_CFG, { overrides: ['TEST.KPS_AUG.HEUR', 'SOFT_AVG'] });
    expect(() => detectKeypointsAug(badKps, new FakeNetwork(badKps), IMAGE, KPS_BOXES)).toThrow(/not supported/);
  });

  test('aspect_ratio_rel is cv2.resize (uint8 fixed point; float32), width rounded half to even', () => {
    const im = patternImage(37, 641);
    // SHA-1 prefixes of cv2.resize(im, dsize=(int(round(r * 641)), 37)) under OpenCV 4.6
    const expected: Array<[number, number, string]> = [
      [0.5, 320, '7a99e190896f'], [1.1, 705, '323a9e3e7d3d'], [0.8, 513, 'eba2575e1912'],
      [2.0, 1282, '4522a4933130'], [0.3, 192, '378cf30d8810'],
    ];
    for (const [ratio, width, digest] of expected) {
      const out = aspectRatioRel(im, ratio);
      expect([out.shape, sha(out)]).toEqual([[37, width, 3], digest]);
    }
    const small = patternImage(9, 13);
    const float: NdArray = { dtype: 'float32', shape: [9, 13, 3], data: Float32Array.from(small.data as Uint8Array, (v) => v / 3) };
    const out = aspectRatioRel(float, 1.37);
    expect([out.shape, sha(out)]).toEqual([[9, 18, 3], '3bdb9e244121']);
    expect(flipImage(flipImage(im))).toEqual(im);
  });
});

/** A uint8 image symmetric under im[:, ::-1, :]. */
function symmetricImage(h: number, w: number): NdArray {
  const data = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = Math.min(x, w - 1 - x);
      const blob = (u - w / 4) ** 2 + (y - h / 2) ** 2 < (h / 4) ** 2 ? 90 : 0;
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (40 + blob + ((u * 5 + y * 3 + c * 50) % 97)) % 256;
    }
  }
  return { dtype: 'uint8', shape: [h, w, 3], data };
}

const BLOBS = new Map<string, ReturnType<typeof loadWeights>['blobs']>();

function buildModel(cfgFile: string, overrides: string[], arch: string): GeneralizedRCNN {
  const model = new GeneralizedRCNN(loadConfig(cfgFile, { overrides }));
  if (!BLOBS.has(arch)) BLOBS.set(arch, loadWeights(detectronPkl(arch, 1)).blobs);
  // the keypoint TTA config runs on precomputed proposals: the file's RPN blobs go unused
  loadDetectronWeights(model, BLOBS.get(arch) ?? new Map(), { strict: false });
  model.channelsLast();
  return model;
}

// Small and quick: small scales, few proposals and detections, heads pooling 7×7 (same weights)
const FAST = [
  'TEST.SCALE', '200', 'TEST.MAX_SIZE', '400', 'TEST.RPN_PRE_NMS_TOP_N', '200', 'TEST.RPN_POST_NMS_TOP_N', '100',
  'TEST.DETECTIONS_PER_IM', '5', 'MRCNN.ROI_XFORM_RESOLUTION', '7', 'MRCNN.RESOLUTION', '14',
  'KRCNN.ROI_XFORM_RESOLUTION', '7', 'KRCNN.HEATMAP_SIZE', '28',
];
const NO_TRANSFORMS = [
  'TEST.BBOX_AUG.H_FLIP', 'False', 'TEST.BBOX_AUG.SCALES', '()', 'TEST.BBOX_AUG.SCALE_H_FLIP', 'False',
  'TEST.MASK_AUG.H_FLIP', 'False', 'TEST.MASK_AUG.SCALES', '()', 'TEST.MASK_AUG.SCALE_H_FLIP', 'False',
];

describe('with the model (generated Mask R-CNN R-50-FPN weights)', () => {
  let plain: GeneralizedRCNN;
  let image: NdArray;

  beforeAll(async () => {
    plain = buildModel(MASK_CFG, [...FAST, 'TEST.BBOX_AUG.ENABLED', 'False', 'TEST.MASK_AUG.ENABLED', 'False'], 'e2e_mask_rcnn_R-50-FPN');
    image = await imread(path.join(FIXTURES, 'images/15673749081_767a7fa63a_k.jpg'));
  });
  afterAll(() => plain.dispose());

  test('H_FLIP on a horizontally symmetric image: the flipped pass is the identity pass mirrored', () => {
    const cfg = loadConfig(MASK_CFG, { overrides: [...FAST, ...NO_TRANSFORMS, 'TEST.BBOX_AUG.H_FLIP', 'True', 'TEST.MASK_AUG.H_FLIP', 'True'] });
    const im = symmetricImage(240, 300);
    expect(flipImage(im)).toEqual(im);
    const net = modelNetwork(plain);
    const out = detectBboxAug(cfg, net, im, null);
    net.release(out);
    const C = cfg.MODEL.NUM_CLASSES;
    const r = out.scores.length / C / 2;
    expect(r).toBeGreaterThan(0);
    // UNION: [flipped pass; identity pass]
    expect(out.scores.subarray(0, r * C)).toEqual(out.scores.subarray(r * C));
    expect(out.boxes.subarray(0, 4 * C * r)).toEqual(flipBoxes(out.boxes.subarray(4 * C * r), 4 * C, 300));

    // boxes closed under mirroring: the flipped pass sees the same boxes in another order
    const boxes = new Float32Array([20, 30, 120, 200, 179, 30, 279, 200, 100, 60, 199, 150]);
    const perm = [1, 0, 2];
    // the same RoIs in another batch order: equal up to the conv kernels' summation order
    const masks: Float32Array[] = [];
    const recording: AugNetwork = { ...net, masks: (body, b) => { const m = net.masks(body, b); masks.push(m); return m; } };
    const avg = detectMaskAug(cfg, recording, im, boxes);
    expect(masks.length).toBe(2);
    const per = masks[0].length / 3;
    perm.forEach((p, i) => {
      const a = masks[1].subarray(i * per, (i + 1) * per);
      const b = masks[0].subarray(p * per, (p + 1) * per);
      expect(a.reduce((m, v, j) => Math.max(m, Math.abs(v - b[j])), 0)).toBeLessThan(1e-6);
    });
    expect(avg.masks.length).toBe(masks[0].length);
    expect(avg.masks.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  test('augmentation enabled without transforms is the plain path', () => {
    const noop = buildModel(MASK_CFG, [...FAST, ...NO_TRANSFORMS], 'e2e_mask_rcnn_R-50-FPN');
    try {
      expect(noop.cfg.TEST.BBOX_AUG.ENABLED && noop.cfg.TEST.MASK_AUG.ENABLED).toBe(true);
      const a = imDetectAll(noop, image);
      const b = imDetectAll(plain, image);
      expect(a.detections.length).toBeGreaterThan(0);
      expect(a.detections).toEqual(b.detections);
    } finally {
      noop.dispose();
    }
  });

  test('an augmented Mask R-CNN run gives well-formed detections', () => {
    const model = buildModel(MASK_CFG, [
      ...FAST, 'TEST.BBOX_AUG.SCALES', '(256,)', 'TEST.BBOX_AUG.MAX_SIZE', '500', 'TEST.BBOX_AUG.ASPECT_RATIOS', '(0.8,)',
      'TEST.MASK_AUG.SCALES', '(256,)', 'TEST.MASK_AUG.MAX_SIZE', '500', 'TEST.MASK_AUG.ASPECT_RATIOS', '(1.25,)',
      'TEST.MASK_AUG.ASPECT_RATIO_H_FLIP', 'True',
    ], 'e2e_mask_rcnn_R-50-FPN');
    try {
      const res = imDetectAll(model, image);
      const [h, w] = image.shape;
      expect(res.imScale).toBeCloseTo(200 / Math.min(h, w), 12);
      expect(res.detections.length).toBeGreaterThan(0);
      expect(res.detections.length).toBeLessThanOrEqual(8);
      for (const d of res.detections) {
        expect(d.classId).toBeGreaterThanOrEqual(1);
        expect(d.classId).toBeLessThan(81);
        expect(d.score).toBeGreaterThan(0.05);
        expect(d.score).toBeLessThanOrEqual(1);
        const [x1, y1, x2, y2] = d.box;
        expect(0 <= x1 && x1 <= x2 && x2 <= w - 1 && 0 <= y1 && y1 <= y2 && y2 <= h - 1).toBe(true);
        expect(d.mask?.size).toEqual([h, w]);
      }
    } finally {
      model.dispose();
    }
  });
});

describe('with the model (generated keypoint R-CNN R-50-FPN weights, precomputed proposals)', () => {
  test('an augmented keypoint run (AVG boxes, size-dependent HM_AVG) gives well-formed detections', async () => {
    const model = buildModel(KPS_CFG, [
      ...FAST, 'TEST.BBOX_AUG.SCALES', '(256,)', 'TEST.BBOX_AUG.MAX_SIZE', '500', 'TEST.BBOX_AUG.SCALE_H_FLIP', 'False',
      'TEST.BBOX_AUG.ASPECT_RATIOS', '(0.8,)',
      'TEST.KPS_AUG.SCALES', '(160, 256)', 'TEST.KPS_AUG.MAX_SIZE', '500', 'TEST.KPS_AUG.SCALE_H_FLIP', 'False',
      'TEST.KPS_AUG.AREA_TH', '40000',
    ], 'e2e_keypoint_rcnn_R-50-FPN');
    try {
      expect(model.rpn).toBeNull();
      const image = await imread(path.join(FIXTURES, 'images/19064748793_bb942deea1_k.jpg'));
      const [h, w] = image.shape;
      // deterministic proposals over the image, with an exact and a sub-1/16 px near duplicate
      const props: number[] = [];
      for (let i = 0; i < 40; i++) {
        const x = ((i * 137) % 97) / 97 * (w - 300);
        const y = ((i * 61) % 89) / 89 * (h - 400);
        props.push(x, y, x + 100 + ((i * 53) % 200), y + 150 + ((i * 29) % 250));
      }
      props.push(...props.slice(0, 4), props[4] + 0.01, props[5], props[6], props[7]);
      const proposals = new Float32Array(props);

      // DEDUP_BOXES: the duplicates share their representative's RoI and predictions
      const stage = imDetectBbox(model, image, 200, 400, proposals);
      dispose(stage.features.features);
      expect(stage.debug.proposals.length / 5).toBe(40);
      const C = model.cfg.MODEL.NUM_CLASSES;
      for (const [dup, rep] of [[40, 0], [41, 1]]) {
        expect(stage.scores.subarray(dup * C, (dup + 1) * C)).toEqual(stage.scores.subarray(rep * C, (rep + 1) * C));
        expect(stage.boxes.subarray(dup * 4 * C, (dup + 1) * 4 * C)).toEqual(stage.boxes.subarray(rep * 4 * C, (rep + 1) * 4 * C));
      }

      const res = imDetectAll(model, image, proposals);
      expect(res.detections.length).toBeGreaterThan(0);
      for (const d of res.detections) {
        expect(d.classId).toBe(1);
        expect(d.keypoints?.length).toBe(17);
        for (const k of d.keypoints ?? []) expect(k.every(Number.isFinite)).toBe(true);
        const [x1, y1, x2, y2] = d.box;
        expect(0 <= x1 && x1 <= x2 && x2 <= w - 1 && 0 <= y1 && y1 <= y2 && y2 <= h - 1).toBe(true);
      }
    } finally {
      model.dispose();
    }
  });
});
