#!/usr/bin/env bash
# The README's first command: install what is missing, build, generate the
# seed models, and run the main job on one of them: optimize (fold
# BatchNormalization) -> verify (folded vs unfolded on oneDNN) -> run.
#   ./scripts/demo.sh [MODEL]      (default: models/keras_cnn.onnx)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/models.sh"  # the seed models in models/
BNFOLD="$BUILD_DIR/bnfold"
MODEL="${1:-$ROOT/models/keras_cnn.onnx}"
OUT="$BUILD_DIR/demo/$(basename "${MODEL%.onnx}").optimized.onnx"
mkdir -p "$BUILD_DIR/demo"

echo "== bnfold inspect $MODEL"
"$BNFOLD" inspect "$MODEL"
echo
echo "== bnfold optimize $MODEL $OUT --report"
"$BNFOLD" optimize "$MODEL" "$OUT" --report
echo
echo "== bnfold verify $MODEL"
"$BNFOLD" verify "$MODEL" --seeds 3
echo
echo "== bnfold run $OUT"
"$BNFOLD" run "$OUT" --random-inputs --seed 1
