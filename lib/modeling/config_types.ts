/** The config type model code takes: Detectron's cfg after assertAndInferCfg (read-only). */
export type { FrozenDetectronConfig as Cfg } from '../core/config_defaults';
