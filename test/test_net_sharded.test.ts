/**
 * Sharded `detectron test_net` on two fixture images: `--nproc 2` (two child processes on
 * image ranges, merged by the parent) and a launcher's ranks ($WORLD_SIZE/$RANK) must give
 * the detections and AP of one process; a broken image fails as it does in one process; a
 * failing child must fail the run naming its rank.
 * The children run the CLI from the TypeScript sources, as train_net --nproc's do under jest.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ByteReader } from '../converters/pkl/byte_reader';
import { type PyValue } from '../converters/pkl/python_objects';
import { unpickle } from '../converters/pkl/unpickler';
import { PER_IMAGE_DIR } from '../lib/core/test_engine_dataset';
import { splitRange } from '../lib/utils/distributed_launch';
import { buildProgram } from '../tools/detectron';
import { shardArgs, shardTimeoutMs, testNet, type TestNetCliOptions } from '../tools/test_net';
import { rankDevice } from '../lib/utils/distributed';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

const CONFIGS = path.join(FIXTURES, 'configs/detectron/12_2017_baselines');
const CFG = path.join(CONFIGS, 'e2e_mask_rcnn_R-50-FPN_1x.yaml');
const ANN = path.join(FIXTURES, 'coco/annotations/instances_mini.json');
const IMAGES = path.join(FIXTURES, 'coco/images');
const SET = ['TEST.SCALE', '320', 'TEST.MAX_SIZE', '500', 'TEST.DETECTIONS_PER_IM', '30'];
/** The two images, in roidb (image id) order: rank 0 gets 785, rank 1 gets 40083. */
const IDS = [785, 40083];

/** The library entry point, its log captured; `env` adds to the process's environment. */
async function run(o: Partial<TestNetCliOptions> & { outputDir: string; dataset: string }, env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const summary = await testNet([], {
    cfg: CFG, wts: detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), set: SET, outputExt: 'pdf', device: 'cpu', ...o,
  }, {
    log: { info: (l) => lines.push(l), warn: (l) => lines.push(l) },
    reportStream: { write: (c: string) => lines.push(c) },
    env: { ...process.env, ...env },
  });
  return { summary, log: lines.join('\n') };
}

function readPickle(file: string): Map<PyValue, PyValue> {
  const reader = ByteReader.openFile(file);
  try {
    const top = unpickle(reader).value;
    if (!(top instanceof Map)) throw new Error(`${file}: not a dict`);
    return top;
  } finally {
    reader.close();
  }
}

/** detections.pkl without its cfg (which names the output folder). */
function detections(dir: string): unknown {
  const pkl = readPickle(path.join(dir, 'detections.pkl'));
  pkl.delete('cfg');
  return pkl;
}

const resultsFiles = (dir: string): Buffer[] =>
  ['bbox_two_results.json', 'segmentations_two_results.json'].map((f) => fs.readFileSync(path.join(dir, f)));

describe('sharded test_net', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-net-sharded-'));
  const ann = path.join(dir, 'two.json');
  const runDir = (root: string): string => path.join(dir, root, 'test', 'two', 'generalized_rcnn');
  let single: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    const gt = JSON.parse(fs.readFileSync(ANN, 'utf8')) as { images: Array<{ id: number }>; annotations: Array<{ image_id: number }> };
    gt.images = gt.images.filter((im) => IDS.includes(im.id));
    gt.annotations = gt.annotations.filter((a) => IDS.includes(a.image_id));
    fs.writeFileSync(ann, JSON.stringify(gt));
    // One thread, as each of the 2 children of a 2-thread parent gets: the same arithmetic.
    single = await run({ dataset: ann, imageDir: IMAGES, outputDir: path.join(dir, 'single'), threads: 1 });
    expect(single.summary.runs[0].computed).toBe(2);
    // Something to compare: the generated weights do detect (their AP is 0 all the same).
    expect(JSON.parse(resultsFiles(runDir('single'))[0].toString()).length).toBeGreaterThan(0);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("ranges are np.array_split's; a child's arguments parse back to the parent's run on its range", async () => {
    expect(splitRange(0, 5, 2)).toEqual([[0, 3], [3, 5]]);
    expect(splitRange(3, 10, 3)).toEqual([[3, 6], [6, 8], [8, 10]]);
    expect(splitRange(0, 2, 3)).toEqual([[0, 1], [1, 2], [2, 2]]);
    expect(rankDevice('cuda', 1)).toBe('cuda:1');
    expect(rankDevice('cuda:3', 1)).toBe('cuda:3');
    expect(shardTimeoutMs({})).toBe(3_600_000);
    expect(shardTimeoutMs({ DETECTRON_SHARD_TIMEOUT: '2.5' })).toBe(2500);
    expect(() => shardTimeoutMs({ DETECTRON_SHARD_TIMEOUT: 'soon' })).toThrow(/\$DETECTRON_SHARD_TIMEOUT must be a positive number of seconds, got 'soon'/);

    const parent: TestNetCliOptions = {
      cfg: CFG, dataset: ann, imageDir: IMAGES, vis: true, outputExt: 'png', set: [], device: 'cpu', restart: true, nproc: 2, threads: 4,
    };
    const args = shardArgs(parent, {
      dataset: ann, weights: '/w/model.pkl', outputRoot: '/out', overrides: ['TEST.SCALE', '320', 'TEST.BBOX_VOTE.ENABLED', 'True', 'MODEL.X', '-1'],
      imsPerBatch: 2, range: [3, 5], threads: 2, device: 'cpu',
    });
    const program = buildProgram().exitOverride();
    let parsed: { opts: string[]; o: TestNetCliOptions } | null = null;
    program.commands.find((c) => c.name() === 'test_net')!.action((opts: string[], o: TestNetCliOptions) => {
      parsed = { opts, o };
    });
    await program.parseAsync(['node', 'detectron', ...args]);
    expect(parsed).toEqual({
      opts: [],
      o: {
        cfg: CFG, wts: '/w/model.pkl', dataset: ann, imageDir: IMAGES, vis: true, outputExt: 'png', outputDir: '/out', device: 'cpu',
        threads: 2, imsPerBatch: 2, range: ['3', '5'], set: ['TEST.SCALE', '320', 'TEST.BBOX_VOTE.ENABLED', 'True', 'MODEL.X', '-1'],
        // The parent discards saved results once; its children resume and do not shard again.
        restart: false, nproc: 1, shardChild: true,
      },
    });
  });

  test('--nproc 2: two children run one image each; the parent only merges, to the detections and AP of one process', async () => {
    const sharded = await run({ dataset: ann, imageDir: IMAGES, outputDir: path.join(dir, 'nproc'), threads: 2, nproc: 2 });
    expect(sharded.log).toContain('Running two in 2 processes: [0, 1) [1, 2)');
    // Each child's output comes prefixed with its rank; progress is one plain line per image.
    expect(sharded.log).toMatch(/^\[rank 0\] \[1\/1\] .*000000000785\.jpg \(/m);
    expect(sharded.log).toMatch(/^\[rank 1\] \[1\/1\] .*000000040083\.jpg \(/m);
    expect(sharded.log).toMatch(/^\[rank 1\] Wrote detections to: .*detection_range_1_2\.pkl$/m);
    const merged = sharded.summary.runs[0];
    expect([merged.computed, merged.resumed]).toEqual([0, 2]);
    expect(merged.results).toEqual(single.summary.runs[0].results);
    expect(merged.all).toEqual(single.summary.runs[0].all);
    expect(detections(runDir('nproc'))).toEqual(detections(runDir('single')));
    resultsFiles(runDir('nproc')).forEach((b, i) => expect(b.equals(resultsFiles(runDir('single'))[i])).toBe(true));
    expect(sharded.log).toContain('copypaste: Task: mask');
  });

  test("a launcher's ranks: rank 1 runs its image, rank 0 runs its own, waits for rank 1's and merges", async () => {
    const o = { dataset: ann, imageDir: IMAGES, outputDir: path.join(dir, 'ranks'), threads: 1 };
    const rank = (r: number, extra: NodeJS.ProcessEnv = {}) => run(o, { WORLD_SIZE: '2', RANK: String(r), ...extra });
    // Rank 0 alone: its image is done, then it times out naming rank 1's.
    await expect(rank(0, { DETECTRON_SHARD_TIMEOUT: '1' })).rejects
      .toThrow(/timed out after 1 s waiting for the other processes' results of 1 image\(s\): .*000000040083\.jpg \(id 40083, .*40083\.json\)/);
    expect(fs.readdirSync(path.join(runDir('ranks'), PER_IMAGE_DIR))).toEqual(['785.json']);

    const r1 = await rank(1);
    expect(r1.summary.runs[0].results).toBeNull();
    expect(r1.log).toMatch(/^\[rank 1\] \[1\/1\] .*000000040083\.jpg \(/m);
    expect(fs.existsSync(path.join(runDir('ranks'), 'detections.pkl'))).toBe(false);

    const r0 = await rank(0);
    expect(r0.summary.runs[0].computed).toBe(0);
    expect(r0.summary.runs[0].results).toEqual(single.summary.runs[0].results);
    expect(detections(runDir('ranks'))).toEqual(detections(runDir('single')));

    await expect(run({ ...o, nproc: 2 }, { WORLD_SIZE: '2', RANK: '0' })).rejects.toThrow(/--nproc 2 under a launcher \(\$WORLD_SIZE 2\)/);
    await expect(run({ ...o, restart: true }, { WORLD_SIZE: '2', RANK: '1' })).rejects
      .toThrow(/--restart under a launcher .*delete .*per_image and .*test_net_run\.json before launching/);
  });

  test('a broken image fails as in one process: the child goes on, the merge reports it; ranks record it for rank 0', async () => {
    const images = path.join(dir, 'broken-images');
    fs.mkdirSync(images);
    fs.copyFileSync(path.join(IMAGES, '000000000785.jpg'), path.join(images, '000000000785.jpg'));
    fs.writeFileSync(path.join(images, '000000040083.jpg'), Buffer.from('\xff\xd8\xff\xe0garbage', 'binary'));
    const o = { dataset: ann, imageDir: images, threads: 1 };
    const one = await run({ ...o, outputDir: path.join(dir, 'broken-single') });
    expect(one.summary.failed).toBe(1);

    const sharded = await run({ ...o, outputDir: path.join(dir, 'broken-nproc'), threads: 2, nproc: 2 });
    expect(sharded.log).toMatch(/^\[rank 1\] error: .*000000040083\.jpg: cannot decode JPEG/m);
    // The merging pass tries the failed image again (as a resumed run does) and reports it.
    expect(sharded.log).toMatch(/^warning: 1 image\(s\) failed and count as having no detections: .*000000040083\.jpg/m);
    expect(sharded.summary.failed).toBe(1);
    expect(sharded.summary.runs[0].all).toEqual(one.summary.runs[0].all);
    expect(sharded.summary.runs[0].results).toEqual(one.summary.runs[0].results);

    // Under a launcher, rank 1 records the failure and rank 0 counts it instead of waiting.
    const ranks = { ...o, outputDir: path.join(dir, 'broken-ranks') };
    const r1 = await run(ranks, { WORLD_SIZE: '2', RANK: '1' });
    expect(r1.summary.failed).toBe(1);
    const marker = path.join(dir, 'broken-ranks', 'test', 'two', 'generalized_rcnn', PER_IMAGE_DIR, '40083.failed.json');
    expect(JSON.parse(fs.readFileSync(marker, 'utf8'))).toMatchObject({ image_id: 40083, error: expect.stringMatching(/cannot decode JPEG/) });
    const r0 = await run(ranks, { WORLD_SIZE: '2', RANK: '0', DETECTRON_SHARD_TIMEOUT: '60' });
    expect(r0.log).toMatch(/error: .*000000040083\.jpg: cannot decode JPEG.* \(in another process\)/);
    expect(r0.summary.failed).toBe(1);
    expect(r0.summary.runs[0].all).toEqual(one.summary.runs[0].all);
    // A failure recorded before this process started belongs to an earlier run: rank 0 waits for the retry.
    fs.utimesSync(marker, new Date(0), new Date(0));
    fs.rmSync(path.join(dir, 'broken-ranks', 'test', 'two', 'generalized_rcnn', 'detections.pkl'));
    await expect(run(ranks, { WORLD_SIZE: '2', RANK: '0', DETECTRON_SHARD_TIMEOUT: '1' })).rejects
      .toThrow(/timed out after 1 s waiting for the other processes' results of 1 image\(s\): .*000000040083\.jpg/);
  });

  test('a child that fails stops the run with its rank and output', async () => {
    const truncated = path.join(dir, 'truncated.pkl');
    const weights = fs.readFileSync(detectronPkl('e2e_mask_rcnn_R-50-FPN', 1));
    fs.writeFileSync(truncated, weights.subarray(0, weights.length >> 1));
    await expect(run({ dataset: ann, imageDir: IMAGES, wts: truncated, outputDir: path.join(dir, 'crash'), threads: 2, nproc: 2 })).rejects.toThrow(
      /rank [01] of 2 \(images \[[01], [12]\) of two\) exited with code 1; the job is stopped; its last output:\n[\s\S]*truncated\.pkl/,
    );
    expect(fs.existsSync(path.join(runDir('crash'), 'detections.pkl'))).toBe(false);
  });

  test('RPN-only models are not sharded', async () => {
    await expect(run({ cfg: path.join(CONFIGS, 'rpn_R-50-FPN_1x.yaml'), dataset: ann, imageDir: IMAGES, outputDir: path.join(dir, 'rpn'), nproc: 2 }))
      .rejects.toThrow(/--nproc 2: an RPN-only model \(MODEL\.RPN_ONLY, .*rpn_R-50-FPN_1x\.yaml\) cannot be sharded/);
  });
});
