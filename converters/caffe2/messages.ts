/**
 * Caffe2 messages as plain TypeScript values (camelCase fields of caffe2.proto's messages).
 * Repeated numbers are typed arrays: an init net's `values` argument holds every weight of a
 * tensor, tens of millions of floats in a real model.
 */
export interface TensorProto {
  name: string;
  dims: number[];
  /** TensorProto.DataType; FLOAT when absent. */
  dataType: number;
  dataFormat: number;
  floatData: Float32Array;
  int32Data: Int32Array;
  byteData: Uint8Array | null;
  stringData: Uint8Array[];
  doubleData: Float64Array;
  int64Data: BigInt64Array;
  rawData: Uint8Array | null;
  hasSegment: boolean;
}

export interface Argument {
  name: string;
  f: number | null;
  i: bigint | null;
  s: Uint8Array | null;
  floats: Float32Array;
  ints: BigInt64Array;
  strings: Uint8Array[];
  t: TensorProto | null;
  tensors: TensorProto[];
  n: NetDef | null;
  nets: NetDef[];
}

export interface DeviceOption {
  deviceType: number;
  deviceId: number;
}

export interface OperatorDef {
  input: string[];
  output: string[];
  name: string;
  type: string;
  arg: Argument[];
  deviceOption: DeviceOption | null;
  engine: string;
  controlInput: string[];
}

export interface NetDef {
  name: string;
  op: OperatorDef[];
  type: string;
  numWorkers: number | null;
  deviceOption: DeviceOption | null;
  arg: Argument[];
  externalInput: string[];
  externalOutput: string[];
}

export function emptyArgument(name: string): Argument {
  return {
    name,
    f: null,
    i: null,
    s: null,
    floats: new Float32Array(0),
    ints: new BigInt64Array(0),
    strings: [],
    t: null,
    tensors: [],
    n: null,
    nets: [],
  };
}

export function emptyTensorProto(): TensorProto {
  return {
    name: '',
    dims: [],
    dataType: 1,
    dataFormat: 0,
    floatData: new Float32Array(0),
    int32Data: new Int32Array(0),
    byteData: null,
    stringData: [],
    doubleData: new Float64Array(0),
    int64Data: new BigInt64Array(0),
    rawData: null,
    hasSegment: false,
  };
}

/** The argument called `name`, if the op has it. */
export function findArg(op: { arg: Argument[] }, name: string): Argument | undefined {
  return op.arg.find((a) => a.name === name);
}
