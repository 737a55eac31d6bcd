/**
 * TensorBoard event files with scalar summaries, written without TensorFlow (the role
 * tensorboardX's SummaryWriter plays in Detectron.pytorch's --use_tfboard).
 *
 * An event file is a TFRecord stream: each record is
 *   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 * with masked_crc = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (CRC32C, the Castagnoli polynomial).
 * Each record's data is a tensorflow.Event protobuf; the first carries file_version
 * "brain.Event:2" (TensorBoard reads files without it, but marks them as old-format), the rest a
 * Summary with {tag, simple_value} values. The name is events.out.tfevents.<10-digit seconds>.<host>.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as protobuf from 'protobufjs';

/** The fields of tensorflow/core/util/event.proto and framework/summary.proto used here, with TF's numbers. */
const EVENT_PROTO = `
syntax = "proto3";
package tensorflow;

message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    oneof value {
      float simple_value = 2;
    }
  }
  repeated Value value = 1;
}

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Summary summary = 5;
  }
}
`;

let eventType: protobuf.Type | null = null;

/** The tensorflow.Event message type (parsed once). */
export function eventMessageType(): protobuf.Type {
  if (eventType === null) eventType = protobuf.parse(EVENT_PROTO, { keepCase: true }).root.lookupType('tensorflow.Event');
  return eventType;
}

// ---- CRC32C --------------------------------------------------------------------------------------

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), as TensorFlow's crc32c::Value. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15, add a constant (so CRCs of CRCs stay unrelated). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord frame around `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- events ----------------------------------------------------------------------------------------

export interface ScalarEvent {
  tag: string;
  value: number;
  step: number;
  /** Seconds since the epoch; now when absent. */
  wallTime?: number;
}

/** The bytes of an Event carrying one scalar summary. */
export function encodeScalarEvent(e: ScalarEvent): Uint8Array {
  const Event = eventMessageType();
  return Event.encode(
    Event.fromObject({
      wall_time: e.wallTime ?? Date.now() / 1000,
      step: e.step,
      summary: { value: [{ tag: e.tag, simple_value: e.value }] },
    }),
  ).finish();
}

export interface EventWriterOptions {
  /** Appended to the file name (tensorboardX's filename_suffix). */
  filenameSuffix?: string;
  /** Seconds since the epoch (tests pass a fixed clock). */
  now?: () => number;
  hostname?: string;
}

/** Writes one events.out.tfevents.* file in `logdir`; each call is written through at once. */
export class EventWriter {
  readonly file: string;
  private fd: number | null;
  private readonly now: () => number;

  constructor(
    readonly logdir: string,
    o: EventWriterOptions = {},
  ) {
    this.now = o.now ?? (() => Date.now() / 1000);
    fs.mkdirSync(logdir, { recursive: true });
    const start = this.now();
    const base = `events.out.tfevents.${String(Math.floor(start)).padStart(10, '0')}.${o.hostname ?? os.hostname()}`;
    const suffix = o.filenameSuffix ?? '';
    // Two writers in one second on one host would share the name; the second gets the pid and a counter.
    let file = path.join(logdir, base + suffix);
    let fd: number | null = null;
    for (let attempt = 0; fd === null; attempt++) {
      try {
        fd = fs.openSync(file, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100) throw err;
        file = path.join(logdir, `${base}.${process.pid}.${attempt}${suffix}`);
      }
    }
    this.fd = fd;
    this.file = file;
    const Event = eventMessageType();
    this.writeRecord(Event.encode(Event.fromObject({ wall_time: start, step: 0, file_version: 'brain.Event:2' })).finish());
  }

  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.writeRecord(encodeScalarEvent({ tag, value, step, wallTime: wallTime ?? this.now() }));
  }

  /** Makes what was written durable (the data is already in the file for readers). */
  flush(): void {
    if (this.fd !== null) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
  }

  private writeRecord(data: Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.file}: the event writer is closed`);
    const rec = tfRecord(data);
    let off = 0;
    while (off < rec.length) off += fs.writeSync(this.fd, rec, off, rec.length - off);
  }
}
