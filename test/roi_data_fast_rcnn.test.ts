/**
 * Fast R-CNN, Mask R-CNN and keypoint targets (lib/roi_data/fast_rcnn.ts, mask_rcnn.ts,
 * keypoint_rcnn.ts, generate_proposal_labels.ts) against Detectron's code: hand-made entries
 * (two images, FPN levels, class-specific masks; no foreground; class-agnostic regression), the
 * keypoint fixtures, and the end-to-end GenerateProposalLabels op on the instances fixtures.
 * Expected values and numpy's recorded draws: see test/helpers/roi_data_expected.ts.
 */
import type { DetectronConfig } from '../lib/core/config';
import type { RoiDataEntry } from '../lib/roi_data/data_utils';
import { addFastRcnnBlobs, computeBboxRegressionTargets, getFastRcnnBlobNames } from '../lib/roi_data/fast_rcnn';
import { generateProposalLabels } from '../lib/roi_data/generate_proposal_labels';
import { withinBox } from '../lib/roi_data/keypoint_rcnn';
import { addClassAssignments, mergeProposalBoxesIntoRoidb, type RoidbEntry } from '../lib/datasets/json_dataset';
import { polysToMaskWrtBox, type PolygonSegm } from '../lib/utils/segms';
import type { NdArray } from '../lib/utils/ndarray';
import { FAST_RCNN_EXPECTED, GPL_EXPECTED, KEYPOINT_EXPECTED, type BlobDigest, type EntryJson } from './helpers/roi_data_expected';
import { ReplaySource } from './helpers/replay_rng';
import { dataOf, entryById, fixtureRoidb, makeCfg, toSparse } from './helpers/roi_data_fixtures';

function entryFrom(j: EntryJson, image: string): RoiDataEntry {
  return {
    image, width: j.width, height: j.height, flipped: false, boxes: Float32Array.from(j.boxes), gt_classes: Int32Array.from(j.gt_classes),
    is_crowd: Uint8Array.from(j.is_crowd), segms: j.segms, max_overlaps: Float32Array.from(j.max_overlaps),
    max_classes: Int32Array.from(j.max_classes), box_to_gt_ind_map: Int32Array.from(j.box_to_gt_ind_map),
  };
}

/** Every blob against its digest: shape, dtype, and the values (dense, sparse or mask blocks). */
function expectBlobs(blobs: Record<string, NdArray>, exp: Record<string, BlobDigest>, skipMasks = true): void {
  for (const [name, d] of Object.entries(exp)) {
    const b = blobs[name];
    expect([name, b?.shape]).toEqual([name, d.shape]);
    if (d.dtype !== undefined) expect([name, b.dtype]).toEqual([name, d.dtype]);
    if (d.data !== undefined) expect([name, dataOf(b)]).toEqual([name, d.data]);
    if (d.nz !== undefined) expect([name, toSparse(dataOf(b), 0)]).toEqual([name, d.nz]);
    if (d.blocks !== undefined && !skipMasks) throw new Error('mask blocks are checked separately');
  }
}

/** Mask rows: the class block holds our rasterisation of the recorded (polygon, roi); -1 elsewhere. */
function expectMasks(masks: NdArray, blocks: readonly number[], calls: readonly [PolygonSegm, number[]][], M: number): void {
  const M2 = M * M;
  const cols = masks.shape[1];
  const data = masks.data as Int32Array;
  let ones = 0;
  blocks.forEach((blk, i) => {
    const row = data.subarray(i * cols, (i + 1) * cols);
    const expected = new Int32Array(cols).fill(-1);
    if (blk >= 0) {
      const [poly, roi] = calls[i];
      const m = polysToMaskWrtBox(poly, Float32Array.from(roi), M);
      for (let p = 0; p < M2; p++) {
        expected[blk * M2 + p] = m[p] > 0 ? 1 : 0;
        ones += m[p] > 0 ? 1 : 0;
      }
    }
    // counted rather than deep-compared: rows are NUM_CLASSES·M² long
    let mismatches = 0;
    for (let p = 0; p < cols; p++) if (row[p] !== expected[p]) mismatches++;
    expect([i, mismatches]).toEqual([i, 0]);
  });
  // the fg masks are not empty (the comparison above is not vacuous)
  if (blocks.some((b) => b >= 0)) expect(ones).toBeGreaterThan(0);
}

describe('Fast R-CNN / Mask R-CNN targets', () => {
  const D = FAST_RCNN_EXPECTED.D;
  const baseCfg = (): DetectronConfig => makeCfg({
    'MODEL.NUM_CLASSES': 5, 'TRAIN.BATCH_SIZE_PER_IM': 16, 'TRAIN.FG_FRACTION': 0.25, 'MODEL.MASK_ON': true, 'MRCNN.RESOLUTION': 14,
    'FPN.FPN_ON': true, 'FPN.MULTILEVEL_ROIS': true,
  });

  it('compute_bbox_regression_targets', () => {
    const e = entryFrom(D.entry, 'hand-made D');
    expect(Array.from(computeBboxRegressionTargets(e, baseCfg()))).toEqual(D.bbox_targets);
  });

  it('two images: sampled rois, class-specific targets, masks and FPN levels', () => {
    const cfg = baseCfg();
    const e = entryFrom(D.entry, 'hand-made D');
    expect(getFastRcnnBlobNames(cfg)).toEqual(D.names);
    const blobs: Record<string, NdArray> = {};
    const rng = new ReplaySource(D.draws);
    expect(addFastRcnnBlobs(blobs, [1.5, 0.8], [e, e], cfg, rng)).toBe(D.valid);
    expect(rng.remaining).toBe(0);
    expectBlobs(blobs, D.blobs);
    const calls = D.masks.map(([gi, roi]): [PolygonSegm, number[]] => [D.entry.segms[gi], roi]);
    expectMasks(blobs.masks_int32, D.blobs.masks_int32.blocks!, calls, 14);
  });

  it('no foreground roi: a bg roi with an all -1 mask', () => {
    const D0 = FAST_RCNN_EXPECTED.D0;
    const blobs: Record<string, NdArray> = {};
    addFastRcnnBlobs(blobs, [2], [entryFrom(D0.entry, 'hand-made D0')], baseCfg(), new ReplaySource(D0.draws));
    expectBlobs(blobs, D0.blobs);
    expect(D0.blobs.masks_int32.blocks).toEqual([-1]);
    expect(dataOf(blobs.masks_int32).every((v) => v === -1)).toBe(true);
  });

  it('class-agnostic box regression', () => {
    const DA = FAST_RCNN_EXPECTED.DA;
    const cfg = makeCfg({ 'MODEL.NUM_CLASSES': 5, 'TRAIN.BATCH_SIZE_PER_IM': 16, 'TRAIN.FG_FRACTION': 0.25, 'MODEL.CLS_AGNOSTIC_BBOX_REG': true });
    const e = entryFrom(D.entry, 'hand-made DA');
    expect(Array.from(computeBboxRegressionTargets(e, cfg))).toEqual(DA.bbox_targets);
    expect(getFastRcnnBlobNames(cfg)).toEqual(DA.names);
    const blobs: Record<string, NdArray> = {};
    addFastRcnnBlobs(blobs, [1.25], [e], cfg, new ReplaySource(DA.draws));
    expectBlobs(blobs, DA.blobs);
  });
});

describe('keypoint targets', () => {
  it('_within_box includes the edges', () => {
    // one set of K=2 keypoints (x row, y row, v row) against box (10, 10, 20, 20)
    expect(Array.from(withinBox(Int32Array.of(10, 21, 20, 15, 1, 1), Float32Array.of(10, 10, 20, 20), 2))).toEqual([1, 0]);
  });

  it('match Detectron on the keypoint fixtures with proposals (kp subsampling, normalizer)', async () => {
    const X = KEYPOINT_EXPECTED;
    const roidb = await fixtureRoidb('person_keypoints_mini.json');
    const entries: RoidbEntry[] = [entryById(roidb, 196141), entryById(roidb, 40083)];
    mergeProposalBoxesIntoRoidb(entries, X.proposals.map((p) => Float32Array.from(p)));
    addClassAssignments(entries);
    entries.forEach((e, i) => {
      expect(Array.from(e.max_overlaps)).toEqual(X.max_overlaps[i]);
      expect(Array.from(e.box_to_gt_ind_map)).toEqual(X.box_to_gt[i]);
    });
    const cfg = makeCfg({
      'MODEL.NUM_CLASSES': X.num_classes, 'MODEL.KEYPOINTS_ON': true, 'KRCNN.HEATMAP_SIZE': 56, 'KRCNN.NUM_KEYPOINTS': 17,
      'TRAIN.BATCH_SIZE_PER_IM': 64, 'TRAIN.FG_FRACTION': 0.25, 'TRAIN.IMS_PER_BATCH': 2,
    });
    expect(getFastRcnnBlobNames(cfg)).toEqual(X.names);
    const blobs: Record<string, NdArray> = {};
    const rng = new ReplaySource(X.draws);
    expect(addFastRcnnBlobs(blobs, [1.25, 2.0], entries, cfg, rng)).toBe(X.valid);
    expect(rng.remaining).toBe(0);
    for (const [k, shape] of Object.entries(X.shapes)) expect([k, blobs[k].shape]).toEqual([k, shape]);
    expect(dataOf(blobs.rois)).toEqual(X.rois);
    expect(dataOf(blobs.labels_int32)).toEqual(X.labels);
    expect(dataOf(blobs.keypoint_rois)).toEqual(X.keypoint_rois);
    expect(dataOf(blobs.keypoint_locations_int32)).toEqual(X.locations);
    expect(dataOf(blobs.keypoint_weights)).toEqual(X.weights);
    expect(blobs.keypoint_loss_normalizer.dtype).toBe(X.normalizer_dtype);
    expect(dataOf(blobs.keypoint_loss_normalizer)).toEqual([X.normalizer]);
  });

  it('a minibatch with too few visible keypoints is invalid', async () => {
    const X = KEYPOINT_EXPECTED;
    const roidb = await fixtureRoidb('person_keypoints_mini.json');
    const entries: RoidbEntry[] = [entryById(roidb, 196141), entryById(roidb, 40083)];
    mergeProposalBoxesIntoRoidb(entries, X.proposals.map((p) => Float32Array.from(p)));
    addClassAssignments(entries);
    const cfg = makeCfg({
      'MODEL.NUM_CLASSES': 2, 'MODEL.KEYPOINTS_ON': true, 'KRCNN.HEATMAP_SIZE': 56, 'KRCNN.NUM_KEYPOINTS': 17,
      'KRCNN.MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH': 10000,
    });
    expect(addFastRcnnBlobs({}, [1.25, 2.0], entries, cfg, new ReplaySource(X.draws))).toBe(false);
  });
});

describe('GenerateProposalLabels (end-to-end Mask R-CNN FPN)', () => {
  it('matches Detectron on a two-image batch of the instances fixtures', async () => {
    const G = GPL_EXPECTED;
    const roidb = await fixtureRoidb('instances_mini.json');
    const entries = [entryById(roidb, 39769), entryById(roidb, 40083)];
    const before = entries.map((e) => e.boxes.length);
    const cfg = makeCfg({
      'MODEL.NUM_CLASSES': G.num_classes, 'MODEL.MASK_ON': true, 'MRCNN.RESOLUTION': 28, 'FPN.FPN_ON': true, 'FPN.MULTILEVEL_ROIS': true,
      'TRAIN.BATCH_SIZE_PER_IM': 32, 'TRAIN.FG_FRACTION': 0.25,
    });
    const rng = new ReplaySource(G.draws);
    const { blobs, valid } = generateProposalLabels(Float32Array.from(G.rois_in), entries, Float32Array.from(G.im_info), cfg, rng);
    expect(valid).toBe(G.valid);
    expect(rng.remaining).toBe(0);
    expect(Object.keys(blobs)).toEqual(G.names);
    // the caller's entries are untouched (Detectron works on a deserialised copy)
    expect(entries.map((e) => e.boxes.length)).toEqual(before);
    const { masks_int32: maskDigest, ...rest } = G.blobs;
    expectBlobs(blobs, rest);
    expect(blobs.masks_int32.shape).toEqual(maskDigest.shape);
    const calls = G.masks.map(([img, gi, roi]): [PolygonSegm, number[]] => [entries[img].segms[gi] as PolygonSegm, roi]);
    expectMasks(blobs.masks_int32, maskDigest.classes!, calls, 28);
  });
});
