/**
 * Detectron's test-time image preprocessing (detectron/utils/blob.py): pixel means, the
 * im_scale rule, OpenCV's INTER_LINEAR resize, padding to the coarsest FPN stride, NCHW.
 *
 * Takes plain numbers instead of a global config: the caller passes cfg.PIXEL_MEANS,
 * cfg.TEST.SCALE / MAX_SIZE and (cfg.FPN.FPN_ON ? cfg.FPN.COARSEST_STRIDE : 0).
 */
import { NdArray } from './ndarray';
import { cv2Resize, roundHalfEven } from './cv2_resize';

export interface ImageBlob {
  /** float32 [N, 3, H, W], zero padded. */
  blob: NdArray;
  imScale: number;
  /** float32 [1, 3]: [blob height, blob width, im_scale] (padded size, as Detectron has it). */
  imInfo: NdArray;
}

export interface BlobOptions {
  /** BGR means, Detectron's cfg.PIXEL_MEANS: [102.9801, 115.9465, 122.7717]. */
  pixelMeans: readonly number[];
  /** cfg.FPN.COARSEST_STRIDE when FPN is on, 0 (no padding) when it is off. */
  coarsestStride: number;
}

function checkHwc3(im: NdArray, what: string): [number, number] {
  if (im.shape.length !== 3 || im.shape[2] !== 3) {
    throw new Error(`${what}: expected an H x W x 3 BGR image, got shape [${im.shape.join(', ')}]`);
  }
  const [h, w] = im.shape;
  if (!(h > 0 && w > 0)) throw new Error(`${what}: empty image of shape [${im.shape.join(', ')}]`);
  if (im.data.length !== h * w * 3) {
    throw new Error(`${what}: data length ${im.data.length} does not match shape [${im.shape.join(', ')}]`);
  }
  return [h, w];
}

function checkMeans(pixelMeans: readonly number[]): void {
  if (pixelMeans.length !== 3 || !pixelMeans.every(Number.isFinite)) {
    throw new Error(`blob: pixelMeans must be three finite numbers (B, G, R), got [${pixelMeans.join(', ')}]`);
  }
}

/**
 * `im.astype(np.float32) - pixel_means` as numpy evaluates it: float32 image minus a float64
 * mean is computed in double and rounded once to float32. Passing float32-rounded means
 * (Math.fround) gives the float32 subtraction instead; both are exact for what they are given.
 */
export function subtractPixelMeans(im: NdArray, pixelMeans: readonly number[]): NdArray {
  const [h, w] = checkHwc3(im, 'subtractPixelMeans');
  checkMeans(pixelMeans);
  if (im.dtype !== 'uint8' && im.dtype !== 'float32') {
    throw new Error(`subtractPixelMeans: expected a uint8 or float32 image, got ${im.dtype}`);
  }
  const src = im.data as Uint8Array | Float32Array;
  const out = new Float32Array(h * w * 3);
  const [m0, m1, m2] = pixelMeans;
  for (let i = 0; i < out.length; i += 3) {
    out[i] = src[i] - m0;
    out[i + 1] = src[i + 1] - m1;
    out[i + 2] = src[i + 2] - m2;
  }
  return { dtype: 'float32', shape: [h, w, 3], data: out };
}

/**
 * prep_im_for_blob's scale: target_size / short side, unless np.round(scale * long side)
 * exceeds max_size (np.round rounds half to even), then max_size / long side.
 */
export function computeImScale(height: number, width: number, targetSize: number, maxSize: number): number {
  if (!(targetSize > 0 && maxSize > 0 && Number.isFinite(targetSize) && Number.isFinite(maxSize))) {
    throw new Error(`computeImScale: targetSize and maxSize must be positive, got ${targetSize}, ${maxSize}`);
  }
  const sizeMin = Math.min(height, width);
  const sizeMax = Math.max(height, width);
  let imScale = targetSize / sizeMin;
  if (roundHalfEven(imScale * sizeMax) > maxSize) imScale = maxSize / sizeMax;
  return imScale;
}

/** Detectron's prep_im_for_blob: means subtracted first, then cv2.resize(fx=fy=im_scale, INTER_LINEAR). */
export function prepImForBlob(
  im: NdArray, pixelMeans: readonly number[], targetSize: number, maxSize: number,
): { image: NdArray; imScale: number } {
  const centred = subtractPixelMeans(im, pixelMeans);
  const [h, w] = centred.shape;
  const imScale = computeImScale(h, w, targetSize, maxSize);
  const image = cv2Resize(centred, { fx: imScale, fy: imScale, interpolation: 'linear' });
  return { image, imScale };
}

/** Padded blob size: np.ceil(size / float(stride)) * stride, or the size itself without FPN. */
function paddedSize(size: number, stride: number): number {
  return stride > 0 ? Math.ceil(size / stride) * stride : size;
}

/**
 * Detectron's im_list_to_blob: float32 HWC images into one zero-padded [N, 3, H, W] blob,
 * H and W the largest image's rounded up to a multiple of `coarsestStride` (0: no rounding).
 */
export function imListToBlob(ims: readonly NdArray[], coarsestStride: number): NdArray {
  if (ims.length === 0) throw new Error('imListToBlob: no images');
  if (!(Number.isInteger(coarsestStride) && coarsestStride >= 0)) {
    throw new Error(`imListToBlob: coarsestStride must be a non-negative integer, got ${coarsestStride}`);
  }
  let maxH = 0;
  let maxW = 0;
  for (const im of ims) {
    const [h, w] = checkHwc3(im, 'imListToBlob');
    if (im.dtype !== 'float32') throw new Error(`imListToBlob: expected float32 images, got ${im.dtype}`);
    maxH = Math.max(maxH, h);
    maxW = Math.max(maxW, w);
  }
  const H = paddedSize(maxH, coarsestStride);
  const W = paddedSize(maxW, coarsestStride);
  const plane = H * W;
  const out = new Float32Array(ims.length * 3 * plane);
  ims.forEach((im, n) => {
    const [h, w] = im.shape;
    const src = im.data as Float32Array;
    const base = n * 3 * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = (y * w + x) * 3;
        const d = base + y * W + x;
        out[d] = src[s];
        out[d + plane] = src[s + 1];
        out[d + 2 * plane] = src[s + 2];
      }
    }
  });
  return { dtype: 'float32', shape: [ims.length, 3, H, W], data: out };
}

/** Detectron's get_image_blob: the network input, im_scale and im_info for one image and scale. */
export function getImageBlob(im: NdArray, targetScale: number, targetMaxSize: number, opts: BlobOptions): ImageBlob {
  const { image, imScale } = prepImForBlob(im, opts.pixelMeans, targetScale, targetMaxSize);
  const blob = imListToBlob([image], opts.coarsestStride);
  const imInfo: NdArray = {
    dtype: 'float32',
    shape: [1, 3],
    data: new Float32Array([blob.shape[2], blob.shape[3], imScale]),
  };
  return { blob, imScale, imInfo };
}
