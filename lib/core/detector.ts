/**
 * The library API: load a model once from a config and weights, then detect objects,
 * masks and keypoints in image files, encoded images or raw BGR pixels.
 *
 *   const detector = await Detector.load({ cfg: 'configs/.../e2e_mask_rcnn_R-50-FPN_1x.yaml',
 *                                          weights: 'e2e_mask_rcnn_R-50-FPN_1x' });
 *   const result = await detector.detect('demo/15673749081_767a7fa63a_k.jpg');
 *   detector.dispose();
 */
import { loadConfig } from './config';
import type { ImageDetections } from './detections';
import { resolveWeights, ResolveWeightsOptions } from './model_zoo';
import { detectImage } from './detect';
import { initializeModelFromCfg } from './test_engine';
import { StageTimes } from './timers';
import type { DetectionModel } from '../modeling/build';
import type { Cfg } from '../modeling/config_types';
import { setThreads } from '../nn/runtime';
import { decodeImage, imread } from '../utils/image_io';
import type { NdArray } from '../utils/ndarray';

export interface DetectorOptions {
  /** A Detectron YAML config (original or converted). */
  cfg: string;
  /** A weights path, URL or model-zoo name (downloaded into the cache on first use). */
  weights: string;
  /** KEY VALUE overrides, as --set takes them. */
  overrides?: readonly string[];
  device?: string;
  threads?: number;
  download?: ResolveWeightsOptions;
}

/** An image as the detector accepts it: a file path, encoded bytes, or BGR uint8 H×W×3 pixels. */
export type ImageInput = string | Uint8Array | NdArray;

export class Detector {
  private constructor(readonly cfg: Cfg, readonly model: DetectionModel, readonly weightsFile: string) {}

  static async load(o: DetectorOptions): Promise<Detector> {
    if (o.threads !== undefined) setThreads(o.threads);
    const cfg = loadConfig(o.cfg, { overrides: o.overrides });
    const weightsFile = await resolveWeights(o.weights, o.download);
    return new Detector(cfg, initializeModelFromCfg(cfg, weightsFile, { device: o.device }), weightsFile);
  }

  /** Detections above TEST.SCORE_THRESH, in Detectron's order; `times` collects stage timings. */
  async detect(image: ImageInput, times?: StageTimes): Promise<ImageDetections> {
    const pixels = await toPixels(image);
    return stripDebug(detectImage(this.model, pixels, times));
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** The public result: what the test path returns without its debugging extras. */
function stripDebug(r: ImageDetections): ImageDetections {
  return { height: r.height, width: r.width, imScale: r.imScale, detections: r.detections };
}

async function toPixels(image: ImageInput): Promise<NdArray> {
  if (typeof image === 'string') return imread(image);
  if (image instanceof Uint8Array) return (await decodeImage(image, '<buffer>')).image;
  const [h, w, c] = image.shape;
  if (image.dtype !== 'uint8' || image.shape.length !== 3 || c !== 3 || image.data.length !== h * w * 3) {
    throw new Error(`raw pixels must be BGR uint8 H×W×3, got ${image.dtype} [${image.shape.join(', ')}]`);
  }
  return image;
}
