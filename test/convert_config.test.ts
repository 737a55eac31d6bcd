/**
 * `detectron convert_config`: builder names rewritten in place, everything else byte for byte;
 * idempotent; converted and original configs load identically; configs/ is the converter's output.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertAndInferCfg, getDefaultConfig, mergeCfgFromFile } from '../lib/core/config';
import { convertConfigTree } from '../converters/yaml/convert_tree';
import { convertDetectronYaml, formatChange } from '../converters/yaml/detectron_yaml';
import { Command } from 'commander';
import { register } from '../tools/convert_config';
import { captureOutput } from './helpers/capture_output';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const DETECTRON_CONFIGS = path.join(FIXTURES, 'configs/detectron');
const REPO_CONFIGS = path.resolve(__dirname, '../configs');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

/** Runs the CLI, returning what it printed; rejects with the command's error. */
async function runCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  // Only this command is registered, so the test does not depend on the others loading.
  const program = new Command('detectron').exitOverride();
  register(program);
  return captureOutput(() => program.parseAsync(['node', 'detectron', ...args]));
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convert-config-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('convertDetectronYaml', () => {
  const original = [
    '# top comment',
    'MODEL:',
    '  TYPE: generalized_rcnn',
    "  CONV_BODY: 'FPN.add_fpn_ResNet50_conv5_body'   # quoted, with a comment",
    '',
    'FAST_RCNN:',
    '  ROI_BOX_HEAD: head_builder.add_roi_2mlp_head',
    'MRCNN:',
    '  ROI_MASK_HEAD: "mask_rcnn_heads.ResNet_mask_rcnn_fcn_head_v1up4convs"',
    'KRCNN: {ROI_KEYPOINTS_HEAD: keypoint_rcnn_heads.add_roi_pose_head_v1convX}',
    'RESNETS:',
    '  TRANS_FUNC: bottleneck_transformation',
    '',
  ].join('\n');

  test('rewrites only builder names, keeping comments, quotes and layout', () => {
    const { text, changes } = convertDetectronYaml(original, 'x.yaml');
    expect(text).toBe(
      [
        '# top comment',
        'MODEL:',
        '  TYPE: generalized_rcnn',
        "  CONV_BODY: 'FPN.fpn_ResNet50_conv5_body'   # quoted, with a comment",
        '',
        'FAST_RCNN:',
        '  ROI_BOX_HEAD: fast_rcnn_heads.roi_2mlp_head',
        'MRCNN:',
        '  ROI_MASK_HEAD: "mask_rcnn_heads.mask_rcnn_fcn_head_v1up4convs"',
        'KRCNN: {ROI_KEYPOINTS_HEAD: keypoint_rcnn_heads.roi_pose_head_v1convX}',
        'RESNETS:',
        '  TRANS_FUNC: bottleneck_transformation',
        '',
      ].join('\n'),
    );
    expect(changes.map(formatChange)).toEqual([
      'x.yaml:4: MODEL.CONV_BODY: FPN.add_fpn_ResNet50_conv5_body -> FPN.fpn_ResNet50_conv5_body',
      'x.yaml:7: FAST_RCNN.ROI_BOX_HEAD: head_builder.add_roi_2mlp_head -> fast_rcnn_heads.roi_2mlp_head',
      'x.yaml:9: MRCNN.ROI_MASK_HEAD: mask_rcnn_heads.ResNet_mask_rcnn_fcn_head_v1up4convs -> ' +
        'mask_rcnn_heads.mask_rcnn_fcn_head_v1up4convs',
      'x.yaml:10: KRCNN.ROI_KEYPOINTS_HEAD: keypoint_rcnn_heads.add_roi_pose_head_v1convX -> ' +
        'keypoint_rcnn_heads.roi_pose_head_v1convX',
    ]);
    const again = convertDetectronYaml(text, 'x.yaml');
    expect(again.text).toBe(text);
    expect(again.changes).toEqual([]);
  });

  test('invalid YAML is an error naming the place', () => {
    expect(() => convertDetectronYaml('MODEL:\n  CONV_BODY: [a\n', 'bad.yaml')).toThrow(
      /^bad\.yaml:\d+:\d+: invalid YAML/,
    );
  });
});

describe("Detectron's 87 configs", () => {
  let results: ReturnType<typeof convertConfigTree>;
  const out = (): string => path.join(tmp, 'converted');

  beforeAll(() => {
    results = convertConfigTree(DETECTRON_CONFIGS, out());
  });

  test('all convert, with the expected changes', () => {
    expect(results.length).toBe(87);
    const changes = results.flatMap((r) => r.changes);
    const byKey = (k: string): number => changes.filter((c) => c.key === k).length;
    expect(byKey('MODEL.CONV_BODY')).toBe(87);
    expect(byKey('FAST_RCNN.ROI_BOX_HEAD')).toBe(70);
    expect(byKey('MRCNN.ROI_MASK_HEAD')).toBe(0);
    expect(byKey('KRCNN.ROI_KEYPOINTS_HEAD')).toBe(17);
    expect(changes.filter((c) => c.oldValue.startsWith('head_builder.')).length).toBe(16);
    expect(fs.readFileSync(path.join(out(), 'LICENSE'), 'utf8')).toBe(
      fs.readFileSync(path.join(DETECTRON_CONFIGS, 'LICENSE'), 'utf8'),
    );
  });

  test('only the changed lines differ, and converting again changes nothing', () => {
    for (const r of results) {
      const before = fs.readFileSync(r.input, 'utf8').split('\n');
      const after = r.text.split('\n');
      expect(after.length).toBe(before.length);
      const differing = before.map((l, i) => (l === after[i] ? -1 : i + 1)).filter((i) => i > 0);
      expect(differing).toEqual(r.changes.map((c) => c.line));
      const again = convertDetectronYaml(r.text, r.output);
      expect(again.changes).toEqual([]);
      expect(again.text).toBe(r.text);
    }
  });

  test('original and converted configs load identically', () => {
    for (const r of results) {
      const a = assertAndInferCfg(mergeCfgFromFile(getDefaultConfig(), r.input, { warn: () => undefined }));
      const b = assertAndInferCfg(mergeCfgFromFile(getDefaultConfig(), r.output, { warn: () => undefined }));
      expect(b).toEqual(a);
    }
  });

  test('configs/ in the repository is exactly the converter output', () => {
    const expected = listFiles(out()).map((f) => path.relative(out(), f));
    const committed = listFiles(REPO_CONFIGS).map((f) => path.relative(REPO_CONFIGS, f));
    expect(committed).toEqual(expect.arrayContaining(expected));
    for (const rel of expected) {
      const generated = fs.readFileSync(path.join(out(), rel), 'utf8');
      expect(fs.readFileSync(path.join(REPO_CONFIGS, rel), 'utf8')).toBe(generated);
    }
  });
});

describe('detectron convert_config', () => {
  const src = path.join(DETECTRON_CONFIGS, '12_2017_baselines/e2e_keypoint_rcnn_R-50-FPN_1x.yaml');

  test('a file to -o OUT reports each change', async () => {
    const outFile = path.join(tmp, 'cli', 'kp.yaml');
    const { stdout } = await runCli(['convert_config', src, '-o', outFile]);
    expect(stdout.split('\n').filter((l) => l.includes(' -> '))).toEqual([
      `${src}:3: MODEL.CONV_BODY: FPN.add_fpn_ResNet50_conv5_body -> FPN.fpn_ResNet50_conv5_body`,
      `${src}:20: FAST_RCNN.ROI_BOX_HEAD: head_builder.add_roi_2mlp_head -> fast_rcnn_heads.roi_2mlp_head`,
      `${src}:25: KRCNN.ROI_KEYPOINTS_HEAD: keypoint_rcnn_heads.add_roi_pose_head_v1convX -> ` +
        'keypoint_rcnn_heads.roi_pose_head_v1convX',
      `${src}: 3 change(s) -> ${outFile}`,
    ]);
    expect(fs.readFileSync(outFile, 'utf8')).toContain('  ROI_BOX_HEAD: fast_rcnn_heads.roi_2mlp_head\n');
    expect(fs.readdirSync(path.dirname(outFile))).toEqual(['kp.yaml']);
  });

  test('without -o the YAML goes to stdout and the report to stderr', async () => {
    const { stdout, stderr } = await runCli(['convert_config', src]);
    expect(stdout).toContain('CONV_BODY: FPN.fpn_ResNet50_conv5_body\n');
    expect(stdout).not.toContain('add_');
    expect(stderr.trim().split('\n')).toHaveLength(3);
  });

  test('a folder needs -o, and bad inputs are clear errors', async () => {
    await expect(runCli(['convert_config', DETECTRON_CONFIGS])).rejects.toThrow(
      `${DETECTRON_CONFIGS} is a folder: give an output folder with -o OUT_DIR`,
    );
    await expect(runCli(['convert_config', path.join(tmp, 'missing.yaml')])).rejects.toThrow(
      `no such file or folder: ${path.join(tmp, 'missing.yaml')}`,
    );
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, 'MODEL:\n  CONV_BODY: FPN.add_fpn_ResNet50_conv5_body\n  NUM_CLASS: 81\n');
    await expect(runCli(['convert_config', bad, '-o', path.join(tmp, 'bad_out.yaml')])).rejects.toThrow(
      `${bad}: Non-existent config key: MODEL.NUM_CLASS (did you mean MODEL.NUM_CLASSES?)`,
    );
    expect(fs.existsSync(path.join(tmp, 'bad_out.yaml'))).toBe(false);
    const { stdout } = await runCli(['convert_config', bad, '--no-check']);
    expect(stdout).toContain('CONV_BODY: FPN.fpn_ResNet50_conv5_body\n  NUM_CLASS: 81\n');
  });
});
