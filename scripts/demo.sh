#!/usr/bin/env bash
# The main job: Mask R-CNN R-50-FPN from Detectron's model zoo (downloaded into the cache on
# first use) on the bundled demo photographs; pictures and results go to data/demo_output/.
# Extra arguments go to infer_simple, e.g. `npm run demo -- --wts /path/to/model_final.pkl`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/detectron.js infer_simple \
  --cfg configs/12_2017_baselines/e2e_mask_rcnn_R-50-FPN_1x.yaml \
  --wts e2e_mask_rcnn_R-50-FPN_1x \
  --image-dir demo --image-ext jpg \
  --output-dir data/demo_output --output-ext jpg \
  "$@"
