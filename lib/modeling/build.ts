/**
 * The model for a config, as Detectron's model_builder.create dispatches on MODEL.TYPE: a
 * RetinaNet for 'retinanet', a Generalized R-CNN for 'generalized_rcnn' and its older names.
 */
import type { Cfg } from './config_types';
import { GENERALIZED_RCNN_TYPES, GeneralizedRCNN } from './model_builder';
import { RETINANET_TYPE, RetinaNet } from './retinanet';

export type DetectionModel = GeneralizedRCNN | RetinaNet;

export function buildModel(cfg: Cfg): DetectionModel {
  const type = cfg.MODEL.TYPE;
  if (type === RETINANET_TYPE) return new RetinaNet(cfg);
  if (!GENERALIZED_RCNN_TYPES.includes(type)) {
    throw new Error(`MODEL.TYPE: unknown model type '${type}'; known: ${[RETINANET_TYPE, ...GENERALIZED_RCNN_TYPES].join(', ')}`);
  }
  // Detectron's test engine runs the RetinaNet path whenever RETINANET_ON, whatever the model.
  if (cfg.RETINANET.RETINANET_ON) throw new Error(`RETINANET.RETINANET_ON needs MODEL.TYPE '${RETINANET_TYPE}', got '${type}'`);
  return new GeneralizedRCNN(cfg);
}
