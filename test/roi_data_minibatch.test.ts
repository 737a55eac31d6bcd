/**
 * Minibatches (lib/roi_data/minibatch.ts, aspect_crop.ts): the image blob against Detectron's
 * _get_image_blob (OpenCV imread, flip, prep_im_for_blob, FPN padding; values in
 * test/helpers/roi_data_expected.ts), blob names and dtypes per model type, the wiring of
 * scales, flips and targets, Detectron.pytorch's aspect cropping, and errors naming the image.
 */
import * as crypto from 'crypto';
import * as path from 'path';
import { imread } from '../lib/utils/image_io';
import type { NdArray } from '../lib/utils/ndarray';
import { flipBoxes } from '../lib/utils/boxes';
import { flipSegms } from '../lib/utils/segms';
import { Rng } from '../lib/roi_data/rng';
import { addRpnBlobs } from '../lib/roi_data/rpn';
import { flipImage, getImageBlob, getMinibatch, getMinibatchBlobNames, minibatchRoidb } from '../lib/roi_data/minibatch';
import { aspectCropRatio, chooseCrop, cropEntry } from '../lib/roi_data/aspect_crop';
import type { RoiDataEntry } from '../lib/roi_data/data_utils';
import { mergeProposalBoxesIntoRoidb, addClassAssignments, type RoidbEntry } from '../lib/datasets/json_dataset';
import { BLOB_EXPECTED } from './helpers/roi_data_expected';
import { COCO_FIXTURES, dataOf, differingBlobs, entryById, fixtureRoidb, makeCfg } from './helpers/roi_data_fixtures';

const SMALL = { 'TRAIN.SCALES': [200, 240], 'TRAIN.MAX_SIZE': 400 };

function flipped(e: RoidbEntry): RoidbEntry {
  return { ...e, flipped: true, boxes: flipBoxes(e.boxes, 4, e.width), segms: flipSegms(e.segms, e.height, e.width) };
}

describe('image blob', () => {
  it('equals Detectron\'s _get_image_blob (flip, two scales, FPN padding)', async () => {
    const im1 = await imread(path.join(COCO_FIXTURES, 'images/000000000785.jpg'));
    const im2 = flipImage(await imread(path.join(COCO_FIXTURES, 'images/000000040083.jpg')));
    const cfg = makeCfg({ 'TRAIN.SCALES': [300, 400], 'TRAIN.MAX_SIZE': 500, 'FPN.FPN_ON': true });
    const { blob, imScales } = getImageBlob([im1, im2], ['785', '40083'], [0, 1], cfg);
    expect(blob.shape).toEqual(BLOB_EXPECTED.shape);
    expect(imScales).toEqual(BLOB_EXPECTED.scales);
    const d = blob.data as Float32Array;
    const [, C, H, W] = blob.shape;
    for (const [i, c, y, x, v] of BLOB_EXPECTED.samples) expect(d[((i * C + c) * H + y) * W + x]).toBe(v);
    expect(crypto.createHash('sha256').update(Buffer.from(d.buffer, d.byteOffset, d.byteLength)).digest('hex')).toBe(BLOB_EXPECTED.sha256);
  });
});

describe('getMinibatch', () => {
  it('RPN (FPN): names, dtypes, and the same targets as the parts with the same draws', async () => {
    const roidb = await fixtureRoidb('instances_mini.json');
    const entries = [entryById(roidb, 785), flipped(entryById(roidb, 40083))];
    const cfg = makeCfg({ ...SMALL, 'FPN.FPN_ON': true, 'FPN.MULTILEVEL_RPN': true, 'RPN.RPN_ON': true, 'MODEL.FASTER_RCNN': true });
    const mb = await getMinibatch(entries, cfg, new Rng(5));
    expect(Object.keys(mb.blobs)).toEqual(getMinibatchBlobNames(cfg));
    expect(mb.valid).toBe(true);
    // the same draws, step by step: scale indices first, then the targets
    const rng = new Rng(5);
    const scaleInds = rng.randintArray(2, 2);
    expect(mb.images.map((i) => i.scaleIndex)).toEqual(Array.from(scaleInds));
    const ims = [await imread(entries[0].image), flipImage(await imread(entries[1].image))];
    const { blob, imScales } = getImageBlob(ims, ['a', 'b'], scaleInds, cfg);
    const parts: Record<string, NdArray> = { data: blob };
    addRpnBlobs(parts, imScales, entries, cfg, rng);
    expect(differingBlobs(mb.blobs, parts)).toEqual([]);
    expect(mb.blobs.im_info.shape).toEqual([2, 3]);
    expect(mb.images.map((i) => [i.flipped, i.crop])).toEqual([[false, null], [true, null]]);
  });

  it('RetinaNet, Fast R-CNN with proposals, keypoints: Detectron\'s blob names, float32/int32 only', async () => {
    const roidb = await fixtureRoidb('instances_mini.json');
    const kroidb = await fixtureRoidb('person_keypoints_mini.json');
    const withProposals = (list: RoidbEntry[]): RoidbEntry[] => {
      const copies = list.map((e) => ({ ...e }));
      mergeProposalBoxesIntoRoidb(copies, copies.map((e) => Float32Array.from(e.boxes, (v, i) => v + (i % 4 < 2 ? -3 : 3))));
      addClassAssignments(copies);
      return copies;
    };
    const cases: Array<[string, Record<string, number | boolean | number[]>, RoiDataEntry[]]> = [
      ['retinanet', { 'FPN.FPN_ON': true, 'FPN.COARSEST_STRIDE': 128, 'FPN.RPN_MIN_LEVEL': 3, 'FPN.RPN_MAX_LEVEL': 7, 'RETINANET.RETINANET_ON': true, 'MODEL.NUM_CLASSES': 81 }, [entryById(roidb, 785)]],
      ['fast_rcnn', { 'MODEL.NUM_CLASSES': 81, 'MODEL.MASK_ON': true, 'FPN.FPN_ON': true, 'FPN.MULTILEVEL_ROIS': true }, withProposals([entryById(roidb, 197388), entryById(roidb, 40083)])],
      ['keypoints', { 'MODEL.NUM_CLASSES': 2, 'MODEL.KEYPOINTS_ON': true, 'KRCNN.NUM_KEYPOINTS': 17, 'KRCNN.HEATMAP_SIZE': 56, 'KRCNN.MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH': 0 }, withProposals([entryById(kroidb, 196141)])],
    ];
    for (const [what, over, entries] of cases) {
      const cfg = makeCfg({ ...SMALL, ...over });
      const mb = await getMinibatch(entries, cfg, new Rng(1));
      expect([what, Object.keys(mb.blobs)]).toEqual([what, getMinibatchBlobNames(cfg)]);
      for (const b of Object.values(mb.blobs)) expect(['float32', 'int32']).toContain(b.dtype);
      expect(mb.blobs.data.shape[0]).toBe(entries.length);
      const again = await getMinibatch(entries, cfg, new Rng(1));
      expect([what, differingBlobs(again.blobs, mb.blobs)]).toEqual([what, []]);
    }
  });

  it('errors name the image: unreadable file, size that disagrees with the entry', async () => {
    const roidb = await fixtureRoidb('instances_mini.json');
    const cfg = makeCfg({ ...SMALL, 'RPN.RPN_ON': true });
    const missing = { ...entryById(roidb, 785), image: '/nonexistent/dir/missing.jpg' };
    await expect(getMinibatch([missing], cfg, new Rng(0))).rejects.toThrow(/^\/nonexistent\/dir\/missing\.jpg: failed to read image/);
    const wrong = { ...entryById(roidb, 785), width: 641 };
    await expect(getMinibatch([wrong], cfg, new Rng(0))).rejects.toThrow(/000000000785\.jpg: image is 640×425 but its roidb entry says 641×425/);
  });
});

describe('aspect cropping (Detectron.pytorch TRAIN.ASPECT_CROPPING)', () => {
  /** A tall synthetic 100×400 image whose pixel rows encode their y. */
  const tall: NdArray = { dtype: 'uint8', shape: [400, 100, 3], data: Uint8Array.from({ length: 400 * 100 * 3 }, (_, i) => Math.floor(i / 300) % 256) };
  const entry: RoiDataEntry = {
    image: 'tall.png', width: 100, height: 400, flipped: false,
    boxes: Float32Array.of(10, 150, 60, 250, 20, 240, 90, 300), gt_classes: Int32Array.of(1, 2), is_crowd: Uint8Array.of(0, 0),
    segms: [[[10, 150, 60, 150, 60, 250]], [[20, 240, 90, 240, 90, 300]]], max_overlaps: Float32Array.of(1, 1), max_classes: Int32Array.of(1, 2),
    box_to_gt_ind_map: Int32Array.of(0, 1), gt_keypoints: Int32Array.from({ length: 2 * 3 * 17 }, (_, i) => (i % 51 < 17 ? 30 : i % 51 < 34 ? 200 : 2)),
  };

  it('chooses a window over the boxes and shifts everything into it', () => {
    expect(aspectCropRatio(100, 400, { hi: 2, lo: 0.5 })).toBe(0.5);
    expect(aspectCropRatio(300, 200, { hi: 2, lo: 0.5 })).toBeNull();
    for (let s = 0; s < 20; s++) {
      const crop = chooseCrop(entry, 0.5, new Rng(s));
      expect(crop.axis).toBe('y');
      expect(crop.size).toBe(200);
      // box region 150..300 (151 rows) fits: the window covers it
      expect(crop.start).toBeGreaterThanOrEqual(100);
      expect(crop.start).toBeLessThanOrEqual(150);
      const c = cropEntry(entry, crop)!;
      expect(c.height).toBe(200);
      // clipped to the window (last row 199)
      expect(Array.from(c.boxes)).toEqual([10, 150 - crop.start, 60, 250 - crop.start, 20, 240 - crop.start, 90, Math.min(300 - crop.start, 199)]);
      expect((c.segms[0] as number[][])[0][1]).toBe(150 - crop.start);
      expect(c.gt_keypoints![17]).toBe(200 - crop.start);
    }
  });

  it('crops the pixels before resizing; minibatchRoidb rebuilds the cropped entries', async () => {
    const cfg = makeCfg({ 'TRAIN.SCALES': [100], 'TRAIN.MAX_SIZE': 1000, 'RPN.RPN_ON': true });
    const mb = await getMinibatch([entry], cfg, new Rng(3), {
      aspectCropping: { hi: 2, lo: 0.5 },
      readImage: async () => tall,
    });
    const crop = mb.images[0].crop!;
    expect(crop.size).toBe(200);
    expect(dataOf(mb.blobs.im_info)).toEqual([200, 100, 1]);
    expect(mb.blobs.data.shape).toEqual([1, 3, 200, 100]);
    // scale 1: row y of the blob is source row crop.start + y, minus the pixel means
    const d = mb.blobs.data.data as Float32Array;
    for (const y of [0, 57, 199]) expect(d[y * 100 + 5]).toBe(Math.fround(((crop.start + y) % 256) - 102.9801));
    const [rebuilt] = minibatchRoidb([entry], mb.images);
    expect(rebuilt.height).toBe(200);
    expect(rebuilt.boxes[1]).toBe(150 - crop.start);
  });
});
