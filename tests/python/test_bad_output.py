"""Outputs that cannot be written: the place is checked before any work starts, a write that fails midway
(a full disk, made here with RLIMIT_FSIZE in the child process and SIGXFSZ ignored, so that writes fail
with EFBIG) leaves no partial file and no `*.part` behind and an earlier output untouched, and the command
line says so in one line with exit status 1."""
import functools
import os
import resource
import shutil
import subprocess

import numpy as np
import pytest

from conftest import run_cli

UNSHARE = shutil.which("unshare")


def one_line_error(result, verb, *parts):
    """The run failed with exit status 1 and one line on stderr that names every one of `parts`."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"rewire {verb}: error: "), lines[0]
    for part in parts:
        assert os.fspath(part) in lines[0], lines[0]
    return lines[0]


def leftovers(folder):
    """Temporary files a writer may have left in `folder` (rewire's are `*.part`)."""
    return sorted(name for root, _, names in os.walk(folder) for name in names if name.endswith(".part"))


@functools.lru_cache(maxsize=None)
def read_only_bind_works(folder: str) -> bool:
    """Whether this kernel lets an unprivileged user namespace bind-mount `folder` read-only."""
    if UNSHARE is None:
        return False
    probe = subprocess.run([UNSHARE, "--user", "--map-root-user", "--mount", "sh", "-c",
                            f"mount --bind '{folder}' '{folder}' && mount -o remount,ro,bind '{folder}' '{folder}'"],
                           capture_output=True)
    return probe.returncode == 0


def read_only(folder):
    """(prefix, reason): a command prefix under which `folder` cannot receive files, and the system's words
    for why. A read-only bind mount inside a user namespace where the kernel allows it (a real read-only
    file system, which stops root too); otherwise, when not root, the folder's write permission removed.
    Root without user namespaces has no way to make a folder of its own unwritable: that fails the test
    with the reason rather than skipping it."""
    folder = os.fspath(folder)
    if read_only_bind_works(folder):
        script = f"mount --bind '{folder}' '{folder}' && mount -o remount,ro,bind '{folder}' '{folder}' && exec \"$@\""
        return (UNSHARE, "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"), "Read-only file system"
    assert os.geteuid() != 0, "running as root without user namespaces (unshare): no way to make a folder read-only"
    os.chmod(folder, 0o555)
    return (), "Permission denied"


@pytest.fixture
def study_inputs(tmp_path, bold_and_labels):
    bold, atlas, *_ = bold_and_labels
    return bold, atlas


# ------------------------------------------------------------------ checked before the work


@pytest.mark.parametrize("case", ["folder", "missing-folder", "file-as-folder"])
def test_extract_output_place_is_checked_before_the_extraction(tmp_path, study_inputs, case):
    bold, atlas = study_inputs
    (tmp_path / "a-file").write_text("not a folder\n")
    output, reason = {"folder": (tmp_path, "is a folder"),
                      "missing-folder": (tmp_path / "absent" / "signals.tsv", "does not exist"),
                      "file-as-folder": (tmp_path / "a-file" / "signals.tsv", "is not a folder")}[case]
    result = run_cli("extract", bold, "--atlas", atlas, "-o", output)
    line = one_line_error(result, "extract", output, reason)
    assert "16/16" not in line  # no progress line: the extraction never started
    assert not (tmp_path / "absent").exists() and leftovers(tmp_path) == []


def test_every_output_verb_checks_its_place_first(tmp_path):
    """connectivity, delta and stats refuse a folder as -o before reading their (here missing) inputs."""
    for verb, args in (("connectivity", ["missing.tsv"]), ("delta", ["missing.h5"]),
                       ("stats", ["missing.h5"])):
        output = tmp_path / ("out.tsv" if verb != "stats" else "out.npz")
        output.mkdir(exist_ok=True)
        one_line_error(run_cli(verb, *args, "-o", output), verb, output, "is a folder")


def test_extract_onto_a_read_only_folder(tmp_path, study_inputs):
    bold, atlas = study_inputs
    target = tmp_path / "read-only"
    target.mkdir()
    prefix, reason = read_only(target)
    try:
        result = run_cli("extract", bold, "--atlas", atlas, "-o", target / "signals.tsv", prefix=prefix)
    finally:
        os.chmod(target, 0o755)
    one_line_error(result, "extract", target / "signals.tsv", "cannot write in", reason)
    assert os.listdir(target) == []


def test_run_onto_a_read_only_folder(tmp_path, study_inputs):
    """`rewire run` refuses a store in a read-only place before discovery (which would fail here: the
    derivatives folder is empty), not with a traceback from the store's clean-up."""
    _, atlas = study_inputs
    target = tmp_path / "read-only"
    target.mkdir()
    (tmp_path / "derivatives").mkdir()
    prefix, reason = read_only(target)
    try:
        result = run_cli("run", tmp_path / "derivatives", "-o", target / "study.h5", "--atlas", atlas, prefix=prefix)
        bids = run_cli("run", tmp_path / "derivatives", "-o", tmp_path / "study.h5", "--atlas", atlas,
                       "--bids-outputs", target / "bids", prefix=prefix)
    finally:
        os.chmod(target, 0o755)
    one_line_error(result, "run", target / "study.h5", "cannot write in", reason)
    one_line_error(bids, "run", target / "bids", "cannot write in", reason)
    assert os.listdir(target) == [] and not (tmp_path / "study.h5").exists()


# ------------------------------------------------------------------ failing midway


def test_extract_onto_a_full_disk_leaves_no_part_file_and_the_old_output(tmp_path, study_inputs):
    bold, atlas = study_inputs
    output = tmp_path / "signals.tsv"
    output.write_text("an earlier result\n")
    result = run_cli("extract", bold, "--atlas", atlas, "-o", output, "-q", limits={resource.RLIMIT_FSIZE: 200})
    one_line_error(result, "extract", "File too large")
    assert output.read_text() == "an earlier result\n"
    assert leftovers(tmp_path) == []


def test_connectivity_onto_a_full_disk(tmp_path, rng):
    series = tmp_path / "series.tsv"
    series.write_text("a\tb\tc\n" + "".join("\t".join(f"{v:.6f}" for v in row) + "\n"
                                          for row in rng.normal(size=(30, 3))))
    output = tmp_path / "matrix.tsv"
    result = run_cli("connectivity", series, "-o", output, limits={resource.RLIMIT_FSIZE: 20})
    one_line_error(result, "connectivity", "File too large")
    assert not output.exists() and leftovers(tmp_path) == []


def test_nifti_writer_on_a_full_disk_leaves_no_part_file(tmp_path):
    """`rewire simulate` writes its images with the C++ NiftiWriter: the image being written when the disk
    fills is removed, the ones finished before stay whole."""
    out = tmp_path / "sim"
    result = run_cli("simulate", out, "--subjects", "1", "--timepoints", "20", "-q",
                     limits={resource.RLIMIT_FSIZE: 300_000})
    line = one_line_error(result, "simulate")
    assert "File too large" in line or "write failed" in line, line
    assert leftovers(out) == []
    import nibabel as nib

    for root, _, names in os.walk(out):
        for name in names:
            if name.endswith(".nii.gz"):
                assert np.isfinite(nib.load(os.path.join(root, name)).get_fdata()).all()


def test_sigterm_while_writing_leaves_no_part_file(tmp_path):
    """SIGTERM (a scheduler's time limit) while an image is being written: the command stops with one line
    and status 143, and the image being written is removed rather than left as `*.part`."""
    import signal
    import sys
    import time

    from conftest import REWIRE_PATH, ROOT

    out = tmp_path / "sim"
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)
    child = subprocess.Popen([sys.executable, "-m", "rewire.cli", "simulate", os.fspath(out), "--subjects", "2",
                              "--timepoints", "300", "-q"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not leftovers(out) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert leftovers(out), "no file was being written: the simulation ended or never started"
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 143, stderr
    assert stderr.strip() == "rewire simulate: terminated"
    assert leftovers(out) == []
