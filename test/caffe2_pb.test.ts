/**
 * Caffe2 protobuf weights: init nets (GivenTensor*Fill), serialized TensorProtos, and summaries
 * of Detectron-exported predict nets. protobufjs's own reflection encoder/decoder serve as the
 * reference for the wire format our fast paths produce and parse.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NdArray } from '../lib/utils/ndarray';
import { loadWeights, saveWeights } from '../converters/weights';
import { decodeNetDef } from '../converters/caffe2/decode';
import { readCaffe2File, readCaffe2Weights } from '../converters/caffe2/read_pb';
import { assertSupportedOps, summarizeNet } from '../converters/caffe2/net_summary';
import { writeInitNet } from '../converters/caffe2/write_pb';
import { DataType, NetDefType, TensorProtosType } from '../converters/caffe2/schema';

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-test-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const file = (name: string): string => path.join(tmp, name);

function blobs(): Map<string, NdArray> {
  return new Map<string, NdArray>([
    ['conv1_w', { dtype: 'float32', shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => (i - 9) / 7) }],
    ['fc_w', { dtype: 'float32', shape: [250, 400], data: Float32Array.from({ length: 100000 }, (_, i) => Math.sin(i) * 1e-3) }],
    ['anchor2', { dtype: 'float32', shape: [3, 4], data: Float32Array.of(-22, -10, 25, 13, -14, -14, 17, 17, -10, -22, 13, 25) }],
    ['f8', { dtype: 'float64', shape: [3], data: Float64Array.of(0.5, 2 ** -20, 3) }],
    ['i4', { dtype: 'int32', shape: [2, 2], data: Int32Array.of(-2147483648, -1, 0, 2147483647) }],
    ['i8', { dtype: 'int64', shape: [3], data: BigInt64Array.of(-(2n ** 63n), -1n, 2n ** 63n - 1n) }],
    ['flags', { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) }],
    ['bytes', { dtype: 'uint8', shape: [2, 3], data: Uint8Array.of(0, 1, 127, 128, 200, 255) }],
    ['scalar', { dtype: 'float32', shape: [], data: Float32Array.of(-0.25) }],
    ['data', { dtype: 'float32', shape: [0], data: new Float32Array(0) }],
  ]);
}

describe('init nets', () => {
  it('round-trips every dtype exactly, in order, as GivenTensor*Fill ops', () => {
    const out = file('init.pb');
    writeInitNet(out, blobs());
    const w = readCaffe2Weights(out);
    expect(w.format).toEqual({ kind: 'caffe2', message: 'NetDef', name: 'detectron_init' });
    expect([...w.blobs.keys()]).toEqual([...blobs().keys()]);
    expect(w.blobs).toEqual(blobs());

    const parsed = readCaffe2File(out);
    if (parsed.message !== 'NetDef') throw new Error('expected a NetDef');
    expect(parsed.net.op.map((op) => op.type)).toEqual([
      'GivenTensorFill', 'GivenTensorFill', 'GivenTensorFill', 'GivenTensorDoubleFill', 'GivenTensorIntFill',
      'GivenTensorInt64Fill', 'GivenTensorBoolFill', 'GivenTensorByteStringToUInt8Fill', 'GivenTensorFill', 'GivenTensorFill',
    ]);
    expect(parsed.net.op[0].arg.map((a) => a.name)).toEqual(['shape', 'values']);
    expect(parsed.net.op[0].output).toEqual(['conv1_w']);
  });

  it('writes the bytes protobufjs reflection encoding writes, and protobufjs decodes ours', () => {
    const OP_TYPE: Record<string, string> = {
      float32: 'GivenTensorFill', float64: 'GivenTensorDoubleFill', int32: 'GivenTensorIntFill',
      int64: 'GivenTensorInt64Fill', bool: 'GivenTensorBoolFill', uint8: 'GivenTensorByteStringToUInt8Fill',
    };
    const reference = (name: string, a: NdArray): object => ({
      output: [name],
      type: OP_TYPE[a.dtype],
      arg: [
        { name: 'shape', ints: a.shape },
        a.dtype === 'uint8'
          ? { name: 'values', strings: [a.data] }
          : a.dtype === 'float32' || a.dtype === 'float64'
            ? { name: 'values', floats: Array.from(a.data as Float32Array) }
            : { name: 'values', ints: Array.from(a.data as Int32Array) },
      ],
    });
    // protobufjs takes int64 as JS numbers, so the int64 extremes are left to the decode check below.
    const small = new Map([...blobs()].filter(([name]) => name !== 'i8'));
    writeInitNet(file('ref.pb'), small);
    const expected = NetDefType.encode({ name: 'detectron_init', op: [...small].map(([n, a]) => reference(n, a)) }).finish();
    expect(Buffer.compare(fs.readFileSync(file('ref.pb')), Buffer.from(expected))).toBe(0);

    writeInitNet(file('all.pb'), blobs());
    const decoded = NetDefType.toObject(NetDefType.decode(fs.readFileSync(file('all.pb'))), { longs: String }) as {
      op: Array<{ output: string[]; arg: Array<{ ints?: string[]; floats?: number[] }> }>;
    };
    const op = (name: string) => decoded.op.find((o) => o.output[0] === name);
    expect(op('i8')?.arg[1].ints).toEqual(['-9223372036854775808', '-1', '9223372036854775807']);
    expect(Float32Array.from(op('fc_w')?.arg[1].floats ?? [])).toEqual(blobs().get('fc_w')?.data);
  });

  it('decodes packed repeated values too, and fast runs of unpacked floats like protobufjs', () => {
    const values = Float32Array.from({ length: 5000 }, (_, i) => i / 3 - 100);
    const unpacked = NetDefType.encode({
      op: [{ type: 'GivenTensorFill', output: ['w'], arg: [{ name: 'shape', ints: [5000] }, { name: 'values', floats: Array.from(values) }] }],
    }).finish();
    expect(decodeNetDef(unpacked, 'u.pb').op[0].arg[1].floats).toEqual(values);
    // packed: Argument field 5, wire type 2 (what a proto3-style or packed encoder would write)
    const packedArg = Buffer.concat([Buffer.from([0x0a, 6]), Buffer.from('values'), Buffer.from([0x2a]), varint(20000), Buffer.from(values.buffer)]);
    const shapeArg = Buffer.concat([Buffer.from([0x0a, 5]), Buffer.from('shape'), Buffer.from([0x32, 2, 0x88, 0x27])]); // packed ints [5000]
    const op = Buffer.concat([Buffer.from([0x12, 1]), Buffer.from('w'), Buffer.from([0x22, 15]), Buffer.from('GivenTensorFill'), Buffer.from([0x2a, shapeArg.length]), shapeArg, Buffer.from([0x2a]), varint(packedArg.length), packedArg]);
    const net = Buffer.concat([Buffer.from([0x12]), varint(op.length), op]);
    fs.writeFileSync(file('packed.pb'), net);
    expect(loadWeights(file('packed.pb')).blobs.get('w')).toEqual({ dtype: 'float32', shape: [5000], data: values });
  });

  it('keeps momentum blobs apart and round-trips them through saveWeights/loadWeights', () => {
    const out = file('mom.pb');
    const momentum = new Map<string, NdArray>([['conv1_w_momentum', { dtype: 'float32', shape: [2], data: Float32Array.of(0.5, 0.25) }]]);
    saveWeights(out, { blobs: blobs(), momentum });
    const w = loadWeights(out);
    expect(w.blobs).toEqual(blobs());
    expect(w.momentum).toEqual(momentum);
    expect(w.cfg).toBeNull();
    expect(() => saveWeights(file('cfg.pb'), { blobs: blobs(), cfg: 'A: 1\n' })).toThrow(/a Caffe2 init net cannot hold the cfg/);
  });

  it('refuses float64 values that Caffe2 would store at float precision', () => {
    const out = file('f64.pb');
    const b = new Map<string, NdArray>([['x', { dtype: 'float64', shape: [2], data: Float64Array.of(1, 0.1) }]]);
    expect(() => writeInitNet(out, b)).toThrow(
      `cannot write ${out}: float64 blob 'x' value 0.1 (index 1) is not exactly a float32, and Caffe2's GivenTensorDoubleFill stores its values as float32`,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it("reads Detectron's uint8 convention (GivenTensorStringFill, shape [1]) and a dtype argument", () => {
    const net = NetDefType.encode({
      name: 'detectron_init',
      op: [
        { type: 'GivenTensorStringFill', output: ['u8'], arg: [{ name: 'shape', ints: [1] }, { name: 'values', strings: [Uint8Array.of(9, 8, 7)] }] },
        { type: 'GivenTensorFill', output: ['d'], arg: [{ name: 'shape', ints: [2] }, { name: 'values', floats: [1.5, 2] }, { name: 'dtype', i: DataType.DOUBLE }] },
        { type: 'GivenTensorFill', output: ['i'], arg: [{ name: 'shape', ints: [2] }, { name: 'values', ints: [7, -7] }, { name: 'dtype', i: DataType.INT64 }] },
      ],
    }).finish();
    fs.writeFileSync(file('conv.pb'), net);
    const w = loadWeights(file('conv.pb'));
    expect(w.blobs.get('u8')).toEqual({ dtype: 'uint8', shape: [3], data: Uint8Array.of(9, 8, 7) });
    expect(w.blobs.get('d')).toEqual({ dtype: 'float64', shape: [2], data: Float64Array.of(1.5, 2) });
    expect(w.blobs.get('i')).toEqual({ dtype: 'int64', shape: [2], data: BigInt64Array.of(7n, -7n) });
  });

  it('names every unsupported op type and every malformed fill op', () => {
    const write = (name: string, ops: object[]): string => {
      fs.writeFileSync(file(name), NetDefType.encode({ name: 'n', op: ops }).finish());
      return file(name);
    };
    const fill = { type: 'GivenTensorFill', output: ['ok'], arg: [{ name: 'shape', ints: [1] }, { name: 'values', floats: [1] }] };
    const mixed = write('mixed.pb', [fill, { type: 'ConstantFill', output: ['a'] }, { type: 'XavierFill', output: ['b'] }, { type: 'ConstantFill', output: ['c'] }]);
    expect(() => loadWeights(mixed)).toThrow(`${mixed}: unsupported ops in init net: ConstantFill x2, XavierFill x1 (supported: GivenTensorFill,`);
    const count = write('count.pb', [{ ...fill, arg: [{ name: 'shape', ints: [2, 2] }, { name: 'values', floats: [1, 2, 3] }] }]);
    expect(() => loadWeights(count)).toThrow(`${count}: op #0 (GivenTensorFill -> ok): 3 values for shape [2, 2] (4 elements)`);
    const noShape = write('noshape.pb', [{ ...fill, arg: [{ name: 'values', floats: [1] }] }]);
    expect(() => loadWeights(noShape)).toThrow(`${noShape}: op #0 (GivenTensorFill -> ok): missing the 'shape' argument`);
    const overflow = write('overflow.pb', [{ type: 'GivenTensorIntFill', output: ['i'], arg: [{ name: 'shape', ints: [1] }, { name: 'values', ints: [2 ** 31] }] }]);
    expect(() => loadWeights(overflow)).toThrow(`${overflow}: op #0 (GivenTensorIntFill -> i): value 2147483648 does not fit in int32`);
    const twice = write('twice.pb', [fill, fill]);
    expect(() => loadWeights(twice)).toThrow(`${twice}: op #1 (GivenTensorFill -> ok): blob 'ok' is filled twice`);
  });

  it('refuses truncated and garbage files with the file name and byte offset', () => {
    writeInitNet(file('whole.pb'), blobs());
    const whole = fs.readFileSync(file('whole.pb'));
    for (const cut of [1, 7, 40, Math.floor(whole.length / 2), whole.length - 1]) {
      fs.writeFileSync(file('cut.pb'), whole.subarray(0, cut));
      expect(() => loadWeights(file('cut.pb'))).toThrow(new RegExp(`^${escape(file('cut.pb'))}: not a valid Caffe2 protobuf \\(byte \\d+\\)`));
    }
    fs.writeFileSync(file('garbage.pb'), Buffer.from('this is not a protobuf at all'));
    expect(() => loadWeights(file('garbage.pb'))).toThrow(/garbage\.pb: not a valid Caffe2 protobuf/);
  });
});

describe('TensorProtos', () => {
  it('reads each data field and raw_data', () => {
    const raw = Buffer.alloc(8);
    raw.writeFloatLE(1.25, 0);
    raw.writeFloatLE(-3, 4);
    const bytes = TensorProtosType.encode({
      protos: [
        { name: 'f', dims: [2, 2], data_type: DataType.FLOAT, float_data: [1, 2, 3, 4] },
        { name: 'd', dims: [1], data_type: DataType.DOUBLE, double_data: [0.1] },
        { name: 'i', dims: [2], data_type: DataType.INT32, int32_data: [-5, 5] },
        { name: 'l', dims: [1], data_type: DataType.INT64, int64_data: [-(2 ** 40)] },
        { name: 'b', dims: [2], data_type: DataType.BOOL, int32_data: [1, 0] },
        { name: 'u', dims: [2], data_type: DataType.UINT8, int32_data: [0, 255] },
        { name: 'y', dims: [3], data_type: DataType.BYTE, byte_data: Uint8Array.of(1, 2, 3) },
        { name: 'r', dims: [2], data_type: DataType.FLOAT, raw_data: raw },
        { name: 'default_float', dims: [1], float_data: [7] },
      ],
    }).finish();
    fs.writeFileSync(file('tensors.pb'), bytes);
    const w = loadWeights(file('tensors.pb'));
    expect(w.format).toEqual({ kind: 'caffe2', message: 'TensorProtos', name: '' });
    expect(Object.fromEntries(w.blobs)).toEqual({
      f: { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
      d: { dtype: 'float64', shape: [1], data: Float64Array.of(0.1) },
      i: { dtype: 'int32', shape: [2], data: Int32Array.of(-5, 5) },
      l: { dtype: 'int64', shape: [1], data: BigInt64Array.of(-(2n ** 40n)) },
      b: { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) },
      u: { dtype: 'uint8', shape: [2], data: Uint8Array.of(0, 255) },
      y: { dtype: 'uint8', shape: [3], data: Uint8Array.of(1, 2, 3) },
      r: { dtype: 'float32', shape: [2], data: Float32Array.of(1.25, -3) },
      default_float: { dtype: 'float32', shape: [1], data: Float32Array.of(7) },
    });
  });

  it('refuses unsupported types, chunks and size mismatches', () => {
    const write = (name: string, proto: object): string => {
      fs.writeFileSync(file(name), TensorProtosType.encode({ protos: [proto] }).finish());
      return file(name);
    };
    const half = write('half.pb', { name: 'h', dims: [1], data_type: DataType.FLOAT16, int32_data: [1] });
    expect(() => loadWeights(half)).toThrow(`${half}: tensor #0 ('h'): data type FLOAT16 is not supported`);
    const seg = write('seg.pb', { name: 's', dims: [1], float_data: [1], segment: { begin: 0, end: 1 } });
    expect(() => loadWeights(seg)).toThrow(`${seg}: tensor #0 ('s'): chunked tensors (segment) are not supported`);
    const short = write('short.pb', { name: 'x', dims: [3], float_data: [1, 2] });
    expect(() => loadWeights(short)).toThrow(`${short}: tensor #0 ('x'): 2 values for dims [3] (3 elements)`);
  });
});

describe('Detectron predict nets', () => {
  const arg = (name: string, v: number | string, kind: 'f' | 'i' | 's' = typeof v === 'string' ? 's' : Number.isInteger(v) ? 'i' : 'f'): object =>
    kind === 's' ? { name, s: Buffer.from(String(v)) } : { name, [kind]: v };

  /** The shape of what convert_pkl_to_pb.py writes for an FPN Mask R-CNN (abridged). */
  function predictNet(extra: object[] = []): Uint8Array {
    return NetDefType.encode({
      name: 'detectron',
      type: 'simple',
      num_workers: 1,
      op: [
        { type: 'Conv', input: ['data', 'conv1_w', 'conv1_b'], output: ['conv1'], engine: 'NNPACK', arg: [arg('kernel', 7), arg('stride', 2), arg('pad', 3)] },
        { type: 'Relu', input: ['conv1'], output: ['conv1'] },
        { type: 'MaxPool', input: ['conv1'], output: ['pool1'], arg: [arg('kernel', 3), arg('stride', 2), arg('pad', 1)] },
        { type: 'Conv', input: ['pool1', 'rpn_w', 'rpn_b'], output: ['rpn_bbox_pred_fpn2'] },
        { type: 'Sigmoid', input: ['rpn_cls_logits_fpn2'], output: ['rpn_cls_probs_fpn2'] },
        {
          type: 'GenerateProposals',
          input: ['rpn_cls_probs_fpn2', 'rpn_bbox_pred_fpn2', 'im_info', 'anchor2'],
          output: ['rpn_rois_fpn2', 'rpn_roi_probs_fpn2'],
          arg: [arg('spatial_scale', 0.25, 'f'), arg('pre_nms_topN', 1000), arg('post_nms_topN', 1000), arg('nms_thresh', 0.7, 'f'), arg('min_size', 0, 'f'), arg('correct_transform_coords', 1)],
        },
        { type: 'CollectAndDistributeFpnRpnProposals', input: ['rpn_rois_fpn2', 'rpn_roi_probs_fpn2'], output: ['rpn_rois', 'rois_fpn2', 'rois_idx_restore_int32'], arg: [arg('roi_canonical_scale', 224), arg('roi_canonical_level', 4)] },
        { type: 'RoIAlign', input: ['fpn_res2_2_sum', 'rois_fpn2'], output: ['roi_feat_fpn2'], arg: [arg('spatial_scale', 0.25, 'f'), arg('pooled_h', 7), arg('pooled_w', 7), arg('sampling_ratio', 2)] },
        { type: 'FC', input: ['roi_feat', 'fc6_w', 'fc6_b'], output: ['fc6'] },
        { type: 'Softmax', input: ['cls_score'], output: ['cls_prob'] },
        { type: 'BBoxTransform', input: ['rpn_rois', 'bbox_pred', 'im_info'], output: ['pred_bbox'], arg: [{ name: 'weights', floats: [10, 10, 5, 5] }, arg('apply_scale', 0), arg('correct_transform_coords', 1)] },
        { type: 'BoxWithNMSLimit', input: ['cls_prob', 'pred_bbox'], output: ['score_nms', 'bbox_nms', 'class_nms'], arg: [arg('score_thresh', 0.05, 'f'), arg('nms', 0.5, 'f'), arg('detections_per_im', 100)] },
        ...extra,
      ],
      external_input: ['data', 'im_info', 'conv1_w', 'conv1_b', 'anchor2'],
      external_output: ['score_nms', 'bbox_nms', 'class_nms'],
    }).finish();
  }

  it('summarizes ops, arguments and the Detectron export specifics', () => {
    fs.writeFileSync(file('model.pb'), predictNet());
    const parsed = readCaffe2File(file('model.pb'));
    if (parsed.message !== 'NetDef') throw new Error('expected a NetDef');
    const s = summarizeNet(parsed.net);
    expect(s.name).toBe('detectron');
    expect(s.type).toBe('simple');
    expect(s.opCount).toBe(12);
    expect(s.opTypes).toEqual({
      Conv: 2, Relu: 1, MaxPool: 1, Sigmoid: 1, GenerateProposals: 1, CollectAndDistributeFpnRpnProposals: 1,
      RoIAlign: 1, FC: 1, Softmax: 1, BBoxTransform: 1, BoxWithNMSLimit: 1,
    });
    expect(s.externalInputs).toEqual(['data', 'im_info', 'conv1_w', 'conv1_b', 'anchor2']);
    expect(s.externalOutputs).toEqual(['score_nms', 'bbox_nms', 'class_nms']);
    expect(s.unsupportedOps).toEqual([]);
    expect(s.ops[0]).toEqual({ index: 0, type: 'Conv', name: '', engine: 'NNPACK', inputs: ['data', 'conv1_w', 'conv1_b'], outputs: ['conv1'], args: { kernel: 7, stride: 2, pad: 3 } });
    expect(s.detectron.affineChannelFused).toBe(true);
    expect(s.detectron.convsWithBias).toBe(2);
    expect(s.detectron.generateProposals).toEqual([
      { index: 5, anchors: 'anchor2', args: { spatial_scale: 0.25, pre_nms_topN: 1000, post_nms_topN: 1000, nms_thresh: Math.fround(0.7), min_size: 0, correct_transform_coords: 1 } },
    ]);
    expect(s.detectron.roiAlign).toEqual([{ index: 7, output: 'roi_feat_fpn2', args: { spatial_scale: 0.25, pooled_h: 7, pooled_w: 7, sampling_ratio: 2 } }]);
    expect(s.ops[10].args.weights).toEqual([10, 10, 5, 5]);
    expect(s.detectron.outputs).toEqual({ boxes: true, classes: true, scores: true });
    expect(() => assertSupportedOps(parsed.net, 'model.pb')).not.toThrow();
  });

  it('flags unfused AffineChannel and lists unsupported ops', () => {
    fs.writeFileSync(file('raw.pb'), predictNet([
      { type: 'AffineChannel', input: ['x', 's', 'b'], output: ['x'] },
      { type: 'Python', name: 'GenerateProposalsOp:rpn', input: ['a'], output: ['b'] },
      { type: 'Python', input: ['c'], output: ['d'] },
      { type: 'DeformConv', input: ['e'], output: ['f'] },
    ]));
    const parsed = readCaffe2File(file('raw.pb'));
    if (parsed.message !== 'NetDef') throw new Error('expected a NetDef');
    const s = summarizeNet(parsed.net);
    expect(s.detectron.affineChannelFused).toBe(false);
    expect(s.unsupportedOps).toEqual(['Python', 'DeformConv']);
    expect(() => assertSupportedOps(parsed.net, 'raw.pb')).toThrow("raw.pb: unsupported ops in net 'detectron': Python x2, DeformConv x1 (supported: Conv,");
  });

  it('refuses to load a predict net as weights, saying what it is', () => {
    fs.writeFileSync(file('model2.pb'), predictNet());
    expect(() => loadWeights(file('model2.pb'))).toThrow(
      `${file('model2.pb')}: this is a Caffe2 predict net ('detectron', 12 ops: Conv x2, Relu x1, MaxPool x1,`,
    );
  });
});

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
