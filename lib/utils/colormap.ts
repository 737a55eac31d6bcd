/**
 * Colours of Detectron's visualisation: detectron/utils/colormap.py (the mask colours) and
 * matplotlib's 'rainbow' colormap (the keypoint skeleton colours of vis.py).
 */

/** Detectron's 79 mask colours, RGB in [0, 1], as listed in colormap.py. */
const COLORS_01: ReadonlyArray<readonly [number, number, number]> = [
  [0.000, 0.447, 0.741], [0.850, 0.325, 0.098], [0.929, 0.694, 0.125], [0.494, 0.184, 0.556],
  [0.466, 0.674, 0.188], [0.301, 0.745, 0.933], [0.635, 0.078, 0.184], [0.300, 0.300, 0.300],
  [0.600, 0.600, 0.600], [1.000, 0.000, 0.000], [1.000, 0.500, 0.000], [0.749, 0.749, 0.000],
  [0.000, 1.000, 0.000], [0.000, 0.000, 1.000], [0.667, 0.000, 1.000], [0.333, 0.333, 0.000],
  [0.333, 0.667, 0.000], [0.333, 1.000, 0.000], [0.667, 0.333, 0.000], [0.667, 0.667, 0.000],
  [0.667, 1.000, 0.000], [1.000, 0.333, 0.000], [1.000, 0.667, 0.000], [1.000, 1.000, 0.000],
  [0.000, 0.333, 0.500], [0.000, 0.667, 0.500], [0.000, 1.000, 0.500], [0.333, 0.000, 0.500],
  [0.333, 0.333, 0.500], [0.333, 0.667, 0.500], [0.333, 1.000, 0.500], [0.667, 0.000, 0.500],
  [0.667, 0.333, 0.500], [0.667, 0.667, 0.500], [0.667, 1.000, 0.500], [1.000, 0.000, 0.500],
  [1.000, 0.333, 0.500], [1.000, 0.667, 0.500], [1.000, 1.000, 0.500], [0.000, 0.333, 1.000],
  [0.000, 0.667, 1.000], [0.000, 1.000, 1.000], [0.333, 0.000, 1.000], [0.333, 0.333, 1.000],
  [0.333, 0.667, 1.000], [0.333, 1.000, 1.000], [0.667, 0.000, 1.000], [0.667, 0.333, 1.000],
  [0.667, 0.667, 1.000], [0.667, 1.000, 1.000], [1.000, 0.000, 1.000], [1.000, 0.333, 1.000],
  [1.000, 0.667, 1.000], [0.167, 0.000, 0.000], [0.333, 0.000, 0.000], [0.500, 0.000, 0.000],
  [0.667, 0.000, 0.000], [0.833, 0.000, 0.000], [1.000, 0.000, 0.000], [0.000, 0.167, 0.000],
  [0.000, 0.333, 0.000], [0.000, 0.500, 0.000], [0.000, 0.667, 0.000], [0.000, 0.833, 0.000],
  [0.000, 1.000, 0.000], [0.000, 0.000, 0.167], [0.000, 0.000, 0.333], [0.000, 0.000, 0.500],
  [0.000, 0.000, 0.667], [0.000, 0.000, 0.833], [0.000, 0.000, 1.000], [0.000, 0.000, 0.000],
  [0.143, 0.143, 0.143], [0.286, 0.286, 0.286], [0.429, 0.429, 0.429], [0.571, 0.571, 0.571],
  [0.714, 0.714, 0.714], [0.857, 0.857, 0.857], [1.000, 1.000, 1.000],
];

export type Rgb = [number, number, number];

/**
 * colormap(rgb): the 79 colours scaled to [0, 255], in float32 as numpy computes them; BGR order
 * unless `rgb` (Detectron's default is BGR, for OpenCV drawing).
 */
export function colormap(rgb = false): Rgb[] {
  const f = Math.fround;
  return COLORS_01.map(([r, g, b]) => {
    const c: Rgb = [f(f(r) * 255), f(f(g) * 255), f(f(b) * 255)];
    return rgb ? c : [c[2], c[1], c[0]];
  });
}

/** Entries of matplotlib's lookup tables for the LinearSegmentedColormaps such as 'rainbow'. */
const CMAP_N = 256;

/** matplotlib's _rainbow_data: gfunc[33], gfunc[13], gfunc[10] evaluated at t in [0, 1]. */
function rainbowAt(t: number): Rgb {
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  return [clip(Math.abs(2 * t - 0.5)), clip(Math.sin(t * Math.PI)), clip(Math.cos((t * Math.PI) / 2))];
}

/**
 * plt.get_cmap('rainbow')(x) for x in [0, 1], as RGBA in [0, 1]. matplotlib does not evaluate the
 * function at x: it samples it into a 256-entry table at linspace(0, 1, 256) and x picks entry
 * floor(x * 256) (x = 1 picks the last), so the colours are those of the table.
 */
export function rainbow(x: number): [number, number, number, number] {
  let i = Math.floor(x * CMAP_N);
  if (x === 1) i = CMAP_N - 1;
  i = Math.min(CMAP_N - 1, Math.max(0, i));
  const [r, g, b] = rainbowAt(i / (CMAP_N - 1));
  return [r, g, b, 1];
}

/** [cmap(v) for v in np.linspace(0, 1, n)] with cmap = 'rainbow' (vis.py's keypoint colours). */
export function rainbowColors(n: number): Array<[number, number, number, number]> {
  const out: Array<[number, number, number, number]> = [];
  // numpy's linspace: i * step with the last value set to exactly 1.
  const step = n > 1 ? 1 / (n - 1) : 0;
  for (let i = 0; i < n; i++) out.push(rainbow(i === n - 1 && n > 1 ? 1 : i * step));
  return out;
}
