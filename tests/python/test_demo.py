"""rewire demo: runs end to end from the command line, writes what it says, and its table is right; it
needs nothing but rewire (no Debian atlas package): the simulator writes the synthetic atlas it uses."""
import gzip
import json
import os
import re
import zlib

import h5py
import numpy as np
import pandas as pd
import pytest

import rewire
from conftest import run_cli, text

# The synthetic atlas the simulator writes into the study (34 cortical and 8 deep regions per hemisphere);
# the demo used mricron's AAL (116 regions) before.
REGIONS = 84
EDGES = REGIONS * (REGIONS - 1) // 2


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = run_cli("demo", out, timeout=600)
    with open(out / "study" / "ground_truth.json", encoding="utf-8") as f:
        truth = json.load(f)
    return out, result, truth


def table(stdout):
    """{group: [n, z found, z planted, r found, r planted, other edges z]} from the printed table."""
    pattern = r"^\s+(therapy|control)\s+(\d+)" + r"\s+([+-]\d+\.\d\d)" * 5 + r"\s*$"
    return {m.group(1): [float(x) for x in m.groups()[1:]] for m in re.finditer(pattern, stdout, flags=re.M)}


def test_demo_exits_cleanly_and_says_what_it_did(demo):
    out, result, _ = demo
    assert result.returncode == 0, result.stderr
    text_out = result.stdout
    assert "16 runs: 4 therapy + 4 control x 2 sessions, 150 volumes" in text_out
    assert f"extract {REGIONS} regions, clean (simple confounds), correlate" in text_out
    assert f"8 subjects x {EDGES} edges" in text_out
    assert re.search(r"group\s+n\s+z found\s+z planted\s+r found\s+r planted\s+other edges z", text_out)
    for path in (out / "study", out / "cohort.h5", out / "delta.tsv"):
        assert str(path) in text_out and path.exists()
    assert "Traceback" not in result.stderr
    assert len(text_out.splitlines()) < 25  # tidy: one screen


def test_store_holds_every_run(demo):
    out, _, truth = demo
    with h5py.File(out / "cohort.h5", "r") as f:
        runs = sorted((s, ses) for s in f["runs"] for ses in f["runs"][s])
        assert runs == sorted((s, ses) for s in truth["subjects"] for ses in ("pre", "post"))
        assert all(int(f[f"runs/{s}/{ses}"].attrs["committed"]) == 1 for s, ses in runs)
        assert f["runs/sub-01/pre/timeseries"].shape == (150, REGIONS)
        assert json.loads(text(f.attrs["options"]))["strategy"] == "simple"
        assert text(f.attrs["command_line"]) == "rewire demo"


def test_table_matches_the_truth_and_the_store(demo):
    out, result, truth = demo
    rows = table(result.stdout)
    assert set(rows) == {"therapy", "control"}
    # Recompute every column from the store with h5py and numpy.
    edges = [sorted(edge["columns"]) for edge in truth["planted_edges"]]
    with h5py.File(out / "cohort.h5", "r") as f:
        r = {(s, ses): f[f"runs/{s}/{ses}/connectivity/correlation"][:] for s in truth["subjects"]
             for ses in ("pre", "post")}
    planted = np.zeros((REGIONS, REGIONS), dtype=bool)
    for a, m in edges:
        planted[a, m] = True
    others = np.triu(np.ones((REGIONS, REGIONS), dtype=bool), 1) & ~planted
    for group, row in rows.items():
        members = [s for s, info in truth["subjects"].items() if info["group"] == group]
        assert row[0] == len(members) == 4
        def change(where, z=True):
            f = np.arctanh if z else (lambda x: x)
            return np.mean([(f(r[s, "post"][where]) - f(r[s, "pre"][where])).mean() for s in members])

        assert row[1] == pytest.approx(change(planted), abs=0.006)
        assert row[3] == pytest.approx(change(planted, z=False), abs=0.006)
        assert row[5] == pytest.approx(change(others), abs=0.006)
        latent = [truth["subjects"][s]["edge_correlation"] for s in members]
        assert row[2] == pytest.approx(np.mean([np.arctanh(e["post"]) - np.arctanh(e["pre"]) for e in latent]),
                                       abs=0.006)
        assert row[4] == pytest.approx(truth["effect"][group], abs=0.006)
    # Four subjects × 150 volumes: a subject's change of one edge has SD ≈ √2/√(150 − 27 confounds) ≈ 0.13
    # in Fisher z, the group mean ≈ 0.065 (the four planted edges move together). Nuisance left after
    # cleaning attenuates the found change a little. The planted change must show (more than half of it),
    # controls must stay within 3 standard errors of zero, and the other edges did not move on average.
    assert rows["therapy"][1] > rows["therapy"][2] / 2
    assert abs(rows["control"][1]) < 0.2
    assert abs(rows["therapy"][5]) < 0.05 and abs(rows["control"][5]) < 0.05


def test_delta_file(demo):
    out, _, truth = demo
    deltas = pd.read_csv(out / "delta.tsv", sep="\t", dtype={"participant_id": str}).set_index("participant_id")
    assert list(deltas.index) == sorted(truth["subjects"]) and deltas.shape == (8, EDGES)
    with h5py.File(out / "cohort.h5", "r") as f:
        names = [text(n) for n in f["nodes/names"][:]]
        pre = f["runs/sub-05/pre/connectivity/correlation"][:]
        post = f["runs/sub-05/post/connectivity/correlation"][:]
    assert deltas.columns[0] == f"{names[0]}--{names[1]}"
    upper = np.triu_indices(REGIONS, 1)
    np.testing.assert_allclose(deltas.loc["sub-05"].to_numpy(), np.arctanh(post[upper]) - np.arctanh(pre[upper]),
                               rtol=1e-9, atol=1e-12)


def test_demo_reads_only_its_own_synthetic_atlas(demo):
    """The inputs the store records: the atlas is the synthetic one inside the demo's study (its checksum
    is that of the file there, recomputed with zlib), and the regions are its regions."""
    out, _, truth = demo
    image = out / "study" / truth["atlas"]["image"]
    assert truth["atlas"]["name"] == "synthetic" and image.parent == out / "study" / "atlas"
    with open(image, "rb") as f:
        data = gzip.decompress(f.read())
    with h5py.File(out / "cohort.h5", "r") as f:
        assert text(f.attrs["atlas"]) == os.path.abspath(image)
        assert text(f.attrs["atlas_checksum"]) == f"gzip-crc32:{zlib.crc32(data):08x}:isize:{len(data)}"
        names = [text(n) for n in f["nodes/names"][:]]
    table = pd.read_csv(str(image)[:-len(".nii.gz")] + ".tsv", sep="\t")
    assert names == list(table["name"]) and len(names) == REGIONS


def test_no_debian_path_in_the_package():
    """Nothing in the installed package (Python sources and the compiled module) names a Debian data
    folder, so `rewire simulate` and `rewire demo` cannot read one unless a user passes it (--atlas)."""
    package = os.path.dirname(rewire.__file__)
    scanned = 0
    for folder, _, files in os.walk(package):
        for name in files:
            if name.endswith((".py", ".so", ".pyd")):
                with open(os.path.join(folder, name), "rb") as f:
                    content = f.read()
                scanned += 1
                assert b"/usr/share/" not in content, os.path.join(folder, name)
    assert scanned > 10

