/**
 * One image through whichever test path the model has, as Detectron's test.im_detect_all
 * (RetinaNet's im_detect_bbox when RETINANET.RETINANET_ON, the R-CNN path otherwise), and
 * several at once (batched conv body, same results as one at a time).
 */
import type { DetectionModel } from '../modeling/build';
import type { GeneralizedRCNN } from '../modeling/model_builder';
import { RetinaNet } from '../modeling/retinanet';
import { dispose } from '../nn/scope';
import type { NdArray } from '../utils/ndarray';
import type { ImageDetections } from './detections';
import { convBodyBatch, imageBlob, imDetectAll, type PrecomputedBody } from './test';
import { detectRetinaNet } from './test_retinanet';
import { StageTimes } from './timers';

/** The error for detection on an RPN-only model, which has no box head. */
export function rpnOnlyError(what: string): Error {
  return new Error(`${what}: MODEL.RPN_ONLY is set: an RPN-only model gives proposals, not detections. ` +
    "Run 'detectron test_net' on a dataset to generate proposals (rpn_proposals.pkl) and their recall, " +
    "as Detectron's generate_rpn_on_dataset");
}

export function detectImage(model: DetectionModel, im: NdArray, times = new StageTimes()): ImageDetections {
  if (model instanceof RetinaNet) return detectRetinaNet(model, im, times);
  if (model.cfg.RETINANET.RETINANET_ON) {
    throw new Error('RETINANET.RETINANET_ON is set but the model is a Generalized R-CNN (MODEL.TYPE retinanet builds a RetinaNet)');
  }
  if (model.cfg.MODEL.RPN_ONLY) throw rpnOnlyError('detection');
  return imDetectAll(model, im, null, times);
}

/** Whether `model`'s test path can take a shared conv-body pass (else images run one at a time). */
export function canBatchConvBody(model: DetectionModel): model is GeneralizedRCNN {
  return !(model instanceof RetinaNet) && !model.cfg.RETINANET.RETINANET_ON && !model.cfg.TEST.BBOX_AUG.ENABLED;
}

/**
 * Conv-body passes for a batch of images at TEST.SCALE, shared by images whose blobs have one
 * shape (convBodyBatch); its time is split evenly over the images, as stage 'conv_body_batch'.
 */
export function precomputeBodies(model: GeneralizedRCNN, ims: readonly NdArray[], times: readonly StageTimes[]): PrecomputedBody[] {
  const cfg = model.cfg;
  const t0 = process.hrtime.bigint();
  const blobs = ims.map((im) => imageBlob(cfg, im, cfg.TEST.SCALE, cfg.TEST.MAX_SIZE));
  const features = convBodyBatch(model, blobs);
  const eachMs = Number(process.hrtime.bigint() - t0) / 1e6 / Math.max(1, ims.length);
  times.forEach((t) => t.add('conv_body_batch', eachMs));
  return blobs.map((blob, i) => ({ blob, features: features[i] }));
}

/**
 * detectImage for several images (TEST.IMS_PER_BATCH): one conv-body pass per group of equal
 * blob shapes, the rest of the test path per image; results identical to one at a time.
 * `proposals[i]`: image i's precomputed proposals (Fast R-CNN), or null.
 */
export function detectImages(
  model: DetectionModel, ims: readonly NdArray[], times: readonly StageTimes[] = ims.map(() => new StageTimes()),
  proposals: ReadonlyArray<Float32Array | null> | null = null,
): ImageDetections[] {
  const props = (i: number): Float32Array | null => proposals?.[i] ?? null;
  if (ims.length <= 1 || !canBatchConvBody(model)) {
    return ims.map((im, i) => {
      const p = props(i);
      if (p === null) return detectImage(model, im, times[i]);
      if (model instanceof RetinaNet) throw new Error('RetinaNet takes no proposals: set TEST.PRECOMPUTED_PROPOSALS False');
      const { debug: _debug, ...dets } = imDetectAll(model, im, p, times[i]);
      return dets;
    });
  }
  if (model.cfg.MODEL.RPN_ONLY) throw rpnOnlyError('detection');
  const pre: Array<PrecomputedBody | null> = precomputeBodies(model, ims, times);
  const out: ImageDetections[] = [];
  try {
    for (let i = 0; i < ims.length; i++) {
      const p = pre[i] as PrecomputedBody;
      pre[i] = null; // imDetectAll owns (and disposes) it now
      const { debug: _debug, ...dets } = imDetectAll(model, ims[i], props(i), times[i], p);
      out.push(dets);
    }
  } finally {
    for (const p of pre) if (p !== null) dispose(p.features.features);
  }
  return out;
}
