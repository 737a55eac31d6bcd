/**
 * Just enough font metrics to size the label boxes of Detectron's visualisation without a font
 * engine: matplotlib draws the labels in its default serif face, DejaVu Serif, and sizes the
 * box behind a label from the text's layout (width of the string, height and descent of "lp").
 * The numbers are DejaVu Serif's own (hmtx advances, glyf bounds of 'l' and 'p', 2048 units/em).
 */

const UNITS_PER_EM = 2048;

/** Advance widths of ASCII 32..126 in font units. */
const ADVANCES = [
  651, 823, 942, 1716, 1303, 1946, 1823, 563, 799, 799, 1024, 1716, 651, 692, 651, 690,
  1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1098,
  2048, 1479, 1505, 1567, 1642, 1495, 1421, 1636, 1786, 809, 821, 1530, 1360, 2097, 1792, 1679,
  1378, 1679, 1542, 1403, 1366, 1726, 1479, 2105, 1458, 1352, 1423, 799, 690, 799, 1716, 1024,
  1024, 1221, 1311, 1147, 1311, 1212, 758, 1311, 1319, 655, 635, 1241, 655, 1942, 1319, 1233,
  1311, 1311, 979, 1051, 823, 1319, 1157, 1753, 1155, 1157, 1079, 1303, 690, 1303, 1716,
];

/** Top of 'l' and bottom of 'p': matplotlib's minimum line height and descent. */
const LP_ASCENT = 1556;
const LP_DESCENT = 426;

/** The advance of a character outside ASCII: the average lower-case width, an estimate. */
const FALLBACK_ADVANCE = 1200;

export interface TextExtent {
  width: number;
  /** Distance from the baseline up to the top of the box. */
  ascent: number;
  /** Distance from the baseline down to the bottom of the box. */
  descent: number;
}

/** The layout box of one line of DejaVu Serif at `sizePx` pixels per em. */
export function serifTextExtent(text: string, sizePx: number): TextExtent {
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 32;
    units += c >= 32 && c <= 126 ? ADVANCES[c - 32] : FALLBACK_ADVANCE;
  }
  const scale = sizePx / UNITS_PER_EM;
  return { width: units * scale, ascent: LP_ASCENT * scale, descent: LP_DESCENT * scale };
}
