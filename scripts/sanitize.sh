#!/usr/bin/env bash
# Builds bnfold and its tests under a sanitizer in a separate build tree and
# runs the tests:
#   scripts/sanitize.sh address   ASan+UBSan, build-asan/, the whole suite
#   scripts/sanitize.sh thread    TSan, build-tsan/, the tests labelled
#                                 "concurrency" (sessions, serve, threads)
# Extra arguments go to ctest (e.g. -R session). BNFOLD_SANITIZE_BUILD_ONLY=1
# builds without testing. GCC (Debian's) builds both, as the release build;
# the Python module is left out (the interpreter is not instrumented).
# Figures and known limits: docs/SANITIZERS.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIND="${1:-}"; shift || true
case "$KIND" in
  address) BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build-asan}"; LABEL_ARGS=() ;;
  thread)  BUILD_DIR="${BNFOLD_BUILD_DIR:-$ROOT/build-tsan}"; LABEL_ARGS=(-L concurrency) ;;
  *) echo "usage: scripts/sanitize.sh {address|thread} [ctest arguments]" >&2; exit 2 ;;
esac
JOBS="${BNFOLD_JOBS:-$(nproc)}"

LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  # -O1 keeps the instrumented suite fast enough and the reports readable.
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DBNFOLD_SANITIZE="$KIND" -DBNFOLD_BUILD_PYTHON=OFF -DBNFOLD_BUILD_BENCH=OFF \
    "${LAUNCHER[@]}"
fi
if [ "$KIND" = thread ]; then
  cmake --build "$BUILD_DIR" -j "$JOBS" --target bnfold bnfold_concurrency_tests \
    bnfold_session_run_tests bnfold_unit_tests
else
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi
[ "${BNFOLD_SANITIZE_BUILD_ONLY:-0}" = 1 ] && exit 0

SUPP="$ROOT/scripts/sanitizers"
# A finding fails the test: every sanitizer exits non-zero on its first report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SUPP/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# oneDNN and libgomp from Debian are not instrumented: their internals are
# suppressed (scripts/sanitizers/tsan.supp), and one OpenMP thread per run
# keeps libgomp's own barriers out of the picture.
export TSAN_OPTIONS="${TSAN_OPTIONS:-suppressions=$SUPP/tsan.supp:halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0}"
[ "$KIND" = thread ] && export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
cd "$BUILD_DIR"
ctest -j "$JOBS" --output-on-failure --timeout 1800 "${LABEL_ARGS[@]}" "$@"
