/**
 * Loading Detectron blobs into a model through its Detectron weight mapping, reporting
 * missing, unused and shape-mismatched blobs by name (Detectron's
 * initialize_gpu_from_weights_file and Detectron.pytorch's load_detectron_weight).
 */
import { noGrad } from '../nn/autograd';
import type { Module, Parameter } from '../nn/module';
import { tidy } from '../nn/scope';
import { fromArray } from '../nn/tensor';
import type { NdArray } from '../utils/ndarray';

/** Head blobs whose shape depends on the class count: skipped when fine-tuning on other classes. */
const CLASS_DEPENDENT = /^(cls_score|bbox_pred|mask_fcn_logits|kps_score(_lowres)?|retnet_cls_pred_fpn\d|retnet_bbox_pred_fpn\d)_[wb]$/;

export interface LoadReport {
  loaded: string[];
  /** Parameters the file has no blob for (they keep their initialisation). */
  missing: string[];
  /** Blobs of the file no parameter uses. */
  unused: string[];
  /** Blobs whose shape differs from the parameter's: `name: file [..] vs model [..]`. */
  mismatched: string[];
  /** Class-dependent head blobs skipped because their shape differs (fine-tuning). */
  skippedHeads: string[];
  /**
   * AffineChannel scales set to 1 because the file fused them into the preceding conv
   * (Detectron's convert_pkl_to_pb: `X_w` pre-scaled, `X_bn_s` removed, `X_bn_b` kept).
   */
  fusedAffine: string[];
}

export interface LoadOptions {
  /** Fail on any missing or mismatched blob (unused blobs are always allowed). */
  strict?: boolean;
  /** Skip class-dependent head blobs of another class count instead of failing. */
  allowHeadMismatch?: boolean;
  /** The file's name, for messages. */
  source?: string;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The blob for a parameter: its own name, or — for Detectron's `_[xyz]_foo` blobs that a
 * file lacks — `foo`, which Detectron's loader uses to initialise them.
 */
function findBlob(blobs: Map<string, NdArray>, name: string): [string, NdArray] | null {
  const own = blobs.get(name);
  if (own !== undefined) return [name, own];
  const m = /^_\[[a-z]+\]_(.*)$/.exec(name);
  if (m !== null) {
    const shared = blobs.get(m[1]);
    if (shared !== undefined) return [m[1], shared];
  }
  return null;
}

/** An AffineChannel scale `X_bn_s` absent where its bias `X_bn_b` is present: a fused export. */
function isFusedAffineScale(name: string, p: Parameter, blobs: Map<string, NdArray>): boolean {
  return p.kind === 'affine' && name.endsWith('_bn_s') && blobs.has(`${name.slice(0, -2)}_b`);
}

function copyInto(p: Parameter, blob: NdArray): void {
  noGrad(() =>
    tidy(() => {
      const src = fromArray(blob.data, blob.shape, { dtype: blob.dtype });
      p.tensor.copy_(src.dtype === p.tensor.dtype ? src : src.to(p.tensor.dtype));
    }),
  );
}

/** Copies `blobs` into `model`'s parameters and says what did not fit. */
export function loadDetectronWeights(model: Module, blobs: Map<string, NdArray>, o: LoadOptions = {}): LoadReport {
  const report: LoadReport = { loaded: [], missing: [], unused: [], mismatched: [], skippedHeads: [], fusedAffine: [] };
  const used = new Set<string>();
  for (const [name, p] of model.detectronWeightMapping()) {
    const found = findBlob(blobs, name);
    if (found === null) {
      if (isFusedAffineScale(name, p, blobs)) {
        noGrad(() => p.tensor.fill_(1));
        report.fusedAffine.push(name);
      } else {
        report.missing.push(name);
      }
      continue;
    }
    const [blobName, blob] = found;
    used.add(blobName);
    if (!sameShape(blob.shape, p.tensor.shape)) {
      const what = `${name}: file [${blob.shape.join(', ')}] vs model [${p.tensor.shape.join(', ')}]`;
      if (o.allowHeadMismatch && CLASS_DEPENDENT.test(name)) report.skippedHeads.push(what);
      else report.mismatched.push(what);
      continue;
    }
    copyInto(p, blob);
    report.loaded.push(name);
  }
  for (const name of blobs.keys()) if (!used.has(name)) report.unused.push(name);
  const source = o.source ?? 'weights';
  if (report.mismatched.length > 0 && (o.strict ?? true)) {
    throw new Error(`${source}: blob shapes differ from the model's:\n  ${report.mismatched.join('\n  ')}`);
  }
  if (report.missing.length > 0 && o.strict) {
    throw new Error(`${source}: no blob for ${report.missing.length} parameter(s): ${report.missing.join(', ')}`);
  }
  return report;
}
