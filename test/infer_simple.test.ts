/** `detectron infer_simple` as a user runs it, on small inputs so that it stays fast. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../tools/detectron';
import { detectronPkl, FIXTURES } from './helpers/fixtures';

async function run(args: string[]): Promise<{ stderr: string; exitCode: number }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((c: string | Uint8Array) => (chunks.push(String(c)), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'detectron', ...args]);
  } finally {
    process.stderr.write = write;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stderr: chunks.join(''), exitCode };
}

describe('detectron infer_simple', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infer-'));
  const images = path.join(dir, 'images');
  const out = path.join(dir, 'out');
  const cfg = path.join(FIXTURES, 'configs/detectron/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml');

  beforeAll(() => {
    fs.mkdirSync(images);
    fs.copyFileSync(path.join(FIXTURES, 'coco/images', fs.readdirSync(path.join(FIXTURES, 'coco/images')).sort()[0]), path.join(images, 'a.jpg'));
    fs.writeFileSync(path.join(images, 'notes.txt'), 'not a picture');
    fs.writeFileSync(path.join(images, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nxxxx', 'binary'));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes a picture and results per image, skips non-images, fails on broken ones', async () => {
    const json = path.join(out, 'all.json');
    const { stderr, exitCode } = await run([
      'infer_simple', '--cfg', cfg, '--wts', detectronPkl('e2e_mask_rcnn_R-50-FPN', 1), '--image-dir', images,
      '--output-dir', out, '--output-ext', 'png', '--thresh', '0.05', '--json', json,
      '--set', 'TEST.SCALE', '320', 'TEST.MAX_SIZE', '500', '--threads', '2',
    ]);
    expect(stderr).toContain('skipping');
    expect(stderr).toContain('notes.txt: not an image');
    expect(stderr).toMatch(/broken\.png.*cannot decode PNG/);
    expect(stderr).toContain('1 image(s) failed');
    expect(exitCode).toBe(1);
    expect(fs.readdirSync(out).sort()).toEqual(['a.jpg.json', 'a.jpg.png', 'all.json']);
    const all = JSON.parse(fs.readFileSync(json, 'utf8')) as { images: Array<{ image: string; detections: Array<{ class_id: number; box: number[]; score: number; mask: { counts: string } }> }> };
    expect(all.images).toHaveLength(1);
    const dets = all.images[0].detections;
    expect(dets.length).toBeGreaterThan(0);
    expect(dets.length).toBeLessThanOrEqual(100);
    for (const d of dets) {
      expect(d.class_id).toBeGreaterThanOrEqual(1);
      expect(d.score).toBeGreaterThan(0.05);
      expect(typeof d.mask.counts).toBe('string');
    }
    const coco = JSON.parse(fs.readFileSync(path.join(out, 'a.jpg.json'), 'utf8')) as Array<{ bbox?: number[]; segmentation?: unknown }>;
    expect(coco.filter((r) => r.bbox !== undefined)).toHaveLength(dets.length);
    expect(coco.filter((r) => r.segmentation !== undefined)).toHaveLength(dets.length);
    const png = fs.readFileSync(path.join(out, 'a.jpg.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  test('a missing weights file says how to pass one', async () => {
    await expect(
      run(['infer_simple', '--cfg', cfg, '--wts', path.join(dir, 'nope.pkl'), '--image-dir', images, '--output-dir', out]),
    ).rejects.toThrow(/nope\.pkl: no such file, and not a URL or a model zoo name[\s\S]*--wts \/path\/to\/model_final\.pkl/);
  });
});
