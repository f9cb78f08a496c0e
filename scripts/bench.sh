#!/usr/bin/env bash
# bnfold's performance measurements (README "Performance").
#
#   scripts/bench.sh [side_by_side.py options]   # bnfold vs ONNX Runtime, folded vs not
#   scripts/bench.sh --micro [benchmark flags]   # Google Benchmark: passes, Open, first run
#
# Builds what it runs (Release, in build/ or $BNFOLD_BUILD_DIR), installs ONNX
# Runtime and generates the seed models when they are missing. Examples:
#   scripts/bench.sh --quick                     # a minute: checks the tooling
#   scripts/bench.sh --rounds 5 --markdown -     # the README table
#   scripts/bench.sh --micro --benchmark_filter=resnet50
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build}"
# Other jobs may share the machine; a benchmark build should not starve them.
JOBS="${BNFOLD_BUILD_JOBS:-2}"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
fi
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
if [ "$build_type" != "Release" ]; then
  echo "bench: $BUILD_DIR is a '$build_type' build; timings need Release" \
       "(set BNFOLD_BUILD_DIR to another folder)" >&2
  exit 2
fi

if [ "${1:-}" = "--micro" ]; then
  shift
  cmake --build "$BUILD_DIR" -j "$JOBS" --target bnfold_fold_pass_benchmark bnfold_compile_benchmark
  "$ROOT/scripts/models.sh" resnet50 mobilenetv2 >/dev/null
  status=0
  for b in fold_pass compile; do
    "$BUILD_DIR/bench/bnfold_${b}_benchmark" "$@" || status=$?
  done
  exit "$status"
fi

cmake --build "$BUILD_DIR" -j "$JOBS" --target bnfold
# /usr/bin/python3: Debian's python3-onnx and python3-numpy live there.
exec /usr/bin/python3 "$ROOT/bench/side_by_side.py" --bnfold "$BUILD_DIR/bnfold" "$@"
