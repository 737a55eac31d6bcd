/**
 * Every key of Detectron's `detectron/core/config.py`, with its default and its Python type.
 *
 * The interfaces give model code typed access (`cfg.MODEL.NUM_CLASSES: number`); the spec built
 * by `defaultSpec()` records, per key, the default value and the Python type Detectron's type
 * check compares against (`int` and `float` differ; `tuple` and `list` coerce into each other).
 * Values are Detectron's; see its config.py for the long-form documentation of each option.
 */

/** A value inside a list-typed key (e.g. EXPECTED_RESULTS rows). */
export type CfgLiteral = string | number | boolean | null | CfgLiteral[] | { [key: string]: CfgLiteral };

export interface TrainConfig {
  /** Initial weights (.pkl path or URL). */
  WEIGHTS: string;
  /** Training datasets (their union is used). */
  DATASETS: string[];
  /** Shortest-side scales; one is drawn per image (scale jitter). */
  SCALES: number[];
  MAX_SIZE: number;
  /** Images per GPU. */
  IMS_PER_BATCH: number;
  /** RoIs sampled per image for the box head. */
  BATCH_SIZE_PER_IM: number;
  FG_FRACTION: number;
  FG_THRESH: number;
  /** Background RoIs have max overlap in [BG_THRESH_LO, BG_THRESH_HI). */
  BG_THRESH_HI: number;
  BG_THRESH_LO: number;
  USE_FLIPPED: boolean;
  BBOX_THRESH: number;
  /** Checkpoint period, in iterations of an 8-GPU run (divided by NUM_GPUS). */
  SNAPSHOT_ITERS: number;
  /** Precomputed proposals, one file per dataset. */
  PROPOSAL_FILES: string[];
  ASPECT_GROUPING: boolean;
  GENERATE_PROPOSALS_ON_GPU: boolean;
  RPN_POSITIVE_OVERLAP: number;
  RPN_NEGATIVE_OVERLAP: number;
  RPN_FG_FRACTION: number;
  RPN_BATCH_SIZE_PER_IM: number;
  RPN_NMS_THRESH: number;
  /** Per FPN level when FPN is used. */
  RPN_PRE_NMS_TOP_N: number;
  /** Total over all FPN levels. */
  RPN_POST_NMS_TOP_N: number;
  /** Anchors further outside the image than this are dropped (-1 keeps all). */
  RPN_STRADDLE_THRESH: number;
  RPN_MIN_SIZE: number;
  CROWD_FILTER_THRESH: number;
  GT_MIN_AREA: number;
  FREEZE_CONV_BODY: boolean;
  AUTO_RESUME: boolean;
  COPY_WEIGHTS: boolean;
  /** Stage below which the backbone gets no gradient (0 trains everything). */
  FREEZE_AT: number;
}

export interface DataLoaderConfig {
  NUM_THREADS: number;
  MINIBATCH_QUEUE_SIZE: number;
  BLOBS_QUEUE_CAPACITY: number;
}

/** Test-time augmentation of box detection. */
export interface BboxAugConfig {
  ENABLED: boolean;
  /** 'ID' | 'AVG' | 'UNION' */
  SCORE_HEUR: string;
  /** 'ID' | 'AVG' | 'UNION' */
  COORD_HEUR: string;
  H_FLIP: boolean;
  SCALES: number[];
  MAX_SIZE: number;
  SCALE_H_FLIP: boolean;
  SCALE_SIZE_DEP: boolean;
  AREA_TH_LO: number;
  AREA_TH_HI: number;
  ASPECT_RATIOS: number[];
  ASPECT_RATIO_H_FLIP: boolean;
}

/** Test-time augmentation of masks. */
export interface MaskAugConfig {
  ENABLED: boolean;
  /** 'SOFT_AVG' | 'SOFT_MAX' | 'LOGIT_AVG' */
  HEUR: string;
  H_FLIP: boolean;
  SCALES: number[];
  MAX_SIZE: number;
  SCALE_H_FLIP: boolean;
  SCALE_SIZE_DEP: boolean;
  AREA_TH: number;
  ASPECT_RATIOS: number[];
  ASPECT_RATIO_H_FLIP: boolean;
}

/** Test-time augmentation of keypoints. */
export interface KpsAugConfig {
  ENABLED: boolean;
  /** 'HM_AVG' | 'HM_MAX' */
  HEUR: string;
  H_FLIP: boolean;
  SCALES: number[];
  MAX_SIZE: number;
  SCALE_H_FLIP: boolean;
  SCALE_SIZE_DEP: boolean;
  AREA_TH: number;
  ASPECT_RATIOS: number[];
  ASPECT_RATIO_H_FLIP: boolean;
}

export interface SoftNmsConfig {
  ENABLED: boolean;
  /** 'linear' | 'gaussian' */
  METHOD: string;
  SIGMA: number;
}

export interface BboxVoteConfig {
  ENABLED: boolean;
  VOTE_TH: number;
  /** 'ID' | 'AVG' | 'IOU_AVG' | 'GENERALIZED_AVG' | 'QUASI_SUM' */
  SCORING_METHOD: string;
  SCORING_METHOD_BETA: number;
}

export interface TestConfig {
  WEIGHTS: string;
  DATASETS: string[];
  /** Shortest side of the network input. */
  SCALE: number;
  MAX_SIZE: number;
  /** NMS IoU threshold for detections (also the soft-NMS overlap threshold). */
  NMS: number;
  BBOX_REG: boolean;
  PROPOSAL_FILES: string[];
  GENERATE_PROPOSALS_ON_GPU: boolean;
  PROPOSAL_LIMIT: number;
  RPN_NMS_THRESH: number;
  /** Per FPN level when FPN is used. */
  RPN_PRE_NMS_TOP_N: number;
  /** Total over all FPN levels. */
  RPN_POST_NMS_TOP_N: number;
  RPN_MIN_SIZE: number;
  DETECTIONS_PER_IM: number;
  SCORE_THRESH: number;
  COMPETITION_MODE: boolean;
  FORCE_JSON_DATASET_EVAL: boolean;
  /** Inferred by assertAndInferCfg: false whenever the model has an RPN or is RetinaNet. */
  PRECOMPUTED_PROPOSALS: boolean;
  CLASS_SPECIFIC_AR: boolean;
  BBOX_AUG: BboxAugConfig;
  MASK_AUG: MaskAugConfig;
  KPS_AUG: KpsAugConfig;
  SOFT_NMS: SoftNmsConfig;
  BBOX_VOTE: BboxVoteConfig;
}

export interface ModelConfig {
  /** Model builder, e.g. 'generalized_rcnn', 'retinanet'. */
  TYPE: string;
  /** Backbone builder, e.g. 'FPN.fpn_ResNet50_conv5_body' (Detectron's name without `add_`). */
  CONV_BODY: string;
  /** Foreground classes + 1 (81 for COCO). */
  NUM_CLASSES: number;
  CLS_AGNOSTIC_BBOX_REG: boolean;
  /** Weights of (dx, dy, dw, dh) in box regression targets. */
  BBOX_REG_WEIGHTS: number[];
  /** End-to-end RPN + Fast R-CNN (training) / use the model's own RPN (inference). */
  FASTER_RCNN: boolean;
  MASK_ON: boolean;
  KEYPOINTS_ON: boolean;
  /** The model stops at RPN proposals. */
  RPN_ONLY: boolean;
  /** Caffe2 net execution type; kept for config compatibility. */
  EXECUTION_TYPE: string;
}

export interface RetinaNetConfig {
  RETINANET_ON: boolean;
  ASPECT_RATIOS: number[];
  SCALES_PER_OCTAVE: number;
  /** Anchor size = stride * ANCHOR_SCALE * octave scale. */
  ANCHOR_SCALE: number;
  /** Convs in each head tower, before the output conv. */
  NUM_CONVS: number;
  BBOX_REG_WEIGHT: number;
  BBOX_REG_BETA: number;
  /** Top anchors per FPN level kept before NMS at inference. */
  PRE_NMS_TOP_N: number;
  POSITIVE_OVERLAP: number;
  NEGATIVE_OVERLAP: number;
  LOSS_ALPHA: number;
  LOSS_GAMMA: number;
  PRIOR_PROB: number;
  SHARE_CLS_BBOX_TOWER: boolean;
  CLASS_SPECIFIC_BBOX: boolean;
  SOFTMAX: boolean;
  /** Score threshold for anchors considered at inference. */
  INFERENCE_TH: number;
}

export interface SolverConfig {
  BASE_LR: number;
  /** 'step' | 'steps_with_decay' | 'steps_with_lrs' | 'cosine_decay' | 'exp_decay' */
  LR_POLICY: string;
  GAMMA: number;
  STEP_SIZE: number;
  STEPS: number[];
  LRS: number[];
  MAX_ITER: number;
  MOMENTUM: number;
  WEIGHT_DECAY: number;
  WEIGHT_DECAY_GN: number;
  WARM_UP_ITERS: number;
  WARM_UP_FACTOR: number;
  /** 'constant' | 'linear' */
  WARM_UP_METHOD: string;
  SCALE_MOMENTUM: boolean;
  SCALE_MOMENTUM_THRESHOLD: number;
  LOG_LR_CHANGE_THRESHOLD: number;
}

export interface FastRcnnConfig {
  /** Box head builder, e.g. 'fast_rcnn_heads.roi_2mlp_head'. */
  ROI_BOX_HEAD: string;
  MLP_HEAD_DIM: number;
  CONV_HEAD_DIM: number;
  NUM_STACKED_CONVS: number;
  /** 'RoIPoolF' | 'RoIAlign' */
  ROI_XFORM_METHOD: string;
  ROI_XFORM_SAMPLING_RATIO: number;
  ROI_XFORM_RESOLUTION: number;
}

export interface RpnConfig {
  /** Inferred by assertAndInferCfg from MODEL.RPN_ONLY / MODEL.FASTER_RCNN. */
  RPN_ON: boolean;
  /** Anchor sizes of single-level (non-FPN) RPN. */
  SIZES: number[];
  STRIDE: number;
  ASPECT_RATIOS: number[];
}

export interface FpnConfig {
  FPN_ON: boolean;
  DIM: number;
  ZERO_INIT_LATERAL: boolean;
  /** Inputs are padded to a multiple of this stride. */
  COARSEST_STRIDE: number;
  MULTILEVEL_ROIS: boolean;
  ROI_CANONICAL_SCALE: number;
  ROI_CANONICAL_LEVEL: number;
  ROI_MAX_LEVEL: number;
  ROI_MIN_LEVEL: number;
  MULTILEVEL_RPN: boolean;
  RPN_MAX_LEVEL: number;
  RPN_MIN_LEVEL: number;
  RPN_ASPECT_RATIOS: number[];
  /** Anchor size at RPN_MIN_LEVEL; doubles per level. */
  RPN_ANCHOR_START_SIZE: number;
  EXTRA_CONV_LEVELS: boolean;
  USE_GN: boolean;
}

export interface MrcnnConfig {
  /** Mask head builder, e.g. 'mask_rcnn_heads.mask_rcnn_fcn_head_v1up4convs'. */
  ROI_MASK_HEAD: string;
  /** Side of the predicted mask. */
  RESOLUTION: number;
  ROI_XFORM_METHOD: string;
  ROI_XFORM_RESOLUTION: number;
  ROI_XFORM_SAMPLING_RATIO: number;
  DIM_REDUCED: number;
  DILATION: number;
  UPSAMPLE_RATIO: number;
  USE_FC_OUTPUT: boolean;
  CONV_INIT: string;
  CLS_SPECIFIC_MASK: boolean;
  WEIGHT_LOSS_MASK: number;
  /** Soft-mask threshold when pasting masks into the image. */
  THRESH_BINARIZE: number;
}

export interface KrcnnConfig {
  /** Keypoint head builder, e.g. 'keypoint_rcnn_heads.roi_pose_head_v1convX'. */
  ROI_KEYPOINTS_HEAD: string;
  HEATMAP_SIZE: number;
  UP_SCALE: number;
  USE_DECONV: boolean;
  DECONV_DIM: number;
  USE_DECONV_OUTPUT: boolean;
  DILATION: number;
  DECONV_KERNEL: number;
  NUM_KEYPOINTS: number;
  NUM_STACKED_CONVS: number;
  CONV_HEAD_DIM: number;
  CONV_HEAD_KERNEL: number;
  CONV_INIT: string;
  NMS_OKS: boolean;
  /** 'bbox' | 'logit' | 'prob' */
  KEYPOINT_CONFIDENCE: string;
  ROI_XFORM_METHOD: string;
  ROI_XFORM_RESOLUTION: number;
  ROI_XFORM_SAMPLING_RATIO: number;
  MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH: number;
  INFERENCE_MIN_SIZE: number;
  LOSS_WEIGHT: number;
  NORMALIZE_BY_VISIBLE_KEYPOINTS: boolean;
}

export interface RfcnConfig {
  PS_GRID_SIZE: number;
}

export interface ResNetsConfig {
  /** 1 for ResNet, > 1 for ResNeXt. */
  NUM_GROUPS: number;
  WIDTH_PER_GROUP: number;
  /** Stride on the 1x1 conv (MSRA ResNets) instead of the 3x3. */
  STRIDE_1X1: boolean;
  TRANS_FUNC: string;
  STEM_FUNC: string;
  SHORTCUT_FUNC: string;
  RES5_DILATION: number;
}

export interface GroupNormConfig {
  DIM_PER_GP: number;
  NUM_GROUPS: number;
  EPSILON: number;
}

export interface ClusterConfig {
  ON_CLUSTER: boolean;
}

/** The whole config tree (Detectron's `cfg`). */
export interface DetectronConfig {
  TRAIN: TrainConfig;
  DATA_LOADER: DataLoaderConfig;
  TEST: TestConfig;
  MODEL: ModelConfig;
  RETINANET: RetinaNetConfig;
  SOLVER: SolverConfig;
  FAST_RCNN: FastRcnnConfig;
  RPN: RpnConfig;
  FPN: FpnConfig;
  MRCNN: MrcnnConfig;
  KRCNN: KrcnnConfig;
  RFCN: RfcnConfig;
  RESNETS: ResNetsConfig;
  GROUP_NORM: GroupNormConfig;
  NUM_GPUS: number;
  USE_NCCL: boolean;
  /** Scale for de-duplicating boxes that collide in feature space (0 disables). */
  DEDUP_BOXES: number;
  /** Clip of predicted dw/dh before exp() (a numpy.float64 in Detectron). */
  BBOX_XFORM_CLIP: number;
  /** BGR means subtracted from the input, shape 1×1×3. */
  PIXEL_MEANS: number[][][];
  RNG_SEED: number;
  EPS: number;
  /** process.cwd() when the defaults were made. */
  ROOT_DIR: string;
  OUTPUT_DIR: string;
  MATLAB: string;
  MEMONGER: boolean;
  MEMONGER_SHARE_ACTIVATIONS: boolean;
  VIS: boolean;
  VIS_TH: number;
  /** Rows of (dataset, task, metric, expected value). */
  EXPECTED_RESULTS: CfgLiteral[];
  EXPECTED_RESULTS_RTOL: number;
  EXPECTED_RESULTS_ATOL: number;
  EXPECTED_RESULTS_SIGMA_TOL: number;
  EXPECTED_RESULTS_EMAIL: string;
  /** Detectron's own URL cache; our downloads use model_zoo's cache (see resolveWeights). */
  DOWNLOAD_CACHE: string;
  CLUSTER: ClusterConfig;
}

/** Deeply read-only view: what assertAndInferCfg returns and model code should take. */
export type DeepReadonly<T> = T extends (infer E)[]
  ? ReadonlyArray<DeepReadonly<E>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export type FrozenDetectronConfig = DeepReadonly<DetectronConfig>;

/** Python type of a key's default, as Detectron's type check sees it. */
export type PyType = 'str' | 'int' | 'float' | 'bool' | 'tuple' | 'list' | 'ndarray' | 'np.float64';

export interface LeafSpec<T> {
  readonly py: PyType;
  readonly value: T;
}

type Leaf = string | number | boolean | readonly unknown[];

/** The spec mirrors the interface key for key (the compiler checks that it is complete). */
export type ConfigSpec<T> = {
  readonly [K in keyof T]: T[K] extends Leaf ? LeafSpec<T[K]> : ConfigSpec<T[K]>;
};

const str = (value: string): LeafSpec<string> => ({ py: 'str', value });
const int = (value: number): LeafSpec<number> => ({ py: 'int', value });
const float = (value: number): LeafSpec<number> => ({ py: 'float', value });
const bool = (value: boolean): LeafSpec<boolean> => ({ py: 'bool', value });
const tuple = <T>(value: T[]): LeafSpec<T[]> => ({ py: 'tuple', value });
const list = <T>(value: T[]): LeafSpec<T[]> => ({ py: 'list', value });

/** MASK_AUG and KPS_AUG share their layout; only the heuristic differs. */
function augSpec(heur: string): ConfigSpec<MaskAugConfig> {
  return {
    ENABLED: bool(false),
    HEUR: str(heur),
    H_FLIP: bool(false),
    SCALES: tuple<number>([]),
    MAX_SIZE: int(4000),
    SCALE_H_FLIP: bool(false),
    SCALE_SIZE_DEP: bool(false),
    AREA_TH: int(180 ** 2),
    ASPECT_RATIOS: tuple<number>([]),
    ASPECT_RATIO_H_FLIP: bool(false),
  };
}

function trainSpec(): ConfigSpec<TrainConfig> {
  return {
    WEIGHTS: str(''),
    DATASETS: tuple<string>([]),
    SCALES: tuple([600]),
    MAX_SIZE: int(1000),
    IMS_PER_BATCH: int(2),
    BATCH_SIZE_PER_IM: int(64),
    FG_FRACTION: float(0.25),
    FG_THRESH: float(0.5),
    BG_THRESH_HI: float(0.5),
    BG_THRESH_LO: float(0.0),
    USE_FLIPPED: bool(true),
    BBOX_THRESH: float(0.5),
    SNAPSHOT_ITERS: int(80000),
    PROPOSAL_FILES: tuple<string>([]),
    ASPECT_GROUPING: bool(true),
    GENERATE_PROPOSALS_ON_GPU: bool(false),
    RPN_POSITIVE_OVERLAP: float(0.7),
    RPN_NEGATIVE_OVERLAP: float(0.3),
    RPN_FG_FRACTION: float(0.5),
    RPN_BATCH_SIZE_PER_IM: int(256),
    RPN_NMS_THRESH: float(0.7),
    RPN_PRE_NMS_TOP_N: int(12000),
    RPN_POST_NMS_TOP_N: int(2000),
    RPN_STRADDLE_THRESH: int(0),
    RPN_MIN_SIZE: int(0),
    CROWD_FILTER_THRESH: float(0.7),
    GT_MIN_AREA: int(-1),
    FREEZE_CONV_BODY: bool(false),
    AUTO_RESUME: bool(true),
    COPY_WEIGHTS: bool(false),
    FREEZE_AT: int(2),
  };
}

function testSpec(): ConfigSpec<TestConfig> {
  return {
    WEIGHTS: str(''),
    DATASETS: tuple<string>([]),
    SCALE: int(600),
    MAX_SIZE: int(1000),
    NMS: float(0.3),
    BBOX_REG: bool(true),
    PROPOSAL_FILES: tuple<string>([]),
    GENERATE_PROPOSALS_ON_GPU: bool(false),
    PROPOSAL_LIMIT: int(2000),
    RPN_NMS_THRESH: float(0.7),
    RPN_PRE_NMS_TOP_N: int(12000),
    RPN_POST_NMS_TOP_N: int(2000),
    RPN_MIN_SIZE: int(0),
    DETECTIONS_PER_IM: int(100),
    SCORE_THRESH: float(0.05),
    COMPETITION_MODE: bool(true),
    FORCE_JSON_DATASET_EVAL: bool(false),
    PRECOMPUTED_PROPOSALS: bool(true),
    CLASS_SPECIFIC_AR: bool(false),
    BBOX_AUG: {
      ENABLED: bool(false),
      SCORE_HEUR: str('UNION'),
      COORD_HEUR: str('UNION'),
      H_FLIP: bool(false),
      SCALES: tuple<number>([]),
      MAX_SIZE: int(4000),
      SCALE_H_FLIP: bool(false),
      SCALE_SIZE_DEP: bool(false),
      AREA_TH_LO: int(50 ** 2),
      AREA_TH_HI: int(180 ** 2),
      ASPECT_RATIOS: tuple<number>([]),
      ASPECT_RATIO_H_FLIP: bool(false),
    },
    MASK_AUG: augSpec('SOFT_AVG'),
    KPS_AUG: augSpec('HM_AVG'),
    SOFT_NMS: { ENABLED: bool(false), METHOD: str('linear'), SIGMA: float(0.5) },
    BBOX_VOTE: {
      ENABLED: bool(false),
      VOTE_TH: float(0.8),
      SCORING_METHOD: str('ID'),
      SCORING_METHOD_BETA: float(1.0),
    },
  };
}

function modelSpec(): ConfigSpec<ModelConfig> {
  return {
    TYPE: str(''),
    CONV_BODY: str(''),
    NUM_CLASSES: int(-1),
    CLS_AGNOSTIC_BBOX_REG: bool(false),
    BBOX_REG_WEIGHTS: tuple([10.0, 10.0, 5.0, 5.0]),
    FASTER_RCNN: bool(false),
    MASK_ON: bool(false),
    KEYPOINTS_ON: bool(false),
    RPN_ONLY: bool(false),
    EXECUTION_TYPE: str('dag'),
  };
}

function retinanetSpec(): ConfigSpec<RetinaNetConfig> {
  return {
    RETINANET_ON: bool(false),
    ASPECT_RATIOS: tuple([0.5, 1.0, 2.0]),
    SCALES_PER_OCTAVE: int(3),
    ANCHOR_SCALE: int(4),
    NUM_CONVS: int(4),
    BBOX_REG_WEIGHT: float(1.0),
    BBOX_REG_BETA: float(0.11),
    PRE_NMS_TOP_N: int(1000),
    POSITIVE_OVERLAP: float(0.5),
    NEGATIVE_OVERLAP: float(0.4),
    LOSS_ALPHA: float(0.25),
    LOSS_GAMMA: float(2.0),
    PRIOR_PROB: float(0.01),
    SHARE_CLS_BBOX_TOWER: bool(false),
    CLASS_SPECIFIC_BBOX: bool(false),
    SOFTMAX: bool(false),
    INFERENCE_TH: float(0.05),
  };
}

function solverSpec(): ConfigSpec<SolverConfig> {
  return {
    BASE_LR: float(0.001),
    LR_POLICY: str('step'),
    GAMMA: float(0.1),
    STEP_SIZE: int(30000),
    STEPS: list<number>([]),
    LRS: list<number>([]),
    MAX_ITER: int(40000),
    MOMENTUM: float(0.9),
    WEIGHT_DECAY: float(0.0005),
    WEIGHT_DECAY_GN: float(0.0),
    WARM_UP_ITERS: int(500),
    WARM_UP_FACTOR: float(1.0 / 3.0),
    WARM_UP_METHOD: str('linear'),
    SCALE_MOMENTUM: bool(true),
    SCALE_MOMENTUM_THRESHOLD: float(1.1),
    LOG_LR_CHANGE_THRESHOLD: float(1.1),
  };
}

function fpnSpec(): ConfigSpec<FpnConfig> {
  return {
    FPN_ON: bool(false),
    DIM: int(256),
    ZERO_INIT_LATERAL: bool(false),
    COARSEST_STRIDE: int(32),
    MULTILEVEL_ROIS: bool(false),
    ROI_CANONICAL_SCALE: int(224),
    ROI_CANONICAL_LEVEL: int(4),
    ROI_MAX_LEVEL: int(5),
    ROI_MIN_LEVEL: int(2),
    MULTILEVEL_RPN: bool(false),
    RPN_MAX_LEVEL: int(6),
    RPN_MIN_LEVEL: int(2),
    RPN_ASPECT_RATIOS: tuple([0.5, 1, 2]),
    RPN_ANCHOR_START_SIZE: int(32),
    EXTRA_CONV_LEVELS: bool(false),
    USE_GN: bool(false),
  };
}

function mrcnnSpec(): ConfigSpec<MrcnnConfig> {
  return {
    ROI_MASK_HEAD: str(''),
    RESOLUTION: int(14),
    ROI_XFORM_METHOD: str('RoIAlign'),
    ROI_XFORM_RESOLUTION: int(7),
    ROI_XFORM_SAMPLING_RATIO: int(0),
    DIM_REDUCED: int(256),
    DILATION: int(2),
    UPSAMPLE_RATIO: int(1),
    USE_FC_OUTPUT: bool(false),
    CONV_INIT: str('GaussianFill'),
    CLS_SPECIFIC_MASK: bool(true),
    WEIGHT_LOSS_MASK: float(1.0),
    THRESH_BINARIZE: float(0.5),
  };
}

function krcnnSpec(): ConfigSpec<KrcnnConfig> {
  return {
    ROI_KEYPOINTS_HEAD: str(''),
    HEATMAP_SIZE: int(-1),
    UP_SCALE: int(-1),
    USE_DECONV: bool(false),
    DECONV_DIM: int(256),
    USE_DECONV_OUTPUT: bool(false),
    DILATION: int(1),
    DECONV_KERNEL: int(4),
    NUM_KEYPOINTS: int(-1),
    NUM_STACKED_CONVS: int(8),
    CONV_HEAD_DIM: int(256),
    CONV_HEAD_KERNEL: int(3),
    CONV_INIT: str('GaussianFill'),
    NMS_OKS: bool(false),
    KEYPOINT_CONFIDENCE: str('bbox'),
    ROI_XFORM_METHOD: str('RoIAlign'),
    ROI_XFORM_RESOLUTION: int(7),
    ROI_XFORM_SAMPLING_RATIO: int(0),
    MIN_KEYPOINT_COUNT_FOR_VALID_MINIBATCH: int(20),
    INFERENCE_MIN_SIZE: int(0),
    LOSS_WEIGHT: float(1.0),
    NORMALIZE_BY_VISIBLE_KEYPOINTS: bool(true),
  };
}

/** A fresh spec (ROOT_DIR is the current directory, as Detectron's `os.getcwd()` default). */
export function defaultSpec(): ConfigSpec<DetectronConfig> {
  return {
    TRAIN: trainSpec(),
    DATA_LOADER: { NUM_THREADS: int(4), MINIBATCH_QUEUE_SIZE: int(64), BLOBS_QUEUE_CAPACITY: int(8) },
    TEST: testSpec(),
    MODEL: modelSpec(),
    RETINANET: retinanetSpec(),
    SOLVER: solverSpec(),
    FAST_RCNN: {
      ROI_BOX_HEAD: str(''),
      MLP_HEAD_DIM: int(1024),
      CONV_HEAD_DIM: int(256),
      NUM_STACKED_CONVS: int(4),
      ROI_XFORM_METHOD: str('RoIPoolF'),
      ROI_XFORM_SAMPLING_RATIO: int(0),
      ROI_XFORM_RESOLUTION: int(14),
    },
    RPN: { RPN_ON: bool(false), SIZES: tuple([64, 128, 256, 512]), STRIDE: int(16), ASPECT_RATIOS: tuple([0.5, 1, 2]) },
    FPN: fpnSpec(),
    MRCNN: mrcnnSpec(),
    KRCNN: krcnnSpec(),
    RFCN: { PS_GRID_SIZE: int(3) },
    RESNETS: {
      NUM_GROUPS: int(1),
      WIDTH_PER_GROUP: int(64),
      STRIDE_1X1: bool(true),
      TRANS_FUNC: str('bottleneck_transformation'),
      STEM_FUNC: str('basic_bn_stem'),
      SHORTCUT_FUNC: str('basic_bn_shortcut'),
      RES5_DILATION: int(1),
    },
    GROUP_NORM: { DIM_PER_GP: int(-1), NUM_GROUPS: int(32), EPSILON: float(1e-5) },
    NUM_GPUS: int(1),
    USE_NCCL: bool(false),
    DEDUP_BOXES: float(1 / 16),
    BBOX_XFORM_CLIP: { py: 'np.float64', value: Math.log(1000 / 16) },
    PIXEL_MEANS: { py: 'ndarray', value: [[[102.9801, 115.9465, 122.7717]]] },
    RNG_SEED: int(3),
    EPS: float(1e-14),
    ROOT_DIR: str(process.cwd()),
    OUTPUT_DIR: str('/tmp'),
    MATLAB: str('matlab'),
    MEMONGER: bool(true),
    MEMONGER_SHARE_ACTIVATIONS: bool(false),
    VIS: bool(false),
    VIS_TH: float(0.9),
    EXPECTED_RESULTS: list<CfgLiteral>([]),
    EXPECTED_RESULTS_RTOL: float(0.1),
    EXPECTED_RESULTS_ATOL: float(0.005),
    EXPECTED_RESULTS_SIGMA_TOL: int(4),
    EXPECTED_RESULTS_EMAIL: str(''),
    DOWNLOAD_CACHE: str('/tmp/detectron-download-cache'),
    CLUSTER: { ON_CLUSTER: bool(false) },
  };
}
