/**
 * One image through whichever test path the model has, as Detectron's test.im_detect_all
 * (RetinaNet's im_detect_bbox when RETINANET.RETINANET_ON, the R-CNN path otherwise).
 */
import type { DetectionModel } from '../modeling/build';
import { RetinaNet } from '../modeling/retinanet';
import type { NdArray } from '../utils/ndarray';
import type { ImageDetections } from './detections';
import { imDetectAll } from './test';
import { detectRetinaNet } from './test_retinanet';
import { StageTimes } from './timers';

export function detectImage(model: DetectionModel, im: NdArray, times = new StageTimes()): ImageDetections {
  if (model instanceof RetinaNet) return detectRetinaNet(model, im, times);
  if (model.cfg.RETINANET.RETINANET_ON) {
    throw new Error('RETINANET.RETINANET_ON is set but the model is a Generalized R-CNN (MODEL.TYPE retinanet builds a RetinaNet)');
  }
  return imDetectAll(model, im, null, times);
}
