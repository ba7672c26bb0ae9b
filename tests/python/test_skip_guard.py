"""The skip guard (skip_guard.py, loaded by conftest.py): a small suite with every kind of skip, run by
pytest in a fresh interpreter with the guard installed, must fail each of them and pass the real test."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SUITE = '''
import pytest

def test_passes():
    assert True

def test_skip_call():
    pytest.skip("optional thing missing")

@pytest.mark.skipif(True, reason="not on this machine")
def test_skipif_marker():
    pass

@pytest.mark.skip(reason="later")
def test_skip_marker():
    pass

def test_importorskip():
    pytest.importorskip("a_module_that_is_not_installed_anywhere")

@pytest.fixture
def needs_data():
    pytest.skip("data package missing")

def test_skip_in_fixture(needs_data):
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False
'''

SKIPPED_MODULE = '''
import pytest
pytest.importorskip("another_module_that_is_not_installed_anywhere")

def test_never_collected():
    pass
'''


def run_pytest(folder, name):
    """pytest on folder/name in a fresh interpreter, with the guard as its only conftest."""
    (folder / "pytest.ini").write_text("[pytest]\n")  # keep rewire's own configuration out
    (folder / "conftest.py").write_text("from skip_guard import *  # noqa: F401,F403\n")
    env = dict(os.environ, PYTHONPATH=HERE)
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", name],
                            capture_output=True, text=True, env=env, cwd=folder, timeout=120)
    out = result.stdout + result.stderr
    return result.returncode, out, out.strip().splitlines()[-1]


def test_every_skip_in_a_test_becomes_a_failure(tmp_path):
    (tmp_path / "test_suite.py").write_text(SUITE)
    code, out, summary = run_pytest(tmp_path, "test_suite.py")
    # Skips in the test body and the expected failure fail the test; skip markers and a skip in a fixture
    # act at setup, so those tests error. Only the real test passes, and nothing is reported as skipped.
    assert code == 1, out
    assert re.search(r"\b3 failed, 1 passed, 3 errors\b", summary), summary
    assert "skipped" not in summary and "xfailed" not in summary, summary
    for name in ("test_skip_call", "test_importorskip", "test_xfail"):
        assert re.search(rf"FAILED test_suite.py::{name}\b", out), name
    for name in ("test_skipif_marker", "test_skip_marker", "test_skip_in_fixture"):
        assert re.search(rf"ERROR test_suite.py::{name}\b", out), name
    for reason in ("optional thing missing", "not on this machine", "later", "a_module_that_is_not_installed_anywhere",
                   "data package missing", "known bug"):
        assert reason in out, reason
    assert "rewire's tests never skip" in out


def test_a_module_skipped_at_import_is_a_collection_error(tmp_path):
    (tmp_path / "test_skipped_module.py").write_text(SKIPPED_MODULE)
    code, out, summary = run_pytest(tmp_path, "test_skipped_module.py")
    assert code == 2, out  # pytest's "interrupted": errors during collection
    assert re.search(r"ERROR test_skipped_module.py\b", out) and "1 error" in summary, out
    assert "skipped" not in summary, summary
    assert "another_module_that_is_not_installed_anywhere" in out and "rewire's tests never skip" in out


def test_this_suite_uses_the_guard():
    import conftest
    import skip_guard

    assert conftest.pytest_runtest_makereport is skip_guard.pytest_runtest_makereport
    assert conftest.pytest_make_collect_report is skip_guard.pytest_make_collect_report
