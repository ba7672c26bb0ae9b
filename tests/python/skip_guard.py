"""A skipped test is a failed test here: rewire's test dependencies (the `[test]` extra and the Debian
packages in scripts/debian-packages.txt) are all installed by scripts/setup, so a skip can only mean that
something is missing, and a green run must not hide it. conftest.py imports these hooks; test_skip_guard.py
checks them on a small suite of its own."""
from __future__ import annotations

import pytest

ADVICE = "rewire's tests never skip: install what is missing with scripts/setup"


def _reason(report) -> str:
    """The reason pytest recorded: wasxfail for an expected failure, else longrepr, which is
    (file, line, "Skipped: why") for a skip."""
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail)
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])
    return str(report.longrepr)


def _fail(report, what: str) -> None:
    report.outcome = "failed"
    report.longrepr = f"{report.nodeid}: {what} ({_reason(report)}); {ADVICE}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Skips and expected failures raised while setting up, running or tearing down a test fail it."""
    report = (yield).get_result()
    if report.skipped:
        _fail(report, "expected to fail (xfail)" if hasattr(report, "wasxfail") else "skipped")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped while being collected (a module-level skip or importorskip) is a collection error."""
    report = (yield).get_result()
    if report.skipped:
        _fail(report, "skipped while collecting")
