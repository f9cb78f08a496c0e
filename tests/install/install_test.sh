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

# The Python package, when built: installed under the prefix's site-packages
# (lib/python3.X/dist-packages for Debian's interpreter), importable from
# there alone, and running a model.
SITE="$(find "$WORK/prefix" -name _bnfold*.so -printf '%h\n' 2>/dev/null | head -1)"
if [ -n "$SITE" ]; then
  case "$SITE" in
    "$WORK/prefix"/lib/python3*/*-packages/bnfold) ;;
    *) echo "bnfold package installed at unexpected $SITE" >&2; exit 1 ;;
  esac
  (cd "$WORK" && PYTHONPATH="$(dirname "$SITE")" /usr/bin/python3 -c "
import sys, numpy as np, bnfold
assert bnfold.__file__.startswith('$WORK/prefix'), bnfold.__file__
s = bnfold.InferenceSession('$MODEL')
(y,) = s.run(None, {s.get_inputs()[0].name: np.linspace(-1, 1, 60, dtype=np.float32).reshape(3, 4, 5)})
assert abs(float(y.sum()) - 15.254237) < 1e-4, y.sum()
")
fi
