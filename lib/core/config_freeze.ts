/**
 * Immutability after assertAndInferCfg (Detectron's `cfg.immutable(True)`).
 *
 * Each section's keys become read-only accessors whose setter throws an error naming the key
 * (strict mode's generic TypeError would not say that the config is frozen, and sloppy code would
 * fail silently); the sections and arrays are then frozen. Accessors keep reads nearly as fast as
 * plain properties (a Proxy would cost ~10x on every read), and the tree still works with
 * JSON.stringify, structuredClone and deep equality.
 */

const frozenSections = new WeakSet<object>();

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function immutableError(path: string, value: unknown): Error {
  return new Error(
    `Attempted to set "${path}" to "${describe(value)}", but the config is immutable ` +
      '(assertAndInferCfg froze it; use cloneConfig() for a mutable copy)',
  );
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Freezes `value` deeply in place (arrays frozen, sections guarded) and returns it. */
export function deepFreeze<T>(value: T, path = ''): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    value.forEach((item, i) => deepFreeze(item, `${path}[${i}]`));
    return Object.freeze(value);
  }
  const target = value as Record<string, unknown>;
  for (const key of Object.keys(target)) {
    const child = deepFreeze(target[key], join(path, key));
    const fullKey = join(path, key);
    Object.defineProperty(target, key, {
      get: () => child,
      set: (v: unknown) => {
        throw immutableError(fullKey, v);
      },
      enumerable: true,
      configurable: false,
    });
  }
  frozenSections.add(target);
  return Object.freeze(target) as T;
}

/** Whether `cfg` (or any part of a config) was frozen by deepFreeze. */
export function isFrozen(value: object): boolean {
  return frozenSections.has(value) || Object.isFrozen(value);
}

/** A mutable deep copy (Detectron code does `copy.deepcopy(cfg)` and unfreezes it). */
export function deepCopyMutable<T>(value: T): T {
  if (Array.isArray(value)) return value.map(deepCopyMutable) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = deepCopyMutable(v);
    return out as T;
  }
  return value;
}
