/**
 * What OpenCV 4.6's imread takes from an encoded image besides its pixels: the EXIF / TIFF
 * orientation (and the flip/transpose that applies it) and JPEG's Adobe marker.
 *
 * We read the tag ourselves instead of asking sharp to auto-orient because OpenCV's rules are
 * narrower and differ by format: it rotates JPEG (Exif APP1), PNG (an eXIf chunk, before or after
 * the image data) and TIFF (tag 274 of the first IFD), but not WebP even when it carries EXIF.
 */

const ORIENTATION_TAG = 0x0112;

/** Orientation (1..8) from a TIFF structure (EXIF payload or a TIFF file), or undefined. */
export function orientationFromTiffStructure(buf: Uint8Array, start: number, end: number): number | undefined {
  if (end - start < 8) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const order = String.fromCharCode(buf[start], buf[start + 1]);
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  const u16 = (at: number): number => view.getUint16(at, little);
  const u32 = (at: number): number => view.getUint32(at, little);
  if (u16(start + 2) !== 42) return undefined;
  const ifd = start + u32(start + 4);
  if (ifd + 2 > end) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return undefined;
    // OpenCV reads the value as an unsigned short at the entry's value field.
    if (u16(entry) === ORIENTATION_TAG) return u16(entry + 8);
  }
  return undefined;
}

/**
 * Walks the marker segments of a JPEG header up to the scan data, calling `visit` with each
 * segment's marker and body range until it returns a value.
 */
function findInJpegSegments<T>(buf: Uint8Array, visit: (marker: number, body: number, end: number) => T | undefined): T | undefined {
  let pos = 2;
  while (pos + 4 <= buf.length) {
    if (buf[pos] !== 0xff) return undefined;
    const marker = buf[pos + 1];
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // start of scan / end of image
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    const length = (buf[pos + 2] << 8) | buf[pos + 3];
    const found = visit(marker, pos + 4, Math.min(pos + 2 + length, buf.length));
    if (found !== undefined) return found;
    pos += 2 + length;
  }
  return undefined;
}

/** Orientation from the first Exif APP1 segment of a JPEG. */
export function jpegOrientation(buf: Uint8Array): number | undefined {
  const APP1 = 0xe1;
  const exif = findInJpegSegments(buf, (marker, body, end) =>
    marker === APP1 && end - body >= 6 && isExifHeader(buf, body) ? { body, end } : undefined);
  return exif && orientationFromTiffStructure(buf, exif.body + 6, exif.end);
}

function isExifHeader(buf: Uint8Array, at: number): boolean {
  // "Exif\0\0"
  return buf[at] === 0x45 && buf[at + 1] === 0x78 && buf[at + 2] === 0x69 && buf[at + 3] === 0x66 &&
    buf[at + 4] === 0 && buf[at + 5] === 0;
}

/** Orientation from a PNG eXIf chunk, wherever it is. */
export function pngOrientation(buf: Uint8Array): number | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 8;
  while (pos + 8 <= buf.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]);
    const body = pos + 8;
    if (type === 'eXIf') return orientationFromTiffStructure(buf, body, Math.min(body + length, buf.length));
    if (type === 'IEND') return undefined;
    pos = body + length + 4;
  }
  return undefined;
}

/** Whether this JPEG has an Adobe APP14 segment (libjpeg then stores CMYK inverted). */
export function jpegHasAdobeMarker(buf: Uint8Array): boolean {
  const APP14 = 0xee;
  // "Adobe"
  const adobe = [0x41, 0x64, 0x6f, 0x62, 0x65];
  return findInJpegSegments(buf, (marker, body, end) =>
    marker === APP14 && end - body >= 5 && adobe.every((b, i) => buf[body + i] === b) ? true : undefined) === true;
}

/**
 * Applies an orientation to an H x W x C uint8 image the way OpenCV's ExifTransform does:
 * 2 flip left-right, 3 rotate 180, 4 flip up-down, 5 transpose, 6 transpose + flip left-right
 * (90 degrees clockwise), 7 transpose + rotate 180, 8 transpose + flip up-down. Other values:
 * unchanged.
 */
export function applyOrientation(
  data: Uint8Array, height: number, width: number, channels: number, orientation: number | undefined,
): { data: Uint8Array; height: number; width: number } {
  if (orientation === undefined || orientation < 2 || orientation > 8) return { data, height, width };
  const transpose = orientation >= 5;
  const outH = transpose ? width : height;
  const outW = transpose ? height : width;
  // After the optional transpose: which axes are mirrored.
  const flipX = orientation === 2 || orientation === 3 || orientation === 6 || orientation === 7;
  const flipY = orientation === 3 || orientation === 4 || orientation === 7 || orientation === 8;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < outH; y++) {
    const ty = flipY ? outH - 1 - y : y;
    for (let x = 0; x < outW; x++) {
      const tx = flipX ? outW - 1 - x : x;
      // (ty, tx) in the transposed-or-not image is (tx, ty) or (ty, tx) in the source.
      const src = transpose ? (tx * width + ty) * channels : (ty * width + tx) * channels;
      const dst = (y * outW + x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c];
    }
  }
  return { data: out, height: outH, width: outW };
}
