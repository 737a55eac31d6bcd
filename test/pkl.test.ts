/**
 * Detectron .pkl weights: the fixture generator's files for every architecture, Python 3 pickles
 * of protocols 2-5, numpy's array encodings, hostile and truncated pickles, and the writer.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import type { NdArray } from '../lib/utils/ndarray';
import { loadWeights } from '../converters/weights';
import { ByteReader, PickleError } from '../converters/pkl/byte_reader';
import { readPkl, readPklBytes } from '../converters/pkl/read_pkl';
import { unpickle } from '../converters/pkl/unpickler';
import { Py2Str, PyFloat, PyTuple, type PyValue } from '../converters/pkl/python_objects';
import { writePkl } from '../converters/pkl/write_pkl';
import { nodeIo, type AtomicIo } from '../lib/utils/atomic_write';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const MAKE_PKL = path.join(FIXTURES, 'make_detectron_pkl.py');
const CACHE = path.join(ROOT, 'data/cache');
const HAS_NUMPY = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const itNumpy = HAS_NUMPY ? it : it.skip;

let tmp: string;
beforeAll(() => {
  fs.mkdirSync(CACHE, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkl-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function python(script: string, args: string[] = []): string {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return r.stdout;
}

function bytesOf(a: NdArray): Buffer {
  return Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
}

function sum64(a: NdArray): number {
  let s = 0;
  for (const v of a.data) s += Number(v);
  return s;
}

// ---------------------------------------------------------------------------------------------
// A tiny pickle assembler for hand-made pickles.
// ---------------------------------------------------------------------------------------------

class P {
  private readonly parts: Buffer[] = [];

  raw(...items: Array<number | string | Uint8Array>): this {
    for (const item of items) {
      if (typeof item === 'number') this.parts.push(Buffer.from([item]));
      else if (typeof item === 'string') this.parts.push(Buffer.from(item, 'latin1'));
      else this.parts.push(Buffer.from(item));
    }
    return this;
  }
  proto(v = 2): this {
    return this.raw(0x80, v);
  }
  global(module: string, name: string): this {
    return this.raw('c', `${module}\n${name}\n`);
  }
  /** Python 2 str (SHORT_BINSTRING / BINSTRING). */
  s(data: string | Uint8Array): this {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    if (b.length < 256) return this.raw('U', b.length, b);
    const len = Buffer.alloc(4);
    len.writeInt32LE(b.length);
    return this.raw('T', len, b);
  }
  /** BINUNICODE */
  u(text: string): this {
    const b = Buffer.from(text, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.raw('X', len, b);
  }
  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.raw('J', b);
  }
  float(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return this.raw('G', b);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
  /** A numpy dtype: dtype(descr, False, True) + BUILD (3, order, None, None, None, -1, -1, 0). */
  dtype(descr: string, order: string): this {
    return this.global('numpy', 'dtype')
      .s(descr)
      .raw(0x89, 0x88, 0x87, 'R', '(')
      .int(3)
      .s(order)
      .raw('NNN')
      .int(-1)
      .int(-1)
      .int(0)
      .raw('t', 'b');
  }
  /** _reconstruct(ndarray, (0,), 'b') + BUILD (1, shape, dtype, fortran, data). */
  ndarray(descr: string, order: string, shape: number[], data: Uint8Array | ((p: P) => void), fortran = false): this {
    this.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).raw(0x85).s('b').raw(0x87, 'R');
    this.raw('(').int(1).raw('(');
    for (const d of shape) this.int(d);
    this.raw('t');
    this.dtype(descr, order);
    this.raw(fortran ? 0x88 : 0x89);
    if (typeof data === 'function') data(this);
    else this.s(data);
    return this.raw('t', 'b');
  }
}

/** Wraps value-writing code in {u'blobs': {name: value}} and STOP. */
function blobsPickle(entries: Array<[string, (p: P) => void]>, cfg?: string): Buffer {
  const p = new P().proto(2).raw('}', '(').u('blobs').raw('}', '(');
  for (const [name, write] of entries) {
    p.s(name);
    write(p);
  }
  p.raw('u');
  if (cfg !== undefined) p.u('cfg').s(cfg);
  return p.raw('u', '.').bytes();
}

function readValue(bytes: Uint8Array, name = 'mem.pkl'): PyValue {
  return unpickle(ByteReader.fromBytes(bytes, name)).value;
}

function le(kind: 'f4' | 'f8' | 'i4' | 'i8', values: number[]): Buffer {
  const width = kind === 'f4' || kind === 'i4' ? 4 : 8;
  const b = Buffer.alloc(values.length * width);
  values.forEach((v, i) => {
    if (kind === 'f4') b.writeFloatLE(v, i * 4);
    else if (kind === 'f8') b.writeDoubleLE(v, i * 8);
    else if (kind === 'i4') b.writeInt32LE(v, i * 4);
    else b.writeBigInt64LE(BigInt(v), i * 8);
  });
  return b;
}

// ---------------------------------------------------------------------------------------------
// The fixture generator, every architecture.
// ---------------------------------------------------------------------------------------------

interface Variant {
  arch: string;
  seed: number;
  momentum: boolean;
  flat: boolean;
}

const ARCHS = spawnSync('python3', [MAKE_PKL, '--list'], { encoding: 'utf8' }).stdout.trim().split('\n');

/**
 * Every architecture once, with --momentum and --flat spread over them (the ImageNet files are
 * flat in reality). DETECTRON_PKL_FULL=1 runs every architecture with all four combinations.
 * Seed 1 throughout, so that the files are the ones other tests cache (test/helpers/fixtures.ts).
 */
function variants(): Variant[] {
  if (process.env.DETECTRON_PKL_FULL === '1') {
    return ARCHS.flatMap((arch) => [false, true].flatMap((momentum) => [false, true].map((flat) => ({ arch, seed: 1, momentum, flat }))));
  }
  return ARCHS.map((arch) => ({
    arch,
    seed: 1,
    momentum: arch === 'e2e_faster_rcnn_R-50-C4' || arch === 'imagenet_R-50-C5',
    flat: arch.startsWith('imagenet_') || arch === 'e2e_keypoint_rcnn_R-50-FPN',
  }));
}

const VARIANTS = variants();

interface ExpectedBlob {
  name: string;
  shape: number[];
  kind: string;
  /** Only for blobs of at most 4096 values: their float64 sum and first values. */
  sum?: number;
  head?: number[];
}

/** The generator's own blob lists and, for small blobs, their values (computed by its code). */
function expectedBlobs(): Record<string, ExpectedBlob[]> {
  const script = `
import importlib.util, json, struct, sys
spec = importlib.util.spec_from_file_location('gen', sys.argv[1])
gen = importlib.util.module_from_spec(spec); spec.loader.exec_module(gen)
out = {}
for v in json.loads(sys.argv[2]):
    rows = []
    for name, shape, kind, fan in gen.arch_blobs(v['arch']):
        names = [(name, kind)]
        if v['momentum'] and kind not in ('bilinear', 'zero'):
            names.append((name + '_momentum', 'tiny'))
        for n, k in names:
            row = {'name': n, 'shape': list(shape), 'kind': k}
            count = 1
            for d in shape: count *= d
            if count <= 4096:
                vals = struct.unpack('<%df' % count, gen.values(n, shape, k, fan, v['seed']))
                s = 0.0
                for x in vals: s += x
                row['sum'] = s; row['head'] = list(vals[:3])
            rows.append(row)
    out[v['arch'] + '/' + str(v['seed']) + '/' + str(v['momentum']) + '/' + str(v['flat'])] = rows
print(json.dumps(out))
`;
  return JSON.parse(python(script, [MAKE_PKL, JSON.stringify(VARIANTS)])) as Record<string, ExpectedBlob[]>;
}

const key = (v: Variant): string => `${v.arch}/${v.seed}/${v.momentum ? 'True' : 'False'}/${v.flat ? 'True' : 'False'}`;

function generatePkl(v: Variant, out: string, extra: string[] = []): Promise<string> {
  const args = [MAKE_PKL, v.arch, out, '--seed', String(v.seed), ...extra];
  if (v.momentum) args.push('--momentum');
  if (v.flat) args.push('--flat');
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`make_detectron_pkl.py failed: ${err}`))));
  });
}

/**
 * The generator's output for `v`, cached in data/cache under the name test/helpers/fixtures.ts
 * gives it (same arguments, same bytes), written to a temporary name and renamed when complete.
 */
function cachedPkl(v: Variant): Promise<string> {
  const extra = [...(v.momentum ? ['--momentum'] : []), ...(v.flat ? ['--flat'] : [])];
  const suffix = extra.length > 0 ? `_${extra.map((e) => e.replace(/^--/, '')).join('_')}` : '';
  const file = path.join(CACHE, `${v.arch}_s${v.seed}${suffix}.pkl`);
  if (fs.existsSync(file)) return Promise.resolve(file);
  const temp = `${file}.tmp${process.pid}`;
  return generatePkl({ ...v, momentum: false, flat: false }, temp, extra).then(() => {
    fs.renameSync(temp, file);
    return file;
  });
}

/** Generates missing files two at a time (one per CI core) while the tests read them in order. */
function generateAll(): Map<string, Promise<string>> {
  const files = new Map<string, Promise<string>>();
  const slots: Array<Promise<unknown>> = [Promise.resolve(), Promise.resolve()];
  VARIANTS.forEach((v, i) => {
    const p = slots[i % 2].then(() => cachedPkl(v));
    slots[i % 2] = p.catch(() => undefined);
    files.set(key(v), p);
  });
  return files;
}

/** Magnitude bounds the generator guarantees for each kind (exponent_for in the script). */
function magnitudeRange(kind: string): [number, number] | null {
  const exponent = (std: number): number => Math.floor(Math.log2(std / 1.5));
  let e: number;
  switch (kind) {
    case 'affine_s':
      return [0.5, 1];
    case 'affine_s_small':
      return [0.125, 0.25];
    case 'bias':
      return [2 ** -6, 2 ** -5];
    case 'small':
      e = exponent(0.08);
      break;
    case 'tiny':
      e = exponent(0.004);
      break;
    case 'logit':
      e = exponent(0.01);
      break;
    case 'cls':
      e = exponent(0.2 / 16);
      break;
    default:
      return null; // conv/fc depend on the fan-in the script passes; checked through sums instead
  }
  return [2 ** e, 2 ** (e + 1)];
}

describe('fixture weights for every architecture', () => {
  let expected: Record<string, ExpectedBlob[]>;
  let files: Map<string, Promise<string>>;

  beforeAll(() => {
    expected = expectedBlobs();
    files = generateAll();
  });

  afterAll(async () => {
    await Promise.allSettled(files.values());
  });

  it('the generator lists the 13 architectures', () => {
    expect(ARCHS).toHaveLength(13);
    expect(ARCHS).toContain('e2e_mask_rcnn_R-50-FPN');
  });

  it.each(VARIANTS.map((v) => [key(v), v] as const))('%s', async (_name, v) => {
    const file = await (files.get(key(v)) as Promise<string>);
    const rows = expected[key(v)];
    const w = loadWeights(file);

    expect(w.format).toEqual({ kind: 'pickle', protocol: 2, layout: v.flat ? 'flat' : 'detectron', ignoredKeys: [] });
    expect(w.cfg).toBeNull();
    const params = rows.filter((r) => !r.name.endsWith('_momentum'));
    const momenta = rows.filter((r) => r.name.endsWith('_momentum'));
    expect([...w.blobs.keys()]).toEqual(params.map((r) => r.name));
    expect([...w.momentum.keys()]).toEqual(momenta.map((r) => r.name));
    expect(w.momentum.size).toBe(v.momentum ? params.filter((r) => r.kind !== 'bilinear' && r.kind !== 'zero').length : 0);

    for (const row of rows) {
      const a = (row.name.endsWith('_momentum') ? w.momentum : w.blobs).get(row.name) as NdArray;
      expect(a.dtype).toBe('float32');
      expect(a.shape).toEqual(row.shape);
      expect(a.data).toBeInstanceOf(Float32Array);
      expect(a.data.length).toBe(row.shape.reduce((x, y) => x * y, 1));
      expect((a.data as Float32Array).byteOffset % 4).toBe(0);
      if (row.sum !== undefined) {
        expect(sum64(a)).toBe(row.sum);
        expect(Array.from((a.data as Float32Array).subarray(0, 3))).toEqual(row.head);
      }
      const range = magnitudeRange(row.kind);
      if (range !== null) {
        const data = a.data as Float32Array;
        for (let i = 0; i < Math.min(data.length, 512); i++) {
          const m = Math.abs(data[i]);
          if (!(m >= range[0] && m < range[1])) throw new Error(`${row.name}[${i}] = ${data[i]} outside [${range}]`);
        }
      }
    }

    if (v.arch === 'e2e_keypoint_rcnn_R-50-FPN') {
      // Detectron's fixed bilinear 2x upsampling kernel: (1 - |i - 1.5| / 2) * (1 - |j - 1.5| / 2) on the diagonal.
      const k = w.blobs.get('kps_score_w') as NdArray;
      const data = k.data as Float32Array;
      const f = [0.25, 0.75, 0.75, 0.25];
      expect(Array.from(data.subarray(0, 16))).toEqual(f.flatMap((a) => f.map((b) => a * b)));
      expect(data.subarray(16, 32).every((x) => x === 0)).toBe(true); // channel 0 -> 1 is zero
      expect(sum64(k)).toBe(17 * 4); // each 4x4 kernel sums to 2 * 2
      expect(sum64(w.blobs.get('kps_score_b') as NdArray)).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Truncated and corrupt files.
// ---------------------------------------------------------------------------------------------

describe('truncated and corrupt pickles', () => {
  const CFG = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');
  let file: string;
  let bytes: Buffer;

  beforeAll(async () => {
    // The smallest architecture, with a cfg, so the file ends with the cfg string as Detectron's do.
    file = path.join(CACHE, 'pkltest_truncate.pkl');
    await generatePkl({ arch: 'imagenet_R-50-C5', seed: 7, momentum: false, flat: false }, file, ['--cfg', CFG]);
    bytes = fs.readFileSync(file);
  });
  afterAll(() => fs.rmSync(file, { force: true }));

  it('is a complete Detectron-layout file with the cfg embedded verbatim', () => {
    const w = readPklBytes(bytes, 'whole.pkl');
    expect(w.format.layout).toBe('detectron');
    expect(w.cfg).toBe(fs.readFileSync(CFG, 'latin1'));
    expect(w.blobs.size).toBe(161);
  });

  /** Each cut costs a parse of everything before it, so the many cuts sit where parsing is cheap. */
  function cuts(): number[] {
    const out = new Set<number>();
    for (let i = 0; i < 700; i++) out.add(i); // header, first names, dtype, first array header and payload
    for (let i = 1; i <= 6; i++) out.add(Math.floor((bytes.length * i) / 7)); // inside payloads
    const cfgAt = bytes.lastIndexOf(Buffer.from('cfg'));
    for (const at of [cfgAt - 2, cfgAt + 3, cfgAt + 6, bytes.length - 2, bytes.length - 1]) out.add(at); // tail
    return [...out].sort((a, b) => a - b);
  }

  it('throws a clear error at every cut, naming the file and a byte offset', () => {
    const name = 'cut.pkl';
    for (const cut of cuts()) {
      let error: unknown = null;
      try {
        readPklBytes(bytes.subarray(0, cut), name);
      } catch (err) {
        error = err;
      }
      if (!(error instanceof PickleError)) throw new Error(`cut at ${cut}: expected a PickleError, got ${String(error)}`);
      expect(error.file).toBe(name);
      expect(error.offset).toBeLessThanOrEqual(cut);
      expect(error.message).toMatch(/^cut\.pkl: byte \d+: .*(truncated|expected)/);
    }
  });

  it('throws for files truncated on disk too (streaming reads)', () => {
    for (const cut of [3, 5000, Math.floor(bytes.length / 3)]) {
      const f = path.join(tmp, `cut_${cut}.pkl`);
      fs.writeFileSync(f, bytes.subarray(0, cut));
      expect(() => readPkl(f)).toThrow(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: byte \\d+: .*truncated`));
    }
  });

  it('refuses a corrupt length before allocating it', () => {
    // The first array payload: find conv1_w's BINSTRING ('T' + int32 length 37632).
    const len = Buffer.alloc(4);
    len.writeInt32LE(64 * 3 * 7 * 7 * 4);
    const at = bytes.indexOf(Buffer.concat([Buffer.from('T'), len]));
    expect(at).toBeGreaterThan(0);
    const corrupt = Buffer.from(bytes.subarray(0, at + 200_000));
    corrupt.writeInt32LE(0x7ffffff0, at + 1);
    expect(() => readPklBytes(corrupt, 'big.pkl')).toThrow(
      `big.pkl: byte ${at + 5}: truncated: expected 2147483632 bytes of BINSTRING data, but the file ends ${200_000 - 5} bytes later`,
    );
    corrupt.writeInt32LE(-5, at + 1);
    expect(() => readPklBytes(corrupt, 'neg.pkl')).toThrow(`neg.pkl: byte ${at}: BINSTRING: negative length -5`);
  });

  it('refuses unknown opcodes, missing memo entries and trailing bytes', () => {
    expect(() => readValue(Buffer.from([0x80, 2, 0xff]), 'x.pkl')).toThrow('x.pkl: byte 2: 0xff: not a pickle opcode');
    expect(() => readValue(Buffer.from([0x80, 2, 0x68, 7, 0x2e]), 'x.pkl')).toThrow('x.pkl: byte 2: BINGET: memo entry 7 was never stored');
    expect(() => readValue(Buffer.from([0x80, 2, 0x4e, 0x2e, 0x00]), 'x.pkl')).toThrow('x.pkl: byte 4: 1 unexpected byte(s) after the STOP opcode');
    expect(() => readValue(Buffer.from([0x80, 2, 0x2e]), 'x.pkl')).toThrow('x.pkl: byte 2: STOP: stack underflow');
    expect(() => readValue(Buffer.from([0x80, 2, 0x4e, 0x74, 0x2e]), 'x.pkl')).toThrow('x.pkl: byte 3: TUPLE: no MARK to pop to');
    expect(() => readValue(Buffer.from([0x80, 9]), 'x.pkl')).toThrow('x.pkl: byte 0: PROTO: unsupported pickle protocol 9 (at most 5)');
    expect(() => readValue(Buffer.from('(I1\n.', 'latin1'), 'x.pkl')).toThrow(/protocol 0 text opcodes are not supported/);
    expect(() => readValue(Buffer.alloc(0), 'x.pkl')).toThrow('x.pkl: byte 0: truncated: the pickle ends without a STOP opcode');
    // A FRAME announcing more than the file holds.
    const frame = Buffer.from([0x80, 4, 0x95, 0, 0, 1, 0, 0, 0, 0, 0, 0x4e, 0x2e]);
    expect(() => readValue(frame, 'x.pkl')).toThrow(/x\.pkl: byte 11: truncated: expected 65536 bytes of FRAME contents/);
  });

  it('refuses a top level that is not a dict, and blobs that are not arrays', () => {
    expect(() => readPklBytes(new P().proto().raw(']', '.').bytes(), 'l.pkl')).toThrow(
      "l.pkl: expected a dict at the top level ({'blobs': ..., 'cfg': ...} or {name: array}), got list",
    );
    expect(() => readPklBytes(blobsPickle([['w', (p) => p.u('text')]]), 's.pkl')).toThrow(
      "s.pkl: blob 'w' is a str; expected a numpy array",
    );
    expect(() => readPklBytes(blobsPickle([['w', (p) => p.raw('(').int(1).raw(']').raw('l')]]), 'r.pkl')).toThrow(
      "r.pkl: blob 'w' is a list containing a list; expected a numpy array",
    );
    const ragged = (p: P): P => p.raw('(', '(').int(1).int(2).raw('l', '(').int(3).raw('l', 'l');
    expect(() => readPklBytes(blobsPickle([['w', ragged]]), 'r.pkl')).toThrow(
      "r.pkl: blob 'w' is a ragged list (lengths 2 and 1 at depth 1); expected a numpy array",
    );
    const unbuilt = new P().proto().raw('}').s('w').global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).raw(0x85).s('b').raw(0x87, 'R', 's', '.');
    expect(() => readPklBytes(unbuilt.bytes(), 'u.pkl')).toThrow("u.pkl: blob 'w' is a numpy.ndarray whose state was never set; expected a numpy array");
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile pickles.
// ---------------------------------------------------------------------------------------------

describe('hostile pickles', () => {
  const marker = (): string => path.join(tmp, 'pwned');

  it.each([
    ['os', 'system'],
    ['posix', 'system'],
    ['nt', 'system'],
    ['subprocess', 'Popen'],
    ['builtins', 'eval'],
    ['__builtin__', 'eval'],
    ['builtins', 'getattr'],
    ['numpy', 'load'],
    ['numpy.core.multiarray', 'frombuffer'],
  ])('GLOBAL %s.%s is refused by name before anything runs', (module, name) => {
    const bytes = new P().proto().global(module, name).s(`touch ${marker()}`).raw(0x85, 'R', '.').bytes();
    expect(() => readValue(bytes, 'evil.pkl')).toThrow(
      `evil.pkl: byte 2: GLOBAL: refusing to load global '${module}.${name}': only numpy arrays and plain data are allowed in weights files`,
    );
    expect(fs.existsSync(marker())).toBe(false);
  });

  it('STACK_GLOBAL builtins.eval is refused', () => {
    const p = new P().proto(4).raw(0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93).raw(0x8c, 4, '1+1', 0x85, 'R', '.');
    expect(() => readValue(p.bytes(), 'evil.pkl')).toThrow("evil.pkl: byte 18: STACK_GLOBAL: refusing to load global 'builtins.eval'");
  });

  it('refuses INST, OBJ, NEWOBJ, persistent ids and extension codes', () => {
    expect(() => readValue(new P().proto().raw('(', 'i', 'os\nsystem\n', '.').bytes(), 'e.pkl')).toThrow(
      'e.pkl: byte 3: INST: refusing to create an instance of os.system',
    );
    const newobj = new P().proto().global('collections', 'OrderedDict').raw(')', 0x81, '.').bytes();
    expect(() => readValue(newobj, 'e.pkl')).toThrow(/e\.pkl: byte \d+: NEWOBJ: refusing to create a class instance/);
    expect(() => readValue(new P().proto().raw('(', 'o', '.').bytes(), 'e.pkl')).toThrow(/OBJ: refusing to create a class instance/);
    expect(() => readValue(new P().proto().s('x').raw('Q', '.').bytes(), 'e.pkl')).toThrow(/BINPERSID: persistent ids/);
    expect(() => readValue(new P().proto().raw(0x82, 1, '.').bytes(), 'e.pkl')).toThrow(/EXT1: extension-registry codes/);
  });

  it('refuses REDUCE chains on anything but the allow-listed functions', () => {
    // _codecs.encode is allowed, but its result (bytes) cannot be called.
    const chain = new P().proto().global('_codecs', 'encode').u('x').u('latin1').raw(0x86, 'R').raw(')', 'R', '.');
    expect(() => readValue(chain.bytes(), 'c.pkl')).toThrow(/c\.pkl: byte \d+: REDUCE: cannot call a bytes/);
    const direct = new P().proto().global('numpy', 'ndarray').raw(')', 'R', '.');
    expect(() => readValue(direct.bytes(), 'c.pkl')).toThrow(/REDUCE: numpy\.ndarray cannot be called/);
    const rot13 = new P().proto().global('_codecs', 'encode').u('x').u('rot13').raw(0x86, 'R', '.');
    expect(() => readValue(rot13.bytes(), 'c.pkl')).toThrow("REDUCE: _codecs.encode: only the latin1 encoding is allowed, got 'rot13'");
    const objectDtype = new P().proto().global('numpy', 'dtype').s('O8').raw(0x85, 'R', '.');
    expect(() => readValue(objectDtype.bytes(), 'c.pkl')).toThrow("REDUCE: unsupported numpy dtype 'O8' (supported: f4, f8, i4, i8, u1, b1)");
    const reconstructOther = new P().proto().global('numpy.core.multiarray', '_reconstruct').global('collections', 'OrderedDict').int(0).raw(0x85).s('b').raw(0x87, 'R', '.');
    expect(() => readValue(reconstructOther.bytes(), 'c.pkl')).toThrow(
      'REDUCE: numpy _reconstruct: only numpy.ndarray can be reconstructed, got collections.OrderedDict',
    );
    const buildDict = new P().proto().raw('}').raw('}', 'b', '.');
    expect(() => readValue(buildDict.bytes(), 'c.pkl')).toThrow('c.pkl: byte 4: BUILD: cannot set the state of a dict');
    const odArgs = new P().proto().global('collections', 'OrderedDict').raw(']', 0x85, 'R', '.');
    expect(() => readValue(odArgs.bytes(), 'c.pkl')).toThrow(/OrderedDict\(\) is only allowed without arguments/);
  });

  it("stores a '__proto__' key as data without touching any prototype", () => {
    const bytes = new P().proto().raw('}').u('__proto__').raw('}').u('polluted').raw(0x88, 's', 's', '.').bytes();
    const value = readValue(bytes) as Map<string, PyValue>;
    expect(value).toBeInstanceOf(Map);
    expect((value.get('__proto__') as Map<string, PyValue>).get('polluted')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('ends on self-referencing lists: they are refused as blobs, not walked forever', () => {
    // l = []; l.append(l) via memo
    const bytes = blobsPickle([['w', (p) => p.raw(']', 'q', 9, 'h', 9, 'a')]]);
    expect(() => readPklBytes(bytes, 'loop.pkl')).toThrow("loop.pkl: blob 'w' is a list nested more than 32 deep; expected a numpy array");
  });
});

// ---------------------------------------------------------------------------------------------
// numpy encodings, hand-made (run everywhere).
// ---------------------------------------------------------------------------------------------

describe('numpy arrays and scalars', () => {
  it('reads every supported dtype and byte order, C and Fortran order, and 0-d arrays', () => {
    const f4 = le('f4', [1.5, -2, 3.25, 4, 5, 6]);
    const f8be = Buffer.from(le('f8', [0.1, -7])).swap64();
    const i4 = le('i4', [-1, 2, 2147483647]);
    const i8 = le('i8', [-(2 ** 40), 3]);
    // Fortran 2x3: columns (1,4), (2,5), (3,6) -> C order 1..6
    const fortran = le('i4', [1, 4, 2, 5, 3, 6]);
    const fortranBe = Buffer.from(le('f4', [1, 4, 2, 5, 3, 6])).swap32();
    const bytes = blobsPickle(
      [
        ['f4', (p) => p.ndarray('f4', '<', [2, 3], f4)],
        ['f8be', (p) => p.ndarray('f8', '>', [2], f8be)],
        ['i4', (p) => p.ndarray('i4', '<', [3], i4)],
        ['i8', (p) => p.ndarray('i8', '=', [2], i8)],
        ['u1', (p) => p.ndarray('u1', '|', [2, 2], Uint8Array.of(0, 128, 255, 7))],
        ['b1', (p) => p.ndarray('b1', '|', [3], Uint8Array.of(1, 0, 1))],
        ['fortran', (p) => p.ndarray('i4', '<', [2, 3], fortran, true)],
        ['fortran_be', (p) => p.ndarray('f4', '>', [2, 3], fortranBe, true)],
        ['zero_d', (p) => p.ndarray('f8', '<', [], le('f8', [2.5]))],
        ['empty', (p) => p.ndarray('f4', '<', [0, 3], Buffer.alloc(0))],
      ],
      'MODEL:\n  TYPE: generalized_rcnn\n',
    );
    const { blobs, cfg, format } = readPklBytes(bytes, 'np.pkl');
    expect(format.layout).toBe('detectron');
    expect(cfg).toBe('MODEL:\n  TYPE: generalized_rcnn\n');
    const get = (n: string): NdArray => blobs.get(n) as NdArray;
    expect(get('f4')).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.of(1.5, -2, 3.25, 4, 5, 6) });
    expect(get('f8be')).toEqual({ dtype: 'float64', shape: [2], data: Float64Array.of(0.1, -7) });
    expect(get('i4')).toEqual({ dtype: 'int32', shape: [3], data: Int32Array.of(-1, 2, 2147483647) });
    expect(get('i8')).toEqual({ dtype: 'int64', shape: [2], data: BigInt64Array.of(-(2n ** 40n), 3n) });
    expect(get('u1')).toEqual({ dtype: 'uint8', shape: [2, 2], data: Uint8Array.of(0, 128, 255, 7) });
    expect(get('b1')).toEqual({ dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) });
    expect(get('fortran')).toEqual({ dtype: 'int32', shape: [2, 3], data: Int32Array.of(1, 2, 3, 4, 5, 6) });
    expect(get('fortran_be')).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
    expect(get('zero_d')).toEqual({ dtype: 'float64', shape: [], data: Float64Array.of(2.5) });
    expect(get('empty')).toEqual({ dtype: 'float32', shape: [0, 3], data: new Float32Array(0) });
    for (const a of blobs.values()) expect(a.data.byteOffset % (a.data.BYTES_PER_ELEMENT ?? 1)).toBe(0);
  });

  it('reads numpy scalars and protocol 5 _frombuffer arrays', () => {
    const bytes = blobsPickle([
      ['scalar_f4', (p) => p.global('numpy.core.multiarray', 'scalar').dtype('f4', '<').s(le('f4', [0.75])).raw(0x86, 'R')],
      ['scalar_i8', (p) => p.global('numpy._core.multiarray', 'scalar').dtype('i8', '<').s(le('i8', [-9])).raw(0x86, 'R')],
      [
        'frombuffer_F',
        (p) =>
          p
            .global('numpy._core.numeric', '_frombuffer')
            .raw('(', 0x96, Buffer.from([24, 0, 0, 0, 0, 0, 0, 0]), le('f4', [1, 4, 2, 5, 3, 6]))
            .dtype('f4', '<')
            .int(2)
            .int(3)
            .raw(0x86)
            .u('F')
            .raw('t', 'R'),
      ],
    ]);
    const { blobs } = readPklBytes(bytes, 'np.pkl');
    expect(blobs.get('scalar_f4')).toEqual({ dtype: 'float32', shape: [], data: Float32Array.of(0.75) });
    expect(blobs.get('scalar_i8')).toEqual({ dtype: 'int64', shape: [], data: BigInt64Array.of(-9n) });
    expect(blobs.get('frombuffer_F')).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
  });

  it("reads Python 3 protocol 2 arrays whose bytes are _codecs.encode(text, 'latin1')", () => {
    // 1.5f = 00 00 c0 3f: the 0xc0 byte becomes U+00C0, two bytes of UTF-8 in BINUNICODE.
    const text = Buffer.from(le('f4', [1.5, -2])).toString('latin1');
    const bytes = blobsPickle([
      [
        'w',
        (p) => {
          p.global('numpy._core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).raw(0x85);
          p.global('_codecs', 'encode').u('b').u('latin1').raw(0x86, 'R').raw(0x87, 'R');
          p.raw('(').int(1).int(2).raw(0x85).dtype('f4', '<').raw(0x89);
          p.global('_codecs', 'encode').u(text).u('latin1').raw(0x86, 'R').raw('t', 'b');
        },
      ],
    ]);
    expect(readPklBytes(bytes, 'p3.pkl').blobs.get('w')).toEqual({ dtype: 'float32', shape: [2], data: Float32Array.of(1.5, -2) });
  });

  it('refuses mismatched sizes, structured dtypes and bad byte orders', () => {
    const short = blobsPickle([['w', (p) => p.ndarray('f4', '<', [3], le('f4', [1, 2]))]]);
    expect(() => readPklBytes(short, 'n.pkl')).toThrow(/n\.pkl: byte \d+: BUILD: array data is 8 bytes but shape \(3\) of f4 needs 12/);
    const structured = blobsPickle([
      ['w', (p) => p.global('numpy', 'dtype').s('f4').raw(0x85, 'R', '(').int(3).s('<').raw('N', ')', 'N').int(-1).int(-1).int(0).raw('t', 'b')],
    ]);
    expect(() => readPklBytes(structured, 'n.pkl')).toThrow(/BUILD: numpy.dtype 'f4': structured or sub-array dtypes are not supported/);
    const badOrder = blobsPickle([['w', (p) => p.ndarray('f4', '!', [1], le('f4', [1]))]]);
    expect(() => readPklBytes(badOrder, 'n.pkl')).toThrow("BUILD: numpy.dtype state: byte order must be one of < > | =, got '!'");
    const f2 = blobsPickle([['w', (p) => p.ndarray('f2', '<', [1], Buffer.alloc(2))]]);
    expect(() => readPklBytes(f2, 'n.pkl')).toThrow("unsupported numpy dtype 'f2' (supported: f4, f8, i4, i8, u1, b1)");
  });

  it('copies a payload that two arrays share instead of aliasing it', () => {
    const bytes = blobsPickle([
      ['a', (p) => p.ndarray('f4', '<', [2], (q) => q.s(le('f4', [1, 2])).raw('q', 200))],
      ['b', (p) => p.ndarray('f4', '<', [2], (q) => q.raw('h', 200))], // the same bytes object, from the memo
    ]);
    const { blobs } = readPklBytes(bytes, 'shared.pkl');
    const a = blobs.get('a') as NdArray;
    const b = blobs.get('b') as NdArray;
    expect(a.data).toEqual(Float32Array.of(1, 2));
    expect(b.data).toEqual(Float32Array.of(1, 2));
    expect(a.data.buffer).not.toBe(b.data.buffer);
  });
});

// ---------------------------------------------------------------------------------------------
// Python 3 pickles, protocols 2-5, from the standard library.
// ---------------------------------------------------------------------------------------------

describe('Python 3 pickles (stdlib python3)', () => {
  const files: Record<number, string> = {};

  beforeAll(() => {
    const script = `
import pickle, sys, collections
big = bytes(range(256)) * 400
data = {
    'blobs': {'w': [[1.0, 2.0], [3.0, 4.5]], 'b': [1, 2, 3], 's': 2.5, 'n': 7, 'flag': True,
              'bools': [True, False], 'mixed': [1, 2.5], 'big': 2**62, 'neg': -(2**40), 'empty': []},
    'cfg': 'MODEL:\\n  TYPE: generalized_rcnn\\nNOTE: caf\\u00e9\\n',
}
raw = [b'', b'\\x00\\xff\\x80', bytearray(b'ab'), 1.5, -3, 2**70, -2**70, (1, (2, None)), {'k': None},
       '\\u00fc\\u00f1\\u00ed', True, False, collections.OrderedDict([('a', 1), ('b', 2)]), big, -1.0e-300]
for proto in (2, 3, 4, 5):
    with open('%s/p%d.pkl' % (sys.argv[1], proto), 'wb') as f: pickle.dump(data, f, protocol=proto)
    with open('%s/raw%d.pkl' % (sys.argv[1], proto), 'wb') as f: pickle.dump(raw, f, protocol=proto)
    with open('%s/bytescfg%d.pkl' % (sys.argv[1], proto), 'wb') as f:
        pickle.dump({'blobs': {'x': [0.5]}, 'cfg': 'A: caf\\u00e9\\n'.encode('utf-8')}, f, protocol=proto)
`;
    python(script, [tmp]);
    for (const proto of [2, 3, 4, 5]) files[proto] = path.join(tmp, `p${proto}.pkl`);
  });

  it.each([2, 3, 4, 5])('protocol %i: blobs of plain numbers and lists become arrays like np.asarray', (proto) => {
    const w = loadWeights(files[proto]);
    expect(w.format).toEqual({ kind: 'pickle', protocol: proto, layout: 'detectron', ignoredKeys: [] });
    expect(w.cfg).toBe('MODEL:\n  TYPE: generalized_rcnn\nNOTE: café\n');
    expect(w.blobs.get('w')).toEqual({ dtype: 'float64', shape: [2, 2], data: Float64Array.of(1, 2, 3, 4.5) });
    expect(w.blobs.get('b')).toEqual({ dtype: 'int64', shape: [3], data: BigInt64Array.of(1n, 2n, 3n) });
    expect(w.blobs.get('s')).toEqual({ dtype: 'float64', shape: [], data: Float64Array.of(2.5) });
    expect(w.blobs.get('n')).toEqual({ dtype: 'int64', shape: [], data: BigInt64Array.of(7n) });
    expect(w.blobs.get('flag')).toEqual({ dtype: 'bool', shape: [], data: Uint8Array.of(1) });
    expect(w.blobs.get('bools')).toEqual({ dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) });
    expect(w.blobs.get('mixed')).toEqual({ dtype: 'float64', shape: [2], data: Float64Array.of(1, 2.5) });
    expect(w.blobs.get('big')).toEqual({ dtype: 'int64', shape: [], data: BigInt64Array.of(2n ** 62n) });
    expect(w.blobs.get('neg')).toEqual({ dtype: 'int64', shape: [], data: BigInt64Array.of(-(2n ** 40n)) });
    expect(w.blobs.get('empty')).toEqual({ dtype: 'float64', shape: [0], data: new Float64Array(0) });
  });

  it.each([2, 3, 4, 5])('protocol %i: bytes, bytearray, floats, long ints, tuples, OrderedDict', (proto) => {
    const v = readValue(fs.readFileSync(path.join(tmp, `raw${proto}.pkl`))) as PyValue[];
    expect(v).toHaveLength(15);
    expect(v[0]).toEqual(new Uint8Array(0));
    expect(Array.from(v[1] as Uint8Array)).toEqual([0, 255, 128]);
    expect(Array.from(v[2] as Uint8Array)).toEqual([97, 98]);
    expect(v[3]).toEqual(new PyFloat(1.5));
    expect(v[4]).toBe(-3);
    expect(v[5]).toBe(2n ** 70n);
    expect(v[6]).toBe(-(2n ** 70n));
    expect(v[7]).toEqual(new PyTuple([1, new PyTuple([2, null])]));
    expect(v[8]).toEqual(new Map([['k', null]]));
    expect(v[9]).toBe('üñí');
    expect(v[10]).toBe(true);
    expect(v[11]).toBe(false);
    expect(v[12]).toEqual(new Map([['a', 1], ['b', 2]]));
    const big = v[13] as Uint8Array;
    expect(big.length).toBe(102400);
    expect(createHash('sha256').update(big).digest('hex')).toBe(
      createHash('sha256').update(Buffer.concat(Array.from({ length: 400 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i))))).digest('hex'),
    );
    expect(v[14]).toEqual(new PyFloat(-1e-300));
  });

  it.each([2, 3, 4, 5])('protocol %i: a cfg stored as UTF-8 bytes', (proto) => {
    const w = loadWeights(path.join(tmp, `bytescfg${proto}.pkl`));
    expect(w.cfg).toBe('A: café\n');
    expect(w.blobs.get('x')).toEqual({ dtype: 'float64', shape: [1], data: Float64Array.of(0.5) });
  });

  it('reads a Python 2 str cfg as latin1, like Detectron under Python 3', () => {
    const bytes = blobsPickle([['x', (p) => p.ndarray('f4', '<', [1], le('f4', [1]))]], 'A: caf\xe9\n');
    expect(readPklBytes(bytes, 'py2.pkl').cfg).toBe('A: café\n');
    expect(readValue(new P().proto().s('\xff\x00').raw('.').bytes())).toEqual(new Py2Str(Uint8Array.of(255, 0)));
  });
});

// ---------------------------------------------------------------------------------------------
// numpy-written pickles (skipped when numpy is not installed, e.g. in CI).
// ---------------------------------------------------------------------------------------------

describe('numpy-written pickles', () => {
  itNumpy('reads arrays numpy pickles with protocols 2-5, every dtype, byte order and layout', () => {
    const script = `
import pickle, sys, json, hashlib, numpy as np
rng = np.random.RandomState(0)
arrays = {
    'f4': rng.randn(3, 4).astype('<f4'), 'f8_be': rng.randn(5).astype('>f8'), 'i4': np.arange(-6, 6, dtype='<i4').reshape(3, 4),
    'i8': (np.arange(4, dtype='<i8') - 2) * 2**40, 'u1': np.arange(250, 256, dtype='u1'), 'b1': np.array([True, False, True]),
    'fortran': np.asfortranarray(rng.randn(3, 4, 2).astype('<f4')), 'zero_d': np.array(3.5, dtype='<f8'),
    'scalar': np.float32(-0.25), 'scalar_i': np.int64(-5),
}
expect = {}
for k, a in arrays.items():
    c = np.asarray(a)
    c = c.astype(c.dtype.newbyteorder('<'), order='C')
    expect[k] = [c.dtype.str[1:], list(c.shape), hashlib.sha256(c.tobytes()).hexdigest()]
for proto in (2, 3, 4, 5):
    with open('%s/np%d.pkl' % (sys.argv[1], proto), 'wb') as f:
        pickle.dump({'blobs': arrays, 'cfg': 'x: 1\\n'}, f, protocol=proto)
print(json.dumps(expect))
`;
    const expected = JSON.parse(python(script, [tmp])) as Record<string, [string, number[], string]>;
    const dtypeCode: Record<string, string> = { float32: 'f4', float64: 'f8', int32: 'i4', int64: 'i8', uint8: 'u1', bool: 'b1' };
    for (const proto of [2, 3, 4, 5]) {
      const w = loadWeights(path.join(tmp, `np${proto}.pkl`));
      expect(w.cfg).toBe('x: 1\n');
      expect([...w.blobs.keys()].sort()).toEqual(Object.keys(expected).sort());
      for (const [name, [code, shape, sha]] of Object.entries(expected)) {
        const a = w.blobs.get(name) as NdArray;
        expect([name, dtypeCode[a.dtype], a.shape]).toEqual([name, code, shape]);
        expect([name, createHash('sha256').update(bytesOf(a)).digest('hex')]).toEqual([name, sha]);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Writer.
// ---------------------------------------------------------------------------------------------

describe('writing Detectron pickles', () => {
  const arrays = (): Map<string, NdArray> =>
    new Map<string, NdArray>([
      ['conv1_w', { dtype: 'float32', shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => (i - 9) / 7) }],
      ['big_w', { dtype: 'float32', shape: [300, 100], data: Float32Array.from({ length: 30000 }, (_, i) => Math.sin(i)) }],
      ['f8', { dtype: 'float64', shape: [3], data: Float64Array.of(0.1, -1e300, Math.PI) }],
      ['i4', { dtype: 'int32', shape: [2, 2], data: Int32Array.of(-2147483648, 0, 1, 2147483647) }],
      ['i8', { dtype: 'int64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) }],
      ['u1', { dtype: 'uint8', shape: [4], data: Uint8Array.of(0, 127, 128, 255) }],
      ['b1', { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) }],
      ['scalar', { dtype: 'float32', shape: [], data: Float32Array.of(-0.5) }],
      ['empty', { dtype: 'float32', shape: [0], data: new Float32Array(0) }],
      ['caf\u00e9_\u4e2d', { dtype: 'float32', shape: [1], data: Float32Array.of(1) }],
    ]);
  const momentum = (): Map<string, NdArray> =>
    new Map([['conv1_w_momentum', { dtype: 'float32', shape: [2, 1, 3, 3], data: new Float32Array(18).fill(0.125) }]]);
  const cfg = 'MODEL:\n  TYPE: generalized_rcnn\n  NUM_CLASSES: 81\nNOTE: café\n';

  it('reads back exactly what it wrote (both layouts)', () => {
    const file = path.join(tmp, 'ours.pkl');
    writePkl(file, { blobs: arrays(), momentum: momentum(), cfg });
    const w = loadWeights(file);
    expect(w.format).toEqual({ kind: 'pickle', protocol: 2, layout: 'detectron', ignoredKeys: [] });
    expect(w.cfg).toBe(cfg);
    expect(w.blobs).toEqual(arrays());
    expect(w.momentum).toEqual(momentum());
    // protocol 2, the top-level dict, then u'blobs'
    expect(Array.from(fs.readFileSync(file).subarray(0, 6))).toEqual([0x80, 2, 0x7d, 0x71, 0, 0x28]);

    const flat = path.join(tmp, 'flat.pkl');
    writePkl(flat, { blobs: arrays() }, { layout: 'flat' });
    const f = loadWeights(flat);
    expect(f.format).toEqual({ kind: 'pickle', protocol: 2, layout: 'flat', ignoredKeys: [] });
    expect(f.blobs).toEqual(arrays());
    expect(f.cfg).toBeNull();
  });

  itNumpy("is read by Python 3 + numpy through pickle.load(f, encoding='latin1') (Detectron's load_object)", () => {
    const file = path.join(tmp, 'for_python.pkl');
    writePkl(file, { blobs: arrays(), momentum: momentum(), cfg });
    const script = `
import pickle, sys, json, hashlib, numpy as np
with open(sys.argv[1], 'rb') as f: obj = pickle.load(f, encoding='latin1')
out = {'keys': sorted(obj.keys()), 'cfg': obj['cfg'], 'blobs': {}}
for k, a in obj['blobs'].items():
    out['blobs'][k] = [a.dtype.str, list(a.shape), hashlib.sha256(a.tobytes()).hexdigest(), float(np.asarray(a, dtype=np.float64).sum())]
print(json.dumps(out))
`;
    const got = JSON.parse(python(script, [file])) as { keys: string[]; cfg: string; blobs: Record<string, [string, number[], string, number]> };
    expect(got.keys).toEqual(['blobs', 'cfg']);
    // A Python 2 str read with encoding='latin1': the name/cfg bytes we wrote as latin-1 come back as text.
    expect(got.cfg).toBe(cfg);
    const numpyCode: Record<string, string> = { float32: '<f4', float64: '<f8', int32: '<i4', int64: '<i8', uint8: '|u1', bool: '|b1' };
    const all = new Map([...arrays(), ...momentum()]);
    expect(Object.keys(got.blobs).sort()).toEqual([...all.keys()].sort());
    for (const [name, a] of all) {
      const [code, shape, sha] = got.blobs[name];
      expect([name, code, shape, sha]).toEqual([name, numpyCode[a.dtype], a.shape, createHash('sha256').update(bytesOf(a)).digest('hex')]);
    }
  });

  it('checks arrays and names before creating any file', () => {
    const file = path.join(tmp, 'bad.pkl');
    const bad = new Map<string, NdArray>([['w', { dtype: 'float32', shape: [3], data: new Float32Array(2) }]]);
    expect(() => writePkl(file, { blobs: bad })).toThrow(`cannot write ${file}: blob 'w' has 2 values but shape [3] needs 3`);
    const wrongType = new Map<string, NdArray>([['w', { dtype: 'int64', shape: [1], data: new Float64Array(1) }]]);
    expect(() => writePkl(file, { blobs: wrongType })).toThrow("blob 'w' has dtype int64 but its data is a Float64Array, not a BigInt64Array");
    const misnamed = new Map<string, NdArray>([['w_momentum', { dtype: 'float32', shape: [], data: new Float32Array(1) }]]);
    expect(() => writePkl(file, { blobs: misnamed })).toThrow("blob 'w_momentum' ends in _momentum; pass it in 'momentum'");
    expect(() => writePkl(file, { blobs: new Map(), momentum: new Map([['w', misnamed.get('w_momentum') as NdArray]]) })).toThrow(
      "momentum blob 'w' must end in _momentum",
    );
    expect(fs.existsSync(file)).toBe(false);
  });

  it('on ENOSPC removes its temporary file, keeps the old file and names the path', () => {
    const file = path.join(tmp, 'full.pkl');
    fs.writeFileSync(file, 'previous contents');
    let writes = 0;
    const io: AtomicIo = {
      ...nodeIo,
      // The first write (the buffered header) lands on disk; the large payload after it fails.
      writeSync: (fd, buffer, offset, length) => {
        if (++writes > 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return nodeIo.writeSync(fd, buffer, offset, length);
      },
    };
    const blobs = new Map([...arrays(), ['huge', { dtype: 'float32', shape: [600000], data: new Float32Array(600000) } as NdArray]]);
    expect(() => writePkl(file, { blobs }, { io })).toThrow(`cannot write ${file}: ENOSPC: no space left on device, write`);
    expect(writes).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe('previous contents');
    expect(fs.readdirSync(tmp).filter((f) => f.includes('full.pkl'))).toEqual(['full.pkl']);
  });

  it('names the path when the directory does not exist', () => {
    const file = path.join(tmp, 'missing-dir', 'w.pkl');
    expect(() => writePkl(file, { blobs: arrays() })).toThrow(new RegExp(`^cannot write ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`));
  });
});
