/**
 * Names of network builder functions in configs (MODEL.CONV_BODY, FAST_RCNN.ROI_BOX_HEAD, …).
 *
 * Detectron resolves them with `model_builder.get_func` after `name_compat.get_new_name`, which
 * maps a few historical names to current ones. Our builders are Detectron's functions without
 * the `add_` prefix, in modules named like Detectron's (`FPN.add_fpn_ResNet50_conv5_body` →
 * `FPN.fpn_ResNet50_conv5_body`). Merging a config and converting a YAML file both apply
 * `normalizeBuilderName`, so original and converted configs load identically.
 */

/** Config keys whose value names a builder function (those Detectron passes to get_func). */
export const BUILDER_NAME_KEYS: readonly string[] = [
  'MODEL.TYPE',
  'MODEL.CONV_BODY',
  'FAST_RCNN.ROI_BOX_HEAD',
  'MRCNN.ROI_MASK_HEAD',
  'KRCNN.ROI_KEYPOINTS_HEAD',
];

/**
 * Detectron's `name_compat._RENAME`, written without `add_` so that it also matches names that
 * were already stripped.
 */
const NAME_COMPAT: Readonly<Record<string, string>> = {
  // "ResNet_" was dropped from the mask head names.
  'mask_rcnn_heads.ResNet_mask_rcnn_fcn_head_v1up4convs': 'mask_rcnn_heads.mask_rcnn_fcn_head_v1up4convs',
  'mask_rcnn_heads.ResNet_mask_rcnn_fcn_head_v1up': 'mask_rcnn_heads.mask_rcnn_fcn_head_v1up',
  'mask_rcnn_heads.ResNet_mask_rcnn_fcn_head_v0upshare': 'mask_rcnn_heads.mask_rcnn_fcn_head_v0upshare',
  'mask_rcnn_heads.ResNet_mask_rcnn_fcn_head_v0up': 'mask_rcnn_heads.mask_rcnn_fcn_head_v0up',
  // The head_builder module became fast_rcnn_heads.
  'head_builder.roi_2mlp_head': 'fast_rcnn_heads.roi_2mlp_head',
};

/** Drops Detectron's `add_` prefix from the function part of `module.add_function`. */
export function stripAddPrefix(name: string): string {
  const dot = name.lastIndexOf('.');
  const fn = name.slice(dot + 1);
  return fn.startsWith('add_') ? name.slice(0, dot + 1) + fn.slice(4) : name;
}

export interface BuilderRename {
  readonly name: string;
  /** The name_compat remap applied, if any (Detectron logs it as a warning). */
  readonly compat?: { from: string; to: string };
}

/** Our name for a Detectron builder name: name_compat remaps, then `add_` stripped. */
export function normalizeBuilderName(name: string): BuilderRename {
  const stripped = stripAddPrefix(name);
  const renamed = NAME_COMPAT[stripped];
  if (renamed === undefined) return { name: stripped };
  return { name: renamed, compat: { from: name, to: renamed } };
}

export function isBuilderNameKey(fullKey: string): boolean {
  return BUILDER_NAME_KEYS.includes(fullKey);
}
