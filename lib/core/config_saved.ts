/**
 * The config Detectron stores in its weights files (`model_final.pkl['cfg']`, a `yaml.dump` of
 * the training-time AttrDict), read as data, and Detectron's one use of it at load time:
 * `configure_bbox_reg_weights`.
 */
import { NdArray } from '../utils/ndarray';
import { DetectronConfig, FrozenDetectronConfig } from './config_defaults';
import { deepCopyMutable, deepFreeze, isFrozen } from './config_freeze';
import { WarningSink, warnToStderr } from './config_keys';
import { NpArray, NpScalar, PyBytes, PyDict, PyEllipsis, PySet, PyTuple, PyValue, pyRepr } from './config_pyvalue';
import { loadPyYaml } from './config_yaml';

export type SavedCfgValue = string | number | boolean | null | NdArray | Uint8Array | SavedCfgValue[] | SavedCfgTree;

export interface SavedCfgTree {
  [key: string]: SavedCfgValue;
}

function npToNdArray(a: NpArray): NdArray {
  const shape = [...a.shape];
  switch (a.dtype) {
    case 'float64':
      return { dtype: 'float64', shape, data: Float64Array.from(a.data) };
    case 'float32':
      return { dtype: 'float32', shape, data: Float32Array.from(a.data) };
    case 'int64':
      return { dtype: 'int64', shape, data: BigInt64Array.from(a.data, (x) => BigInt(x)) };
    case 'uint8':
      return { dtype: 'uint8', shape, data: Uint8Array.from(a.data) };
    case 'bool':
      return { dtype: 'bool', shape, data: Uint8Array.from(a.data) };
    default:
      // int8/int16/int32/float16 widen to int32/float32 holders of the same values.
      return a.dtype === 'float16'
        ? { dtype: 'float32', shape, data: Float32Array.from(a.data) }
        : { dtype: 'int32', shape, data: Int32Array.from(a.data) };
  }
}

function plain(v: PyValue, path: string): SavedCfgValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`saved cfg ${path}: integer ${v} is too large to hold exactly`);
    return n;
  }
  if (Array.isArray(v)) return v.map((x, i) => plain(x, `${path}[${i}]`));
  if (v instanceof PyTuple || v instanceof PySet) return v.items.map((x, i) => plain(x, `${path}[${i}]`));
  if (v instanceof NpScalar) return v.value;
  if (v instanceof NpArray) return npToNdArray(v);
  if (v instanceof PyBytes) return v.bytes;
  if (v instanceof PyEllipsis) throw new Error(`saved cfg ${path}: Ellipsis is not a config value`);
  return tree(v, path);
}

function tree(d: PyDict, path: string): SavedCfgTree {
  const out: SavedCfgTree = {};
  for (const [k, v] of d.entries) {
    if (typeof k !== 'string') throw new Error(`saved cfg ${path || '<root>'}: key ${pyRepr(k)} is not a string`);
    out[k] = plain(v, path ? `${path}.${k}` : k);
  }
  return out;
}

/**
 * Parses the YAML `cfg` string of a Detectron weights file into a plain tree (tuples become
 * arrays, numpy scalars numbers, numpy arrays NdArrays). Nothing in the text is executed.
 */
export function parseSavedCfg(yamlText: string, source = 'embedded cfg'): SavedCfgTree {
  const v = loadPyYaml(yamlText, source);
  if (!(v instanceof PyDict)) throw new Error(`${source}: expected a mapping at the top, got ${pyRepr(v)}`);
  return tree(v, '');
}

/** Whether a saved cfg has MODEL.BBOX_REG_WEIGHTS (models trained before the key existed don't). */
export function savedCfgHasBboxRegWeights(saved: SavedCfgTree): boolean {
  const model = saved.MODEL;
  return typeof model === 'object' && model !== null && !Array.isArray(model) && !ArrayBuffer.isView(model)
    ? Object.prototype.hasOwnProperty.call(model, 'BBOX_REG_WEIGHTS')
    : false;
}

export interface BboxRegWeightsOptions {
  /** Building a model for training (Detectron refuses old-style models then). */
  readonly train?: boolean;
  readonly warn?: WarningSink;
}

/**
 * Detectron's `configure_bbox_reg_weights`: a model saved before MODEL.BBOX_REG_WEIGHTS existed
 * was trained with mean/std target normalisation, which at inference equals weights (1, 1, 1, 1).
 * Returns `cfg` unchanged when the saved cfg has the key, else a copy (frozen if `cfg` was) with
 * the weights forced.
 */
export function configureBboxRegWeights<C extends DetectronConfig | FrozenDetectronConfig>(
  cfg: C,
  saved: SavedCfgTree,
  options: BboxRegWeightsOptions = {},
): C {
  if (savedCfgHasBboxRegWeights(saved)) return cfg;
  const warn = options.warn ?? warnToStderr;
  warn(
    'Model from weights file was trained before config key MODEL.BBOX_REG_WEIGHTS was added. Forcing ' +
      'MODEL.BBOX_REG_WEIGHTS = (1., 1., 1., 1.) to ensure correct **inference** behavior.',
  );
  if (options.train) {
    throw new Error(
      'This model was trained with an older version of the code that used bounding box regression ' +
        'mean/std normalization. It can no longer be used for training. To upgrade it to a trainable ' +
        'model please use fb/compat/convert_bbox_reg_normalized_model.py.',
    );
  }
  const copy = deepCopyMutable(cfg) as DetectronConfig;
  copy.MODEL.BBOX_REG_WEIGHTS = [1, 1, 1, 1];
  return (isFrozen(cfg) ? deepFreeze(copy) : copy) as C;
}
