/**
 * Training minibatches: Detectron's detectron/roi_data/minibatch.py (get_minibatch_blob_names,
 * get_minibatch, _get_image_blob) over typed arrays.
 *
 * Per image: a TRAIN.SCALES entry drawn at random, the image read (OpenCV-identical imread),
 * flipped horizontally for flipped entries, optionally aspect-cropped (Detectron.pytorch's
 * ASPECT_CROPPING), means subtracted and resized (prep_im_for_blob with TRAIN.MAX_SIZE); the
 * images are padded into one N×3×H×W blob (to COARSEST_STRIDE with FPN). Then the targets of the
 * model type: RPN (RPN.RPN_ON), RetinaNet, or Fast R-CNN on precomputed proposals.
 *
 * All random draws come from one RandomSource per minibatch, in a fixed order (scales, crops,
 * then targets image by image), so a minibatch is a pure function of its entries and seed.
 */
import { imread } from '../utils/image_io';
import { imListToBlob, prepImForBlob } from '../utils/blob';
import type { NdArray } from '../utils/ndarray';
import type { RandomSource } from './rng';
import { RoiDataConfig, RoiDataEntry, RoiDataError, forImage } from './data_utils';
import { addRpnBlobs, getRpnBlobNames } from './rpn';
import { addRetinanetBlobs, getRetinanetBlobNames } from './retinanet';
import { addFastRcnnBlobs, getFastRcnnBlobNames } from './fast_rcnn';
import { AspectCroppingOptions, CropWindow, aspectCropRatio, chooseCrop, cropEntry, cropImage } from './aspect_crop';

/** Reads an image as uint8 H×W×3 BGR (default: imread, identical to cv2.imread). */
export type ImageReader = (path: string) => Promise<NdArray>;

export interface MinibatchOptions {
  readImage?: ImageReader;
  /** Detectron.pytorch's TRAIN.ASPECT_CROPPING with its ASPECT_HI / ASPECT_LO; off when absent. */
  aspectCropping?: AspectCroppingOptions | null;
}

/** How one image of the minibatch was made (enough to rebuild its roidb entry). */
export interface MinibatchImage {
  image: string;
  flipped: boolean;
  /** Index into TRAIN.SCALES and the resulting im_scale. */
  scaleIndex: number;
  imScale: number;
  /** The aspect crop applied before resizing, or null. */
  crop: CropWindow | null;
}

export interface Minibatch {
  /** get_minibatch_blob_names' blobs, in that order: float32 or int32, as Detectron asserts. */
  blobs: Record<string, NdArray>;
  /** Detectron's `valid` (false: a keypoint minibatch with too few visible keypoints). */
  valid: boolean;
  images: MinibatchImage[];
}

/** Whether the model has an RPN (what assert_and_infer_cfg infers into RPN.RPN_ON). */
function rpnOn(cfg: RoiDataConfig): boolean {
  return cfg.RPN.RPN_ON || cfg.MODEL.FASTER_RCNN || cfg.MODEL.RPN_ONLY;
}

/** get_minibatch_blob_names: 'data' then the model type's blobs. */
export function getMinibatchBlobNames(cfg: RoiDataConfig, isTraining = true): string[] {
  if (rpnOn(cfg)) return ['data', ...getRpnBlobNames(cfg, isTraining)];
  if (cfg.RETINANET.RETINANET_ON) return ['data', ...getRetinanetBlobNames(cfg, isTraining)];
  return ['data', ...getFastRcnnBlobNames(cfg, isTraining)];
}

/** im[:, ::-1, :] of an H×W×C image. */
export function flipImage(im: NdArray): NdArray {
  const [h, w, c] = im.shape;
  const src = im.data as Uint8Array;
  const out = new Uint8Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * c;
      const d = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[d + k] = src[s + k];
    }
  }
  return { dtype: im.dtype, shape: [h, w, c], data: out };
}

/** cfg.PIXEL_MEANS (1×1×3) as three numbers. */
function pixelMeans(cfg: RoiDataConfig): number[] {
  const m = cfg.PIXEL_MEANS.flat(2);
  if (m.length !== 3) throw new Error(`PIXEL_MEANS must hold 3 values, got ${m.length}`);
  return m;
}

/** The per-image crop windows (drawn in image order) and the entries seen through them. */
function planCrops(
  entries: readonly RoiDataEntry[], opts: AspectCroppingOptions | null | undefined, rng: RandomSource,
): { crops: (CropWindow | null)[]; used: RoiDataEntry[] } {
  const crops: (CropWindow | null)[] = [];
  const used: RoiDataEntry[] = [];
  for (const e of entries) {
    const ratio = opts ? aspectCropRatio(e.width, e.height, opts) : null;
    const window = ratio === null ? null : forImage(e.image, () => chooseCrop(e, ratio, rng));
    const cropped = window === null ? null : forImage(e.image, () => cropEntry(e, window));
    crops.push(cropped === null ? null : window);
    used.push(cropped ?? e);
  }
  return { crops, used };
}

/** Reads, flips and crops one image, checking its size against the entry's. */
async function loadImage(entry: RoiDataEntry, crop: CropWindow | null, read: ImageReader): Promise<NdArray> {
  let im: NdArray;
  try {
    im = await read(entry.image);
  } catch (err) {
    throw new RoiDataError(entry.image, `failed to read image: ${(err as Error).message}`);
  }
  const [h, w] = im.shape;
  if (h !== entry.height || w !== entry.width) {
    throw new RoiDataError(entry.image, `image is ${w}×${h} but its roidb entry says ${entry.width}×${entry.height}`);
  }
  if (entry.flipped) im = flipImage(im);
  return crop === null ? im : cropImage(im, crop);
}

/**
 * _get_image_blob for already decoded (flipped, cropped) uint8 BGR images: prep_im_for_blob at
 * TRAIN.SCALES[scaleInds[i]] / TRAIN.MAX_SIZE, then im_list_to_blob.
 */
export function getImageBlob(
  ims: readonly NdArray[], names: readonly string[], scaleInds: ArrayLike<number>, cfg: RoiDataConfig,
): { blob: NdArray; imScales: number[] } {
  const means = pixelMeans(cfg);
  const processed: NdArray[] = [];
  const imScales: number[] = [];
  ims.forEach((im, i) => forImage(names[i], () => {
    const { image, imScale } = prepImForBlob(im, means, cfg.TRAIN.SCALES[scaleInds[i]], cfg.TRAIN.MAX_SIZE);
    processed.push(image);
    imScales.push(imScale);
  }));
  const blob = imListToBlob(processed, cfg.FPN.FPN_ON ? cfg.FPN.COARSEST_STRIDE : 0);
  return { blob, imScales };
}

/** Adds the model type's target blobs; returns `valid`. */
function addTargets(
  blobs: Record<string, NdArray>, imScales: number[], entries: readonly RoiDataEntry[], data: NdArray, cfg: RoiDataConfig,
  rng: RandomSource,
): boolean {
  if (rpnOn(cfg)) return addRpnBlobs(blobs, imScales, entries, cfg, rng);
  if (cfg.RETINANET.RETINANET_ON) {
    // the padded network input's size
    return addRetinanetBlobs(blobs, imScales, entries, data.shape[3], data.shape[2], cfg);
  }
  return addFastRcnnBlobs(blobs, imScales, entries, cfg, rng);
}

/** get_minibatch: the blobs of one minibatch of roidb entries. */
export async function getMinibatch(
  entries: readonly RoiDataEntry[], cfg: RoiDataConfig, rng: RandomSource, opts: MinibatchOptions = {},
): Promise<Minibatch> {
  if (entries.length === 0) throw new Error('getMinibatch: no entries');
  if (cfg.TRAIN.SCALES.length === 0) throw new Error('TRAIN.SCALES is empty');
  const scaleInds = rng.randintArray(cfg.TRAIN.SCALES.length, entries.length);
  const { crops, used } = planCrops(entries, opts.aspectCropping, rng);
  const read = opts.readImage ?? imread;
  const ims = await Promise.all(entries.map((e, i) => loadImage(e, crops[i], read)));
  const { blob, imScales } = getImageBlob(ims, entries.map((e) => e.image), scaleInds, cfg);
  const raw: Record<string, NdArray> = { data: blob };
  const valid = addTargets(raw, imScales, used, blob, cfg, rng);
  const blobs: Record<string, NdArray> = {};
  for (const name of getMinibatchBlobNames(cfg, true)) {
    const b = raw[name];
    if (b === undefined) throw new Error(`internal: minibatch has no ${name} blob`);
    if (b.dtype !== 'float32' && b.dtype !== 'int32') throw new Error(`Blob ${name} of dtype ${b.dtype} must be float32 or int32`);
    blobs[name] = b;
  }
  const images = entries.map((e, i): MinibatchImage => ({
    image: e.image, flipped: e.flipped, scaleIndex: scaleInds[i], imScale: imScales[i], crop: crops[i],
  }));
  return { blobs, valid, images };
}

/**
 * The roidb entries a minibatch's targets were built from (cropped where its images were):
 * what end-to-end training hands to generateProposalLabels, like Detectron's 'roidb' blob.
 */
export function minibatchRoidb<T extends RoiDataEntry>(entries: readonly T[], images: readonly MinibatchImage[]): T[] {
  if (entries.length !== images.length) throw new Error(`minibatchRoidb: ${entries.length} entries for ${images.length} images`);
  return entries.map((e, i) => {
    const crop = images[i].crop;
    if (crop === null) return e;
    const cropped = forImage(e.image, () => cropEntry(e, crop));
    if (cropped === null) throw new RoiDataError(e.image, 'the recorded crop leaves no gt box');
    return cropped;
  });
}
