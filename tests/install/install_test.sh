#!/usr/bin/env bash
# Installs bnfold into a temporary prefix, builds a separate consumer project
# with find_package(bnfold), and runs it on a conformance model: Relu of the
# 60-element input -1, -0.5, 0, 0.5, 1, ... sums to 12 * 1.5 = 18.
set -euo pipefail
BUILD_DIR="$1"
SOURCE_DIR="$2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD_DIR" --prefix "$WORK/prefix" > /dev/null
cmake -S "$SOURCE_DIR/tests/install/consumer" -B "$WORK/build" \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$WORK/build" > /dev/null
MODEL=/usr/share/libonnx-testdata/data/node/test_relu/model.onnx
"$WORK/build/consumer" "$MODEL" 18
test -x "$WORK/prefix/bin/bnfold"
