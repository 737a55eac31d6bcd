/**
 * Detectron's published models, as listed in its MODEL_ZOO.md (the 12_2017 baselines: RPN,
 * Fast/Mask R-CNN on precomputed proposals, end-to-end Faster/Mask R-CNN, RetinaNet, keypoint
 * R-CNN) and projects/GN/README.md (GroupNorm baselines), plus the ImageNet-pretrained backbones.
 *
 * Each baseline is its training run folder under Detectron's download root, the path of
 * model_final.pkl inside it, the published inference outputs (proposals, detections) and the
 * metrics MODEL_ZOO.md reports (COCO minival; person only for keypoint and person-only RPN
 * models). Checksums are not listed: Detectron publishes them next to each file (`URL.md5sum`).
 */

export interface ZooMetrics {
  readonly boxAP?: number;
  readonly maskAP?: number;
  readonly kpAP?: number;
  readonly propAR?: number;
}

export interface ZooRun {
  /** Config name, e.g. 'e2e_mask_rcnn_R-50-FPN_1x' (configs/<group>/<name>.yaml). */
  readonly name: string;
  /** MODEL_ZOO.md's model id. */
  readonly id: number;
  readonly backbone: string;
  /** Training schedule as MODEL_ZOO.md names it (1x, 2x, s1x, 3x). */
  readonly schedule: string;
  readonly metrics: ZooMetrics;
  /** Run folder relative to the download root. */
  readonly run: string;
  /** model_final.pkl relative to the run folder. */
  readonly model: string;
  /** Published outputs relative to the run folder (proposals_<dataset>, boxes, masks, keypoints). */
  readonly outputs?: Readonly<Record<string, string>>;
}

export interface PretrainedBackbone {
  readonly name: string;
  /** Path relative to the download root. */
  readonly path: string;
  readonly description: string;
}

export const PRETRAINED_BACKBONES: readonly PretrainedBackbone[] = [
  { name: 'R-50', path: 'ImageNetPretrained/MSRA/R-50.pkl', description: "MSRA's ResNet-50" },
  { name: 'R-101', path: 'ImageNetPretrained/MSRA/R-101.pkl', description: "MSRA's ResNet-101" },
  {
    name: 'X-101-64x4d',
    path: 'ImageNetPretrained/FBResNeXt/X-101-64x4d.pkl',
    description: "FB's ResNeXt-101-64x4d (Torch7)",
  },
  { name: 'X-101-32x8d', path: 'ImageNetPretrained/20171220/X-101-32x8d.pkl', description: 'ResNeXt-101-32x8d (Caffe2)' },
  {
    name: 'X-152-32x8d-IN5k',
    path: 'ImageNetPretrained/25093814/X-152-32x8d-IN5k.pkl',
    description: 'ResNeXt-152-32x8d trained on ImageNet-5k',
  },
  { name: 'R-50-GN', path: 'ImageNetPretrained/47261647/R-50-GN.pkl', description: 'ResNet-50 with GroupNorm' },
  { name: 'R-101-GN', path: 'ImageNetPretrained/47592356/R-101-GN.pkl', description: 'ResNet-101 with GroupNorm' },
];

export const ZOO_RUNS: readonly ZooRun[] = [
  {
    name: 'rpn_R-50-C4_1x', id: 35998355,
    backbone: 'R-50-C4', schedule: '1x', metrics: { propAR: 51.6 },
    run: '35998355/12_2017_baselines/rpn_R-50-C4_1x.yaml.08_00_43.njH5oD9L',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/rpn/model_final.pkl',
    outputs: {
      proposals_coco_2014_train: 'output/test/coco_2014_train/rpn/rpn_proposals.pkl',
      proposals_coco_2014_valminusminival: 'output/test/coco_2014_valminusminival/rpn/rpn_proposals.pkl',
      proposals_coco_2014_minival: 'output/test/coco_2014_minival/rpn/rpn_proposals.pkl',
    },
  },
  {
    name: 'rpn_R-50-FPN_1x', id: 35998814,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { propAR: 57.2 },
    run: '35998814/12_2017_baselines/rpn_R-50-FPN_1x.yaml.08_06_03.Axg0r179',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_coco_2014_train: 'output/test/coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_valminusminival: 'output/test/coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_minival: 'output/test/coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'rpn_R-101-FPN_1x', id: 35998887,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { propAR: 58.2 },
    run: '35998887/12_2017_baselines/rpn_R-101-FPN_1x.yaml.08_07_07.vzhHEs0V',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_coco_2014_train: 'output/test/coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_valminusminival: 'output/test/coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_minival: 'output/test/coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'rpn_X-101-64x4d-FPN_1x', id: 35998956,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { propAR: 59.4 },
    run: '35998956/12_2017_baselines/rpn_X-101-64x4d-FPN_1x.yaml.08_08_41.Seh0psKz',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_coco_2014_train: 'output/test/coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_valminusminival: 'output/test/coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_minival: 'output/test/coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'rpn_X-101-32x8d-FPN_1x', id: 36760102,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { propAR: 59.5 },
    run: '36760102/12_2017_baselines/rpn_X-101-32x8d-FPN_1x.yaml.06_00_16.RWeBAniO',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_coco_2014_train: 'output/test/coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_valminusminival: 'output/test/coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_coco_2014_minival: 'output/test/coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'fast_rcnn_R-50-C4_1x', id: 36224013,
    backbone: 'R-50-C4', schedule: '1x', metrics: { boxAP: 34.4 },
    run: '36224013/12_2017_baselines/fast_rcnn_R-50-C4_1x.yaml.08_22_00.vHd5BeBP',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_R-50-C4_2x', id: 36224046,
    backbone: 'R-50-C4', schedule: '2x', metrics: { boxAP: 35.6 },
    run: '36224046/12_2017_baselines/fast_rcnn_R-50-C4_2x.yaml.08_22_57.XFxNqEnL',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_R-50-FPN_1x', id: 36225147,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { boxAP: 36.4 },
    run: '36225147/12_2017_baselines/fast_rcnn_R-50-FPN_1x.yaml.08_39_09.L3obSdQ2',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_R-50-FPN_2x', id: 36225249,
    backbone: 'R-50-FPN', schedule: '2x', metrics: { boxAP: 36.8 },
    run: '36225249/12_2017_baselines/fast_rcnn_R-50-FPN_2x.yaml.08_40_18.zoChak1f',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_R-101-FPN_1x', id: 36228880,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { boxAP: 38.5 },
    run: '36228880/12_2017_baselines/fast_rcnn_R-101-FPN_1x.yaml.09_25_03.tZuHkSpl',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_R-101-FPN_2x', id: 36228933,
    backbone: 'R-101-FPN', schedule: '2x', metrics: { boxAP: 39.0 },
    run: '36228933/12_2017_baselines/fast_rcnn_R-101-FPN_2x.yaml.09_26_27.jkOUTrrk',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_X-101-64x4d-FPN_1x', id: 36226250,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { boxAP: 40.4 },
    run: '36226250/12_2017_baselines/fast_rcnn_X-101-64x4d-FPN_1x.yaml.08_54_22.u0LaxQsC',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_X-101-64x4d-FPN_2x', id: 36226326,
    backbone: 'X-101-64x4d-FPN', schedule: '2x', metrics: { boxAP: 39.8 },
    run: '36226326/12_2017_baselines/fast_rcnn_X-101-64x4d-FPN_2x.yaml.08_55_54.2F7MP1CD',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_X-101-32x8d-FPN_1x', id: 37119777,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { boxAP: 40.6 },
    run: '37119777/12_2017_baselines/fast_rcnn_X-101-32x8d-FPN_1x.yaml.06_38_03.d5N36egm',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'fast_rcnn_X-101-32x8d-FPN_2x', id: 37121469,
    backbone: 'X-101-32x8d-FPN', schedule: '2x', metrics: { boxAP: 39.7 },
    run: '37121469/12_2017_baselines/fast_rcnn_X-101-32x8d-FPN_2x.yaml.07_03_53.EPrHk63L',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_R-50-C4_1x', id: 36224121,
    backbone: 'R-50-C4', schedule: '1x', metrics: { boxAP: 35.5, maskAP: 31.3 },
    run: '36224121/12_2017_baselines/mask_rcnn_R-50-C4_1x.yaml.08_24_37.wdU8r5Jo',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_R-50-C4_2x', id: 36224151,
    backbone: 'R-50-C4', schedule: '2x', metrics: { boxAP: 36.9, maskAP: 32.5 },
    run: '36224151/12_2017_baselines/mask_rcnn_R-50-C4_2x.yaml.08_25_34.RSN5CVSH',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_R-50-FPN_1x', id: 36225401,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { boxAP: 37.3, maskAP: 33.7 },
    run: '36225401/12_2017_baselines/mask_rcnn_R-50-FPN_1x.yaml.08_42_04.MocEgrRW',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_R-50-FPN_2x', id: 36225732,
    backbone: 'R-50-FPN', schedule: '2x', metrics: { boxAP: 37.7, maskAP: 34.0 },
    run: '36225732/12_2017_baselines/mask_rcnn_R-50-FPN_2x.yaml.08_43_08.gDqBz9zS',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_R-101-FPN_1x', id: 36229407,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { boxAP: 39.4, maskAP: 35.6 },
    run: '36229407/12_2017_baselines/mask_rcnn_R-101-FPN_1x.yaml.09_38_04.zbVPo8ZE',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_R-101-FPN_2x', id: 36229740,
    backbone: 'R-101-FPN', schedule: '2x', metrics: { boxAP: 40.0, maskAP: 35.9 },
    run: '36229740/12_2017_baselines/mask_rcnn_R-101-FPN_2x.yaml.09_39_00.Z7O7zOEC',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_X-101-64x4d-FPN_1x', id: 36226382,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { boxAP: 41.3, maskAP: 37.0 },
    run: '36226382/12_2017_baselines/mask_rcnn_X-101-64x4d-FPN_1x.yaml.08_56_59.rUCejrBN',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_X-101-64x4d-FPN_2x', id: 36672114,
    backbone: 'X-101-64x4d-FPN', schedule: '2x', metrics: { boxAP: 41.1, maskAP: 36.6 },
    run: '36672114/12_2017_baselines/mask_rcnn_X-101-64x4d-FPN_2x.yaml.08_58_13.aNWCi3U7',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_X-101-32x8d-FPN_1x', id: 37121516,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { boxAP: 41.3, maskAP: 37.0 },
    run: '37121516/12_2017_baselines/mask_rcnn_X-101-32x8d-FPN_1x.yaml.07_04_58.CbM22DZg',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'mask_rcnn_X-101-32x8d-FPN_2x', id: 37121596,
    backbone: 'X-101-32x8d-FPN', schedule: '2x', metrics: { boxAP: 40.7, maskAP: 36.3 },
    run: '37121596/12_2017_baselines/mask_rcnn_X-101-32x8d-FPN_2x.yaml.07_05_48.TL22uFaK',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_R-50-C4_1x', id: 35857197,
    backbone: 'R-50-C4', schedule: '1x', metrics: { boxAP: 34.8 },
    run: '35857197/12_2017_baselines/e2e_faster_rcnn_R-50-C4_1x.yaml.01_33_49.iAX0mXvW',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_R-50-C4_2x', id: 35857281,
    backbone: 'R-50-C4', schedule: '2x', metrics: { boxAP: 36.5 },
    run: '35857281/12_2017_baselines/e2e_faster_rcnn_R-50-C4_2x.yaml.01_34_56.ScPH0Z4r',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_R-50-FPN_1x', id: 35857345,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { boxAP: 36.7 },
    run: '35857345/12_2017_baselines/e2e_faster_rcnn_R-50-FPN_1x.yaml.01_36_30.cUF7QR7I',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_R-50-FPN_2x', id: 35857389,
    backbone: 'R-50-FPN', schedule: '2x', metrics: { boxAP: 37.9 },
    run: '35857389/12_2017_baselines/e2e_faster_rcnn_R-50-FPN_2x.yaml.01_37_22.KSeq0b5q',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_R-101-FPN_1x', id: 35857890,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { boxAP: 39.4 },
    run: '35857890/12_2017_baselines/e2e_faster_rcnn_R-101-FPN_1x.yaml.01_38_50.sNxI7sX7',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_R-101-FPN_2x', id: 35857952,
    backbone: 'R-101-FPN', schedule: '2x', metrics: { boxAP: 39.8 },
    run: '35857952/12_2017_baselines/e2e_faster_rcnn_R-101-FPN_2x.yaml.01_39_49.JPwJDh92',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_X-101-64x4d-FPN_1x', id: 35858015,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { boxAP: 41.5 },
    run: '35858015/12_2017_baselines/e2e_faster_rcnn_X-101-64x4d-FPN_1x.yaml.01_40_54.1xc565DE',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_X-101-64x4d-FPN_2x', id: 35858198,
    backbone: 'X-101-64x4d-FPN', schedule: '2x', metrics: { boxAP: 40.8 },
    run: '35858198/12_2017_baselines/e2e_faster_rcnn_X-101-64x4d-FPN_2x.yaml.01_41_46.CX2InaoG',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_X-101-32x8d-FPN_1x', id: 36761737,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { boxAP: 41.3 },
    run: '36761737/12_2017_baselines/e2e_faster_rcnn_X-101-32x8d-FPN_1x.yaml.06_31_39.5MIHi1fZ',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_faster_rcnn_X-101-32x8d-FPN_2x', id: 36761786,
    backbone: 'X-101-32x8d-FPN', schedule: '2x', metrics: { boxAP: 40.6 },
    run: '36761786/12_2017_baselines/e2e_faster_rcnn_X-101-32x8d-FPN_2x.yaml.06_33_22.VqFNuxk6',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-50-C4_1x', id: 35858791,
    backbone: 'R-50-C4', schedule: '1x', metrics: { boxAP: 35.8, maskAP: 31.4 },
    run: '35858791/12_2017_baselines/e2e_mask_rcnn_R-50-C4_1x.yaml.01_45_57.ZgkA7hPB',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-50-C4_2x', id: 35858828,
    backbone: 'R-50-C4', schedule: '2x', metrics: { boxAP: 37.8, maskAP: 32.8 },
    run: '35858828/12_2017_baselines/e2e_mask_rcnn_R-50-C4_2x.yaml.01_46_47.HBThTerB',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-50-FPN_1x', id: 35858933,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { boxAP: 37.7, maskAP: 33.9 },
    run: '35858933/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml.01_48_14.DzEQe4wC',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-50-FPN_2x', id: 35859007,
    backbone: 'R-50-FPN', schedule: '2x', metrics: { boxAP: 38.6, maskAP: 34.5 },
    run: '35859007/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_2x.yaml.01_49_07.By8nQcCH',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-101-FPN_1x', id: 35861795,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { boxAP: 40.0, maskAP: 35.9 },
    run: '35861795/12_2017_baselines/e2e_mask_rcnn_R-101-FPN_1x.yaml.02_31_37.KqyEK4tT',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-101-FPN_2x', id: 35861858,
    backbone: 'R-101-FPN', schedule: '2x', metrics: { boxAP: 40.9, maskAP: 36.4 },
    run: '35861858/12_2017_baselines/e2e_mask_rcnn_R-101-FPN_2x.yaml.02_32_51.SgT4y1cO',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_X-101-64x4d-FPN_1x', id: 36494496,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { boxAP: 42.4, maskAP: 37.5 },
    run: '36494496/12_2017_baselines/e2e_mask_rcnn_X-101-64x4d-FPN_1x.yaml.07_50_11.fkwVtEvg',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_X-101-64x4d-FPN_2x', id: 35859745,
    backbone: 'X-101-64x4d-FPN', schedule: '2x', metrics: { boxAP: 42.2, maskAP: 37.2 },
    run: '35859745/12_2017_baselines/e2e_mask_rcnn_X-101-64x4d-FPN_2x.yaml.02_00_30.ESWbND2w',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_X-101-32x8d-FPN_1x', id: 36761843,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { boxAP: 42.1, maskAP: 37.3 },
    run: '36761843/12_2017_baselines/e2e_mask_rcnn_X-101-32x8d-FPN_1x.yaml.06_35_59.RZotkLKI',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_X-101-32x8d-FPN_2x', id: 36762092,
    backbone: 'X-101-32x8d-FPN', schedule: '2x', metrics: { boxAP: 41.7, maskAP: 36.9 },
    run: '36762092/12_2017_baselines/e2e_mask_rcnn_X-101-32x8d-FPN_2x.yaml.06_37_59.DM5gJYRF',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_R-50-FPN_1x', id: 36768636,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { boxAP: 35.7 },
    run: '36768636/12_2017_baselines/retinanet_R-50-FPN_1x.yaml.08_29_48.t4zc9clc',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_R-50-FPN_2x', id: 36768677,
    backbone: 'R-50-FPN', schedule: '2x', metrics: { boxAP: 35.7 },
    run: '36768677/12_2017_baselines/retinanet_R-50-FPN_2x.yaml.08_30_38.sgZIQZQ5',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_R-101-FPN_1x', id: 36768744,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { boxAP: 37.7 },
    run: '36768744/12_2017_baselines/retinanet_R-101-FPN_1x.yaml.08_31_38.5poQe1ZB',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_R-101-FPN_2x', id: 36768840,
    backbone: 'R-101-FPN', schedule: '2x', metrics: { boxAP: 37.8 },
    run: '36768840/12_2017_baselines/retinanet_R-101-FPN_2x.yaml.08_33_29.grtM0RTf',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_X-101-64x4d-FPN_1x', id: 36768875,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { boxAP: 39.8 },
    run: '36768875/12_2017_baselines/retinanet_X-101-64x4d-FPN_1x.yaml.08_34_37.FSXgMpzP',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_X-101-64x4d-FPN_2x', id: 36768907,
    backbone: 'X-101-64x4d-FPN', schedule: '2x', metrics: { boxAP: 39.2 },
    run: '36768907/12_2017_baselines/retinanet_X-101-64x4d-FPN_2x.yaml.08_35_40.pF3nzPpu',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_X-101-32x8d-FPN_1x', id: 36769563,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { boxAP: 39.5 },
    run: '36769563/12_2017_baselines/retinanet_X-101-32x8d-FPN_1x.yaml.08_42_05.06JTK6vJ',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'retinanet_X-101-32x8d-FPN_2x', id: 36769641,
    backbone: 'X-101-32x8d-FPN', schedule: '2x', metrics: { boxAP: 38.6 },
    run: '36769641/12_2017_baselines/retinanet_X-101-32x8d-FPN_2x.yaml.08_42_55.sUPnwXI5',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/retinanet/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/retinanet/detections_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_X-152-32x8d-FPN-IN5k_1.44x', id: 37129812,
    backbone: 'X-152-32x8d-FPN-IN5k', schedule: 's1x', metrics: { boxAP: 48.1, maskAP: 41.5 },
    run: '37129812/12_2017_baselines/e2e_mask_rcnn_X-152-32x8d-FPN-IN5k_1.44x.yaml.09_35_36.8pzTQKYK',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'rpn_person_only_R-50-FPN_1x', id: 35998996,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { propAR: 64.0 },
    run: '35998996/12_2017_baselines/rpn_person_only_R-50-FPN_1x.yaml.08_10_08.0ZWmJm6F',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_keypoints_coco_2014_train: 'output/test/keypoints_coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_valminusminival: 'output/test/keypoints_coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_minival: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'rpn_person_only_R-101-FPN_1x', id: 35999521,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { propAR: 65.2 },
    run: '35999521/12_2017_baselines/rpn_person_only_R-101-FPN_1x.yaml.08_20_33.1OkqMmqP',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_keypoints_coco_2014_train: 'output/test/keypoints_coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_valminusminival: 'output/test/keypoints_coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_minival: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'rpn_person_only_X-101-64x4d-FPN_1x', id: 35999553,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { propAR: 65.9 },
    run: '35999553/12_2017_baselines/rpn_person_only_X-101-64x4d-FPN_1x.yaml.08_21_33.ghFzzArr',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_keypoints_coco_2014_train: 'output/test/keypoints_coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_valminusminival: 'output/test/keypoints_coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_minival: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'rpn_person_only_X-101-32x8d-FPN_1x', id: 36760438,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { propAR: 66.2 },
    run: '36760438/12_2017_baselines/rpn_person_only_X-101-32x8d-FPN_1x.yaml.06_04_23.M2oJlDPW',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      proposals_keypoints_coco_2014_train: 'output/test/keypoints_coco_2014_train/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_valminusminival: 'output/test/keypoints_coco_2014_valminusminival/generalized_rcnn/rpn_proposals.pkl',
      proposals_keypoints_coco_2014_minival: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/rpn_proposals.pkl',
    },
  },
  {
    name: 'keypoint_rcnn_R-50-FPN_1x', id: 37651787,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { boxAP: 52.7, kpAP: 64.1 },
    run: '37651787/12_2017_baselines/keypoint_rcnn_R-50-FPN_1x.yaml.20_00_48.UiwJsTXB',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'keypoint_rcnn_R-50-FPN_s1x', id: 37651887,
    backbone: 'R-50-FPN', schedule: 's1x', metrics: { boxAP: 53.4, kpAP: 65.5 },
    run: '37651887/12_2017_baselines/keypoint_rcnn_R-50-FPN_s1x.yaml.20_01_40.FDjUQ7VX',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'keypoint_rcnn_R-101-FPN_1x', id: 37651996,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { boxAP: 53.5, kpAP: 65.0 },
    run: '37651996/12_2017_baselines/keypoint_rcnn_R-101-FPN_1x.yaml.20_02_37.eVXnKM2Q',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'keypoint_rcnn_R-101-FPN_s1x', id: 37652016,
    backbone: 'R-101-FPN', schedule: 's1x', metrics: { boxAP: 54.6, kpAP: 66.0 },
    run: '37652016/12_2017_baselines/keypoint_rcnn_R-101-FPN_s1x.yaml.20_03_32.z86wT97d',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'keypoint_rcnn_X-101-64x4d-FPN_1x', id: 37731079,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { boxAP: 55.8, kpAP: 66.7 },
    run: '37731079/12_2017_baselines/keypoint_rcnn_X-101-64x4d-FPN_1x.yaml.16_40_56.wj7Hg7lX',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'keypoint_rcnn_X-101-64x4d-FPN_s1x', id: 37731142,
    backbone: 'X-101-64x4d-FPN', schedule: 's1x', metrics: { boxAP: 56.3, kpAP: 67.1 },
    run: '37731142/12_2017_baselines/keypoint_rcnn_X-101-64x4d-FPN_s1x.yaml.16_41_54.e1sD4Frh',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'keypoint_rcnn_X-101-32x8d-FPN_1x', id: 37730253,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { boxAP: 55.4, kpAP: 66.2 },
    run: '37730253/12_2017_baselines/keypoint_rcnn_X-101-32x8d-FPN_1x.yaml.16_34_24.3G9OcQuR',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'keypoint_rcnn_X-101-32x8d-FPN_s1x', id: 37731010,
    backbone: 'X-101-32x8d-FPN', schedule: 's1x', metrics: { boxAP: 55.9, kpAP: 67.0 },
    run: '37731010/12_2017_baselines/keypoint_rcnn_X-101-32x8d-FPN_s1x.yaml.16_39_51.xt1oMzRk',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_R-50-FPN_1x', id: 37697547,
    backbone: 'R-50-FPN', schedule: '1x', metrics: { boxAP: 53.6, kpAP: 64.2 },
    run: '37697547/12_2017_baselines/e2e_keypoint_rcnn_R-50-FPN_1x.yaml.08_42_54.kdzV35ao',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_R-50-FPN_s1x', id: 37697714,
    backbone: 'R-50-FPN', schedule: 's1x', metrics: { boxAP: 54.3, kpAP: 65.4 },
    run: '37697714/12_2017_baselines/e2e_keypoint_rcnn_R-50-FPN_s1x.yaml.08_44_03.qrQ0ph6M',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_R-101-FPN_1x', id: 37697946,
    backbone: 'R-101-FPN', schedule: '1x', metrics: { boxAP: 54.5, kpAP: 64.8 },
    run: '37697946/12_2017_baselines/e2e_keypoint_rcnn_R-101-FPN_1x.yaml.08_45_06.Y14KqbST',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_R-101-FPN_s1x', id: 37698009,
    backbone: 'R-101-FPN', schedule: 's1x', metrics: { boxAP: 55.3, kpAP: 65.8 },
    run: '37698009/12_2017_baselines/e2e_keypoint_rcnn_R-101-FPN_s1x.yaml.08_45_57.YkrJgP6O',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_X-101-64x4d-FPN_1x', id: 37732355,
    backbone: 'X-101-64x4d-FPN', schedule: '1x', metrics: { boxAP: 56.3, kpAP: 66.0 },
    run: '37732355/12_2017_baselines/e2e_keypoint_rcnn_X-101-64x4d-FPN_1x.yaml.16_56_16.yv4t4W8N',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_X-101-64x4d-FPN_s1x', id: 37732415,
    backbone: 'X-101-64x4d-FPN', schedule: 's1x', metrics: { boxAP: 56.9, kpAP: 66.8 },
    run: '37732415/12_2017_baselines/e2e_keypoint_rcnn_X-101-64x4d-FPN_s1x.yaml.16_57_48.Spqtq3Sf',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_X-101-32x8d-FPN_1x', id: 37792158,
    backbone: 'X-101-32x8d-FPN', schedule: '1x', metrics: { boxAP: 56.0, kpAP: 66.0 },
    run: '37792158/12_2017_baselines/e2e_keypoint_rcnn_X-101-32x8d-FPN_1x.yaml.16_54_16.LgZeo40k',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_keypoint_rcnn_X-101-32x8d-FPN_s1x', id: 37732318,
    backbone: 'X-101-32x8d-FPN', schedule: 's1x', metrics: { boxAP: 56.9, kpAP: 67.0 },
    run: '37732318/12_2017_baselines/e2e_keypoint_rcnn_X-101-32x8d-FPN_s1x.yaml.16_55_09.Lx8H5JVu',
    model: 'output/train/keypoints_coco_2014_train%3Akeypoints_coco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/bbox_keypoints_coco_2014_minival_results.json',
      keypoints: 'output/test/keypoints_coco_2014_minival/generalized_rcnn/keypoints_keypoints_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-50-FPN_2x_gn', id: 48616381,
    backbone: 'R-50-FPN, GN', schedule: '2x', metrics: { boxAP: 40.3, maskAP: 35.7 },
    run: 'GN/48616381/04_2018_gn_baselines/e2e_mask_rcnn_R-50-FPN_2x_gn_0416.13_23_38.bTlTI97Q',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-101-FPN_2x_gn', id: 48616724,
    backbone: 'R-101-FPN, GN', schedule: '2x', metrics: { boxAP: 41.8, maskAP: 36.8 },
    run: 'GN/48616724/04_2018_gn_baselines/e2e_mask_rcnn_R-101-FPN_2x_gn_0416.13_26_34.GLnri4GR',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-50-FPN_3x_gn', id: 48734751,
    backbone: 'R-50-FPN, GN', schedule: '3x', metrics: { boxAP: 40.8, maskAP: 36.1 },
    run: 'GN/48734751/04_2018_gn_baselines/e2e_mask_rcnn_R-50-FPN_3x_gn_0417.09_54_59.nwCTtPVk',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
  {
    name: 'e2e_mask_rcnn_R-101-FPN_3x_gn', id: 48734779,
    backbone: 'R-101-FPN, GN', schedule: '3x', metrics: { boxAP: 42.3, maskAP: 37.2 },
    run: 'GN/48734779/04_2018_gn_baselines/e2e_mask_rcnn_R-101-FPN_3x_gn_0417.09_55_23.HMtcR8wg',
    model: 'output/train/coco_2014_train%3Acoco_2014_valminusminival/generalized_rcnn/model_final.pkl',
    outputs: {
      boxes: 'output/test/coco_2014_minival/generalized_rcnn/bbox_coco_2014_minival_results.json',
      masks: 'output/test/coco_2014_minival/generalized_rcnn/segmentations_coco_2014_minival_results.json',
    },
  },
];
