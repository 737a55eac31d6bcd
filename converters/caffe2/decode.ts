/**
 * Decoding Caffe2 NetDef / TensorProtos bytes with protobufjs's Reader, field numbers taken from
 * schema.ts.
 *
 * Why not `NetDefType.decode()`: protobufjs collects every repeated number into a JS array one
 * push at a time. A Detectron model_init.pb keeps each weight tensor in an Argument's unpacked
 * `repeated float floats` (5 bytes per value), ~44M values for R-50-FPN: a JS array of that takes
 * seconds and gigabytes. Here runs of repeated fixed-width values go straight into typed arrays.
 */
import * as protobuf from 'protobufjs';
import { errorMessage } from '../../lib/utils/atomic_write';
import {
  emptyArgument,
  emptyTensorProto,
  type Argument,
  type DeviceOption,
  type NetDef,
  type OperatorDef,
  type TensorProto,
} from './messages';
import { ArgumentType, DeviceOptionType, NetDefType, OperatorDefType, TensorProtoType, TensorProtosType, fieldIds } from './schema';

const NET = fieldIds(NetDefType);
const OPDEF = fieldIds(OperatorDefType);
const ARG = fieldIds(ArgumentType);
const DEVICE = fieldIds(DeviceOptionType);
const TENSOR = fieldIds(TensorProtoType);
const TENSORS = fieldIds(TensorProtosType);

const WIRE = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;
/** Arguments may hold nets which hold arguments...; real nets nest one or two levels. */
const MAX_DEPTH = 32;

/** A malformed message; `offset` is the byte where decoding stopped. */
export class ProtobufFormatError extends Error {}

export function decodeNetDef(bytes: Uint8Array, file: string): NetDef {
  return withReader(bytes, file, (r) => netDef(r, r.len, 0));
}

export function decodeTensorProtos(bytes: Uint8Array, file: string): TensorProto[] {
  return withReader(bytes, file, (r) => {
    const protos: TensorProto[] = [];
    while (r.pos < r.len) {
      const { id, wire } = tag(r);
      if (id === TENSORS.protos) protos.push(tensorProto(r, nested(r, wire, 'TensorProtos.protos'), 0));
      else r.skipType(wire);
    }
    return protos;
  });
}

/**
 * Lists the (field number, wire type) pairs at the top level of `bytes`, or null when they are
 * not a well-formed message. Used to tell a NetDef from a TensorProtos.
 */
export function topLevelFields(bytes: Uint8Array): Array<[number, number]> | null {
  try {
    const r = protobuf.Reader.create(bytes);
    const out: Array<[number, number]> = [];
    while (r.pos < r.len) {
      const { id, wire } = tag(r);
      out.push([id, wire]);
      r.skipType(wire);
    }
    return out;
  } catch {
    return null;
  }
}

function withReader<T>(bytes: Uint8Array, file: string, decode: (r: protobuf.Reader) => T): T {
  const r = protobuf.Reader.create(bytes);
  try {
    return decode(r);
  } catch (err) {
    throw new ProtobufFormatError(`${file}: not a valid Caffe2 protobuf (byte ${r.pos}): ${errorMessage(err)}`, { cause: err });
  }
}

function tag(r: protobuf.Reader): { id: number; wire: number } {
  const t = r.uint32();
  const id = t >>> 3;
  if (id === 0) throw new Error('field number 0');
  return { id, wire: t & 7 };
}

function expectWire(wire: number, expected: number, field: string): void {
  if (wire !== expected) throw new Error(`field ${field} has wire type ${wire}, expected ${expected}`);
}

/** Reads a length prefix and returns where the embedded message ends. */
function nested(r: protobuf.Reader, wire: number, field: string): number {
  expectWire(wire, WIRE.LEN, field);
  const length = r.uint32();
  const end = r.pos + length;
  if (end > r.len) throw new Error(`field ${field} claims ${length} bytes, past the end of the data`);
  return end;
}

function checkDepth(depth: number): void {
  if (depth > MAX_DEPTH) throw new Error(`messages nested deeper than ${MAX_DEPTH}`);
}

const utf8 = new TextDecoder('utf-8');

/** protobufjs's BufferReader.string() clips a length that runs past the end; bytes() checks it. */
function text(r: protobuf.Reader, wire: number, field: string): string {
  expectWire(wire, WIRE.LEN, field);
  return utf8.decode(r.bytes());
}

function bytesField(r: protobuf.Reader, wire: number, field: string): Uint8Array {
  expectWire(wire, WIRE.LEN, field);
  return r.bytes();
}

function int64ToBigInt(value: number | protobuf.Long): bigint {
  if (typeof value === 'number') return BigInt(value);
  return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
}

function int64ToNumber(value: number | protobuf.Long, field: string): number {
  const big = int64ToBigInt(value);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new Error(`field ${field} value ${big} is too large`);
  }
  return Number(big);
}

// ---- repeated numbers -------------------------------------------------------------------------

/** Appends typed-array chunks and joins them once at the end. */
class Chunks<T extends Float32Array | Float64Array | Int32Array | BigInt64Array> {
  private readonly parts: T[] = [];
  private total = 0;

  constructor(private readonly make: (n: number) => T) {}

  add(part: T): void {
    this.parts.push(part);
    this.total += part.length;
  }

  join(): T {
    if (this.parts.length === 1) return this.parts[0];
    const out = this.make(this.total);
    let at = 0;
    for (const part of this.parts) {
      (out as unknown as { set(a: T, o: number): void }).set(part, at);
      at += part.length;
    }
    return out;
  }
}

/**
 * Fixed-width repeated values (float: 4 bytes, double: 8), packed or not. For the unpacked form
 * the whole run of consecutive same-tag values is read in one loop.
 */
function fixedWidth(
  r: protobuf.Reader,
  wire: number,
  id: number,
  width: 4 | 8,
  field: string,
  end: number,
): Float32Array | Float64Array {
  const view = new DataView(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength);
  if (wire === WIRE.LEN) {
    const stop = nested(r, wire, field);
    const length = stop - r.pos;
    if (length % width !== 0) throw new Error(`packed field ${field} has ${length} bytes, not a multiple of ${width}`);
    const out = readStrided(view, r.pos, length / width, width, width);
    r.pos = stop;
    return out;
  }
  expectWire(wire, width === 4 ? WIRE.I32 : WIRE.I64, field);
  if (r.pos + width > end) throw new Error(`field ${field} runs past the end of its message`);
  // The first value's tag is already consumed; the values after it each repeat a one-byte tag.
  const tagByte = (id << 3) | wire;
  const stride = 1 + width;
  let count = 1;
  if (tagByte < 0x80) {
    const buf = r.buf;
    for (let p = r.pos + width; p + stride <= end && buf[p] === tagByte; p += stride) count++;
  }
  const out = width === 4 ? new Float32Array(count) : new Float64Array(count);
  out[0] = width === 4 ? view.getFloat32(r.pos, true) : view.getFloat64(r.pos, true);
  out.set(readStrided(view, r.pos + width + 1, count - 1, width, stride), 1);
  r.pos += width + (count - 1) * stride;
  return out;
}

/** `count` little-endian floats (width 4) or doubles (width 8), `stride` bytes apart. */
function readStrided(view: DataView, start: number, count: number, width: 4 | 8, stride: number): Float32Array | Float64Array {
  if (width === 4) {
    const out = new Float32Array(count);
    for (let i = 0, p = start; i < count; i++, p += stride) out[i] = view.getFloat32(p, true);
    return out;
  }
  const out = new Float64Array(count);
  for (let i = 0, p = start; i < count; i++, p += stride) out[i] = view.getFloat64(p, true);
  return out;
}

/** Varint repeated values (int32 / int64), packed or not. */
function varints(r: protobuf.Reader, wire: number, field: string, read: () => void): void {
  if (wire === WIRE.LEN) {
    const end = nested(r, wire, field);
    while (r.pos < end) read();
    if (r.pos !== end) throw new Error(`packed field ${field} overruns its length`);
    return;
  }
  expectWire(wire, WIRE.VARINT, field);
  read();
}

// ---- messages ---------------------------------------------------------------------------------

function netDef(r: protobuf.Reader, end: number, depth: number): NetDef {
  checkDepth(depth);
  const net: NetDef = {
    name: '',
    op: [],
    type: '',
    numWorkers: null,
    deviceOption: null,
    arg: [],
    externalInput: [],
    externalOutput: [],
  };
  while (r.pos < end) {
    const { id, wire } = tag(r);
    switch (id) {
      case NET.name:
        net.name = text(r, wire, 'NetDef.name');
        break;
      case NET.op:
        net.op.push(operatorDef(r, nested(r, wire, 'NetDef.op'), depth + 1));
        break;
      case NET.type:
        net.type = text(r, wire, 'NetDef.type');
        break;
      case NET.num_workers:
        expectWire(wire, WIRE.VARINT, 'NetDef.num_workers');
        net.numWorkers = r.int32();
        break;
      case NET.device_option:
        net.deviceOption = deviceOption(r, nested(r, wire, 'NetDef.device_option'));
        break;
      case NET.arg:
        net.arg.push(argument(r, nested(r, wire, 'NetDef.arg'), depth + 1));
        break;
      case NET.external_input:
        net.externalInput.push(text(r, wire, 'NetDef.external_input'));
        break;
      case NET.external_output:
        net.externalOutput.push(text(r, wire, 'NetDef.external_output'));
        break;
      default:
        r.skipType(wire);
    }
  }
  if (r.pos !== end) throw new Error('NetDef overruns its length');
  return net;
}

function operatorDef(r: protobuf.Reader, end: number, depth: number): OperatorDef {
  checkDepth(depth);
  const op: OperatorDef = { input: [], output: [], name: '', type: '', arg: [], deviceOption: null, engine: '', controlInput: [] };
  while (r.pos < end) {
    const { id, wire } = tag(r);
    switch (id) {
      case OPDEF.input:
        op.input.push(text(r, wire, 'OperatorDef.input'));
        break;
      case OPDEF.output:
        op.output.push(text(r, wire, 'OperatorDef.output'));
        break;
      case OPDEF.name:
        op.name = text(r, wire, 'OperatorDef.name');
        break;
      case OPDEF.type:
        op.type = text(r, wire, 'OperatorDef.type');
        break;
      case OPDEF.arg:
        op.arg.push(argument(r, nested(r, wire, 'OperatorDef.arg'), depth + 1));
        break;
      case OPDEF.device_option:
        op.deviceOption = deviceOption(r, nested(r, wire, 'OperatorDef.device_option'));
        break;
      case OPDEF.engine:
        op.engine = text(r, wire, 'OperatorDef.engine');
        break;
      case OPDEF.control_input:
        op.controlInput.push(text(r, wire, 'OperatorDef.control_input'));
        break;
      default:
        r.skipType(wire);
    }
  }
  if (r.pos !== end) throw new Error('OperatorDef overruns its length');
  return op;
}

function argument(r: protobuf.Reader, end: number, depth: number): Argument {
  checkDepth(depth);
  const arg = emptyArgument('');
  const floats = new Chunks<Float32Array>((n) => new Float32Array(n));
  const ints: bigint[] = [];
  while (r.pos < end) {
    const { id, wire } = tag(r);
    switch (id) {
      case ARG.name:
        arg.name = text(r, wire, 'Argument.name');
        break;
      case ARG.f:
        expectWire(wire, WIRE.I32, 'Argument.f');
        arg.f = r.float();
        break;
      case ARG.i:
        expectWire(wire, WIRE.VARINT, 'Argument.i');
        arg.i = int64ToBigInt(r.int64());
        break;
      case ARG.s:
        arg.s = bytesField(r, wire, 'Argument.s');
        break;
      case ARG.floats:
        floats.add(fixedWidth(r, wire, id, 4, 'Argument.floats', end) as Float32Array);
        break;
      case ARG.ints:
        varints(r, wire, 'Argument.ints', () => ints.push(int64ToBigInt(r.int64())));
        break;
      case ARG.strings:
        arg.strings.push(bytesField(r, wire, 'Argument.strings'));
        break;
      case ARG.t:
        arg.t = tensorProto(r, nested(r, wire, 'Argument.t'), depth + 1);
        break;
      case ARG.tensors:
        arg.tensors.push(tensorProto(r, nested(r, wire, 'Argument.tensors'), depth + 1));
        break;
      case ARG.n:
        arg.n = netDef(r, nested(r, wire, 'Argument.n'), depth + 1);
        break;
      case ARG.nets:
        arg.nets.push(netDef(r, nested(r, wire, 'Argument.nets'), depth + 1));
        break;
      default:
        r.skipType(wire);
    }
  }
  if (r.pos !== end) throw new Error('Argument overruns its length');
  arg.floats = floats.join();
  arg.ints = BigInt64Array.from(ints);
  return arg;
}

function deviceOption(r: protobuf.Reader, end: number): DeviceOption {
  const option: DeviceOption = { deviceType: 0, deviceId: 0 };
  while (r.pos < end) {
    const { id, wire } = tag(r);
    if (id === DEVICE.device_type && wire === WIRE.VARINT) option.deviceType = r.int32();
    else if (id === DEVICE.device_id && wire === WIRE.VARINT) option.deviceId = r.int32();
    else r.skipType(wire);
  }
  if (r.pos !== end) throw new Error('DeviceOption overruns its length');
  return option;
}

function tensorProto(r: protobuf.Reader, end: number, depth: number): TensorProto {
  checkDepth(depth);
  const t = emptyTensorProto();
  const floats = new Chunks<Float32Array>((n) => new Float32Array(n));
  const doubles = new Chunks<Float64Array>((n) => new Float64Array(n));
  const int32s: number[] = [];
  const int64s: bigint[] = [];
  while (r.pos < end) {
    const { id, wire } = tag(r);
    switch (id) {
      case TENSOR.dims:
        varints(r, wire, 'TensorProto.dims', () => t.dims.push(int64ToNumber(r.int64(), 'TensorProto.dims')));
        break;
      case TENSOR.data_type:
        expectWire(wire, WIRE.VARINT, 'TensorProto.data_type');
        t.dataType = r.int32();
        break;
      case TENSOR.data_format:
        expectWire(wire, WIRE.VARINT, 'TensorProto.data_format');
        t.dataFormat = r.uint32();
        break;
      case TENSOR.float_data:
        floats.add(fixedWidth(r, wire, id, 4, 'TensorProto.float_data', end) as Float32Array);
        break;
      case TENSOR.double_data:
        doubles.add(fixedWidth(r, wire, id, 8, 'TensorProto.double_data', end) as Float64Array);
        break;
      case TENSOR.int32_data:
        varints(r, wire, 'TensorProto.int32_data', () => int32s.push(r.int32()));
        break;
      case TENSOR.int64_data:
        varints(r, wire, 'TensorProto.int64_data', () => int64s.push(int64ToBigInt(r.int64())));
        break;
      case TENSOR.byte_data:
        t.byteData = bytesField(r, wire, 'TensorProto.byte_data');
        break;
      case TENSOR.string_data:
        t.stringData.push(bytesField(r, wire, 'TensorProto.string_data'));
        break;
      case TENSOR.raw_data:
        t.rawData = bytesField(r, wire, 'TensorProto.raw_data');
        break;
      case TENSOR.name:
        t.name = text(r, wire, 'TensorProto.name');
        break;
      case TENSOR.segment:
        t.hasSegment = true;
        r.skipType(wire);
        break;
      default:
        r.skipType(wire);
    }
  }
  if (r.pos !== end) throw new Error('TensorProto overruns its length');
  t.floatData = floats.join();
  t.doubleData = doubles.join();
  t.int32Data = Int32Array.from(int32s);
  t.int64Data = BigInt64Array.from(int64s);
  return t;
}
