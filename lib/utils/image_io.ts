/**
 * Image decoding that gives exactly the pixels of OpenCV 4.6's `cv2.imread(path)`
 * (IMREAD_COLOR): BGR uint8 H x W x 3.
 *
 * sharp (libvips) does the decoding of JPEG, PNG, TIFF and WebP; BMP has our own decoder. What we
 * do around sharp is what makes the pixels OpenCV's:
 *   - no colour management: embedded ICC profiles are ignored and nothing is converted to sRGB;
 *   - grey is replicated to three channels, alpha dropped (never composited);
 *   - 16 bits become 8 as OpenCV's codecs do it: PNG keeps the high byte (libpng strip_16), TIFF
 *     colour goes through libtiff's RGBA reader, (v * 255 + 32767) / 65535, TIFF grey keeps the
 *     high byte;
 *   - CMYK JPEG uses OpenCV's own CMYK -> BGR formula on the stored (Adobe-inverted) samples,
 *     CMYK TIFF libtiff's;
 *   - orientation is OpenCV's: EXIF for JPEG and PNG, the Orientation tag for TIFF, none for WebP;
 *   - a JPEG that libjpeg can only partly decode (truncated, corrupt entropy data) decodes as
 *     OpenCV decodes it, with a warning; anything OpenCV would return None for is an error.
 * Formats OpenCV 4.6 does not read (GIF, HEIF, AVIF, SVG, ...) are errors even where sharp could
 * read them: Detectron would not have seen those pixels.
 */
import { promises as fs } from 'fs';
import sharp from 'sharp';
import { NdArray } from './ndarray';
import { decodeBmp } from './bmp_decoder';
import {
  applyOrientation, jpegHasAdobeMarker, jpegOrientation, orientationFromTiffStructure, pngOrientation,
} from './image_metadata';

export type ImageFormat = 'jpeg' | 'png' | 'bmp' | 'tiff' | 'webp';

/** The file (or buffer name) could not be decoded into an image; `reason` says why. */
export class ImageDecodeError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'ImageDecodeError';
  }
}

export interface DecodedImage {
  /** uint8 [H, W, 3], B G R. */
  image: NdArray;
  format: ImageFormat;
  /** Problems OpenCV would also have decoded through (e.g. a truncated JPEG). */
  warnings: string[];
}

/** OpenCV's CV_IO_MAX_IMAGE_PIXELS default. */
const MAX_PIXELS = 2 ** 30;
const SUPPORTED = 'JPEG, PNG, BMP, TIFF or WebP';

/** The format by signature, as OpenCV's findDecoder chooses (not by file extension). */
export function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  const at = (i: number, ...bytes: number[]): boolean => bytes.every((v, k) => b[i + k] === v);
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0x42, 0x4d)) return 'bmp';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  return undefined;
}

/** Decoded pixels, B G R interleaved, before orientation. */
interface BgrPixels {
  bgr: Uint8Array;
  width: number;
  height: number;
}

/** Raw decoded samples from sharp, in the file's own channel layout. */
interface RawSamples {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: number;
}

type FailOn = 'none' | 'truncated' | 'error' | 'warning';

function sharpInput(bytes: Uint8Array, failOn: FailOn): sharp.Sharp {
  return sharp(bytes, { ignoreIcc: true, failOn, limitInputPixels: MAX_PIXELS });
}

async function rawSamples(pipeline: sharp.Sharp, depth: 'uchar' | 'ushort'): Promise<RawSamples> {
  const { data, info } = await pipeline.raw({ depth }).toBuffer({ resolveWithObject: true });
  const samples = depth === 'ushort'
    ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length))
    : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { data: samples, width: info.width, height: info.height, channels: info.channels };
}

/** 16 -> 8 bits the way the format's OpenCV codec does it. */
function to8bit(format: ImageFormat, grey: boolean): (v: number) => number {
  if (format === 'tiff' && !grey) return (v) => Math.floor((v * 255 + 32767) / 65535);
  return (v) => v >> 8;
}

/** Grey replicated, alpha dropped, RGB reordered to BGR. */
function toBgr(s: RawSamples, map8: ((v: number) => number) | undefined): Uint8Array {
  const n = s.width * s.height;
  const out = new Uint8Array(n * 3);
  const c = s.channels;
  const src = s.data;
  for (let i = 0, p = 0, o = 0; i < n; i++, p += c, o += 3) {
    let r = src[p], g = r, b = r;
    if (c >= 3) {
      g = src[p + 1];
      b = src[p + 2];
    }
    if (map8) {
      r = map8(r);
      g = map8(g);
      b = map8(b);
    }
    out[o] = b;
    out[o + 1] = g;
    out[o + 2] = r;
  }
  return out;
}

/**
 * OpenCV's icvCvt_CMYK2BGR on the samples as stored: libjpeg hands OpenCV Adobe CMYK inverted,
 * while libvips un-inverts it, so we invert back when the Adobe marker is there.
 */
function cmykToBgr(s: RawSamples, adobeInverted: boolean): Uint8Array {
  const n = s.width * s.height;
  const out = new Uint8Array(n * 3);
  const src = s.data;
  for (let i = 0; i < n; i++) {
    const p = i * 4;
    const stored = (v: number): number => (adobeInverted ? 255 - v : v);
    const c = stored(src[p]), m = stored(src[p + 1]), y = stored(src[p + 2]), k = stored(src[p + 3]);
    out[i * 3] = k - (((255 - y) * k) >> 8);
    out[i * 3 + 1] = k - (((255 - m) * k) >> 8);
    out[i * 3 + 2] = k - (((255 - c) * k) >> 8);
  }
  return out;
}

/** libtiff's RGBA reader (which OpenCV's TIFF decoder uses) on 8-bit CMYK: (255-k)(255-c)/255. */
function tiffCmykToBgr(s: RawSamples): Uint8Array {
  const n = s.width * s.height;
  const out = new Uint8Array(n * 3);
  const src = s.data;
  for (let i = 0; i < n; i++) {
    const p = i * s.channels;
    const k = 255 - src[p + 3];
    out[i * 3] = Math.floor((k * (255 - src[p + 2])) / 255);
    out[i * 3 + 1] = Math.floor((k * (255 - src[p + 1])) / 255);
    out[i * 3 + 2] = Math.floor((k * (255 - src[p])) / 255);
  }
  return out;
}

function orientationOf(format: ImageFormat, bytes: Uint8Array): number | undefined {
  switch (format) {
    case 'jpeg': return jpegOrientation(bytes);
    case 'png': return pngOrientation(bytes);
    case 'tiff': return orientationFromTiffStructure(bytes, 0, bytes.length);
    default: return undefined;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/** Decodes with sharp, strictly first; a JPEG that fails only on warnings is retried tolerantly. */
async function decodeWithSharp(bytes: Uint8Array, format: ImageFormat, name: string, warnings: string[]): Promise<BgrPixels> {
  const strict: FailOn = format === 'jpeg' ? 'warning' : 'error';
  try {
    return await decodeSharpPass(bytes, format, strict);
  } catch (e) {
    if (format !== 'jpeg') throw new ImageDecodeError(name, `cannot decode ${format.toUpperCase()}: ${errorText(e)}`);
    try {
      const result = await decodeSharpPass(bytes, format, 'none');
      warnings.push(`decoded despite: ${errorText(e)}`);
      return result;
    } catch {
      throw new ImageDecodeError(name, `cannot decode JPEG: ${errorText(e)}`);
    }
  }
}

async function decodeSharpPass(bytes: Uint8Array, format: ImageFormat, failOn: FailOn): Promise<BgrPixels> {
  const meta = await sharpInput(bytes, failOn).metadata();
  if (meta.space === 'cmyk' && (format === 'jpeg' || format === 'tiff')) {
    if (meta.depth !== 'uchar') throw new Error(`unsupported ${meta.depth} CMYK (expected 8 bits)`);
    // Keep libvips in CMYK: otherwise it converts to sRGB through a profile.
    const s = await rawSamples(sharpInput(bytes, failOn).pipelineColourspace('cmyk').toColourspace('cmyk'), 'uchar');
    const bgr = format === 'jpeg' ? cmykToBgr(s, jpegHasAdobeMarker(bytes)) : tiffCmykToBgr(s);
    return { bgr, width: s.width, height: s.height };
  }
  const space = meta.space ?? 'srgb';
  if (!['srgb', 'b-w', 'rgb16', 'grey16'].includes(space)) {
    // e.g. a CIELab TIFF: libvips and libtiff convert such pixels differently, so refuse.
    throw new Error(`unsupported colour space ${space} (expected RGB, grey or CMYK)`);
  }
  const depth = meta.depth ?? 'uchar';
  if (depth !== 'uchar' && depth !== 'ushort') {
    throw new Error(`unsupported sample format ${depth} (expected 8 or 16 bit unsigned)`);
  }
  const grey = space === 'b-w' || space === 'grey16';
  // Without an explicit 16-bit colourspace libvips would reduce to 8 bits its own way first.
  const pipeline = depth === 'ushort'
    ? sharpInput(bytes, failOn).toColourspace(grey ? 'grey16' : 'rgb16')
    : sharpInput(bytes, failOn);
  const s = await rawSamples(pipeline, depth);
  const bgr = toBgr(s, depth === 'ushort' ? to8bit(format, grey) : undefined);
  return { bgr, width: s.width, height: s.height };
}

/** Decodes encoded image bytes as cv2.imdecode(bytes, IMREAD_COLOR) would; `name` is for errors. */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  const format = sniffFormat(bytes);
  if (!format) {
    const what = bytes.length === 0 ? 'empty file' : 'not an image file';
    throw new ImageDecodeError(name, `${what} (expected ${SUPPORTED})`);
  }
  const warnings: string[] = [];
  let bgr: Uint8Array;
  let width: number;
  let height: number;
  if (format === 'bmp') {
    try {
      ({ data: bgr, width, height } = decodeBmp(bytes));
    } catch (e) {
      throw new ImageDecodeError(name, `cannot decode BMP: ${errorText(e)}`);
    }
  } else {
    ({ bgr, width, height } = await decodeWithSharp(bytes, format, name, warnings));
  }
  const oriented = applyOrientation(bgr, height, width, 3, orientationOf(format, bytes));
  return {
    image: { dtype: 'uint8', shape: [oriented.height, oriented.width, 3], data: oriented.data },
    format,
    warnings,
  };
}

/** cv2.imread(file) (IMREAD_COLOR): uint8 [H, W, 3] BGR, or an ImageDecodeError naming the file. */
export async function imread(file: string): Promise<NdArray> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new ImageDecodeError(file, `cannot read file: ${errorText(e)}`);
  }
  return (await decodeImage(bytes, file)).image;
}
