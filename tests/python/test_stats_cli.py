"""`rewire stats` end to end: .tsv (as `rewire delta` writes) and .npy studies, TSV and formula designs,
outputs equal to the Python API, and clear errors."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import patsy
import pytest

import rewire.stats as rs
from rewire.cli import main
from rewire.cli.stats import read_study

N = 12
S = 20


@pytest.fixture
def study(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"R{k}" for k in range(N)]
    data = rng.normal(size=(S, N * (N - 1) // 2))
    data[:10, :8] += 1.2  # therapy subjects change on edges 0–7
    i, j = np.triu_indices(N, 1)
    ids = [f"sub-{k:02d}" for k in range(S)]
    table = pd.DataFrame(data, columns=[f"{names[a]}--{names[b]}" for a, b in zip(i, j)])
    table.insert(0, "participant_id", ids)
    table.to_csv(tmp_path / "deltas.tsv", sep="\t", index=False, float_format="%.17g")
    # participants.tsv in another order: rows are matched by participant_id.
    participants = pd.DataFrame({"participant_id": ids, "group": ["therapy"] * 10 + ["control"] * 10,
                                 "age": rng.normal(40, 8, S)}).iloc[::-1]
    participants.to_csv(tmp_path / "participants.tsv", sep="\t", index=False, float_format="%.17g")
    np.save(tmp_path / "deltas.npy", data)
    return tmp_path, data, names, participants.iloc[::-1].reset_index(drop=True)


def test_nbs_from_a_formula_equals_the_api(study, capsys):
    folder, data, names, participants = study
    code = main(["stats", str(folder / "deltas.tsv"), "--design", "~ group + age", "--participants",
                 str(folder / "participants.tsv"), "--contrast", "group", "--method", "nbs",
                 "--threshold", "2.5", "--shuffles", "300", "--seed", "4", "-o", str(folder / "res.npz"), "-q"])
    assert code == 0
    assert "component 0: 8 edges" in capsys.readouterr().err
    saved = np.load(folder / "res.npz")
    design = rs.design_from_formula("~ group + age", participants)
    api = rs.nbs(data, design, "group[T.therapy]", threshold=2.5, shuffles=300, seed=4)
    assert np.allclose(saved["statistic"], api.t, rtol=1e-12)
    # Independent of rewire: the OLS t of the group column, design built by patsy, fit by numpy.
    x = patsy.dmatrix("~ group + age", participants)
    c = np.array([name == "group[T.therapy]" for name in x.design_info.column_names], dtype=float)
    x = np.asarray(x)
    beta = np.linalg.lstsq(x, data, rcond=None)[0]
    residual = data - x @ beta
    se = np.sqrt((residual ** 2).sum(axis=0) / (S - x.shape[1]) * (c @ np.linalg.inv(x.T @ x) @ c))
    np.testing.assert_allclose(saved["statistic"], (c @ beta) / se, rtol=1e-10)
    assert np.array_equal(saved["null"], api.null)
    assert np.allclose(saved["component_p"], [c.p for c in api.components])
    assert list(saved["names"]) == names
    parameters = json.loads(str(saved["parameters"]))
    assert parameters["seed"] == 4 and parameters["design_columns"] == ["Intercept", "group[T.therapy]", "age"]
    edges = pd.read_csv(folder / "res_edges.tsv", sep="\t")
    assert sorted(edges["edge"]) == sorted(api.components[0].edges.tolist())
    assert len(set(edges["edge"]) & set(range(8))) >= 6  # mostly the planted edges
    assert {"node_i", "node_j", "t", "p_fwe", "component"} <= set(edges.columns)
    assert edges.loc[edges["edge"] == 0, "node_j"].item() == "R1"


def test_hdf5_results_hold_what_the_npz_holds(study):
    """`-o results.h5`: every array of the .npz as a dataset (scalars and the parameters as attributes),
    readable with plain h5py; the edge table is written beside it."""
    folder, _, names, _ = study
    arguments = ["stats", str(folder / "deltas.tsv"), "--design", "~ group + age", "--participants",
                 str(folder / "participants.tsv"), "--contrast", "group", "--method", "nbs", "--threshold", "2.5",
                 "--shuffles", "300", "--seed", "4", "-q"]
    assert main(arguments + ["-o", str(folder / "res.npz")]) == 0
    assert main(arguments + ["-o", str(folder / "res.h5")]) == 0
    saved = np.load(folder / "res.npz")
    with h5py.File(folder / "res.h5", "r") as f:
        for key in ("statistic", "p", "p_fwe", "null", "enhanced", "component", "component_size", "component_p"):
            np.testing.assert_array_equal(f[key][:], saved[key], err_msg=key)
        assert f["component"].dtype == np.int64
        assert float(f.attrs["threshold"]) == float(saved["threshold"]) and float(f.attrs["df"]) == float(saved["df"])
        assert list(f["names"].asstr()[:]) == names
        assert json.loads(f.attrs["parameters"])["seed"] == 4
    assert (folder / "res_edges.tsv").exists() and not list(folder.glob("*.part*"))


def test_methods_and_npy_input(study):
    folder, data, names, _ = study
    for method in ("maxt", "tfnbs", "fdr"):
        out = folder / f"{method}.npz"
        assert main(["stats", str(folder / "deltas.npy"), "--method", method, "--shuffles", "200", "-o", str(out),
                     "--tsv", str(folder / f"{method}.tsv"), "-q"]) == 0
        saved = np.load(out)
        assert np.allclose(saved["statistic"], rs.glm(data).t, rtol=1e-12)
        if method == "fdr":
            assert np.array_equal(saved["q"], rs.fdr(rs.glm(data).p))
        else:
            assert saved["null"].shape == (200,)
        table = pd.read_csv(folder / f"{method}.tsv", sep="\t")
        assert "node_i" not in table.columns  # a bare .npy has no names


def test_design_tsv_blocks_and_errors(study, capsys):
    folder, data, _, participants = study
    design = pd.DataFrame({"participant_id": participants["participant_id"], "intercept": 1.0,
                           "therapy": (participants["group"] == "therapy").astype(float)})
    design.to_csv(folder / "design.tsv", sep="\t", index=False)
    assert main(["stats", str(folder / "deltas.tsv"), "--design", str(folder / "design.tsv"), "--contrast", "0,1",
                 "--method", "maxt", "--shuffles", "100", "-o", str(folder / "m.npz"), "-q"]) == 0
    api = rs.maxt(data, design[["intercept", "therapy"]], [0, 1], shuffles=100)
    assert np.array_equal(np.load(folder / "m.npz")["p_fwe"], api.p_fwe)

    assert main(["stats", str(folder / "deltas.tsv"), "--method", "nbs", "-o", str(folder / "x.npz")]) == 1
    assert "--threshold" in capsys.readouterr().err
    assert main(["stats", str(folder / "deltas.tsv"), "--design", str(folder / "design.tsv"), "--contrast", "0,1,0",
                 "--method", "maxt", "-o", str(folder / "x.npz")]) == 1
    assert "expected 2 weights" in capsys.readouterr().err
    assert main(["stats", str(folder / "deltas.tsv"), "--design", "~ group", "-o", str(folder / "x.npz")]) == 1
    assert "--participants" in capsys.readouterr().err
    assert main(["stats", str(folder / "deltas.tsv"), "--method", "maxt", "--shuffles", "0",
                 "-o", str(folder / "x.npz")]) == 1
    assert ">= 1" in capsys.readouterr().err
    assert not (folder / "x.npz").exists()


def test_read_study_checks_edge_order(tmp_path):
    pd.DataFrame({"participant_id": ["a", "b"], "A--B": [1.0, 2.0], "B--C": [0.0, 1.0], "A--C": [3.0, 4.0]}).to_csv(
        tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="out of rewire's edge order"):
        read_study(str(tmp_path / "bad.tsv"))
    with pytest.raises(OSError, match="study.h5: no such cohort store"):
        read_study(str(tmp_path / "study.h5"))
    (tmp_path / "other.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))  # an HDF5 signature, nothing more
    with pytest.raises(OSError, match="other.h5"):
        read_study(str(tmp_path / "other.h5"))
