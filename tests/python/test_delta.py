"""rewire.delta / `rewire delta`: each subject's post − pre change, pairing, outputs, the planted effect."""
import os
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

import rewire
from conftest import AAL, run_cli, text
from rewire.simulate import SimulationOptions, simulate_study


# 2 subjects per group, 100 volumes on the 4 mm grid; the therapy group's amygdala–medial-orbitofrontal
# correlation rises from 0.1 by 0.5 × (0.8 … 1.2) per subject. mricron's AAL drives the simulation, as it
# is the atlas the study is run with.
SIMULATION = dict(subjects=2, timepoints=100, resolution=4, effect=0.5, seed=11, atlas=AAL)
SUBJECTS = ["sub-01", "sub-02", "sub-03", "sub-04"]
REGIONS = 116
EDGES = REGIONS * (REGIONS - 1) // 2


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Study and store; sub-01's pre run is committed last, so the pre and post edge stacks hold their
    rows in different orders (delta must pair by subject ID, not by row)."""
    root = tmp_path_factory.mktemp("delta")
    derivatives = root / "derivatives"
    truth = simulate_study(derivatives, SimulationOptions(**SIMULATION))
    store = root / "cohort.h5"
    func = derivatives / "sub-01" / "ses-pre" / "func"
    aside = root / "aside"
    shutil.move(str(func), str(aside))
    first = rewire.run_study(str(derivatives), str(store), AAL, strategy="simple")
    shutil.move(str(aside), str(func))
    second = rewire.run_study(str(derivatives), str(store), AAL, strategy="simple")
    assert len(first.processed) == 7 and second.processed == [("sub-01", "pre")]
    with h5py.File(store, "r") as f:
        assert [text(s) for s in f["edges/correlation/pre/subjects"][:]][-1] == "sub-01"
        assert [text(s) for s in f["edges/correlation/post/subjects"][:]][0] == "sub-01"
    return derivatives, store, truth


def stored_edges(store, session):
    """{subject: edge vector} straight from the file."""
    with h5py.File(store, "r") as f:
        subjects = [text(s) for s in f[f"edges/correlation/{session}/subjects"][:]]
        values = f[f"edges/correlation/{session}/values"][:]
    return dict(zip(subjects, values))


def test_delta_is_arctanh_post_minus_arctanh_pre(study):
    _, store, _ = study
    deltas, participants = rewire.delta(str(store))
    assert deltas.shape == (4, EDGES) and list(participants.index) == SUBJECTS
    pre, post = stored_edges(store, "pre"), stored_edges(store, "post")
    for row, subject in enumerate(SUBJECTS):
        np.testing.assert_allclose(deltas[row], np.arctanh(post[subject]) - np.arctanh(pre[subject]),
                                   rtol=1e-12, atol=1e-14)
    raw, _ = rewire.delta(str(store), fisher_z=False)
    for row, subject in enumerate(SUBJECTS):
        np.testing.assert_array_equal(raw[row], post[subject] - pre[subject])
    # Columns are rewire's edge order: edge (i, j) of the matrices.
    with rewire.Cohort.open(store) as cohort:
        i, j = 40, 41
        expected = np.arctanh(cohort.connectome("sub-03", "post")[i, j]) - np.arctanh(cohort.connectome("sub-03",
                                                                                                         "pre")[i, j])
        assert deltas[2, rewire.edge_index(i, j, REGIONS)] == pytest.approx(expected, rel=1e-12)
    assert participants["group"].tolist() == ["therapy", "therapy", "control", "control"]
    assert participants.attrs["unpaired"] == []


def test_subjects_and_session_arguments(study):
    _, store, _ = study
    deltas, participants = rewire.delta(str(store), subjects=["03", "sub-01"])
    assert list(participants.index) == ["sub-01", "sub-03"] and deltas.shape == (2, EDGES)
    backwards, _ = rewire.delta(str(store), post="pre", pre="post", subjects=["sub-01", "sub-03"])
    np.testing.assert_allclose(backwards, -deltas, atol=1e-14)
    with pytest.raises(ValueError, match=r"no session 'followup' \(sessions: post, pre\)"):
        rewire.delta(str(store), post="followup")
    with pytest.raises(ValueError, match=r"no 'tangent' measure stored \(measures: correlation\)"):
        rewire.delta(str(store), kind="tangent")


def test_a_subject_without_a_session_is_listed_and_left_out(study, tmp_path):
    derivatives, _, _ = study
    copy = tmp_path / "derivatives"
    shutil.copytree(derivatives, copy)
    shutil.rmtree(copy / "sub-02" / "ses-post")
    store = tmp_path / "cohort.h5"
    rewire.run_study(str(copy), str(store), AAL, strategy="simple")
    deltas, participants = rewire.delta(str(store))
    assert list(participants.index) == ["sub-01", "sub-03", "sub-04"]
    assert participants.attrs["unpaired"] == ["sub-02"]
    pre, post = stored_edges(store, "pre"), stored_edges(store, "post")
    assert "sub-02" in pre and "sub-02" not in post
    for row, subject in enumerate(participants.index):
        np.testing.assert_allclose(deltas[row], np.arctanh(post[subject]) - np.arctanh(pre[subject]), rtol=1e-12,
                                   atol=1e-14)
    result = run_cli("delta", store, "-o", tmp_path / "delta.tsv")
    assert result.returncode == 0, result.stderr
    assert "left out (missing pre or post): sub-02" in result.stderr


def read_tsv(path):
    table = pd.read_csv(path, sep="\t", dtype={"participant_id": str})
    return table.set_index("participant_id")


def test_cli_writes_tsv_and_h5(study, tmp_path):
    _, store, _ = study
    deltas, _ = rewire.delta(str(store))
    with rewire.Cohort.open(store) as cohort:
        names = cohort.names
    tsv = tmp_path / "delta.tsv"
    result = run_cli("delta", store, "-o", tsv)
    assert result.returncode == 0, result.stderr
    assert f"wrote {tsv}: 4 subjects x {EDGES} edges" in result.stderr
    table = read_tsv(tsv)
    assert list(table.index) == SUBJECTS and table.shape == (4, EDGES)
    assert table.columns[0] == f"{names[0]}--{names[1]}" and table.columns[-1] == f"{names[-2]}--{names[-1]}"
    assert table.columns[rewire.edge_index(3, 17, REGIONS)] == f"{names[3]}--{names[17]}"
    np.testing.assert_allclose(table.to_numpy(), deltas, rtol=1e-9, atol=1e-12)  # 10 significant digits

    h5 = tmp_path / "delta.h5"
    result = run_cli("delta", store, "-o", h5, "--no-fisher-z")
    assert result.returncode == 0, result.stderr
    raw, _ = rewire.delta(str(store), fisher_z=False)
    with h5py.File(h5, "r") as f:
        assert f["values"].shape == (4, EDGES)
        np.testing.assert_array_equal(f["values"][:], raw)
        assert [text(s) for s in f["subjects"][:]] == SUBJECTS
        assert [text(n) for n in f["nodes/names"][:]] == names
        attrs = {key: text(value) for key, value in f.attrs.items()}
    assert attrs["kind"] == "correlation" and attrs["pre"] == "pre" and attrs["post"] == "post"
    assert attrs["fisher_z"] == "false" and attrs["source"] == str(store)
    assert "i*N - i*(i+1)/2" in attrs["edge_order"] and attrs["rewire_version"] == rewire.__version__
    assert attrs["rewire_kernels"] == rewire._core.kernel_variant() and "-ffp-contract=off" in attrs["rewire_flags"]
    assert not list(tmp_path.glob("*.part"))
    result = run_cli("delta", store, "-o", tmp_path / "delta.csv")
    assert result.returncode == 1 and "must end in .tsv or .h5" in result.stderr


def test_planted_increase_in_therapy_not_in_controls(study):
    """The simulator plants a rise of the four amygdala–medial-orbitofrontal edges in the therapy group.

    Truth per group: mean over its subjects of arctanh(post) − arctanh(pre) of the latent edge correlation
    (ground_truth.json). Noise: a 100-volume correlation has SD ≈ 1/√100 in Fisher z, so a subject's
    change has SD ≈ 0.14–0.2; the four planted edges share their regions (within-pair correlation 0.85)
    and move together, so their mean is as noisy as one edge. The noise is measured on the data: the SD
    across the non-planted edges of each subject's change, over √(subjects in the group). Tolerance:
    3.5 of those standard errors (about 0.45 here) around the truth, and the groups must differ by more
    than 3.5 standard errors of the difference.
    """
    _, store, truth = study
    deltas, participants = rewire.delta(str(store))
    planted = [rewire.edge_index(min(a, m), max(a, m), REGIONS)
               for a, m in (edge["columns"] for edge in truth["planted_edges"])]
    others = np.setdiff1d(np.arange(EDGES), planted)
    assert len(planted) == 4
    means, errors = {}, {}
    for group in ("therapy", "control"):
        rows = np.flatnonzero(participants["group"].to_numpy() == group)
        members = participants.index[rows]
        expected = np.mean([np.arctanh(truth["subjects"][s]["edge_correlation"]["post"])
                            - np.arctanh(truth["subjects"][s]["edge_correlation"]["pre"]) for s in members])
        means[group] = deltas[np.ix_(rows, planted)].mean()
        errors[group] = np.sqrt(np.mean(deltas[np.ix_(rows, others)].std(axis=1) ** 2) / len(rows))
        assert abs(means[group] - expected) < 3.5 * errors[group], (group, means[group], expected, errors[group])
        # The rest of the brain did not change on average.
        assert abs(deltas[np.ix_(rows, others)].mean()) < 0.05
    assert truth["effect"]["control"] == 0
    assert means["therapy"] - means["control"] > 3.5 * np.hypot(errors["therapy"], errors["control"])
    assert means["therapy"] > 0.25


def test_stats_reads_the_store_and_delta_files(study, tmp_path, capsys):
    """`rewire stats study.h5` tests each subject's change (or one session) straight from the store, with
    the store's participants.tsv for the formula and its node names in the edge table; an edge file from
    `rewire delta -o FILE.h5` gives the same numbers."""
    import rewire.stats as rs
    from rewire.cli import main

    _, store, _ = study
    deltas, participants = rewire.delta(str(store))
    design = rs.design_from_formula("~ group", participants.reset_index())
    expected = rs.glm(deltas, design, "group")
    out = tmp_path / "res.npz"
    assert main(["stats", str(store), "--design", "~ group", "--contrast", "group", "--method", "fdr",
                 "-o", str(out), "-q"]) == 0
    saved = np.load(out)
    np.testing.assert_array_equal(saved["statistic"], expected.t)
    np.testing.assert_array_equal(saved["p"], expected.p)
    with rewire.Cohort.open(store) as cohort:
        assert list(saved["names"]) == cohort.names
        pre, subjects = cohort.edges("correlation", "pre", return_subjects=True)

    # One session, Fisher z by default; a one-sample test of the pre edges.
    assert main(["stats", str(store), "--session", "pre", "--method", "fdr", "-o", str(out), "-q"]) == 0
    np.testing.assert_array_equal(np.load(out)["statistic"], rs.glm(np.arctanh(pre), None).t)
    assert main(["stats", str(store), "--session", "pre", "--no-fisher-z", "--method", "fdr", "-o", str(out),
                 "-q"]) == 0
    np.testing.assert_array_equal(np.load(out)["statistic"], rs.glm(pre, None).t)

    # The same change through an edge file.
    h5 = tmp_path / "delta.h5"
    assert run_cli("delta", store, "-o", h5).returncode == 0
    assert main(["stats", str(h5), "--design", "~ group", "--participants", str(study[0] / "participants.tsv"),
                 "--contrast", "group", "--method", "fdr", "-o", str(out), "-q"]) == 0
    np.testing.assert_array_equal(np.load(out)["statistic"], expected.t)

    capsys.readouterr()
    assert main(["stats", str(store), "--session", "during", "--method", "fdr", "-o", str(out)]) == 1
    assert "no session 'during'" in capsys.readouterr().err
    assert main(["stats", str(store), "--kind", "tangent", "--method", "fdr", "-o", str(out)]) == 1
    assert "no 'tangent' measure stored" in capsys.readouterr().err
    assert main(["stats", str(store), "--design", "~ cortisol", "--method", "fdr", "-o", str(out)]) == 1
    assert "cortisol" in capsys.readouterr().err
    broken = tmp_path / "broken.h5"
    broken.write_bytes(h5.read_bytes()[:2000])
    assert main(["stats", str(broken), "--method", "fdr", "-o", str(out)]) == 1
    assert str(broken) in capsys.readouterr().err
