"""`rewire extract` with cleaning options and `rewire connectivity`: the TSVs equal rewire.clean on
rewire.extract and rewire.connectivity on the same inputs (to the TSV's 10 significant digits)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import rewire
from rewire import cli
from rewire.connectivity import connectivity
from rewire.signal import clean
from conftest import grid_affine, save, write_nifti

RTOL = 1e-8  # the TSV prints 10 significant digits


def read_tsv(path):
    with open(path, encoding="utf-8") as tsv:
        header = tsv.readline().rstrip("\n").split("\t")
    return header, np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)


def close(values, expected):
    return np.allclose(values, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max(), equal_nan=True)


@pytest.fixture
def small(tmp_path, rng):
    shape, volumes = (10, 9, 8), 50
    labels = rng.integers(0, 5, shape).astype(np.int16)
    courses = rng.normal(0.0, 5.0, (5, volumes)).cumsum(axis=1)
    data = 100.0 + courses[labels] + rng.normal(0.0, 1.0, shape + (volumes,))
    bold = write_nifti(tmp_path / "bold.nii.gz", data, grid_affine(), tr=1.5)
    atlas = save(tmp_path / "atlas.nii.gz", labels, grid_affine())
    return bold, atlas


@pytest.fixture(scope="module")
def fmriprep_run(tmp_path_factory):
    """One simulated fMRIPrep-like run (BOLD, mask, confounds TSV + JSON) and a label atlas on its grid."""
    from rewire.simulate import bids_paths, simulate_run

    out = tmp_path_factory.mktemp("fmriprep")
    paths = bids_paths(str(out), "sub-01", "pre", 4)
    os.makedirs(os.path.dirname(paths["bold"]), exist_ok=True)
    simulate_run(paths["bold"], timepoints=60, tr=2.0, resolution=4, seed=5, mask_path=paths["mask"],
                 confounds_path=paths["confounds"])
    header = rewire.read_header(paths["bold"])
    shape = tuple(int(n) for n in header["shape"][:3])
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 7, shape).astype(np.int16)
    atlas = save(out / "atlas.nii.gz", labels, np.asarray(header["affine"]))
    return paths, atlas


def test_extract_cleans_by_default(tmp_path, small):
    bold, atlas = small
    out = tmp_path / "clean.tsv"
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(out), "-q"]) == 0
    _, values = read_tsv(out)
    assert close(values, clean(rewire.extract(bold, atlas), t_r=1.5))  # rewire.clean's defaults, t_r from the header
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(out), "-q", "--no-clean"]) == 0
    _, values = read_tsv(out)
    assert close(values, rewire.extract(bold, atlas))


@pytest.mark.parametrize("standardize", ["zscore_sample", "zscore", "psc"])
def test_extract_cleaning_options(tmp_path, small, standardize):
    bold, atlas = small
    out = tmp_path / "clean.tsv"
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(out), "-q", "--detrend", "--standardize",
                     standardize, "--low-pass", "0.2", "--high-pass", "0.01"]) == 0
    header, values = read_tsv(out)
    expected = clean(rewire.extract(bold, atlas), detrend=True, standardize=standardize, low_pass=0.2,
                     high_pass=0.01, t_r=1.5)  # t_r from the header
    assert header == rewire.Atlas.from_file(atlas).names
    assert close(values, expected)


def test_extract_t_r_and_no_detrend(tmp_path, small):
    bold, atlas = small
    out = tmp_path / "clean.tsv"
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(out), "-q", "--no-detrend", "--standardize",
                     "zscore_sample", "--low-pass", "0.1", "--t-r", "2.5"]) == 0
    _, values = read_tsv(out)
    expected = clean(rewire.extract(bold, atlas), detrend=False, standardize="zscore_sample", low_pass=0.1,
                     t_r=2.5)
    assert close(values, expected)


@pytest.mark.parametrize("strategy, fd", [("simple", None), ("scrubbing", 0.2), ("36P", None)])
def test_extract_strategy(tmp_path, fmriprep_run, strategy, fd):
    paths, atlas = fmriprep_run
    out = tmp_path / "clean.tsv"
    argv = ["extract", paths["bold"], "--atlas", atlas, "--mask", paths["mask"], "-o", str(out), "-q",
            "--strategy", strategy, "--detrend", "--standardize", "zscore_sample", "--high-pass", "0.01"]
    options = {}
    if fd is not None:
        argv += ["--fd-threshold", str(fd)]
        options["fd_threshold"] = fd
    assert cli.main(argv) == 0
    _, values = read_tsv(out)
    confounds, sample_mask = rewire.load_confounds(paths["bold"], strategy=strategy, **options)
    signals = rewire.extract(paths["bold"], atlas, paths["mask"])
    expected = clean(signals, detrend=True, standardize="zscore_sample", confounds=np.asarray(confounds),
                     sample_mask=sample_mask, high_pass=0.01, t_r=2.0)
    if fd is not None:
        assert sample_mask is not None and values.shape[0] == len(sample_mask) < signals.shape[0]
    assert close(values, expected)


def test_extract_strategy_errors(tmp_path, small, capsys):
    bold, atlas = small
    out = tmp_path / "x.tsv"
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(out), "-q", "--fd-threshold", "0.5"]) == 1
    assert "--fd-threshold needs --strategy" in capsys.readouterr().err
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(out), "-q", "--strategy", "simple"]) == 1
    assert "confounds" in capsys.readouterr().err.lower()
    assert not out.exists()


@pytest.mark.parametrize("kind", ["correlation", "covariance", "partial_correlation", "precision"])
@pytest.mark.parametrize("estimator", ["empirical", "ledoit_wolf", "oas"])
def test_connectivity_verb(tmp_path, small, kind, estimator):
    bold, atlas = small
    series = tmp_path / "ts.tsv"
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(series), "-q", "--detrend",
                     "--standardize", "zscore_sample"]) == 0
    names, ts = read_tsv(series)
    out = tmp_path / "matrix.tsv"
    assert cli.main(["connectivity", str(series), "--kind", kind, "--estimator", estimator, "-o", str(out)]) == 0
    header, table = _read_matrix(out)
    assert header == names
    assert [row[0] for row in table] == names
    matrix = np.array([[float(v) for v in row[1:]] for row in table])
    assert close(matrix, connectivity(ts, kind=kind.replace("_", " "), estimator=estimator))


def test_connectivity_fisher_z(tmp_path, small, capsys):
    bold, atlas = small
    series = tmp_path / "ts.tsv"
    assert cli.main(["extract", bold, "--atlas", atlas, "-o", str(series), "-q"]) == 0
    _, ts = read_tsv(series)
    out = tmp_path / "z.tsv"
    assert cli.main(["connectivity", str(series), "--kind", "correlation", "--fisher-z", "-o", str(out)]) == 0
    _, table = _read_matrix(out)
    matrix = np.array([[float(v) for v in row[1:]] for row in table])
    assert close(matrix, rewire.fisher_z(connectivity(ts)))
    assert np.all(np.diag(matrix) == 0)
    assert cli.main(["connectivity", str(series), "--kind", "precision", "--fisher-z", "-o", str(out)]) == 1
    assert "--fisher-z" in capsys.readouterr().err


def _read_matrix(path):
    with open(path, encoding="utf-8") as tsv:
        lines = [line.rstrip("\n").split("\t") for line in tsv]
    assert lines[0][0] == ""
    return lines[0][1:], lines[1:]
