#!/usr/bin/env bash
# libFuzzer on bnfold (fuzz/): builds the targets with clang-14, ASan+UBSan
# and coverage into build-fuzz/, seeds the corpora, and runs each target for
# SECONDS (default 60) on one core:
#   scripts/fuzz.sh [SECONDS]          both targets, SECONDS each
#   BNFOLD_FUZZ_TARGETS=model_fuzzer scripts/fuzz.sh 3600
# Seeds: every model.onnx of libonnx-testdata and the seed models in models/
# (scripts/models.sh), plus the reproducers of past findings in
# fuzz/corpus/<target>/ (each also a regression test in tests/). The working
# corpus grows in build-fuzz/corpus/<target>/. A crash, leak, sanitizer
# report, a run over 10 s or over 2 GB RSS fails the script and leaves the
# input as build-fuzz/<target>-crash-*. Figures: docs/FUZZING.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_EACH="${1:-60}"
BUILD_DIR="${BNFOLD_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
TARGETS=(${BNFOLD_FUZZ_TARGETS:-model_fuzzer tensor_fuzzer})
JOBS="${BNFOLD_JOBS:-$(nproc)}"

command -v clang++-14 >/dev/null || { echo "fuzz: clang-14 is missing (scripts/setup.sh)" >&2; exit 2; }
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DBNFOLD_SANITIZE=address -DBNFOLD_BUILD_FUZZERS=ON -DBNFOLD_BUILD_TESTS=OFF \
    -DBNFOLD_BUILD_PYTHON=OFF -DBNFOLD_BUILD_BENCH=OFF "${LAUNCHER[@]}"
fi
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}"

# Seeds (copied once; libFuzzer keeps what adds coverage).
seed() {
  local target=$1 dir="$BUILD_DIR/corpus/$1"
  [ -d "$dir" ] && return 0
  mkdir -p "$dir"
  if [ "$target" = model_fuzzer ]; then
    local i=0
    for f in /usr/share/libonnx-testdata/data/*/*/model.onnx "$ROOT"/models/*.onnx; do
      [ -f "$f" ] || continue
      # Under the target's 256 KiB cap only.
      [ "$(stat -c %s "$f")" -le 262144 ] && cp "$f" "$dir/seed-$((i++)).onnx"
    done
  else
    # .pb tensors (first byte even) and .npy arrays (first byte odd).
    local i=0
    for f in /usr/share/libonnx-testdata/data/node/*/test_data_set_0/*.pb; do
      [ "$(stat -c %s "$f")" -le 65536 ] || continue
      { printf '\x00'; cat "$f"; } > "$dir/pb-$((i++))"
    done
    /usr/bin/python3 - "$dir" <<'PY'
import sys, numpy as np, io
d = sys.argv[1]
arrays = [np.zeros((2, 3), np.float32), np.arange(6, dtype=np.int64).reshape(3, 2),
          np.array([True, False]), np.ones((1, 2, 2), np.float16), np.array(3.5),
          np.arange(4, dtype=np.uint8), np.asfortranarray(np.ones((2, 2), np.float64)),
          np.arange(3, dtype='>i4')]
for k, a in enumerate(arrays):
    b = io.BytesIO(); np.save(b, a)
    open(f"{d}/npy-{k}", "wb").write(b"\x01" + b.getvalue())
PY
  fi
}

status=0
for target in "${TARGETS[@]}"; do
  seed "$target"
  dict=()
  [ "$target" = model_fuzzer ] && dict=(-dict="$ROOT/fuzz/onnx.dict")
  echo "fuzz: $target for ${SECONDS_EACH}s"
  (cd "$BUILD_DIR" && ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" OMP_NUM_THREADS=1 \
    "./fuzz/$target" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=262144 -print_final_stats=1 \
      -artifact_prefix="$BUILD_DIR/$target-" \
      "$BUILD_DIR/corpus/$target" "$ROOT/fuzz/corpus/$target") 2>&1 |
    tee "$BUILD_DIR/$target.log" | grep -E "^#[0-9]+ *(INITED|DONE)|^stat::|ERROR|SUMMARY|Test unit written" || true
  grep -q "Test unit written\|ERROR: libFuzzer\|SUMMARY: .*Sanitizer" "$BUILD_DIR/$target.log" && status=1
done
exit "$status"
