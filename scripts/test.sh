#!/usr/bin/env bash
# The README's test command: install what is missing, build, run every test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/models.sh"; "$ROOT/scripts/ort/install.sh"  # tests/models: seed models, ONNX Runtime
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)"
