/**
 * Setting a model up for inference (Detectron's core/test_engine.py,
 * initialize_model_from_cfg): build it from the config, load a weights file into it, put
 * it on its device in inference layout.
 */
import { loadWeights } from '../../converters/weights';
import { loadDetectronWeights, LoadReport } from '../modeling/detectron_weights';
import { buildModel, DetectionModel } from '../modeling/build';
import type { Cfg } from '../modeling/config_types';
import { checkDevice } from '../nn/dtype';
import { native } from '../nn/native';

export interface InitializeOptions {
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** Called with what the weights file did not fit (missing and unused blobs). */
  onReport?: (report: LoadReport) => void;
}

/** Fails early, with the fix, when a CUDA device is asked of a CPU-only libtorch. */
export function checkDeviceAvailable(device: string): string {
  const d = checkDevice(device);
  if (d.startsWith('cuda')) {
    const info = native.info();
    if (!info.cuda) {
      throw new Error(`device ${d}: this libtorch has no CUDA (run 'detectron env'); use --device cpu or build against a CUDA libtorch`);
    }
    const index = d === 'cuda' ? 0 : Number(d.slice(5));
    if (index >= info.cudaDevices) throw new Error(`device ${d}: only ${info.cudaDevices} CUDA device(s) visible`);
  }
  return d;
}

/** A model with `weightsFile` loaded, every parameter of the config's model provided. */
export function initializeModelFromCfg(cfg: Cfg, weightsFile: string, o: InitializeOptions = {}): DetectionModel {
  const device = checkDeviceAvailable(o.device ?? 'cpu');
  const model = buildModel(cfg);
  try {
    const weights = loadWeights(weightsFile);
    const report = loadDetectronWeights(model, weights.blobs, { strict: true, source: weightsFile });
    o.onReport?.(report);
    model.eval().to(device).channelsLast();
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}
