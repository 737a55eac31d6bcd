/**
 * RetinaNet targets (lib/roi_data/retinanet.ts) against Detectron's retinanet.py
 * add_retinanet_blobs on a two-image batch of fixture images (levels 3-7, 9 anchors per cell).
 * Expected values: see test/helpers/roi_data_expected.ts.
 */
import { addRetinanetBlobs, getRetinanetBlobNames, retinanetFieldsOfAnchors } from '../lib/roi_data/retinanet';
import { computeImScale } from '../lib/utils/blob';
import type { NdArray } from '../lib/utils/ndarray';
import { RETINANET_EXPECTED as EXP } from './helpers/roi_data_expected';
import { dataOf, entryById, fixtureRoidb, makeCfg, toSparse } from './helpers/roi_data_fixtures';

describe('RetinaNet targets', () => {
  it('match Detectron on fixture images 196141 and 40083', async () => {
    const roidb = await fixtureRoidb('instances_mini.json');
    const entries = [entryById(roidb, 196141), entryById(roidb, 40083)];
    const cfg = makeCfg({
      'TRAIN.MAX_SIZE': 833, 'FPN.FPN_ON': true, 'FPN.COARSEST_STRIDE': 128, 'FPN.RPN_MIN_LEVEL': 3, 'FPN.RPN_MAX_LEVEL': 7,
      'RETINANET.RETINANET_ON': true, 'MODEL.NUM_CLASSES': 81,
    });
    const scales = entries.map((e) => computeImScale(e.height, e.width, 500, 833));
    expect(scales).toEqual(EXP.scales);
    expect(retinanetFieldsOfAnchors(cfg).length).toBe(5 * 9);
    const blobs: Record<string, NdArray> = {};
    expect(addRetinanetBlobs(blobs, scales, entries, EXP.W, EXP.H, cfg)).toBe(true);
    expect(Object.keys(blobs).sort()).toEqual(getRetinanetBlobNames(cfg).sort());
    expect(dataOf(blobs.im_info)).toEqual(EXP.im_info);
    expect(dataOf(blobs.retnet_fg_num)).toEqual(EXP.fg_num);
    // above 2^24: summed in float64 and rounded once, as Detectron
    expect(dataOf(blobs.retnet_bg_num)).toEqual(EXP.bg_num);
    for (const [lvl, e] of Object.entries(EXP.levels)) {
      const labels = blobs[`retnet_cls_labels_fpn${lvl}`];
      expect(labels.shape).toEqual(e.shape);
      expect(labels.dtype).toBe('int32');
      const hist: Record<string, number> = {};
      const idxsum: Record<string, number> = {};
      (labels.data as Int32Array).forEach((v, i) => {
        hist[v] = (hist[v] ?? 0) + 1;
        idxsum[v] = (idxsum[v] ?? 0) + i;
      });
      expect(hist).toEqual(e.hist);
      expect(idxsum).toEqual(e.idxsum);
      if (e.labels !== null) expect(toSparse(dataOf(labels), -1)).toEqual(e.labels);
      expect(dataOf(blobs[`retnet_roi_bbox_targets_fpn${lvl}`])).toEqual(e.targets);
      expect(dataOf(blobs[`retnet_roi_fg_bbox_locs_fpn${lvl}`])).toEqual(e.locs);
      expect(blobs[`retnet_roi_fg_bbox_locs_fpn${lvl}`].shape).toEqual([e.locs.length / 4, 4]);
    }
  });
});
