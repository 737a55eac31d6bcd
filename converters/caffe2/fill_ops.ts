/**
 * Caffe2 init nets: one GivenTensor*Fill op per blob, with `shape` and `values` arguments
 * (caffe2/operators/given_tensor_fill_op.h). Which Argument field holds the values follows
 * Caffe2's GetRepeatedArgument: float and double from `floats` (so doubles are stored at float
 * precision), int, int64 and bool from `ints`, strings from `strings`.
 */
import { numel, type DType, type NdArray } from '../../lib/utils/ndarray';
import { findArg, type Argument, type NetDef, type OperatorDef } from './messages';
import { DataType } from './schema';

export const FILL_OPS = [
  'GivenTensorFill',
  'GivenTensorDoubleFill',
  'GivenTensorIntFill',
  'GivenTensorInt64Fill',
  'GivenTensorBoolFill',
  'GivenTensorStringFill',
  'GivenTensorByteStringToUInt8Fill',
] as const;

const FILL_SET: ReadonlySet<string> = new Set(FILL_OPS);

export function isFillOp(type: string): boolean {
  return FILL_SET.has(type);
}

/** The element type each op produces (GivenTensorFill's may be changed by its `dtype` arg). */
const OP_DTYPE: Readonly<Record<string, DType>> = {
  GivenTensorFill: 'float32',
  GivenTensorDoubleFill: 'float64',
  GivenTensorIntFill: 'int32',
  GivenTensorInt64Fill: 'int64',
  GivenTensorBoolFill: 'bool',
  GivenTensorByteStringToUInt8Fill: 'uint8',
  GivenTensorStringFill: 'uint8',
};

/** The op that writes each dtype (the inverse of OP_DTYPE). */
export const FILL_OP_FOR: Readonly<Record<DType, (typeof FILL_OPS)[number]>> = {
  float32: 'GivenTensorFill',
  float64: 'GivenTensorDoubleFill',
  int32: 'GivenTensorIntFill',
  int64: 'GivenTensorInt64Fill',
  bool: 'GivenTensorBoolFill',
  uint8: 'GivenTensorByteStringToUInt8Fill',
};

const DTYPE_ARG: Readonly<Record<number, DType>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.BOOL]: 'bool',
};

/**
 * Every blob an init net fills. Throws, listing them, if the net has ops other than
 * GivenTensor*Fill, and names the op for any malformed one.
 */
export function initNetBlobs(net: NetDef, file: string): Map<string, NdArray> {
  const unsupported = net.op.filter((op) => !isFillOp(op.type));
  if (unsupported.length > 0) throw new Error(`${file}: ${describeUnsupported(unsupported, 'init net', FILL_OPS)}`);
  const blobs = new Map<string, NdArray>();
  net.op.forEach((op, index) => {
    const where = `${file}: op #${index} (${op.type} -> ${op.output.join(', ') || '?'})`;
    if (op.output.length !== 1) throw new Error(`${where}: expected exactly one output, got ${op.output.length}`);
    if (op.input.length !== 0) throw new Error(`${where}: fill ops taking their shape from an input are not supported`);
    if (blobs.has(op.output[0])) throw new Error(`${where}: blob '${op.output[0]}' is filled twice`);
    blobs.set(op.output[0], fillOpArray(op, (why) => new Error(`${where}: ${why}`)));
  });
  return blobs;
}

/** "ConstantFill x3 (first: op #4 -> 'foo'), ..." plus what is supported. */
export function describeUnsupported(ops: readonly OperatorDef[], what: string, supported: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const op of ops) counts.set(op.type, (counts.get(op.type) ?? 0) + 1);
  const list = [...counts].map(([type, n]) => `${type || '(no type)'} x${n}`).join(', ');
  return `unsupported ops in ${what}: ${list} (supported: ${supported.join(', ')})`;
}

function fillOpArray(op: OperatorDef, error: (why: string) => Error): NdArray {
  for (const unsupported of ['input_as_shape', 'extra_shape']) {
    if (findArg(op, unsupported)) throw error(`argument '${unsupported}' is not supported`);
  }
  const shapeArg = findArg(op, 'shape');
  if (shapeArg === undefined) throw error("missing the 'shape' argument");
  const shape = Array.from(shapeArg.ints, (d) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw error(`invalid shape entry ${d}`);
    return Number(d);
  });
  const values = findArg(op, 'values');
  if (values === undefined) throw error("missing the 'values' argument");
  const dtype = opDType(op, error);
  if (op.type === 'GivenTensorStringFill' || op.type === 'GivenTensorByteStringToUInt8Fill') {
    return byteString(op.type, values, shape, error);
  }
  const data = typedValues(dtype, values, error);
  if (data.length !== numel(shape)) {
    throw error(`${data.length} values for shape [${shape.join(', ')}] (${numel(shape)} elements)`);
  }
  return { dtype, shape, data };
}

function opDType(op: OperatorDef, error: (why: string) => Error): DType {
  const dtypeArg = findArg(op, 'dtype');
  // Caffe2 honours `dtype` only on the float GivenTensorFill and ignores it elsewhere.
  if (op.type !== 'GivenTensorFill' || dtypeArg === undefined) return OP_DTYPE[op.type];
  const code = Number(dtypeArg.i ?? -1n);
  const dtype = DTYPE_ARG[code];
  if (dtype === undefined) throw error(`unsupported 'dtype' argument ${code}`);
  return dtype;
}

function typedValues(dtype: DType, values: Argument, error: (why: string) => Error): NdArray['data'] {
  switch (dtype) {
    case 'float32':
      return values.floats;
    case 'float64':
      return Float64Array.from(values.floats);
    case 'int64':
      return values.ints;
    case 'int32':
      return Int32Array.from(values.ints, (v) => {
        if (v !== BigInt.asIntN(32, v)) throw error(`value ${v} does not fit in int32`);
        return Number(v);
      });
    case 'bool':
      return Uint8Array.from(values.ints, (v) => (v !== 0n ? 1 : 0));
    case 'uint8':
      throw error('uint8 values must be a byte string');
  }
}

/**
 * GivenTensorByteStringToUInt8Fill: one string holding all bytes, shaped by `shape`.
 * GivenTensorStringFill is how Detectron's exporter stores uint8 blobs (model_convert_utils.py:
 * shape [1], the raw bytes as the only string); its original shape is lost, so it comes back 1-D.
 */
function byteString(type: string, values: Argument, shape: number[], error: (why: string) => Error): NdArray {
  if (values.strings.length !== 1) throw error(`expected one byte string in 'values', got ${values.strings.length}`);
  // A copy in its own buffer: decoded bytes are views into the whole file.
  const data = new Uint8Array(values.strings[0]);
  if (type === 'GivenTensorStringFill') {
    if (numel(shape) !== 1) throw error('string tensors are not supported (only Detectron\'s one-string uint8 blobs)');
    return { dtype: 'uint8', shape: [data.length], data };
  }
  if (data.length !== numel(shape)) throw error(`${data.length} bytes for shape [${shape.join(', ')}]`);
  return { dtype: 'uint8', shape, data };
}
