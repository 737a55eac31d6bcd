/**
 * RPN-only models (MODEL.RPN_ONLY): Detectron's im_proposals and, through `test_net`, its
 * generate_rpn_on_dataset — rpn_proposals.pkl in the proposal-file format a Fast R-CNN test
 * reads (TEST.PROPOSAL_FILES), and evaluate_box_proposals' AR table. The generated
 * e2e_faster_rcnn weights hold every RPN blob; their box-head blobs go unused.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../lib/core/config';
import { detectImage } from '../lib/core/detect';
import { imDetectAll, imProposals } from '../lib/core/test';
import { evaluateBoxProposals } from '../lib/datasets/box_proposal_eval';
import { readProposalFile, type RoidbEntry } from '../lib/datasets/json_dataset';
import { loadDetectronWeights } from '../lib/modeling/detectron_weights';
import { GeneralizedRCNN } from '../lib/modeling/model_builder';
import { imread } from '../lib/utils/image_io';
import { loadWeights } from '../converters/weights';
import { inferSimple } from '../tools/infer_simple';
import { testNet } from '../tools/test_net';
import { proposalsPklValue } from '../lib/core/rpn_generator';
import { writePickle } from '../converters/pkl/write_pkl';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const CONFIGS = path.join(FIXTURES, 'configs/detectron/12_2017_baselines');
const ANN = path.join(FIXTURES, 'coco/annotations/instances_mini.json');
const IMAGES = path.join(FIXTURES, 'coco/images');
const SET = ['TEST.SCALE', '320', 'TEST.MAX_SIZE', '500', 'TEST.RPN_POST_NMS_TOP_N', '300'];

function model(config: string, arch: string, extra: string[] = []): GeneralizedRCNN {
  const cfg = loadConfig(path.join(CONFIGS, config), { overrides: [...SET, ...extra] });
  const m = new GeneralizedRCNN(cfg);
  const report = loadDetectronWeights(m, loadWeights(detectronPkl(arch, 1)).blobs, { strict: true });
  if (cfg.MODEL.RPN_ONLY) expect(report.unused.some((n) => n.startsWith('cls_score'))).toBe(true);
  m.eval().channelsLast();
  return m;
}

describe.each([
  ['rpn_R-50-C4_1x.yaml', 'e2e_faster_rcnn_R-50-C4', 'e2e_faster_rcnn_R-50-C4_1x.yaml'],
  ['rpn_R-50-FPN_1x.yaml', 'e2e_faster_rcnn_R-50-FPN', 'e2e_faster_rcnn_R-50-FPN_1x.yaml'],
])('im_proposals %s', (rpnConfig, arch, faster) => {
  test('image-pixel boxes, best first, the Faster R-CNN RPN\'s proposals', async () => {
    const im = await imread(path.join(IMAGES, '000000000785.jpg'));
    const rpn = model(rpnConfig, arch);
    const frcnn = model(faster, arch);
    try {
      expect(rpn.boxHead).toBeNull();
      const p = imProposals(rpn, im);
      const r = p.scores.length;
      expect(p.boxes.length).toBe(4 * r);
      expect(r).toBeGreaterThan(10);
      expect(r).toBeLessThanOrEqual(300);
      for (let i = 1; i < r; i++) expect(p.scores[i]).toBeLessThanOrEqual(p.scores[i - 1]);
      for (let i = 0; i < r; i++) {
        expect(p.boxes[4 * i]).toBeGreaterThanOrEqual(0);
        expect(p.boxes[4 * i + 2]).toBeGreaterThanOrEqual(p.boxes[4 * i]);
      }
      // The Faster R-CNN RPN (same weights and TEST.RPN_*) proposes the same rois; on FPN its
      // collection keeps the same top-N (as a set: it re-orders by level).
      const debug = imDetectAll(frcnn, im).debug;
      const key = (rows: number[][]) => rows.map((b) => b.map((v) => v.toFixed(2)).join(',')).sort();
      const ours = Array.from({ length: r }, (_, i) => Array.from(p.boxes.subarray(4 * i, 4 * i + 4), (v) => Math.fround(v * Math.fround(p.imScale))));
      const theirs = Array.from({ length: debug.proposals.length / 5 }, (_, i) => Array.from(debug.proposals.subarray(5 * i + 1, 5 * i + 5)));
      expect(theirs.length).toBe(r);
      expect(key(ours)).toEqual(key(theirs));
      expect(() => detectImage(rpn, im)).toThrow(/RPN_ONLY.*test_net/s);
    } finally {
      rpn.dispose();
      frcnn.dispose();
    }
  });
});

function entry(gt: number[][], proposals: number[][], areas?: number[]): RoidbEntry {
  const boxes = Float32Array.from([...gt, ...proposals].flat());
  return {
    boxes,
    gt_classes: Int32Array.from([...gt.map(() => 1), ...proposals.map(() => 0)]),
    is_crowd: new Uint8Array(gt.length + proposals.length),
    seg_areas: Float32Array.from([...(areas ?? gt.map((b) => (b[2] - b[0] + 1) * (b[3] - b[1] + 1))), ...proposals.map(() => 0)]),
  } as unknown as RoidbEntry;
}

describe('evaluate_box_proposals', () => {
  test('exact proposals recall everything; a greedy one-to-one matching', () => {
    const gt = [[0, 0, 99, 99], [200, 200, 249, 249]];
    expect(evaluateBoxProposals([entry(gt, gt)]).ar).toBe(1);
    // one proposal covering the first gt box exactly: recall 1/2 at every threshold
    const half = evaluateBoxProposals([entry(gt, [[0, 0, 99, 99]])]);
    expect(half.numPos).toBe(2);
    expect(half.ar).toBe(0.5);
    // IoU 0.81 (90×90 inside 100×100): recalled at thresholds 0.5..0.8 (7 of 10)
    const r = evaluateBoxProposals([entry([[0, 0, 99, 99]], [[0, 0, 89, 89], [0, 0, 89, 89]])]);
    expect(Array.from(r.gtOverlaps)).toEqual([Math.fround(8100 / 10000)]);
    expect(r.ar).toBeCloseTo(0.7, 12);
    // limit: only the first proposal counts; area: the small gt box (50×50) is 'medium'
    expect(evaluateBoxProposals([entry(gt, [[5, 5, 6, 6], ...gt])], { limit: 1 }).ar).toBe(0);
    expect(evaluateBoxProposals([entry(gt, gt)], { area: 'medium' }).numPos).toBe(1);
    expect(evaluateBoxProposals([entry(gt, gt)], { area: 'small' }).ar).toBeNaN();
  });
});

describe('test_net on an RPN-only model (generate_rpn_on_dataset)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rpn_only_'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('writes rpn_proposals.pkl, prints AR, and feeds a Fast R-CNN test', async () => {
    const info: string[] = [];
    const log = { info: (l: string) => info.push(l), warn: (l: string) => info.push(l) };
    const sink = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
    const summary = await testNet([], {
      cfg: path.join(CONFIGS, 'rpn_R-50-FPN_1x.yaml'), wts: detectronPkl('e2e_faster_rcnn_R-50-FPN', 1), dataset: ANN, imageDir: IMAGES,
      set: [...SET, 'TEST.IMS_PER_BATCH', '2'], outputExt: 'pdf', device: 'cpu', outputDir: out,
    }, { log, reportStream: sink });
    expect(summary.runs).toEqual([]);
    const [run] = summary.proposalRuns;
    expect(path.basename(run.proposalFile)).toBe('rpn_proposals.pkl');
    expect(fs.existsSync(path.join(path.dirname(run.proposalFile), 'rpn_proposal_recall.pkl'))).toBe(true);
    for (const key of ['AR@100', 'ARs@100', 'ARm@100', 'ARl@100', 'AR@1000', 'ARs@1000', 'ARm@1000', 'ARl@1000']) {
      expect(info.some((l) => new RegExp(`^${key} *: \\d\\.\\d{3}$`).test(l))).toBe(true);
    }
    const metrics = Object.values(run.results ?? {})[0].box_proposal;
    expect(metrics['AR@1000']).toBeGreaterThanOrEqual(metrics['AR@100']);

    // the format readProposalFile (JsonDataset's proposal_file) reads
    const read = readProposalFile(run.proposalFile);
    expect(read.idField).toBe('ids');
    expect(read.ids).toEqual(run.ids);
    expect(read.ids).toEqual([...read.ids].sort((a, b) => a - b));
    read.boxes.forEach((b, i) => {
      expect(Array.from(b)).toEqual(Array.from(run.boxes[i]));
      expect(Array.from(read.scores[i])).toEqual(Array.from(run.scores[i]));
    });

    // ... and a Fast R-CNN test on those proposals
    const fast = await testNet([], {
      cfg: path.join(CONFIGS, 'fast_rcnn_R-50-FPN_1x.yaml'), wts: detectronPkl('e2e_faster_rcnn_R-50-FPN', 1), dataset: ANN, imageDir: IMAGES,
      set: [...SET, 'TEST.PROPOSAL_LIMIT', '100', 'TEST.PROPOSAL_FILES', `("${run.proposalFile}",)`], outputExt: 'pdf', device: 'cpu', outputDir: out,
    }, { log, reportStream: sink });
    expect(fast.runs[0].computed).toBe(5);
    expect(fast.failed).toBe(0);

    // Two TEST.DATASETS take their own TEST.PROPOSAL_FILES (Detectron's get_inference_dataset):
    // the second dataset (the same images) gets only each image's best proposal.
    const annB = path.join(out, 'instances_mini_b.json');
    fs.copyFileSync(ANN, annB);
    const top = path.join(out, 'top1_proposals.pkl');
    writePickle(top, proposalsPklValue(read.boxes.map((b) => Float32Array.from(b.slice(0, 4))), read.scores.map((sc) => Float32Array.from(sc.slice(0, 1))), read.ids, ''));
    const two = await testNet([], {
      cfg: path.join(CONFIGS, 'fast_rcnn_R-50-FPN_1x.yaml'), wts: detectronPkl('e2e_faster_rcnn_R-50-FPN', 1), imageDir: IMAGES,
      set: [...SET, 'TEST.PROPOSAL_LIMIT', '100', 'TEST.DATASETS', `("${ANN}", "${annB}")`,
        'TEST.PROPOSAL_FILES', `("${run.proposalFile}", "${top}")`], outputExt: 'pdf', device: 'cpu', outputDir: out,
    }, { log, reportStream: sink });
    const perImage = (r: typeof two.runs[number]): number[] =>
      r.all.boxes[0].map((_, i) => r.all.boxes.reduce((n, cls) => n + ((cls[i]?.length ?? 0) / 5), 0));
    const [countsA, countsB] = two.runs.map(perImage);
    expect(countsA).toEqual(perImage(fast.runs[0]));
    // One proposal gives at most one box per class (80 classes); the full file more than that somewhere.
    countsB.forEach((n) => expect(n).toBeLessThanOrEqual(80));
    expect(countsB.reduce((a, b) => a + b)).toBeLessThan(countsA.reduce((a, b) => a + b));
  });

  test('infer_simple on an RPN-only model says to use test_net', async () => {
    await expect(inferSimple([path.join(IMAGES, '000000000785.jpg')], {
      cfg: path.join(CONFIGS, 'rpn_R-50-FPN_1x.yaml'), wts: '/nonexistent.pkl', outputDir: out, outputExt: 'pdf',
      thresh: 0.7, kpThresh: 2, alwaysOut: false, device: 'cpu', set: [],
    })).rejects.toThrow(/RPN_ONLY.*test_net/s);
  });
});
