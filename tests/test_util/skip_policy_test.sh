#!/usr/bin/env bash
# The missing-dependency rule (tests/test_util/dependency.{h,py}) as the
# README's test command and CI see it, with ONNX Runtime made unavailable by
# pointing BNFOLD_ORT_DIR at an empty folder:
#   default                        -> the test fails
#   BNFOLD_ALLOW_SKIP=1            -> it skips (exit 77 / gtest SKIPPED)
#   BNFOLD_ALLOW_SKIP=1 CI=true    -> it fails again
# Usage: skip_policy_test.sh SOURCE_DIR MODEL_TEST_BINARY
set -uo pipefail
SRC="$1"
MODEL_TESTS="$2"
EMPTY="$(mktemp -d)"
trap 'rm -rf "$EMPTY"' EXIT
failures=0

expect() {  # expect WANTED_EXIT DESCRIPTION -- COMMAND...
  local want="$1" what="$2"; shift 3
  "$@" >"$EMPTY/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$EMPTY/out" | tail -5
    failures=$((failures + 1))
  else
    echo "ok: $what: exit $got"
  fi
}
expect_output() {  # expect_output PATTERN DESCRIPTION
  if grep -q "$1" "$EMPTY/out"; then echo "ok: $2"; else echo "FAIL: $2"; failures=$((failures + 1)); fi
}

PY_TEST="$SRC/tests/bench/ort_overhead_test.py"
base=(env -u CI -u BNFOLD_ALLOW_SKIP BNFOLD_ORT_DIR="$EMPTY")
expect 1 "python, ORT missing" -- "${base[@]}" /usr/bin/python3 "$PY_TEST"
expect_output "onnxruntime-node is not installed" "python names what is missing"
expect 77 "python, ORT missing, BNFOLD_ALLOW_SKIP=1" -- "${base[@]}" BNFOLD_ALLOW_SKIP=1 /usr/bin/python3 "$PY_TEST"
expect 1 "python, ORT missing, BNFOLD_ALLOW_SKIP=1 CI=true" -- "${base[@]}" BNFOLD_ALLOW_SKIP=1 CI=true /usr/bin/python3 "$PY_TEST"

FILTER="--gtest_filter=*OutputsMatchOnnxRuntime/mlp_folded"
expect 1 "gtest, ORT missing" -- "${base[@]}" "$MODEL_TESTS" "$FILTER"
expect_output "scripts/ort/install.sh" "gtest says how to install it"
expect 0 "gtest, ORT missing, BNFOLD_ALLOW_SKIP=1" -- "${base[@]}" BNFOLD_ALLOW_SKIP=1 "$MODEL_TESTS" "$FILTER"
expect_output "SKIPPED" "gtest reports the skip"
expect 1 "gtest, ORT missing, BNFOLD_ALLOW_SKIP=1 CI=true" -- "${base[@]}" BNFOLD_ALLOW_SKIP=1 CI=true "$MODEL_TESTS" "$FILTER"

exit $((failures > 0))
