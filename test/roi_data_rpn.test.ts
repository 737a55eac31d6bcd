/**
 * RPN targets (lib/roi_data/rpn.ts) against Detectron's rpn.py: a hand-made single-level case
 * where both subsamplings happen, and FPN targets on a real fixture image at TRAIN.SCALES 800.
 * Expected values and numpy's recorded draws: see test/helpers/roi_data_expected.ts.
 */
import { addRpnBlobs, getRpnBlobNames, getRpnBlobs, rpnFieldsOfAnchors } from '../lib/roi_data/rpn';
import { getFieldOfAnchors } from '../lib/roi_data/data_utils';
import { computeImScale } from '../lib/utils/blob';
import type { NdArray } from '../lib/utils/ndarray';
import { RPN_EXPECTED, type RpnLevel } from './helpers/roi_data_expected';
import { ReplaySource } from './helpers/replay_rng';
import { dataOf, entryById, fixtureRoidb, makeCfg, toSparse } from './helpers/roi_data_fixtures';

function expectLevel(labels: Int32Array, targets: Float32Array, inside: Float32Array, outside: Float32Array, exp: RpnLevel): void {
  expect(toSparse(labels, -1)).toEqual(exp.labels);
  expect(toSparse(targets, 0)).toEqual(exp.targets);
  expect(toSparse(inside, 0)).toEqual(exp.inside);
  const nz = Array.from(outside).filter((v) => v !== 0);
  expect(nz.length).toBe(exp.outside_count);
  expect(new Set(nz)).toEqual(new Set(exp.outside_count > 0 ? [exp.outside_value] : []));
}

describe('RPN targets', () => {
  it('single level, fg and bg subsampling (hand-made gt incl. a tiny box)', () => {
    const exp = RPN_EXPECTED.A;
    const cfg = makeCfg({ 'TRAIN.MAX_SIZE': 200, 'RPN.SIZES': [32, 64], 'TRAIN.RPN_BATCH_SIZE_PER_IM': 32, 'TRAIN.RPN_FG_FRACTION': 0.25 });
    const foa = getFieldOfAnchors(16, [32, 64], [0.5, 1, 2], cfg);
    expect(foa.fieldSize).toBe(exp.field_size);
    expect(Array.from(foa.anchors.subarray(0, 48))).toEqual(exp.anchors_head);
    const rng = new ReplaySource(exp.draws);
    const [t] = getRpnBlobs(100, 150, [foa], Float32Array.from(exp.gt), cfg, rng);
    expect(rng.remaining).toBe(0);
    expect([1, foa.numCellAnchors, foa.fieldSize, foa.fieldSize]).toEqual(exp.shape);
    expectLevel(t.labels, t.bboxTargets, t.bboxInsideWeights, t.bboxOutsideWeights, exp);
  });

  it('FPN levels 2-6 on fixture image 197388 (crowd-free gt, default batch 256)', async () => {
    const exp = RPN_EXPECTED.B;
    const entry = entryById(await fixtureRoidb('instances_mini.json'), 197388);
    expect(Array.from(entry.boxes)).toEqual(exp.boxes);
    const cfg = makeCfg({ 'TRAIN.MAX_SIZE': 1333, 'FPN.FPN_ON': true, 'FPN.MULTILEVEL_RPN': true, 'RPN.RPN_ON': true });
    const scale = computeImScale(entry.height, entry.width, 800, 1333);
    expect(scale).toBe(exp.scale);
    const blobs: Record<string, NdArray> = {};
    const rng = new ReplaySource(exp.draws);
    expect(addRpnBlobs(blobs, [scale], [entry], cfg, rng)).toBe(true);
    expect(rng.remaining).toBe(0);
    expect(Object.keys(blobs).sort()).toEqual(getRpnBlobNames(cfg).sort());
    expect(dataOf(blobs.im_info)).toEqual(exp.im_info);
    expect(rpnFieldsOfAnchors(cfg).map((f) => f.fieldSize)).toEqual([336, 168, 84, 42, 21]);
    for (const [lvl, e] of Object.entries(exp.levels)) {
      const b = (k: string): NdArray => blobs[`${k}_fpn${lvl}`];
      expect(b('rpn_labels_int32_wide').shape).toEqual(e.shape);
      expect(b('rpn_labels_int32_wide').dtype).toBe('int32');
      expect(b('rpn_bbox_targets_wide').shape).toEqual([1, 4 * e.shape[1], e.shape[2], e.shape[3]]);
      expectLevel(
        b('rpn_labels_int32_wide').data as Int32Array, b('rpn_bbox_targets_wide').data as Float32Array,
        b('rpn_bbox_inside_weights_wide').data as Float32Array, b('rpn_bbox_outside_weights_wide').data as Float32Array, e,
      );
    }
  });

  it('names the image when an entry has no usable gt box', () => {
    const cfg = makeCfg({ 'RPN.RPN_ON': true });
    const entry = {
      image: '/data/x.jpg', width: 50, height: 40, flipped: false, boxes: Float32Array.of(1, 1, 20, 20), gt_classes: Int32Array.of(1),
      is_crowd: Uint8Array.of(1), segms: [], max_overlaps: Float32Array.of(-1), max_classes: Int32Array.of(0), box_to_gt_ind_map: Int32Array.of(0),
    };
    expect(() => addRpnBlobs({}, [1], [entry], cfg, new ReplaySource([]))).toThrow(/^\/data\/x\.jpg: RPN targets need at least one non-crowd gt box/);
  });
});
