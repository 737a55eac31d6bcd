/**
 * `detectron train_net`: training with Detectron.pytorch's flags and Detectron's recipe
 * (lib/core/train.ts).
 */
import { Command, InvalidArgumentError } from 'commander';
import { trainModel } from '../lib/core/train';
import { distEnvFromProcess, initProcessGroup, rankDevice } from '../lib/utils/distributed';
import { parseAmpDType, type AmpDType } from '../lib/nn/amp';
import { launchLocal } from '../lib/utils/distributed_launch';
import { addThreadsOption } from './common_options';

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

function float(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

/** Detectron.pytorch's default --lr_decay_epochs. */
const DEFAULT_DECAY: number[] = [4, 5];

/** Commander keeps underscores: --load_ckpt arrives as load_ckpt (only dashes camel-case). */
interface TrainNetFlags {
  dataset: string;
  imageDir?: string;
  cfg: string;
  set: string[];
  bs?: number;
  nw: number;
  iter_size: number;
  epochs: number;
  lr_decay_epochs: number[];
  lr?: number;
  lr_decay_gamma?: number;
  resume: boolean;
  load_ckpt?: string;
  load_detectron?: string;
  use_tfboard: boolean;
  output_dir?: string;
  disp_interval: number;
  ckpt_num_per_epoch: number;
  device: string;
  threads?: number;
  seed?: number;
  max_steps?: number;
  nproc: number;
  ddp_no_overlap: boolean;
  amp?: AmpDType;
}

export function register(program: Command): void {
  const cmd = program
    .command('train_net')
    .description("train a model with Detectron's recipe, epoch-based (Detectron.pytorch's tools/train_net.py)")
    .requiredOption('--dataset <name>', 'a dataset catalog name (coco_2017_train, ...) or a COCO annotation file')
    .option('--image-dir <dir>', "the images of an annotation-file --dataset")
    .requiredOption('--cfg <file>', 'Detectron YAML config')
    .option('--set <KEY VALUE...>', 'config overrides', [])
    .option('--bs <n>', 'images per minibatch (default: TRAIN.IMS_PER_BATCH × NUM_GPUS of the config); the LR scales linearly', int('--bs', 1))
    .option('--nw <n>', 'worker threads decoding images and building targets', int('--nw', 0), 0)
    .option('--iter_size <n>', 'minibatches whose gradients are summed per SGD step', int('--iter_size', 1), 1)
    .option('--epochs <n>', 'epochs to train', int('--epochs', 1), 6)
    .option('--lr_decay_epochs <epochs...>', 'epochs (0-indexed) at whose start the LR decays', (v: string, prev: number[] | undefined) => {
      const n = int('--lr_decay_epochs', 0)(v);
      return prev === undefined || prev === DEFAULT_DECAY ? [n] : [...prev, n];
    }, DEFAULT_DECAY)
    .option('--lr <lr>', 'base learning rate (overrides the config and the linear scaling)', float('--lr'))
    .option('--lr_decay_gamma <g>', 'LR decay factor (default SOLVER.GAMMA)', float('--lr_decay_gamma'))
    .option('--resume', 'continue from --load_ckpt (or the newest checkpoint in --output_dir) exactly', false)
    .option('--load_ckpt <file>', 'start from a checkpoint')
    .option('--load_detectron <weights>', 'start from Detectron weights: ImageNet or model-zoo .pkl, path, URL or name')
    .option('--use_tfboard', 'write TensorBoard event files', false)
    .option('--output_dir <dir>', 'where checkpoints, logs and model_final.pkl go')
    .option('--disp_interval <n>', 'iterations between log lines', int('--disp_interval', 1), 20)
    .option('--ckpt_num_per_epoch <n>', 'checkpoints per epoch', int('--ckpt_num_per_epoch', 1), 1)
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--seed <n>', 'random seed (default RNG_SEED)', int('--seed', 0))
    .option('--max_steps <n>', 'stop after this many SGD steps', int('--max_steps', 1))
    .option('--nproc <n>', 'data-parallel processes on this machine (c10d: Gloo on CPU, NCCL on CUDA, one GPU each); --bs is split among them', int('--nproc', 1), 1)
    .option('--ddp_no_overlap', 'all-reduce gradients after backward instead of bucket by bucket during it', false)
    .option('--amp <dtype>', 'mixed precision for the conv body: bf16 (CPU or CUDA) or fp16 (CUDA, with loss scaling)', (v: string) => {
      try {
        return parseAmpDType(v);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    });
  addThreadsOption(cmd).action(async (f: TrainNetFlags, self: Command) => {
    const dataset = f.dataset;
    // Started by torchrun or by --nproc below: one rank of the job.
    const env = distEnvFromProcess();
    if (env === null && f.nproc > 1) {
      // The children rerun this command line (commander keeps it, untyped, as rawArgs).
      const raw = (self.parent as unknown as { rawArgs: string[] }).rawArgs;
      await launchLocal({ nproc: f.nproc, args: raw.slice(raw.indexOf('train_net')) });
      return;
    }
    // One GPU per rank: `--device cuda` means cuda:LOCAL_RANK.
    const device = env === null ? f.device : rankDevice(f.device, env.localRank);
    const distributed = env === null || env.worldSize === 1 ? undefined : initProcessGroup(env, { overlap: !f.ddp_no_overlap, device });
    const result = await trainModel({
      distributed,
      cfg: f.cfg, datasets: dataset.includes(',') ? dataset.split(',') : [dataset], imageDir: f.imageDir,
      overrides: f.set, batchSize: f.bs, iterSize: f.iter_size, numWorkers: f.nw, epochs: f.epochs,
      lrDecayEpochs: f.lr_decay_epochs, lr: f.lr, lrDecayGamma: f.lr_decay_gamma, resume: f.resume,
      loadCkpt: f.load_ckpt, loadDetectron: f.load_detectron, useTfboard: f.use_tfboard, outputDir: f.output_dir,
      dispInterval: f.disp_interval, ckptNumPerEpoch: f.ckpt_num_per_epoch, device, seed: f.seed,
      maxSteps: f.max_steps, amp: f.amp,
    }).finally(() => distributed?.destroy());
    if (distributed !== undefined && !distributed.isMain) return;
    process.stderr.write(`trained ${result.steps} steps (${result.secondsPerStep.toFixed(2)} s/step); final weights: ${result.finalWeights}\n`);
  });
}
