/**
 * A blob's unpickled value as an NdArray, the way `np.asarray(value)` would see it: numpy arrays
 * and scalars as they are; Python bools, ints and floats as 0-d bool / int64 / float64 arrays;
 * (nested) lists and tuples of those as rectangular arrays of the widest of those types.
 */
import { numel, type DType, type NdArray } from '../../lib/utils/ndarray';
import { NumpyArray, PyFloat, PyTuple, describe, type PyValue } from './python_objects';

/** Ragged or self-referencing lists are rejected long before this. */
const MAX_LIST_DIMS = 32;
/** Plain-list blobs are tiny in practice; a memo-shared list can claim far more elements. */
const MAX_LIST_ELEMENTS = 1 << 26;

/** What `np.asarray(value)` would give, or an explanation of why the value is no array. */
export function blobToNdArray(value: PyValue): NdArray | string {
  if (value instanceof NumpyArray) return value.array ?? 'a numpy.ndarray whose state was never set';
  if (isNumber(value)) return fromNumbers([value], []);
  if (!isSequence(value)) return `a ${describe(value)}`;
  const shape = listShape(value);
  if (typeof shape === 'string') return shape;
  if (numel(shape) > MAX_LIST_ELEMENTS) return `a list of ${numel(shape)} elements (more than ${MAX_LIST_ELEMENTS})`;
  const flat: Scalar[] = [];
  const error = flatten(value, shape, 0, flat);
  return error ?? fromNumbers(flat, shape);
}

type Scalar = boolean | number | bigint | PyFloat;

function isNumber(value: PyValue): value is Scalar {
  return typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint' || value instanceof PyFloat;
}

function isSequence(value: PyValue): value is PyValue[] | PyTuple {
  return Array.isArray(value) || value instanceof PyTuple;
}

function itemsOf(value: PyValue[] | PyTuple): readonly PyValue[] {
  return value instanceof PyTuple ? value.items : value;
}

/** The shape implied by the first element at each depth; flatten() then checks all of them. */
function listShape(value: PyValue[] | PyTuple): number[] | string {
  const shape: number[] = [];
  let current: PyValue = value;
  while (isSequence(current)) {
    if (shape.length >= MAX_LIST_DIMS) return `a list nested more than ${MAX_LIST_DIMS} deep`;
    const items = itemsOf(current);
    shape.push(items.length);
    if (items.length === 0) break;
    current = items[0];
  }
  return shape;
}

function flatten(value: PyValue, shape: readonly number[], depth: number, out: Scalar[]): string | undefined {
  if (depth === shape.length) {
    if (!isNumber(value)) return `a list containing a ${describe(value)}`;
    out.push(value);
    return undefined;
  }
  if (!isSequence(value)) return `a ragged list (a ${describe(value)} where a list of ${shape[depth]} was expected)`;
  const items = itemsOf(value);
  if (items.length !== shape[depth]) return `a ragged list (lengths ${shape[depth]} and ${items.length} at depth ${depth})`;
  for (const item of items) {
    const error = flatten(item, shape, depth + 1, out);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** numpy's promotion for Python scalars: all bool -> bool, else any float -> float64, else int64. */
function fromNumbers(values: readonly Scalar[], shape: number[]): NdArray | string {
  const dtype: DType = values.some((v) => v instanceof PyFloat)
    ? 'float64'
    : values.length > 0 && values.every((v) => typeof v === 'boolean')
      ? 'bool'
      : values.length === 0
        ? 'float64' // np.asarray([]) is float64
        : 'int64';
  if (dtype === 'float64') {
    return { dtype, shape, data: Float64Array.from(values, (v) => (v instanceof PyFloat ? v.value : Number(v))) };
  }
  if (dtype === 'bool') return { dtype, shape, data: Uint8Array.from(values, (v) => (v === true ? 1 : 0)) };
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const big = typeof v === 'bigint' ? v : BigInt(v === true ? 1 : v === false ? 0 : (v as number));
    if (big !== BigInt.asIntN(64, big)) return `an int (${big}) that does not fit in int64`;
    data[i] = big;
  }
  return { dtype, shape, data };
}
