"""Shared helpers for the Python tests: small NIfTI files written with nibabel into tmp_path and the
independent references the tests compare rewire against (nibabel + numpy, nilearn)."""
from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import warnings

import nibabel as nib
import numpy as np
import pytest

import rewire
from skip_guard import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 (hooks)

MRICRON = "/usr/share/mricron/templates"
AAL = f"{MRICRON}/aal.nii.gz"
NIBABEL_DATA = "/usr/lib/python3/dist-packages/nibabel/tests/data"
NITIME_DATA = "/usr/lib/python3/dist-packages/nitime/data"


def require(path) -> str:
    """`path` as a string; FileNotFoundError naming the Debian package list when it is absent."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is missing: scripts/setup installs it (scripts/debian-packages.txt)")
    return path


def write_nifti(path, data, affine=None, *, dtype=None, slope=None, inter=None, endian="<", version=1,
                tr=None, time_unit="sec", sform_code=2, qform_code=2):
    """Writes `data` to `path` (.nii or .nii.gz) byte by byte from a nibabel header, so that the
    datatype, scl_slope / scl_inter, byte order and transform codes are exactly those asked for
    (nib.save would recompute the scaling). `data` holds the stored (unscaled) values."""
    data = np.asarray(data)
    affine = np.eye(4) if affine is None else np.asarray(affine, dtype=np.float64)
    header = (nib.Nifti2Header if version == 2 else nib.Nifti1Header)(endianness=endian)
    header.set_data_dtype(dtype or data.dtype)
    header.set_data_shape(data.shape)
    header.set_qform(affine, code=qform_code)
    header.set_sform(affine, code=sform_code)
    zooms = list(header.get_zooms()[:3])
    if data.ndim == 4:
        zooms.append(1.0 if tr is None else tr)
    header.set_zooms(zooms)
    header.set_xyzt_units("mm", time_unit)
    if slope is not None:
        header["scl_slope"] = slope
        header["scl_inter"] = 0.0 if inter is None else inter
    with nib.openers.ImageOpener(os.fspath(path), "wb") as out:
        header.write_to(out)  # header, extension flag; vox_offset follows directly
        out.write(np.asarray(data, dtype=header.get_data_dtype()).tobytes(order="F"))
    return os.fspath(path)


def save(path, data, affine):
    """nib.save of a float or integer array (no scaling for these types); returns the path."""
    nib.save(nib.Nifti1Image(np.asarray(data), np.asarray(affine, dtype=np.float64)), os.fspath(path))
    return os.fspath(path)


def grid_affine(voxel=3.0, origin=(-18.0, -15.0, -12.0)):
    affine = np.diag([voxel, voxel, voxel, 1.0])
    affine[:3, 3] = origin
    return affine


def parcel_means(data, labels, values, mask=None):
    """Reference for rewire.extract on one grid: the mean of each label's finite voxels per volume,
    from np.bincount. data (X, Y, Z, T), labels (X, Y, Z) integers, values the columns in order,
    mask (X, Y, Z) or None. Returns (signals T × N, NaN where a region has no finite voxel;
    coverage N: voxels finite in every volume and inside the mask / voxels of the label)."""
    flat_labels = np.asarray(labels).astype(np.int64).ravel(order="F")
    index = np.full(flat_labels.shape, -1)
    for column, value in enumerate(values):
        index[flat_labels == value] = column
    n = len(values)
    total = np.bincount(index[index >= 0], minlength=n)
    if mask is not None:
        index[np.asarray(mask).ravel(order="F") == 0] = -1
    flat = np.asarray(data, dtype=np.float64).reshape(-1, data.shape[3], order="F")[index >= 0]
    index = index[index >= 0]
    signals = np.empty((data.shape[3], n))
    for t in range(data.shape[3]):
        finite = np.isfinite(flat[:, t])
        sums = np.bincount(index[finite], weights=flat[finite, t], minlength=n)
        counts = np.bincount(index[finite], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            signals[t] = sums / counts
    good = np.bincount(index[np.isfinite(flat).all(axis=1)], minlength=n)
    coverage = np.divide(good, total, out=np.zeros(n), where=total > 0)
    return signals, coverage


def max_relative(a, b):
    """max |a - b| / max |b| over finite entries, after checking NaN positions agree."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    finite = np.isfinite(b)
    return float(np.abs(a[finite] - b[finite]).max() / np.abs(b[finite]).max())


@contextlib.contextmanager
def nilearn_quiet():
    """nilearn's own deprecation notices must not fail a comparison test (pyproject turns warnings
    into errors); rewire's calls stay outside this context."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture
def bold_and_labels(tmp_path, rng):
    """A small float64 BOLD image (12 × 10 × 8, 16 volumes, 3 mm) and a 5-label atlas on its grid.
    Every label is present; the signal of each region is a shared time course plus voxel noise, so
    the region means differ from each other and from zero."""
    shape = (12, 10, 8)
    volumes = 16
    affine = grid_affine()
    labels = rng.integers(0, 6, shape).astype(np.int16)
    courses = rng.normal(0.0, 5.0, (6, volumes))
    data = 100.0 + courses[labels] + rng.normal(0.0, 1.0, shape + (volumes,))
    bold = save(tmp_path / "bold.nii.gz", data, affine)
    atlas = save(tmp_path / "atlas.nii.gz", labels, affine)
    return bold, atlas, data, labels, affine


# Subprocesses (the `rewire` command line) must import the same rewire as the tests: the installed
# package under scripts/test, the working tree under PYTHONPATH=python.
REWIRE_PATH = os.path.dirname(os.path.dirname(os.path.abspath(rewire.__file__)))

# The repository root: the command line runs from there, as a user runs it from the checkout.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_cli(*args, timeout=300, limits=None, prefix=()):
    """The command line as a user runs it: a fresh interpreter, `python -m rewire.cli`, importing the
    same rewire as the tests. `limits` ({resource.RLIMIT_AS: bytes, ...}) are set in the child before it
    starts, with SIGXFSZ ignored, so that a write past RLIMIT_FSIZE fails with EFBIG as on a full disk;
    `prefix` is a command the interpreter runs under (see read_only_prefix)."""
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        for which, value in (limits or {}).items():
            resource.setrlimit(which, (value, value))

    return subprocess.run([*prefix, sys.executable, "-m", "rewire.cli", *map(os.fspath, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT, preexec_fn=limit if limits else None)


def text(value):
    """An HDF5 string as h5py returns it (bytes or str) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)

