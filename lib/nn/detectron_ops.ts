/**
 * Detectron's own operators over Tensors: RoIAlign and RoIPoolF (Caffe2 semantics, with
 * autograd to the features), and the box utilities of detectron/utils/cython_nms.pyx and
 * cython_bbox.pyx (NMS, soft-NMS, bbox overlaps). The kernels live in native/kernels/;
 * this file checks plain arguments (so a NaN or a fraction never reaches an integer
 * parameter in C++) and gives the ops typed signatures. Tensor shapes, dtypes and devices
 * are checked natively, with messages naming the op.
 */
import { native, NativeTensor } from './native';
import { Tensor } from './tensor';

/** The addon functions registered by native/src/ops_detectron.cc. */
interface DetectronNative {
  roiAlign(
    features: NativeTensor, rois: NativeTensor, spatialScale: number, pooledH: number, pooledW: number,
    samplingRatio: number,
  ): NativeTensor;
  roiAlignBackward(
    gradOutput: NativeTensor, rois: NativeTensor, featureShape: number[], spatialScale: number, pooledH: number,
    pooledW: number, samplingRatio: number,
  ): NativeTensor;
  roiPool(
    features: NativeTensor, rois: NativeTensor, spatialScale: number, pooledH: number, pooledW: number,
  ): [NativeTensor, NativeTensor];
  nms(dets: NativeTensor, thresh: number): NativeTensor;
  softNms(
    dets: NativeTensor, sigma: number, overlapThresh: number, scoreThresh: number, method: number,
  ): [NativeTensor, NativeTensor];
  bboxOverlaps(boxes: NativeTensor, query: NativeTensor): NativeTensor;
}

const ops = native as unknown as DetectronNative;

/** Pooling geometry shared by RoIAlign and RoIPoolF. */
export interface RoIPoolOptions {
  /** Output bins per RoI (Detectron's ROI_XFORM_RESOLUTION, e.g. 7 or 14). */
  pooledH: number;
  pooledW: number;
  /** Feature-map cells per image pixel: 1 / stride (e.g. 1/16 for C4, 1/4 for FPN P2). */
  spatialScale: number;
}

export interface RoIAlignOptions extends RoIPoolOptions {
  /**
   * Bilinear samples per bin along each axis; 0 (Detectron's default) means adaptive,
   * ceil(roi side / pooled side).
   */
  samplingRatio?: number;
}

function checkInt(op: string, name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

function checkFinite(op: string, name: string, value: number): number {
  if (!Number.isFinite(value)) throw new RangeError(`${op}: ${name} must be a finite number, got ${value}`);
  return value;
}

function poolArgs(op: string, o: RoIPoolOptions): [number, number, number] {
  const scale = checkFinite(op, 'spatialScale', o.spatialScale);
  if (scale <= 0) throw new RangeError(`${op}: spatialScale must be positive, got ${scale}`);
  return [scale, checkInt(op, 'pooledH', o.pooledH, 1), checkInt(op, 'pooledW', o.pooledW, 1)];
}

/**
 * RoIAlign as Caffe2's RoIAlign op (Mask R-CNN, `aligned=False`): features N×C×H×W, rois
 * R×5 (batch index, x1, y1, x2, y2) in image coordinates, same float dtype. Returns
 * R×C×pooledH×pooledW; differentiable with respect to the features.
 */
export function roiAlign(features: Tensor, rois: Tensor, options: RoIAlignOptions): Tensor {
  const [scale, ph, pw] = poolArgs('roiAlign', options);
  const ratio = checkInt('roiAlign', 'samplingRatio', options.samplingRatio ?? 0, 0);
  return new Tensor(ops.roiAlign(features.handle, rois.handle, scale, ph, pw, ratio));
}

/**
 * The gradient kernel of roiAlign alone: d(sum(output × gradOutput)) / d(features) for
 * features of `featureShape`. Autograd calls it for you; this is for tests and benchmarks.
 */
export function roiAlignBackward(
  gradOutput: Tensor, rois: Tensor, featureShape: number[], options: RoIAlignOptions,
): Tensor {
  const [scale, ph, pw] = poolArgs('roiAlignBackward', options);
  const ratio = checkInt('roiAlignBackward', 'samplingRatio', options.samplingRatio ?? 0, 0);
  featureShape.forEach((d, i) => checkInt('roiAlignBackward', `featureShape[${i}]`, d, 0));
  return new Tensor(ops.roiAlignBackward(gradOutput.handle, rois.handle, featureShape, scale, ph, pw, ratio));
}

/**
 * RoIPoolF (Fast R-CNN max pooling, Detectron's variant) with the argmax it keeps for the
 * backward pass: int32 offsets inside each H×W plane, -1 where a bin is empty (output 0).
 */
export function roiPoolWithArgmax(
  features: Tensor, rois: Tensor, options: RoIPoolOptions,
): { output: Tensor; argmax: Tensor } {
  const [scale, ph, pw] = poolArgs('roiPool', options);
  const [output, argmax] = ops.roiPool(features.handle, rois.handle, scale, ph, pw);
  return { output: new Tensor(output), argmax: new Tensor(argmax) };
}

/** RoIPoolF's pooled output (R×C×pooledH×pooledW), differentiable w.r.t. the features. */
export function roiPool(features: Tensor, rois: Tensor, options: RoIPoolOptions): Tensor {
  const { output, argmax } = roiPoolWithArgmax(features, rois, options);
  argmax.dispose();
  return output;
}

/**
 * Greedy NMS exactly as Detectron's cython_nms.nms: dets N×5 (x1, y1, x2, y2, score),
 * float32 IoU with +1 areas, suppression when IoU >= thresh. Returns the kept indices
 * (int64) in ascending index order, as cython_nms does. float64 dets are rounded to
 * float32 first, as Detectron does.
 */
export function nms(dets: Tensor, thresh: number): Tensor {
  return new Tensor(ops.nms(dets.handle, checkFinite('nms', 'thresh', thresh)));
}

export type SoftNmsMethod = 'hard' | 'linear' | 'gaussian';

const SOFT_NMS_METHODS: Readonly<Record<SoftNmsMethod, number>> = { hard: 0, linear: 1, gaussian: 2 };

/** Detectron's box_utils.soft_nms defaults. */
export interface SoftNmsOptions {
  sigma?: number; // 0.5
  overlapThresh?: number; // 0.3
  scoreThresh?: number; // 0.001
  method?: SoftNmsMethod; // 'linear'
}

/**
 * Soft-NMS exactly as Detectron's cython_nms.soft_nms: rescores overlapping boxes
 * (linearly or with a gaussian), drops those under scoreThresh, and returns the boxes in
 * the order it leaves them (float32 N'×5) with their original indices (int64).
 */
export function softNms(dets: Tensor, options: SoftNmsOptions = {}): { dets: Tensor; keep: Tensor } {
  const method = options.method ?? 'linear';
  const code = SOFT_NMS_METHODS[method];
  if (code === undefined) throw new RangeError(`softNms: unknown method '${String(method)}' (hard, linear or gaussian)`);
  const [out, keep] = ops.softNms(
    dets.handle,
    checkFinite('softNms', 'sigma', options.sigma ?? 0.5),
    checkFinite('softNms', 'overlapThresh', options.overlapThresh ?? 0.3),
    checkFinite('softNms', 'scoreThresh', options.scoreThresh ?? 0.001),
    code,
  );
  return { dets: new Tensor(out), keep: new Tensor(keep) };
}

/**
 * IoU of every box with every query box, N×K, with Detectron's +1 convention (as
 * cython_bbox.bbox_overlaps); computed in the inputs' dtype (float32 reproduces Detectron).
 */
export function bboxOverlaps(boxes: Tensor, query: Tensor): Tensor {
  return new Tensor(ops.bboxOverlaps(boxes.handle, query.handle));
}
