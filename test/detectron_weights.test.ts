/** Loading Detectron blobs into models: strictness, reports, fine-tuning, fused exports. */
import { loadConfig } from '../lib/core/config';
import { loadDetectronWeights } from '../lib/modeling/detectron_weights';
import { GeneralizedRCNN } from '../lib/modeling/model_builder';
import { inferenceMode, randn, tidy } from '../lib/nn';
import type { NdArray } from '../lib/utils/ndarray';
import { loadWeights } from '../converters/weights';
import { detectronPkl, FIXTURES } from './helpers/fixtures';
import * as path from 'path';

const C4 = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_faster_rcnn_R-50-C4_1x.yaml');

describe('loadDetectronWeights', () => {
  const blobs = loadWeights(detectronPkl('e2e_faster_rcnn_R-50-C4', 1)).blobs;

  test('every blob of a matching file is loaded and the values arrive', () => {
    const model = new GeneralizedRCNN(loadConfig(C4));
    const report = loadDetectronWeights(model, blobs, { strict: true });
    expect(report.loaded).toHaveLength(blobs.size);
    expect(report.missing).toEqual([]);
    expect(report.unused).toEqual([]);
    const conv1 = model.detectronWeightMapping().get('conv1_w')!;
    expect(conv1.tensor.data().slice(0, 4)).toEqual((blobs.get('conv1_w')!.data as Float32Array).slice(0, 4));
    model.dispose();
  });

  test('missing and mismatched blobs are named; strict mode fails', () => {
    const model = new GeneralizedRCNN(loadConfig(C4));
    const partial = new Map(blobs);
    partial.delete('res2_0_branch2a_w');
    partial.set('extra_blob', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    const report = loadDetectronWeights(model, partial, { strict: false });
    expect(report.missing).toEqual(['res2_0_branch2a_w']);
    expect(report.unused).toEqual(['extra_blob']);
    expect(() => loadDetectronWeights(model, partial, { strict: true, source: 'x.pkl' })).toThrow(
      'x.pkl: no blob for 1 parameter(s): res2_0_branch2a_w',
    );
    const wrong = new Map(blobs);
    wrong.set('conv1_w', { dtype: 'float32', shape: [64, 3, 3, 3], data: new Float32Array(64 * 27) });
    expect(() => loadDetectronWeights(model, wrong, { source: 'y.pkl' })).toThrow(
      'y.pkl: blob shapes differ from the model\'s:\n  conv1_w: file [64, 3, 3, 3] vs model [64, 3, 7, 7]',
    );
    model.dispose();
  });

  test('fine-tuning on another class count skips the class-dependent heads only', () => {
    const model = new GeneralizedRCNN(loadConfig(C4, { overrides: ['MODEL.NUM_CLASSES', '5'] }));
    const report = loadDetectronWeights(model, blobs, { strict: true, allowHeadMismatch: true });
    expect(report.skippedHeads.map((s) => s.split(':')[0]).sort()).toEqual(['bbox_pred_b', 'bbox_pred_w', 'cls_score_b', 'cls_score_w']);
    expect(report.mismatched).toEqual([]);
    model.dispose();
  });

  test('a Caffe2 export with AffineChannel fused into the convs loads to the same function', () => {
    // Fuse res_conv1_bn into conv1 as Detectron's convert_pkl_to_pb does.
    const fused = new Map<string, NdArray>(blobs);
    const w = blobs.get('conv1_w')!.data as Float32Array;
    const s = blobs.get('res_conv1_bn_s')!.data as Float32Array;
    const per = w.length / s.length;
    fused.set('conv1_w', { dtype: 'float32', shape: [64, 3, 7, 7], data: w.map((v, i) => v * s[Math.floor(i / per)]) });
    fused.delete('res_conv1_bn_s');
    const a = new GeneralizedRCNN(loadConfig(C4));
    const b = new GeneralizedRCNN(loadConfig(C4));
    loadDetectronWeights(a, blobs, { strict: true });
    const report = loadDetectronWeights(b, fused, { strict: true });
    expect(report.fusedAffine).toEqual(['res_conv1_bn_s']);
    const diff = inferenceMode(() =>
      tidy(() => {
        const x = randn([1, 3, 32, 32]);
        const ya = (a.body as { stem: { forward(t: typeof x): typeof x } }).stem.forward(x);
        const yb = (b.body as { stem: { forward(t: typeof x): typeof x } }).stem.forward(x);
        return ya.sub(yb).abs().amax().item();
      }),
    );
    expect(diff).toBeLessThan(1e-4);
    a.dispose();
    b.dispose();
  });
});
