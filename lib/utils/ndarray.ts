/**
 * Plain n-dimensional arrays: what file readers produce and what tensors are made from.
 * Row-major (C order) unless a reader says otherwise; `data.length` equals the product of `shape`.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface NdArray {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

/** Number of elements of a shape (1 for a 0-d array). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
};

/** A typed array over `buffer` for values of `dtype` (bool as Uint8Array). */
export function arrayOfDType(dtype: DType, buffer: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
  }
}
