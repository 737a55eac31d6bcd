/**
 * The model zoo catalog (checked against Detectron's own configs) and resolveWeights' downloads,
 * against a local HTTP server: full, resumed, restarted, truncated, 404, offline, md5.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { getDefaultConfig, mergeCfgFromList } from '../lib/core/config';
import {
  DETECTRON_BASE_URL,
  cacheCfgUrls,
  cachePathForUrl,
  defaultCacheDir,
  findModel,
  listModels,
  resolveWeights,
} from '../lib/core/model_zoo';
import { downloadFile } from '../lib/utils/download';

const FIXTURES = path.resolve(__dirname, '../../shared/fixtures');
const REPO = path.resolve(__dirname, '..');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

describe('catalog', () => {
  const models = listModels();

  test("holds MODEL_ZOO.md's baselines, the GN baselines and the ImageNet backbones", () => {
    expect(models.filter((m) => m.kind === 'baseline').length).toBe(78);
    expect(models.filter((m) => m.config?.startsWith('configs/04_2018_gn_baselines/')).length).toBe(4);
    expect(models.filter((m) => m.kind === 'imagenet').map((m) => m.name)).toEqual([
      'R-50',
      'R-101',
      'X-101-64x4d',
      'X-101-32x8d',
      'X-152-32x8d-IN5k',
      'R-50-GN',
      'R-101-GN',
    ]);
    expect(new Set(models.map((m) => m.name)).size).toBe(models.length);
    for (const m of models) {
      expect(m.url.startsWith(`${DETECTRON_BASE_URL}/`)).toBe(true);
      expect(m.url.endsWith('.pkl')).toBe(true);
      if (m.config !== undefined) expect(fs.existsSync(path.join(REPO, m.config))).toBe(true);
    }
  });

  test('entries carry the published URL, id, outputs and metrics', () => {
    const m = findModel('e2e_mask_rcnn_R-50-FPN_1x');
    expect(m).toMatchObject({
      id: 35858933,
      config: 'configs/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml',
      url:
        'https://dl.fbaipublicfiles.com/detectron/35858933/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml.' +
        '01_48_14.DzEQe4wC/output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
      metrics: { boxAP: 37.7, maskAP: 33.9 },
      schedule: '1x',
    });
    expect(Object.keys(m?.outputs ?? {})).toEqual(['boxes', 'masks']);
    expect(findModel('35858933')).toBe(m);
    expect(findModel('e2e_mask_rcnn_R-101-FPN_2x_gn')?.url).toBe(
      'https://dl.fbaipublicfiles.com/detectron/GN/48616724/04_2018_gn_baselines/e2e_mask_rcnn_R-101-FPN_2x_gn_0416.' +
        '13_26_34.GLnri4GR/output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    );
    expect(findModel('ImageNetPretrained/MSRA/R-50.pkl')?.name).toBe('R-50');
    expect(findModel('R-101-GN.pkl')?.url).toBe(`${DETECTRON_BASE_URL}/ImageNetPretrained/47592356/R-101-GN.pkl`);
    expect(findModel('e2e_mask_rcnn_R-50-FPN_9x')).toBeUndefined();
  });

  test("every URL in Detectron's 87 configs is a catalog file", () => {
    // Configs write ':' where MODEL_ZOO.md writes '%3A': the same file.
    const known = new Set(models.flatMap((m) => [m.url, ...Object.values(m.outputs)]).map(decodeURIComponent));
    const urls = new Set<string>();
    for (const f of filesUnder(path.join(FIXTURES, 'configs/detectron')).filter((x) => x.endsWith('.yaml'))) {
      for (const u of fs.readFileSync(f, 'utf8').match(/https?:\/\/[^\s'",)]+/g) ?? []) urls.add(u);
    }
    expect(urls.size).toBe(36);
    expect([...urls].filter((u) => !known.has(decodeURIComponent(u)))).toEqual([]);
  });
});

describe('cache layout', () => {
  test("mirrors Detectron's cache_url for its files, host/path otherwise", () => {
    expect(cachePathForUrl(`${DETECTRON_BASE_URL}/ImageNetPretrained/MSRA/R-50.pkl`, '/c')).toBe(
      '/c/ImageNetPretrained/MSRA/R-50.pkl',
    );
    expect(cachePathForUrl('http://127.0.0.1:8080/a/b.pkl', '/c')).toBe('/c/127.0.0.1_8080/a/b.pkl');
    expect(() => cachePathForUrl('http://host/', '/c')).toThrow(
      'cannot cache http://host/: its path does not name a file',
    );
    expect(() => cachePathForUrl('http://host/a/../../b.pkl', '/c')).not.toThrow();
    expect(cachePathForUrl('http://host/a/../../b.pkl', '/c')).toBe('/c/host/b.pkl');
  });

  test('defaults to $DETECTRON_CACHE, else data/cache/models in the repository', () => {
    const saved = process.env.DETECTRON_CACHE;
    try {
      process.env.DETECTRON_CACHE = '/somewhere/cache';
      expect(defaultCacheDir()).toBe('/somewhere/cache');
      delete process.env.DETECTRON_CACHE;
      expect(defaultCacheDir()).toBe(path.join(REPO, 'data/cache/models'));
    } finally {
      if (saved === undefined) delete process.env.DETECTRON_CACHE;
      else process.env.DETECTRON_CACHE = saved;
    }
  });
});

describe('resolveWeights', () => {
  // Deterministic 300 kB payload.
  const DATA = Buffer.alloc(300_000);
  for (let i = 0, x = 12345; i < DATA.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    DATA[i] = x >>> 24;
  }
  const MD5 = createHash('md5').update(DATA).digest('hex');

  let server: http.Server;
  let base: string;
  let tmp: string;
  let cache: string;
  const log: Array<{ url: string; range?: string }> = [];
  let flakyCalls = 0;

  /** Serves DATA honouring Range; `cut` ends the body early by destroying the socket. */
  function serve(res: http.ServerResponse, range: string | undefined, honourRange: boolean, cut?: number): void {
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (honourRange && m) {
      start = Number(m[1]);
      if (start >= DATA.length) {
        res.writeHead(416, { 'content-range': `bytes */${DATA.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-range': `bytes ${start}-${DATA.length - 1}/${DATA.length}`,
        'content-length': DATA.length - start,
      });
    } else {
      res.writeHead(200, { 'content-length': DATA.length });
    }
    if (cut === undefined) {
      res.end(DATA.subarray(start));
      return;
    }
    res.write(DATA.subarray(start, cut), () => res.destroy());
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-zoo-'));
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      const range = req.headers.range;
      log.push({ url, range });
      if (url === '/files/w.pkl') serve(res, range, true);
      else if (url === '/norange/w.pkl') serve(res, range, false);
      else if (url === '/flaky/w.pkl') serve(res, range, true, flakyCalls++ === 0 ? 120_000 : undefined);
      else if (url === '/redirect/w.pkl') res.writeHead(302, { location: '/files/w.pkl' }).end();
      else if (url === '/mirror/ImageNetPretrained/MSRA/R-50.pkl') serve(res, range, true);
      else if (url === '/mirror/ImageNetPretrained/MSRA/R-50.pkl.md5sum') res.end(`${MD5}\n`);
      else if (url === '/mirror/ImageNetPretrained/MSRA/R-101.pkl') serve(res, range, true);
      else if (url === '/mirror/ImageNetPretrained/MSRA/R-101.pkl.md5sum') res.end(`${'0'.repeat(32)}\n`);
      else if (url === '/mirror/ImageNetPretrained/FBResNeXt/X-101-64x4d.pkl') serve(res, range, true);
      else res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(tmp, 'cache-'));
    log.length = 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const quiet = { progress: false as const, log: () => undefined };

  test('a local file is returned as it is; bad specs are clear errors', async () => {
    const local = path.join(tmp, 'local.pkl');
    fs.writeFileSync(local, 'x');
    await expect(resolveWeights(local, { cacheDir: cache })).resolves.toBe(local);
    await expect(resolveWeights(tmp, { cacheDir: cache })).rejects.toThrow(`weights ${tmp} is not a file`);
    await expect(resolveWeights('e2e_mask_rcnn_R-50-FPN_1y', { cacheDir: cache })).rejects.toThrow(
      'weights e2e_mask_rcnn_R-50-FPN_1y: no such file, and not a URL or a model zoo name ' +
        '(did you mean e2e_mask_rcnn_R-50-FPN_1x?)',
    );
  });

  test('downloads a URL into the cache once', async () => {
    const url = `${base}/redirect/w.pkl`;
    const file = await resolveWeights(url, { cacheDir: cache, ...quiet });
    expect(file).toBe(cachePathForUrl(url, cache));
    expect(fs.readFileSync(file).equals(DATA)).toBe(true);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['w.pkl']);
    expect(log.map((l) => l.url)).toEqual(['/redirect/w.pkl', '/files/w.pkl']);
    await resolveWeights(url, { cacheDir: cache, ...quiet });
    expect(log.length).toBe(2);
  });

  test('resumes a partial download with a Range request', async () => {
    const url = `${base}/files/w.pkl`;
    const dest = cachePathForUrl(url, cache);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(`${dest}.part`, DATA.subarray(0, 100_000));
    const progress: number[] = [];
    await resolveWeights(url, {
      cacheDir: cache,
      progress: { start: (t, d) => progress.push(t ?? -1, d), update: (d) => progress.push(d), stop: () => undefined },
    });
    expect(log).toEqual([{ url: '/files/w.pkl', range: 'bytes=100000-' }]);
    expect(progress.slice(0, 2)).toEqual([300_000, 100_000]);
    expect(progress[progress.length - 1]).toBe(300_000);
    expect(fs.readFileSync(dest).equals(DATA)).toBe(true);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    // A whole part (a run stopped before the rename) gets 416 and is kept as it is.
    const other = path.join(cache, 'whole', 'w.pkl');
    fs.mkdirSync(path.dirname(other), { recursive: true });
    fs.writeFileSync(`${other}.part`, DATA);
    await downloadFile(url, other, { progress: false });
    expect(log[log.length - 1]).toEqual({ url: '/files/w.pkl', range: 'bytes=300000-' });
    expect(fs.readFileSync(other).equals(DATA)).toBe(true);
  });

  test('restarts when the server ignores Range', async () => {
    const url = `${base}/norange/w.pkl`;
    const dest = cachePathForUrl(url, cache);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(`${dest}.part`, Buffer.alloc(50_000, 7));
    await downloadFile(url, dest, quiet);
    expect(fs.readFileSync(dest).equals(DATA)).toBe(true);
  });

  test('a cut connection keeps the part, and the next call completes it', async () => {
    const url = `${base}/flaky/w.pkl`;
    const dest = cachePathForUrl(url, cache);
    await expect(resolveWeights(url, { cacheDir: cache, ...quiet })).rejects.toThrow(
      new RegExp(`^cannot download ${url}: .*If this machine is offline, .* put it at ${dest}$`),
    );
    expect(fs.existsSync(dest)).toBe(false);
    const kept = fs.statSync(`${dest}.part`).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(120_000);
    await resolveWeights(url, { cacheDir: cache, ...quiet });
    expect(log[log.length - 1].range).toBe(`bytes=${kept}-`);
    expect(fs.readFileSync(dest).equals(DATA)).toBe(true);
  });

  test('HTTP 404 and an unreachable server name the URL and where to put the file', async () => {
    const url = `${base}/missing/w.pkl`;
    const dest = cachePathForUrl(url, cache);
    await expect(resolveWeights(url, { cacheDir: cache, ...quiet })).rejects.toThrow(
      `cannot download ${url}: HTTP 404 Not Found. If this machine is offline, fetch the file elsewhere and ` +
        `put it at ${dest}`,
    );
    expect(fs.existsSync(dest)).toBe(false);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/w.pkl`;
    await new Promise((resolve) => closed.close(resolve));
    await expect(resolveWeights(deadUrl, { cacheDir: cache, ...quiet })).rejects.toThrow(
      new RegExp(`^cannot download ${deadUrl}: connect ECONNREFUSED .*put it at ${cachePathForUrl(deadUrl, cache)}$`),
    );
  });

  test('catalog names download from a mirror, checked against the published md5', async () => {
    const opts = { cacheDir: cache, baseUrl: `${base}/mirror/`, ...quiet };
    const file = await resolveWeights('R-50', opts);
    expect(file).toBe(path.join(cache, 'ImageNetPretrained/MSRA/R-50.pkl'));
    expect(fs.readFileSync(file).equals(DATA)).toBe(true);
    expect(log.map((l) => l.url)).toEqual([
      '/mirror/ImageNetPretrained/MSRA/R-50.pkl',
      '/mirror/ImageNetPretrained/MSRA/R-50.pkl.md5sum',
    ]);
    await expect(resolveWeights('R-101', opts)).rejects.toThrow(
      `md5 mismatch: got ${MD5}, expected ${'0'.repeat(32)} (the download was deleted; retry)`,
    );
    expect(fs.readdirSync(path.join(cache, 'ImageNetPretrained/MSRA')).sort()).toEqual(['R-50.pkl']);
    // No .md5sum published: downloaded, with a note.
    const notes: string[] = [];
    await resolveWeights('X-101-64x4d', { ...opts, log: (m) => notes.push(m) });
    expect(notes).toEqual([expect.stringMatching(/^note: no checksum published for .*X-101-64x4d\.pkl/)]);
  });

  test('an explicit md5 is checked, and a live lock refuses a second writer', async () => {
    const url = `${base}/files/w.pkl`;
    const dest = path.join(cache, 'x', 'w.pkl');
    await expect(downloadFile(url, dest, { ...quiet, md5: 'f'.repeat(32) })).rejects.toThrow(/md5 mismatch/);
    await downloadFile(url, dest, { ...quiet, md5: MD5.toUpperCase() });
    expect(fs.readFileSync(dest).equals(DATA)).toBe(true);
    const other = path.join(cache, 'y', 'w.pkl');
    fs.mkdirSync(path.dirname(other), { recursive: true });
    fs.writeFileSync(`${other}.part.lock`, `${process.pid}\n`);
    await expect(downloadFile(url, other, quiet)).rejects.toThrow(
      `another download (process ${process.pid}) is writing this file; lock file ${other}.part.lock`,
    );
    fs.writeFileSync(`${other}.part.lock`, '999999999\n');
    await downloadFile(url, other, quiet);
    expect(fs.existsSync(`${other}.part.lock`)).toBe(false);
  });

  test("cacheCfgUrls replaces the config's URLs by cached files, as Detectron's cache_cfg_urls", async () => {
    const cfg = mergeCfgFromList(getDefaultConfig(), [
      'TEST.WEIGHTS', `${base}/files/w.pkl`,
      'TRAIN.WEIGHTS', '/local/R-50.pkl',
      'TEST.PROPOSAL_FILES', `('${base}/norange/w.pkl', '/local/props.pkl')`,
    ]);
    await cacheCfgUrls(cfg, { cacheDir: cache, ...quiet });
    expect(cfg.TEST.WEIGHTS).toBe(cachePathForUrl(`${base}/files/w.pkl`, cache));
    expect(cfg.TRAIN.WEIGHTS).toBe('/local/R-50.pkl');
    expect(cfg.TEST.PROPOSAL_FILES).toEqual([cachePathForUrl(`${base}/norange/w.pkl`, cache), '/local/props.pkl']);
    expect(fs.readFileSync(cfg.TEST.WEIGHTS).equals(DATA)).toBe(true);
  });
});
