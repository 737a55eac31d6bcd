/** Configs and fixture roidbs for the roi_data tests. */
import * as path from 'path';
import { getDefaultConfig, type DetectronConfig } from '../../lib/core/config';
import { JsonDataset, type RoidbEntry } from '../../lib/datasets/json_dataset';
import type { NdArray } from '../../lib/utils/ndarray';
import type { Sparse } from './roi_data_expected';

export const COCO_FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/coco');

/** Detectron's defaults with 'SECTION.KEY' (or top-level 'KEY') overrides. */
export function makeCfg(overrides: Record<string, number | boolean | string | number[]> = {}): DetectronConfig {
  const cfg = getDefaultConfig();
  for (const [key, value] of Object.entries(overrides)) {
    const parts = key.split('.');
    const leaf = parts.pop()!;
    let node = cfg as unknown as Record<string, unknown>;
    for (const p of parts) node = node[p] as Record<string, unknown>;
    if (typeof node !== 'object' || node === null || !(leaf in node)) throw new Error(`makeCfg: unknown key ${key}`);
    node[leaf] = value;
  }
  return cfg;
}

/** The fixture roidb (gt only) of an annotation file under coco/annotations. */
export async function fixtureRoidb(annotationFile: string): Promise<RoidbEntry[]> {
  const ds = await JsonDataset.load({
    annotationFile: path.join(COCO_FIXTURES, 'annotations', annotationFile),
    imageDirectory: path.join(COCO_FIXTURES, 'images'),
  });
  return ds.getRoidb({ gt: true });
}

export function entryById(roidb: readonly RoidbEntry[], id: number): RoidbEntry {
  const e = roidb.find((r) => r.id === id);
  if (e === undefined) throw new Error(`no roidb entry for image ${id}`);
  return e;
}

/** [flat index, value] of the entries that differ from `skip` (the expected files' sparse form). */
export function toSparse(a: ArrayLike<number>, skip: number): Sparse {
  const out: Sparse = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== skip) out.push([i, a[i]]);
  return out;
}

export function dataOf(b: NdArray | undefined): number[] {
  if (b === undefined) throw new Error('missing blob');
  return Array.from(b.data as Float32Array | Int32Array);
}

/** Bitwise equality of blobs (jest's deep equality is far too slow on million-element arrays). */
export function sameBlob(a: NdArray | undefined, b: NdArray | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return x.equals(y);
}

/** The names of the blobs that differ between two blob sets (missing ones included). */
export function differingBlobs(a: Record<string, NdArray>, b: Record<string, NdArray>): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((k) => !sameBlob(a[k], b[k]));
}
