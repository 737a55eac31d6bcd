/**
 * Weights files in Detectron's formats, whichever the path names: `.pkl` (Detectron's pickles)
 * or `.pb` (Caffe2 init nets and serialized TensorProtos). Blobs whose names end in `_momentum`
 * are SGD state, not weights: they are kept apart, as Detectron's loader skips them.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { NdArray } from '../lib/utils/ndarray';
import type { NetDef } from './caffe2/messages';
import { caffe2Weights, isPredictNet, readCaffe2File, readCaffe2Weights, type Caffe2Format } from './caffe2/read_pb';
import { writeInitNet } from './caffe2/write_pb';
import { readPkl, type PickleFormat } from './pkl/read_pkl';
import { writePkl } from './pkl/write_pkl';

export type WeightsFormat = PickleFormat | Caffe2Format;

export interface WeightsFile {
  format: WeightsFormat;
  /** Parameters by Detectron blob name, in file order. */
  blobs: Map<string, NdArray>;
  /** Momentum blobs, by their full name (`<param>_momentum`). */
  momentum: Map<string, NdArray>;
  /** The YAML config embedded in a model_final.pkl, unparsed; null when absent. */
  cfg: string | null;
}

export type WeightsKind = 'pkl' | 'pb';

export const MOMENTUM_SUFFIX = '_momentum';

/** 'pkl' or 'pb' from the extension; otherwise from the first byte (pickles start with PROTO). */
export function weightsKind(file: string): WeightsKind {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.pkl' || ext === '.pickle') return 'pkl';
  if (ext === '.pb') return 'pb';
  return sniffKind(file);
}

function sniffKind(file: string): WeightsKind {
  const fd = fs.openSync(file, 'r');
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error(`${file}: not a regular file`);
    const first = Buffer.alloc(1);
    if (fs.readSync(fd, first, 0, 1, 0) === 0) throw new Error(`${file}: the file is empty`);
    return first[0] === 0x80 ? 'pkl' : 'pb';
  } finally {
    fs.closeSync(fd);
  }
}

export function loadWeights(file: string): WeightsFile {
  if (weightsKind(file) === 'pkl') {
    const { format, blobs, cfg } = readPkl(file);
    return { format, ...splitMomentum(blobs), cfg };
  }
  const { format, blobs } = readCaffe2Weights(file);
  return { format, ...splitMomentum(blobs), cfg: null };
}

/** A weights file, or a Caffe2 predict net (which has no weights, only ops). */
export type Inspected = { kind: 'weights'; weights: WeightsFile } | { kind: 'predict-net'; net: NetDef };

/** Like loadWeights, but a Caffe2 predict net is returned instead of refused; reads once. */
export function inspectWeightsFile(file: string): Inspected {
  if (weightsKind(file) === 'pkl') return { kind: 'weights', weights: loadWeights(file) };
  const parsed = readCaffe2File(file);
  if (parsed.message === 'NetDef' && isPredictNet(parsed.net)) return { kind: 'predict-net', net: parsed.net };
  const { format, blobs } = caffe2Weights(parsed, file);
  return { kind: 'weights', weights: { format, ...splitMomentum(blobs), cfg: null } };
}

export interface WeightsToSave {
  blobs: ReadonlyMap<string, NdArray>;
  momentum?: ReadonlyMap<string, NdArray>;
  cfg?: string | null;
}

/**
 * Writes `.pkl` in Detectron's {'blobs', 'cfg'} layout, or `.pb` as a Caffe2 init net (which has
 * no place for a cfg: pass `cfg: null` or it is refused; momentum blobs are written as blobs).
 */
export function saveWeights(file: string, weights: WeightsToSave): void {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.pkl' || ext === '.pickle') {
    writePkl(file, weights);
    return;
  }
  if (ext === '.pb') {
    if (weights.cfg !== undefined && weights.cfg !== null) {
      throw new Error(`cannot write ${file}: a Caffe2 init net cannot hold the cfg; drop it (cfg: null) to write weights only`);
    }
    const all = new Map<string, NdArray>(weights.blobs);
    for (const [name, array] of weights.momentum ?? []) all.set(name, array);
    writeInitNet(file, all);
    return;
  }
  throw new Error(`cannot write ${file}: unknown weights extension '${ext}' (expected .pkl or .pb)`);
}

export function splitMomentum(all: Map<string, NdArray>): { blobs: Map<string, NdArray>; momentum: Map<string, NdArray> } {
  const blobs = new Map<string, NdArray>();
  const momentum = new Map<string, NdArray>();
  for (const [name, array] of all) (name.endsWith(MOMENTUM_SUFFIX) ? momentum : blobs).set(name, array);
  return { blobs, momentum };
}
