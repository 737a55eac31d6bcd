/**
 * The golden models/ matching rules (golden/README.md; golden/compare_models.py): every
 * reference detection matched by one of ours of the same class with all box corners within
 * 0.01 px; scores within 1e-4; masks differing in at most max(2, 1% of the area) pixels;
 * keypoints within 0.05 px and logits within 1e-3 for at least 99% of them.
 */
import { decode } from '../../lib/datasets/pycocotools/mask';

export interface GoldenDetection {
  class_id: number;
  box: number[];
  score: number;
  mask?: { size: [number, number]; counts: string };
  keypoints?: number[][];
}

export interface OurDetection {
  classId: number;
  box: number[];
  score: number;
  mask?: { size: [number, number]; counts: string };
  keypoints?: number[][];
}

const BOX_TOL = 0.01;
const SCORE_TOL = 1e-4;
const KP_TOL = 0.05;
const LOGIT_TOL = 1e-3;

function maskPixels(m: { size: [number, number]; counts: string }): Uint8Array {
  return decode(m);
}

function maskDiff(a: { size: [number, number]; counts: string }, b: { size: [number, number]; counts: string }): [number, number] {
  const pa = maskPixels(a);
  const pb = maskPixels(b);
  let diff = 0;
  let area = 0;
  for (let i = 0; i < pa.length; i++) {
    if (pa[i] !== pb[i]) diff++;
    area += pa[i];
  }
  return [diff, area];
}

/** Problems found comparing one image's detections; empty when it passes. */
export function compareImage(golden: GoldenDetection[], ours: OurDetection[]): string[] {
  const used = new Array<boolean>(ours.length).fill(false);
  const problems: string[] = [];
  let matched = 0;
  for (const g of golden) {
    let best = -1;
    let bestErr = Infinity;
    ours.forEach((o, j) => {
      if (used[j] || o.classId !== g.class_id) return;
      const err = Math.max(...g.box.map((v, k) => Math.abs(v - o.box[k])));
      if (err <= BOX_TOL && err < bestErr) {
        bestErr = err;
        best = j;
      }
    });
    if (best < 0) continue;
    used[best] = true;
    matched++;
    const o = ours[best];
    const where = `class ${g.class_id} box [${g.box.map((v) => v.toFixed(2)).join(', ')}]`;
    if (Math.abs(g.score - o.score) > SCORE_TOL) problems.push(`${where}: score ${o.score} vs ${g.score}`);
    if (g.mask !== undefined) {
      if (o.mask === undefined) problems.push(`${where}: mask missing`);
      else {
        const [diff, area] = maskDiff(g.mask, o.mask);
        if (diff > Math.max(2, 0.01 * area)) problems.push(`${where}: mask differs in ${diff} px (area ${area})`);
      }
    }
    if (g.keypoints !== undefined) {
      const ok = o.keypoints ?? [];
      if (ok.length !== g.keypoints.length) problems.push(`${where}: keypoint count`);
      else {
        const off = g.keypoints.filter((p, k) =>
          Math.abs(p[0] - ok[k][0]) > KP_TOL || Math.abs(p[1] - ok[k][1]) > KP_TOL || Math.abs(p[2] - ok[k][2]) > LOGIT_TOL).length;
        if (off > 0.01 * g.keypoints.length) problems.push(`${where}: ${off} of ${g.keypoints.length} keypoints off`);
      }
    }
  }
  const need = golden.length - Math.floor(0.01 * golden.length);
  const extra = used.filter((u) => !u).length;
  if (matched < need) problems.unshift(`${matched}/${golden.length} reference detections matched`);
  if (extra > Math.floor(0.01 * ours.length)) problems.unshift(`${extra} of our ${ours.length} detections unmatched`);
  return problems;
}
