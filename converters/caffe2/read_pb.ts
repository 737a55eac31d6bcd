/**
 * Reading Caffe2 protobuf files: a NetDef (init net or predict net) or a serialized TensorProtos.
 * Nothing in the file says which message it holds; see messageKind().
 */
import * as fs from 'fs';
import type { NdArray } from '../../lib/utils/ndarray';
import { decodeNetDef, decodeTensorProtos, topLevelFields } from './decode';
import { initNetBlobs, isFillOp } from './fill_ops';
import type { NetDef, TensorProto } from './messages';
import { summarizeNet } from './net_summary';
import { fieldIds, TensorProtosType } from './schema';
import { tensorProtosBlobs } from './tensor_protos';

export type Caffe2File =
  | { message: 'NetDef'; net: NetDef }
  | { message: 'TensorProtos'; tensors: TensorProto[] };

export interface Caffe2Format {
  kind: 'caffe2';
  message: 'NetDef' | 'TensorProtos';
  /** The NetDef's name ('' for TensorProtos). */
  name: string;
}

export interface Caffe2Weights {
  format: Caffe2Format;
  blobs: Map<string, NdArray>;
}

export function readCaffe2File(path: string): Caffe2File {
  if (!fs.statSync(path).isFile()) throw new Error(`${path}: not a regular file`);
  const bytes = fs.readFileSync(path);
  if (bytes.length === 0) throw new Error(`${path}: the file is empty`);
  if (messageKind(bytes, path) === 'TensorProtos') return { message: 'TensorProtos', tensors: decodeTensorProtos(bytes, path) };
  return { message: 'NetDef', net: decodeNetDef(bytes, path) };
}

/** Weights from an init net or a TensorProtos file; a predict net is refused with a summary. */
export function readCaffe2Weights(path: string): Caffe2Weights {
  return caffe2Weights(readCaffe2File(path), path);
}

/** The weights in an already parsed file; `path` is for error messages. */
export function caffe2Weights(file: Caffe2File, path: string): Caffe2Weights {
  if (file.message === 'TensorProtos') {
    return { format: { kind: 'caffe2', message: 'TensorProtos', name: '' }, blobs: tensorProtosBlobs(file.tensors, path) };
  }
  const { net } = file;
  if (isPredictNet(net)) {
    const s = summarizeNet(net);
    const types = Object.entries(s.opTypes)
      .map(([t, n]) => `${t} x${n}`)
      .join(', ');
    throw new Error(
      `${path}: this is a Caffe2 predict net ('${net.name}', ${s.opCount} ops: ${types}); ` +
        'it holds no weights. Give its init net (model_init.pb / init_net.pb) instead.',
    );
  }
  return { format: { kind: 'caffe2', message: 'NetDef', name: net.name }, blobs: initNetBlobs(net, path) };
}

/** A net that computes rather than fills: it has ops and not one of them is a GivenTensor*Fill. */
export function isPredictNet(net: NetDef): boolean {
  return net.op.length > 0 && !net.op.some((op) => isFillOp(op.type));
}

const PROTOS_FIELD = fieldIds(TensorProtosType).protos;

/**
 * NetDef or TensorProtos? A TensorProtos has only field 1 (length-delimited) and each of those
 * parses as a TensorProto; a NetDef with only a name has a single field 1 holding text, which
 * does not parse as a tensor with a name.
 */
function messageKind(bytes: Uint8Array, path: string): 'NetDef' | 'TensorProtos' {
  const fields = topLevelFields(bytes);
  if (fields === null || fields.length === 0) return 'NetDef'; // decodeNetDef gives the error, if any
  if (!fields.every(([id, wire]) => id === PROTOS_FIELD && wire === 2)) return 'NetDef';
  try {
    const tensors = decodeTensorProtos(bytes, path);
    return tensors.every((t) => t.name !== '') ? 'TensorProtos' : 'NetDef';
  } catch {
    return 'NetDef';
  }
}
