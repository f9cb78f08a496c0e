#!/usr/bin/env bash
# Installs ONNX Runtime for Node (the reference runtime of tests/models and the
# benchmarks) into .cache/ort -- only when it is missing, so a second run costs
# nothing. --ignore-scripts: the npm package ships the prebuilt CPU binary, the
# install script only fetches optional GPU bits.
#
# Without node/npm (scripts/setup.sh installs them) this fails: the tests compare
# with ONNX Runtime and must not pass without it. BNFOLD_ALLOW_SKIP=1 (outside
# CI) makes it a warning instead, and those tests then skip
# (tests/test_util/dependency.h).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ORT_DIR="${BNFOLD_ORT_DIR:-$ROOT/.cache/ort}"
VERSION=1.30.0
PACKAGE_JSON="$ORT_DIR/node_modules/onnxruntime-node/package.json"

if [ -f "$PACKAGE_JSON" ] && grep -q "\"version\": \"$VERSION\"" "$PACKAGE_JSON"; then
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "${BNFOLD_ALLOW_SKIP:-}" = 1 ] && [ "${CI:-}" != true ]; then
    echo "ort/install: node and npm not found; BNFOLD_ALLOW_SKIP=1: the ONNX Runtime comparisons will be skipped" >&2
    exit 0
  fi
  echo "ort/install: node and npm not found (scripts/setup.sh installs Debian's nodejs and npm)" >&2
  exit 1
fi
mkdir -p "$ORT_DIR"
echo "ort/install: onnxruntime-node@$VERSION into $ORT_DIR"
# A private package.json keeps npm from walking up into the source tree.
[ -f "$ORT_DIR/package.json" ] || echo '{"private": true}' > "$ORT_DIR/package.json"
npm install --prefix "$ORT_DIR" --ignore-scripts --no-audit --no-fund --loglevel=error \
  "onnxruntime-node@$VERSION"
