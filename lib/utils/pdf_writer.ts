/**
 * A minimal PDF 1.4 writer for one picture: a single page showing a JPEG, embedded as is
 * (DCTDecode, no re-encoding). Detectron's infer_simple saves its visualisations as PDF through
 * matplotlib; ours are rasters, so the page carries the rendered picture at its pixel size and
 * the page measures what matplotlib's would (pixels / dpi inches).
 */

export interface PdfPageOptions {
  /** Pixels per inch of the page: the page is width/dpi × height/dpi inches. Default 72. */
  dpi?: number;
  /** Goes into the document information dictionary. */
  producer?: string;
}

/** PDF number syntax: no exponent, at most 4 decimals, no trailing zeros. */
function pdfNumber(v: number): string {
  const s = v.toFixed(4).replace(/\.?0+$/, '');
  return s === '-0' ? '0' : s;
}

/** A PDF literal string with the characters that need it escaped. */
function pdfString(s: string): string {
  return `(${s.replace(/[\\()]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, '?')})`;
}

/** Number of components from the JPEG's frame header (1 grey, 3 colour, 4 CMYK). */
export function jpegComponents(jpeg: Uint8Array): number {
  let p = 2;
  while (p + 9 < jpeg.length) {
    if (jpeg[p] !== 0xff) throw new Error('not a JPEG stream: bad marker');
    const marker = jpeg[p + 1];
    const len = (jpeg[p + 2] << 8) | jpeg[p + 3];
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return jpeg[p + 9];
    }
    p += 2 + len;
  }
  throw new Error('not a JPEG stream: no frame header');
}

/** Grey and colour only: CMYK JPEGs (often Adobe-inverted) would need a /Decode array. */
const COLOR_SPACES: Readonly<Record<number, string>> = { 1: '/DeviceGray', 3: '/DeviceRGB' };

/** Assembles numbered objects into a file with a cross-reference table and trailer. */
class PdfBuilder {
  private readonly parts: Buffer[] = [];
  private length = 0;
  private readonly offsets: number[] = [];

  constructor() {
    // The binary comment tells transfer tools the file is binary (PDF spec 7.5.2).
    this.push(Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'));
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }

  /** Adds object number offsets.length + 1 with `dict` and optionally a stream body. */
  addObject(dict: string, stream?: Uint8Array): number {
    this.offsets.push(this.length);
    const num = this.offsets.length;
    if (stream === undefined) {
      this.push(Buffer.from(`${num} 0 obj\n${dict}\nendobj\n`, 'latin1'));
    } else {
      this.push(Buffer.from(`${num} 0 obj\n${dict}\nstream\n`, 'latin1'));
      this.push(Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength));
      this.push(Buffer.from('\nendstream\nendobj\n', 'latin1'));
    }
    return num;
  }

  finish(rootNum: number, infoNum: number): Buffer {
    const xrefAt = this.length;
    const size = this.offsets.length + 1;
    // Each entry is exactly 20 bytes: 10-digit offset, 5-digit generation, type, 2-byte EOL.
    const entries = ['0000000000 65535 f \n', ...this.offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)];
    const tail = `xref\n0 ${size}\n${entries.join('')}trailer\n<< /Size ${size} /Root ${rootNum} 0 R /Info ${infoNum} 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
    this.push(Buffer.from(tail, 'latin1'));
    return Buffer.concat(this.parts, this.length);
  }
}

/** A one-page PDF showing `jpeg` (width × height pixels) over the whole page. */
export function jpegToPdf(jpeg: Uint8Array, width: number, height: number, options: PdfPageOptions = {}): Buffer {
  if (!(width > 0 && height > 0)) throw new Error(`jpegToPdf: bad picture size ${width}×${height}`);
  const colorSpace = COLOR_SPACES[jpegComponents(jpeg)];
  if (colorSpace === undefined) throw new Error('jpegToPdf: unsupported number of JPEG components');
  const scale = 72 / (options.dpi ?? 72);
  const pw = pdfNumber(width * scale);
  const ph = pdfNumber(height * scale);
  const content = Buffer.from(`q ${pw} 0 0 ${ph} 0 0 cm /Im0 Do Q\n`, 'latin1');

  const pdf = new PdfBuilder();
  // Object numbers are fixed by the order of addition: 1 catalog, 2 pages, 3 page, 4 image, ...
  const catalog = pdf.addObject('<< /Type /Catalog /Pages 2 0 R >>');
  pdf.addObject('<< /Type /Pages /Kids [3 0 R] /Count 1 >>');
  pdf.addObject(
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${pw} ${ph}] ` +
      '/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>',
  );
  pdf.addObject(
    `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace ${colorSpace} ` +
      `/BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.byteLength} >>`,
    jpeg,
  );
  pdf.addObject(`<< /Length ${content.length} >>`, content);
  const info = pdf.addObject(`<< /Producer ${pdfString(options.producer ?? 'Detectron.ts')} >>`);
  return pdf.finish(catalog, info);
}
