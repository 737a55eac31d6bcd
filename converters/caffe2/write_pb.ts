/**
 * Writes weights as a Caffe2 init net: a NetDef with one GivenTensor*Fill op per blob, the way
 * Detectron's convert_pkl_to_pb.py writes model_init.pb (gen_init_net_from_blobs), encoded the
 * way Caffe2 encodes it (proto2: `floats` and `ints` unpacked).
 *
 * protobufjs encodes the small parts (net name, op type and output, the shape argument) from the
 * schema. The `values` argument is encoded here in one typed-array pass and written straight to
 * the file: protobufjs's Writer allocates an operation object per repeated element, which for
 * tens of millions of weights costs gigabytes. Messages concatenate (a field appended to an
 * encoded message is parsed as part of it), which is what lets the two be combined.
 */
import type { NdArray } from '../../lib/utils/ndarray';
import { writeAtomicWith, type AtomicIo, type FileSink } from '../../lib/utils/atomic_write';
import { checkArray } from '../pkl/write_pkl';
import { FILL_OP_FOR } from './fill_ops';
import { ArgumentType, NetDefType, OperatorDefType, fieldIds } from './schema';

const NET = fieldIds(NetDefType);
const OPDEF = fieldIds(OperatorDefType);
const ARG = fieldIds(ArgumentType);
const WIRE = { VARINT: 0, LEN: 2, I32: 5 } as const;

export interface WriteInitNetOptions {
  /** NetDef name; Detectron names its init nets `<net_name>_init`, i.e. 'detectron_init'. */
  name?: string;
  io?: AtomicIo;
}

/** Writes `blobs` (insertion order) as an init net at `path`, atomically. */
export function writeInitNet(path: string, blobs: ReadonlyMap<string, NdArray>, options: WriteInitNetOptions = {}): void {
  const entries = [...blobs].map(([name, array]): [string, NdArray] => [name, checkArray(name, array, path)]);
  for (const [name, array] of entries) checkRepresentable(name, array, path);
  writeAtomicWith(
    path,
    (sink) => {
      sink.write(NetDefType.encode({ name: options.name ?? 'detectron_init' }).finish());
      for (const [name, array] of entries) writeFillOp(sink, name, array);
    },
    options.io,
  );
}

/**
 * Caffe2 reads GivenTensorDoubleFill's values from the float `floats` field, so a float64 blob
 * survives only if every value is a float32. Refuse rather than silently round.
 */
function checkRepresentable(name: string, array: NdArray, path: string): void {
  if (array.dtype !== 'float64') return;
  const data = array.data as Float64Array;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Math.fround(v) !== v && !Number.isNaN(v)) {
      throw new Error(
        `cannot write ${path}: float64 blob '${name}' value ${v} (index ${i}) is not exactly a float32, ` +
          "and Caffe2's GivenTensorDoubleFill stores its values as float32",
      );
    }
  }
}

function writeFillOp(sink: FileSink, name: string, array: NdArray): void {
  const head = OperatorDefType.encode({
    output: [name],
    type: FILL_OP_FOR[array.dtype],
    arg: [{ name: 'shape', ints: array.shape }],
  }).finish();
  const valuesArg = encodeValuesArgument(array);
  const argLength = valuesArg.reduce((n, part) => n + part.length, 0);
  const argHeader = concat(tagBytes(OPDEF.arg, WIRE.LEN), varint(argLength));
  sink.write(concat(tagBytes(NET.op, WIRE.LEN), varint(head.length + argHeader.length + argLength)));
  sink.write(head);
  sink.write(argHeader);
  for (const part of valuesArg) sink.write(part);
}

/** The bytes of Argument{name: 'values', floats | ints | strings: ...}. */
function encodeValuesArgument(array: NdArray): Uint8Array[] {
  const nameField = ArgumentType.encode({ name: 'values' }).finish();
  return [nameField, valuesField(array)];
}

function valuesField(array: NdArray): Uint8Array {
  switch (array.dtype) {
    case 'float32':
    case 'float64':
      return unpackedFloats(array.data as Float32Array | Float64Array);
    case 'int32':
    case 'bool':
      return unpackedVarints(Array.from(array.data as Int32Array | Uint8Array, (v) => BigInt(v)));
    case 'int64':
      return unpackedVarints(array.data as BigInt64Array);
    case 'uint8': {
      const data = array.data as Uint8Array;
      return concat(tagBytes(ARG.strings, WIRE.LEN), varint(data.length), data);
    }
  }
}

/** Each value as its own `floats` field: a one-byte tag + 4 little-endian bytes. */
function unpackedFloats(values: Float32Array | Float64Array): Uint8Array {
  const tag = ((ARG.floats << 3) | WIRE.I32) >>> 0;
  const stride = 5;
  const out = new Uint8Array(values.length * stride);
  const view = new DataView(out.buffer);
  for (let i = 0, p = 0; i < values.length; i++, p += stride) {
    out[p] = tag;
    view.setFloat32(p + 1, values[i], true);
  }
  return out;
}

/** Each value as its own `ints` field: tag + int64 varint (negatives take ten bytes). */
function unpackedVarints(values: ArrayLike<bigint>): Uint8Array {
  const tag = tagBytes(ARG.ints, WIRE.VARINT);
  const out = new Uint8Array(values.length * (tag.length + 10));
  let p = 0;
  for (let i = 0; i < values.length; i++) {
    out.set(tag, p);
    p += tag.length;
    let v = BigInt.asUintN(64, values[i]);
    while (v >= 0x80n) {
      out[p++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    out[p++] = Number(v);
  }
  return out.subarray(0, p);
}

function tagBytes(field: number, wire: number): Uint8Array {
  return varint(((field << 3) | wire) >>> 0);
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
