/**
 * The sampler and loader (lib/roi_data/loader.ts): Detectron's aspect grouping and epoch layout,
 * reproducibility per seed and from a saved position, worker threads giving the same minibatches
 * as in-process building, invalid minibatches skipped, and worker errors naming the image.
 */
import { RoiDataLoader, Sampler, type LoadedMinibatch } from '../lib/roi_data/loader';
import type { RoiDataEntry } from '../lib/roi_data/data_utils';
import { differingBlobs, fixtureRoidb, makeCfg } from './helpers/roi_data_fixtures';

const sizes = (spec: string): { width: number; height: number }[] =>
  Array.from(spec, (c) => (c === 'h' ? { width: 640, height: 480 } : { width: 480, height: 640 }));

describe('Sampler', () => {
  it('aspect grouping: one orientation per batch, remainders dropped, batches shuffled', () => {
    const s = sizes('hhvhhvvhhvhv'); // 7 landscape, 5 portrait
    const sampler = new Sampler(s, { imsPerBatch: 2, aspectGrouping: true, seed: 3 });
    expect(sampler.batchesPerEpoch).toBe(3 + 2);
    const seenOrders = new Set<string>();
    for (let e = 0; e < 6; e++) {
      const batches = sampler.epoch(e);
      expect(batches.length).toBe(5);
      const flat = batches.flatMap((b) => Array.from(b));
      expect(new Set(flat).size).toBe(10);
      for (const b of batches) {
        expect(b.length).toBe(2);
        expect(new Set(Array.from(b, (i) => s[i].width >= s[i].height)).size).toBe(1);
      }
      expect(batches.filter((b) => s[b[0]].width >= s[b[0]].height).length).toBe(3);
      seenOrders.add(batches.map((b) => (s[b[0]].width >= s[b[0]].height ? 'h' : 'v')).join(''));
    }
    // the orientation of consecutive batches is shuffled too, not all landscape first
    expect(seenOrders.size).toBeGreaterThan(1);
  });

  it('without grouping: a permutation, the last batch wrapping around (Detectron\'s deque)', () => {
    const sampler = new Sampler(sizes('hvhvh'), { imsPerBatch: 2, aspectGrouping: false, seed: 1 });
    const batches = sampler.epoch(0).map((b) => Array.from(b));
    expect(batches.length).toBe(3);
    const perm = [...batches[0], ...batches[1], batches[2][0]];
    expect([...perm].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(batches[2][1]).toBe(perm[0]);
  });

  it('is reproducible per (seed, epoch) and differs across seeds and epochs', () => {
    const s = sizes('hhhhhhhhvvvvvv');
    const a = new Sampler(s, { imsPerBatch: 2, aspectGrouping: true, seed: 7 });
    const b = new Sampler(s, { imsPerBatch: 2, aspectGrouping: true, seed: 7 });
    const c = new Sampler(s, { imsPerBatch: 2, aspectGrouping: true, seed: 8 });
    const flat = (x: Sampler, e: number): number[] => x.epoch(e).flatMap((r) => Array.from(r));
    expect(flat(b, 4)).toEqual(flat(a, 4));
    expect(flat(a, 0)).not.toEqual(flat(a, 1));
    expect(flat(c, 0)).not.toEqual(flat(a, 0));
    expect(() => new Sampler(sizes('hv'), { imsPerBatch: 2, aspectGrouping: true, seed: 0 })).toThrow(/no full batch/);
  });
});

describe('RoiDataLoader', () => {
  const cfg = makeCfg({
    'TRAIN.SCALES': [160, 200], 'TRAIN.MAX_SIZE': 320, 'TRAIN.IMS_PER_BATCH': 2, 'FPN.FPN_ON': true, 'FPN.MULTILEVEL_RPN': true,
    'RPN.RPN_ON': true, RNG_SEED: 4,
  });

  async function take(loader: RoiDataLoader, n: number): Promise<LoadedMinibatch[]> {
    const out: LoadedMinibatch[] = [];
    try {
      for (let i = 0; i < n; i++) out.push(await loader.next());
    } finally {
      await loader.close();
    }
    return out;
  }

  function expectSame(a: LoadedMinibatch[], b: LoadedMinibatch[]): void {
    expect(b.map((m) => [m.epoch, m.batch, Array.from(m.roidbInds), m.images])).toEqual(a.map((m) => [m.epoch, m.batch, Array.from(m.roidbInds), m.images]));
    b.forEach((m, i) => expect(differingBlobs(m.blobs, a[i].blobs)).toEqual([]));
  }

  it('worker threads produce the same minibatches as in-process, in order; positions resume', async () => {
    const roidb = await fixtureRoidb('instances_mini.json');
    const inProcess = await take(new RoiDataLoader(roidb, cfg, { numWorkers: 0 }), 5);
    // 5 landscape images, batches of 2: 2 batches per epoch
    expect(inProcess.map((m) => [m.epoch, m.batch])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]]);
    const workers = await take(new RoiDataLoader(roidb, cfg, { numWorkers: 2, queueSize: 3 }), 5);
    expectSame(inProcess, workers);
    const resumed = await take(new RoiDataLoader(roidb, cfg, { numWorkers: 0, start: { epoch: 1, batch: 1 } }), 2);
    expectSame(inProcess.slice(3), resumed);
    const loader = new RoiDataLoader(roidb, cfg);
    const first = await loader.next();
    expect(loader.position()).toEqual({ epoch: 0, batch: 1 });
    // the entries for generateProposalLabels (uncropped here: the very same objects)
    loader.roidbOf(first).forEach((e, k) => expect(e).toBe(roidb[first.roidbInds[k]]));
    await loader.close();
  }, 60000);

  it('skips invalid minibatches (keypoints below MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH)', async () => {
    const roidb = await fixtureRoidb('person_keypoints_mini.json');
    // gt-only: image 785 has one person (<= 17 visible keypoints), so its minibatches are invalid
    const kcfg = makeCfg({
      'TRAIN.SCALES': [160], 'TRAIN.MAX_SIZE': 320, 'TRAIN.IMS_PER_BATCH': 1, 'MODEL.NUM_CLASSES': 2, 'MODEL.KEYPOINTS_ON': true,
      'KRCNN.NUM_KEYPOINTS': 17, 'KRCNN.HEATMAP_SIZE': 56,
    });
    const all = await take(new RoiDataLoader(roidb, kcfg, { keepInvalid: true }), 4);
    const invalid = all.filter((m) => !m.valid).map((m) => roidb[m.roidbInds[0]].id);
    expect(invalid).toEqual([785]);
    const valid = await take(new RoiDataLoader(roidb, kcfg), 3);
    expect(valid.every((m) => m.valid && roidb[m.roidbInds[0]].id !== 785)).toBe(true);
    expect(valid.map((m) => m.batch)).toEqual(all.filter((m) => m.valid).map((m) => m.batch));
  }, 30000);

  it('a worker error rejects next() with the image path', async () => {
    const [good] = await fixtureRoidb('instances_mini.json');
    const bad: RoiDataEntry = { ...good, image: '/no/such/dir/broken_image.jpg' };
    const one = makeCfg({ 'TRAIN.SCALES': [160], 'TRAIN.MAX_SIZE': 320, 'TRAIN.IMS_PER_BATCH': 1, 'RPN.RPN_ON': true });
    const loader = new RoiDataLoader([bad], one, { numWorkers: 1 });
    try {
      await expect(loader.next()).rejects.toThrow(/\/no\/such\/dir\/broken_image\.jpg: failed to read image/);
    } finally {
      await loader.close();
    }
  }, 30000);
});
