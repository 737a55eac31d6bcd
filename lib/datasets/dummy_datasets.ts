/**
 * Detectron's detectron/datasets/dummy_datasets.py: stand-in datasets that only name the
 * classes, so a demo can label detections without the dataset's annotation files.
 */

/** What the visualisation needs of a dataset: class names by contiguous id (0 = background). */
export interface ClassNames {
  classes: readonly string[];
}

/** COCO's 80 classes in Detectron's contiguous order, '__background__' at 0. */
export const COCO_CLASSES: readonly string[] = Object.freeze([
  '__background__', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck',
  'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
  'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
  'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
  'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
  'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
  'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
  'teddy bear', 'hair drier', 'toothbrush',
]);

/** get_coco_dataset(): the dummy COCO dataset (class names only). */
export function getCocoDataset(): ClassNames {
  return { classes: COCO_CLASSES };
}
