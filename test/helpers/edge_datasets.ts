/**
 * Small COCO-format datasets exercising every rule of Detectron's roidb (json_dataset.py,
 * roidb.py), written into a temporary folder with empty image files. The same files were fed to
 * Detectron's own json_dataset.py / roidb.py (run unmodified under Python 3 + numpy + scipy, with
 * numpy stand-ins for cython_bbox.bbox_overlaps and pycocotools' box IoU, and polygon-only
 * flip_segms) to obtain the expected values in json_dataset.test.ts and roidb.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { DatasetSpec } from '../../lib/datasets/dataset_catalog';
import { COCO_KEYPOINTS } from '../../lib/utils/keypoints';
import { FIXTURES } from './fixtures';

const poly = (x: number, y: number, x2: number, y2: number): number[] => [x, y, x2, y, x2, y2, x, y2];

/** Column-major counts of a 80×100 mask that is 1 where x < 60 and y < 50. */
export function edgeCrowdCounts(): number[] {
  const counts = [0];
  for (let x = 0; x < 60; x++) counts.push(50, 30);
  counts[counts.length - 1] += 40 * 80;
  return counts;
}

/**
 * Images 10 (100×80), 3 (50×60), 7 (40×40, no annotations); categories in the file order
 * cat (5), dog (2), person (9, without keypoints). Annotations of image 10: a box with a polygon
 * too short to keep, a crowd RLE, a box reaching out of the image, zero area, a box outside the
 * image, a box narrower than 1 px, an ignored one, one of area 3, fractional coordinates.
 */
export const EDGE_JSON = {
  info: { description: 'edge cases' },
  images: [
    { id: 10, file_name: 'a.jpg', width: 100, height: 80 },
    { id: 3, file_name: 'b.jpg', width: 50, height: 60 },
    { id: 7, file_name: 'c.jpg', width: 40, height: 40 },
  ],
  categories: [
    { id: 5, name: 'cat' },
    { id: 2, name: 'dog' },
    { id: 9, name: 'person' },
  ],
  annotations: [
    { id: 1, image_id: 10, category_id: 5, iscrowd: 0, area: 900, bbox: [10.5, 20.25, 30, 40], segmentation: [poly(10.5, 20.25, 40, 60), [1, 2, 3, 4]] },
    { id: 2, image_id: 10, category_id: 9, iscrowd: 1, area: 3000, bbox: [0, 0, 60, 50], segmentation: { counts: edgeCrowdCounts(), size: [80, 100] } },
    { id: 3, image_id: 10, category_id: 2, iscrowd: 0, area: 100, bbox: [90, 70, 30, 30], segmentation: [poly(90, 70, 99, 79)] },
    { id: 4, image_id: 10, category_id: 2, iscrowd: 0, area: 0, bbox: [5, 5, 10, 10], segmentation: [poly(5, 5, 15, 15)] },
    { id: 5, image_id: 10, category_id: 2, iscrowd: 0, area: 25, bbox: [120, 10, 5, 5], segmentation: [poly(120, 10, 125, 15)] },
    { id: 6, image_id: 10, category_id: 2, iscrowd: 0, area: 5, bbox: [5, 5, 0.5, 10], segmentation: [poly(5, 5, 5.5, 15)] },
    { id: 7, image_id: 10, category_id: 5, iscrowd: 0, area: 400, bbox: [60, 5, 20, 20], segmentation: [poly(60, 5, 80, 25)], ignore: 1 },
    { id: 8, image_id: 10, category_id: 2, iscrowd: 0, area: 3, bbox: [50, 50, 2, 2], segmentation: [poly(50, 50, 52, 52)] },
    {
      id: 9, image_id: 10, category_id: 2, iscrowd: 0, area: 100.5,
      bbox: [33.333333, 11.111111, 20.123456, 7.654321], segmentation: [poly(33.333333, 11.111111, 53.45, 18.76)],
    },
    { id: 10, image_id: 3, category_id: 2, iscrowd: 0, area: 400, bbox: [1, 2, 20, 30], segmentation: [poly(1, 2, 21, 32)] },
    { id: 11, image_id: 3, category_id: 5, iscrowd: 0, area: 350, bbox: [25, 10, 20, 20], segmentation: [poly(25, 10, 45, 30)] },
  ],
};

function kpTriples(set: Record<number, [number, number, number]>): number[] {
  const out = new Array<number>(51).fill(0);
  for (const [j, v] of Object.entries(set)) out.splice(3 * Number(j), 3, ...v);
  return out;
}

/** A keypoint dataset: image 1 and 3 have people without visible keypoints, image 2 has one. */
export const KP_EDGE_JSON = {
  images: [
    { id: 1, file_name: 'k1.jpg', width: 100, height: 100 },
    { id: 2, file_name: 'k2.jpg', width: 80, height: 60 },
    { id: 3, file_name: 'k3.jpg', width: 50, height: 50 },
  ],
  categories: [{ id: 1, name: 'person', supercategory: 'person', keypoints: [...COCO_KEYPOINTS], skeleton: [[16, 14]] }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, iscrowd: 0, area: 500, bbox: [10, 10, 20, 40], num_keypoints: 0, keypoints: kpTriples({}), segmentation: [poly(10, 10, 30, 50)] },
    {
      id: 2, image_id: 2, category_id: 1, iscrowd: 0, area: 900, bbox: [10, 5, 50, 54], num_keypoints: 6,
      keypoints: kpTriples({ 0: [40, 10, 2], 1: [42, 8, 1], 2: [38, 8, 2], 5: [50.9, 20.2, 2], 6: [12.7, 21, 1], 15: [55, 58, 2] }),
      segmentation: [poly(10, 5, 60, 59)],
    },
    { id: 3, image_id: 3, category_id: 1, iscrowd: 0, area: 300, bbox: [5, 5, 10, 30], num_keypoints: 0, keypoints: kpTriples({}), segmentation: [poly(5, 5, 15, 35)] },
  ],
};

/**
 * Detectron proposals for EDGE_JSON, pickled by Python 3 + numpy (protocol 2): ids [3, 10, 99, 7]
 * (99 is not in the dataset), float32 boxes with duplicates, tiny boxes, boxes out of the image
 * and boxes over the crowd region; scores linspace(1, 0).
 */
const EDGE_PROPOSALS_PKL_BASE64 =
  'gAJ9cQAoWAMAAABpZHNxAV1xAihLA0sKS2NLB2VYBQAAAGJveGVzcQNdcQQoY251bXB5Ll9jb3JlLm11bHRpYXJyYXkKX3JlY29u' +
  'c3RydWN0CnEFY251bXB5Cm5kYXJyYXkKcQZLAIVxB2NfY29kZWNzCmVuY29kZQpxCFgBAAAAYnEJWAYAAABsYXRpbjFxCoZxC1Jx' +
  'DIdxDVJxDihLAUsGSwSGcQ9jbnVtcHkKZHR5cGUKcRBYAgAAAGY0cRGJiIdxElJxEyhLA1gBAAAAPHEUTk5OSv////9K/////0sA' +
  'dHEVYoloCFhpAAAAAADCgD8AAABAAADCoEEAAMO4QQAAAAAAAAAAAABEQgAAbEIAAMOQQQAAMEEAADBCAADDqEEAAMKAPwAAAEAA' +
  'AMKgQQAAw7hBAAAgQQAAIEEAADBBAAAwQQAAw7BBAAAgQgAANEIAAFxCcRZoCoZxF1JxGHRxGWJoBWgGSwCFcRpoDIdxG1JxHChL' +
  'AUsLSwSGcR1oE4loCFjAAAAAAAAgQQAAwqBBAAAcQgAAbEIAAAAAAAAAAAAAXEIAADRCAADCoEAAAMKgQAAAw7BBAADDsEEAADBB' +
  'AADCqEEAACBCAAB0QgAAwqDDgAAAQMOAAADCoEEAAMOwQQAAwr5CAADClkIAAAJDAADCtEIAAEhCAABIQgAAUEIAAFBCAABIQgAA' +
  'SEIAAFZCAABWQgAABEIAADBBAABUQgAAwpBBAABIQQAAwrJBAAAPQgAAXkIAAAAAAAAAAAAAXEIAADRCcR5oCoZxH1JxIHRxIWJo' +
  'BWgGSwCFcSJoDIdxI1JxJChLAUsBSwSGcSVoE4loCFgSAAAAAAAAAAAAAAAAAMKgQAAAwqBAcSZoCoZxJ1JxKHRxKWJoBWgGSwCF' +
  'cSpoDIdxK1JxLChLAUsCSwSGcS1oE4loCFgkAAAAAAAAAAAAAAAAABxCAAAcQgAAwqBAAADCoEAAAMKgQQAAwqBBcS5oCoZxL1Jx' +
  'MHRxMWJlWAYAAABzY29yZXNxMl1xMyhoBWgGSwCFcTRoDIdxNVJxNihLAUsGhXE3aBOJaAhYIgAAAAAAwoA/w43DjEw/wprCmRk/' +
  'w43DjMOMPsONw4xMPgAAAABxOGgKhnE5UnE6dHE7YmgFaAZLAIVxPGgMh3E9UnE+KEsBSwuFcT9oE4loCFg8AAAAAADCgD9mZmY/' +
  'w43DjEw/MzMzP8KawpkZPwAAAD/DjcOMw4w+wprCmcKZPsONw4xMPsONw4zDjD0AAAAAcUBoCoZxQVJxQnRxQ2JoBWgGSwCFcURo' +
  'DIdxRVJxRihLAUsBhXFHaBOJaAhYBQAAAAAAwoA/cUhoCoZxSVJxSnRxS2JoBWgGSwCFcUxoDIdxTVJxTihLAUsChXFPaBOJaAhY' +
  'CgAAAAAAwoA/AADCgD9xUGgKhnFRUnFSdHFTYmV1Lg==';

export interface EdgeDatasets {
  dir: string;
  edge: DatasetSpec;
  kpEdge: DatasetSpec;
  proposals: string;
  /** The real val2017 ground truth of image 448263 (with a crowd RLE), its image an empty file. */
  val448263: DatasetSpec;
  instancesMini: DatasetSpec;
  keypointsMini: DatasetSpec;
}

export function writeEdgeDatasets(): EdgeDatasets {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detectron-datasets-'));
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  for (const f of ['a.jpg', 'b.jpg', 'c.jpg', 'k1.jpg', 'k2.jpg', 'k3.jpg', '000000448263.jpg']) fs.writeFileSync(path.join(images, f), '');
  fs.writeFileSync(path.join(dir, 'edge.json'), JSON.stringify(EDGE_JSON));
  fs.writeFileSync(path.join(dir, 'kp_edge.json'), JSON.stringify(KP_EDGE_JSON));
  const proposals = path.join(dir, 'proposals.pkl');
  fs.writeFileSync(proposals, Buffer.from(EDGE_PROPOSALS_PKL_BASE64, 'base64'));
  const coco = path.join(FIXTURES, 'coco');
  return {
    dir,
    edge: { annotationFile: path.join(dir, 'edge.json'), imageDirectory: images, name: 'edge' },
    kpEdge: { annotationFile: path.join(dir, 'kp_edge.json'), imageDirectory: images, name: 'kp_edge' },
    proposals,
    val448263: { annotationFile: path.join(coco, 'eval', 'instances_val2017_448263_gt.json'), imageDirectory: images, name: 'val448263' },
    instancesMini: { annotationFile: path.join(coco, 'annotations', 'instances_mini.json'), imageDirectory: path.join(coco, 'images'), name: 'mini' },
    keypointsMini: {
      annotationFile: path.join(coco, 'annotations', 'person_keypoints_mini.json'),
      imageDirectory: path.join(coco, 'images'),
      name: 'kp_mini',
    },
  };
}
