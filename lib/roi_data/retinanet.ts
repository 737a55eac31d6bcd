/**
 * RetinaNet training targets: Detectron's detectron/roi_data/retinanet.py
 * (get_retinanet_blob_names, add_retinanet_blobs, _get_retinanet_blobs) over typed arrays.
 *
 * Anchors: one field per (level, octave, aspect ratio), each with a single cell anchor of size
 * stride · 2^(octave / SCALES_PER_OCTAVE) · ANCHOR_SCALE. Labels are the gt class (fg), 0 (bg) or
 * -1 (ignore); classification labels are cropped to the padded input's feature size, while the
 * foreground locations (for the box loss) cover the whole field, as in Detectron.
 */
import { bboxOverlaps } from '../utils/boxes';
import type { NdArray } from '../utils/ndarray';
import {
  FieldOfAnchors, RoiDataConfig, RoiDataEntry, computeTargets, concatAnchors, concatBlobs, f32Blob, forImage,
  getFieldOfAnchors, gtRowsFor, i32Blob, matchAnchorsToGt, nonCrowdGtInds, scaleBoxes, takeRows, trainImInfo,
  whereIndices,
} from './data_utils';
import { fieldStarts } from './rpn';

const f32 = Math.fround;

const PER_LEVEL = ['retnet_cls_labels', 'retnet_roi_bbox_targets', 'retnet_roi_fg_bbox_locs'] as const;

/** get_retinanet_blob_names: im_info, then (training) fg/bg counts and three blobs per level. */
export function getRetinanetBlobNames(cfg: RoiDataConfig, isTraining = true): string[] {
  if (!cfg.FPN.FPN_ON) throw new Error('RetinaNet uses FPN for dense detection (FPN.FPN_ON is false)');
  const names = ['im_info'];
  if (!isTraining) return names;
  names.push('retnet_fg_num', 'retnet_bg_num');
  for (let lvl = cfg.FPN.RPN_MIN_LEVEL; lvl <= cfg.FPN.RPN_MAX_LEVEL; lvl++) names.push(...PER_LEVEL.map((k) => `${k}_fpn${lvl}`));
  return names;
}

/** The fields, in Detectron's order: level, then octave, then aspect ratio. */
export function retinanetFieldsOfAnchors(cfg: RoiDataConfig): FieldOfAnchors[] {
  const foas: FieldOfAnchors[] = [];
  const spo = cfg.RETINANET.SCALES_PER_OCTAVE;
  const ratios = cfg.RETINANET.ASPECT_RATIOS;
  for (let lvl = cfg.FPN.RPN_MIN_LEVEL; lvl <= cfg.FPN.RPN_MAX_LEVEL; lvl++) {
    const stride = 2 ** lvl;
    for (let octave = 0; octave < spo; octave++) {
      const octaveScale = 2 ** (octave / spo);
      ratios.forEach((ratio, idx) => {
        foas.push(getFieldOfAnchors(stride, [stride * octaveScale * cfg.RETINANET.ANCHOR_SCALE], [ratio], cfg, octave, idx));
      });
    }
  }
  return foas;
}

/** One field's targets for one image. */
export interface RetinanetFieldTargets {
  /** 1×1×h×w int32 labels, cropped to the padded input's feature size. */
  clsLabels: NdArray;
  /** M×4 float32 targets of the field's fg anchors (row-major y, x order). */
  roiBboxTargets: Float32Array;
  /** M×4 [0, l, y, x] (l: class - 1 when CLASS_SPECIFIC_BBOX, else 0), before batch offsets. */
  roiFgBboxLocs: Float32Array;
}

export interface RetinanetImageTargets {
  fields: RetinanetFieldTargets[];
  /** num_fg + 1 (float32) */
  fgNum: number;
  /** (num_bg + 1) · (C - 1) + fgNum · (C - 2), float64 as Detectron before its final cast. */
  bgNum: number;
}

/**
 * Labels as _get_retinanet_blobs assigns them: the class of the best gt for anchors marked by
 * the max-overlap rule or above POSITIVE_OVERLAP, then 0 for every anchor under
 * NEGATIVE_OVERLAP (overriding weak max-overlap positives, whose box targets remain).
 */
function labelAnchors(anchors: Float32Array, gtBoxes: Float32Array, gtClasses: Int32Array, cfg: RoiDataConfig) {
  const n = anchors.length / 4;
  const g = gtBoxes.length / 4;
  if (g === 0) throw new Error('Empty ground truth is not allowed for RetinaNet targets (no non-crowd gt box)');
  const labels = new Float32Array(n).fill(-1);
  const m = matchAnchorsToGt(bboxOverlaps(anchors, gtBoxes), n, g);
  for (const i of m.anchorsWithMaxOverlap) labels[i] = gtClasses[m.argmax[i]];
  const pos = f32(cfg.RETINANET.POSITIVE_OVERLAP);
  for (let i = 0; i < n; i++) if (m.max[i] >= pos) labels[i] = gtClasses[m.argmax[i]];
  const fgInds = whereIndices(n, (i) => labels[i] >= 1);
  const neg = f32(cfg.RETINANET.NEGATIVE_OVERLAP);
  const bgInds = whereIndices(n, (i) => m.max[i] < neg);
  for (const i of bgInds) labels[i] = 0;
  return { labels, fgInds, numBg: bgInds.length, argmax: m.argmax };
}

/**
 * _get_retinanet_blobs for one image: gt boxes (scaled, non-crowd) and classes; imWidth and
 * imHeight are the padded network input's.
 */
export function getRetinanetBlobs(
  foas: readonly FieldOfAnchors[], allAnchors: Float32Array, gtBoxes: Float32Array, gtClasses: Int32Array,
  imWidth: number, imHeight: number, cfg: RoiDataConfig,
): RetinanetImageTargets {
  const { labels, fgInds, numBg, argmax } = labelAnchors(allAnchors, gtBoxes, gtClasses, cfg);
  const targets = new Float32Array(allAnchors.length);
  const fgTargets = computeTargets(takeRows(allAnchors, 4, fgInds), gtRowsFor(gtBoxes, argmax, fgInds));
  fgInds.forEach((i, r) => targets.set(fgTargets.subarray(4 * r, 4 * r + 4), 4 * i));
  const starts = fieldStarts(foas);
  const fields = foas.map((foa, l) => fieldTargets(foa, labels, targets, starts[l], imWidth, imHeight, cfg));
  const C = cfg.MODEL.NUM_CLASSES;
  const fgNum = f32(fgInds.length + 1);
  return { fields, fgNum, bgNum: (numBg + 1) * (C - 1) + f32(fgNum * (C - 2)) };
}

function fieldTargets(
  foa: FieldOfAnchors, labels: Float32Array, targets: Float32Array, start: number, imWidth: number, imHeight: number,
  cfg: RoiDataConfig,
): RetinanetFieldTargets {
  const F = foa.fieldSize;
  const w = Math.trunc(imWidth / foa.stride);
  const h = Math.trunc(imHeight / foa.stride);
  // _labels[:, :, 0:h, 0:w]: slicing past the field keeps the field's size
  const hh = Math.min(h, F);
  const ww = Math.min(w, F);
  const cls = new Int32Array(hh * ww);
  for (let y = 0; y < hh; y++) for (let x = 0; x < ww; x++) cls[y * ww + x] = labels[start + y * F + x];
  const bt: number[] = [];
  const locs: number[] = [];
  const numClasses = cfg.MODEL.NUM_CLASSES - 1;
  for (let k = 0; k < F * F; k++) {
    const lbl = labels[start + k];
    if (!(lbl > 0)) continue;
    const l = cfg.RETINANET.CLASS_SPECIFIC_BBOX ? lbl - 1 : 0;
    if (!(l >= 0 && l < numClasses)) throw new Error(`RetinaNet label ${lbl} out of range for ${numClasses} classes`);
    const g = start + k;
    bt.push(targets[4 * g], targets[4 * g + 1], targets[4 * g + 2], targets[4 * g + 3]);
    locs.push(0, l, Math.floor(k / F), k % F);
  }
  return { clsLabels: i32Blob([1, 1, hh, ww], cls), roiBboxTargets: Float32Array.from(bt), roiFgBboxLocs: Float32Array.from(locs) };
}

/**
 * add_retinanet_blobs: per image targets, then per level: labels N×A×h×w (images stacked, the
 * level's A fields side by side), and the fg box targets / locations of all fields and images
 * (M×4), locations [image, 4·l + loc_stride·anchor_index, y, x].
 */
export function addRetinanetBlobs(
  blobs: Record<string, NdArray>, imScales: readonly number[], entries: readonly RoiDataEntry[], imWidth: number,
  imHeight: number, cfg: RoiDataConfig,
): boolean {
  if (imScales.length !== entries.length) throw new Error(`add_retinanet_blobs: ${imScales.length} scales for ${entries.length} images`);
  const foas = retinanetFieldsOfAnchors(cfg);
  const allAnchors = concatAnchors(foas);
  const numAspect = cfg.RETINANET.ASPECT_RATIOS.length;
  const locStride = cfg.RETINANET.CLASS_SPECIFIC_BBOX ? 4 * (cfg.MODEL.NUM_CLASSES - 1) : 4;
  const imInfo: NdArray[] = [];
  const perLevel = new Map<number, { cls: NdArray[][]; bt: NdArray[]; locs: NdArray[] }>();
  let fgNum = 0;
  let bgNum = 0;
  entries.forEach((entry, imI) => forImage(entry.image, () => {
    const scale = imScales[imI];
    const info = trainImInfo(entry.height, entry.width, scale);
    const gtInds = nonCrowdGtInds(entry);
    const gtRois = scaleBoxes(takeRows(entry.boxes, 4, gtInds), scale);
    const gtClasses = Int32Array.from(gtInds, (i) => entry.gt_classes[i]);
    imInfo.push(f32Blob([1, 3], info));
    const r = getRetinanetBlobs(foas, allAnchors, gtRois, gtClasses, imWidth, imHeight, cfg);
    r.fields.forEach((t, f) => {
      const foa = foas[f];
      const level = Math.round(Math.log2(foa.stride));
      if (!perLevel.has(level)) perLevel.set(level, { cls: [], bt: [], locs: [] });
      const p = perLevel.get(level)!;
      if (p.cls.length <= imI) p.cls.push([]);
      p.cls[imI].push(t.clsLabels);
      const anchorInd = (foa.octave ?? 0) * numAspect + (foa.aspect ?? 0);
      const locs = t.roiFgBboxLocs;
      for (let i = 0; i < locs.length; i += 4) {
        locs[i] = imI;
        locs[i + 1] = f32(f32(locs[i + 1] * 4) + locStride * anchorInd);
      }
      p.bt.push(f32Blob([t.roiBboxTargets.length / 4, 4], t.roiBboxTargets));
      p.locs.push(f32Blob([locs.length / 4, 4], locs));
    });
    fgNum = f32(fgNum + r.fgNum);
    bgNum += r.bgNum;
  }));
  blobs.im_info = concatBlobs(imInfo, 'im_info');
  blobs.retnet_fg_num = f32Blob([1], Float32Array.of(fgNum));
  blobs.retnet_bg_num = f32Blob([1], Float32Array.of(bgNum));
  for (const [level, p] of perLevel) {
    blobs[`retnet_cls_labels_fpn${level}`] = concatBlobs(p.cls.map((fields) => concatAxis1(fields)), `retnet_cls_labels_fpn${level}`);
    blobs[`retnet_roi_bbox_targets_fpn${level}`] = concatBlobs(p.bt, `retnet_roi_bbox_targets_fpn${level}`);
    blobs[`retnet_roi_fg_bbox_locs_fpn${level}`] = concatBlobs(p.locs, `retnet_roi_fg_bbox_locs_fpn${level}`);
  }
  return true;
}

/** np.concatenate(1×1×h×w blobs, axis=1) → 1×A×h×w. */
function concatAxis1(parts: readonly NdArray[]): NdArray {
  const [, , h, w] = parts[0].shape;
  const out = new Int32Array(parts.length * h * w);
  parts.forEach((p, a) => out.set(p.data as Int32Array, a * h * w));
  return i32Blob([1, parts.length, h, w], out);
}
