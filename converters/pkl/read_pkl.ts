/**
 * Detectron weights pickles: `{'blobs': {name: ndarray}, 'cfg': yaml}` as train_net saves
 * (model_final.pkl), or a flat `{name: ndarray}` as the ImageNet-pretrained files are.
 * Detectron's loader (utils/net.py) takes `cfg` if present and descends into `blobs` if present;
 * this does the same. Momentum blobs are returned with the rest; converters/weights.ts splits them.
 */
import type { NdArray } from '../../lib/utils/ndarray';
import { blobToNdArray } from './blob_values';
import { ByteReader, PickleError } from './byte_reader';
import { Py2Str, describe, latin1Text, type PyDict, type PyValue } from './python_objects';
import { unpickle } from './unpickler';

export interface PickleFormat {
  kind: 'pickle';
  protocol: number;
  /** 'detectron': {'blobs': ..., 'cfg': ...}; 'flat': {name: array}. */
  layout: 'detectron' | 'flat';
  /** Top-level keys of a 'detectron' layout other than blobs and cfg, which Detectron ignores too. */
  ignoredKeys: string[];
}

export interface PklContents {
  format: PickleFormat;
  blobs: Map<string, NdArray>;
  cfg: string | null;
}

/** Reads a weights pickle from disk, streaming (see byte_reader.ts). */
export function readPkl(path: string): PklContents {
  const reader = ByteReader.openFile(path);
  try {
    const { value, protocol } = unpickle(reader);
    return interpret(value, protocol, path);
  } finally {
    reader.close();
  }
}

/** Reads a weights pickle already in memory; `name` stands for the file in error messages. */
export function readPklBytes(bytes: Uint8Array, name: string): PklContents {
  const { value, protocol } = unpickle(ByteReader.fromBytes(bytes, name));
  return interpret(value, protocol, name);
}

function interpret(top: PyValue, protocol: number, file: string): PklContents {
  if (!(top instanceof Map)) {
    throw new Error(
      `${file}: expected a dict at the top level ({'blobs': ..., 'cfg': ...} or {name: array}), got ${describe(top)}`,
    );
  }
  const cfg = cfgText(top.get('cfg'), file);
  if (top.has('blobs')) {
    const blobs = top.get('blobs') as PyValue;
    if (!(blobs instanceof Map)) throw new Error(`${file}: 'blobs' must be a dict of arrays, got ${describe(blobs)}`);
    const ignoredKeys = [...top.keys()].filter((k) => k !== 'blobs' && k !== 'cfg').map(String);
    return { format: { kind: 'pickle', protocol, layout: 'detectron', ignoredKeys }, blobs: toArrays(blobs, file), cfg };
  }
  const flat: PyDict = new Map(top);
  flat.delete('cfg');
  return { format: { kind: 'pickle', protocol, layout: 'flat', ignoredKeys: [] }, blobs: toArrays(flat, file), cfg };
}

function toArrays(dict: PyDict, file: string): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  for (const [key, value] of dict) {
    if (typeof key !== 'string') throw new Error(`${file}: blob names must be strings, got the key ${String(key)}`);
    const array = blobToNdArray(value);
    if (typeof array === 'string') throw new Error(`${file}: blob '${key}' is ${array}; expected a numpy array`);
    out.set(key, array);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The embedded config as text. A Python 2 str is read as latin1, as Detectron's load_object
 * does under Python 3; Python 3 bytes as UTF-8 (what yaml.load does with bytes).
 */
function cfgText(value: PyValue | undefined, file: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Py2Str) return value.text;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      return latin1Text(value);
    }
  }
  throw new Error(`${file}: 'cfg' must be a YAML string, got ${describe(value)}`);
}

export { PickleError };
