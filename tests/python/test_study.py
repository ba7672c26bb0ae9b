"""rewire.run_study / `rewire run`: a whole simulated study into an HDF5 cohort store.

The store is read back with plain h5py (the layout documented in include/rewire/io/cohort_store.hpp and
docs/cohort-store.md), and its values are recomputed run by run with rewire.extract + load_confounds +
rewire.clean + rewire.correlation and, independently, numpy. Then: skipping unchanged runs, recomputing a
changed one, surviving a SIGKILL, failing runs, QC exclusions, bad input that must leave the store intact,
BIDS-style per-scan outputs and the tangent reference.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.connectome import ConnectivityMeasure
from sklearn.covariance import LedoitWolf

import rewire
from conftest import AAL, REWIRE_PATH, ROOT, max_relative, nilearn_quiet, run_cli, text
from rewire.study.bids import discover
from rewire.simulate import SimulationOptions, bids_paths, simulate_study


# 2 subjects per group, 2 sessions: 8 runs on the 4 mm grid (46 × 55 × 46), 100 volumes, 116 AAL regions
# (mricron's AAL drives the simulation too, so that it plants its effect in the regions `run` extracts).
SIMULATION = dict(subjects=2, timepoints=100, resolution=4, effect=0.5, seed=11, atlas=AAL)
RUNS = [(f"sub-0{i}", session) for i in range(1, 5) for session in ("post", "pre")]
REGIONS = 116
EDGES = REGIONS * (REGIONS - 1) // 2
STRATEGY = "simple"


def digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The simulated study (read-only: tests that change inputs work on a copy)."""
    out = tmp_path_factory.mktemp("study") / "derivatives"
    truth = simulate_study(out, SimulationOptions(**SIMULATION))
    return str(out), truth


@pytest.fixture(scope="module")
def store(study, tmp_path_factory):
    """The study through run_study with 2 workers and the "simple" strategy, once per module."""
    path = str(tmp_path_factory.mktemp("store") / "cohort.h5")
    summary = rewire.run_study(study[0], path, AAL, workers=2, strategy=STRATEGY, command_line="pytest store")
    return path, summary


@pytest.fixture
def copy(study, tmp_path):
    """A private copy of the study's derivatives, for tests that change, corrupt or remove files."""
    target = tmp_path / "derivatives"
    shutil.copytree(study[0], target)
    return str(target)


def paths(root, subject, session):
    return bids_paths(root, subject, session.split("_")[0], SIMULATION["resolution"])


# ------------------------------------------------------------------------------------ the store


def test_every_run_is_committed(store):
    _, summary = store
    assert sorted(summary.processed) == sorted(RUNS)
    assert summary.failed == [] and summary.excluded == [] and summary.skipped == []
    assert summary.ok
    assert "processed  8" in summary.table()


def test_store_layout_with_plain_h5py(store, study):
    path, _ = store
    with h5py.File(path, "r") as f:
        names = [text(n) for n in f["nodes/names"][:]]
        assert len(names) == REGIONS and names[0] == "Precentral_L"
        assert f["nodes/values"].shape == (REGIONS,) and f["nodes/coordinates"].shape == (REGIONS, 3)
        attrs = {key: text(value) for key, value in f.attrs.items()}
        for key in ("rewire_version", "atlas", "atlas_checksum", "options", "command_line", "edge_order",
                    "format", "participants"):
            assert key in attrs, key
        assert attrs["rewire_version"] == rewire.__version__
        # Provenance: the kernel variant that ran, the compiler and the floating-point flags, at the root
        # and on every run (runs of one store may come from different machines).
        build = rewire._core.build_info()
        assert attrs["rewire_kernels"] == rewire._core.kernel_variant() == build["kernels"]
        assert attrs["rewire_kernels"] in ("generic", "avx2", "avx512")
        assert "-ffp-contract=off" in attrs["rewire_flags"] and attrs["rewire_compiler"].split()[0] in ("gcc", "clang")
        for subject in f["runs"]:
            for session in f["runs"][subject]:
                run_attrs = {key: text(value) for key, value in f["runs"][subject][session].attrs.items()}
                assert run_attrs["rewire_kernels"] == build["kernels"], (subject, session)
                assert run_attrs["rewire_flags"] == build["flags"] and run_attrs["rewire_version"] == rewire.__version__
        assert attrs["atlas"] == os.path.abspath(AAL) and attrs["format"] == "rewire-cohort"
        assert attrs["atlas_checksum"].startswith("gzip-crc32:")
        assert attrs["command_line"] == "pytest store"
        options = json.loads(attrs["options"])
        assert options["strategy"] == STRATEGY and options["kinds"] == ["correlation"]
        assert attrs["participants"].startswith("participant_id\t")
        assert sorted((s, ses) for s in f["runs"] for ses in f["runs"][s]) == sorted(RUNS)
        for subject, session in RUNS:
            group = f[f"runs/{subject}/{session}"]
            assert group["timeseries"].shape == (SIMULATION["timepoints"], REGIONS)
            assert group["connectivity/correlation"].shape == (REGIONS, REGIONS)
            assert group["coverage"].shape == (REGIONS,)
            assert list(group["sample_mask"][:]) == list(range(SIMULATION["timepoints"]))
            assert int(group.attrs["committed"]) == 1 and float(group.attrs["tr"]) == 2.0
            inputs = json.loads(text(group.attrs["inputs"]))
            assert inputs["bold"] == paths(study[0], subject, session)["bold"]
            assert "trans_x" in inputs["confound_regressors"]
            checksums = json.loads(text(group.attrs["checksums"]))
            assert set(checksums) == {"bold", "mask", "confounds"}
        for session in ("pre", "post"):
            values = f[f"edges/correlation/{session}/values"]
            subjects = [text(s) for s in f[f"edges/correlation/{session}/subjects"][:]]
            assert values.shape == (4, EDGES) and sorted(subjects) == ["sub-01", "sub-02", "sub-03", "sub-04"]
            # Each row is the upper triangle, row by row, of that subject's stored matrix.
            for row, subject in enumerate(subjects):
                matrix = f[f"runs/{subject}/{session}/connectivity/correlation"][:]
                np.testing.assert_array_equal(values[row], matrix[np.triu_indices(REGIONS, 1)])


def test_values_equal_a_direct_recomputation(store, study):
    """extract → load_confounds → clean → correlation, called directly, gives what the store holds."""
    path, _ = store
    subject, session = "sub-03", "post"
    files = paths(study[0], subject, session)
    signals = rewire.extract(files["bold"], AAL, files["mask"])
    confounds, sample_mask = rewire.load_confounds(files["bold"], strategy=STRATEGY)
    assert sample_mask is None  # "simple" censors nothing
    cleaned = rewire.clean(signals, confounds=confounds.to_numpy(), sample_mask=sample_mask, t_r=2.0,
                           filter=False)
    r = rewire.correlation(cleaned)
    with h5py.File(path, "r") as f:
        stored = f[f"runs/{subject}/{session}/timeseries"][:]
        stored_r = f[f"runs/{subject}/{session}/connectivity/correlation"][:]
        row = [text(s) for s in f[f"edges/correlation/{session}/subjects"][:]].index(subject)
        edges = f[f"edges/correlation/{session}/values"][row]
    # The store's run used 1 reduction thread per worker, this call the default: the parcel sums may be
    # added in another order, hence a tolerance of a few ulps of the signals rather than equality.
    np.testing.assert_allclose(stored, cleaned, rtol=0, atol=1e-9)
    np.testing.assert_allclose(stored_r, r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(edges, rewire.edge_vector(r), rtol=0, atol=1e-9)
    # Independent of rewire: the stored series are z-scored (ddof=1) and the matrix is numpy's corrcoef.
    np.testing.assert_allclose(stored.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(stored.std(axis=0, ddof=1), 1, rtol=1e-10)
    np.testing.assert_allclose(stored_r, np.corrcoef(stored, rowvar=False), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------- re-running, changes


def test_rerun_skips_every_unchanged_run(store, study):
    path, _ = store
    with h5py.File(path, "r") as f:
        before = f["edges/correlation/post/values"][:]
    summary = rewire.run_study(study[0], path, AAL, workers=2, strategy=STRATEGY)
    assert summary.processed == [] and sorted(summary.skipped) == sorted(RUNS)
    assert summary.ok
    with h5py.File(path, "r") as f:
        assert len(f["edges/correlation/pre/subjects"]) == 4  # no duplicated rows
        np.testing.assert_array_equal(f["edges/correlation/post/values"][:], before)
    with rewire.Cohort.open(path) as cohort:
        assert cohort.runs == sorted(RUNS)


def test_changing_one_bold_file_recomputes_only_that_run(copy, tmp_path):
    output = str(tmp_path / "cohort.h5")
    first = rewire.run_study(copy, output, AAL, strategy=STRATEGY)
    assert len(first.processed) == 8
    with h5py.File(output, "r") as f:
        before = {run: f[f"runs/{run[0]}/{run[1]}/timeseries"][:] for run in RUNS}
    # Change the data of sub-02 post: scale one region's voxels by 1.5 (a new file, same name).
    bold = paths(copy, "sub-02", "post")["bold"]
    image = nib.load(bold)
    data = np.asarray(image.dataobj).astype(np.int16)
    data[data.shape[0] // 2:, :, :, ::2] += 7  # every other volume of the right half
    nib.save(nib.Nifti1Image(data, image.affine, image.header), bold)
    second = rewire.run_study(copy, output, AAL, strategy=STRATEGY)
    assert second.processed == [("sub-02", "post")]
    assert sorted(second.skipped) == sorted(set(RUNS) - {("sub-02", "post")})
    with h5py.File(output, "r") as f:
        for run in RUNS:
            after = f[f"runs/{run[0]}/{run[1]}/timeseries"][:]
            if run == ("sub-02", "post"):
                assert not np.allclose(after, before[run])
            else:
                np.testing.assert_array_equal(after, before[run])
        assert len(f["edges/correlation/post/subjects"]) == 4
    # Touching a file (same bytes, new modification time) also counts as a change.
    os.utime(paths(copy, "sub-01", "pre")["confounds"])
    third = rewire.run_study(copy, output, AAL, strategy=STRATEGY)
    assert third.processed == [("sub-01", "pre")]


def test_sigkill_after_the_first_commit_leaves_a_usable_store(copy, tmp_path):
    """Kill `rewire run` (SIGKILL: no clean-up) once its progress says a run is committed; every run the
    store lists is complete, and a second `rewire run` finishes the rest with exit status 0."""
    output = tmp_path / "cohort.h5"
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)
    with subprocess.Popen([sys.executable, "-m", "rewire.cli", "run", copy, "-o", str(output), "--atlas", AAL,
                           "--strategy", STRATEGY, "--workers", "1"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT) as process:
        try:
            for line in process.stderr:  # progress: "runs: 1/8 (...)" after the first commit
                if line.startswith("runs: "):
                    process.send_signal(signal.SIGKILL)
                    break
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == -signal.SIGKILL
    with rewire.Cohort.open(output) as cohort:
        listed = cohort.runs
        assert 1 <= len(listed) < len(RUNS), "the process must die with runs left to do"
        for subject, session in listed:
            record = cohort.run(subject, session)
            assert np.asarray(record.timeseries).shape == (SIMULATION["timepoints"], REGIONS)
            assert set(record.measures) == {"correlation"}
            assert np.isfinite(np.asarray(record.measures["correlation"])).all()
        for session in cohort.sessions:
            values, subjects = cohort.edges("correlation", session, return_subjects=True)
            assert sorted(subjects) == sorted(s for s, ses in listed if ses == session)
            assert values.shape == (len(subjects), EDGES)
    result = run_cli("run", copy, "-o", output, "--atlas", AAL, "--strategy", STRATEGY)
    assert result.returncode == 0, result.stderr
    assert f"processed  {len(RUNS) - len(listed)}" in result.stdout
    assert f"skipped  {len(listed)}" in result.stdout
    with rewire.Cohort.open(output) as cohort:
        assert cohort.runs == sorted(RUNS)
        assert cohort.edges("correlation", "pre").shape == (4, EDGES)


# ------------------------------------------------------------------------------ failures, QC


def test_a_corrupt_bold_file_fails_its_run_only(copy, tmp_path):
    bold = paths(copy, "sub-02", "post")["bold"]
    with open(bold, "rb") as handle:
        head = handle.read(os.path.getsize(bold) // 3)
    with open(bold, "wb") as handle:  # truncated: a third of the gzip stream
        handle.write(head)
    output = tmp_path / "cohort.h5"
    result = run_cli("run", copy, "-o", output, "--atlas", AAL, "--strategy", STRATEGY)
    assert result.returncode == 1
    assert "processed  7" in result.stdout and "failed  1" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "FAILED" in line)
    assert "sub-02 post" in line and bold in line and "truncated" in line
    with rewire.Cohort.open(output) as cohort:
        assert ("sub-02", "post") not in cohort.runs and len(cohort.runs) == 7


def test_qc_exclusions_are_reported_as_excluded_not_failed(copy, tmp_path):
    output = tmp_path / "cohort.h5"
    result = run_cli("run", copy, "-o", output, "--atlas", AAL, "--max-mean-fd", "0.001")
    assert result.returncode == 0, result.stderr
    assert "excluded  8" in result.stdout and "failed  0" in result.stdout and "FAILED" not in result.stdout
    assert result.stdout.count("  excluded sub-") == 8 and "mean FD" in result.stdout
    summary = rewire.run_study(copy, str(output), AAL, max_mean_fd=0.001)
    assert len(summary.excluded) == 8 and summary.failed == [] and summary.ok
    assert all("mean FD" in reason and "> 0.001 mm" in reason for _, _, reason in summary.excluded)


def test_a_qc_rule_added_on_a_rerun_excludes_stored_runs_and_dropping_it_includes_them(copy, tmp_path):
    """Results are unchanged, so nothing is recomputed, but the runs over the new threshold leave every
    analysis (runs, edges, delta) while their data stay in the file; without the rule they come back."""
    output = str(tmp_path / "cohort.h5")
    first = rewire.run_study(copy, output, AAL, strategy=STRATEGY)
    assert len(first.processed) == 8
    with rewire.Cohort.open(output) as cohort:
        fd = {run: cohort.run(*run).mean_fd for run in RUNS}
        all_edges = dict(zip(*reversed(cohort.edges("correlation", "pre", return_subjects=True))))
    threshold = float(np.median(list(fd.values())))
    over = sorted(run for run, value in fd.items() if value > threshold)
    assert 0 < len(over) < len(RUNS)
    second = rewire.run_study(copy, output, AAL, strategy=STRATEGY, max_mean_fd=threshold)
    assert second.processed == [] and second.failed == []
    assert sorted((s, ses) for s, ses, _ in second.excluded) == over
    assert sorted(second.skipped) == sorted(set(RUNS) - set(over))
    with rewire.Cohort.open(output) as cohort:
        assert cohort.runs == sorted(set(RUNS) - set(over))
        assert sorted(map(tuple, cohort.excluded[["subject", "session"]].to_numpy())) == over
        assert all(f"> {threshold} mm" in reason for reason in cohort.excluded["reason"])
        values, subjects = cohort.edges("correlation", "pre", return_subjects=True)
        assert sorted(subjects) == sorted(s for s, ses in set(RUNS) - set(over) if ses == "pre")
        for subject, row in zip(subjects, values):
            np.testing.assert_array_equal(row, all_edges[subject])
        assert cohort.run(*over[0]).mean_fd == fd[over[0]]  # the data are still there
        deltas, participants = rewire.delta(cohort)
        paired = [s for s in sorted({s for s, _ in RUNS}) if (s, "pre") not in over and (s, "post") not in over]
        assert list(participants.index) == paired and deltas.shape == (len(paired), EDGES)
    third = rewire.run_study(copy, output, AAL, strategy=STRATEGY)
    assert third.processed == [] and third.excluded == [] and sorted(third.skipped) == sorted(RUNS)
    with rewire.Cohort.open(output) as cohort:
        assert cohort.runs == sorted(RUNS) and cohort.excluded.empty
        assert cohort.edges("correlation", "pre").shape == (4, EDGES)


WRITER = """
import sys
from rewire import _core
reader = _core.CohortStore.open(sys.argv[1])
header = reader.header()
reader.close()
store = _core.CohortStore.open_for_writing(sys.argv[1], header, "holder")
print("open", flush=True)
sys.stdin.read()  # hold the store open for writing until the test closes stdin
store.close()
"""


def test_a_store_can_be_read_while_a_writer_holds_it(store, tmp_path):
    """A Cohort opened while `rewire run` writes (simulated by a process holding the store open for
    writing) reads the committed runs; a second writer is refused with a clear error."""
    path = tmp_path / "cohort.h5"
    shutil.copyfile(store[0], path)
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)
    with subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, env=env) as writer:
        try:
            assert writer.stdout.readline().strip() == "open"
            with rewire.Cohort.open(path) as cohort:
                assert cohort.runs == sorted(RUNS)
                assert cohort.edges("correlation", "post").shape == (4, EDGES)
                header = cohort._store.header()
            with pytest.raises(OSError, match="another process is writing it"):
                rewire._core.CohortStore.open_for_writing(str(path), header, "second writer")
        finally:
            writer.stdin.close()
            writer.wait(timeout=60)
    assert writer.returncode == 0


def test_a_missing_confounds_file_fails_that_run_when_a_strategy_needs_it(copy, tmp_path):
    confounds = paths(copy, "sub-03", "pre")["confounds"]
    os.remove(confounds)
    summary = rewire.run_study(copy, str(tmp_path / "cohort.h5"), AAL, strategy=STRATEGY)
    assert len(summary.processed) == 7 and not summary.ok
    (subject, session, reason), = summary.failed
    assert (subject, session) == ("sub-03", "pre")
    assert "confounds" in reason and "simple" in reason and "sub-03_ses-pre" in reason
    # Without a strategy the run needs no confounds file.
    plain = rewire.run_study(copy, str(tmp_path / "plain.h5"), AAL)
    assert len(plain.processed) == 8 and plain.ok


# ------------------------------------------------------------------ bad input, store intact


def test_no_matching_bold_files_names_the_filters(tmp_path, copy, store):
    path, _ = store
    before = digest(path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no preprocessed BOLD files .* match task=rest"):
        rewire.run_study(str(empty), path, AAL)
    with pytest.raises(FileNotFoundError, match=r"match task=nback, space=MNI152NLin6Asym; 8 other BOLD"):
        rewire.run_study(copy, path, AAL, task="nback", space="MNI152NLin6Asym")
    with pytest.raises(FileNotFoundError, match=r"subjects=sub-99"):
        rewire.run_study(copy, path, AAL, subjects=["sub-99"])
    result = run_cli("run", empty, "-o", path, "--atlas", AAL)
    assert result.returncode == 1 and "rewire run: error:" in result.stderr and "task=rest" in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(path) == before
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="derivatives folder does not exist"):
        rewire.run_study(str(missing), path, AAL)
    assert digest(path) == before


def test_a_corrupt_store_is_refused_and_left_alone(copy, tmp_path):
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(np.random.default_rng(5).bytes(4096))
    before = digest(corrupt)
    with pytest.raises(OSError, match=str(corrupt)):
        rewire.run_study(copy, str(corrupt), AAL)
    with pytest.raises(OSError, match=str(corrupt)):
        rewire.Cohort.open(corrupt)
    with pytest.raises(OSError, match=str(corrupt)):
        rewire.delta(str(corrupt))
    result = run_cli("delta", corrupt, "-o", tmp_path / "delta.tsv")
    assert result.returncode == 1 and str(corrupt) in result.stderr and "not an HDF5 file" in result.stderr
    assert digest(corrupt) == before
    assert not (tmp_path / "delta.tsv").exists()


def test_a_store_made_with_other_options_is_refused(store, study):
    path, _ = store
    before = digest(path)
    with pytest.raises(ValueError) as error:
        rewire.run_study(study[0], path, AAL, strategy="36P", low_pass=0.08)
    message = str(error.value)
    assert path in message and "other options" in message
    assert "strategy (stored 'simple', requested '36P')" in message and "low_pass" in message
    assert "new store" in message and "remove" in message  # how to proceed
    result = run_cli("run", study[0], "-o", path, "--atlas", AAL)  # no strategy
    assert result.returncode == 1 and "strategy (stored 'simple', requested None)" in result.stderr
    assert digest(path) == before
    with rewire.Cohort.open(path) as cohort:
        assert cohort.runs == sorted(RUNS)


@pytest.mark.parametrize("content, expected", [
    ("subject\tgroup\nsub-01\ttherapy\n", r"needs a participant_id column \(columns: subject, group\)"),
    ("participant_id\tgroup\nsub-01\ttherapy\nsub-02\ttherapy\nsub-01\tcontrol\n",
     r"duplicate participant_id \['sub-01'\]"),
])
def test_bad_participants_tables_are_refused(store, study, tmp_path, content, expected):
    path, _ = store
    before = digest(path)
    table = tmp_path / "participants.tsv"
    table.write_text(content)
    with pytest.raises(ValueError, match=expected):
        rewire.run_study(study[0], path, AAL, strategy=STRATEGY, participants=str(table))
    assert digest(path) == before
    with pytest.raises(FileNotFoundError, match="participants file does not exist"):
        rewire.run_study(study[0], path, AAL, strategy=STRATEGY, participants=str(tmp_path / "none.tsv"))
    assert digest(path) == before


def test_participants_with_windows_line_ends_and_a_byte_order_mark(copy, tmp_path):
    source = os.path.join(copy, "participants.tsv")
    with open(source, encoding="utf-8") as handle:
        content = handle.read()
    table = tmp_path / "participants.tsv"
    table.write_bytes(b"\xef\xbb\xbf" + content.replace("\n", "\r\n").encode())
    output = str(tmp_path / "cohort.h5")
    rewire.run_study(copy, output, AAL, participants=str(table), subjects=["01"])
    with rewire.Cohort.open(output) as cohort:
        assert list(cohort.participants.columns)[:2] == ["group", "age"]
        assert cohort.participants.loc["sub-01", "group"] == "therapy"


# ----------------------------------------------------------------------- BIDS-style outputs


def read_tsv(path):
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
    return header, np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)


def test_bids_outputs(copy, tmp_path):
    output = str(tmp_path / "cohort.h5")
    out = tmp_path / "bids"
    result = run_cli("run", copy, "-o", output, "--atlas", AAL, "--strategy", STRATEGY, "--bids-outputs", out)
    assert result.returncode == 0, result.stderr
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][0]["Name"] == "rewire"
    stem = "sub-02_ses-post_task-rest_seg-aal"
    folder = out / "sub-02" / "ses-post" / "func"
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        f"{stem}_desc-denoised_timeseries.tsv", f"{stem}_desc-denoised_timeseries.json",
        f"{stem}_meas-PearsonCorrelation_desc-denoised_relmat.tsv",
        f"{stem}_meas-PearsonCorrelation_desc-denoised_relmat.json"])
    for subject, session in RUNS:
        assert len(list((out / subject / f"ses-{session}" / "func").glob("*.tsv"))) == 2
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.name.endswith(".part")]
    with rewire.Cohort.open(output) as cohort:
        record = cohort.run("sub-02", "post")
        names = cohort.names
    header, series = read_tsv(folder / f"{stem}_desc-denoised_timeseries.tsv")
    assert header == names and series.shape == (SIMULATION["timepoints"], REGIONS)
    np.testing.assert_allclose(series, np.asarray(record.timeseries), rtol=1e-9, atol=1e-12)  # %.10g
    header, matrix = read_tsv(folder / f"{stem}_meas-PearsonCorrelation_desc-denoised_relmat.tsv")
    assert header == names and matrix.shape == (REGIONS, REGIONS)
    np.testing.assert_allclose(matrix, np.asarray(record.measures["correlation"]), rtol=1e-9, atol=1e-12)
    sidecar = json.loads((folder / f"{stem}_desc-denoised_timeseries.json").read_text())
    assert sidecar["SamplingFrequency"] == 0.5 and sidecar["Fingerprint"] == record.fingerprint
    assert "trans_x" in sidecar["ConfoundRegressors"] and sidecar["Strategy"] == STRATEGY
    assert sidecar["NumberOfVolumesDiscardedByMotionScrubbing"] == 0
    assert sidecar["SampleMask"] == list(range(SIMULATION["timepoints"]))
    assert sidecar["Sources"] == [paths(copy, "sub-02", "post")["bold"]]
    relmat = json.loads((folder / f"{stem}_meas-PearsonCorrelation_desc-denoised_relmat.json").read_text())
    assert relmat["Measure"] == "PearsonCorrelation" and relmat["Directed"] is False
    assert relmat["StorageFormat"] == "Full"
    for written in (sidecar, relmat):  # the rewire build that wrote the file
        assert written["RewireBuild"] == rewire._core.build_info()

    # Unchanged runs are skipped; their files are rewritten only when missing or stale.
    (folder / f"{stem}_meas-PearsonCorrelation_desc-denoised_relmat.tsv").unlink()
    kept = out / "sub-01" / "ses-pre" / "func" / "sub-01_ses-pre_task-rest_seg-aal_desc-denoised_timeseries.tsv"
    mtime = kept.stat().st_mtime_ns
    summary = rewire.run_study(copy, output, AAL, strategy=STRATEGY, bids_outputs=str(out))
    assert summary.processed == [] and len(summary.skipped) == 8
    assert (folder / f"{stem}_meas-PearsonCorrelation_desc-denoised_relmat.tsv").exists()
    assert kept.stat().st_mtime_ns == mtime


def test_bids_atlas_labels():
    from rewire.study.outputs import atlas_label

    assert atlas_label("/x/aal.nii.gz") == "aal"
    assert atlas_label("kmeans400_2mm.nii.gz") == "kmeans4002mm"
    assert atlas_label("tpl-MNI152NLin2009cAsym_res-01_atlas-Schaefer2018_desc-400Parcels7Networks_dseg.nii.gz") \
        == "Schaefer2018400Parcels7Networks"


# ------------------------------------------------------------------------------------ tangent


def test_tangent_reference_is_fitted_on_pre_and_kept_fixed(study, tmp_path):
    output = str(tmp_path / "cohort.h5")
    # 100 volumes < 116 regions: the empirical covariance is singular, the tangent space needs shrinkage.
    with pytest.raises(ValueError, match="tangent reference: .*ledoit_wolf"):
        rewire.run_study(study[0], str(tmp_path / "empirical.h5"), AAL, kinds=("correlation", "tangent"))
    options = dict(strategy=STRATEGY, kinds=("correlation", "tangent"), estimator="ledoit_wolf")
    out = tmp_path / "bids"
    summary = rewire.run_study(study[0], output, AAL, workers=2, bids_outputs=str(out), **options)
    assert summary.ok and len(summary.processed) == 8
    with rewire.Cohort.open(output) as cohort:
        assert sorted(cohort.kinds) == ["correlation", "tangent"]
        pre = [cohort.timeseries(s, "pre") for s in cohort.subjects]
        # nilearn's tangent space, fitted on the stored pre series (the 1e-8 of test_estimators.py).
        with nilearn_quiet():
            tangent = ConnectivityMeasure(kind="tangent", cov_estimator=LedoitWolf()).fit(pre)
        for session in ("pre", "post"):  # nilearn transforms groups only: every subject of a session at once
            with nilearn_quiet():
                expected = tangent.transform([cohort.timeseries(subject, session) for subject in cohort.subjects])
            for subject, matrix in zip(cohort.subjects, expected):
                assert max_relative(cohort.connectome(subject, session, "tangent"), matrix) <= 1e-8
        written = (out / "sub-04" / "ses-post" / "func" /
                   "sub-04_ses-post_task-rest_seg-aal_meas-Tangent_desc-denoised_relmat.tsv")
        header, matrix = read_tsv(written)
        assert header == cohort.names
        np.testing.assert_allclose(matrix, cohort.connectome("sub-04", "post", "tangent"), rtol=1e-9, atol=1e-12)
        sidecar = json.loads(written.with_suffix(".json").read_text())
        assert sidecar["Measure"] == "Tangent" and sidecar["TangentReference"] == "pre"
    # Re-running changes nothing: the reference is the same, the matrices are not recomputed.
    again = rewire.run_study(study[0], output, AAL, **options)
    assert again.processed == [] and len(again.skipped) == 8
    with rewire.Cohort.open(output) as cohort:
        stored = [cohort.connectome(subject, "post", "tangent") for subject in cohort.subjects]
        series = [cohort.timeseries(subject, "post") for subject in cohort.subjects]
    with nilearn_quiet():
        expected = tangent.transform(series)
    assert max_relative(np.array(stored), expected) <= 1e-8


def test_several_runs_of_a_session_get_their_own_keys_and_bids_names(copy, tmp_path):
    func = os.path.join(copy, "sub-01", "ses-pre", "func")
    for name in os.listdir(func):
        source = os.path.join(func, name)
        for run in ("1", "2"):
            shutil.copy(source, os.path.join(func, name.replace("_task-rest_", f"_task-rest_run-{run}_")))
        os.remove(source)
    found = discover(copy, task="rest")
    first = next(run for run in found.runs if run.subject == "sub-01" and run.entities.get("run") == "1")
    assert first.session == "pre_run-1" and first.entities["ses"] == "pre"  # entities stay as parsed
    assert first.confounds.endswith("sub-01_ses-pre_task-rest_run-1_desc-confounds_timeseries.tsv")
    output = str(tmp_path / "cohort.h5")
    out = tmp_path / "bids"
    summary = rewire.run_study(copy, output, AAL, strategy=STRATEGY, subjects=["01"], bids_outputs=str(out))
    assert sorted(summary.processed) == [("sub-01", "post"), ("sub-01", "pre_run-1"), ("sub-01", "pre_run-2")]
    assert (out / "sub-01" / "ses-pre" / "func" /
            "sub-01_ses-pre_task-rest_run-2_seg-aal_desc-denoised_timeseries.tsv").exists()


def test_a_new_store_appears_only_with_its_header(copy, tmp_path):
    """A new store is written under NAME.part-<pid> and linked into place once its header is complete (a
    writer killed before that leaves no file at NAME); the file a killed writer left is removed, the file
    of a writer that still runs is not."""
    output = tmp_path / "cohort.h5"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # a process id that no longer runs
    dead = tmp_path / f"cohort.h5.part-{finished.pid}"
    dead.write_bytes(b"left by a killed writer")
    alive = tmp_path / f"cohort.h5.part-{os.getppid()}"
    alive.write_bytes(b"being written by a running process")
    summary = rewire.run_study(copy, str(output), AAL, subjects=["01"])
    assert summary.ok and not dead.exists() and alive.read_bytes() == b"being written by a running process"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("cohort.h5")) == ["cohort.h5", alive.name]
    with h5py.File(output, "r") as f:
        assert text(f.attrs["format"]) == "rewire-cohort"


# ------------------------------------------------------------------ links and broken files


def test_symlinked_subject_folders_are_followed_and_link_loops_read_once(study, copy, tmp_path):
    """A study assembled from links (a subject stored elsewhere, a link back up the tree) is discovered
    exactly as the plain folder: every run once, nothing skipped, no endless walk."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(os.path.join(copy, "sub-02"), elsewhere / "sub-02")
    os.symlink(elsewhere / "sub-02", os.path.join(copy, "sub-02"))
    os.symlink(copy, os.path.join(copy, "sub-01", "loop"))  # sub-01/loop/sub-01/loop/... without the guard
    expected = [(run.subject, run.session, os.path.basename(run.bold)) for run in discover(study[0]).runs]
    found = [(run.subject, run.session, os.path.basename(run.bold)) for run in discover(copy).runs]
    assert found == expected and len(found) == len(RUNS)
    summary = rewire.run_study(copy, str(tmp_path / "cohort.h5"), AAL, subjects=["02"])
    assert sorted(summary.processed) == [("sub-02", "post"), ("sub-02", "pre")] and summary.ok


def test_a_dangling_bold_link_fails_its_run_only(copy, tmp_path):
    bold = paths(copy, "sub-01", "post")["bold"]
    os.remove(bold)
    os.symlink(tmp_path / "gone" / os.path.basename(bold), bold)
    result = run_cli("run", copy, "-o", tmp_path / "cohort.h5", "--atlas", AAL, "--subjects", "01")
    assert result.returncode == 1, result.stderr
    assert "processed  1" in result.stdout and "failed  1" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "FAILED" in line)
    assert "sub-01 post" in line and bold in line and "symbolic link" in line and "does not exist" in line
    assert "Traceback" not in result.stderr
    with rewire.Cohort.open(tmp_path / "cohort.h5") as cohort:
        assert cohort.runs == [("sub-01", "pre")]
