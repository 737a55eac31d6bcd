#!/usr/bin/env bash
# Runs every benchmark in bench/ (compiled to dist/bench) and prints its figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for b in dist/bench/*.js; do
  echo "== ${b#dist/}"
  node "$b"
done
