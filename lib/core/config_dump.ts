/**
 * A config as YAML (for checkpoints and `--print-config`), readable by both Detectron's
 * `merge_cfg_from_file` and ours, and loading back to exactly the same config.
 *
 * Keys are sorted as PyYAML's `yaml.dump` sorts them. Floats are written so that YAML 1.1 reads
 * them as floats (`1.0e-05`, `1.0`), so the int/float type check passes on reload; strings that
 * `literal_eval` would change are written as their Python repr; BBOX_XFORM_CLIP keeps its
 * numpy.float64 tag, the only type Detectron's check accepts for it.
 */
import { DeepReadonly, DetectronConfig } from './config_defaults';
import { SchemaSection, SCHEMA } from './config_schema';
import { dumpFloat, dumpNpFloat64, dumpString } from './config_yaml';

function literal(v: unknown): string {
    // JS has one number type: safe integers are written as ints, everything else as floats.
  if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? `${v}` : dumpFloat(v);
  if (typeof v === 'string') return dumpString(v, false, true);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return `{${entries.map(([k, x]) => `${dumpString(k, false, true)}: ${literal(x)}`).join(', ')}}`;
}

function floatArray(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(floatArray).join(', ')}]`;
  return dumpFloat(v as number);
}

function leaf(py: string, v: unknown): string {
  switch (py) {
    case 'str':
      return dumpString(v as string, true, false);
    case 'int':
      return `${v as number}`;
    case 'float':
      return dumpFloat(v as number);
    case 'bool':
      return v ? 'true' : 'false';
    case 'np.float64':
      return dumpNpFloat64(v as number);
    case 'ndarray':
      return floatArray(v);
    default:
      return literal(v);
  }
}

function section(node: SchemaSection, value: Record<string, unknown>, indent: string, out: string[]): void {
  for (const key of [...node.children.keys()].sort()) {
    const child = node.children.get(key);
    if (child === undefined) continue;
    if (child.kind === 'section') {
      out.push(`${indent}${key}:`);
      section(child, value[key] as Record<string, unknown>, `${indent}  `, out);
    } else {
      out.push(`${indent}${key}: ${leaf(child.py, value[key])}`);
    }
  }
}

/** The whole config as YAML text. */
export function dumpCfgYaml(cfg: DetectronConfig | DeepReadonly<DetectronConfig>): string {
  const out: string[] = [];
  section(SCHEMA, cfg as unknown as Record<string, unknown>, '', out);
  return `${out.join('\n')}\n`;
}
