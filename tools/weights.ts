/**
 * `detectron weights info FILE [--json]` and `detectron weights convert IN OUT`.
 *
 * info: the format, every blob's shape, dtype and float64 sum of its values (a cheap fingerprint
 * to compare with `np.float64(x.astype(np.float64).sum())`-style checks in Python), the number of
 * momentum blobs and whether a cfg is embedded. A Caffe2 predict net gets an op summary instead.
 * convert: between .pkl and .pb, chosen by the extensions.
 */
import type { Command } from 'commander';
import { summarizeNet, type NetSummary } from '../converters/caffe2/net_summary';
import { inspectWeightsFile, loadWeights, saveWeights, type WeightsFormat } from '../converters/weights';
import type { DType, NdArray } from '../lib/utils/ndarray';

export interface BlobInfo {
  shape: number[];
  dtype: DType;
  /** Sum of the values accumulated in float64; 'NaN' / 'Infinity' / '-Infinity' when not finite. */
  sum: number | string;
}

export type FormatInfo = WeightsFormat | { kind: 'caffe2'; message: 'NetDef'; name: string; role: 'predict' };

export interface WeightsInfo {
  format: FormatInfo;
  blobs: Record<string, BlobInfo>;
  momentum: number;
  cfg: boolean;
  /** Only for Caffe2 predict nets. */
  net?: NetSummary;
}

export function register(program: Command): void {
  const weights = program.command('weights').description('inspect and convert Detectron weights (.pkl, Caffe2 .pb)');
  weights
    .command('info')
    .description('list the blobs of a weights file: shape, dtype and sum of values')
    .argument('<file>', 'a .pkl or .pb weights file')
    .option('--json', 'print one JSON object instead of a table')
    .action((file: string, options: { json?: boolean }) => {
      const info = weightsInfo(file);
      process.stdout.write(options.json === true ? `${JSON.stringify(info)}\n` : formatInfo(file, info));
    });
  weights
    .command('convert')
    .description('convert between Detectron .pkl and Caffe2 .pb (by extension)')
    .argument('<in>', 'source weights file')
    .argument('<out>', 'destination (.pkl or .pb)')
    .action((input: string, output: string) => {
      const notes = convertWeights(input, output);
      for (const note of notes.warnings) process.stderr.write(`detectron: note: ${note}\n`);
      process.stdout.write(`${notes.summary}\n`);
    });
}

export function weightsInfo(file: string): WeightsInfo {
  const inspected = inspectWeightsFile(file);
  if (inspected.kind === 'predict-net') {
    const { net } = inspected;
    return {
      format: { kind: 'caffe2', message: 'NetDef', name: net.name, role: 'predict' },
      blobs: {},
      momentum: 0,
      cfg: false,
      net: summarizeNet(net),
    };
  }
  const w = inspected.weights;
  return {
    format: w.format,
    blobs: Object.fromEntries([...w.blobs].map(([name, array]) => [name, blobInfo(array)])),
    momentum: w.momentum.size,
    cfg: w.cfg !== null,
  };
}

export function blobInfo(array: NdArray): BlobInfo {
  return { shape: [...array.shape], dtype: array.dtype, sum: jsonNumber(float64Sum(array)) };
}

/** Sequential float64 accumulation, the same as Python's `sum(float(v) for v in x.flat)`. */
export function float64Sum(array: NdArray): number {
  let sum = 0;
  const data = array.data;
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < data.length; i++) sum += Number(data[i]);
  } else {
    for (let i = 0; i < data.length; i++) sum += data[i];
  }
  return sum;
}

function jsonNumber(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

function describeFormat(format: FormatInfo): string {
  if (format.kind === 'pickle') {
    const layout = format.layout === 'detectron' ? "Detectron layout {'blobs', 'cfg'}" : 'flat {name: array} layout';
    const ignored = format.ignoredKeys.length > 0 ? ` (ignored keys: ${format.ignoredKeys.join(', ')})` : '';
    return `pickle protocol ${format.protocol}, ${layout}${ignored}`;
  }
  if (format.message === 'TensorProtos') return 'Caffe2 TensorProtos';
  const role = 'role' in format ? 'predict net' : 'init net';
  return `Caffe2 NetDef '${format.name}' (${role})`;
}

export function formatInfo(file: string, info: WeightsInfo): string {
  const lines = [`file:     ${file}`, `format:   ${describeFormat(info.format)}`];
  if (info.net !== undefined) return [...lines, ...formatNet(info.net), ''].join('\n');
  const rows = Object.entries(info.blobs).map(([name, b]) => [name, b.dtype, `[${b.shape.join(', ')}]`, String(b.sum)]);
  lines.push(`blobs:    ${rows.length}`, `momentum: ${info.momentum}`, `cfg:      ${info.cfg ? 'embedded' : 'none'}`);
  return [...lines, ...table(['name', 'dtype', 'shape', 'sum'], rows), ''].join('\n');
}

function formatNet(net: NetSummary): string[] {
  const d = net.detectron;
  const lines = [
    `ops:      ${net.opCount} (${Object.entries(net.opTypes).map(([t, n]) => `${t} x${n}`).join(', ')})`,
    `inputs:   ${net.externalInputs.length} external (${net.externalInputs.slice(0, 8).join(', ')}${net.externalInputs.length > 8 ? ', ...' : ''})`,
    `outputs:  ${net.externalOutputs.join(', ')}`,
    `affine:   ${d.affineChannelFused ? 'fused into conv weights' : 'AffineChannel ops present'} (${d.convsWithBias} convs with bias)`,
  ];
  for (const p of d.generateProposals) lines.push(`proposals: op #${p.index} anchors=${p.anchors ?? '?'} ${JSON.stringify(p.args)}`);
  for (const r of d.roiAlign) lines.push(`roialign: op #${r.index} -> ${r.output} ${JSON.stringify(r.args)}`);
  if (net.unsupportedOps.length > 0) lines.push(`unsupported: ${net.unsupportedOps.join(', ')}`);
  return lines;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string => `  ${cells.map((cell, c) => cell.padEnd(widths[c])).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

export interface ConvertResult {
  summary: string;
  warnings: string[];
}

/** Reads `input`, writes `output` in the format its extension names. */
export function convertWeights(input: string, output: string): ConvertResult {
  const outKind = outputKind(output);
  const w = loadWeights(input);
  const warnings: string[] = [];
  if (outKind === 'pb' && w.cfg !== null) warnings.push(`the cfg embedded in ${input} is not written: Caffe2 init nets cannot hold it`);
  saveWeights(output, { blobs: w.blobs, momentum: w.momentum, cfg: outKind === 'pb' ? null : w.cfg });
  return { summary: `wrote ${output}: ${w.blobs.size} blobs, ${w.momentum.size} momentum`, warnings };
}

function outputKind(output: string): 'pkl' | 'pb' {
  const lower = output.toLowerCase();
  if (lower.endsWith('.pkl') || lower.endsWith('.pickle')) return 'pkl';
  if (lower.endsWith('.pb')) return 'pb';
  throw new Error(`cannot write ${output}: the output must end in .pkl or .pb`);
}
