"""What a Python test does when something it needs is not installed: the same
rule as tests/test_util/dependency.h. By default the test FAILS, saying what is
missing; BNFOLD_ALLOW_SKIP=1 (never under CI=true) turns that into a skip.

    require(self, ort_installed(), "onnxruntime-node is not installed in ...")
    require_program(ort_installed(), "...")   # before unittest.main(): exit 77
"""

import os
import sys
import unittest

HOW = ("scripts/setup.sh and scripts/ort/install.sh install it; "
       "BNFOLD_ALLOW_SKIP=1 skips such tests outside CI")
SKIP_EXIT_CODE = 77  # ctest's SKIP_RETURN_CODE for a whole test program


def skips_allowed():
    return (os.environ.get("BNFOLD_ALLOW_SKIP") == "1"
            and os.environ.get("CI") != "true")


def require(test_case, available, why):
    """Inside a unittest method: skip (if allowed) or fail when unavailable."""
    if available:
        return
    if skips_allowed():
        raise unittest.SkipTest(why)
    test_case.fail(f"{why} ({HOW})")


def require_program(available, why):
    """Before a whole test program runs: exit 77 (skip) if allowed, else 1."""
    if available:
        return
    if skips_allowed():
        print(f"skipped: {why}")
        sys.exit(SKIP_EXIT_CODE)
    print(f"FAILED: {why} ({HOW})", file=sys.stderr)
    sys.exit(1)


def unittest_main():
    """unittest.main() for a program ctest runs with SKIP_RETURN_CODE 77: a
    program in which any test was skipped (only possible when skips are
    allowed) exits 77 after the others ran, so ctest counts it as skipped and
    the skip reasons reach scripts/test.sh's summary instead of hiding inside
    a passing program."""
    result = unittest.main(exit=False).result
    if result.failures or result.errors:
        sys.exit(1)
    if result.skipped:
        for test, why in result.skipped:
            print(f"skipped: {test.id()}: {why}")
        sys.exit(SKIP_EXIT_CODE)
    sys.exit(0)
