/** Tensor element types and devices, and their codes in the native addon. */
import { arrayOfDType, type DType, type TypedArray } from '../utils/ndarray';

export type { DType, TypedArray };
export { arrayOfDType };

/** Devices as libtorch spells them: `cpu`, `cuda`, `cuda:N`. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

const CODES: Readonly<Record<DType, number>> = {
  float32: 0,
  float64: 1,
  int32: 2,
  int64: 3,
  uint8: 4,
  bool: 5,
};

const NAMES: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'];

export function dtypeCode(dtype: DType): number {
  const code = CODES[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${String(dtype)}' (expected one of ${NAMES.join(', ')})`);
  return code;
}

export function dtypeFromCode(code: number): DType {
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

export function isFloatingDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Checks a device string, so that a typo fails here with a clear message. */
export function checkDevice(device: string): Device {
  if (device === 'cpu' || device === 'cuda' || /^cuda:\d+$/.test(device)) return device as Device;
  throw new TypeError(`unknown device '${device}' (expected cpu, cuda or cuda:N)`);
}
