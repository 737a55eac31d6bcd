/**
 * What a Caffe2 predict net (model.pb / predict_net.pb) contains, and whether it is the kind of
 * net Detectron's tools/convert_pkl_to_pb.py exports: AffineChannel folded into conv biases
 * (fuse_net_affine), Python proposal ops replaced by GenerateProposals with an `anchor{lvl}`
 * input blob filled by the init net, CollectAndDistributeFpnRpnProposals, RoIAlign heads, and
 * BBoxTransform + BoxWithNMSLimit appended for the final detections.
 */
import { describeUnsupported, FILL_OPS } from './fill_ops';
import type { Argument, NetDef, OperatorDef } from './messages';

/**
 * Op types that Detectron's inference nets use (modeling/*.py builders plus the exporter's
 * replacements). A net with anything else cannot be run here; `Python` ops in particular mean
 * the net was not converted.
 */
export const DETECTRON_INFERENCE_OPS: readonly string[] = [
  'Conv', 'ConvTranspose', 'Relu', 'MaxPool', 'AveragePool', 'Sum', 'Add', 'Mul', 'Scale', 'FC',
  'Softmax', 'Sigmoid', 'AffineChannel', 'SpatialBN', 'SpatialGN', 'GroupNorm', 'Reshape', 'Concat',
  'Flatten', 'BatchPermutation', 'RoIAlign', 'RoIPool', 'RoIPoolF', 'PSRoIPool', 'SpatialNarrowAs',
  'UpsampleNearest', 'ResizeNearest', 'GenerateProposals', 'CollectAndDistributeFpnRpnProposals',
  'BBoxTransform', 'BoxWithNMSLimit', 'GroupSpatialSoftmax', 'Copy', 'CopyGPUToCPU', 'CopyCPUToGPU',
  'EnsureCPUOutput', 'Alias', 'StopGradient', 'Dropout', 'LRN',
];

/** A JSON-friendly argument value; long lists are cut to their first values. */
export type ArgSummary = number | string | number[] | string[] | { length: number; head: number[] } | null;

export interface OpSummary {
  index: number;
  type: string;
  name: string;
  engine: string;
  inputs: string[];
  outputs: string[];
  args: Record<string, ArgSummary>;
}

export interface NetSummary {
  name: string;
  type: string;
  opCount: number;
  opTypes: Record<string, number>;
  externalInputs: string[];
  externalOutputs: string[];
  ops: OpSummary[];
  /** Op types outside DETECTRON_INFERENCE_OPS and the fill ops. */
  unsupportedOps: string[];
  detectron: {
    /** No AffineChannel left: batch-norm affines were folded into conv weights and biases. */
    affineChannelFused: boolean;
    convsWithBias: number;
    generateProposals: Array<{ index: number; anchors: string | null; args: Record<string, ArgSummary> }>;
    roiAlign: Array<{ index: number; output: string; args: Record<string, ArgSummary> }>;
    outputs: { boxes: boolean; classes: boolean; scores: boolean };
  };
}

const LIST_HEAD = 16;

export function summarizeNet(net: NetDef): NetSummary {
  const ops = net.op.map(opSummary);
  const opTypes: Record<string, number> = {};
  for (const op of net.op) opTypes[op.type] = (opTypes[op.type] ?? 0) + 1;
  const known = new Set<string>([...DETECTRON_INFERENCE_OPS, ...FILL_OPS]);
  return {
    name: net.name,
    type: net.type,
    opCount: net.op.length,
    opTypes,
    externalInputs: net.externalInput,
    externalOutputs: net.externalOutput,
    ops,
    unsupportedOps: Object.keys(opTypes).filter((t) => !known.has(t)),
    detectron: {
      affineChannelFused: !net.op.some((op) => op.type === 'AffineChannel'),
      convsWithBias: net.op.filter((op) => op.type === 'Conv' && op.input.length >= 3).length,
      // GenerateProposals inputs: scores, bbox deltas, im_info, anchors (added by the exporter).
      generateProposals: ops
        .filter((op) => op.type === 'GenerateProposals')
        .map((op) => ({ index: op.index, anchors: op.inputs[3] ?? null, args: op.args })),
      roiAlign: ops
        .filter((op) => op.type === 'RoIAlign')
        .map((op) => ({ index: op.index, output: op.outputs[0] ?? '', args: op.args })),
      outputs: {
        boxes: net.externalOutput.includes('bbox_nms'),
        classes: net.externalOutput.includes('class_nms'),
        scores: net.externalOutput.includes('score_nms'),
      },
    },
  };
}

/** Throws, listing every unsupported op type, unless all ops are in `supported`. */
export function assertSupportedOps(net: NetDef, file: string, supported: readonly string[] = DETECTRON_INFERENCE_OPS): void {
  const allowed = new Set(supported);
  const bad = net.op.filter((op) => !allowed.has(op.type));
  if (bad.length > 0) throw new Error(`${file}: ${describeUnsupported(bad, `net '${net.name}'`, supported)}`);
}

function opSummary(op: OperatorDef, index: number): OpSummary {
  const args: Record<string, ArgSummary> = {};
  for (const arg of op.arg) args[arg.name] = argValue(arg);
  return { index, type: op.type, name: op.name, engine: op.engine, inputs: op.input, outputs: op.output, args };
}

const utf8 = new TextDecoder('utf-8');

function numbers(values: ArrayLike<number | bigint>): number[] | { length: number; head: number[] } {
  const all = Array.from(values, (v) => Number(v));
  return all.length > LIST_HEAD ? { length: all.length, head: all.slice(0, LIST_HEAD) } : all;
}

function argValue(arg: Argument): ArgSummary {
  if (arg.f !== null) return arg.f;
  if (arg.i !== null) return Number.isSafeInteger(Number(arg.i)) ? Number(arg.i) : arg.i.toString();
  if (arg.s !== null) return utf8.decode(arg.s);
  if (arg.floats.length > 0) return numbers(arg.floats);
  if (arg.ints.length > 0) return numbers(arg.ints);
  if (arg.strings.length > 0) return arg.strings.slice(0, LIST_HEAD).map((s) => utf8.decode(s.subarray(0, 256)));
  if (arg.t !== null) return `<tensor ${arg.t.name}>`;
  if (arg.n !== null) return `<net ${arg.n.name}>`;
  if (arg.tensors.length > 0) return `<${arg.tensors.length} tensors>`;
  if (arg.nets.length > 0) return `<${arg.nets.length} nets>`;
  return null;
}
