/**
 * What the test path returns for one image, in Detectron's order: class by class
 * (contiguous ids 1..C-1), NMS output order within a class.
 */

import type { CompressedRle } from '../datasets/pycocotools/mask';

export type { CompressedRle };

export interface Detection {
  /** Detectron's contiguous class id, 1..NUM_CLASSES-1. */
  classId: number;
  /** x1, y1, x2, y2 in image pixels. */
  box: [number, number, number, number];
  score: number;
  /** With MODEL.MASK_ON: the binarised mask pasted at image size. */
  mask?: CompressedRle;
  /** With MODEL.KEYPOINTS_ON: per keypoint [x, y, logit, prob]. */
  keypoints?: Array<[number, number, number, number]>;
}

export interface ImageDetections {
  height: number;
  width: number;
  /** The scale from image to network input. */
  imScale: number;
  /** Every detection above TEST.SCORE_THRESH. */
  detections: Detection[];
}
