/**
 * `detectron infer_simple`: Detectron's tools/infer_simple.py. Runs a model on a folder of
 * images (or listed images), writes a picture per image like Detectron's vis_one_image, a
 * COCO-format results file per image, and with --json every detection in the golden layout.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../lib/core/config';
import type { ImageDetections } from '../lib/core/detections';
import { resolveWeights } from '../lib/core/model_zoo';
import { cocoResultsForImage, CocoResult, writeCocoResults, writeGoldenLayout, ImageResult } from '../lib/core/results_io';
import { detectImages, rpnOnlyError } from '../lib/core/detect';
import { initializeModelFromCfg } from '../lib/core/test_engine';
import { StageTimes } from '../lib/core/timers';
import { setThreads } from '../lib/nn/runtime';
import { InferenceReport } from '../lib/utils/inference_report';
import { decodeImage, sniffFormat } from '../lib/utils/image_io';
import type { NdArray } from '../lib/utils/ndarray';
import { VisFormat, writeVisOneImage } from '../lib/utils/vis';
import { addImsPerBatchOption, addThreadsOption, takeImsPerBatch } from './common_options';

export interface InferSimpleOptions {
  cfg: string;
  wts: string;
  imageDir?: string;
  imageExt?: string;
  outputDir: string;
  outputExt: VisFormat;
  thresh: number;
  kpThresh: number;
  alwaysOut: boolean;
  device: string;
  threads?: number;
  set: string[];
  json?: string;
  /** Images per conv-body batch (also TEST.IMS_PER_BATCH N in --set). */
  imsPerBatch?: number;
}

function number(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
    return n;
  };
}

function visFormat(v: string): VisFormat {
  if (v === 'png' || v === 'jpg' || v === 'jpeg' || v === 'pdf') return v;
  throw new InvalidArgumentError(`expected png, jpg or pdf, got '${v}'`);
}

/** The images to process: listed paths, or the files of --image-dir (with --image-ext), sorted. */
export function listImages(paths: readonly string[], imageDir: string | undefined, imageExt: string | undefined): string[] {
  if (imageDir === undefined) {
    if (paths.length === 0) throw new Error('no images: give --image-dir or image paths');
    return paths.slice();
  }
  if (!fs.existsSync(imageDir) || !fs.statSync(imageDir).isDirectory()) {
    throw new Error(`--image-dir ${imageDir} is not a folder`);
  }
  const ext = imageExt === undefined ? null : `.${imageExt.replace(/^\./, '').toLowerCase()}`;
  return fs
    .readdirSync(imageDir)
    .filter((f) => ext === null || f.toLowerCase().endsWith(ext))
    .map((f) => path.join(imageDir, f))
    .filter((f) => fs.statSync(f).isFile())
    .concat(paths)
    .sort();
}

/** COCO image id for a file: its numeric stem (COCO's 000000397133.jpg), else its position. */
export function imageIdFor(file: string, index: number): number {
  const stem = path.basename(file, path.extname(file));
  return /^\d+$/.test(stem) ? Number(stem) : index + 1;
}

function cocoFileResults(imageId: number, dets: ImageDetections, cfgKpConf: string): CocoResult[] {
  const kinds = ['bbox', 'segm', 'keypoints'] as const;
  return kinds.flatMap((k) => cocoResultsForImage(imageId, dets, k, { keypointConfidence: cfgKpConf as 'bbox' | 'logit' | 'prob' }));
}

/** Runs the command; resolves to the number of images that failed. */
export async function inferSimple(images: string[], o: InferSimpleOptions): Promise<number> {
  if (o.threads !== undefined) setThreads(o.threads);
  const taken = takeImsPerBatch(o.set);
  const imsPerBatch = o.imsPerBatch ?? taken.imsPerBatch ?? 1;
  const cfg = loadConfig(o.cfg, { overrides: taken.overrides });
  if (cfg.MODEL.RPN_ONLY) throw rpnOnlyError(`infer_simple ${o.cfg}`);
  const weights = await resolveWeights(o.wts).catch((err: Error) => {
    throw new Error(`${err.message}\nOr pass a weights file you have: --wts /path/to/model_final.pkl`);
  });
  const model = initializeModelFromCfg(cfg, weights, { device: o.device });
  const files = listImages(images, o.imageDir, o.imageExt);
  fs.mkdirSync(o.outputDir, { recursive: true });
  const report = new InferenceReport(files.length);
  const all: ImageResult[] = [];
  let failed = 0;
  try {
    for (let b = 0; b < files.length; b += imsPerBatch) {
      const chunk = files.slice(b, b + imsPerBatch).map((file, k) => ({ file, index: b + k }));
      const decoded: Array<NdArray | Outcome> = [];
      for (const { file } of chunk) decoded.push(await readImage(file, report));
      const ok = chunk.filter((c, k) => typeof decoded[k] !== 'string');
      const ims = chunk.map((c, k) => decoded[k]).filter((d): d is NdArray => typeof d !== 'string');
      const times = ims.map(() => new StageTimes());
      let dets: ImageDetections[] | Error;
      try {
        dets = detectImages(model, ims, times);
        times.forEach((t) => report.addStages(t));
      } catch (err) {
        dets = err as Error;
      }
      for (const [k, { file, index }] of chunk.entries()) {
        const d = decoded[k];
        let outcome: Outcome;
        if (typeof d === 'string') outcome = d;
        else if (dets instanceof Error) {
          report.log(`error: ${file}: ${dets.message}`);
          outcome = 'failed';
        } else {
          outcome = await writeImageResults(d, dets[ok.findIndex((c) => c.file === file && c.index === index)], cfg.KRCNN.KEYPOINT_CONFIDENCE, file, index, o, report, all);
        }
        if (outcome === 'failed') failed++;
        report.imageDone(file, outcome !== 'failed');
      }
    }
  } finally {
    model.dispose();
  }
  if (o.json !== undefined) await writeGoldenLayout(o.json, all);
  report.finish();
  return failed;
}

type Outcome = 'done' | 'skipped' | 'failed';

/** The image of `file`, decoded, or why not ('skipped': not an image; 'failed': unreadable). */
async function readImage(file: string, report: InferenceReport): Promise<NdArray | Outcome> {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    report.log(`error: ${file}: cannot read (${(err as Error).message})`);
    return 'failed';
  }
  if (sniffFormat(bytes) === undefined) {
    report.log(`warning: skipping ${file}: not an image (JPEG, PNG, BMP, TIFF or WebP)`);
    return 'skipped';
  }
  try {
    const decoded = await report.timer('decode').time(() => decodeImage(bytes, file));
    for (const w of decoded.warnings) report.log(`warning: ${file}: ${w}`);
    return decoded.image;
  } catch (err) {
    report.log(`error: ${file}: ${(err as Error).message}`);
    return 'failed';
  }
}

/** The picture and the COCO results file of one image's detections. */
async function writeImageResults(
  image: NdArray, dets: ImageDetections, kpConf: string, file: string, index: number, o: InferSimpleOptions,
  report: InferenceReport, all: ImageResult[],
): Promise<Outcome> {
  try {
    await report.timer('vis').time(() => writeVisOneImage(image, file, o.outputDir, dets, {
      thresh: o.thresh, kpThresh: o.kpThresh, format: o.outputExt, alwaysOut: o.alwaysOut,
    }));
    const resultsFile = path.join(o.outputDir, `${path.basename(file)}.json`);
    await writeCocoResults(resultsFile, cocoFileResults(imageIdFor(file, index), dets, kpConf));
    all.push({ image: file, dets });
    return 'done';
  } catch (err) {
    report.log(`error: ${file}: ${(err as Error).message}`);
    return 'failed';
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('infer_simple')
    .description("run a model on images and write pictures and results (Detectron's tools/infer_simple.py)")
    .argument('[images...]', 'image files (in addition to --image-dir)')
    .requiredOption('--cfg <file>', 'Detectron YAML config (original or converted)')
    .requiredOption('--wts <weights>', 'weights: a path, a URL or a model-zoo name')
    .option('--image-dir <dir>', 'folder of images')
    .option('--image-ext <ext>', 'only files with this extension in --image-dir (default: every file)')
    .option('--output-dir <dir>', 'where pictures and results go', '/tmp/infer_simple')
    .option('--output-ext <ext>', 'picture format: pdf, png or jpg', visFormat, 'pdf' as VisFormat)
    .option('--thresh <score>', 'score threshold of drawn detections', number('--thresh'), 0.7)
    .option('--kp-thresh <logit>', 'logit threshold of drawn keypoints', number('--kp-thresh'), 2)
    .option('--always-out', 'write a picture even without detections above --thresh', false)
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--set <KEY VALUE...>', 'config overrides, KEY VALUE pairs', [])
    .option('--json <file>', 'also write every detection above TEST.SCORE_THRESH in the golden layout');
  addImsPerBatchOption(addThreadsOption(cmd)).action(async (images: string[], opts: InferSimpleOptions) => {
    const failed = await inferSimple(images, opts);
    if (failed > 0) {
      process.stderr.write(`detectron: ${failed} image(s) failed\n`);
      process.exitCode = 1;
    }
  });
}
