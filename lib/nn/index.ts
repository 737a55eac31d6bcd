/** The tensor engine: tensors, scopes, gradient modes, functional layers and losses. */
export * from './tensor';
export * from './scope';
export * from './autograd';
export * as F from './functional';
export { setThreads, getThreads, envReport } from './runtime';
export type { DType, Device, TypedArray } from './dtype';
