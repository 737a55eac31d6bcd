/**
 * File and folder conversion for `detectron convert_config`: converts every YAML config under a
 * folder (recursively) into a mirrored output folder, copies other files (Detectron's LICENSE)
 * as they are, and checks that each converted config loads.
 */
import * as fs from 'fs';
import * as path from 'path';
import { assertAndInferCfg, getDefaultConfig, mergeCfgFromString } from '../../lib/core/config';
import { writeFileAtomicSync } from '../../lib/utils/atomic_write';
import { ConfigChange, convertDetectronYaml } from './detectron_yaml';

export interface ConvertOptions {
  /** Load each converted config (merge into defaults + assertAndInferCfg); default true. */
  readonly check?: boolean;
}

export interface ConvertedFile {
  readonly input: string;
  readonly output: string;
  readonly text: string;
  readonly changes: ConfigChange[];
}

const YAML_EXT = /\.ya?ml$/i;

/** Converts one file's text and, if asked, checks that the result is a loadable config. */
export function convertConfigText(text: string, name: string, options: ConvertOptions = {}): ConvertedFile {
  const { text: converted, changes } = convertDetectronYaml(text, name);
  if (options.check !== false) {
    const cfg = mergeCfgFromString(getDefaultConfig(), converted, name, { warn: () => undefined });
    assertAndInferCfg(cfg);
  }
  return { input: name, output: name, text: converted, changes };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else if (entry.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * Converts `inDir` into `outDir` (same relative paths). All inputs are converted and checked
 * before anything is written, so a bad file leaves the output folder untouched.
 */
export function convertConfigTree(inDir: string, outDir: string, options: ConvertOptions = {}): ConvertedFile[] {
  const inAbs = path.resolve(inDir);
  const outAbs = path.resolve(outDir);
  if (outAbs !== inAbs && outAbs.startsWith(inAbs + path.sep)) {
    throw new Error(`output folder ${outDir} is inside the input folder ${inDir}; choose another place`);
  }
  const files = listFiles(inDir);
  const results: ConvertedFile[] = [];
  const copies: Array<{ from: string; to: string }> = [];
  for (const file of files) {
    const rel = path.relative(inDir, file);
    const target = path.join(outDir, rel);
    if (!YAML_EXT.test(file)) {
      copies.push({ from: file, to: target });
      continue;
    }
    const converted = convertConfigText(fs.readFileSync(file, 'utf8'), file, options);
    results.push({ ...converted, output: target });
  }
  for (const r of results) writeInto(r.output, r.text);
  for (const c of copies) writeInto(c.to, fs.readFileSync(c.from));
  return results;
}

/** Writes a converted file, creating the output tree's folders as needed. */
function writeInto(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomicSync(file, data);
}
