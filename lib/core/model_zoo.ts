/**
 * Detectron's model zoo: catalog look-ups and `resolveWeights`, which turns a weights spec (a
 * local path, an http(s) URL, or a catalog name such as `e2e_mask_rcnn_R-50-FPN_1x`, `R-50` or a
 * model id) into a local file, downloading it into the cache when needed.
 *
 * The cache mirrors Detectron's own (`cache_url`): a file under Detectron's download root lands at
 * the same relative path under the cache folder, so an existing Detectron download cache can be
 * used as it is (DETECTRON_CACHE=/tmp/detectron-download-cache).
 */
import * as fs from 'fs';
import * as path from 'path';
import { closestKey } from './config_keys';
import { DetectronConfig } from './config_defaults';
import { PRETRAINED_BACKBONES, PretrainedBackbone, ZOO_RUNS, ZooMetrics, ZooRun } from './model_zoo_catalog';
import { DownloadOptions, downloadFile } from '../utils/download';

export { PRETRAINED_BACKBONES, ZOO_RUNS } from './model_zoo_catalog';
export type { PretrainedBackbone, ZooMetrics, ZooRun } from './model_zoo_catalog';

/** Where Detectron's files are published (Detectron's `_DETECTRON_S3_BASE_URL`). */
export const DETECTRON_BASE_URL = 'https://dl.fbaipublicfiles.com/detectron';

export interface ZooModel {
  readonly name: string;
  readonly kind: 'baseline' | 'imagenet';
  readonly id?: number;
  readonly url: string;
  /** The converted config in this repository (relative to its root), for baselines. */
  readonly config?: string;
  readonly backbone: string;
  readonly schedule?: string;
  readonly metrics?: ZooMetrics;
  /** Published outputs (proposals_<dataset>, boxes, masks, keypoints) as URLs. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly description?: string;
}

function configGroup(run: ZooRun): string {
  const m = /(12_2017_baselines|04_2018_gn_baselines)\//.exec(run.run);
  if (!m) throw new Error(`model zoo entry ${run.name} has no config group in ${run.run}`);
  return m[1];
}

function fromRun(run: ZooRun): ZooModel {
  const base = `${DETECTRON_BASE_URL}/${run.run}`;
  const outputs: Record<string, string> = {};
  for (const [k, rel] of Object.entries(run.outputs ?? {})) outputs[k] = `${base}/${rel}`;
  return {
    name: run.name,
    kind: 'baseline',
    id: run.id,
    url: `${base}/${run.model}`,
    config: `configs/${configGroup(run)}/${run.name}.yaml`,
    backbone: run.backbone,
    schedule: run.schedule,
    metrics: run.metrics,
    outputs,
  };
}

function fromBackbone(b: PretrainedBackbone): ZooModel {
  return {
    name: b.name,
    kind: 'imagenet',
    url: `${DETECTRON_BASE_URL}/${b.path}`,
    backbone: b.name,
    outputs: {},
    description: b.description,
  };
}

let catalog: readonly ZooModel[] | undefined;

/** Every model: the baselines, then the ImageNet-pretrained backbones. */
export function listModels(): readonly ZooModel[] {
  catalog ??= [...ZOO_RUNS.map(fromRun), ...PRETRAINED_BACKBONES.map(fromBackbone)];
  return catalog;
}

/**
 * A model by name (`e2e_mask_rcnn_R-50-FPN_1x`, `R-50`), by the file name Detectron's configs use
 * (`ImageNetPretrained/MSRA/R-50.pkl`, `R-50.pkl`), or by model id; undefined if none.
 */
export function findModel(spec: string): ZooModel | undefined {
  const s = spec.trim();
  return listModels().find(
    (m) =>
      m.name === s ||
      (m.id !== undefined && String(m.id) === s) ||
      (m.kind === 'imagenet' && (m.url.endsWith(`/${s}`) || `${m.name}.pkl` === s)),
  );
}

/** The repository root (the folder holding package.json), from this file's location. */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** `$DETECTRON_CACHE`, else `data/cache/models` under the repository. */
export function defaultCacheDir(): string {
  const env = process.env.DETECTRON_CACHE;
  return env !== undefined && env !== '' ? env : path.join(repoRoot(), 'data', 'cache', 'models');
}

/**
 * Where `url` is cached: Detectron's files keep their path below the download root (as
 * Detectron's cache_url does); other URLs go under `<host>[_<port>]/<path>`.
 */
export function cachePathForUrl(url: string, cacheDir: string): string {
  const parsed = new URL(url);
  let rel: string;
  if (url.startsWith(`${DETECTRON_BASE_URL}/`)) rel = url.slice(DETECTRON_BASE_URL.length + 1);
  else {
    if (parsed.pathname.endsWith('/')) throw new Error(`cannot cache ${url}: its path does not name a file`);
    rel = `${parsed.hostname}${parsed.port ? `_${parsed.port}` : ''}${parsed.pathname}`;
  }
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '..' || p === '.')) {
    throw new Error(`cannot cache ${url}: its path does not name a file`);
  }
  return path.join(cacheDir, ...parts);
}

export interface ResolveWeightsOptions extends DownloadOptions {
  /** Cache folder (default: defaultCacheDir()). */
  readonly cacheDir?: string;
  /** A mirror of Detectron's download root to fetch catalog files from (same layout). */
  readonly baseUrl?: string;
}

const URL_RE = /^https?:\/\//i;

/** The catalog name closest to a mistyped one, for the error message. */
function suggestion(spec: string): string {
  const names = listModels().map((m) => m.name);
  const near = closestKey(spec, names);
  return near ? ` (did you mean ${near}?)` : '';
}

/**
 * A local file for `spec`: an existing path as it is; an http(s) URL or a catalog name
 * downloaded into the cache (resumable, atomic). Detectron's URLs are checked against their
 * published `.md5sum` where one exists.
 */
export async function resolveWeights(spec: string, options: ResolveWeightsOptions = {}): Promise<string> {
  if (spec.trim() === '') throw new Error('no weights given (an empty path, URL or model name)');
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  let url: string;
  if (URL_RE.test(spec)) url = spec;
  else if (fs.existsSync(spec)) {
    if (!fs.statSync(spec).isFile()) throw new Error(`weights ${spec} is not a file`);
    return path.resolve(spec);
  } else {
    const model = findModel(spec);
    if (model === undefined) {
      throw new Error(`weights ${spec}: no such file, and not a URL or a model zoo name${suggestion(spec)}`);
    }
    url = model.url;
  }
  const dest = cachePathForUrl(url, cacheDir);
  const isDetectron = url.startsWith(`${DETECTRON_BASE_URL}/`);
  const mirror = options.baseUrl?.replace(/\/+$/, '');
  const fetchUrl = isDetectron && mirror ? `${mirror}/${url.slice(DETECTRON_BASE_URL.length + 1)}` : url;
  return downloadFile(fetchUrl, dest, { md5Sidecar: isDetectron, ...options });
}

/**
 * Detectron's `cache_cfg_urls` (run by assert_and_infer_cfg there): TRAIN/TEST.WEIGHTS and the
 * PROPOSAL_FILES that are URLs are downloaded and replaced by their cached paths. Call it on the
 * mutable config, before assertAndInferCfg.
 */
export async function cacheCfgUrls(
  cfg: DetectronConfig,
  options: ResolveWeightsOptions = {},
): Promise<DetectronConfig> {
  const local = (v: string): Promise<string> => (URL_RE.test(v) ? resolveWeights(v, options) : Promise.resolve(v));
  cfg.TRAIN.WEIGHTS = await local(cfg.TRAIN.WEIGHTS);
  cfg.TEST.WEIGHTS = await local(cfg.TEST.WEIGHTS);
  const train: string[] = [];
  for (const f of cfg.TRAIN.PROPOSAL_FILES) train.push(await local(f));
  const test: string[] = [];
  for (const f of cfg.TEST.PROPOSAL_FILES) test.push(await local(f));
  cfg.TRAIN.PROPOSAL_FILES = train;
  cfg.TEST.PROPOSAL_FILES = test;
  return cfg;
}
