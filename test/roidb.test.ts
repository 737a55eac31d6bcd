/**
 * Detectron's roidb.py: combined_roidb_for_training, filter_for_training, bbox regression
 * targets, and the loader's aspect-ratio grouping.
 *
 * Expected values come from Detectron's own roidb.py / json_dataset.py run unmodified on the same
 * files (see test/helpers/edge_datasets.ts); float32 values are the exact doubles numpy holds.
 */
import * as fs from 'fs';
import { getDefaultConfig, type DetectronConfig } from '../lib/core/config';
import { JsonDataset } from '../lib/datasets/json_dataset';
import {
  aspectRatioGroups,
  combinedRoidbForTraining,
  computeAndLogStats,
  computeBboxRegressionTargets,
  extendWithFlippedEntries,
  filterForTraining,
  shuffleRoidbInds,
} from '../lib/datasets/roidb';
import { writeEdgeDatasets, type EdgeDatasets } from './helpers/edge_datasets';

let fx: EdgeDatasets;
beforeAll(() => {
  fx = writeEdgeDatasets();
});
afterAll(() => {
  fs.rmSync(fx.dir, { recursive: true, force: true });
});

const arr = (a: ArrayLike<number>): number[] => Array.from(a);

function config(edit: (cfg: DetectronConfig) => void = () => {}): DetectronConfig {
  const cfg = getDefaultConfig();
  edit(cfg);
  return cfg;
}

describe('combinedRoidbForTraining', () => {
  it('loads, flips, filters and adds bbox targets (instances_mini.json)', async () => {
    const lines: string[] = [];
    const roidb = await combinedRoidbForTraining(fx.instancesMini, null, config(), { log: (l) => lines.push(l) });
    expect(roidb.map((e) => [e.id, e.flipped])).toEqual([
      [785, false], [39769, false], [40083, false], [196141, false], [197388, false],
      [785, true], [39769, true], [40083, true], [196141, true], [197388, true],
    ]);
    expect(lines).toEqual([
      'Appending horizontally-flipped training examples...', 'Loaded dataset: mini', 'Filtered 0 roidb entries: 10 -> 10',
      'Computing bounding-box regression targets...', 'done',
    ]);
    // gt boxes regress to themselves: (class, 0, 0, 0, 0)
    expect(arr(roidb[1].bbox_targets as Float32Array)).toEqual([66, 0, 0, 0, 0, 66, 0, 0, 0, 0, 58, 0, 0, 0, 0, 60, 0, 0, 0, 0, 16, 0, 0, 0, 0, 16, 0, 0, 0, 0]);
    expect(computeAndLogStats(roidb).reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('joins datasets and their proposal files, with the crowd filter of TRAIN.CROWD_FILTER_THRESH', async () => {
    const cfg = config(); // CROWD_FILTER_THRESH 0.7, BBOX_REG_WEIGHTS (10, 10, 5, 5)
    const roidb = await combinedRoidbForTraining([fx.edge, fx.edge], [fx.proposals, fx.proposals], cfg);
    expect(roidb.map((e) => [e.id, e.flipped])).toEqual([
      [3, false], [7, false], [10, false], [3, true], [7, true], [10, true],
      [3, false], [7, false], [10, false], [3, true], [7, true], [10, true],
    ]);
    const b = roidb[0];
    expect(arr(b.bbox_targets as Float32Array)).toEqual([
      2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      1, -0.2631579041481018, -0.2631579041481018, 0.25646665692329407, 0.25646665692329407, 0, 0, 0, 0, 0,
    ]);
    const a = roidb[5];
    expect(arr(a.boxes)).toEqual([
      59.5, 20.25, 88.5, 59.25, 40, 0, 99, 49, 0, 70, 9, 79, 48, 50, 49, 51, 46.543212890625, 11.11111068725586, 65.66667175292969,
      17.765432357788086, 60, 20, 89, 59, 44, 0, 99, 45, 69, 5, 94, 30, 59, 21, 88, 61, 79, 0, 99, 30, 0, 75, 4, 79, 47, 50, 49, 52,
      45.5, 50, 49, 53.5, 46, 11, 66, 18, 63.25, 22.25, 86.5, 55.5,
    ]);
    expect(arr(a.max_overlaps)).toEqual([1, -1, 1, 1, 1, -1, -1, -1, -1, -1, 0.25, 0.4444444477558136, 0.1975308656692505, -1, -1]);
    const t = a.bbox_targets as Float32Array;
    expect([t[0], t[5], t[10], t[15], t[20]]).toEqual([1, 0, 2, 2, 2]);
    expect(arr(t.subarray(25))).toEqual(new Array<number>(50).fill(0));
  });

  it('checks the proposal file count', async () => {
    await expect(combinedRoidbForTraining([fx.edge, fx.edge], [fx.proposals], config())).rejects.toThrow(
      '2 datasets but 1 proposal files (give none, or one per dataset)',
    );
  });
});

describe('filterForTraining', () => {
  it('drops entries with neither foreground nor background boxes', async () => {
    const ds = await JsonDataset.load(fx.edge);
    const roidb = ds.getRoidb({ gt: true, gtMinArea: 4 });
    extendWithFlippedEntries(roidb, ds);
    const lines: string[] = [];
    const kept = filterForTraining(roidb, config(), (l) => lines.push(l));
    expect(kept.map((e) => [e.id, e.flipped])).toEqual([[3, false], [10, false], [3, true], [10, true]]);
    expect(lines).toEqual(['Filtered 2 roidb entries: 6 -> 4']);
    // background boxes: overlap in [BG_THRESH_LO, BG_THRESH_HI); FG_THRESH above every overlap
    const onlyBg = filterForTraining(roidb, config((c) => { c.TRAIN.FG_THRESH = 1.1; c.TRAIN.BG_THRESH_LO = 0.1; }));
    expect(onlyBg).toHaveLength(0);
  });

  it('keeps only images with visible keypoints when training keypoints', async () => {
    const ds = await JsonDataset.load(fx.kpEdge);
    const roidb = ds.getRoidb({ gt: true });
    extendWithFlippedEntries(roidb, ds);
    expect(filterForTraining(roidb, config((c) => { c.MODEL.KEYPOINTS_ON = true; })).map((e) => [e.id, e.flipped])).toEqual([[2, false], [2, true]]);
    expect(filterForTraining(roidb, config())).toHaveLength(6);
    expect(arr(roidb[4].gt_keypoints as Int32Array)).toEqual([
      39, 41, 37, 0, 0, 67, 29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24,
      10, 8, 8, 0, 0, 21, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 58,
      2, 2, 1, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
    ]);
  });
});

describe('computeBboxRegressionTargets', () => {
  it('uses class 1 with CLS_AGNOSTIC_BBOX_REG and follows BBOX_THRESH', async () => {
    const ds = await JsonDataset.load(fx.edge);
    const roidb = ds.getRoidb({ gt: true, proposalFile: fx.proposals, crowdFilterThresh: 0.7 });
    const agnostic = computeBboxRegressionTargets(roidb[0], config((c) => { c.MODEL.CLS_AGNOSTIC_BBOX_REG = true; }));
    expect(arr(agnostic)).toEqual([
      1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      1, -0.2631579041481018, -0.2631579041481018, 0.25646665692329407, 0.25646665692329407, 0, 0, 0, 0, 0,
    ]);
    // the 0.2 overlap proposal joins at BBOX_THRESH 0.2 (compared in float32: 0.2f >= 0.2f)
    const low = computeBboxRegressionTargets(roidb[0], config((c) => { c.TRAIN.BBOX_THRESH = 0.2; }));
    expect(low[15]).toBe(2);
    expect(computeBboxRegressionTargets(roidb[1], config())).toEqual(new Float32Array(10));
  });
});

describe('aspect-ratio grouping', () => {
  const shapes = [[640, 480], [480, 640], [500, 500], [300, 600], [800, 600], [600, 800], [640, 427], [427, 640], [640, 360]].map(
    ([width, height]) => ({ width, height }),
  );

  it('groups horizontal (width >= height) and vertical images', () => {
    const g = aspectRatioGroups(shapes);
    expect([arr(g.horizontal), arr(g.vertical)]).toEqual([[0, 2, 4, 6, 8], [1, 3, 5, 7]]);
  });

  it('makes whole minibatches of one orientation', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const perm = shuffleRoidbInds(shapes, config(), random); // IMS_PER_BATCH 2
    expect(perm).toHaveLength(8); // 5 horizontal -> 4, 4 vertical -> 4
    for (let i = 0; i < perm.length; i += 2) {
      const [a, b] = [shapes[perm[i]], shapes[perm[i + 1]]];
      expect(a.width >= a.height).toBe(b.width >= b.height);
    }
    expect(new Set(perm).size).toBe(8);
    const plain = shuffleRoidbInds(shapes, config((c) => { c.TRAIN.ASPECT_GROUPING = false; }), random);
    expect([...plain].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
