/**
 * Serialized TensorProtos (caffe2/core/tensor serialization): each TensorProto carries its name,
 * dims, data type and data in the field for that type, or little-endian bytes in raw_data.
 */
import { arrayOfDType, DTYPE_BYTES, numel, type DType, type NdArray, type TypedArray } from '../../lib/utils/ndarray';
import type { TensorProto } from './messages';
import { DataType } from './schema';

const DTYPE_OF: Readonly<Record<number, DType>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.BOOL]: 'bool',
  [DataType.UINT8]: 'uint8',
  [DataType.BYTE]: 'uint8',
};

const TYPE_NAME = new Map<number, string>(Object.entries(DataType).map(([name, code]) => [code, name]));

export function tensorProtosBlobs(protos: readonly TensorProto[], file: string): Map<string, NdArray> {
  const blobs = new Map<string, NdArray>();
  protos.forEach((proto, index) => {
    const where = `${file}: tensor #${index} ('${proto.name}')`;
    if (proto.name === '') throw new Error(`${file}: tensor #${index} has no name`);
    if (blobs.has(proto.name)) throw new Error(`${where}: the name appears twice`);
    blobs.set(proto.name, tensorArray(proto, (why) => new Error(`${where}: ${why}`)));
  });
  return blobs;
}

function tensorArray(proto: TensorProto, error: (why: string) => Error): NdArray {
  if (proto.hasSegment) throw error('chunked tensors (segment) are not supported');
  if (proto.dataFormat !== 0) throw error(`data_format ${proto.dataFormat} is not supported`);
  const dtype = DTYPE_OF[proto.dataType];
  if (dtype === undefined) throw error(`data type ${TYPE_NAME.get(proto.dataType) ?? proto.dataType} is not supported`);
  const count = numel(proto.dims);
  const data = proto.rawData !== null ? fromRaw(proto.rawData, dtype, error) : fromFields(proto, dtype, error);
  if (data.length !== count) throw error(`${data.length} values for dims [${proto.dims.join(', ')}] (${count} elements)`);
  return { dtype, shape: [...proto.dims], data };
}

function fromRaw(raw: Uint8Array, dtype: DType, error: (why: string) => Error): TypedArray {
  const width = DTYPE_BYTES[dtype];
  if (raw.length % width !== 0) throw error(`raw_data has ${raw.length} bytes, not a multiple of ${width}`);
  const copy = new Uint8Array(raw); // own, aligned buffer: `raw` is a view into the whole file
  return arrayOfDType(dtype, copy.buffer);
}

function fromFields(proto: TensorProto, dtype: DType, error: (why: string) => Error): TypedArray {
  switch (dtype) {
    case 'float32':
      return proto.floatData;
    case 'float64':
      return proto.doubleData;
    case 'int32':
      return proto.int32Data;
    case 'int64':
      return proto.int64Data;
    case 'bool':
      return Uint8Array.from(proto.int32Data, (v) => (v !== 0 ? 1 : 0));
    case 'uint8':
      if (proto.dataType === DataType.BYTE) return proto.byteData === null ? new Uint8Array(0) : new Uint8Array(proto.byteData);
      return Uint8Array.from(proto.int32Data, (v) => {
        if (v < 0 || v > 255) throw error(`value ${v} does not fit in uint8`);
        return v;
      });
  }
}
