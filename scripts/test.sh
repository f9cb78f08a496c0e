#!/usr/bin/env bash
# The README's test command: install what is missing, build, run every test.
# A test whose dependency is missing fails; BNFOLD_ALLOW_SKIP=1 (never under
# CI=true) lets it skip instead, and the summary at the end lists the skips.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/models.sh"; "$ROOT/scripts/ort/install.sh"  # tests/models: seed models, ONNX Runtime
cd "$BUILD_DIR"
status=0
ctest --output-on-failure -j "$(nproc)" --output-junit "$BUILD_DIR/ctest-results.xml" || status=$?
/usr/bin/python3 "$ROOT/scripts/test_summary.py" "$BUILD_DIR/ctest-results.xml" || true
exit "$status"
