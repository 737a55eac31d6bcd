/**
 * `detectron test_net` on the fixture COCO images as a dataset of one's own (annotation file +
 * image folder), small and fast: 320-pixel images, generated Mask R-CNN weights. Checks the
 * files Detectron writes, that a stopped run resumes to identical results, that its AP is what
 * `detectron reval` computes from the written results, and the errors on bad input. The
 * evaluation half is also checked without a model, with the ground truth as detections.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ByteReader } from '../converters/pkl/byte_reader';
import { NumpyArray, type PyValue } from '../converters/pkl/python_objects';
import { unpickle } from '../converters/pkl/unpickler';
import { loadConfig } from '../lib/core/config';
import { emptyResults, PER_IMAGE_DIR, PerImageStore, RUN_FILE, type RunRecord } from '../lib/core/test_engine_dataset';
import { JsonDataset } from '../lib/datasets/json_dataset';
import { checkExpectedResults, evaluateAll, type EvalLog } from '../lib/datasets/task_evaluation';
import { buildProgram } from '../tools/detectron';
import { testNet, type TestNetCliOptions } from '../tools/test_net';
import { detectronPkl, FIXTURES } from './helpers/fixtures';
import { captureOutput } from './helpers/capture_output';

const CFG = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');
const ANN = path.join(FIXTURES, 'coco/annotations/instances_mini.json');
const KP_ANN = path.join(FIXTURES, 'coco/annotations/person_keypoints_mini.json');
const IMAGES = path.join(FIXTURES, 'coco/images');
/** Small inputs and fewer detections keep the test fast. */
const SET = ['TEST.SCALE', '320', 'TEST.MAX_SIZE', '500', 'TEST.DETECTIONS_PER_IM', '30'];

interface Captured {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs `detectron ...args`, capturing what it writes. */
async function cli(args: string[]): Promise<Captured> {
  process.exitCode = 0;
  const written = await captureOutput(() => buildProgram().exitOverride().parseAsync(['node', 'detectron', ...args]));
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { ...written, exitCode };
}

/** The library entry point with its log captured. */
async function runLib(o: Partial<TestNetCliOptions> & { outputDir: string }) {
  const info: string[] = [];
  const warn: string[] = [];
  const summary = await testNet([], {
    cfg: CFG, wts: detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), dataset: ANN, imageDir: IMAGES, set: SET,
    outputExt: 'pdf', device: 'cpu', threads: 2, ...o,
  }, { log: { info: (l) => info.push(l), warn: (l) => warn.push(l) }, reportStream: { write: () => true } });
  return { summary, info: info.join('\n'), warn: warn.join('\n') };
}

function readPickle(file: string): Map<PyValue, PyValue> {
  const reader = ByteReader.openFile(file);
  try {
    const top = unpickle(reader).value;
    if (!(top instanceof Map)) throw new Error('detections.pkl: not a dict');
    return top;
  } finally {
    reader.close();
  }
}

const asList = (v: PyValue | undefined): PyValue[] => {
  if (!Array.isArray(v)) throw new Error(`expected a list, got ${String(v)}`);
  return v;
};

describe('detectron test_net', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-net-'));
  const outRoot = path.join(dir, 'out');
  const runDir = path.join(outRoot, 'test', 'instances_mini', 'generalized_rcnn');
  const noop: EvalLog = { info: () => undefined, warn: () => undefined };

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a range run, then the full run resumes it; results match reval; a lost image result is redone identically', async () => {
    // Images [0, 2) only: Detectron's range file, no evaluation.
    const ranged = await cli([
      'test_net', '--cfg', CFG, '--wts', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--dataset', ANN, '--image-dir', IMAGES,
      '--output-dir', outRoot, '--threads', '2', '--set', ...SET, '--range', '0', '2',
    ]);
    expect(ranged.exitCode).toBe(0);
    expect(fs.existsSync(path.join(runDir, 'detection_range_0_2.pkl'))).toBe(true);
    expect(fs.existsSync(path.join(runDir, 'detections.pkl'))).toBe(false);
    expect(fs.readdirSync(path.join(runDir, PER_IMAGE_DIR)).sort()).toEqual(['39769.json', '785.json']);
    expect(asList(asList(readPickle(path.join(runDir, 'detection_range_0_2.pkl')).get('all_boxes'))[1])).toHaveLength(2);
    expect(ranged.stdout).not.toContain('Average Precision');

    // The whole dataset: the two images come from the range run.
    const full = await runLib({ outputDir: outRoot });
    expect(full.warn).toContain('resuming: 2 of 5 images already done');
    expect(full.summary.failed).toBe(0);
    const run = full.summary.runs[0];
    expect(run.computed).toBe(3);
    expect(full.info).toContain('~~~~ Mean and per-category AP @ IoU=[0.50,0.95] ~~~~');
    expect(full.info).toContain(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] =');
    expect(full.info).toContain('copypaste: AP,AP50,AP75,APs,APm,APl');

    // detections.pkl: Detectron's structure, classes × images.
    const pkl = readPickle(path.join(runDir, 'detections.pkl'));
    expect([...pkl.keys()].sort()).toEqual(['all_boxes', 'all_keyps', 'all_segms', 'cfg']);
    const boxes = asList(pkl.get('all_boxes'));
    const segms = asList(pkl.get('all_segms'));
    expect(boxes).toHaveLength(81);
    expect(segms).toHaveLength(81);
    let total = 0;
    boxes.forEach((cls, c) => {
      const perImage = asList(cls);
      expect(perImage).toHaveLength(5);
      perImage.forEach((b, i) => {
        if (c === 0) {
          expect(b).toEqual([]);
          return;
        }
        if (!(b instanceof NumpyArray) || b.array === null) throw new Error('expected an ndarray');
        expect(b.array.dtype).toBe('float32');
        expect(b.array.shape[1]).toBe(5);
        expect(asList(asList(segms[c])[i])).toHaveLength(b.array.shape[0]);
        total += b.array.shape[0];
      });
    });
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(5 * 30);
    expect(asList(pkl.get('all_keyps')).every((cls) => asList(cls).every((im) => asList(im).length === 0))).toBe(true);
    expect(String(pkl.get('cfg'))).toMatch(/^  SCALE: 320$/m);

    // The COCO results files, one entry per detection, and AP as reval computes it from them.
    const bboxFile = path.join(runDir, 'bbox_instances_mini_results.json');
    const segmFile = path.join(runDir, 'segmentations_instances_mini_results.json');
    expect(JSON.parse(fs.readFileSync(bboxFile, 'utf8'))).toHaveLength(total);
    expect(JSON.parse(fs.readFileSync(segmFile, 'utf8'))).toHaveLength(total);
    const results = run.results?.instances_mini;
    if (results === undefined) throw new Error('no evaluation');
    for (const [type, task] of [['bbox', 'box'], ['segm', 'mask']] as const) {
      const reval = await cli(['reval', '--gt', ANN, '--dets', type === 'bbox' ? bboxFile : segmFile, '--type', type, '--json']);
      const stats = (JSON.parse(reval.stdout) as { stats: number[] }).stats;
      expect(Object.values(results[task])).toEqual(stats.slice(0, 6));
    }

    // Lose one image's saved result: the next run redoes only that image, with identical results.
    const before = [bboxFile, segmFile, path.join(runDir, 'detections.pkl')].map((f) => fs.readFileSync(f));
    fs.unlinkSync(path.join(runDir, PER_IMAGE_DIR, '785.json'));
    const again = await runLib({ outputDir: outRoot });
    expect(again.warn).toContain('resuming: 4 of 5 images already done');
    expect(again.summary.runs[0].computed).toBe(1);
    expect(again.summary.runs[0].results).toEqual(run.results);
    const after = [bboxFile, segmFile, path.join(runDir, 'detections.pkl')].map((f) => fs.readFileSync(f));
    after.forEach((b, i) => expect(b.equals(before[i])).toBe(true));

    // Another config or other weights may not resume these results.
    await expect(runLib({ outputDir: outRoot, set: [...SET.slice(0, 1), '352', ...SET.slice(2)] }))
      .rejects.toThrow(/holds results of a different run:[\s\S]*TEST\.SCALE: 320 \(saved\) vs 352 \(now\)[\s\S]*--restart/);
    await expect(runLib({ outputDir: outRoot, wts: detectronPkl('e2e_faster_rcnn_R-50-FPN', 1), cfg: path.join(path.dirname(CFG), 'e2e_faster_rcnn_R-50-FPN_1x.yaml') }))
      .rejects.toThrow(/weights: .*e2e_mask_rcnn_R-50-FPN_s1\.pkl \(saved[\s\S]*MODEL\.MASK_ON: true \(saved\) vs false \(now\)/);
  });

  test('a saved run is refused by another run unless restarted, which empties it', async () => {
    const store = path.join(dir, 'store');
    const record = (scale: string): RunRecord => ({
      version: 1, dataset: 'd', annotation_file: '/a.json', image_directory: '/im', proposal_file: null,
      weights: '/w.pkl', weights_sha256: 'ab', cfg: { 'TEST.SCALE': scale }, device: 'cpu',
    });
    await PerImageStore.open(store, record('320'));
    fs.writeFileSync(path.join(store, PER_IMAGE_DIR, '1.json'), '{}');
    await expect(PerImageStore.open(store, record('800'))).rejects.toThrow(/TEST\.SCALE: 320 \(saved\) vs 800 \(now\)/);
    await PerImageStore.open(store, record('800'), { restart: true });
    expect(fs.readdirSync(path.join(store, PER_IMAGE_DIR))).toEqual([]);
    fs.writeFileSync(path.join(store, PER_IMAGE_DIR, '1.json'), '{}');
    fs.unlinkSync(path.join(store, RUN_FILE));
    await expect(PerImageStore.open(store, record('800'))).rejects.toThrow(/holds per-image results but .* is missing/);
  });

  test('unknown dataset names list the known ones; missing files are named', async () => {
    const base = ['test_net', '--cfg', CFG, '--wts', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--output-dir', outRoot];
    await expect(cli([...base, '--dataset', 'coco_2099_val'])).rejects.toThrow(/unknown dataset 'coco_2099_val'[\s\S]*Known datasets: .*coco_2014_minival.*coco_2017_val/);
    await expect(cli([...base, '--dataset', path.join(dir, 'nope.json'), '--image-dir', IMAGES])).rejects.toThrow(/annotation file '.*nope\.json' not found/);
    await expect(cli([...base, '--dataset', ANN])).rejects.toThrow(/--image-dir/);
    await expect(cli([...base, '--dataset', ANN, '--image-dir', path.join(dir, 'no-images')])).rejects.toThrow(/image folder '.*no-images' not found/);
    const lonely = path.join(dir, 'lonely');
    fs.mkdirSync(lonely);
    fs.copyFileSync(path.join(IMAGES, '000000000785.jpg'), path.join(lonely, '000000000785.jpg'));
    await expect(cli([...base, '--dataset', ANN, '--image-dir', lonely])).rejects.toThrow(/image '.*lonely\/0+\d+\.(jpg|png)' not found/);
  });

  test('an image that does not decode is reported, the run goes on and exits non-zero', async () => {
    const images = path.join(dir, 'broken-images');
    fs.mkdirSync(images);
    fs.copyFileSync(path.join(IMAGES, '000000000785.jpg'), path.join(images, '000000000785.jpg'));
    fs.writeFileSync(path.join(images, '000000040083.jpg'), Buffer.from('\xff\xd8\xff\xe0garbage', 'binary'));
    const gt = JSON.parse(fs.readFileSync(ANN, 'utf8')) as { images: Array<{ id: number }>; annotations: Array<{ image_id: number }> };
    const keep = new Set([785, 40083]);
    gt.images = gt.images.filter((im) => keep.has(im.id));
    gt.annotations = gt.annotations.filter((a) => keep.has(a.image_id));
    const ann = path.join(dir, 'two.json');
    fs.writeFileSync(ann, JSON.stringify(gt));
    const res = await cli([
      'test_net', '--cfg', CFG, '--wts', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--dataset', ann, '--image-dir', images,
      '--output-dir', outRoot, '--threads', '2', '--vis', '--output-ext', 'png', '--set', ...SET, 'VIS_TH', '0.0',
    ]);
    expect(res.stderr).toMatch(/error: .*000000040083\.jpg: cannot decode JPEG/);
    expect(res.stderr).toContain('1 image(s) failed');
    expect(res.exitCode).toBe(1);
    const out = path.join(outRoot, 'test', 'two', 'generalized_rcnn');
    // The failure is recorded (for the merge of a sharded run); a later run tries the image again.
    expect(fs.readdirSync(path.join(out, PER_IMAGE_DIR)).sort()).toEqual(['40083.failed.json', '785.json']);
    expect(fs.existsSync(path.join(out, 'detections.pkl'))).toBe(true);
    expect(res.stdout).toContain('copypaste: Task: mask');
    // Detectron's picture names: '<index>_<image stem>'.
    expect(fs.readdirSync(path.join(out, 'vis'))).toEqual(['0_000000000785.png']);

    // Once the image is fixed, the next run computes it (only it) and drops the failure record.
    fs.copyFileSync(path.join(IMAGES, '000000040083.jpg'), path.join(images, '000000040083.jpg'));
    const again = await cli([
      'test_net', '--cfg', CFG, '--wts', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--dataset', ann, '--image-dir', images,
      '--output-dir', outRoot, '--threads', '2', '--set', ...SET, 'VIS_TH', '0.0',
    ]);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('resuming: 1 of 2 images already done');
    expect(fs.readdirSync(path.join(out, PER_IMAGE_DIR)).sort()).toEqual(['40083.json', '785.json']);
  });

  test('the ground truth as detections scores AP 1 for boxes, masks and keypoints', async () => {
    for (const [file, overrides] of [
      [ANN, ['MODEL.MASK_ON', 'True', 'EXPECTED_RESULTS', "[['instances_mini', 'box', 'AP', 1.0], ['instances_mini', 'mask', 'AP', [1.0, 0.001]]]"]],
      [KP_ANN, ['MODEL.KEYPOINTS_ON', 'True', 'MODEL.NUM_CLASSES', '2', 'EXPECTED_RESULTS', "[['person_keypoints_mini', 'keypoint', 'AP', 1.0]]"]],
    ] as const) {
      const dataset = await JsonDataset.load({ annotationFile: file, imageDirectory: IMAGES });
      const cfg = loadConfig(undefined, { overrides: [...overrides] });
      const roidb = dataset.getRoidb({ gt: true });
      const all = emptyResults(dataset.numClasses, roidb.length);
      roidb.forEach((entry, i) => {
        // COCOeval ignores people without keypoints: detecting them would be false positives.
        const anns = (dataset.COCO.imgToAnns.get(entry.id) ?? [])
          .filter((a) => !a.iscrowd && (dataset.keypoints === null || (a.num_keypoints as number) > 0));
        for (let c = 1; c < dataset.numClasses; c++) {
          const mine = anns.filter((a) => dataset.jsonCategoryIdToContiguousId.get(a.category_id) === c);
          all.boxes[c][i] = Float32Array.from(mine.flatMap((a) => {
            const [x, y, w, h] = a.bbox as number[];
            return [x, y, x + w - 1, y + h - 1, 1];
          }));
          all.segms[c][i] = mine.map((a) => dataset.COCO.annToRLE(a));
          if (dataset.keypoints !== null) {
            all.keyps[c][i] = mine.map((a) => {
              const kp = a.keypoints as number[];
              const k = kp.length / 3;
              const rows = new Float32Array(4 * k);
              for (let j = 0; j < k; j++) [rows[j], rows[k + j]] = [kp[3 * j], kp[3 * j + 1]];
              return rows;
            });
          }
        }
      });
      const out = path.join(dir, `gt-${dataset.name}`);
      fs.mkdirSync(out);
      const results = await evaluateAll(dataset, all, out, cfg, { log: noop, forceJson: true });
      const tasks = results[dataset.name];
      if (dataset.keypoints === null) {
        expect(tasks.box.AP).toBeCloseTo(1, 10);
        expect(tasks.mask.AP).toBeCloseTo(1, 10);
        expect(fs.readdirSync(out).sort()).toEqual(['bbox_instances_mini_results.json', 'segmentations_instances_mini_results.json']);
      } else {
        expect(tasks.keypoint.AP).toBeCloseTo(1, 10);
        expect(Object.keys(tasks.keypoint)).toEqual(['AP', 'AP50', 'AP75', 'APm', 'APl']);
      }
      const log: string[] = [];
      expect(checkExpectedResults(results, cfg, { info: (l) => log.push(l), warn: (l) => log.push(l) })).toBe(true);
      expect(log.every((l) => l.startsWith('PASS: '))).toBe(true);
    }
  });
});
