#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the
# main job on a model shipped in models/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/models.sh"  # the seed models in models/
BNFOLD="$BUILD_DIR/bnfold"
MODEL="/usr/share/libonnx-testdata/data/node/test_relu/model.onnx"
echo "== bnfold run $MODEL"
"$BNFOLD" run "$MODEL" --random-inputs --seed 1
