"""The examples under examples/ run as part of the tests (the C++ one through CTest)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_pre_post_change_example(tmp_path):
    script = os.path.join(ROOT, "examples", "python", "pre_post_change.py")
    result = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "therapy" in result.stdout and "control" in result.stdout
