"""Bad input gives a clear Python exception that names the file and the problem, never a crash or a
hang: both when reading a whole image and when extracting (where a thread inflates the volumes)."""
import gzip
import io
import os
import pathlib
import re
import resource

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import rewire
from conftest import grid_affine, nilearn_quiet, run_cli, save


@pytest.fixture
def files(tmp_path, rng):
    """A valid BOLD image (.nii.gz and .nii), a label atlas on its grid and 3 probabilistic maps."""
    affine = grid_affine()
    data = rng.normal(100.0, 5.0, (6, 5, 4, 10))
    labels = rng.integers(0, 4, (6, 5, 4)).astype(np.int16)
    return {
        "dir": tmp_path,
        "affine": affine,
        "data": data,
        "labels": labels,
        "bold": save(tmp_path / "bold.nii.gz", data, affine),
        "bold_nii": save(tmp_path / "bold_plain.nii", data, affine),
        "atlas": save(tmp_path / "atlas.nii.gz", labels, affine),
        "maps": save(tmp_path / "maps.nii.gz", rng.random((6, 5, 4, 3)), affine),
    }


def readers(atlas):
    """Ways a BOLD path reaches the reader: the whole image at once, or streamed by extraction."""
    return {
        "load_data": rewire.load_data,
        "extract": lambda path: rewire.extract(path, atlas),
    }


def check(error_type, pattern, path, call):
    """Asserts `call()` raises `error_type` with a message naming `path` and matching `pattern`."""
    with pytest.raises(error_type) as caught:
        call()
    message = str(caught.value)
    assert os.path.basename(os.fspath(path)) in message, message
    assert re.search(pattern, message), message
    assert "\n" not in message  # one line, ready for the command line


@pytest.mark.parametrize("how", ["load_data", "extract"])
def test_missing_file(files, how):
    path = files["dir"] / "no_such_bold.nii.gz"
    check(OSError, "cannot open: No such file", path, lambda: readers(files["atlas"])[how](os.fspath(path)))


@pytest.mark.parametrize("how", ["load_data", "extract"])
@pytest.mark.parametrize("content", [b"", b"hi", b"this is a text file, not an image\n" * 20],
                         ids=["empty", "two-bytes", "text"])
def test_not_nifti(files, how, content):
    path = files["dir"] / "notes.nii"
    path.write_bytes(content)
    check(ValueError, "not a NIfTI file", path, lambda: readers(files["atlas"])[how](os.fspath(path)))


def test_gzip_of_text_is_not_nifti(files):
    path = files["dir"] / "notes.nii.gz"
    path.write_bytes(gzip.compress(b"this is a text file, not an image\n" * 20))
    check(ValueError, "not a NIfTI file", path, lambda: rewire.read_header(os.fspath(path)))


@pytest.mark.parametrize("how", ["load_data", "extract"])
def test_truncated_gzip(files, how):
    data = pathlib.Path(files["bold"]).read_bytes()
    path = files["dir"] / "cut.nii.gz"
    path.write_bytes(data[: len(data) // 2])
    # The header is intact: it reads, and the error comes with the voxels.
    assert rewire.read_header(os.fspath(path))["shape"] == (6, 5, 4, 10)
    check(OSError, "truncated", path, lambda: readers(files["atlas"])[how](os.fspath(path)))


@pytest.mark.parametrize("how", ["load_data", "extract"])
def test_corrupt_gzip_bytes(files, how):
    data = bytearray(pathlib.Path(files["bold"]).read_bytes())
    middle = len(data) // 2
    for k in range(middle, middle + 64):
        data[k] ^= 0x5A
    path = files["dir"] / "corrupt.nii.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(Exception):  # the reference reader refuses the file too
        nib.load(os.fspath(path)).get_fdata()
    check(OSError, "corrupt gzip stream", path, lambda: readers(files["atlas"])[how](os.fspath(path)))


def test_corrupt_gzip_header(files):
    data = bytearray(pathlib.Path(files["bold"]).read_bytes())
    data[2] = 7  # compression method: only 8 (deflate) exists
    path = files["dir"] / "method.nii.gz"
    path.write_bytes(bytes(data))
    check(OSError, "corrupt gzip stream", path, lambda: rewire.load_data(os.fspath(path)))


@pytest.mark.parametrize("how", ["load_data", "extract"])
def test_plain_file_shorter_than_header_says(files, how):
    data = pathlib.Path(files["bold_nii"]).read_bytes()
    path = files["dir"] / "short.nii"
    path.write_bytes(data[:-1000])
    check(ValueError, r"header dims 6x5x4x10 \(float64\) need 9600 bytes .* file is \d+ bytes long", path,
          lambda: readers(files["atlas"])[how](os.fspath(path)))


@pytest.mark.parametrize("how", ["load_data", "extract"])
def test_gzip_holding_less_than_header_says(files, how):
    """A sound gzip stream (CRC and all) of a file whose header promises more volumes than follow."""
    data = pathlib.Path(files["bold_nii"]).read_bytes()
    path = files["dir"] / "short.nii.gz"
    path.write_bytes(gzip.compress(data[:-1000]))
    check(OSError, r"data ends inside volume 8 of 10 .*header whose dimensions do not match", path,
          lambda: readers(files["atlas"])[how](os.fspath(path)))


def test_gzip_header_with_absurd_dims(files):
    """Refused from the file size alone, before any memory is set aside for the volumes."""
    header = nib.Nifti1Header()
    header.set_data_dtype(np.int16)
    header.set_data_shape((1000, 1000, 1000, 10))
    raw = io.BytesIO()
    header.write_to(raw)
    path = files["dir"] / "huge.nii.gz"
    path.write_bytes(gzip.compress(raw.getvalue() + bytes(1000)))
    check(ValueError, "1000x1000x1000x10 .* cannot hold", path, lambda: rewire.extract(os.fspath(path), files["atlas"]))


def test_unsupported_datatype(files):
    path = files["dir"] / "complex.nii"
    nib.save(nib.Nifti1Image(np.zeros((3, 3, 3), np.complex64), np.eye(4)), os.fspath(path))
    check(ValueError, r"unsupported NIfTI datatype 32 \(complex64\)", path, lambda: rewire.load_data(os.fspath(path)))


def test_3d_image_as_bold(files):
    path = save(files["dir"] / "anat.nii.gz", files["data"][..., 0], files["affine"])
    check(ValueError, "expected a 4D BOLD image", path, lambda: rewire.extract(path, files["atlas"]))


def test_single_volume_bold(files):
    path = save(files["dir"] / "one.nii.gz", files["data"][..., :1], files["affine"])
    check(ValueError, "4D BOLD image with at least 2 volumes", path, lambda: rewire.extract(path, files["atlas"]))


def test_non_integer_labels(files):
    path = save(files["dir"] / "probabilities.nii.gz", files["labels"] + 0.5, files["affine"])
    check(ValueError, r"non-integer value \d+\.5.*labels must be integers", path, lambda: rewire.Atlas.from_file(path))
    check(ValueError, "non-integer", path, lambda: rewire.extract(files["bold"], path))


def test_4d_image_as_label_atlas(files):
    check(ValueError, "must be a 3D image, but it has 3 volumes", files["maps"],
          lambda: rewire.Atlas.from_file(files["maps"]))


def test_atlas_outside_bold(files):
    path = save(files["dir"] / "elsewhere.nii.gz", files["labels"], grid_affine(origin=(500.0, 500.0, 500.0)))
    atlas = rewire.Atlas.from_file(path)
    check(ValueError, "does not overlap the BOLD image", path, lambda: rewire.extract(files["bold"], atlas))
    # The message names the BOLD image as well.
    check(ValueError, "does not overlap", files["bold"], lambda: rewire.extract(files["bold"], atlas))


def test_maps_and_names_disagree(files):
    check(ValueError, "3 maps but 2 names", files["maps"], lambda: rewire.Atlas.from_maps(files["maps"], ["a", "b"]))


def test_mask_outside_bold(files):
    path = save(files["dir"] / "mask.nii.gz", np.ones((6, 5, 4), np.uint8), grid_affine(origin=(500.0, 0.0, 0.0)))
    check(ValueError, "no mask voxel falls inside", files["bold"], lambda: rewire.extract(files["bold"], files["atlas"], path))


def test_missing_mask(files):
    path = files["dir"] / "no_mask.nii.gz"
    check(OSError, "cannot open", path, lambda: rewire.extract(files["bold"], files["atlas"], path))


def test_label_tables(files):
    missing = files["dir"] / "missing.tsv"
    check(OSError, "cannot open label table", missing, lambda: rewire.Atlas.from_file(files["atlas"], missing))
    wrong = files["dir"] / "wrong.tsv"
    wrong.write_text("index\tlabel\n1\tone\n")
    check(ValueError, "needs both 'index' and 'name' columns", wrong, lambda: rewire.Atlas.from_file(files["atlas"], wrong))
    garbled = files["dir"] / "garbled.txt"
    garbled.write_text("1 one\ntwo 2\n")
    check(ValueError, ":2: expected an integer label value", garbled, lambda: rewire.Atlas.from_file(files["atlas"], garbled))
    twice = files["dir"] / "twice.txt"
    twice.write_text("1 one\n1 uno\n")
    check(ValueError, "label 1 appears twice", twice, lambda: rewire.Atlas.from_file(files["atlas"], twice))


@pytest.mark.parametrize("centres, radius, pattern", [
    ([[0.0, 0.0]], 5.0, "K × 3"),
    ([[0.0, 0.0, np.nan]], 5.0, "NaN"),
    ([[0.0, 0.0, 0.0]], -1.0, "radius must be"),
])
def test_bad_spheres(centres, radius, pattern):
    with pytest.raises(ValueError, match=pattern):
        rewire._core.Atlas.from_spheres(np.array(centres), radius)


# ------------------------------------------------------------------ sizes from the header


def nifti2_with_dims(path, dims, extra=64):
    """A NIfTI-2 uint8 file whose header claims `dims` (nibabel writes the header; the dims are set in
    its fields, since set_data_shape would check them), followed by `extra` bytes of data."""
    header = nib.Nifti2Header()
    header.set_data_dtype(np.uint8)
    header["dim"][:] = 1
    header["dim"][0] = len(dims)
    header["dim"][1:len(dims) + 1] = dims
    raw = io.BytesIO()
    header.write_to(raw)
    pathlib.Path(path).write_bytes(raw.getvalue() + bytes(extra))
    return os.fspath(path)


@pytest.mark.parametrize("dims", [(2**62, 1, 1), (2**32, 2**32, 1), (2**20, 2**20, 2**20, 4)],
                         ids=["2^62", "2^32x2^32", "2^62-bytes-on-disk-2^65-in-memory"])
def test_nifti2_dims_whose_product_overflows(files, dims):
    path = nifti2_with_dims(files["dir"] / "huge.nii", dims)
    assert tuple(nib.load(path).header["dim"][1:len(dims) + 1]) == dims  # the reference reads these dims
    shown = "x".join(str(n) for n in (tuple(dims) + (1,) * 4)[:4])
    for call in (lambda: rewire.read_header(path), lambda: rewire.load_data(path),
                 lambda: rewire.extract(path, files["atlas"]), lambda: rewire.Atlas.from_file(path)):
        check(ValueError, f"header dims {shown} describe more than 2\\^63 bytes", path, call)


def test_cli_refuses_overflowing_dims_in_one_line_within_a_memory_limit(files):
    """Before the fix this allocated without bound (15 GB in 35 s); under a 2 GB address-space limit it
    must fail on the header, in one line."""
    path = nifti2_with_dims(files["dir"] / "huge_bold.nii", (2**32, 2**32, 1, 10))
    result = run_cli("extract", path, "--atlas", files["atlas"], "-o", files["dir"] / "out.tsv",
                     limits={resource.RLIMIT_AS: 2 << 30}, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rewire extract: error: ") and "huge_bold.nii" in line and "2^63" in line


def test_cli_reports_running_out_of_memory_in_one_line(files):
    """An 8 GB atlas (a sparse file: the header and the file size agree) read under a 3 GB address-space
    limit: std::bad_alloc reaches Python as MemoryError, which the command line reports in one line."""
    path = files["dir"] / "big_atlas.nii"
    header = nib.Nifti1Header()
    header.set_data_dtype(np.float64)
    header.set_data_shape((1000, 1000, 1000))
    with open(path, "wb") as out:
        header.write_to(out)
        out.write(bytes(4))
        out.truncate(352 + 8 * 1000**3)
    result = run_cli("extract", files["bold"], "--atlas", path, "-o", files["dir"] / "out.tsv",
                     limits={resource.RLIMIT_AS: 3 << 30}, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rewire extract: error: out of memory"), line
    assert not (files["dir"] / "out.tsv").exists()


# ------------------------------------------------------------------ geometry


def with_header_fields(path, data, affine, **fields):
    """`data` (float32) written with nibabel, then header fields set as given (sform_code, srow_x,
    pixdim, ...): nibabel's own setters refuse or recompute some of these cases."""
    header = nib.Nifti1Header()
    header.set_data_dtype(np.float32)
    header.set_data_shape(data.shape)
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=2)
    for name, value in fields.items():
        header[name] = value
    with open(path, "wb") as out:
        header.write_to(out)
        out.write(np.asarray(data, np.float32).tobytes(order="F"))
    return os.fspath(path)


@pytest.mark.parametrize("srow", [np.zeros((3, 4)), [[3.0, 0, 3.0, -18], [0, 3.0, 3.0, -15], [0, 0, 0, -12]]],
                         ids=["all-zero", "rank-2"])
def test_degenerate_sform_is_an_error_as_in_nilearn(files, srow):
    srow = np.asarray(srow, dtype=float)
    path = with_header_fields(files["dir"] / "flat_bold.nii", files["data"], files["affine"],
                              srow_x=srow[0], srow_y=srow[1], srow_z=srow[2])
    assert np.array_equal(nib.load(path).affine[:3], srow)  # nibabel reads the degenerate sform as it is
    from nilearn.maskers import NiftiLabelsMasker

    with pytest.raises(Exception), nilearn_quiet():  # nilearn cannot resample onto this grid
        NiftiLabelsMasker(files["atlas"]).fit_transform(path)
    for call in (lambda: rewire.read_header(path), lambda: rewire.extract(path, files["atlas"])):
        check(ValueError, r"the sform \(sform_code 2\) is degenerate", path, call)
    result = run_cli("extract", path, "--atlas", files["atlas"], "-o", files["dir"] / "out.tsv")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "flat_bold.nii" in result.stderr and "degenerate" in result.stderr


@pytest.mark.parametrize("pixdim, qform_code", [
    ([1.0, 0.0, 0.0, 0.0], 0),     # no transform, zero voxel sizes: nibabel sets them to 1
    ([1.0, -2.0, 0.0, 2.5], 0),    # negative and zero
    ([-1.0, 2.0, 0.0, 3.0], 1),    # a qform with a zero voxel size
    ([-0.5, 2.0, 3.0, 3.0], 1),    # qfac neither 1 nor -1: nibabel takes 1
], ids=["zero-no-transform", "negative-no-transform", "zero-qform", "odd-qfac"])
def test_affine_from_odd_voxel_sizes_equals_nibabels(files, pixdim, qform_code):
    header_pixdim = np.ones(8, np.float32)
    header_pixdim[:4] = pixdim
    path = with_header_fields(files["dir"] / "odd.nii", files["data"], grid_affine(), sform_code=0,
                              qform_code=qform_code, pixdim=header_pixdim)
    reference = nib.load(path)
    ours = rewire.read_header(path)
    assert np.allclose(ours["affine"], reference.affine, rtol=0, atol=1e-5), (ours["affine"], reference.affine)
    assert np.linalg.matrix_rank(np.asarray(ours["affine"])[:3, :3]) == 3


# ------------------------------------------------------------------ labels


def test_labels_beyond_int64(files):
    labels = np.zeros((6, 5, 4), np.float64)
    labels[:3] = 1e30
    labels[3:] = 2e30
    path = save(files["dir"] / "float_atlas.nii.gz", labels, files["affine"])
    check(ValueError, r"value 1e\+30, beyond the range of 64-bit integer labels", path,
          lambda: rewire.Atlas.from_file(path))
    check(ValueError, "beyond the range of 64-bit", path, lambda: rewire.extract(files["bold"], path))
    # The largest labels an int64 holds exactly in float64 are still labels.
    labels[:3], labels[3:] = -(2.0**63), 2.0**62
    path = save(files["dir"] / "wide_atlas.nii.gz", labels, files["affine"])
    assert list(rewire.Atlas.from_file(path).values) == [-(2**63), 2**62]


# ------------------------------------------------------------------ repetition time


@pytest.mark.parametrize("tr", [0.0, 1e-30], ids=["zero", "1e-30"])
def test_header_tr_that_cannot_be_filtered_with(files, rng, tr):
    data = rng.normal(100.0, 5.0, (6, 5, 4, 40))  # long enough for the Butterworth filter's padding
    path = with_header_fields(files["dir"] / "tr_bold.nii", data, files["affine"],
                              pixdim=[1.0, 3.0, 3.0, 3.0, tr, 1.0, 1.0, 1.0])
    assert nib.load(path).header.get_zooms()[3] == np.float32(tr)
    out = files["dir"] / "out.tsv"
    result = run_cli("extract", path, "--atlas", files["atlas"], "-o", out, "--low-pass", "0.1")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "tr_bold.nii" in line and "pixdim[4]" in line and "--t-r" in line, line
    assert not out.exists()
    # The TR given on the command line is used instead; cleaning without a filter needs no TR.
    assert run_cli("extract", path, "--atlas", files["atlas"], "-o", out, "--low-pass", "0.1", "--t-r", "2").returncode == 0
    assert run_cli("extract", path, "--atlas", files["atlas"], "-o", out).returncode == 0


def test_filter_cut_off_far_below_nyquist(files):
    """A TR of 1e-30 s given explicitly: the cut-off is 1.6e-31 of Nyquist, which no filter can be built
    with (scipy's sosfilt_zi: singular matrix); the error says so and names the file on the command line."""
    import scipy.signal

    with pytest.raises(Exception):  # the reference cannot filter with it either
        scipy.signal.sosfilt_zi(scipy.signal.butter(5, 0.08 / (0.5 / 1e-30), "low", output="sos"))
    with pytest.raises(ValueError, match=r"low-pass cut-off 0.08 Hz is 1.6\d*e-31 of the Nyquist frequency"):
        rewire.clean(files["data"][0, 0].T, low_pass=0.08, t_r=1e-30)
    result = run_cli("extract", files["bold"], "--atlas", files["atlas"], "-o", files["dir"] / "out.tsv",
                     "--low-pass", "0.08", "--t-r", "1e-30", "-q")
    (line,) = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "bold.nii.gz" in line and "Nyquist" in line and "t_r" in line, line


# ------------------------------------------------------------------ confounds


@pytest.fixture
def fmriprep(tmp_path):
    """A simulated fMRIPrep run (BOLD, mask, confounds) and a label atlas on its grid."""
    from rewire.simulate import bids_paths, simulate_run

    paths = bids_paths(str(tmp_path), "sub-01", "pre", 4)
    os.makedirs(os.path.dirname(paths["bold"]), exist_ok=True)
    simulate_run(paths["bold"], timepoints=40, tr=2.0, resolution=4, seed=5, mask_path=paths["mask"],
                 confounds_path=paths["confounds"])
    header = rewire.read_header(paths["bold"])
    labels = np.random.default_rng(3).integers(0, 5, tuple(header["shape"][:3])).astype(np.int16)
    paths["atlas"] = save(tmp_path / "atlas.nii.gz", labels, np.asarray(header["affine"]))
    return paths


def test_confounds_with_other_rows_than_volumes(fmriprep, tmp_path):
    confounds = pathlib.Path(fmriprep["confounds"])
    lines = confounds.read_text().splitlines(keepends=True)
    confounds.write_text("".join(lines[:-3]))  # 37 rows for 40 volumes
    result = run_cli("extract", fmriprep["bold"], "--atlas", fmriprep["atlas"], "-o", tmp_path / "out.tsv",
                     "--strategy", "simple")
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert confounds.name in line and "37 rows" in line and "40 volumes" in line, line


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_confound_named_by_column_and_row(fmriprep, value):
    confounds = pathlib.Path(fmriprep["confounds"])
    table = pd.read_csv(confounds, sep="\t")
    table.loc[7, "trans_x"] = float(value)
    table.to_csv(confounds, sep="\t", index=False, na_rep="n/a")
    pattern = (r"column 'trans_x' is n/a at frame 7" if value == "nan" else
               rf"column 'trans_x' is {value} at frame 7 \(0-based row of the table\)")
    check(ValueError, pattern, confounds, lambda: rewire.load_confounds(fmriprep["bold"], strategy="simple"))
