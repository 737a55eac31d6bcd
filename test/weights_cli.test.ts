/**
 * `detectron weights info|convert`: the functions behind them, and the commander wiring through
 * buildProgram().parseAsync with stdout/stderr captured.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NdArray } from '../lib/utils/ndarray';
import { buildProgram, main } from '../tools/detectron';
import { convertWeights, weightsInfo, formatInfo } from '../tools/weights';
import { loadWeights } from '../converters/weights';
import { writePkl } from '../converters/pkl/write_pkl';
import { NetDefType } from '../converters/caffe2/schema';
import { captureOutput } from './helpers/capture_output';

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weights-cli-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string): string => path.join(tmp, name);

const CFG = 'MODEL:\n  TYPE: generalized_rcnn\n';

function blobs(): Map<string, NdArray> {
  return new Map<string, NdArray>([
    ['conv1_w', { dtype: 'float32', shape: [2, 2], data: Float32Array.of(0.5, -0.25, 1.5, 2) }],
    ['conv1_b', { dtype: 'float32', shape: [2], data: Float32Array.of(0.1, 0.2) }],
    ['ids', { dtype: 'int64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) }],
    ['count', { dtype: 'int32', shape: [], data: Int32Array.of(7) }],
    ['mask', { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 1, 0) }],
    ['bad', { dtype: 'float64', shape: [2], data: Float64Array.of(1, NaN) }],
  ]);
}

function momentum(): Map<string, NdArray> {
  return new Map([['conv1_w_momentum', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }]]);
}

/** Runs `detectron ...args`, returning what it wrote to stdout and stderr. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return captureOutput(() => buildProgram().exitOverride().parseAsync(['node', 'detectron', ...args]));
}

describe('weights info', () => {
  beforeAll(() => writePkl(file('model.pkl'), { blobs: blobs(), momentum: momentum(), cfg: CFG }));

  it('reports format, shapes, dtypes, float64 sums, momentum count and cfg', () => {
    expect(weightsInfo(file('model.pkl'))).toEqual({
      format: { kind: 'pickle', protocol: 2, layout: 'detectron', ignoredKeys: [] },
      blobs: {
        conv1_w: { shape: [2, 2], dtype: 'float32', sum: 3.75 },
        // float32 0.1 and 0.2, summed in float64
        conv1_b: { shape: [2], dtype: 'float32', sum: Math.fround(0.1) + Math.fround(0.2) },
        // -2^63 and 2^63 - 1 (which is 2^63 as a float64) cancel
        ids: { shape: [2], dtype: 'int64', sum: 0 },
        count: { shape: [], dtype: 'int32', sum: 7 },
        mask: { shape: [3], dtype: 'bool', sum: 2 },
        bad: { shape: [2], dtype: 'float64', sum: 'NaN' },
      },
      momentum: 1,
      cfg: true,
    });
  });

  it('--json prints exactly one JSON object with format, blobs, momentum and cfg', async () => {
    const { stdout, stderr } = await run('weights', 'info', file('model.pkl'), '--json');
    expect(stderr).toBe('');
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['format', 'blobs', 'momentum', 'cfg']);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(weightsInfo(file('model.pkl')))));
  });

  it('prints a table without --json', async () => {
    const { stdout } = await run('weights', 'info', file('model.pkl'));
    const lines = stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      `file:     ${file('model.pkl')}`,
      "format:   pickle protocol 2, Detectron layout {'blobs', 'cfg'}",
      'blobs:    6',
      'momentum: 1',
      'cfg:      embedded',
    ]);
    expect(lines[5]).toMatch(/^ {2}name +dtype +shape +sum$/);
    expect(lines[6]).toMatch(/^ {2}conv1_w +float32 +\[2, 2\] +3\.75$/);
    expect(lines[11]).toMatch(/^ {2}bad +float64 +\[2\] +NaN$/);
    expect(stdout).toBe(formatInfo(file('model.pkl'), weightsInfo(file('model.pkl'))));
  });

  it('summarizes a Caffe2 predict net instead of listing blobs', async () => {
    fs.writeFileSync(
      file('model.pb'),
      NetDefType.encode({
        name: 'detectron',
        op: [
          { type: 'Conv', input: ['data', 'w', 'b'], output: ['c'] },
          { type: 'RoIAlign', input: ['c', 'rois'], output: ['r'], arg: [{ name: 'pooled_h', i: 14 }] },
        ],
        external_output: ['r'],
      }).finish(),
    );
    const { stdout } = await run('weights', 'info', file('model.pb'), '--json');
    const info = JSON.parse(stdout) as { format: unknown; blobs: object; net: { opCount: number; detectron: { roiAlign: unknown[] } } };
    expect(info.format).toEqual({ kind: 'caffe2', message: 'NetDef', name: 'detectron', role: 'predict' });
    expect(info.blobs).toEqual({});
    expect(info.net.opCount).toBe(2);
    expect(info.net.detectron.roiAlign).toEqual([{ index: 1, output: 'r', args: { pooled_h: 14 } }]);
    const text = await run('weights', 'info', file('model.pb'));
    expect(text.stdout).toContain("format:   Caffe2 NetDef 'detectron' (predict net)");
    expect(text.stdout).toContain('ops:      2 (Conv x1, RoIAlign x1)');
  });

  it('rejects a refused file with the message, and main() prints it and exits 1', async () => {
    const evil = file('evil.pkl');
    fs.writeFileSync(evil, Buffer.from('\x80\x02cos\nsystem\nU\x02lsR.', 'latin1'));
    const expected = `${evil}: byte 2: GLOBAL: refusing to load global 'os.system': only numpy arrays and plain data are allowed in weights files`;
    await expect(run('weights', 'info', evil)).rejects.toThrow(expected);

    let stderr = '';
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    const previous = process.exitCode;
    try {
      main(['node', 'detectron', 'weights', 'info', evil]);
      for (let i = 0; i < 100 && stderr === ''; i++) await new Promise((r) => setTimeout(r, 10));
      expect(stderr).toBe(`detectron: ${expected}\n`);
      expect(process.exitCode).toBe(1);
    } finally {
      err.mockRestore();
      process.exitCode = previous;
    }
  });

  it('rejects a missing file, a directory and an empty file with their paths', async () => {
    await expect(run('weights', 'info', file('nope.pkl'))).rejects.toThrow(/ENOENT.*nope\.pkl/);
    fs.mkdirSync(file('dir.pkl'));
    await expect(run('weights', 'info', file('dir.pkl'))).rejects.toThrow(`${file('dir.pkl')}: not a regular file`);
    fs.mkdirSync(file('weights_dir'));
    await expect(run('weights', 'info', file('weights_dir'))).rejects.toThrow(`${file('weights_dir')}: not a regular file`);
    fs.writeFileSync(file('empty.pb'), '');
    await expect(run('weights', 'info', file('empty.pb'))).rejects.toThrow(`${file('empty.pb')}: the file is empty`);
    fs.writeFileSync(file('empty.pkl'), '');
    await expect(run('weights', 'info', file('empty.pkl'))).rejects.toThrow(`${file('empty.pkl')}: byte 0: truncated: the pickle ends without a STOP opcode`);
  });
});

describe('weights convert', () => {
  beforeAll(() => writePkl(file('src.pkl'), { blobs: blobs(), momentum: momentum(), cfg: CFG }));

  it('converts .pkl -> .pb -> .pkl keeping every blob and momentum, noting the dropped cfg', async () => {
    const toPb = await run('weights', 'convert', file('src.pkl'), file('out.pb'));
    expect(toPb.stdout).toBe(`wrote ${file('out.pb')}: 6 blobs, 1 momentum\n`);
    expect(toPb.stderr).toBe(`detectron: note: the cfg embedded in ${file('src.pkl')} is not written: Caffe2 init nets cannot hold it\n`);
    // NaN survives: it is a float32 value, so the float64 blob is representable in Caffe2.
    const pb = loadWeights(file('out.pb'));
    expect(pb.blobs).toEqual(blobs());
    expect(pb.momentum).toEqual(momentum());

    const back = await run('weights', 'convert', file('out.pb'), file('back.pkl'));
    expect(back.stderr).toBe('');
    const pkl = loadWeights(file('back.pkl'));
    expect(pkl.blobs).toEqual(blobs());
    expect(pkl.momentum).toEqual(momentum());
    expect(pkl.cfg).toBeNull();

    expect(convertWeights(file('src.pkl'), file('copy.pkl'))).toEqual({ summary: `wrote ${file('copy.pkl')}: 6 blobs, 1 momentum`, warnings: [] });
    expect(loadWeights(file('copy.pkl')).cfg).toBe(CFG);
  });

  it('refuses an unknown output extension before reading anything', async () => {
    await expect(run('weights', 'convert', file('src.pkl'), file('out.h5'))).rejects.toThrow(
      `cannot write ${file('out.h5')}: the output must end in .pkl or .pb`,
    );
    expect(fs.existsSync(file('out.h5'))).toBe(false);
  });

  it('refuses to convert a predict net', async () => {
    fs.writeFileSync(file('predict.pb'), NetDefType.encode({ name: 'p', op: [{ type: 'Relu', input: ['x'], output: ['y'] }] }).finish());
    await expect(run('weights', 'convert', file('predict.pb'), file('p.pkl'))).rejects.toThrow(
      `${file('predict.pb')}: this is a Caffe2 predict net ('p', 1 ops: Relu x1); it holds no weights. Give its init net (model_init.pb / init_net.pb) instead.`,
    );
    expect(fs.existsSync(file('p.pkl'))).toBe(false);
  });
});
