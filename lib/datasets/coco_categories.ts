/**
 * COCO's category ids and Detectron's contiguous class ids (json_dataset.py): Detectron numbers
 * the annotation file's categories 1..80 in the file's order (COCO.getCatIds(); 0 is
 * background), which for COCO is ascending id order, so results files must map contiguous ids
 * back to COCO's ids, which have gaps (12, 26, 29, ...).
 */

/** COCO 2014/2017's 80 category ids, ascending: contiguous id i is COCO_CATEGORY_IDS[i - 1]. */
export const COCO_CATEGORY_IDS: readonly number[] = Object.freeze([
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28,
  31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55,
  56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84,
  85, 86, 87, 88, 89, 90,
]);

/** contiguous_category_id_to_json_id for COCO: 1 -> 1, 12 -> 13, 80 -> 90. */
export function contiguousToCocoId(contiguousId: number): number {
  const id = COCO_CATEGORY_IDS[contiguousId - 1];
  if (!Number.isInteger(contiguousId) || id === undefined) {
    throw new Error(`contiguous class id ${contiguousId} is not a COCO class (1..${COCO_CATEGORY_IDS.length})`);
  }
  return id;
}

/** json_category_id_to_contiguous_id for COCO: 13 -> 12, 90 -> 80. */
export function cocoIdToContiguous(cocoId: number): number {
  const i = COCO_CATEGORY_IDS.indexOf(cocoId);
  if (i < 0) throw new Error(`${cocoId} is not a COCO category id`);
  return i + 1;
}

/**
 * The contiguous -> category id map of any annotation file, as json_dataset.py builds it: the
 * file's category ids in the file's order, numbered from 1.
 */
export function contiguousIdMap(categoryIds: readonly number[]): Map<number, number> {
  return new Map(categoryIds.map((id, i) => [i + 1, id]));
}
