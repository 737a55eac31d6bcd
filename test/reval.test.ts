/**
 * `detectron reval` through the real command line program. Expected numbers are the golden
 * pycocotools figures of fixtures/golden/coco_eval (and, for the table, Detectron's
 * _log_detection_eval_metrics formatting of the same per-category APs: '{:.1f}' of 100*AP).
 */
import * as path from 'path';
import { buildProgram } from '../tools/detectron';
import { captureOutput } from './helpers/capture_output';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const GOLDEN = path.join(FIXTURES, 'golden/coco_eval');

/** Runs `detectron ...args` and returns what it wrote to stdout. */
async function run(args: string[]): Promise<string> {
  return (await captureOutput(() => buildProgram().exitOverride().parseAsync(['node', 'detectron', ...args]))).stdout;
}

const bboxArgs = [
  'reval',
  '--gt',
  path.join(FIXTURES, 'coco/annotations/instances_mini.json'),
  '--dets',
  path.join(GOLDEN, 'instances_mini_bbox.dets.json'),
  '--type',
  'bbox',
];

describe('detectron reval', () => {
  test('--json prints stats and per-category AP', async () => {
    const out = JSON.parse(await run([...bboxArgs, '--json'])) as { stats: number[]; per_category_AP: Record<string, number> };
    expect(out.stats).toHaveLength(12);
    expect(out.stats[0]).toBeCloseTo(0.2572517251725172, 12);
    expect(out.stats[11]).toBeCloseTo(0.31071428571428567, 12);
    expect(Object.keys(out.per_category_AP)).toHaveLength(80);
    expect(out.per_category_AP['1']).toBeCloseTo(0.1822982298229823, 12);
    expect(out.per_category_AP['65']).toBeCloseTo(0.5999999999999999, 12);
    expect(out.per_category_AP['2']).toBe(-1);
  });

  test("prints Detectron's per-category table and pycocotools' summary", async () => {
    const lines = (await run(bboxArgs)).trimEnd().split('\n');
    expect(lines[0]).toBe('~~~~ Mean and per-category AP @ IoU=[0.50,0.95] ~~~~');
    expect(lines[1]).toBe('25.7');
    // One line per category in id order: person, bicycle, ... (ids 1, 2, ...).
    expect(lines.slice(2, 5)).toEqual(['18.2', 'nan', 'nan']);
    expect(lines.length).toBe(2 + 80 + 1 + 12);
    const cat = (id: number): string => lines[2 + [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17].indexOf(id)];
    expect(cat(17)).toBe('20.2');
    expect(lines[82]).toBe('~~~~ Summary metrics ~~~~');
    expect(lines[83]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.257');
    expect(lines[94]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.311');
  });

  test('keypoints: summary only, 10 numbers', async () => {
    const args = [
      'reval',
      '--gt',
      path.join(FIXTURES, 'coco/annotations/person_keypoints_mini.json'),
      '--dets',
      path.join(GOLDEN, 'person_keypoints_mini_keypoints.dets.json'),
      '--type',
      'keypoints',
    ];
    const lines = (await run(args)).trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ] = 0.533');
    const out = JSON.parse(await run([...args, '--json'])) as { stats: number[]; per_category_AP: Record<string, number> };
    expect(out.stats[3]).toBeCloseTo(0.8048090523338048, 12);
    expect(out.per_category_AP).toEqual({ '1': out.stats[0] });
  });

  test('bad input is an error naming the problem', async () => {
    await expect(run([...bboxArgs.slice(0, 6), 'masks'])).rejects.toThrow("--type must be one of bbox, segm, keypoints, got 'masks'");
    const wrongGt = ['reval', '--gt', path.join(FIXTURES, 'coco/eval/gt_annotations_139_285.json'), ...bboxArgs.slice(3)];
    await expect(run(wrongGt)).rejects.toThrow(/results entry 0: image_id 785 is not an image of the ground truth/);
    await expect(run(['reval', '--gt', path.join(FIXTURES, 'nope.json'), ...bboxArgs.slice(3)])).rejects.toThrow(
      /cannot read annotation file .*nope.json/,
    );
  });
});
