#!/usr/bin/env bash
# Brings a clone to a working state: npm dependencies, libtorch (installed with apt when
# missing and we are root on Debian/Ubuntu), the native addon and the TypeScript build.
# Cheap when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm ci runs our install step (scripts/build_native.js) and prepare (tsc).
  npm ci --no-audit --no-fund
else
  node scripts/build_native.js
  npx tsc -p tsconfig.json
fi
