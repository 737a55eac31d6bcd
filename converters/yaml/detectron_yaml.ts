/**
 * Converts Detectron YAML configs to our builder names, keeping the file's text otherwise
 * byte for byte (comments, blank lines, quoting, key order).
 *
 * Only the values of builder-name keys change (MODEL.CONV_BODY, FAST_RCNN.ROI_BOX_HEAD, …):
 * Detectron's name_compat remaps are applied and the `add_` prefix is dropped, exactly what
 * merging an original config does, so both files load to the same config. The YAML Document API
 * locates each value and only its source range is rewritten. Converting twice changes nothing.
 */
import { Document, Scalar, isMap, isScalar } from 'yaml';
import { BUILDER_NAME_KEYS, normalizeBuilderName } from '../../lib/core/config_builder_names';
import { parseFailsafeYaml } from '../../lib/core/config_yaml';

export interface ConfigChange {
  readonly file: string;
  /** 1-based line of the value. */
  readonly line: number;
  readonly key: string;
  readonly oldValue: string;
  readonly newValue: string;
}

export interface ConversionResult {
  readonly text: string;
  readonly changes: ConfigChange[];
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

/** The new value written in the style of the old one. */
function render(node: Scalar, value: string, file: string, key: string): string {
  switch (node.type) {
    case 'PLAIN':
      return value;
    case 'QUOTE_SINGLE':
      return `'${value.replace(/'/g, "''")}'`;
    case 'QUOTE_DOUBLE':
      return JSON.stringify(value);
    default:
      throw new Error(`${file}: ${key}: block scalars are not supported for builder names; write it on one line`);
  }
}

/** Builder-name scalars under SECTION: KEY (every occurrence, duplicates included). */
function builderScalars(doc: Document): Array<{ key: string; node: Scalar }> {
  const found: Array<{ key: string; node: Scalar }> = [];
  const root = doc.contents;
  if (!isMap(root)) return found;
  for (const fullKey of BUILDER_NAME_KEYS) {
    const [section, leaf] = fullKey.split('.');
    for (const top of root.items) {
      if (!isScalar(top.key) || top.key.value !== section || !isMap(top.value)) continue;
      for (const item of top.value.items) {
        if (isScalar(item.key) && item.key.value === leaf && isScalar(item.value)) {
          found.push({ key: fullKey, node: item.value });
        }
      }
    }
  }
  return found;
}

/** Converts one YAML text; `file` names it in changes and errors. */
export function convertDetectronYaml(text: string, file: string): ConversionResult {
  const { doc, lines } = parseFailsafeYaml(text, file);
  const edits: Edit[] = [];
  const changes: ConfigChange[] = [];
  for (const { key, node } of builderScalars(doc)) {
    const old = String(node.value ?? '');
    const range = node.range;
    if (old === '' || range === null || range === undefined) continue;
    const { name } = normalizeBuilderName(old);
    if (name === old) continue;
    edits.push({ start: range[0], end: range[1], replacement: render(node, name, file, key) });
    changes.push({ file, line: lines.linePos(range[0]).line, key, oldValue: old, newValue: name });
  }
  let out = text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, edit.start) + edit.replacement + out.slice(edit.end);
  }
  changes.sort((a, b) => a.line - b.line);
  return { text: out, changes };
}

/** One report line per change. */
export function formatChange(c: ConfigChange): string {
  return `${c.file}:${c.line}: ${c.key}: ${c.oldValue} -> ${c.newValue}`;
}
