/**
 * Keys Detectron no longer has: deprecated ones are ignored with a warning, renamed ones are an
 * error that names the new key (Detectron's `_DEPRECATED_KEYS` / `_RENAMED_KEYS`), and any other
 * unknown key is an error that suggests the closest valid key.
 */

export const DEPRECATED_KEYS: ReadonlySet<string> = new Set([
  'FINAL_MSG',
  'MODEL.DILATION',
  'ROOT_GPU_ID',
  'RPN.ON',
  'TRAIN.BBOX_NORMALIZE_TARGETS_PRECOMPUTED',
  'TRAIN.DROPOUT',
  'USE_GPU_NMS',
  'TEST.NUM_TEST_IMAGES',
]);

/** Old key → new key, with an optional note on how the value must change. */
export const RENAMED_KEYS: Readonly<Record<string, { newKey: string; note?: string }>> = {
  'EXAMPLE.RENAMED.KEY': { newKey: 'EXAMPLE.KEY' },
  'MODEL.PS_GRID_SIZE': { newKey: 'RFCN.PS_GRID_SIZE' },
  'MODEL.ROI_HEAD': { newKey: 'FAST_RCNN.ROI_BOX_HEAD' },
  'MRCNN.MASK_HEAD_NAME': { newKey: 'MRCNN.ROI_MASK_HEAD' },
  'TRAIN.DATASET': {
    newKey: 'TRAIN.DATASETS',
    note:
      "Also convert to a tuple, e.g., 'coco_2014_train' -> ('coco_2014_train',) or " +
      "'coco_2014_train:coco_2014_valminusminival' -> ('coco_2014_train', 'coco_2014_valminusminival')",
  },
  'TRAIN.PROPOSAL_FILE': {
    newKey: 'TRAIN.PROPOSAL_FILES',
    note:
      "Also convert to a tuple, e.g., 'path/to/file' -> ('path/to/file',) or " +
      "'path/to/file1:path/to/file2' -> ('path/to/file1', 'path/to/file2')",
  },
  'TEST.SCALES': { newKey: 'TEST.SCALE', note: 'Also convert from a tuple, e.g. (600, ), to a integer, e.g. 600.' },
  'TEST.DATASET': {
    newKey: 'TEST.DATASETS',
    note: "Also convert from a string, e.g 'coco_2014_minival', to a tuple, e.g. ('coco_2014_minival', ).",
  },
  'TEST.PROPOSAL_FILE': {
    newKey: 'TEST.PROPOSAL_FILES',
    note: "Also convert from a string, e.g. '/path/to/props.pkl', to a tuple, e.g. ('/path/to/props.pkl', ).",
  },
};

export type WarningSink = (message: string) => void;

/** Default sink for Detectron's logger warnings. */
export const warnToStderr: WarningSink = (message) => {
  process.stderr.write(`WARNING: ${message}\n`);
};

/** True (after warning, as Detectron logs) when `fullKey` is deprecated and must be skipped. */
export function keyIsDeprecated(fullKey: string, warn: WarningSink): boolean {
  if (!DEPRECATED_KEYS.has(fullKey)) return false;
  warn(`Deprecated config key (ignoring): ${fullKey}`);
  return true;
}

export function keyIsRenamed(fullKey: string): boolean {
  return Object.prototype.hasOwnProperty.call(RENAMED_KEYS, fullKey);
}

/** Detectron's KeyError text for a renamed key. */
export function renamedKeyError(fullKey: string): Error {
  const { newKey, note } = RENAMED_KEYS[fullKey];
  const msg = note ? ` Note: ${note}` : '';
  return new Error(`Key ${fullKey} was renamed to ${newKey}; please update your config.${msg}`);
}

/** Levenshtein distance (keys are short; the quadratic table is fine). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The valid key closest to `fullKey`, or undefined when nothing is plausibly meant. A key whose
 * last part exists under another section (NUM_CLASSES → MODEL.NUM_CLASSES) counts as close.
 */
export function closestKey(fullKey: string, validKeys: readonly string[]): string | undefined {
  const wanted = fullKey.toUpperCase();
  const leaf = wanted.split('.').pop() as string;
  let best: string | undefined;
  let bestScore = Infinity;
  for (const key of validKeys) {
    const upper = key.toUpperCase();
    const d = editDistance(wanted, upper);
    const keyLeaf = upper.split('.').pop() as string;
    const score = keyLeaf === leaf ? Math.min(d, 1.5) : d;
    if (score < bestScore) {
      bestScore = score;
      best = key;
    }
  }
  const limit = Math.max(2, Math.floor(fullKey.length / 3));
  return bestScore <= limit ? best : undefined;
}

/** Detectron's message for an unknown key, plus a suggestion when one is close. */
export function unknownKeyError(prefix: string, fullKey: string, validKeys: readonly string[]): Error {
  const suggestion = closestKey(fullKey, validKeys);
  const hint = suggestion ? ` (did you mean ${suggestion}?)` : '';
  return new Error(`${prefix}${fullKey}${hint}`);
}
