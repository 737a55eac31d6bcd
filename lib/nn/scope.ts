/**
 * Deterministic release of tensors. libtorch memory is invisible to V8's garbage
 * collector, so loops must free what they create: `tidy(fn)` disposes every tensor created
 * while `fn` runs, except the tensors it returns (found in arrays, Maps and plain objects),
 * which move to the enclosing scope.
 */

/** What a scope can release. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Array<Set<Disposable>> = [];
/** Tensors exempted with keep(): never tracked by any scope. */
const kept = new WeakSet<Disposable>();

/** Called by every new tensor: the innermost open scope will release it. */
export function track(t: Disposable): void {
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined && !kept.has(t)) scope.add(t);
}

/** Exempts a tensor from every open and future scope (model weights, optimizer state). */
export function keep<T extends Disposable>(t: T): T {
  kept.add(t);
  for (const scope of scopes) scope.delete(t);
  return t;
}

/** Number of open scopes, for tests. */
export function scopeDepth(): number {
  return scopes.length;
}

function collect(value: unknown, into: Set<Disposable>, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isDisposable(value)) {
    into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, into, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, seen);
  }
}

function isDisposable(value: object): value is Disposable {
  return typeof (value as Partial<Disposable>).dispose === 'function' && 'isDisposed' in value;
}

/**
 * Runs `fn` in a new scope. On return, tensors created inside and not returned are
 * disposed; on a throw, all of them are. `fn` must be synchronous: an async function
 * would leave the scope before its awaits finish.
 */
export function tidy<R>(fn: () => R): R {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('tidy() got an async function; its tensors would outlive the scope');
  }
  const returned = new Set<Disposable>();
  collect(result, returned, new Set());
  for (const t of scope) {
    if (returned.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/** Disposes every tensor found in `value` (arrays, Maps, plain objects). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}
