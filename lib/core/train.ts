/**
 * Training (Detectron's tools/train_net.py with Detectron.pytorch's epoch-based schedule):
 * minibatches from the roi_data loader, Detectron's losses, Caffe2's momentum SGD, the
 * epoch learning-rate schedule with warm-up, logging, TensorBoard, atomic checkpoints and
 * exact resumption.
 */
import * as fs from 'fs';
import * as path from 'path';
import { dumpCfgYaml, loadConfig } from './config';
import { resolveWeights } from './model_zoo';
import { combinedRoidbForTraining } from '../datasets/roidb';
import type { RoidbEntry } from '../datasets/json_dataset';
import { loadWeights } from '../../converters/weights';
import { loadDetectronWeights } from '../modeling/detectron_weights';
import { GeneralizedRCNN } from '../modeling/model_builder';
import { MomentumSGD, sgdOptionsFromCfg } from '../modeling/optimizer';
import { generalizedRcnnLosses } from '../modeling/rcnn_losses';
import type { Cfg } from '../modeling/config_types';
import { manualSeed, Tensor } from '../nn/tensor';
import { dispose, tidy } from '../nn/scope';
import { RoiDataLoader } from '../roi_data/loader';
import { Rng } from '../roi_data/rng';
import {
  captureRng, CheckpointManager, Checkpoint, modelBlobs, restoreCheckpoint, resumePosition, TrainState,
  isEpochCheckpointStep,
} from '../utils/checkpoints';
import { adjustSolverForBatch, EpochSchedule, getLrAtEpoch, itersPerEpoch } from '../utils/lr_policy';
import { EventWriter } from '../utils/tensorboard';
import { logStatsToScalars, StatsFileWriter, TrainingProgress, TrainingStats } from '../utils/training_stats';
import type { DatasetSpec } from '../datasets/dataset_catalog';
import { checkDeviceAvailable } from './test_engine';

export interface TrainOptions {
  cfg: string;
  /** Catalog names, or one COCO annotation file (with imageDir). */
  datasets: string[];
  imageDir?: string;
  overrides?: string[];
  /** Images per minibatch (--bs); default TRAIN.IMS_PER_BATCH × NUM_GPUS of the config. */
  batchSize?: number;
  /** Minibatches whose gradients are summed per SGD step (--iter_size). */
  iterSize?: number;
  numWorkers?: number;
  epochs?: number;
  lrDecayEpochs?: number[];
  /** --lr: the base learning rate, overriding the config's (after batch scaling). */
  lr?: number;
  lrDecayGamma?: number;
  resume?: boolean;
  loadCkpt?: string;
  loadDetectron?: string;
  useTfboard?: boolean;
  outputDir?: string;
  dispInterval?: number;
  ckptNumPerEpoch?: number;
  /** Checkpoints kept besides model_final.pkl. */
  keepCheckpoints?: number;
  device?: string;
  seed?: number;
  /** Stop after this many SGD steps in total (tests, benchmarks). */
  maxSteps?: number;
  log?: (line: string) => void;
}

export interface TrainResult {
  outputDir: string;
  finalWeights: string;
  /** The summed loss of every SGD step, in order. */
  losses: number[];
  steps: number;
  secondsPerStep: number;
}

/** The config with our single-process batch: NUM_GPUS 1, IMS_PER_BATCH = --bs, linear-scaled LR. */
function trainingConfig(o: TrainOptions): { cfg: Cfg; originalBatch: number } {
  const base = loadConfig(o.cfg, { overrides: o.overrides });
  const originalBatch = base.TRAIN.IMS_PER_BATCH * base.NUM_GPUS;
  const bs = o.batchSize ?? originalBatch;
  const adjusted = adjustSolverForBatch({
    BASE_LR: base.SOLVER.BASE_LR, STEPS: base.SOLVER.STEPS, MAX_ITER: base.SOLVER.MAX_ITER,
    originalBatchSize: originalBatch, batchSize: bs, iterSize: o.iterSize ?? 1, adjustSteps: false,
  });
  const datasets = o.datasets.every((d) => !d.endsWith('.json')) ? ['TRAIN.DATASETS', `(${o.datasets.map((d) => `'${d}'`).join(', ')},)`] : [];
  const cfg = loadConfig(o.cfg, {
    overrides: [
      ...(o.overrides ?? []),
      'NUM_GPUS', '1',
      'TRAIN.IMS_PER_BATCH', String(bs),
      'SOLVER.BASE_LR', String(o.lr ?? adjusted.BASE_LR),
      ...datasets,
      ...(o.seed !== undefined ? ['RNG_SEED', String(o.seed)] : []),
    ],
  });
  return { cfg, originalBatch };
}

function datasetSpecs(o: TrainOptions): Array<string | DatasetSpec> {
  return o.datasets.map((d) => {
    if (!d.endsWith('.json')) return d;
    if (o.imageDir === undefined) throw new Error(`--dataset ${d} is an annotation file: give its images with --image-dir`);
    return { annotationFile: d, imageDirectory: o.imageDir };
  });
}

/** Initial weights: a checkpoint, a Detectron .pkl (ImageNet or model zoo), or TRAIN.WEIGHTS. */
async function initialWeights(model: GeneralizedRCNN, cfg: Cfg, o: TrainOptions, log: (l: string) => void): Promise<void> {
  const spec = o.loadDetectron ?? (o.loadCkpt === undefined ? cfg.TRAIN.WEIGHTS : '');
  if (spec === '') return;
  const file = await resolveWeights(spec);
  const report = loadDetectronWeights(model, loadWeights(file).blobs, { strict: false, allowHeadMismatch: true, source: file });
  log(`loaded ${report.loaded.length} blobs from ${file}`);
  for (const s of report.skippedHeads) log(`  skipped (other class count, initialised as Detectron does): ${s}`);
  if (report.missing.length > 0) log(`  not in the file, initialised as Detectron does: ${report.missing.length} parameters`);
}

function sumLosses(losses: Map<string, Tensor>): Tensor {
  let total: Tensor | null = null;
  for (const l of losses.values()) total = total === null ? l : total.add(l);
  if (total === null) throw new Error('the model produced no loss');
  return total;
}

/** Trains a Generalized R-CNN; resolves when the last epoch (or maxSteps) is done. */
export async function trainModel(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { cfg } = trainingConfig(o);
  const device = checkDeviceAvailable(o.device ?? 'cpu');
  const outputDir = o.outputDir ?? path.join('data', 'train_output', path.basename(o.cfg, path.extname(o.cfg)));
  fs.mkdirSync(outputDir, { recursive: true });
  manualSeed(cfg.RNG_SEED);
  const roidb = await combinedRoidbForTraining(datasetSpecs(o), null, cfg, { log });
  const model = new GeneralizedRCNN(cfg);
  await initialWeights(model, cfg, o, log);
  model.train().to(device);
  for (const [, p] of model.namedParameters()) p.tensor.requiresGrad_(p.trainable);
  const optimizer = MomentumSGD.forModel(model, sgdOptionsFromCfg(cfg.SOLVER, { log }));
  const iterSize = o.iterSize ?? 1;
  const perEpoch = itersPerEpoch(roidb.length, cfg.TRAIN.IMS_PER_BATCH * iterSize);
  if (perEpoch < 1) throw new Error(`${roidb.length} training images cannot fill one step of ${cfg.TRAIN.IMS_PER_BATCH * iterSize}`);
  const epochs = o.epochs ?? 6;
  const schedule: EpochSchedule = {
    baseLr: cfg.SOLVER.BASE_LR,
    gamma: o.lrDecayGamma ?? cfg.SOLVER.GAMMA,
    lrDecayEpochs: o.lrDecayEpochs ?? [4, 5],
    warmUp: cfg.SOLVER,
  };
  let rng = new Rng(cfg.RNG_SEED);
  let start = { startEpoch: 0, startStep: 0, startIteration: 0 };
  const ckpts = new CheckpointManager(outputDir, { keep: o.keepCheckpoints ?? 5 });
  const resumeFrom = o.resume ? (o.loadCkpt ?? ckpts.list().pop()?.path) : o.loadCkpt;
  if (resumeFrom !== undefined) {
    const restored = restoreCheckpoint(resumeFrom, model, optimizer, {
      restoreRng: o.resume === true,
      setJsRng: (s) => { rng = Rng.fromState({ s: [s[0], s[1], s[2], s[3]] }); },
    });
    if (o.resume) start = resumePosition(restored.state);
    log(`${o.resume ? 'resuming' : 'loaded weights'} from ${resumeFrom} (epoch ${restored.state.epoch}, step ${restored.state.step})`);
  }
  const totalSteps = Math.min(epochs * perEpoch, o.maxSteps ?? Infinity);
  const loader = new RoiDataLoader<RoidbEntry>(roidb, cfg, {
    numWorkers: o.numWorkers ?? 0,
    seed: cfg.RNG_SEED,
    start: { epoch: start.startEpoch, batch: (start.startStep * iterSize) % Math.max(1, Math.floor(roidb.length / cfg.TRAIN.IMS_PER_BATCH)) },
  });
  const stats = new TrainingStats({ maxIter: totalSteps, logPeriod: o.dispInterval ?? 20 });
  const statsFile = new StatsFileWriter(path.join(outputDir, 'training_stats.jsonl'));
  const tb = o.useTfboard ? new EventWriter(path.join(outputDir, 'tb')) : null;
  const progress = new TrainingProgress(totalSteps, start.startIteration);
  fs.writeFileSync(path.join(outputDir, 'config.yaml'), dumpCfgYaml(cfg));
  const losses: number[] = [];
  let lastGood: string | null = resumeFrom ?? null;
  const t0 = Date.now();
  let steps = 0;
  const checkpoint = (epoch: number, step: number, iteration: number): Checkpoint => ({
    blobs: modelBlobs(model),
    momentum: optimizer.momentumArrays(),
    cfg: dumpCfgYaml(cfg),
    state: { epoch, step, iteration, itersPerEpoch: perEpoch, lr: optimizer.lr, rng: captureRng(() => [...rng.getState().s]) } as TrainState,
  });
  try {
    let iteration = start.startIteration;
    outer: for (let epoch = start.startEpoch; epoch < epochs; epoch++) {
      for (let step = epoch === start.startEpoch ? start.startStep : 0; step < perEpoch; step++, iteration++) {
        if (iteration >= totalSteps) break outer;
        optimizer.setLr(getLrAtEpoch(schedule, epoch, iteration), iteration);
        stats.iterTic();
        const parts: Array<Record<string, number>> = [];
        for (let k = 0; k < iterSize; k++) {
          const mb = await loader.next();
          parts.push(tidy(() => {
            const out = generalizedRcnnLosses(model, { blobs: mb.blobs, roidb: loader.roidbOf(mb) }, rng);
            const values: Record<string, number> = {};
            for (const [name, t] of out.losses) values[name] = t.item();
            const total = sumLosses(out.losses);
            const value = total.item();
            if (!Number.isFinite(value)) {
              throw new Error(`loss is ${value} at iteration ${iteration} (${JSON.stringify(values)}); ` +
                `training stopped; the last good checkpoint is ${lastGood ?? 'none (no checkpoint written yet)'}`);
            }
            total.backward();
            dispose(out.losses);
            if (out.accuracyCls !== null) values.accuracy_cls = out.accuracyCls;
            return values;
          }));
        }
        optimizer.step();
        optimizer.zeroGrad();
        stats.iterToc();
        const lossValues = parts.map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith('loss'))));
        const metrics = parts.map((p): Record<string, number> => (p.accuracy_cls === undefined ? {} : { accuracy_cls: p.accuracy_cls }));
        stats.updateIterStats(lossValues, metrics);
        losses.push(stats.iterTotalLoss);
        steps++;
        const logged = stats.logIterStats(iteration, optimizer.lr);
        if (logged !== null) {
          progress.log(logged.line);
          statsFile.write(logged.stats, { epoch, step });
          if (tb !== null) logStatsToScalars(tb, logged.stats, iteration);
        }
        progress.update(iteration - start.startIteration, { loss: stats.iterTotalLoss, lr: optimizer.lr, eta: '' });
        if (isEpochCheckpointStep(step, perEpoch, o.ckptNumPerEpoch ?? 1)) {
          lastGood = ckpts.save(checkpoint(epoch, step, iteration)).path;
        }
      }
    }
    const finalWeights = ckpts.saveFinal(checkpoint(Math.max(0, epochs - 1), perEpoch - 1, iteration - 1));
    log(`wrote ${finalWeights}`);
    return { outputDir, finalWeights, losses, steps, secondsPerStep: (Date.now() - t0) / 1000 / Math.max(1, steps) };
  } finally {
    await loader.close();
    statsFile.close();
    tb?.close();
  }
}
