/**
 * RoI feature transforms (Detectron's RoIFeatureTransform): RoIAlign or RoIPoolF over
 * one feature map, or over FPN levels with each RoI pooled from the level its size maps
 * to, the results restored to RoI order.
 */
import { roiAlign, roiPool } from '../nn/detectron_ops';
import { cat, fromArray, Tensor } from '../nn/tensor';
import { tidy } from '../nn/scope';
import type { Cfg } from './config_types';
import { distributeFpnRois } from '../ops/collect_and_distribute_fpn_rpn_proposals';

/** Where RoIs are pooled from: one map, or several FPN levels (finest first). */
export interface RoIFeatures {
  features: Tensor[];
  scales: number[];
  levels: number[];
}

export interface XformOptions {
  method: string;
  resolution: number;
  samplingRatio: number;
}

function poolOne(features: Tensor, rois: Tensor, scale: number, o: XformOptions): Tensor {
  const geometry = { pooledH: o.resolution, pooledW: o.resolution, spatialScale: scale };
  if (o.method === 'RoIAlign') return roiAlign(features, rois, { ...geometry, samplingRatio: o.samplingRatio });
  if (o.method === 'RoIPoolF') return roiPool(features, rois, geometry);
  throw new Error(`unknown RoI transform method '${o.method}' (expected RoIAlign or RoIPoolF)`);
}

/** Pools `rois` (R×5: batch index, x1, y1, x2, y2 in network-input pixels). */
export function roiFeatureTransform(src: RoIFeatures, rois: Tensor, o: XformOptions, cfg: Cfg): Tensor {
  if (src.features.length === 1 || rois.size(0) === 0) return poolOne(src.features[0], rois, src.scales[0], o);
  return tidy(() => {
    const { levelIndices, idxRestore } = distributeFpnRois(rois.data() as Float32Array, {
      minLevel: cfg.FPN.ROI_MIN_LEVEL, maxLevel: cfg.FPN.ROI_MAX_LEVEL,
      canonicalScale: cfg.FPN.ROI_CANONICAL_SCALE, canonicalLevel: cfg.FPN.ROI_CANONICAL_LEVEL,
    });
    const parts: Tensor[] = [];
    levelIndices.forEach((idx, i) => {
      if (idx.length === 0) return;
      const lvl = cfg.FPN.ROI_MIN_LEVEL + i;
      const at = src.levels.indexOf(lvl);
      if (at < 0) throw new Error(`RoIs map to FPN level ${lvl}, which the body does not produce`);
      const sel = rois.indexSelect(0, fromArray(idx, [idx.length]).long());
      parts.push(poolOne(src.features[at], sel, src.scales[at], o));
    });
    // Back to RoI order (Detectron's BatchPermutation with rois_idx_restore).
    const pooled = parts.length === 1 ? parts[0] : cat(parts, 0);
    return pooled.indexSelect(0, fromArray(idxRestore, [idxRestore.length]).long());
  });
}
