/**
 * The shape of the config (sections and the Python type of each leaf), derived once from the
 * default spec, and the default config itself as plain values.
 */
import { CfgLiteral, ConfigSpec, DetectronConfig, LeafSpec, PyType, defaultSpec } from './config_defaults';

export interface SchemaSection {
  readonly kind: 'section';
  readonly children: ReadonlyMap<string, SchemaNode>;
}

export interface SchemaLeaf {
  readonly kind: 'leaf';
  readonly py: PyType;
}

export type SchemaNode = SchemaSection | SchemaLeaf;

function isLeafSpec(x: unknown): x is LeafSpec<unknown> {
  return typeof x === 'object' && x !== null && 'py' in x && 'value' in x;
}

function buildSchema(spec: object): SchemaSection {
  const children = new Map<string, SchemaNode>();
  for (const [key, sub] of Object.entries(spec)) {
    children.set(key, isLeafSpec(sub) ? { kind: 'leaf', py: sub.py } : buildSchema(sub as object));
  }
  return { kind: 'section', children };
}

export const SCHEMA: SchemaSection = buildSchema(defaultSpec());

function collectKeys(section: SchemaSection, prefix: string, out: string[]): string[] {
  for (const [key, node] of section.children) {
    const full = prefix + key;
    out.push(full);
    if (node.kind === 'section') collectKeys(node, `${full}.`, out);
  }
  return out;
}

/** Every valid full key (sections included), in Detectron's order. */
export const ALL_KEYS: readonly string[] = collectKeys(SCHEMA, '', []);

/** The schema node at a full key, or undefined. */
export function schemaAt(fullKey: string): SchemaNode | undefined {
  let node: SchemaNode = SCHEMA;
  for (const part of fullKey.split('.')) {
    if (node.kind !== 'section') return undefined;
    const next = node.children.get(part);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

function deepCopyLiteral<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopyLiteral) as T;
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopyLiteral(x as CfgLiteral)])) as T;
  }
  return v;
}

function plainFromSpec(spec: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(spec)) {
    out[key] = isLeafSpec(sub) ? deepCopyLiteral(sub.value) : plainFromSpec(sub as object);
  }
  return out;
}

/** A fresh, mutable copy of Detectron's default config. */
export function getDefaultConfig(): DetectronConfig {
  const spec: ConfigSpec<DetectronConfig> = defaultSpec();
  return plainFromSpec(spec) as unknown as DetectronConfig;
}
