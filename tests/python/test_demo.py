"""rewire demo: runs end to end from the command line, writes what it says, and its table is right."""
import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(not os.path.isfile("/usr/share/mricron/templates/aal.nii.gz"),
                                reason="mricron AAL atlas not installed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "python")}
    result = subprocess.run([sys.executable, "-m", "rewire.cli", "demo", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    return out, result


def read_matrix(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
    return header, np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)


def test_demo_exits_cleanly_and_prints_the_table(demo):
    out, result = demo
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "16 runs" in text and "116 regions" in text and "150 volumes" in text
    assert re.search(r"group\s+n\s+recovered\s+planted", text)
    assert str(out / "derivatives") in text and str(out / "study") in text
    assert "Traceback" not in result.stderr


def test_demo_table_matches_truth_and_outputs(demo):
    out, result = demo
    with open(out / "study" / "ground_truth.json", encoding="utf-8") as f:
        truth = json.load(f)
    rows = {m.group(1): [float(x) for x in m.groups()[2:]]
            for m in re.finditer(r"^\s+(therapy|control)\s+(\d+)\s+([+-]\d\.\d\d)\s+([+-]\d\.\d\d)\s+([+-]\d\.\d\d)",
                                 result.stdout, flags=re.M)}
    assert set(rows) == {"therapy", "control"}
    for group in rows:
        assert rows[group][1] == pytest.approx(truth["effect"][group], abs=0.005)

    # Recompute the "recovered" column from the written time series with numpy.
    edges = [edge["columns"] for edge in truth["planted_edges"]]
    changes = {"therapy": [], "control": []}
    for subject, info in truth["subjects"].items():
        r = {}
        for session in ("pre", "post"):
            stem = out / "derivatives" / f"{subject}_ses-{session}"
            names, signals = read_matrix(f"{stem}_timeseries.tsv")
            assert signals.shape == (150, 116) and names[0] == "Precentral_L"
            r[session] = np.corrcoef(signals, rowvar=False)
            # Files hold 10 significant digits: time series ~1000 carry 1e-7, enough to move r by ~1e-8.
            _, written = read_matrix(f"{stem}_correlation.tsv")
            np.testing.assert_allclose(written, r[session], rtol=0, atol=1e-7)
            _, z = read_matrix(f"{stem}_fisherz.tsv")
            off_diagonal = ~np.eye(len(written), dtype=bool)
            expected = np.zeros_like(written)
            expected[off_diagonal] = np.arctanh(written[off_diagonal])
            np.testing.assert_allclose(z, expected, atol=1e-8)
        changes[info["group"]].append(np.mean([r["post"][a, m] - r["pre"][a, m] for a, m in edges]))
    for group, values in changes.items():
        assert rows[group][0] == pytest.approx(np.mean(values), abs=0.006)
    # Four subjects × 150 volumes: sampling SD of the group mean change is about 0.08; the uncleaned
    # nuisance shrinks it by about 10 %. The planted change must show, and not in controls.
    assert rows["therapy"][0] > 0.15
    assert abs(rows["control"][0]) < 0.2
    assert len(glob.glob(str(out / "derivatives" / "*_correlation.tsv"))) == 16
