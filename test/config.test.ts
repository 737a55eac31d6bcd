/**
 * Detectron's config system: defaults, YAML and KEY VALUE merging with Detectron's type rules,
 * literal_eval, deprecated/renamed/unknown keys, assert_and_infer_cfg, freezing, dumps, and the
 * cfg embedded in Detectron weights files.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  ALL_KEYS,
  DetectronConfig,
  FrozenDetectronConfig,
  assertAndInferCfg,
  cloneConfig,
  configureBboxRegWeights,
  dumpCfgYaml,
  getDefaultConfig,
  isConfigFrozen,
  loadConfig,
  mergeCfgFromCfg,
  mergeCfgFromFile,
  mergeCfgFromList,
  mergeCfgFromString,
  parseSavedCfg,
} from '../lib/core/config';
import { literalEval } from '../lib/core/config_literal_eval';
import { PySet, pyFloatRepr, pyRepr, pyTypeName } from '../lib/core/config_pyvalue';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const DETECTRON_CONFIGS = path.join(FIXTURES, 'configs/detectron');

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(p));
    else if (entry.name.endsWith('.yaml')) out.push(p);
  }
  return out.sort();
}

function merged(text: string, warnings: string[] = []): DetectronConfig {
  return mergeCfgFromString(getDefaultConfig(), text, 'test.yaml', { warn: (m) => warnings.push(m) });
}

/** sha256 of the config as canonical JSON (sorted keys, Python float repr, ROOT_DIR blanked). */
function canonicalHash(cfg: FrozenDetectronConfig): string {
  const canon = (v: unknown): string => {
    if (typeof v === 'number') return Number.isInteger(v) ? `${v}` : pyFloatRepr(v);
    if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
    if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    return JSON.stringify(v);
  };
  const copy = cloneConfig(cfg);
  copy.ROOT_DIR = '';
  return createHash('sha256').update(canon(copy)).digest('hex').slice(0, 16);
}

/**
 * Hashes of Detectron's own result (detectron/core/config.py under Python 3: merge_cfg_from_file
 * then assert_and_infer_cfg(cache_urls=False)) for each original config, with builder names in
 * our form and ROOT_DIR blanked, canonicalised as canonicalHash does.
 */
const DETECTRON_GOLDEN: Record<string, string> = {
  '04_2018_gn_baselines/e2e_mask_rcnn_R-101-FPN_2x_gn.yaml': 'd16f291dc711362d',
  '04_2018_gn_baselines/e2e_mask_rcnn_R-101-FPN_3x_gn.yaml': '1679996e09a74b8f',
  '04_2018_gn_baselines/e2e_mask_rcnn_R-50-FPN_2x_gn.yaml': '243503e201e448cc',
  '04_2018_gn_baselines/e2e_mask_rcnn_R-50-FPN_3x_gn.yaml': '886209b0b78de14e',
  '04_2018_gn_baselines/mask_rcnn_R-50-FPN_1x_gn.yaml': '25ee3400397fee59',
  '04_2018_gn_baselines/scratch_e2e_mask_rcnn_R-101-FPN_3x_gn.yaml': 'ef375d49e9a23fa7',
  '04_2018_gn_baselines/scratch_e2e_mask_rcnn_R-50-FPN_3x_gn.yaml': '9f5aeacbe2c411ac',
  '12_2017_baselines/e2e_faster_rcnn_R-101-FPN_1x.yaml': 'c0e50d5ca657bac5',
  '12_2017_baselines/e2e_faster_rcnn_R-101-FPN_2x.yaml': '18b4684b75effc8a',
  '12_2017_baselines/e2e_faster_rcnn_R-50-C4_1x.yaml': 'f426db41b3d7569d',
  '12_2017_baselines/e2e_faster_rcnn_R-50-C4_2x.yaml': 'ef48c4c2d5c5f352',
  '12_2017_baselines/e2e_faster_rcnn_R-50-FPN_1x.yaml': '00d24bde92de5947',
  '12_2017_baselines/e2e_faster_rcnn_R-50-FPN_2x.yaml': '956031774ad7f6f5',
  '12_2017_baselines/e2e_faster_rcnn_X-101-32x8d-FPN_1x.yaml': '7805b0278daf4193',
  '12_2017_baselines/e2e_faster_rcnn_X-101-32x8d-FPN_2x.yaml': 'd462629c26edb550',
  '12_2017_baselines/e2e_faster_rcnn_X-101-64x4d-FPN_1x.yaml': 'fdebc3705aab5faa',
  '12_2017_baselines/e2e_faster_rcnn_X-101-64x4d-FPN_2x.yaml': 'dfd70b2c0b27d6f0',
  '12_2017_baselines/e2e_keypoint_rcnn_R-101-FPN_1x.yaml': 'abd64ff14d12cb2f',
  '12_2017_baselines/e2e_keypoint_rcnn_R-101-FPN_s1x.yaml': 'ca592a85c408047d',
  '12_2017_baselines/e2e_keypoint_rcnn_R-50-FPN_1x.yaml': '6f3f5882f0681d62',
  '12_2017_baselines/e2e_keypoint_rcnn_R-50-FPN_s1x.yaml': 'dceafbcc9692de7e',
  '12_2017_baselines/e2e_keypoint_rcnn_X-101-32x8d-FPN_1x.yaml': '88dba90e62c7c7b7',
  '12_2017_baselines/e2e_keypoint_rcnn_X-101-32x8d-FPN_s1x.yaml': '17cf8c832f5125fe',
  '12_2017_baselines/e2e_keypoint_rcnn_X-101-64x4d-FPN_1x.yaml': '18e4f37c6f57e54f',
  '12_2017_baselines/e2e_keypoint_rcnn_X-101-64x4d-FPN_s1x.yaml': 'b5eb6a0cf177a932',
  '12_2017_baselines/e2e_mask_rcnn_R-101-FPN_1x.yaml': '555334d696d45d67',
  '12_2017_baselines/e2e_mask_rcnn_R-101-FPN_2x.yaml': '10adf36cf7b7c4b9',
  '12_2017_baselines/e2e_mask_rcnn_R-50-C4_1x.yaml': 'ca13e48bc1617045',
  '12_2017_baselines/e2e_mask_rcnn_R-50-C4_2x.yaml': 'dc3e9fa5c230c0d8',
  '12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml': 'c1f32447c4e0438f',
  '12_2017_baselines/e2e_mask_rcnn_R-50-FPN_2x.yaml': 'cf490773b4553eeb',
  '12_2017_baselines/e2e_mask_rcnn_X-101-32x8d-FPN_1x.yaml': '4a33cf5f7a7af853',
  '12_2017_baselines/e2e_mask_rcnn_X-101-32x8d-FPN_2x.yaml': '0cc1c575516510f9',
  '12_2017_baselines/e2e_mask_rcnn_X-101-64x4d-FPN_1x.yaml': 'e7d87efd4a90e976',
  '12_2017_baselines/e2e_mask_rcnn_X-101-64x4d-FPN_2x.yaml': '758be4e1db35b400',
  '12_2017_baselines/e2e_mask_rcnn_X-152-32x8d-FPN-IN5k_1.44x.yaml': '13f3e2cd23e02028',
  '12_2017_baselines/fast_rcnn_R-101-FPN_1x.yaml': '256b627cbb634ebd',
  '12_2017_baselines/fast_rcnn_R-101-FPN_2x.yaml': '42695634c41154e8',
  '12_2017_baselines/fast_rcnn_R-50-C4_1x.yaml': 'f7c17d667448c839',
  '12_2017_baselines/fast_rcnn_R-50-C4_2x.yaml': '70778b274a418992',
  '12_2017_baselines/fast_rcnn_R-50-FPN_1x.yaml': 'aeb57ee592c00eb5',
  '12_2017_baselines/fast_rcnn_R-50-FPN_2x.yaml': '5e3395b14bfb048a',
  '12_2017_baselines/fast_rcnn_X-101-32x8d-FPN_1x.yaml': '7f5e30e62599b37b',
  '12_2017_baselines/fast_rcnn_X-101-32x8d-FPN_2x.yaml': '8f1b71060e7b3a20',
  '12_2017_baselines/fast_rcnn_X-101-64x4d-FPN_1x.yaml': '0bf0163082320a57',
  '12_2017_baselines/fast_rcnn_X-101-64x4d-FPN_2x.yaml': 'f3925b64a1909cff',
  '12_2017_baselines/keypoint_rcnn_R-101-FPN_1x.yaml': '61290e045b5e9229',
  '12_2017_baselines/keypoint_rcnn_R-101-FPN_s1x.yaml': '517d9464f35cd43b',
  '12_2017_baselines/keypoint_rcnn_R-50-FPN_1x.yaml': 'b4b5578f3d4a0817',
  '12_2017_baselines/keypoint_rcnn_R-50-FPN_s1x.yaml': 'be021976d4af37bb',
  '12_2017_baselines/keypoint_rcnn_X-101-32x8d-FPN_1x.yaml': 'd7dc8c6020c7cc18',
  '12_2017_baselines/keypoint_rcnn_X-101-32x8d-FPN_s1x.yaml': '75b8895b4c1564ed',
  '12_2017_baselines/keypoint_rcnn_X-101-64x4d-FPN_1x.yaml': '3cd4b0c8ec6bb8b1',
  '12_2017_baselines/keypoint_rcnn_X-101-64x4d-FPN_s1x.yaml': 'a9836436bc955be2',
  '12_2017_baselines/mask_rcnn_R-101-FPN_1x.yaml': '784c994c192847bb',
  '12_2017_baselines/mask_rcnn_R-101-FPN_2x.yaml': '4a546f0fefd1517f',
  '12_2017_baselines/mask_rcnn_R-50-C4_1x.yaml': '6a9accaa8e42b5a4',
  '12_2017_baselines/mask_rcnn_R-50-C4_2x.yaml': 'f421beaec400ab70',
  '12_2017_baselines/mask_rcnn_R-50-FPN_1x.yaml': '93c82787630e122f',
  '12_2017_baselines/mask_rcnn_R-50-FPN_2x.yaml': 'a280b86f5a7f8812',
  '12_2017_baselines/mask_rcnn_X-101-32x8d-FPN_1x.yaml': 'bdc55f26c9995441',
  '12_2017_baselines/mask_rcnn_X-101-32x8d-FPN_2x.yaml': 'a1069696c369844f',
  '12_2017_baselines/mask_rcnn_X-101-64x4d-FPN_1x.yaml': 'f5cbc6640eda1a26',
  '12_2017_baselines/mask_rcnn_X-101-64x4d-FPN_2x.yaml': 'afcab245852ba5d3',
  '12_2017_baselines/retinanet_R-101-FPN_1x.yaml': '2b6b3757ec4a5b67',
  '12_2017_baselines/retinanet_R-101-FPN_2x.yaml': '832a1959a05c605a',
  '12_2017_baselines/retinanet_R-50-FPN_1x.yaml': 'b7630db5662252e2',
  '12_2017_baselines/retinanet_R-50-FPN_2x.yaml': 'd6421a0df62b76a3',
  '12_2017_baselines/retinanet_X-101-32x8d-FPN_1x.yaml': 'd1a7d64ddbaeeee3',
  '12_2017_baselines/retinanet_X-101-32x8d-FPN_2x.yaml': '9b3b5fe043ede2f7',
  '12_2017_baselines/retinanet_X-101-64x4d-FPN_1x.yaml': '79364fed6e65df60',
  '12_2017_baselines/retinanet_X-101-64x4d-FPN_2x.yaml': '8fed35030d7c7ae9',
  '12_2017_baselines/rpn_R-101-FPN_1x.yaml': 'b7ac265ef5253dbb',
  '12_2017_baselines/rpn_R-50-C4_1x.yaml': '2e7e0cc327c0ef57',
  '12_2017_baselines/rpn_R-50-FPN_1x.yaml': 'e6b68eba14913096',
  '12_2017_baselines/rpn_X-101-32x8d-FPN_1x.yaml': 'a3e6c5c460348b4f',
  '12_2017_baselines/rpn_X-101-64x4d-FPN_1x.yaml': '95b85aa519f29a8d',
  '12_2017_baselines/rpn_person_only_R-101-FPN_1x.yaml': '774226cc425ab017',
  '12_2017_baselines/rpn_person_only_R-50-FPN_1x.yaml': 'f169a31bdf42e1a6',
  '12_2017_baselines/rpn_person_only_X-101-32x8d-FPN_1x.yaml': '07c931b316ccd356',
  '12_2017_baselines/rpn_person_only_X-101-64x4d-FPN_1x.yaml': 'f6b1f2719dc4d78b',
  'getting_started/tutorial_1gpu_e2e_faster_rcnn_R-50-FPN.yaml': 'a0aaff99dd56731e',
  'getting_started/tutorial_2gpu_e2e_faster_rcnn_R-50-FPN.yaml': '81fcac8edcf24b63',
  'getting_started/tutorial_4gpu_e2e_faster_rcnn_R-50-FPN.yaml': 'e57e318344a2179c',
  'getting_started/tutorial_8gpu_e2e_faster_rcnn_R-50-FPN.yaml': 'b65b8ea646a91309',
  'test_time_aug/e2e_mask_rcnn_R-50-FPN_2x.yaml': '239223bd85947b4f',
  'test_time_aug/keypoint_rcnn_R-50-FPN_1x.yaml': '3f6639a10031bd09',
};

describe('defaults', () => {
  test('hold every Detectron key with its default', () => {
    const cfg = getDefaultConfig();
    // 229 values in 20 sections, as in Detectron's config.py.
    expect(ALL_KEYS.length).toBe(249);
    expect(ALL_KEYS).toEqual(
      expect.arrayContaining(['TEST.BBOX_AUG', 'TEST.BBOX_AUG.AREA_TH_LO', 'CLUSTER.ON_CLUSTER']),
    );
    expect(cfg.TRAIN.SCALES).toEqual([600]);
    expect(cfg.TEST.BBOX_AUG.AREA_TH_HI).toBe(32400);
    expect(cfg.MODEL.BBOX_REG_WEIGHTS).toEqual([10, 10, 5, 5]);
    expect(cfg.SOLVER.WARM_UP_FACTOR).toBe(1 / 3);
    expect(cfg.DEDUP_BOXES).toBe(0.0625);
    expect(cfg.BBOX_XFORM_CLIP).toBe(4.135166556742356);
    expect(cfg.PIXEL_MEANS).toEqual([[[102.9801, 115.9465, 122.7717]]]);
    expect(cfg.GROUP_NORM.EPSILON).toBe(1e-5);
    expect(cfg.ROOT_DIR).toBe(process.cwd());
    expect(cfg.DOWNLOAD_CACHE).toBe('/tmp/detectron-download-cache');
  });

  test('are a fresh object each time', () => {
    const a = getDefaultConfig();
    a.TRAIN.SCALES.push(800);
    a.MODEL.NUM_CLASSES = 81;
    const b = getDefaultConfig();
    expect(b.TRAIN.SCALES).toEqual([600]);
    expect(b.MODEL.NUM_CLASSES).toBe(-1);
  });
});

describe("Detectron's 87 original configs", () => {
  const files = yamlFiles(DETECTRON_CONFIGS);

  test('are all there', () => {
    expect(files.length).toBe(87);
  });

  test.each(files.map((f) => [path.relative(DETECTRON_CONFIGS, f), f]))('%s loads as in Detectron', (rel, file) => {
    const cfg = assertAndInferCfg(mergeCfgFromFile(getDefaultConfig(), file, { warn: () => undefined }));
    if (DETECTRON_GOLDEN[rel] !== undefined) expect(canonicalHash(cfg)).toBe(DETECTRON_GOLDEN[rel]);
    expect(cfg.MODEL.CONV_BODY).not.toMatch(/\.add_/);
    // The dump loads back to the same config.
    const again = assertAndInferCfg(mergeCfgFromString(getDefaultConfig(), dumpCfgYaml(cfg), 'dump'));
    expect(canonicalHash(again)).toBe(canonicalHash(cfg));
  });

  test('e2e_mask_rcnn_R-50-FPN_1x has the values of its YAML', () => {
    const warnings: string[] = [];
    const file = path.join(DETECTRON_CONFIGS, '12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');
    const cfg = loadConfig(file, { warn: (m) => warnings.push(m) });
    expect(cfg.MODEL.CONV_BODY).toBe('FPN.fpn_ResNet50_conv5_body');
    expect(cfg.FAST_RCNN.ROI_BOX_HEAD).toBe('fast_rcnn_heads.roi_2mlp_head');
    expect(cfg.MRCNN.ROI_MASK_HEAD).toBe('mask_rcnn_heads.mask_rcnn_fcn_head_v1up4convs');
    expect(cfg.TRAIN.DATASETS).toEqual(['coco_2014_train', 'coco_2014_valminusminival']);
    expect(cfg.TRAIN.SCALES).toEqual([800]);
    expect(cfg.SOLVER.STEPS).toEqual([0, 60000, 80000]);
    expect(cfg.SOLVER.WEIGHT_DECAY).toBe(0.0001);
    expect(cfg.OUTPUT_DIR).toBe('.');
    expect(cfg.RPN.RPN_ON).toBe(true);
    expect(cfg.TEST.PRECOMPUTED_PROPOSALS).toBe(false);
    expect(warnings).toEqual([]);
  });

  test('an old head_builder name is remapped with a warning', () => {
    const warnings: string[] = [];
    const file = path.join(DETECTRON_CONFIGS, '12_2017_baselines/e2e_keypoint_rcnn_R-50-FPN_1x.yaml');
    const cfg = mergeCfgFromFile(getDefaultConfig(), file, { warn: (m) => warnings.push(m) });
    expect(cfg.FAST_RCNN.ROI_BOX_HEAD).toBe('fast_rcnn_heads.roi_2mlp_head');
    expect(cfg.KRCNN.ROI_KEYPOINTS_HEAD).toBe('keypoint_rcnn_heads.roi_pose_head_v1convX');
    expect(warnings).toEqual([
      'Remapping old function name: head_builder.add_roi_2mlp_head -> fast_rcnn_heads.roi_2mlp_head',
    ]);
  });
});

describe('literal_eval (Python 3 results)', () => {
  // [input, "type repr" as Python prints them, or null where literal_eval raises ValueError or
  // SyntaxError and Detectron keeps the text as a string].
  const cases: Array<[string, string | null]> = [
    ["1e-3", "float 0.001"],
    ["-1", "int -1"],
    ["+1.5", "float 1.5"],
    [".5", "float 0.5"],
    ["5.", "float 5.0"],
    ["1_000", "int 1000"],
    ["0x1F", "int 31"],
    ["0o17", "int 15"],
    ["0b11", "int 3"],
    ["0777", null],
    ["(800,)", "tuple (800,)"],
    ["()", "tuple ()"],
    ["1,2", "tuple (1, 2)"],
    ["[0, 60000, 80000]", "list [0, 60000, 80000]"],
    ["(1)", "int 1"],
    ["True", "bool True"],
    ["None", "NoneType None"],
    ["true", null],
    ["coco_2014_train", null],
    ["foo/bar", null],
    ["FPN.add_fpn_ResNet50_conv5_body", null],
    [".", null],
    ["'quoted'", "str 'quoted'"],
    ["{'a': (1, [2, 3])}", "dict {'a': (1, [2, 3])}"],
    ["--1", null],
    ["1 # c", "int 1"],
    ["-(1)", "int -1"],
    ["'a' \"b\"", "str 'ab'"],
    ["b'\\xff\\n'", "bytes b'\\xff\\n'"],
    ["\"\\x41\\u00e9\\101\\q\"", "str 'A\u00e9A\\\\q'"],
    ["1e22", "float 1e+22"],
    ["0.00001", "float 1e-05"],
    ["9007199254740993", "int 9007199254740993"],
    ["{1:2, 1.0:3, True:4}", "dict {1: 4}"],
    ["set()", "set set()"],
    ["1 .real", null],
    ["\n 1", null],
    ["1__0", null],
    ["0_7", null],
    ["1.__class__", null],
    ["\"a\nb\"", null],
    ["\"\"\"a\nb\"\"\"", "str 'a\\nb'"],
    ["[1, 'a', None, True, 2.5]", "list [1, 'a', None, True, 2.5]"],
  ];
  test.each(cases)('%j', (text, expected) => {
    const v = literalEval(text);
    if (expected === null) expect(v).toBeUndefined();
    else {
      expect(v).toBeDefined();
      const shown = v instanceof PySet ? 'set()' : pyRepr(v as never);
      expect(`${pyTypeName(v as never)} ${shown}`).toBe(expected);
    }
  });

  test('complex numbers and unhashable keys are clear errors', () => {
    expect(() => literalEval('1+2j')).toThrow(/complex numbers are not supported/);
    expect(() => literalEval('{[1]: 2}')).toThrow(/unhashable value \[1\]/);
  });
});

describe('mergeCfgFromList', () => {
  test('reads values like literal_eval and coerces as Detectron', () => {
    const cfg = mergeCfgFromList(getDefaultConfig(), [
      'TEST.NMS', '0.5',
      'TRAIN.SCALES', '[800, 1000]',
      'SOLVER.STEPS', '(0, 10)',
      'SOLVER.BASE_LR', '1e-3',
      'MODEL.NUM_CLASSES', '-5',
      'TRAIN.DATASETS', "('coco_2014_train',)",
      'OUTPUT_DIR', '1.50',
      'TEST.WEIGHTS', '/path/model_final.pkl',
      'MODEL.MASK_ON', 'True',
      'MATLAB', 'None',
      'MODEL.CONV_BODY', 'ResNet.add_ResNet50_conv4_body',
      'PIXEL_MEANS', '(1, 2, 3)',
    ]);
    expect(cfg.TEST.NMS).toBe(0.5);
    expect(cfg.TRAIN.SCALES).toEqual([800, 1000]);
    expect(cfg.SOLVER.STEPS).toEqual([0, 10]);
    expect(cfg.SOLVER.BASE_LR).toBe(0.001);
    expect(cfg.MODEL.NUM_CLASSES).toBe(-5);
    expect(cfg.TRAIN.DATASETS).toEqual(['coco_2014_train']);
    expect(cfg.OUTPUT_DIR).toBe('1.5'); // str(1.5), as Detectron
    expect(cfg.TEST.WEIGHTS).toBe('/path/model_final.pkl');
    expect(cfg.MODEL.MASK_ON).toBe(true);
    expect(cfg.MATLAB).toBe('None');
    expect(cfg.MODEL.CONV_BODY).toBe('ResNet.ResNet50_conv4_body');
    expect(cfg.PIXEL_MEANS).toEqual([[[1, 2, 3]]]);
  });

  test('rejects type mismatches with Detectron’s message', () => {
    expect(() => mergeCfgFromList(getDefaultConfig(), ['SOLVER.BASE_LR', '1'])).toThrow(
      "Type mismatch (<class 'float'> vs. <class 'int'>) with values (0.001 vs. 1) for config key: SOLVER.BASE_LR",
    );
    expect(() => mergeCfgFromList(getDefaultConfig(), ['TEST.SCALE', '800.0'])).toThrow(
      "Type mismatch (<class 'int'> vs. <class 'float'>) with values (600 vs. 800.0) for config key: TEST.SCALE",
    );
    expect(() => mergeCfgFromList(getDefaultConfig(), ['TRAIN.SCALES', '800'])).toThrow(
      "Type mismatch (<class 'tuple'> vs. <class 'int'>) with values ((600,) vs. 800) for config key: TRAIN.SCALES",
    );
    expect(() => mergeCfgFromList(getDefaultConfig(), ['MODEL.MASK_ON', 'yes'])).toThrow(
      "Type mismatch (<class 'bool'> vs. <class 'str'>) with values (False vs. yes) for config key: MODEL.MASK_ON",
    );
    // numpy.float64 accepts no Python value, in Detectron too.
    expect(() => mergeCfgFromList(getDefaultConfig(), ['BBOX_XFORM_CLIP', '4.0'])).toThrow(
      "Type mismatch (<class 'numpy.float64'> vs. <class 'float'>) with values (4.135166556742356 vs. 4.0)",
    );
    expect(() => mergeCfgFromList(getDefaultConfig(), ['PIXEL_MEANS', '(1, 2)'])).toThrow(
      'Config key PIXEL_MEANS: expected 3 BGR means (shape 1×1×3), got shape (2)',
    );
  });

  test('unknown keys suggest the closest valid key', () => {
    expect(() => mergeCfgFromList(getDefaultConfig(), ['MODEL.NUM_CLASS', '81'])).toThrow(
      'Non-existent key: MODEL.NUM_CLASS (did you mean MODEL.NUM_CLASSES?)',
    );
    expect(() => mergeCfgFromList(getDefaultConfig(), ['NUM_CLASSES', '81'])).toThrow(
      'Non-existent key: NUM_CLASSES (did you mean MODEL.NUM_CLASSES?)',
    );
    expect(() => mergeCfgFromList(getDefaultConfig(), ['TOTALLY.UNRELATED_THING', '1'])).toThrow(
      /^Non-existent key: TOTALLY.UNRELATED_THING$/,
    );
  });

  test('deprecated keys are skipped with a warning, renamed keys are errors', () => {
    const warnings: string[] = [];
    const cfg = mergeCfgFromList(getDefaultConfig(), ['RPN.ON', 'True', 'TEST.NMS', '0.4'], {
      warn: (m) => warnings.push(m),
    });
    expect(warnings).toEqual(['Deprecated config key (ignoring): RPN.ON']);
    expect(cfg.TEST.NMS).toBe(0.4);
    expect(() => mergeCfgFromList(getDefaultConfig(), ['TEST.SCALES', '(600,)'])).toThrow(
      'Key TEST.SCALES was renamed to TEST.SCALE; please update your config. Note: Also convert from a tuple, ' +
        'e.g. (600, ), to a integer, e.g. 600.',
    );
    expect(() => mergeCfgFromList(getDefaultConfig(), ['MODEL.ROI_HEAD', 'x'])).toThrow(
      'Key MODEL.ROI_HEAD was renamed to FAST_RCNN.ROI_BOX_HEAD; please update your config.',
    );
  });

  test('an odd number of items is an error', () => {
    expect(() => mergeCfgFromList(getDefaultConfig(), ['TEST.NMS'])).toThrow(
      'config overrides must be KEY VALUE pairs; got 1 items (the last key, TEST.NMS, has no value)',
    );
  });
});

describe('YAML merging (PyYAML semantics)', () => {
  test('YAML 1.1 scalars: yes/on are booleans, 1e-3 is literal-evaluated, octal ints', () => {
    const cfg = merged(
      'MODEL:\n  MASK_ON: yes\n  FASTER_RCNN: on\nSOLVER:\n  BASE_LR: 1e-3\n  GAMMA: .5\n' +
        'TRAIN:\n  MAX_SIZE: 0777\n  SCALES: [800]\nTEST:\n  SCALE: 1_000\n',
    );
    expect(cfg.MODEL.MASK_ON).toBe(true);
    expect(cfg.MODEL.FASTER_RCNN).toBe(true);
    expect(cfg.SOLVER.BASE_LR).toBe(0.001);
    expect(cfg.SOLVER.GAMMA).toBe(0.5);
    expect(cfg.TRAIN.MAX_SIZE).toBe(511);
    expect(cfg.TRAIN.SCALES).toEqual([800]);
    expect(cfg.TEST.SCALE).toBe(1000);
  });

  test('a bare string for a tuple key is a type error, as in Detectron', () => {
    expect(() => merged('TRAIN:\n  DATASETS: coco_2014_train\n')).toThrow(
      "test.yaml: Type mismatch (<class 'tuple'> vs. <class 'str'>) with values (() vs. coco_2014_train) for " +
        'config key: TRAIN.DATASETS',
    );
  });

  test('errors name the file and the key', () => {
    expect(() => merged('SOLVER:\n  BASE_LR: 1\n')).toThrow(
      "test.yaml: Type mismatch (<class 'float'> vs. <class 'int'>) with values (0.001 vs. 1) for config key: " +
        'SOLVER.BASE_LR',
    );
    expect(() => merged('MODEL:\n  NUM_CLASES: 81\n')).toThrow(
      'test.yaml: Non-existent config key: MODEL.NUM_CLASES (did you mean MODEL.NUM_CLASSES?)',
    );
    expect(() => merged('FPN:\n  ON: True\n')).toThrow(
      'test.yaml: config key True under FPN is not a string (YAML 1.1 reads ON/OFF/YES/NO keys as booleans)',
    );
    expect(() => merged('TEST:\n')).toThrow(
      "test.yaml: Type mismatch (<class 'detectron.utils.collections.AttrDict'> vs. <class 'NoneType'>) with " +
        'values ({...} vs. None) for config key: TEST',
    );
    expect(() => merged('MODEL:\n  TYPE: [a\n')).toThrow(/^test\.yaml:\d+:\d+: invalid YAML: /);
    expect(() => merged('')).toThrow('test.yaml: a config must be a YAML mapping of KEY: value, got an empty document');
    expect(() => merged('- 1\n')).toThrow('test.yaml: a config must be a YAML mapping of KEY: value, got [1]');
    expect(() => merged('MODEL: !!python/object/apply:os.system [ls]\n')).toThrow(
      /^test\.yaml:1:8: unsupported YAML tag !!python\/object\/apply:os\.system/,
    );
    expect(() => mergeCfgFromFile(getDefaultConfig(), '/nonexistent/x.yaml')).toThrow(
      'cannot read config file /nonexistent/x.yaml: no such file',
    );
  });

  test('deprecated keys in a file are ignored with a warning; renamed ones are errors', () => {
    const warnings: string[] = [];
    const cfg = merged('USE_GPU_NMS: True\nTEST:\n  NMS: 0.45\n', warnings);
    expect(cfg.TEST.NMS).toBe(0.45);
    expect(warnings).toEqual(['Deprecated config key (ignoring): USE_GPU_NMS']);
    expect(() => merged('TRAIN:\n  DATASET: coco_2014_train\n')).toThrow(
      /^test\.yaml: Key TRAIN.DATASET was renamed to TRAIN.DATASETS; please update your config\. Note: /,
    );
  });

  test('anchors, merge keys and python tags load as data', () => {
    const cfg = merged(
      'base: &b {NMS: 0.4, SCALE: 700}\n'.replace('base', 'TEST') +
        'TRAIN:\n  SCALES: !!python/tuple [640, 672]\n' +
        '  WEIGHTS: !!python/unicode "w.pkl"\n  MAX_SIZE: !!python/long 1333\n',
    );
    expect(cfg.TEST.NMS).toBe(0.4);
    expect(cfg.TEST.SCALE).toBe(700);
    expect(cfg.TRAIN.SCALES).toEqual([640, 672]);
    expect(cfg.TRAIN.WEIGHTS).toBe('w.pkl');
    expect(cfg.TRAIN.MAX_SIZE).toBe(1333);
    const viaMerge = merged('X: &x {NMS: 0.2}\n'.replace('X', 'TEST') + 'MODEL: {NUM_CLASSES: 3}\n');
    expect(viaMerge.TEST.NMS).toBe(0.2);
  });

  test('mergeCfgFromCfg takes plain objects with the key types', () => {
    const cfg = mergeCfgFromCfg(getDefaultConfig(), { SOLVER: { BASE_LR: 1, MAX_ITER: 10 }, TRAIN: { SCALES: [500] } });
    expect(cfg.SOLVER.BASE_LR).toBe(1);
    expect(cfg.SOLVER.MAX_ITER).toBe(10);
    expect(cfg.TRAIN.SCALES).toEqual([500]);
    // A whole (frozen) config merges into the defaults unchanged.
    const file = path.join(DETECTRON_CONFIGS, '12_2017_baselines/retinanet_R-50-FPN_1x.yaml');
    const full = loadConfig(file);
    expect(mergeCfgFromCfg(getDefaultConfig(), full)).toEqual(full);
    expect(() => mergeCfgFromCfg(getDefaultConfig(), { SOLVER: { MAX_ITER: 1.5 } })).toThrow(
      "Type mismatch (<class 'int'> vs. <class 'float'>) with values (40000 vs. 1.5) for config key: SOLVER.MAX_ITER",
    );
  });
});

describe('assertAndInferCfg and immutability', () => {
  test('infers RPN_ON and PRECOMPUTED_PROPOSALS', () => {
    const a = assertAndInferCfg(mergeCfgFromList(getDefaultConfig(), ['MODEL.FASTER_RCNN', 'True']));
    expect(a.RPN.RPN_ON).toBe(true);
    expect(a.TEST.PRECOMPUTED_PROPOSALS).toBe(false);
    const b = assertAndInferCfg(mergeCfgFromList(getDefaultConfig(), ['RETINANET.RETINANET_ON', 'True']));
    expect(b.RPN.RPN_ON).toBe(false);
    expect(b.TEST.PRECOMPUTED_PROPOSALS).toBe(false);
    const c = assertAndInferCfg(getDefaultConfig());
    expect(c.RPN.RPN_ON).toBe(false);
    expect(c.TEST.PRECOMPUTED_PROPOSALS).toBe(true);
  });

  test('the result is frozen with a clear error on mutation', () => {
    const mutable = getDefaultConfig();
    const cfg = assertAndInferCfg(mutable);
    expect(isConfigFrozen(cfg)).toBe(true);
    expect(() => {
      (cfg as DetectronConfig).MODEL.NUM_CLASSES = 5;
    }).toThrow('Attempted to set "MODEL.NUM_CLASSES" to "5", but the config is immutable');
    // Arrays are frozen: JavaScript's own TypeError.
    expect(() => (cfg.TRAIN.SCALES as number[]).push(1)).toThrow(/object is not extensible/);
    expect(() => {
      (cfg.PIXEL_MEANS[0][0] as number[])[0] = 1;
    }).toThrow(/read only property '0'/);
    expect(structuredClone(cfg)).toEqual(cfg);
    expect(() => {
      mutable.TEST.NMS = 0.1;
    }).toThrow('Attempted to set "TEST.NMS" to "0.1"');
    expect(() => mergeCfgFromList(mutable, ['TEST.NMS', '0.1'])).toThrow(
      /cannot merge KEY VALUE overrides: the config is immutable/,
    );
    expect(cfg.TEST.NMS).toBe(0.3);
    const copy = cloneConfig(cfg);
    copy.TEST.NMS = 0.1;
    expect(copy.TEST.NMS).toBe(0.1);
    expect(isConfigFrozen(copy)).toBe(false);
    expect(assertAndInferCfg(getDefaultConfig(), { makeImmutable: false }).TEST.NMS).toBe(0.3);
  });
});

describe('dumpCfgYaml', () => {
  test('writes floats, tricky strings and numpy values so that they load back unchanged', () => {
    const cfg = getDefaultConfig();
    cfg.OUTPUT_DIR = '1.50';
    cfg.MATLAB = "it's: \"q\" # x";
    cfg.TEST.WEIGHTS = 'yes';
    cfg.SOLVER.GAMMA = 1;
    cfg.SOLVER.LRS = [1e-7, 1e22, 0.5];
    cfg.EXPECTED_RESULTS = [['coco_2014_minival', 'box', 'AP', 0.25]];
    const text = dumpCfgYaml(cfg);
    expect(text).toContain("OUTPUT_DIR: '''1.50'''\n");
    expect(text).toContain('  GAMMA: 1.0\n');
    expect(text).toContain('  LRS: [1.0e-07, 1.0e+22, 0.5]\n');
    expect(text).toContain('EPS: 1.0e-14\n');
    expect(text).toContain('PIXEL_MEANS: [[[102.9801, 115.9465, 122.7717]]]\n');
    expect(text).toContain("!!binary 'qeISGmmKEEA='");
    expect(text.indexOf('BBOX_XFORM_CLIP')).toBeLessThan(text.indexOf('CLUSTER'));
    const back = mergeCfgFromString(getDefaultConfig(), text, 'dump');
    expect(back).toEqual(cfg);
  });
});

describe('the cfg string of a Detectron weights file', () => {
  // The layout PyYAML (py2, Detectron's era) gives `yaml.dump(cfg)`, trimmed.
  const SAVED = [
    '!!python/object/new:utils.collections.AttrDict',
    'dictitems:',
    '  BBOX_XFORM_CLIP: !!python/object/apply:numpy.core.multiarray.scalar',
    '  - &id001 !!python/object/apply:numpy.dtype',
    '    args: [f8, 0, 1]',
    '    state: !!python/tuple [3, <, null, null, null, -1, -1, 0]',
    '  - !!binary |',
    '    qeISGmmKEEA=',
    '  MODEL: !!python/object/new:utils.collections.AttrDict',
    '    dictitems: {CONV_BODY: !!python/unicode FPN.add_fpn_ResNet50_conv5_body, NUM_CLASSES: 81,',
    '      TYPE: !!python/unicode generalized_rcnn}',
    '    state: {__immutable__: true}',
    '  PIXEL_MEANS: !!python/object/apply:numpy.core.multiarray._reconstruct',
    "    args: [!!python/name:numpy.ndarray '', !!python/tuple [0], b]",
    '    state: !!python/tuple',
    '    - 1',
    '    - !!python/tuple [1, 1, 3]',
    '    - *id001',
    '    - false',
    '    - !!binary |',
    '      0LNZ9bm+WUB/arx0k/xcQK+UZYhjsV5A',
    '  RNG_SEED: !!python/long 3',
    '  TRAIN: !!python/object/new:utils.collections.AttrDict',
    "    dictitems: {DATASETS: !!python/tuple ['coco_2014_train'], SCALES: !!python/tuple [800]}",
    'state: {__immutable__: true}',
    '',
  ].join('\n');

  test('parses as data into a plain tree', () => {
    const tree = parseSavedCfg(SAVED);
    expect(tree.BBOX_XFORM_CLIP).toBe(4.135166556742356);
    expect(tree.MODEL).toEqual({
      CONV_BODY: 'FPN.add_fpn_ResNet50_conv5_body',
      NUM_CLASSES: 81,
      TYPE: 'generalized_rcnn',
    });
    expect(tree.PIXEL_MEANS).toEqual({
      dtype: 'float64',
      shape: [1, 1, 3],
      data: new Float64Array([102.9801, 115.9465, 122.7717]),
    });
    expect(tree.RNG_SEED).toBe(3);
    expect(tree.TRAIN).toEqual({ DATASETS: ['coco_2014_train'], SCALES: [800] });
  });

  test('merges into a config with numpy types accepted', () => {
    const cfg = mergeCfgFromString(getDefaultConfig(), SAVED, 'model_final.pkl:cfg', { warn: () => undefined });
    expect(cfg.MODEL.CONV_BODY).toBe('FPN.fpn_ResNet50_conv5_body');
    expect(cfg.BBOX_XFORM_CLIP).toBe(4.135166556742356);
    expect(cfg.TRAIN.DATASETS).toEqual(['coco_2014_train']);
  });

  test('unknown Python objects are refused, never constructed', () => {
    expect(() => parseSavedCfg('!!python/object/apply:subprocess.call [[touch, /tmp/x]]\n')).toThrow(
      /^embedded cfg:1:\d+: unsupported YAML tag !!python\/object\/apply:subprocess\.call/,
    );
    expect(() => parseSavedCfg('!!python/object/new:collections.OrderedDict {}\n')).toThrow(/unsupported YAML tag/);
  });

  test('configureBboxRegWeights forces (1,1,1,1) for models older than the key', () => {
    const cfg = loadConfig(undefined);
    const warnings: string[] = [];
    const old = configureBboxRegWeights(cfg, parseSavedCfg(SAVED), { warn: (m) => warnings.push(m) });
    expect(old.MODEL.BBOX_REG_WEIGHTS).toEqual([1, 1, 1, 1]);
    expect(isConfigFrozen(old)).toBe(true);
    expect(cfg.MODEL.BBOX_REG_WEIGHTS).toEqual([10, 10, 5, 5]);
    expect(warnings[0]).toMatch(/^Model from weights file was trained before config key MODEL.BBOX_REG_WEIGHTS/);
    const withWeights = 'NUM_CLASSES: 81, BBOX_REG_WEIGHTS: !!python/tuple [10.0, 10.0, 5.0, 5.0],';
    const recent = parseSavedCfg(SAVED.replace('NUM_CLASSES: 81,', withWeights));
    expect(configureBboxRegWeights(cfg, recent)).toBe(cfg);
    expect(() => configureBboxRegWeights(cfg, parseSavedCfg(SAVED), { train: true, warn: () => undefined })).toThrow(
      /can no longer be used for training/,
    );
  });
});
