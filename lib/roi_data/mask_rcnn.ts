/**
 * Mask R-CNN training targets: Detectron's detectron/roi_data/mask_rcnn.py over typed arrays.
 *
 * Each foreground roi is paired with the non-crowd gt polygon whose tight box it overlaps most,
 * and that polygon is rasterised inside the roi at MRCNN.RESOLUTION (polys_to_mask_wrt_box).
 * When an image has no foreground roi, the first background roi gets an all -1 (ignore) mask so
 * the mask head never sees an empty blob.
 */
import { bboxOverlaps } from '../utils/boxes';
import { isPoly, polysToBoxes, polysToMaskWrtBox, type PolygonSegm } from '../utils/segms';
import { RoiDataConfig, RoiDataEntry, nonCrowdGtInds, rowMaxArgmax, takeRows, toRois, whereIndices } from './data_utils';

/** One image's mask blobs. */
export interface MaskRcnnImageBlobs {
  /** M×5 float32 (batch index, x1, y1, x2, y2) at the network's scale. */
  maskRois: Float32Array;
  /** R int32: 1 for rois with a mask (fg, or the stand-in bg roi 0). */
  roiHasMask: Int32Array;
  /** M×(M_res²) int32, or M×(NUM_CLASSES·M_res²) with CLS_SPECIFIC_MASK (-1 elsewhere). */
  masks: Int32Array;
}

/** The entry's non-crowd gt polygons (crowd RLEs are excluded by Detectron's selection). */
function gtPolygons(entry: RoiDataEntry): PolygonSegm[] {
  return Array.from(nonCrowdGtInds(entry), (i) => {
    const s = entry.segms[i];
    if (s === undefined) throw new Error(`gt box ${i} has no segmentation (segms has ${entry.segms.length})`);
    if (!isPoly(s)) throw new Error(`gt box ${i} is not crowd but its segmentation is an RLE; mask targets need polygons`);
    return s;
  });
}

/**
 * add_mask_rcnn_blobs for one image: `sampledBoxes` (R×4, image pixels) and `labels` (R) are the
 * image's sampled rois and their labels from _sample_rois.
 */
export function addMaskRcnnBlobs(
  sampledBoxes: Float32Array, labels: Int32Array, entry: RoiDataEntry, imScale: number, batchIdx: number,
  cfg: RoiDataConfig,
): MaskRcnnImageBlobs {
  const M = cfg.MRCNN.RESOLUTION;
  const polys = gtPolygons(entry);
  const fgInds = whereIndices(labels.length, (i) => labels[i] > 0);
  const roiHasMask = Int32Array.from(labels, (l) => (l > 0 ? 1 : l));
  let roisFg: Float32Array;
  let masks: Int32Array;
  let maskClassLabels: Int32Array;
  if (fgInds.length > 0) {
    maskClassLabels = Int32Array.from(fgInds, (i) => labels[i]);
    roisFg = takeRows(sampledBoxes, 4, fgInds);
    masks = fgMasks(roisFg, polys, M);
  } else {
    const bgInds = whereIndices(labels.length, (i) => labels[i] === 0);
    if (bgInds.length === 0) throw new Error('no roi was sampled, so no stand-in mask roi exists');
    roisFg = takeRows(sampledBoxes, 4, [bgInds[0]]);
    masks = new Int32Array(M * M).fill(-1);
    maskClassLabels = new Int32Array(1);
    // Detectron marks roi 0 (not bgInds[0]); with no fg roi every label is 0, so they agree
    roiHasMask[0] = 1;
  }
  if (cfg.MRCNN.CLS_SPECIFIC_MASK) masks = expandToClassSpecificMaskTargets(masks, maskClassLabels, cfg);
  return { maskRois: toRois(roisFg, imScale, batchIdx), roiHasMask, masks };
}

/** Each fg roi's M×M target from the polygon with the best box overlap (first maximum). */
function fgMasks(roisFg: Float32Array, polys: readonly PolygonSegm[], M: number): Int32Array {
  const n = roisFg.length / 4;
  if (polys.length === 0) throw new Error(`${n} foreground rois but no non-crowd gt polygon to take mask targets from`);
  const polyBoxes = polysToBoxes(polys);
  const { argmax } = rowMaxArgmax(bboxOverlaps(roisFg, polyBoxes), n, polys.length);
  const masks = new Int32Array(n * M * M);
  for (let i = 0; i < n; i++) {
    const mask = polysToMaskWrtBox(polys[argmax[i]], roisFg.subarray(4 * i, 4 * i + 4), M);
    for (let p = 0; p < M * M; p++) masks[i * M * M + p] = mask[p] > 0 ? 1 : 0;
  }
  return masks;
}

/**
 * _expand_to_class_specific_mask_targets: (n, M²) → (n, NUM_CLASSES·M²), -1 (ignore) everywhere
 * but the roi's class block; a class-0 (stand-in bg) roi stays all -1.
 */
export function expandToClassSpecificMaskTargets(masks: Int32Array, classLabels: Int32Array, cfg: RoiDataConfig): Int32Array {
  const M2 = cfg.MRCNN.RESOLUTION ** 2;
  const n = classLabels.length;
  if (masks.length !== n * M2) throw new Error(`internal: ${masks.length} mask values for ${n} masks of ${M2}`);
  const K = cfg.MODEL.NUM_CLASSES;
  const out = new Int32Array(n * K * M2).fill(-1);
  for (let i = 0; i < n; i++) {
    const cls = classLabels[i];
    if (cls >= K) throw new Error(`mask class ${cls} outside MODEL.NUM_CLASSES ${K}`);
    if (cls > 0) out.set(masks.subarray(i * M2, (i + 1) * M2), (i * K + cls) * M2);
  }
  return out;
}
