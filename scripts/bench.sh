#!/usr/bin/env bash
# Runs benchmarks from bench/ (compiled to dist/bench) and prints their figures.
#   npm run bench                 the quick ones (minutes)
#   npm run bench -- overfit      named ones, e.g. the long training ones: overfit, distributed
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(kernels inference pkl_load cocomask preprocess json_dataset_load)
fi
for name in "${names[@]}"; do
  echo "== bench/${name}"
  node "dist/bench/${name}.js"
done
