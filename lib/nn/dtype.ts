/** Tensor element types and devices, and their codes in the native addon. */
import { arrayOfDType, type DType, type TypedArray } from '../utils/ndarray';

export type { DType, TypedArray };

/**
 * Element types a tensor can hold: the array dtypes plus the reduced-precision floats that
 * mixed precision (lib/nn/amp.ts) produces. Half-precision tensors have no typed array: read
 * them after `.float()`.
 */
export type TensorDType = DType | 'float16' | 'bfloat16';

/** Devices as libtorch spells them: `cpu`, `cuda`, `cuda:N`. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

const CODES: Readonly<Record<TensorDType, number>> = {
  float32: 0,
  float64: 1,
  int32: 2,
  int64: 3,
  uint8: 4,
  bool: 5,
  float16: 6,
  bfloat16: 7,
};

const NAMES: readonly TensorDType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool', 'float16', 'bfloat16'];

export function dtypeCode(dtype: TensorDType): number {
  const code = CODES[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${String(dtype)}' (expected one of ${NAMES.join(', ')})`);
  return code;
}

export function dtypeFromCode(code: number): TensorDType {
  const name = NAMES[code];
  if (name === undefined) throw new TypeError(`tensor has a dtype this API does not expose (code ${code})`);
  return name;
}

/** The dtype a typed array holds by default. */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint8';
}

export function isFloatingDType(dtype: TensorDType): boolean {
  return dtype === 'float32' || dtype === 'float64' || isReducedFloat(dtype);
}

/** float16 and bfloat16: the dtypes autocast computes in. */
export function isReducedFloat(dtype: TensorDType): dtype is 'float16' | 'bfloat16' {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/** The typed array of a tensor's values; reduced-precision floats must be converted first. */
export function arrayOfTensorDType(dtype: TensorDType, buffer: ArrayBuffer): TypedArray {
  if (isReducedFloat(dtype)) throw new TypeError(`a ${dtype} tensor has no typed array: read it after .float()`);
  return arrayOfDType(dtype, buffer);
}

/** Checks a device string, so that a typo fails here with a clear message. */
export function checkDevice(device: string): Device {
  if (device === 'cpu' || device === 'cuda' || /^cuda:\d+$/.test(device)) return device as Device;
  throw new TypeError(`unknown device '${device}' (expected cpu, cuda or cuda:N)`);
}
