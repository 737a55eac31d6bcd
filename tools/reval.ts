/**
 * `detectron reval`: re-evaluate a COCO results file against COCO ground truth with our port of
 * pycocotools' COCOeval, printing what Detectron's evaluation logs (per-category AP table and
 * pycocotools' summary), or with --json only the numbers.
 */
import type { Command } from 'commander';
import { evaluateCocoResults } from '../lib/datasets/json_dataset_evaluator';
import type { IouType } from '../lib/datasets/pycocotools/coco';

export interface RevalOptions {
  gt: string;
  dets: string;
  type: string;
  json?: boolean;
}

const IOU_TYPES: readonly IouType[] = ['bbox', 'segm', 'keypoints'];

function parseIouType(value: string): IouType {
  if (!(IOU_TYPES as readonly string[]).includes(value)) {
    throw new Error(`--type must be one of ${IOU_TYPES.join(', ')}, got '${value}'`);
  }
  return value as IouType;
}

/** The --json document: summary stats and AP per category id (-1 where undefined). */
export function revalJson(stats: readonly number[], perCategory: ReadonlyMap<number, number>): string {
  const perCat: Record<string, number> = {};
  for (const [id, ap] of perCategory) perCat[String(id)] = Number.isNaN(ap) ? -1 : ap;
  return JSON.stringify({ stats: [...stats], per_category_AP: perCat });
}

export function runReval(opts: RevalOptions): void {
  const iouType = parseIouType(opts.type);
  const lines: string[] = [];
  const result = evaluateCocoResults(opts.gt, opts.dets, iouType, (line) => lines.push(line));
  const text = opts.json ? revalJson(result.stats, result.perCategoryAP) : lines.join('\n');
  process.stdout.write(`${text}\n`);
}

export function register(program: Command): void {
  program
    .command('reval')
    .description('re-evaluate COCO-format results against COCO ground truth (pycocotools COCOeval)')
    .requiredOption('--gt <file>', 'ground-truth annotation JSON (instances_*.json, person_keypoints_*.json)')
    .requiredOption('--dets <file>', 'results JSON: a list of {image_id, category_id, score, bbox|segmentation|keypoints}')
    .requiredOption('--type <type>', 'what to evaluate: bbox, segm or keypoints')
    .option('--json', 'print only {"stats": [...], "per_category_AP": {category_id: AP}}')
    .action((opts: RevalOptions) => runReval(opts));
}
