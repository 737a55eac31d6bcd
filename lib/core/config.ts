/**
 * Detectron's config system (detectron/core/config.py): defaults, merging from YAML files,
 * command-line KEY VALUE lists and objects, type checking, assert_and_infer_cfg and freezing.
 *
 * Functional rather than global: `getDefaultConfig()` gives a fresh tree, the merge functions
 * update it in place (and return it), and `assertAndInferCfg` returns the frozen config that
 * model code receives:
 *
 *   const cfg = getDefaultConfig();
 *   mergeCfgFromFile(cfg, 'configs/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');
 *   mergeCfgFromList(cfg, ['TEST.SCALE', '600']);
 *   const frozen = assertAndInferCfg(cfg);
 */
import * as fs from 'fs';
import { normalizeBuilderName, isBuilderNameKey } from './config_builder_names';
import { checkAndCoerce, decodeCfgValue, pyFromObject, toPlain } from './config_coerce';
import { DetectronConfig, FrozenDetectronConfig } from './config_defaults';
import { deepCopyMutable, deepFreeze, isFrozen } from './config_freeze';
import {
  WarningSink,
  keyIsDeprecated,
  keyIsRenamed,
  renamedKeyError,
  unknownKeyError,
  warnToStderr,
} from './config_keys';
import { decodeCfgString } from './config_literal_eval';
import { PyDict, PyValue, pyRepr } from './config_pyvalue';
import { ALL_KEYS, SCHEMA, SchemaNode, SchemaSection, getDefaultConfig } from './config_schema';
import { loadPyYaml } from './config_yaml';

export * from './config_defaults';
export { getDefaultConfig, ALL_KEYS };
export { dumpCfgYaml } from './config_dump';
export { parseSavedCfg, configureBboxRegWeights, savedCfgHasBboxRegWeights } from './config_saved';
export type { SavedCfgTree, SavedCfgValue, BboxRegWeightsOptions } from './config_saved';
export { DEPRECATED_KEYS, RENAMED_KEYS } from './config_keys';
export type { WarningSink } from './config_keys';
export { BUILDER_NAME_KEYS, normalizeBuilderName } from './config_builder_names';

export interface MergeOptions {
  /** Where Detectron's logger warnings go (deprecated keys, remapped builder names). */
  readonly warn?: WarningSink;
}

interface MergeContext {
  readonly warn: WarningSink;
}

type Tree = Record<string, unknown>;

function assertMutable(cfg: object, action: string): void {
  if (isFrozen(cfg)) {
    throw new Error(
      `cannot ${action}: the config is immutable (assertAndInferCfg froze it); merge into a fresh ` +
        'getDefaultConfig() or a cloneConfig() copy',
    );
  }
}

/** Stores a checked value, giving builder names our module.function form. */
function store(b: Tree, key: string, value: PyValue, node: SchemaNode, fullKey: string, ctx: MergeContext): void {
  if (node.kind !== 'leaf') throw new Error(`internal: ${fullKey} is a section`);
  let plain = toPlain(value, node.py, fullKey);
  if (typeof plain === 'string' && isBuilderNameKey(fullKey)) {
    const renamed = normalizeBuilderName(plain);
    if (renamed.compat) ctx.warn(`Remapping old function name: ${renamed.compat.from} -> ${renamed.compat.to}`);
    plain = renamed.name;
  }
  b[key] = plain;
}

/** Detectron's `_merge_a_into_b`. */
function mergeAIntoB(a: PyDict, b: Tree, section: SchemaSection, stack: string[], ctx: MergeContext): void {
  for (const [k, rawValue] of a.entries) {
    if (typeof k !== 'string') {
      const at = stack.length ? ` under ${stack.join('.')}` : '';
      throw new Error(`config key ${pyRepr(k)}${at} is not a string (YAML 1.1 reads ON/OFF/YES/NO keys as booleans)`);
    }
    const fullKey = [...stack, k].join('.');
    const node = section.children.get(k);
    if (node === undefined) {
      if (keyIsDeprecated(fullKey, ctx.warn)) continue;
      if (keyIsRenamed(fullKey)) throw renamedKeyError(fullKey);
      throw unknownKeyError('Non-existent config key: ', fullKey, ALL_KEYS);
    }
    const value = checkAndCoerce(decodeCfgValue(rawValue), node, b[k], fullKey);
    if (value instanceof PyDict && node.kind === 'section') {
      mergeAIntoB(value, b[k] as Tree, node, [...stack, k], ctx);
    } else {
      store(b, k, value, node, fullKey, ctx);
    }
  }
}

function withSource<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as Error;
    if (where && !e.message.startsWith(where)) e.message = `${where}${e.message}`;
    throw e;
  }
}

/**
 * Merges YAML text (a config file's content, or the `cfg` string of a Detectron weights file)
 * into `cfg`. `source` names it in error messages.
 */
export function mergeCfgFromString(
  cfg: DetectronConfig,
  yamlText: string,
  source: string,
  options: MergeOptions = {},
): DetectronConfig {
  assertMutable(cfg, `merge ${source}`);
  const loaded = loadPyYaml(yamlText, source);
  if (!(loaded instanceof PyDict)) {
    const got = loaded === null ? 'an empty document' : pyRepr(loaded).slice(0, 80);
    throw new Error(`${source}: a config must be a YAML mapping of KEY: value, got ${got}`);
  }
  const ctx: MergeContext = { warn: options.warn ?? warnToStderr };
  withSource(`${source}: `, () => mergeAIntoB(loaded, cfg as unknown as Tree, SCHEMA, [], ctx));
  return cfg;
}

/** Detectron's `merge_cfg_from_file`. */
export function mergeCfgFromFile(cfg: DetectronConfig, filename: string, options: MergeOptions = {}): DetectronConfig {
  let text: string;
  try {
    text = fs.readFileSync(filename, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new Error(`cannot read config file ${filename}: ${why}`);
  }
  return mergeCfgFromString(cfg, text, filename, options);
}

/**
 * Detectron's `merge_cfg_from_cfg` for a plain object tree (e.g. overrides built in code).
 * Numbers take the key's int/float type where they can.
 */
export function mergeCfgFromCfg(
  cfg: DetectronConfig,
  other: object,
  options: MergeOptions = {},
): DetectronConfig {
  assertMutable(cfg, 'merge a config object');
  const ctx: MergeContext = { warn: options.warn ?? warnToStderr };
  mergeAIntoB(pyFromObject(other as Record<string, unknown>, SCHEMA, ''), cfg as unknown as Tree, SCHEMA, [], ctx);
  return cfg;
}

/**
 * Detectron's `merge_cfg_from_list`: `['TEST.NMS', '0.5', 'TRAIN.SCALES', '(800,)']`, each value
 * read like Python's `ast.literal_eval` (bare words stay strings).
 */
export function mergeCfgFromList(
  cfg: DetectronConfig,
  cfgList: readonly string[],
  options: MergeOptions = {},
): DetectronConfig {
  assertMutable(cfg, 'merge KEY VALUE overrides');
  if (cfgList.length % 2 !== 0) {
    throw new Error(
      `config overrides must be KEY VALUE pairs; got ${cfgList.length} items (the last key, ` +
        `${cfgList[cfgList.length - 1]}, has no value)`,
    );
  }
  const ctx: MergeContext = { warn: options.warn ?? warnToStderr };
  for (let i = 0; i < cfgList.length; i += 2) {
    const fullKey = cfgList[i];
    if (keyIsDeprecated(fullKey, ctx.warn)) continue;
    if (keyIsRenamed(fullKey)) throw renamedKeyError(fullKey);
    const parts = fullKey.split('.');
    let d = cfg as unknown as Tree;
    let node: SchemaNode = SCHEMA;
    for (const part of parts) {
      const next: SchemaNode | undefined = node.kind === 'section' ? node.children.get(part) : undefined;
      if (next === undefined) throw unknownKeyError('Non-existent key: ', fullKey, ALL_KEYS);
      if (next.kind === 'section') d = d[part] as Tree;
      node = next;
    }
    const last = parts[parts.length - 1];
    const value = checkAndCoerce(decodeCfgString(cfgList[i + 1]), node, d[last], fullKey);
    if (node.kind === 'section') {
      // Only an AttrDict passes the check for a section, and literal_eval never makes one.
      throw new Error(`Non-existent key: ${fullKey} is a section, not a value`);
    }
    store(d, last, value, node, fullKey, ctx);
  }
  return cfg;
}

export interface AssertAndInferOptions {
  /** Freeze the result (default true), as Detectron's make_immutable. */
  readonly makeImmutable?: boolean;
}

/**
 * Detectron's `assert_and_infer_cfg`: RPN_ONLY or FASTER_RCNN imply RPN.RPN_ON; a model with an
 * RPN or RetinaNet has no precomputed test proposals. Freezes the config in place and returns it
 * typed read-only. URLs are not downloaded here (see model_zoo.cacheCfgUrls / resolveWeights).
 */
export function assertAndInferCfg(cfg: DetectronConfig, options: AssertAndInferOptions = {}): FrozenDetectronConfig {
  if (cfg.MODEL.RPN_ONLY || cfg.MODEL.FASTER_RCNN) cfg.RPN.RPN_ON = true;
  if (cfg.RPN.RPN_ON || cfg.RETINANET.RETINANET_ON) cfg.TEST.PRECOMPUTED_PROPOSALS = false;
  return options.makeImmutable === false ? cfg : deepFreeze(cfg);
}

/** Whether assertAndInferCfg froze `cfg`. */
export function isConfigFrozen(cfg: DetectronConfig | FrozenDetectronConfig): boolean {
  return isFrozen(cfg);
}

/** A mutable deep copy of any config (frozen or not). */
export function cloneConfig(cfg: DetectronConfig | FrozenDetectronConfig): DetectronConfig {
  return deepCopyMutable(cfg) as DetectronConfig;
}

export interface LoadConfigOptions extends MergeOptions {
  /** KEY VALUE overrides applied after the file. */
  readonly overrides?: readonly string[];
}

/** Defaults + a YAML file + overrides, inferred and frozen: what a tool usually wants. */
export function loadConfig(filename: string | undefined, options: LoadConfigOptions = {}): FrozenDetectronConfig {
  const cfg = getDefaultConfig();
  if (filename !== undefined) mergeCfgFromFile(cfg, filename, options);
  if (options.overrides) mergeCfgFromList(cfg, options.overrides, options);
  return assertAndInferCfg(cfg);
}
