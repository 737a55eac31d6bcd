/**
 * Detectron's dataset catalog (detectron/datasets/dataset_catalog.py): dataset names → image
 * folder, annotation file and optional image-file-name prefix, laid out under `data/` as
 * Detectron lays them out under detectron/datasets/data (see data/README.md).
 *
 * Every name of Detectron's catalog is here, with its paths. Detectron's catalog has no 2017
 * train/val entries (its minival / valminusminival are the 2017 val / part of train); ours adds
 * coco_2017_train, coco_2017_val and keypoints_coco_2017_{train,val,test,test-dev} in the same
 * layout (images in data/coco/coco_<split>2017, as Detectron names its 2014 folders).
 *
 * Datasets of one's own are given by an annotation file and an image folder, either directly
 * (a DatasetSpec) or registered under a name with registerDataset().
 */
import * as fs from 'fs';
import * as path from 'path';

/** Where a dataset's files are. Relative paths are taken from the data folder. */
export interface DatasetSpec {
  /** COCO-format annotation file (instances_*.json, person_keypoints_*.json, image_info_*.json). */
  annotationFile: string;
  /** Folder holding the images named by the file's `file_name`s. */
  imageDirectory: string;
  /** Prepended to each `file_name` (Detectron's IM_PREFIX; '' when absent). */
  imagePrefix?: string;
  /** Name for messages and roidb logs (default: the annotation file's base name). */
  name?: string;
}

/** A catalog entry resolved to absolute paths. */
export interface DatasetSource {
  name: string;
  annotationFile: string;
  imageDirectory: string;
  imagePrefix: string;
  /** Detectron's optional keys, where the entry has them (absolute). */
  devkitDirectory?: string;
  rawDirectory?: string;
  /** What to put at annotationFile when it is missing. */
  annotationHint?: string;
}

interface Entry {
  imDir: string;
  annFn: string;
  imPrefix?: string;
  devkitDir?: string;
  rawDir?: string;
  hint?: string;
}

const COCO_2014 = 'COCO 2014 annotations (annotations_trainval2014.zip from cocodataset.org)';
const COCO_2017 = 'COCO 2017 annotations (annotations_trainval2017.zip from cocodataset.org)';
const MINIVAL = "Detectron's minival / valminusminival annotations (coco_annotations_minival.tgz, see Detectron's datasets/data/README.md)";
const TEST_2015 = 'COCO 2015 test image info (image_info_test2015.zip from cocodataset.org)';
const TEST_2017 = 'COCO 2017 test image info (image_info_test2017.zip from cocodataset.org)';
const CITYSCAPES = 'Cityscapes converted to COCO json (Detectron: tools/convert_cityscapes_to_coco.py)';
const VOC = 'PASCAL VOC annotations in COCO json (PASCAL_VOC.zip, see Detectron\'s datasets/data/README.md)';

const coco = (imDir: string, annFn: string, hint: string, imPrefix?: string): Entry => ({
  imDir: `coco/${imDir}`,
  annFn: `coco/annotations/${annFn}`,
  hint,
  ...(imPrefix !== undefined ? { imPrefix } : {}),
});

const cityscapes = (annFn: string): Entry => ({
  imDir: 'cityscapes/images',
  annFn: `cityscapes/annotations/${annFn}`,
  rawDir: 'cityscapes/raw',
  hint: CITYSCAPES,
});

const voc = (year: string, split: string): Entry => ({
  imDir: `VOC${year}/JPEGImages`,
  annFn: `VOC${year}/annotations/voc_${year}_${split}.json`,
  devkitDir: `VOC${year}/VOCdevkit${year}`,
  hint: VOC,
});

/** Detectron's _DATASETS (paths relative to the data folder), plus the 2017 entries. */
const BUILTIN: ReadonlyMap<string, Entry> = new Map<string, Entry>([
  ['cityscapes_fine_instanceonly_seg_train', cityscapes('instancesonly_gtFine_train.json')],
  // Detectron uses the filtered validation set (an issue converting contours).
  ['cityscapes_fine_instanceonly_seg_val', cityscapes('instancesonly_filtered_gtFine_val.json')],
  ['cityscapes_fine_instanceonly_seg_test', cityscapes('instancesonly_gtFine_test.json')],
  ['coco_2014_train', coco('coco_train2014', 'instances_train2014.json', COCO_2014)],
  ['coco_2014_val', coco('coco_val2014', 'instances_val2014.json', COCO_2014)],
  ['coco_2014_minival', coco('coco_val2014', 'instances_minival2014.json', MINIVAL)],
  ['coco_2014_valminusminival', coco('coco_val2014', 'instances_valminusminival2014.json', MINIVAL)],
  ['coco_2015_test', coco('coco_test2015', 'image_info_test2015.json', TEST_2015)],
  ['coco_2015_test-dev', coco('coco_test2015', 'image_info_test-dev2015.json', TEST_2015)],
  ['coco_2017_train', coco('coco_train2017', 'instances_train2017.json', COCO_2017)],
  ['coco_2017_val', coco('coco_val2017', 'instances_val2017.json', COCO_2017)],
  // 2017 test and test-dev are the 2015 test images, named COCO_test2015_<file_name>.
  ['coco_2017_test', coco('coco_test2015', 'image_info_test2017.json', TEST_2017, 'COCO_test2015_')],
  ['coco_2017_test-dev', coco('coco_test2015', 'image_info_test-dev2017.json', TEST_2017, 'COCO_test2015_')],
  ['coco_stuff_train', coco('coco_train2014', 'coco_stuff_train.json', 'COCO-Stuff annotations in COCO json')],
  ['coco_stuff_val', coco('coco_val2014', 'coco_stuff_val.json', 'COCO-Stuff annotations in COCO json')],
  ['keypoints_coco_2014_train', coco('coco_train2014', 'person_keypoints_train2014.json', COCO_2014)],
  ['keypoints_coco_2014_val', coco('coco_val2014', 'person_keypoints_val2014.json', COCO_2014)],
  ['keypoints_coco_2014_minival', coco('coco_val2014', 'person_keypoints_minival2014.json', MINIVAL)],
  ['keypoints_coco_2014_valminusminival', coco('coco_val2014', 'person_keypoints_valminusminival2014.json', MINIVAL)],
  ['keypoints_coco_2015_test', coco('coco_test2015', 'image_info_test2015.json', TEST_2015)],
  ['keypoints_coco_2015_test-dev', coco('coco_test2015', 'image_info_test-dev2015.json', TEST_2015)],
  ['keypoints_coco_2017_train', coco('coco_train2017', 'person_keypoints_train2017.json', COCO_2017)],
  ['keypoints_coco_2017_val', coco('coco_val2017', 'person_keypoints_val2017.json', COCO_2017)],
  ['keypoints_coco_2017_test', coco('coco_test2015', 'image_info_test2017.json', TEST_2017, 'COCO_test2015_')],
  ['keypoints_coco_2017_test-dev', coco('coco_test2015', 'image_info_test-dev2017.json', TEST_2017, 'COCO_test2015_')],
  ['voc_2007_train', voc('2007', 'train')],
  ['voc_2007_val', voc('2007', 'val')],
  ['voc_2007_test', voc('2007', 'test')],
  ['voc_2012_train', voc('2012', 'train')],
  ['voc_2012_val', voc('2012', 'val')],
]);

/** User datasets registered in this process. */
const registered = new Map<string, Entry>();

/** The repository root (the folder holding package.json), from this file's location. */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** `$DETECTRON_DATA_DIR` if set, else `data/` of the repository. */
export function defaultDataDir(): string {
  const env = process.env.DETECTRON_DATA_DIR;
  return env !== undefined && env !== '' ? path.resolve(env) : path.join(repoRoot(), 'data');
}

/** Every dataset name: Detectron's, the 2017 additions, then registered ones. */
export function datasets(): string[] {
  return [...BUILTIN.keys(), ...[...registered.keys()].filter((k) => !BUILTIN.has(k))];
}

export function contains(name: string): boolean {
  return registered.has(name) || BUILTIN.has(name);
}

function entry(name: string): Entry {
  const e = registered.get(name) ?? BUILTIN.get(name);
  if (e === undefined) {
    throw new Error(`Unknown dataset name: ${name} (known: ${datasets().join(', ')}; or register one with registerDataset)`);
  }
  return e;
}

const resolveIn = (dataDir: string, p: string): string => path.resolve(dataDir, p);

/** get_im_dir: the image folder of a dataset (absolute). */
export function getImDir(name: string, dataDir = defaultDataDir()): string {
  return resolveIn(dataDir, entry(name).imDir);
}

/** get_ann_fn: the annotation file of a dataset (absolute). */
export function getAnnFn(name: string, dataDir = defaultDataDir()): string {
  return resolveIn(dataDir, entry(name).annFn);
}

/** get_im_prefix: the image file name prefix ('' when the entry has none). */
export function getImPrefix(name: string): string {
  return entry(name).imPrefix ?? '';
}

/** get_devkit_dir (VOC entries only). */
export function getDevkitDir(name: string, dataDir = defaultDataDir()): string {
  const e = entry(name);
  if (e.devkitDir === undefined) throw new Error(`dataset ${name} has no devkit directory`);
  return resolveIn(dataDir, e.devkitDir);
}

/** get_raw_dir (Cityscapes entries only). */
export function getRawDir(name: string, dataDir = defaultDataDir()): string {
  const e = entry(name);
  if (e.rawDir === undefined) throw new Error(`dataset ${name} has no raw directory`);
  return resolveIn(dataDir, e.rawDir);
}

/**
 * Registers (or replaces) a dataset of one's own under `name`, so that it can be named in
 * TRAIN.DATASETS / TEST.DATASETS. Relative paths are taken from the data folder at lookup.
 */
export function registerDataset(name: string, spec: DatasetSpec): void {
  if (name === '') throw new Error('registerDataset: the name must not be empty');
  registered.set(name, {
    imDir: spec.imageDirectory,
    annFn: spec.annotationFile,
    ...(spec.imagePrefix !== undefined ? { imPrefix: spec.imagePrefix } : {}),
  });
}

/** Removes a registered dataset; true if there was one. */
export function unregisterDataset(name: string): boolean {
  return registered.delete(name);
}

/** A catalog name or a spec, resolved to absolute paths (nothing is checked on disk). */
export function resolveDataset(nameOrSpec: string | DatasetSpec, dataDir = defaultDataDir()): DatasetSource {
  if (typeof nameOrSpec === 'string') {
    const e = entry(nameOrSpec);
    return {
      name: nameOrSpec,
      annotationFile: resolveIn(dataDir, e.annFn),
      imageDirectory: resolveIn(dataDir, e.imDir),
      imagePrefix: e.imPrefix ?? '',
      ...(e.devkitDir !== undefined ? { devkitDirectory: resolveIn(dataDir, e.devkitDir) } : {}),
      ...(e.rawDir !== undefined ? { rawDirectory: resolveIn(dataDir, e.rawDir) } : {}),
      ...(e.hint !== undefined ? { annotationHint: e.hint } : {}),
    };
  }
  const annotationFile = resolveIn(dataDir, nameOrSpec.annotationFile);
  return {
    name: nameOrSpec.name ?? path.basename(annotationFile, '.json'),
    annotationFile,
    imageDirectory: resolveIn(dataDir, nameOrSpec.imageDirectory),
    imagePrefix: nameOrSpec.imagePrefix ?? '',
  };
}

/**
 * Detectron's JsonDataset checks: the image folder and the annotation file must exist. The error
 * names the missing path and what belongs there.
 */
export function checkDatasetFiles(source: DatasetSource): void {
  const layout = 'see data/README.md for the layout, or link data/coco to an existing copy: ln -s /path/to/coco data/coco';
  if (!isDirectory(source.imageDirectory)) {
    throw new Error(
      `dataset ${source.name}: image folder '${source.imageDirectory}' not found; put the dataset's images there ` +
        `(the file names its annotation file lists${source.imagePrefix !== '' ? `, prefixed with '${source.imagePrefix}'` : ''}); ${layout}`,
    );
  }
  if (!isFile(source.annotationFile)) {
    const what = source.annotationHint ?? 'a COCO-format annotation json';
    throw new Error(
      `dataset ${source.name}: annotation file '${source.annotationFile}' not found; put ${path.basename(source.annotationFile)} there ` +
        `(${what}); ${layout}`,
    );
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
