/**
 * The part of Caffe2's caffe2/proto/caffe2.proto that weights and Detectron's exported nets use,
 * with caffe2.proto's own field numbers and packing (proto2: repeated scalars are unpacked unless
 * marked packed, which matters for what Caffe2 itself writes). Fields left out here (QTensorProto,
 * partition info, ...) are skipped when reading.
 */
import * as protobuf from 'protobufjs';

const CAFFE2_SUBSET_PROTO = `
syntax = "proto2";
package caffe2;

message TensorProto {
  repeated int64 dims = 1;
  enum DataType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT32 = 2;
    BYTE = 3;
    STRING = 4;
    BOOL = 5;
    UINT8 = 6;
    INT8 = 7;
    UINT16 = 8;
    INT16 = 9;
    INT64 = 10;
    FLOAT16 = 12;
    DOUBLE = 13;
    ZERO_COLLISION_HASH = 14;
    REBATCHING_BUFFER = 15;
  }
  optional DataType data_type = 2 [default = FLOAT];
  optional uint32 data_format = 15 [default = 0];
  repeated float float_data = 3 [packed = true];
  repeated int32 int32_data = 4 [packed = true];
  optional bytes byte_data = 5;
  repeated bytes string_data = 6;
  repeated double double_data = 9 [packed = true];
  repeated int64 int64_data = 10 [packed = true];
  optional bytes raw_data = 13;
  optional string name = 7;
  optional DeviceOption device_detail = 8;
  message Segment {
    required int64 begin = 1;
    required int64 end = 2;
  }
  optional Segment segment = 11;
}

message TensorProtos {
  repeated TensorProto protos = 1;
}

message Argument {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 10;
  optional NetDef n = 8;
  repeated float floats = 5;
  repeated int64 ints = 6;
  repeated bytes strings = 7;
  repeated TensorProto tensors = 11;
  repeated NetDef nets = 9;
}

message DeviceOption {
  optional int32 device_type = 1 [default = 0];
  optional int32 device_id = 2;
  optional uint32 random_seed = 3;
  optional string node_name = 4;
  optional int32 numa_node_id = 5;
  repeated string extra_info = 6;
}

message OperatorDef {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string type = 4;
  repeated Argument arg = 5;
  optional DeviceOption device_option = 6;
  optional string engine = 7;
  repeated string control_input = 8;
  optional bool is_gradient_op = 9 [default = false];
  optional string debug_info = 10;
  optional string domain = 11;
  optional int64 op_version = 12;
}

message NetDef {
  optional string name = 1;
  repeated OperatorDef op = 2;
  optional string type = 3;
  optional int32 num_workers = 4;
  optional DeviceOption device_option = 5;
  repeated Argument arg = 6;
  repeated string external_input = 7;
  repeated string external_output = 8;
}
`;

const root = protobuf.parse(CAFFE2_SUBSET_PROTO, { keepCase: true }).root;

export const TensorProtoType = root.lookupType('caffe2.TensorProto');
export const TensorProtosType = root.lookupType('caffe2.TensorProtos');
export const ArgumentType = root.lookupType('caffe2.Argument');
export const DeviceOptionType = root.lookupType('caffe2.DeviceOption');
export const OperatorDefType = root.lookupType('caffe2.OperatorDef');
export const NetDefType = root.lookupType('caffe2.NetDef');

/** TensorProto.DataType by name, from the schema. */
export const DataType = root.lookupEnum('caffe2.TensorProto.DataType').values;

/** Field numbers of a message type, by field name, from the schema above. */
export function fieldIds(type: protobuf.Type): Readonly<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const field of type.fieldsArray) ids[field.name] = field.id;
  return ids;
}
