/**
 * TensorBoard event files, checked by decoding our own output independently of the writer: the
 * TFRecord frames with a bitwise CRC32C (no table) and a hand-written protobuf wire decoder for
 * tensorflow.Event / Summary (field numbers from TensorFlow's event.proto and summary.proto).
 * Neither tensorboard nor tensorflow is installed for python3 here, so no reader from them runs.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EventWriter, crc32c, maskedCrc32c } from '../lib/utils/tensorboard';

/** CRC-32C bit by bit (reflected Castagnoli polynomial 0x82F63B78). */
function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function masked(data: Uint8Array): number {
  const c = crc32cBitwise(data);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** Splits a TFRecord stream, verifying both CRCs of every record. */
function records(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = Number(buf.readBigUInt64LE(off));
    expect(buf.readUInt32LE(off + 8)).toBe(masked(buf.subarray(off, off + 8)));
    const data = buf.subarray(off + 12, off + 12 + len);
    expect(buf.readUInt32LE(off + 12 + len)).toBe(masked(data));
    out.push(data);
    off += 16 + len;
  }
  expect(off).toBe(buf.length);
  return out;
}

type Field = { no: number; wire: number; varint?: bigint; bytes?: Buffer; fixed64?: Buffer; fixed32?: Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let off = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[off++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (off < buf.length) {
    const key = Number(varint());
    const f: Field = { no: key >> 3, wire: key & 7 };
    if (f.wire === 0) f.varint = varint();
    else if (f.wire === 1) (f.fixed64 = buf.subarray(off, off + 8)), (off += 8);
    else if (f.wire === 5) (f.fixed32 = buf.subarray(off, off + 4)), (off += 4);
    else if (f.wire === 2) {
      const n = Number(varint());
      f.bytes = buf.subarray(off, off + n);
      off += n;
    } else throw new Error(`wire type ${f.wire}`);
    out.push(f);
  }
  return out;
}

interface Decoded {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: Array<{ tag: string; simpleValue: number }>;
}

function decodeEvent(data: Buffer): Decoded {
  const e: Decoded = { wallTime: 0, step: 0 };
  for (const f of fields(data)) {
    if (f.no === 1 && f.wire === 1) e.wallTime = (f.fixed64 as Buffer).readDoubleLE(0);
    else if (f.no === 2 && f.wire === 0) e.step = Number(f.varint);
    else if (f.no === 3 && f.wire === 2) e.fileVersion = (f.bytes as Buffer).toString('utf8');
    else if (f.no === 5 && f.wire === 2) {
      e.values = fields(f.bytes as Buffer)
        .filter((v) => v.no === 1)
        .map((v) => {
          const val = { tag: '', simpleValue: NaN };
          for (const g of fields(v.bytes as Buffer)) {
            if (g.no === 1) val.tag = (g.bytes as Buffer).toString('utf8');
            if (g.no === 2 && g.wire === 5) val.simpleValue = (g.fixed32 as Buffer).readFloatLE(0);
          }
          return val;
        });
    } else throw new Error(`unexpected Event field ${f.no}/${f.wire}`);
  }
  return e;
}

describe('TensorBoard event files', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-test-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('CRC32C: the standard check value and the masked form', () => {
    const check = Buffer.from('123456789');
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc32cBitwise(check)).toBe(0xe3069283);
    const rnd = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) & 0xff));
    expect(crc32c(rnd)).toBe(crc32cBitwise(rnd));
    expect(maskedCrc32c(rnd)).toBe(masked(rnd));
  });

  test('file name, version record and scalar records decode', () => {
    let t = 1700000000.25;
    const w = new EventWriter(dir, { now: () => t, hostname: 'trainhost' });
    expect(path.basename(w.file)).toBe('events.out.tfevents.1700000000.trainhost');
    t = 1700000001.5;
    w.addScalar('loss', 0.75, 20);
    w.addScalar('lr', 0.02, 20);
    w.addScalar('loss_rpn_bbox_fpn2', 1e-3, 4294967296, 1700000009);
    w.close();
    const events = records(fs.readFileSync(w.file)).map(decodeEvent);
    expect(events).toEqual([
      { wallTime: 1700000000.25, step: 0, fileVersion: 'brain.Event:2' },
      { wallTime: 1700000001.5, step: 20, values: [{ tag: 'loss', simpleValue: 0.75 }] },
      { wallTime: 1700000001.5, step: 20, values: [{ tag: 'lr', simpleValue: Math.fround(0.02) }] },
      { wallTime: 1700000009, step: 4294967296, values: [{ tag: 'loss_rpn_bbox_fpn2', simpleValue: Math.fround(1e-3) }] },
    ]);
    // A second writer in the same second on the same host gets its own file.
    const w2 = new EventWriter(dir, { now: () => 1700000000.9, hostname: 'trainhost' });
    expect(w2.file).not.toBe(w.file);
    w2.close();
    expect(() => w.addScalar('x', 1, 1)).toThrow(/closed/);
  });

  const PY_TB = spawnSync('/usr/bin/python3', ['-c', 'import tensorboard'], { stdio: 'ignore' }).status === 0;
  (PY_TB ? test : test.skip)('tensorboard\'s own reader agrees (only where python3 has tensorboard)', () => {
    const w = new EventWriter(dir, { hostname: 'py', filenameSuffix: '.py' });
    w.addScalar('loss', 0.5, 3);
    w.close();
    const script = [
      'import sys',
      'from tensorboard.backend.event_processing.event_file_loader import EventFileLoader',
      'ev = [e for e in EventFileLoader(sys.argv[1]).Load()]',
      'print(ev[0].file_version, ev[1].step, ev[1].summary.value[0].tag)',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', script, w.file], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('brain.Event:2 3 loss');
  });
});
