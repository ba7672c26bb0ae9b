"""The study's defaults in use: `rewire extract` and `rewire run` clean a run alike (same CleanOptions /
ConfoundsOptions defaults, same code), and study workers share one thread budget."""
from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

import rewire
from rewire import _core, cli
from rewire.simulate import bids_paths, simulate_run
from conftest import MRICRON, require, save

TR = 2.0


def derivatives(root, runs, timepoints=40):
    """A small fMRIPrep-like folder: the given (subject, session) runs, each with a brain mask and a
    confounds TSV + JSON; and a 7-region label atlas on their grid. Returns (folder, atlas, paths)."""
    require(MRICRON)
    folder = root / "derivatives"
    paths = {}
    for seed, (subject, session) in enumerate(runs):
        run = bids_paths(str(folder), subject, session, 4)
        os.makedirs(os.path.dirname(run["bold"]), exist_ok=True)
        simulate_run(run["bold"], timepoints=timepoints, tr=TR, resolution=4, seed=seed, mask_path=run["mask"],
                     confounds_path=run["confounds"])
        paths[subject, session] = run
    header = rewire.read_header(next(iter(paths.values()))["bold"])
    labels = np.random.default_rng(3).integers(0, 8, tuple(int(n) for n in header["shape"][:3])).astype(np.int16)
    atlas = save(root / "atlas.nii.gz", labels, np.asarray(header["affine"]))
    return str(folder), atlas, paths


def read_tsv(path):
    return np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    return derivatives(tmp_path_factory.mktemp("one"), [("sub-01", "pre")])


@pytest.mark.parametrize("flags", [
    [],  # the defaults: detrend, z-score (ddof 1), no filter, no confounds
    ["--strategy", "simple", "--high-pass", "0.01"],
    ["--strategy", "scrubbing", "--fd-threshold", "0.2", "--no-detrend", "--standardize", "zscore",
     "--low-pass", "0.1"],
], ids=["defaults", "simple-highpass", "scrubbing-lowpass"])
def test_extract_cleans_as_run_does(tmp_path, one_run, flags):
    """The TSV `rewire extract` writes for a run equals the time series `rewire run` stores for it (to the
    TSV's 10 significant digits), for the defaults and for the same cleaning flags."""
    folder, atlas, paths = one_run
    run = paths["sub-01", "pre"]
    store, tsv = tmp_path / "study.h5", tmp_path / "signals.tsv"
    assert cli.main(["run", folder, "-o", str(store), "--atlas", atlas, "-q", *flags]) == 0
    assert cli.main(["extract", run["bold"], "--atlas", atlas, "--mask", run["mask"], "-o", str(tsv), "-q",
                     *flags]) == 0
    with rewire.Cohort.open(str(store)) as cohort:
        stored = cohort.timeseries("sub-01", "pre")
    written = read_tsv(tsv)
    assert written.shape == stored.shape
    np.testing.assert_allclose(written, stored, rtol=1e-9, atol=1e-9 * np.abs(stored).max())
    # Independent of rewire: by default the series are z-scored with ddof 1 (nilearn's zscore_sample).
    if not flags:
        np.testing.assert_allclose(written.mean(axis=0), 0, atol=1e-8)
        np.testing.assert_allclose(written.std(axis=0, ddof=1), 1, rtol=1e-8)


def test_extract_no_clean_is_raw(tmp_path, one_run, capsys):
    folder, atlas, paths = one_run
    run = paths["sub-01", "pre"]
    tsv = tmp_path / "raw.tsv"
    assert cli.main(["extract", run["bold"], "--atlas", atlas, "--mask", run["mask"], "-o", str(tsv), "-q",
                     "--no-clean"]) == 0
    raw = rewire.extract(run["bold"], atlas, run["mask"])
    np.testing.assert_allclose(read_tsv(tsv), raw, rtol=1e-9)
    assert cli.main(["extract", run["bold"], "--atlas", atlas, "-o", str(tsv), "-q", "--no-clean",
                     "--strategy", "simple"]) == 1
    assert "--no-clean writes the raw region means; drop --strategy" in capsys.readouterr().err


def test_workers_get_their_share_of_the_thread_budget(tmp_path, monkeypatch):
    """run_study(workers=W, threads=B) hands every step of every run its share max(1, B // W) of the
    budget (read off the calls each run makes; the extraction's inflating thread counts in it), B = 0
    resolving as every rewire step does; the budget does not shape the results, so changing it re-uses
    the stored runs."""
    folder, atlas, _ = derivatives(tmp_path, [("sub-01", "pre"), ("sub-01", "post"), ("sub-02", "pre")],
                                   timepoints=30)
    study = importlib.import_module("rewire.study.run")
    calls = []

    def spy(module, name):
        real = getattr(module, name)

        def record(*args, threads, **kwargs):
            calls.append((name, threads))
            return real(*args, threads=threads, **kwargs)

        monkeypatch.setattr(module, name, record)

    spy(study, "extract")
    spy(importlib.import_module("rewire.signal"), "clean")
    spy(importlib.import_module("rewire.connectivity"), "connectivity")
    monkeypatch.setenv("REWIRE_NUM_THREADS", "8")  # what threads=0 resolves to
    for workers, budget, share in ((2, 6, 3), (2, 5, 2), (3, 1, 1), (3, 0, 2), (1, 0, 8)):
        calls.clear()
        summary = rewire.run_study(folder, str(tmp_path / f"study-{workers}-{budget}.h5"), atlas, workers=workers,
                                   threads=budget, kinds=("correlation", "covariance"))
        assert summary.ok and len(summary.processed) == 3
        assert sorted({name for name, _ in calls}) == ["clean", "connectivity", "extract"]
        assert len(calls) == 3 * 4  # per run: extract, clean, two measures
        # The extraction's inflating thread is part of the share: its reducers get one thread less.
        assert {threads for name, threads in calls if name == "extract"} == {max(1, share - 1)}, (workers, budget)
        assert {threads for name, threads in calls if name != "extract"} == {share}, (workers, budget)
    again = rewire.run_study(folder, str(tmp_path / "study-2-6.h5"), atlas, workers=1, threads=1,
                             kinds=("correlation", "covariance"))
    assert again.processed == [] and len(again.skipped) == 3
    assert _core.resolve_threads(0) == 8
