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
import { buildModel, DetectionModel } from '../modeling/build';
import { RetinaNet } from '../modeling/retinanet';
import { retinanetLosses } from '../modeling/retinanet_losses';
import { MomentumSGD, sgdOptionsFromCfg } from '../modeling/optimizer';
import { generalizedRcnnLosses, TrainBatch, TrainOutput } from '../modeling/rcnn_losses';
import type { Cfg } from '../modeling/config_types';
import { cat, manualSeed, Tensor } from '../nn/tensor';
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
import { averageRecords, DistributedTraining } from '../utils/distributed';
import { checkAmp, GradScaler, type AmpDType } from '../nn/amp';
import { cudaMemory, setCudnnBenchmark } from '../nn/runtime';

/** The loss-sampling random stream of rank r > 0 (rank 0 keeps Rng(RNG_SEED), as one process). */
const RANK_LOSS_STREAM = 3;

export interface TrainOptions {
  cfg: string;
  /** Catalog names, or one COCO annotation file (with imageDir). */
  datasets: string[];
  imageDir?: string;
  overrides?: string[];
  /**
   * Images per minibatch (--bs); default TRAIN.IMS_PER_BATCH × NUM_GPUS of the config. With
   * `distributed`, the global minibatch, split evenly over the ranks (Detectron.pytorch's --bs).
   */
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
  /**
   * Mixed precision (lib/nn/amp.ts): the conv body under autocast in this dtype, with dynamic
   * loss scaling for float16 (CUDA); the heads, losses and updates stay float32.
   */
  amp?: AmpDType;
  seed?: number;
  /** Stop after this many SGD steps in total (tests, benchmarks). */
  maxSteps?: number;
  log?: (line: string) => void;
  /**
   * Data-parallel training (lib/utils/distributed.ts): this process computes its ranks' shards
   * of each global minibatch; gradients are averaged over ranks before each SGD step; only
   * the main rank logs and writes files.
   */
  distributed?: DistributedTraining;
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
  const world = o.distributed?.worldSize ?? 1;
  if (bs % world !== 0) throw new Error(`--bs ${bs} does not split evenly over ${world} processes`);
  const adjusted = adjustSolverForBatch({
    BASE_LR: base.SOLVER.BASE_LR, STEPS: base.SOLVER.STEPS, MAX_ITER: base.SOLVER.MAX_ITER,
    originalBatchSize: originalBatch, batchSize: bs, iterSize: o.iterSize ?? 1, adjustSteps: false,
  });
  const datasets = o.datasets.every((d) => !d.endsWith('.json')) ? ['TRAIN.DATASETS', `(${o.datasets.map((d) => `'${d}'`).join(', ')},)`] : [];
  const cfg = loadConfig(o.cfg, {
    overrides: [
      ...(o.overrides ?? []),
      'NUM_GPUS', '1',
      'TRAIN.IMS_PER_BATCH', String(bs / world),
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
async function initialWeights(model: DetectionModel, cfg: Cfg, o: TrainOptions, log: (l: string) => void): Promise<void> {
  const spec = o.loadDetectron ?? (o.loadCkpt === undefined ? cfg.TRAIN.WEIGHTS : '');
  if (spec === '') return;
  const file = await resolveWeights(spec);
  const report = loadDetectronWeights(model, loadWeights(file).blobs, { strict: false, allowHeadMismatch: true, source: file });
  log(`loaded ${report.loaded.length} blobs from ${file}`);
  for (const s of report.skippedHeads) log(`  skipped (other class count, initialised as Detectron does): ${s}`);
  if (report.missing.length > 0) log(`  not in the file, initialised as Detectron does: ${report.missing.length} parameters`);
}

function rngFromWords(s: readonly number[]): Rng {
  return Rng.fromState({ s: [s[0], s[1], s[2], s[3]] });
}

/** The model type's training forward: RetinaNet's dense losses, or the Generalized R-CNN's. */
/**
 * Scalar tensors' values in one transfer: on a GPU each separate read would wait for the
 * device again (float64 holds every float32 and float16 value exactly).
 */
function readScalars(ts: readonly Tensor[]): Float64Array {
  return tidy(() => cat(ts.map((t) => t.detach().double().reshape(1)), 0).cpu().data() as Float64Array);
}

function modelLosses(model: DetectionModel, batch: TrainBatch, rng: Rng): TrainOutput & { metrics?: Record<string, number> } {
  return model instanceof RetinaNet ? retinanetLosses(model, batch) : generalizedRcnnLosses(model, batch, rng);
}

function sumLosses(losses: Map<string, Tensor>): Tensor {
  let total: Tensor | null = null;
  for (const l of losses.values()) total = total === null ? l : total.add(l);
  if (total === null) throw new Error('the model produced no loss');
  return total;
}

/**
 * Memory for the log line's 'mem': peak GPU memory where Detectron reports it; on CPU the
 * process's resident memory, which is what a CPU run is limited by.
 */
function processMemory(device: string): number {
  if (!device.startsWith('cuda')) return process.memoryUsage().rss;
  return cudaMemory(device === 'cuda' ? 0 : Number(device.slice(5))).peakAllocated;
}

/** Trains a Generalized R-CNN or a RetinaNet (by MODEL.TYPE); resolves when the last epoch (or maxSteps) is done. */
export async function trainModel(o: TrainOptions): Promise<TrainResult> {
  const dist = o.distributed;
  const isMain = dist?.isMain ?? true;
  const log = !isMain ? () => {} : o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { cfg } = trainingConfig(o);
  const world = dist?.worldSize ?? 1;
  const globalBatch = cfg.TRAIN.IMS_PER_BATCH * world;
  const device = checkDeviceAvailable(o.device ?? 'cpu');
  const outputDir = o.outputDir ?? path.join('data', 'train_output', path.basename(o.cfg, path.extname(o.cfg)));
  fs.mkdirSync(outputDir, { recursive: true });
  manualSeed(cfg.RNG_SEED);
  const roidb = await combinedRoidbForTraining(datasetSpecs(o), null, cfg, { log });
  const model = buildModel(cfg);
  await initialWeights(model, cfg, o, log);
  model.train().to(device);
  for (const [, p] of model.namedParameters()) p.tensor.requiresGrad_(p.trainable);
  if (o.amp !== undefined) {
    checkAmp(device, o.amp);
    model.mixedPrecision = o.amp;
  }
  // float16 gradients underflow without loss scaling; bfloat16's range is float32's.
  const scaler = o.amp === 'float16' ? new GradScaler() : null;
  // Training scales repeat (TRAIN.SCALES), so cuDNN's per-shape autotuning pays (Detectron.pytorch does the same).
  if (device.startsWith('cuda')) setCudnnBenchmark(true);
  const optimizer = MomentumSGD.forModel(model, sgdOptionsFromCfg(cfg.SOLVER, { log }));
  const iterSize = o.iterSize ?? 1;
  const perEpoch = itersPerEpoch(roidb.length, globalBatch * iterSize);
  if (perEpoch < 1) throw new Error(`${roidb.length} training images cannot fill one step of ${globalBatch * iterSize}`);
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
  let savedRankRngs: number[][] | null = null;
  if (resumeFrom !== undefined) {
    const restored = restoreCheckpoint(resumeFrom, model, optimizer, {
      restoreRng: o.resume === true,
      setJsRng: (s) => { rng = rngFromWords(s); },
    });
    if (o.resume) {
      start = resumePosition(restored.state);
      savedRankRngs = restored.state.rng.ranks ?? null;
    }
    log(`${o.resume ? 'resuming' : 'loaded weights'} from ${resumeFrom} (epoch ${restored.state.epoch}, step ${restored.state.step})`);
  }
  // NHWC weights, as the channels-last activations of features(): mkldnn convolutions run without
  // reorders and return weight gradients in the parameters' own layout.
  model.channelsLast();
  // Every rank starts from rank 0's weights; rank r > 0 samples its RoIs from a stream of its own.
  dist?.wrapModel(model);
  const localRanks = dist?.localRanks ?? [0];
  const otherRngs = new Map(localRanks.filter((r) => r > 0).map((r) => [r, Rng.derive(cfg.RNG_SEED, RANK_LOSS_STREAM, r)]));
  if (o.resume && world > 1) {
    if (savedRankRngs !== null && savedRankRngs.length === world) {
      for (const r of otherRngs.keys()) otherRngs.set(r, rngFromWords(savedRankRngs[r]));
    } else {
      log(`the checkpoint holds no RoI-sampling streams for ${world} ranks (${savedRankRngs?.length ?? 0} saved): ` +
        'ranks other than 0 restart theirs, so this run will not repeat an uninterrupted one exactly');
    }
  }
  /** Every rank's RoI-sampling stream, gathered to each process (a collective: every rank calls it). */
  const rankRngs = (): number[][] | null => {
    if (dist === undefined) return null;
    const local = new Map(localRanks.map((r) => [r, [...(otherRngs.get(r) ?? rng).getState().s]]));
    return dist.gatherRows(local, 4);
  };
  const totalSteps = Math.min(epochs * perEpoch, o.maxSteps ?? Infinity);
  const loader = new RoiDataLoader<RoidbEntry>(roidb, cfg, {
    numWorkers: o.numWorkers ?? 0,
    seed: cfg.RNG_SEED,
    start: { epoch: start.startEpoch, batch: (start.startStep * iterSize) % Math.max(1, Math.floor(roidb.length / globalBatch)) },
    ...(dist === undefined ? {} : { shards: { count: world, indices: localRanks } }),
  });
  const stats = new TrainingStats({ maxIter: totalSteps, logPeriod: o.dispInterval ?? 20, memoryBytes: () => processMemory(device) });
  const statsFile = isMain ? new StatsFileWriter(path.join(outputDir, 'training_stats.jsonl')) : null;
  const tb = o.useTfboard && isMain ? new EventWriter(path.join(outputDir, 'tb')) : null;
  const progress = isMain ? new TrainingProgress(totalSteps, start.startIteration) : null;
  if (isMain) fs.writeFileSync(path.join(outputDir, 'config.yaml'), dumpCfgYaml(cfg));
  const losses: number[] = [];
  let lastGood: string | null = resumeFrom ?? null;
  const t0 = Date.now();
  let steps = 0;
  const checkpoint = (epoch: number, step: number, iteration: number, ranks: number[][] | null): Checkpoint => ({
    blobs: modelBlobs(model),
    momentum: optimizer.momentumArrays(),
    cfg: dumpCfgYaml(cfg),
    state: {
      epoch, step, iteration, itersPerEpoch: perEpoch, lr: optimizer.lr, rng: { ...captureRng(() => [...rng.getState().s]), ranks },
    } as TrainState,
  });
  try {
    let iteration = start.startIteration;
    outer: for (let epoch = start.startEpoch; epoch < epochs; epoch++) {
      for (let step = epoch === start.startEpoch ? start.startStep : 0; step < perEpoch; step++, iteration++) {
        if (iteration >= totalSteps) break outer;
        optimizer.setLr(getLrAtEpoch(schedule, epoch, iteration), iteration);
        stats.iterTic();
        const parts: Array<{ losses: Record<string, number>; metrics: Record<string, number> }> = [];
        const microBatches = iterSize * localRanks.length;
        for (let k = 0; k < microBatches; k++) {
          const mb = await loader.next();
          parts.push(tidy(() => {
            const out = modelLosses(model, { blobs: mb.blobs, roidb: loader.roidbOf(mb) }, otherRngs.get(mb.shard) ?? rng);
            const total = sumLosses(out.losses);
            // Read before backward, so that a non-finite loss never reaches the weights.
            const names = [...out.losses.keys()];
            const read = readScalars([...out.losses.values(), total, ...(out.accuracyCls === null ? [] : [out.accuracyCls])]);
            const values: Record<string, number> = Object.fromEntries(names.map((name, i) => [name, read[i]]));
            const value = read[names.length];
            if (!Number.isFinite(value)) {
              throw new Error(`loss is ${value} at iteration ${iteration} (${JSON.stringify(values)}); ` +
                `training stopped; the last good checkpoint is ${lastGood ?? 'none (no checkpoint written yet)'}`);
            }
            const scaled = scaler === null ? total : scaler.scaleLoss(total);
            if (dist === undefined) scaled.backward();
            else dist.backward(scaled, k === microBatches - 1);
            dispose(out.losses);
            const metrics: Record<string, number> = { ...out.metrics };
            if (out.accuracyCls !== null) metrics.accuracy_cls = read[names.length + 1];
            return { losses: values, metrics };
          }));
        }
        dist?.allReduceGradients(model);
        // The gradients are the same on every rank after the reduction, so every rank skips alike.
        if (scaler === null || scaler.unscaleAndUpdate(optimizer.gradients())) optimizer.step();
        else log(`iteration ${iteration}: gradients overflowed in float16; update skipped, loss scale now ${scaler.scale}`);
        optimizer.zeroGrad();
        stats.iterToc();
        if (dist !== undefined) {
          const [l, m] = [averageRecords(dist, parts.map((p) => p.losses)), averageRecords(dist, parts.map((p) => p.metrics))];
          parts.forEach((p, i) => Object.assign(p, { losses: l[i], metrics: m[i] }));
        }
        stats.updateIterStats(parts.map((p) => p.losses), parts.map((p) => p.metrics));
        losses.push(stats.iterTotalLoss);
        steps++;
        const logged = stats.logIterStats(iteration, optimizer.lr);
        if (logged !== null && isMain) {
          progress?.log(logged.line);
          statsFile?.write(logged.stats, { epoch, step });
          if (tb !== null) logStatsToScalars(tb, logged.stats, iteration);
        }
        progress?.update(iteration - start.startIteration, { loss: stats.iterTotalLoss, lr: optimizer.lr, eta: '' });
        if (isEpochCheckpointStep(step, perEpoch, o.ckptNumPerEpoch ?? 1)) {
          const ranks = rankRngs();
          if (isMain) lastGood = ckpts.save(checkpoint(epoch, step, iteration, ranks)).path;
        }
      }
    }
    const ranks = rankRngs();
    const finalWeights = isMain ? ckpts.saveFinal(checkpoint(Math.max(0, epochs - 1), perEpoch - 1, iteration - 1, ranks)) : ckpts.finalPath;
    log(`wrote ${finalWeights}`);
    // No rank reports success before rank 0 has written the final weights.
    dist?.barrier();
    return { outputDir, finalWeights, losses, steps, secondsPerStep: (Date.now() - t0) / 1000 / Math.max(1, steps) };
  } finally {
    await loader.close();
    statsFile?.close();
    tb?.close();
  }
}
