/**
 * Every config in configs/ whose builders we have: the model builds, has parameters, and is
 * disposed. Configs are deduplicated by what decides the model (builder names, body, class
 * count, ...) to keep this fast. A GN config's Detectron blob names follow Detectron's ConvGN
 * (`<conv>_w` without bias, `<conv>_gn_s` / `<conv>_gn_b`), as the GN model-zoo .pkl files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import { buildModel } from '../lib/modeling/build';
import type { Cfg } from '../lib/modeling/config_types';
import { GeneralizedRCNN } from '../lib/modeling/model_builder';

const ROOT = path.resolve(__dirname, '../configs');

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return yamlFiles(p);
    return d.name.endsWith('.yaml') ? [p] : [];
  }).sort();
}

/** The builders a config picks and its body: one config of each is built. */
function builderKey(cfg: Cfg): string {
  const m = cfg.MODEL;
  const r = cfg.RESNETS;
  return JSON.stringify([
    m.TYPE, m.CONV_BODY, m.RPN_ONLY, m.FASTER_RCNN, m.MASK_ON, m.KEYPOINTS_ON, cfg.RETINANET.RETINANET_ON,
    r.TRANS_FUNC, r.STEM_FUNC, r.SHORTCUT_FUNC, r.NUM_GROUPS > 1, cfg.FPN.FPN_ON, cfg.FPN.USE_GN, cfg.FPN.MULTILEVEL_RPN,
    cfg.FAST_RCNN.ROI_BOX_HEAD, m.MASK_ON ? cfg.MRCNN.ROI_MASK_HEAD : null, m.KEYPOINTS_ON ? cfg.KRCNN.ROI_KEYPOINTS_HEAD : null,
  ]);
}

const all = yamlFiles(ROOT).map((file) => ({ file: path.relative(ROOT, file), cfg: loadConfig(file) }));
const seen = new Map<string, string>();
const unique = all.filter(({ file, cfg }) => {
  const key = builderKey(cfg);
  if (seen.has(key)) return false;
  seen.set(key, file);
  return true;
});

test('the configs dedupe to a few distinct models', () => {
  expect(all.length).toBeGreaterThan(80);
  expect(unique.length).toBeLessThan(all.length);
});

test.each(unique.map((u) => [u.file, u.cfg] as const))('%s builds', (_file, cfg) => {
  const model = buildModel(cfg);
  try {
    const params = model.namedParameters().reduce((n, [, p]) => n + p.tensor.shape.reduce((a, b) => a * b, 1), 0);
    expect(params).toBeGreaterThan(1e6);
    const names = [...model.detectronWeightMapping().keys()];
    expect(new Set(names).size).toBe(names.length);
    if (cfg.MODEL.RPN_ONLY) expect(names.some((n) => n.startsWith('cls_score'))).toBe(false);
  } finally {
    model.dispose();
  }
});

test('GN blob names follow Detectron (ConvGN: <prefix>_w, <prefix>_gn_s, <prefix>_gn_b)', () => {
  const cfg = loadConfig(path.join(ROOT, '04_2018_gn_baselines/e2e_mask_rcnn_R-50-FPN_2x_gn.yaml'));
  const model = new GeneralizedRCNN(cfg);
  try {
    const names = new Set(model.detectronWeightMapping().keys());
    const gn = (prefix: string) => [`${prefix}_w`, `${prefix}_gn_s`, `${prefix}_gn_b`];
    const expected = [
      ...gn('conv1'),
      ...gn('res2_0_branch1'), ...gn('res2_0_branch2a'), ...gn('res2_0_branch2b'), ...gn('res2_0_branch2c'),
      ...gn('res3_0_branch1'), ...gn('res5_2_branch2c'),
      ...gn('fpn_inner_res5_2_sum'), ...gn('fpn_inner_res4_5_sum_lateral'), ...gn('fpn_inner_res2_2_sum_lateral'),
      ...gn('fpn_res5_2_sum'), ...gn('fpn_res2_2_sum'),
      'conv_rpn_fpn2_w', 'conv_rpn_fpn2_b', 'rpn_cls_logits_fpn2_w', 'rpn_bbox_pred_fpn2_b',
      ...gn('head_conv1'), ...gn('head_conv4'), 'fc6_w', 'fc6_b', 'cls_score_w', 'bbox_pred_b',
      ...gn('_mask_fcn1'), ...gn('_mask_fcn4'), 'conv5_mask_w', 'conv5_mask_b', 'mask_fcn_logits_w',
    ];
    expect(expected.filter((n) => !names.has(n))).toEqual([]);
    // ConvGN convs have no bias; no AffineChannel anywhere; nothing named outside the scheme
    const unexpected = [...names].filter((n) => /_bn_[sb]$/.test(n) ||
      /^(conv1|res\d_\d+_branch(1|2[abc])|fpn_inner_res\d_\d+_sum(_lateral)?|fpn_res\d_\d+_sum|head_conv\d|_mask_fcn\d)_b$/.test(n));
    expect(unexpected).toEqual([]);
    const gnScales = [...names].filter((n) => n.endsWith('_gn_s'));
    // 1 stem + 16 blocks × 3 + 4 shortcuts, 1 top + 3 lateral + 4 output FPN convs, 4 box + 4 mask head convs
    expect(gnScales.length).toBe(1 + 16 * 3 + 4 + 1 + 3 + 4 + 4 + 4);
    for (const s of gnScales) expect(names.has(`${s.slice(0, -2)}_b`)).toBe(true);
  } finally {
    model.dispose();
  }
});
