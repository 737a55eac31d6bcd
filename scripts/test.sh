#!/usr/bin/env bash
# The test command: set up what is missing, then run the whole jest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx jest --ci "$@"
