/**
 * The only Python globals a weights pickle may name, and what calling them means here.
 *
 * A pickle is a program: GLOBAL names any importable callable and REDUCE calls it, which is how
 * a pickle runs `os.system`. Loading here never runs code: a name that is not listed below is
 * refused the moment it appears, and the listed ones are reimplemented as pure functions that
 * only build data (arrays, dtypes, bytes, dicts).
 */
import { fromBuffer, makeDType, makeScalar, type ClaimedBuffers, type Fail } from './numpy_arrays';
import { NumpyArray, PyGlobal, asBytes, describe, latin1Bytes, type PyDict, type PyValue } from './python_objects';

export interface CallContext {
  fail: Fail;
  claimed: ClaimedBuffers;
}

type Implementation = (args: readonly PyValue[], ctx: CallContext) => PyValue;

/** null: the global may appear only as an argument (numpy.ndarray for _reconstruct). */
const ALLOWED = new Map<string, Implementation | null>();

function allow(names: readonly string[], impl: Implementation | null): void {
  for (const name of names) ALLOWED.set(name, impl);
}

// numpy moved its internals from numpy.core to numpy._core in 2.0; pickles name either.
const numpyCore = (module: string, name: string): string[] => [`numpy.core.${module}.${name}`, `numpy._core.${module}.${name}`];

allow(['numpy.ndarray'], null);
allow(['numpy.dtype'], (args: readonly PyValue[], ctx: CallContext) => makeDType(args, ctx.fail));
allow(numpyCore('multiarray', '_reconstruct'), (args: readonly PyValue[], ctx: CallContext) => {
  if (args.length !== 3) ctx.fail(`numpy _reconstruct expects 3 arguments, got ${args.length}`);
  const cls = args[0];
  if (!(cls instanceof PyGlobal) || cls.qualifiedName !== 'numpy.ndarray') {
    ctx.fail(`numpy _reconstruct: only numpy.ndarray can be reconstructed, got ${describe(cls)}`);
  }
  return new NumpyArray();
});
allow(numpyCore('multiarray', 'scalar'), (args: readonly PyValue[], ctx: CallContext) => makeScalar(args, ctx.claimed, ctx.fail));
allow(numpyCore('numeric', '_frombuffer'), (args: readonly PyValue[], ctx: CallContext) => fromBuffer(args, ctx.claimed, ctx.fail));

// Python 3 writes bytes under protocol 2 as _codecs.encode(text, 'latin1').
const LATIN1_NAMES = new Set(['latin1', 'latin-1', 'latin_1', 'iso-8859-1', 'iso8859-1', 'iso_8859_1', 'l1']);
allow(['_codecs.encode'], (args: readonly PyValue[], ctx: CallContext) => {
  if (args.length !== 2) ctx.fail(`_codecs.encode expects 2 arguments, got ${args.length}`);
  const [text, encoding] = args;
  if (typeof encoding !== 'string' || !LATIN1_NAMES.has(encoding.toLowerCase())) {
    ctx.fail(`_codecs.encode: only the latin1 encoding is allowed, got ${typeof encoding === 'string' ? `'${encoding}'` : describe(encoding)}`);
  }
  if (typeof text !== 'string') ctx.fail(`_codecs.encode: expected str, got ${describe(text)}`);
  const bytes = latin1Bytes(text);
  if (bytes === null) ctx.fail('_codecs.encode: text has characters outside latin-1');
  return bytes;
});

// Empty bytes pickle as bytes() under protocol 2; bytearray as bytearray(bytes-like).
allow(['__builtin__.bytes', 'builtins.bytes'], (args: readonly PyValue[], ctx: CallContext) => {
  if (args.length !== 0) ctx.fail(`bytes() is only allowed without arguments, got ${args.length}`);
  return new Uint8Array(0);
});
allow(['__builtin__.bytearray', 'builtins.bytearray'], (args: readonly PyValue[], ctx: CallContext) => {
  if (args.length === 0) return new Uint8Array(0);
  const bytes = args.length === 1 ? asBytes(args[0]) : undefined;
  if (bytes === undefined) ctx.fail(`bytearray() is only allowed with one bytes argument, got ${args.map(describe).join(', ')}`);
  return bytes.slice();
});

allow(['collections.OrderedDict'], (args: readonly PyValue[], ctx: CallContext) => {
  if (args.length !== 0) ctx.fail(`collections.OrderedDict() is only allowed without arguments, got ${args.length}`);
  const dict: PyDict = new Map();
  return dict;
});

/** The allow-listed global, or undefined when `module.name` must be refused. */
export function resolveGlobal(module: string, name: string): PyGlobal | undefined {
  return ALLOWED.has(`${module}.${name}`) ? new PyGlobal(module, name) : undefined;
}

/** REDUCE: calls an allow-listed global; anything else is refused. */
export function callGlobal(callable: PyValue, args: readonly PyValue[], ctx: CallContext): PyValue {
  if (!(callable instanceof PyGlobal)) ctx.fail(`cannot call a ${describe(callable)}`);
  const impl = ALLOWED.get(callable.qualifiedName);
  if (impl === undefined || impl === null) ctx.fail(`${callable.qualifiedName} cannot be called`);
  return impl(args, ctx);
}

/** For error messages: what is accepted. */
export function allowedGlobalNames(): string[] {
  return [...ALLOWED.keys()];
}
