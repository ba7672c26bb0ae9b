"""Bad input gives a clear Python exception that names the file and the problem, never a crash or a
hang: both when reading a whole image and when extracting (where a thread inflates the volumes)."""
import gzip
import io
import os
import pathlib
import re

import nibabel as nib
import numpy as np
import pytest

import rewire
from conftest import grid_affine, save


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
