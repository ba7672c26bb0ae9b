"""rewire.Cohort: reading a cohort store, checked against plain h5py reads of the same file."""
import os

import h5py
import numpy as np
import pandas as pd
import pytest

import rewire
from conftest import AAL, text
from rewire.simulate import SimulationOptions, simulate_study


# mricron's AAL drives the simulation too, as it is the atlas the study is run with.
SIMULATION = dict(subjects=2, timepoints=60, resolution=4, effect=0.5, seed=23, atlas=AAL)
SUBJECTS = ["sub-01", "sub-02", "sub-03", "sub-04"]
REGIONS = 116


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    derivatives = root / "derivatives"
    simulate_study(derivatives, SimulationOptions(**SIMULATION))
    store = root / "cohort.h5"
    summary = rewire.run_study(str(derivatives), str(store), AAL, workers=2)
    assert summary.ok and len(summary.processed) == 8
    return derivatives, store


def test_subjects_sessions_kinds_and_nodes(study):
    _, store = study
    with rewire.Cohort.open(store) as cohort:
        assert cohort.subjects == SUBJECTS
        assert cohort.sessions == ["post", "pre"]
        assert cohort.kinds == ["correlation"]
        assert cohort.runs == [(s, ses) for s in SUBJECTS for ses in ("post", "pre")]
        assert cohort.path == str(store) and cohort.atlas == os.path.abspath(AAL)
        with h5py.File(store, "r") as f:
            assert cohort.names == [text(n) for n in f["nodes/names"][:]]
            np.testing.assert_array_equal(cohort.values, f["nodes/values"][:])
            np.testing.assert_array_equal(cohort.coordinates, f["nodes/coordinates"][:])
            assert cohort.options == text(f.attrs["options"])
    assert len(cohort.names) == REGIONS and cohort.values[0] == 1 and np.all(np.diff(cohort.values) > 0)


def test_region_centroids_are_in_mni_millimetres(study):
    _, store = study
    with rewire.Cohort.open(store) as cohort:
        centre = dict(zip(cohort.names, cohort.coordinates))
    assert centre["Precentral_L"][0] < 0 < centre["Precentral_R"][0]  # left is negative x in MNI space
    assert np.all(np.abs(centre["Amygdala_L"] - [-23, -4, -18]) < 8)


def test_participants_table(study):
    derivatives, store = study
    expected = pd.read_csv(derivatives / "participants.tsv", sep="\t", dtype={"participant_id": str})
    with rewire.Cohort.open(store) as cohort:
        table = cohort.participants
    assert table.index.name == "participant_id" and list(table.index) == SUBJECTS
    pd.testing.assert_frame_equal(table.reset_index(), expected)


def test_run_timeseries_connectome_match_h5py(study):
    _, store = study
    with rewire.Cohort.open(store) as cohort, h5py.File(store, "r") as f:
        for subject in SUBJECTS:
            for session in ("pre", "post"):
                group = f[f"runs/{subject}/{session}"]
                np.testing.assert_array_equal(cohort.timeseries(subject, session), group["timeseries"][:])
                np.testing.assert_array_equal(cohort.connectome(subject, session),
                                              group["connectivity/correlation"][:])
                record = cohort.run(subject[4:], session)  # "01" works as well as "sub-01"
                assert record.frames_total == SIMULATION["timepoints"] and record.tr == 2.0
                assert record.mean_fd == pytest.approx(float(group.attrs["mean_fd"]))


def test_edges_rows_follow_subject_ids_and_the_edge_order(study):
    _, store = study
    with rewire.Cohort.open(store) as cohort:
        values, subjects = cohort.edges("correlation", "pre", return_subjects=True)
        assert subjects == SUBJECTS and values.shape == (4, REGIONS * (REGIONS - 1) // 2)
        for row, subject in enumerate(subjects):
            matrix = cohort.connectome(subject, "pre")
            np.testing.assert_array_equal(values[row], rewire.edge_vector(matrix))
            i, j = 3, 17
            assert values[row, rewire.edge_index(i, j, REGIONS)] == matrix[i, j]
        # Rows as h5py sees them may be in commit order; Cohort sorts them by subject ID.
        with h5py.File(store, "r") as f:
            stored = [text(s) for s in f["edges/correlation/pre/subjects"][:]]
            raw = f["edges/correlation/pre/values"][:]
        for row, subject in enumerate(stored):
            np.testing.assert_array_equal(raw[row], values[subjects.index(subject)])


def test_errors_name_the_store_and_what_is_missing(study, tmp_path):
    _, store = study
    with rewire.Cohort.open(store) as cohort:
        with pytest.raises(ValueError, match=r"no 'tangent' for sub-01 pre \(stored: \['correlation'\]\)"):
            cohort.connectome("sub-01", "pre", "tangent")
        with pytest.raises(ValueError, match="no committed run for subject sub-09, session pre"):
            cohort.run("sub-09", "pre")
        with pytest.raises(ValueError, match="no covariance edges for session pre"):
            cohort.edges("covariance", "pre")
    with pytest.raises(ValueError, match="closed"):
        cohort.subjects
    with pytest.raises(OSError, match="no such cohort store"):
        rewire.Cohort.open(tmp_path / "missing.h5")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(ValueError, match=r"other.h5: not a rewire cohort store"):
        rewire.Cohort.open(other)


def test_a_store_is_read_only_through_cohort(study):
    _, store = study
    with rewire.Cohort.open(store) as cohort:
        record = cohort.run("sub-01", "pre")
        with pytest.raises(ValueError, match="read-only"):
            cohort._store.commit(record)
