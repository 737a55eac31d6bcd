/**
 * BMP decoding with OpenCV 4.6's rules (grfmt_bmp.cpp), to BGR uint8, because sharp (libvips
 * without ImageMagick) cannot read BMP.
 *
 * What OpenCV accepts: BITMAPCOREHEADER (12 bytes; 1/4/8/24/32 bpp) and any header of 36 bytes
 * or more with 1/4/8/24/32 bpp uncompressed, 16/32 bpp uncompressed or BI_BITFIELDS, 4 bpp RLE4,
 * 8 bpp RLE8. Its quirks, kept here: 16 bpp is 5-5-5 unless BI_BITFIELDS masks say exactly 5-6-5
 * (read right after the header, whatever its size); channels are widened by shifting, not by bit
 * replication; 32 bpp is always B, G, R, (ignored) A whatever the masks; pixels an RLE stream skips
 * take palette entry 0; a missing byte makes the whole file unreadable.
 * Errors are plain Errors with the reason; the caller adds the file name.
 */

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
/** OpenCV's default CV_IO_MAX_IMAGE_WIDTH / HEIGHT / PIXELS. */
const MAX_SIDE = 1 << 20;
const MAX_PIXELS = 2 ** 30;

export interface BgrImage {
  height: number;
  width: number;
  /** H x W x 3, B G R. */
  data: Uint8Array;
}

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  /** 15 stands for 16 bpp 5-5-5, as in OpenCV. */
  bpp: number;
  compression: number;
  /** 256 entries of B, G, R (unused entries zero). */
  palette: Uint8Array;
  dataOffset: number;
}

/** A bounds-checked little-endian reader: reading past the end throws like OpenCV's stream. */
class ByteReader {
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(at: number, n: number): void {
    if (at < 0 || at + n > this.buf.length) {
      throw new Error(`truncated BMP: needs bytes ${at}..${at + n - 1}, file has ${this.buf.length}`);
    }
  }

  u8(at: number): number {
    this.need(at, 1);
    return this.buf[at];
  }

  u16(at: number): number {
    this.need(at, 2);
    return this.view.getUint16(at, true);
  }

  i32(at: number): number {
    this.need(at, 4);
    return this.view.getInt32(at, true);
  }

  u32(at: number): number {
    this.need(at, 4);
    return this.view.getUint32(at, true);
  }
}

function readPalette(r: ByteReader, at: number, entries: number, entrySize: 3 | 4): Uint8Array {
  r.need(at, entries * entrySize);
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < entries; i++) {
    palette.set(r.buf.subarray(at + i * entrySize, at + i * entrySize + 3), i * 3);
  }
  return palette;
}

function isSupported(bpp: number, compression: number): boolean {
  return ([1, 4, 8, 24, 32].includes(bpp) && compression === BI_RGB) ||
    ((bpp === 16 || bpp === 32) && (compression === BI_RGB || compression === BI_BITFIELDS)) ||
    (bpp === 4 && compression === BI_RLE4) ||
    (bpp === 8 && compression === BI_RLE8);
}

function readHeader(r: ByteReader): BmpHeader {
  const dataOffset = r.i32(10);
  const size = r.i32(14);
  if (size >= 36) {
    const width = r.i32(18);
    const height = r.i32(22);
    let bpp = r.u32(26) >>> 16;
    const compression = r.u32(30);
    const colorsUsed = r.i32(46);
    const afterHeader = 14 + size;
    if (!(width > 0 && height !== 0 && isSupported(bpp, compression))) {
      throw new Error(`unsupported BMP: ${width}x${height}, ${bpp} bits per pixel, compression ${compression}`);
    }
    let palette: Uint8Array = new Uint8Array(256 * 3);
    if (bpp <= 8) {
      if (colorsUsed < 0 || colorsUsed > 256) throw new Error(`bad BMP palette size ${colorsUsed}`);
      palette = readPalette(r, afterHeader, colorsUsed === 0 ? 1 << bpp : colorsUsed, 4);
    } else if (bpp === 16 && compression === BI_BITFIELDS) {
      const red = r.u32(afterHeader), green = r.u32(afterHeader + 4), blue = r.u32(afterHeader + 8);
      if (blue === 0x1f && green === 0x3e0 && red === 0x7c00) bpp = 15;
      else if (!(blue === 0x1f && green === 0x7e0 && red === 0xf800)) {
        throw new Error(`unsupported 16-bit BMP masks R ${red.toString(16)} G ${green.toString(16)} B ${blue.toString(16)}`);
      }
    } else if (bpp === 16) {
      bpp = 15;
    }
    return { width, height: Math.abs(height), topDown: height < 0, bpp, compression, palette, dataOffset };
  }
  if (size === 12) {
    const width = r.u16(18);
    const height = r.u16(20);
    const bpp = r.u32(22) >>> 16;
    if (!(width > 0 && height !== 0 && [1, 4, 8, 24, 32].includes(bpp))) {
      throw new Error(`unsupported OS/2 BMP: ${width}x${height}, ${bpp} bits per pixel`);
    }
    const palette = bpp <= 8 ? readPalette(r, 26, 1 << bpp, 3) : new Uint8Array(256 * 3);
    return { width, height, topDown: false, bpp, compression: BI_RGB, palette, dataOffset };
  }
  throw new Error(`unsupported BMP header size ${size}`);
}

/** Decodes one uncompressed row of `width` pixels starting at `src` into BGR at `dst`. */
function decodeRow(h: BmpHeader, r: ByteReader, src: number, out: Uint8Array, dst: number, width: number): void {
  const { buf } = r;
  const pal = h.palette;
  for (let x = 0; x < width; x++, dst += 3) {
    let index = -1;
    switch (h.bpp) {
      case 1: index = (buf[src + (x >> 3)] >> (7 - (x & 7))) & 1; break;
      case 4: index = (buf[src + (x >> 1)] >> ((x & 1) ? 0 : 4)) & 15; break;
      case 8: index = buf[src + x]; break;
      case 15: {
        const t = buf[src + 2 * x] | (buf[src + 2 * x + 1] << 8);
        out[dst] = (t << 3) & 0xf8;
        out[dst + 1] = (t >> 2) & 0xf8;
        out[dst + 2] = (t >> 7) & 0xf8;
        break;
      }
      case 16: {
        const t = buf[src + 2 * x] | (buf[src + 2 * x + 1] << 8);
        out[dst] = (t << 3) & 0xf8;
        out[dst + 1] = (t >> 3) & 0xfc;
        out[dst + 2] = (t >> 8) & 0xf8;
        break;
      }
      case 24: out.set(buf.subarray(src + 3 * x, src + 3 * x + 3), dst); break;
      case 32: out.set(buf.subarray(src + 4 * x, src + 4 * x + 3), dst); break;
      default: throw new Error(`unsupported BMP bit depth ${h.bpp}`);
    }
    if (index >= 0) {
      out[dst] = pal[index * 3];
      out[dst + 1] = pal[index * 3 + 1];
      out[dst + 2] = pal[index * 3 + 2];
    }
  }
}

function decodeUncompressed(h: BmpHeader, r: ByteReader, out: Uint8Array): void {
  const bits = h.bpp === 15 ? 16 : h.bpp;
  const pitch = ((Math.floor((h.width * bits + 7) / 8) + 3) & -4);
  r.need(h.dataOffset, pitch * h.height);
  for (let row = 0; row < h.height; row++) {
    const y = h.topDown ? row : h.height - 1 - row;
    decodeRow(h, r, h.dataOffset + row * pitch, out, y * h.width * 3, h.width);
  }
}

/**
 * RLE4/RLE8 as OpenCV walks them: output rows in file order (bottom-up unless top-down), a run
 * may not cross the end of a row, end-of-line and delta codes fill skipped pixels with palette
 * entry 0, end-of-bitmap fills the rest (RLE8) or the rest of the row (RLE4, then reading goes on).
 * Only an RLE8 encoded run that ends a row moves on to the next row by itself.
 */
function decodeRle(h: BmpHeader, r: ByteReader, out: Uint8Array): void {
  const rle8 = h.compression === BI_RLE8;
  const w = h.width;
  const pal = h.palette;
  let row = 0; // rows decoded so far, in file order
  let x = 0;
  let pos = h.dataOffset;
  let lineEndFlag = false;
  const put = (index: number): void => {
    const y = h.topDown ? row : h.height - 1 - row;
    const d = (y * w + x) * 3;
    out[d] = pal[index * 3];
    out[d + 1] = pal[index * 3 + 1];
    out[d + 2] = pal[index * 3 + 2];
    x++;
  };
  /** OpenCV's FillUniColor: `count` pixels of one colour, wrapping to following rows. */
  const fill = (count: number, index: number): void => {
    do {
      const n = Math.min(count, w - x);
      for (let i = 0; i < n; i++) put(index);
      count -= n;
      if (x >= w) {
        x = 0;
        if (++row >= h.height) break;
      }
    } while (count > 0);
  };
  for (;;) {
    const len = r.u8(pos);
    const code = r.u8(pos + 1);
    pos += 2;
    if (len !== 0) {
      // Encoded run: one index (RLE8) or two alternating nibbles (RLE4).
      if (x + len > w) throw new Error('bad BMP RLE data: run crosses the end of a row');
      const startRow = row;
      if (rle8) {
        fill(len, code); // wraps to the next row when it ends one
      } else {
        for (let i = 0; i < len; i++) put(i & 1 ? code & 15 : code >> 4); // never wraps
      }
      lineEndFlag = row !== startRow;
      if (row >= h.height) break;
    } else if (code > 2) {
      // Absolute run of `code` indices, padded to a 16-bit boundary.
      if (x + code > w) throw new Error('bad BMP RLE data: absolute run crosses the end of a row');
      const bytes = rle8 ? (code + 1) & ~1 : (((code + 1) >> 1) + 1) & ~1;
      r.need(pos, bytes);
      for (let i = 0; i < code; i++) {
        put(rle8 ? r.buf[pos + i] : (r.buf[pos + (i >> 1)] >> (i & 1 ? 0 : 4)) & 15);
      }
      pos += bytes;
      lineEndFlag = false;
    } else {
      // 0: end of line, 1: end of bitmap, 2: delta (dx, dy).
      let skipX = w - x;
      let skipY = h.height - row;
      if (rle8 && !(code !== 0 || !lineEndFlag || skipX < w)) {
        // An end-of-line right after a run that already wrapped to a new row: ignored.
        lineEndFlag = false;
        continue;
      }
      if (code === 2) {
        skipX = r.u8(pos);
        skipY = r.u8(pos + 1);
        pos += 2;
      }
      let count = skipX;
      // RLE8 counts the skipped rows too for end-of-bitmap and delta; RLE4 only the columns.
      if (rle8 && code !== 0) count += skipY * w;
      if (row >= h.height) break;
      fill(count, 0);
      lineEndFlag = false;
      if (row >= h.height) break;
    }
  }
}

/** Decodes a whole BMP file to BGR, or throws an Error saying what is wrong with it. */
export function decodeBmp(buf: Uint8Array): BgrImage {
  const r = new ByteReader(buf);
  if (buf.length < 2 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw new Error('not a BMP file (no "BM" signature)');
  const h = readHeader(r);
  if (h.width > MAX_SIDE || h.height > MAX_SIDE || h.width * h.height > MAX_PIXELS) {
    throw new Error(`BMP of ${h.width}x${h.height} exceeds OpenCV's size limits`);
  }
  const out = new Uint8Array(h.width * h.height * 3);
  if (h.compression === BI_RLE4 || h.compression === BI_RLE8) decodeRle(h, r, out);
  else decodeUncompressed(h, r, out);
  return { height: h.height, width: h.width, data: out };
}
