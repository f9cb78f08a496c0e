#!/usr/bin/env bash
# Configures (once) and builds bnfold into build/ (or $BNFOLD_BUILD_DIR).
# Incremental: a second run only rebuilds what changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build}"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
