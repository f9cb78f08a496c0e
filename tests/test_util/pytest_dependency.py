"""tests/test_util/dependency.py's rule for pytest suites: a missing
dependency fails the test unless BNFOLD_ALLOW_SKIP=1 (never under CI) makes
it a skip, and a run with skipped tests exits 77 (ctest's SKIP_RETURN_CODE)
so that ctest reports it skipped rather than passed. A conftest.py uses it
with

    from pytest_dependency import pytest_sessionfinish, require  # noqa: F401
"""

import pytest

from dependency import HOW, SKIP_EXIT_CODE, skips_allowed


def require(available, why):
    if available:
        return
    if skips_allowed():
        pytest.skip(why)
    pytest.fail(f"{why} ({HOW})")


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if exitstatus == 0 and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = SKIP_EXIT_CODE
