/**
 * Result writers (golden layout, COCO results), atomic writes, COCO category ids, timers and
 * the inference report. The golden-layout round trip is checked with the fixtures' own
 * compare_models.py when a python3 is on the PATH.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ImageDetections } from '../lib/core/detections';
import {
  cocoResults, cocoResultsForImage, parseGoldenLayout, readGoldenLayout, toGoldenImage, writeCocoResults,
  writeGoldenLayout, xyxyToXywh, type CocoBboxResult, type CocoKeypointResult, type CocoSegmResult,
} from '../lib/core/results_io';
import { COCO_CATEGORY_IDS, cocoIdToContiguous, contiguousIdMap, contiguousToCocoId } from '../lib/datasets/coco_categories';
import { encode } from '../lib/datasets/pycocotools/mask';
import { writeFileAtomic, WriteError } from '../lib/utils/atomic_write';
import { detectronTimingLines, InferenceReport } from '../lib/utils/inference_report';
import { Timer, TimerSet } from '../lib/utils/timer';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const GOLDEN = path.join(FIXTURES, 'golden/models');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'results-io-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('COCO category ids', () => {
  it('maps contiguous ids to COCO ids and back', () => {
    expect(COCO_CATEGORY_IDS).toHaveLength(80);
    expect(contiguousToCocoId(1)).toBe(1);
    expect(contiguousToCocoId(11)).toBe(11);
    expect(contiguousToCocoId(12)).toBe(13);
    expect(contiguousToCocoId(25)).toBe(27);
    expect(contiguousToCocoId(80)).toBe(90);
    for (let i = 1; i <= 80; i++) expect(cocoIdToContiguous(contiguousToCocoId(i))).toBe(i);
    expect(() => contiguousToCocoId(0)).toThrow(/not a COCO class/);
    expect(() => contiguousToCocoId(81)).toThrow(/not a COCO class/);
    expect(() => cocoIdToContiguous(12)).toThrow(/not a COCO category/);
  });

  it('numbers any annotation file\'s category ids from 1 in file order (COCO.getCatIds)', () => {
    expect([...contiguousIdMap([7, 3, 5])]).toEqual([[1, 7], [2, 3], [3, 5]]);
  });
});

function sampleDetections(): ImageDetections {
  const h = 6;
  const w = 8;
  const m = new Uint8Array(h * w);
  m[2 * w + 3] = 1;
  m[3 * w + 3] = 1;
  const kps = Array.from({ length: 17 }, (_, k): [number, number, number, number] => [k, 2 * k, 0.5 * k, 0.01 * k]);
  return {
    height: h, width: w, imScale: 1.5,
    detections: [
      { classId: 1, box: [1.5, 2.25, 4.5, 5], score: 0.9, mask: encode(m, h, w), keypoints: kps },
      { classId: 12, box: [0, 0, 0, 0], score: 0.25 },
    ],
  };
}

describe('golden layout', () => {
  it('has the golden files\' field names', () => {
    const g = toGoldenImage('images/a.jpg', sampleDetections());
    expect(Object.keys(g)).toEqual(['image', 'height', 'width', 'im_scale', 'detections']);
    expect(g.detections[0]).toMatchObject({ class_id: 1, box: [1.5, 2.25, 4.5, 5], score: 0.9, mask_area: 2 });
    expect(g.detections[0].keypoints?.[3]).toEqual([3, 6, 1.5, 0.03]);
    expect(g.detections[1]).toEqual({ class_id: 12, box: [0, 0, 0, 0], score: 0.25 });
  });

  it('round-trips through a file', async () => {
    const file = path.join(tmp, 'ours.json');
    const dets = sampleDetections();
    await writeGoldenLayout(file, [{ image: 'images/a.jpg', dets }]);
    expect(await readGoldenLayout(file)).toEqual([{ image: 'images/a.jpg', dets }]);
  });

  it.each(['faster_R-50-C4_s1', 'mask_R-50-FPN_s1', 'keypoint_R-50-FPN_s1'])('rewrites golden %s so that compare_models.py accepts it', async (name) => {
    const golden = path.join(GOLDEN, `${name}.json`);
    const parsed = parseGoldenLayout(fs.readFileSync(golden, 'utf8'));
    expect(parsed[0].dets.detections.length).toBeGreaterThan(0);
    const ours = path.join(tmp, `${name}.ours.json`);
    await writeGoldenLayout(ours, parsed);
    const reread = JSON.parse(fs.readFileSync(ours, 'utf8')) as { images: Array<Record<string, unknown>> };
    const original = JSON.parse(fs.readFileSync(golden, 'utf8')) as { images: Array<Record<string, unknown>> };
    expect(reread.images[0].detections).toEqual(original.images[0].detections);
    const py = spawnSync('python3', [path.join(FIXTURES, 'golden/compare_models.py'), golden, ours], { encoding: 'utf8' });
    if (py.error) return; // no python3 here: the field-by-field check above stands
    expect(py.stdout).toMatch(/PASS\s*$/);
    expect(py.status).toBe(0);
  });

  it('rejects malformed documents with the place named', () => {
    expect(() => parseGoldenLayout('{"images": [{"image": "a", "height": 1, "width": 1, "detections": [{"class_id": 1}]}]}', 'x.json'))
      .toThrow(/x\.json: images\[0\]\.detections\[0\]/);
  });
});

describe('COCO results', () => {
  it('writes boxes as x, y, w, h with Detectron\'s +1', () => {
    expect(xyxyToXywh([1.5, 2.25, 4.5, 5])).toEqual([1.5, 2.25, 4, 3.75]);
    const r = cocoResultsForImage(42, sampleDetections(), 'bbox') as CocoBboxResult[];
    expect(r).toEqual([
      { image_id: 42, category_id: 1, bbox: [1.5, 2.25, 4, 3.75], score: 0.9 },
      { image_id: 42, category_id: 13, bbox: [0, 0, 1, 1], score: 0.25 },
    ]);
  });

  it('writes masks as compressed RLE with string counts', () => {
    const dets = sampleDetections();
    const r = cocoResultsForImage(7, dets, 'segm') as CocoSegmResult[];
    expect(r).toHaveLength(1);
    expect(r[0]).toEqual({ image_id: 7, category_id: 1, segmentation: dets.detections[0].mask, score: 0.9 });
    expect(typeof r[0].segmentation.counts).toBe('string');
  });

  it('writes keypoints as x, y, 1 and scores them by KEYPOINT_CONFIDENCE', () => {
    const [r] = cocoResultsForImage(7, sampleDetections(), 'keypoints') as CocoKeypointResult[];
    expect(r.keypoints).toHaveLength(51);
    expect(r.keypoints.slice(0, 9)).toEqual([0, 0, 1, 1, 2, 1, 2, 4, 1]);
    expect(r.score).toBe(0.9);
    const [logit] = cocoResultsForImage(7, sampleDetections(), 'keypoints', { keypointConfidence: 'logit' }) as CocoKeypointResult[];
    expect(logit.score).toBeCloseTo((0.5 * (16 * 17)) / 2 / 17, 12);
  });

  it('orders a file class by class, then by image id', async () => {
    const a = sampleDetections();
    const all = cocoResults([{ imageId: 9, dets: a }, { imageId: 3, dets: a }], 'bbox');
    expect(all.map((r) => [r.category_id, r.image_id])).toEqual([[1, 3], [1, 9], [13, 3], [13, 9]]);
    const file = path.join(tmp, 'bbox.json');
    await writeCocoResults(file, all);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(all);
  });
});

describe('writeFileAtomic', () => {
  const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

  it('replaces a file whole', async () => {
    const file = path.join(tmp, 'atomic.txt');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(leftovers(tmp)).toEqual([]);
  });

  it('names the path when the directory does not exist', async () => {
    const file = path.join(tmp, 'missing-dir', 'out.json');
    await expect(writeFileAtomic(file, 'x')).rejects.toThrow(WriteError);
    await expect(writeFileAtomic(file, 'x')).rejects.toThrow(`cannot write ${file}`);
  });

  it('leaves no temporary file when the rename fails', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'rename-'));
    const target = path.join(dir, 'is-a-dir');
    fs.mkdirSync(path.join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(`cannot write ${target}`);
    expect(fs.readdirSync(dir)).toEqual(['is-a-dir']);
  });
});

describe('timers and the inference report', () => {
  /** A clock that advances only when told. */
  function fakeClock(): { now: () => number; advance: (s: number) => void } {
    let t = 100;
    return { now: () => t, advance: (s) => (t += s) };
  }

  it('Timer averages like Detectron\'s', () => {
    const c = fakeClock();
    const t = new Timer(c.now);
    t.tic();
    c.advance(2);
    expect(t.toc()).toBe(2);
    t.tic();
    c.advance(1);
    expect(t.toc(false)).toBe(1);
    expect([t.calls, t.totalTime, t.averageTime]).toEqual([2, 3, 1.5]);
    const set = new TimerSet(c.now);
    set.get('b');
    set.get('a');
    expect(set.get('b')).toBe(set.get('b'));
    expect(set.entries().map(([k]) => k)).toEqual(['b', 'a']);
  });

  it('prints plain progress lines and a stage summary when not on a TTY', () => {
    const c = fakeClock();
    const out: string[] = [];
    const report = new InferenceReport(2, { stream: { write: (s: string) => out.push(s), isTTY: false }, clock: c.now });
    report.timer('decode').add(0.5);
    report.addStages({ summary: () => [{ stage: 'im_detect_bbox', totalMs: 1500, calls: 1 }] });
    c.advance(2);
    report.imageDone('a.jpg');
    report.addStages({ summary: () => [{ stage: 'im_detect_bbox', totalMs: 500, calls: 1 }] });
    c.advance(2);
    report.imageDone('b.jpg', false);
    const lines = report.finish();
    expect(out.slice(0, 2)).toEqual(['[1/2] a.jpg (0.50 img/s)\n', '[2/2] b.jpg FAILED (0.50 img/s)\n']);
    expect(out.join('')).not.toMatch(/\r|\x1b/);
    expect(lines[0]).toBe('Processed 2 images (1 failed) in 4.000s (0.50 img/s)');
    expect(lines[2]).toMatch(/^decode\s+1\s+0\.500\s+0\.500$/);
    expect(lines[3]).toMatch(/^im_detect_bbox\s+2\s+2\.000\s+1\.000$/);
  });

  it('formats Detectron\'s per-image timing lines', () => {
    const lines = detectronTimingLines(1.23456, { summary: () => [{ stage: 'misc_bbox', totalMs: 12.5, calls: 1 }] });
    expect(lines).toEqual(['Inference time: 1.235s', ' | misc_bbox: 0.013s']);
  });
});
