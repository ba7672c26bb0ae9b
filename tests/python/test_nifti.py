"""Reading NIfTI: voxel values, affine and TR equal nibabel's; rewire's writer round-trips through
nibabel."""
import gzip
import os
import pathlib

import nibabel as nib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import rewire
from rewire import _core
from conftest import MRICRON, NIBABEL_DATA, NITIME_DATA, require, write_nifti

REAL_FILES = [
    f"{NITIME_DATA}/fmri1.nii.gz",
    f"{NITIME_DATA}/fmri2.nii.gz",
    f"{NIBABEL_DATA}/example4d.nii.gz",
    f"{NIBABEL_DATA}/example_nifti2.nii.gz",
    f"{NIBABEL_DATA}/functional.nii",
    f"{NIBABEL_DATA}/anatomical.nii",  # big-endian int16
    f"{NIBABEL_DATA}/standard.nii.gz",
    f"{NIBABEL_DATA}/reoriented_anat_moved.nii",
    f"{NIBABEL_DATA}/resampled_anat_moved.nii",  # big-endian float32 with NaN
    f"{MRICRON}/aal.nii.gz",
    f"{MRICRON}/AICHAmc.nii.gz",
    f"{MRICRON}/HarvardOxford-cort-maxprob-thr0-1mm.nii.gz",
]


@pytest.mark.parametrize("path", REAL_FILES, ids=os.path.basename)
def test_real_files_equal_nibabel(path):
    img = nib.load(require(path))
    expected = img.get_fdata()
    got = rewire.load_data(path)
    assert got.dtype == np.float64
    assert got.shape == expected.shape
    # Same float64 values bit for bit; NaN only where nibabel has NaN.
    assert np.array_equal(got, expected, equal_nan=True)
    header = rewire.read_header(path)
    assert np.array_equal(header["affine"], img.affine)
    assert tuple(header["shape"]) == img.shape
    if img.ndim == 4:
        assert header["tr"] == pytest.approx(float(img.header.get_zooms()[3]), rel=1e-7)


def test_six_dimensional_cifti_is_refused():
    path = require(f"{NIBABEL_DATA}/row_major.dconn.nii")
    with pytest.raises(ValueError, match=r"row_major\.dconn\.nii.*dim\[5\].*3D and 4D"):
        rewire.load_data(path)


DTYPES = ["uint8", "int8", "int16", "uint16", "int32", "uint32", "float32", "float64"]


def stored_values(dtype, shape, rng):
    """Values of `dtype` that include the extremes of integer types and negative floats."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
        values.flat[0], values.flat[1] = info.min, info.max
        return values
    return (rng.standard_normal(shape) * 1000.0).astype(dtype)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("scaling", [None, (0.37, -12.5)], ids=["raw", "scaled"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_datatypes_equal_nibabel(tmp_path, rng, dtype, scaling, endian, version):
    slope, inter = scaling or (None, None)
    affine = np.array([[-2.0, 0, 0, 90], [0, 2.5, 0, -126], [0, 0, 3.0, -72], [0, 0, 0, 1]])
    for shape in [(5, 4, 3), (5, 4, 3, 6)]:
        for suffix in [".nii", ".nii.gz"]:
            path = write_nifti(tmp_path / f"img{len(shape)}d{suffix}", stored_values(dtype, shape, rng), affine,
                               slope=slope, inter=inter, endian=endian, version=version, tr=2.0)
            img = nib.load(path)
            assert img.header.get_data_dtype() == np.dtype(dtype).newbyteorder(endian)
            expected = img.get_fdata()
            got = rewire.load_data(path)
            assert got.shape == expected.shape
            assert np.array_equal(got, expected), f"{path}: values differ from nibabel"
            header = rewire.read_header(path)
            assert header["version"] == version
            assert header["datatype"] == dtype
            assert np.array_equal(header["affine"], img.affine)
            if scaling:
                # The file carries the float32 (NIfTI-1) or float64 (NIfTI-2) slope.
                assert header["scl_slope"] == float(img.dataobj.slope)
                assert header["scl_inter"] == float(img.dataobj.inter)
                assert header["scl_slope"] == pytest.approx(slope, rel=1e-7)


def test_scaling_changes_values(tmp_path):
    """Guards the scaled cases above: with a slope they really differ from the stored integers."""
    stored = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    path = write_nifti(tmp_path / "scaled.nii", stored, slope=0.5, inter=10.0)
    assert np.array_equal(rewire.load_data(path), stored * 0.5 + 10.0)


def test_slope_zero_means_unscaled(tmp_path):
    stored = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    path = write_nifti(tmp_path / "zero.nii", stored, slope=0.0, inter=5.0)
    assert np.array_equal(rewire.load_data(path), nib.load(path).get_fdata())
    assert np.array_equal(rewire.load_data(path), stored.astype(np.float64))


def random_rotation(seed):
    return Rotation.random(random_state=seed).as_matrix()


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("flip", [False, True], ids=["qfac+1", "qfac-1"])
def test_qform_only_affine(tmp_path, version, flip):
    zooms = np.diag([2.0, 2.5, 3.0 * (-1.0 if flip else 1.0)])
    affine = np.eye(4)
    affine[:3, :3] = random_rotation(7) @ zooms  # oblique; a negative determinant needs qfac = -1
    affine[:3, 3] = [-91.5, 12.25, 40.0]
    path = write_nifti(tmp_path / "qform.nii", np.zeros((4, 5, 6), np.float32), affine,
                       version=version, sform_code=0, qform_code=1)
    img = nib.load(path)
    assert img.header["sform_code"] == 0 and img.header["qform_code"] == 1
    if version == 1:
        assert float(img.header["pixdim"][0]) == (-1.0 if flip else 1.0)
    header = rewire.read_header(path)
    # nibabel rebuilds the rotation from the stored quaternion in float32 for NIfTI-1.
    np.testing.assert_allclose(header["affine"], img.affine, rtol=0, atol=1e-6)
    np.testing.assert_allclose(header["affine"], affine, rtol=0, atol=1e-5)


def test_sform_wins_over_qform(tmp_path):
    sform = np.array([[1.5, 0.1, 0, -10], [0.05, 1.5, 0, -20], [0, 0, 2.0, -30], [0, 0, 0, 1]])
    path = write_nifti(tmp_path / "both.nii", np.zeros((4, 5, 6), np.uint8), sform, sform_code=4,
                       qform_code=0)
    header = nib.load(path).header
    header.set_qform(np.diag([3.0, 3.0, 3.0, 1.0]), code=1)  # a different qform in the same file
    raw = np.zeros((4, 5, 6), np.uint8)
    with open(path, "wb") as out:
        header.write_to(out)
        out.write(raw.tobytes())
    img = nib.load(path)
    assert img.header["qform_code"] == 1 and img.header["sform_code"] == 4
    assert np.array_equal(rewire.read_header(path)["affine"], img.affine)
    assert not np.allclose(img.affine, img.header.get_qform())


@pytest.mark.parametrize("version", [1, 2])
def test_no_transform_code_uses_nibabel_fallback(tmp_path, version):
    path = write_nifti(tmp_path / "bare.nii", np.zeros((7, 6, 5), np.int16), np.diag([2.0, 3.0, 4.0, 1.0]),
                       version=version, sform_code=0, qform_code=0)
    img = nib.load(path)
    assert img.header["sform_code"] == 0 and img.header["qform_code"] == 0
    affine = rewire.read_header(path)["affine"]
    assert np.array_equal(affine, img.affine)
    # nibabel's shape_zoom_affine: x flipped, centred on the middle voxel.
    assert np.array_equal(affine, [[-2, 0, 0, 6], [0, 3, 0, -7.5], [0, 0, 4, -8], [0, 0, 0, 1]])


@pytest.mark.parametrize("unit, pixdim4, seconds", [("sec", 2.5, 2.5), ("msec", 1500.0, 1.5),
                                                     ("usec", 800000.0, 0.8)])
def test_tr_in_seconds(tmp_path, unit, pixdim4, seconds):
    path = write_nifti(tmp_path / "t.nii.gz", np.zeros((3, 3, 3, 4), np.float32), tr=pixdim4, time_unit=unit)
    img = nib.load(path)
    assert img.header.get_xyzt_units()[1] == unit
    assert float(img.header.get_zooms()[3]) == pixdim4
    assert rewire.read_header(path)["tr"] == pytest.approx(seconds, rel=1e-12)


def test_tr_of_3d_image_is_zero(tmp_path):
    path = write_nifti(tmp_path / "three.nii", np.zeros((3, 3, 3), np.float32))
    assert rewire.read_header(path)["tr"] == 0.0


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("dtype, slope, inter", [("float32", 1.0, 0.0), ("float64", 1.0, 0.0),
                                                 ("int16", 1.0, 0.0), ("int16", 0.37, -12.5),
                                                 ("uint8", 2.0, 0.0)])
def test_writer_round_trip(tmp_path, rng, suffix, dtype, slope, inter):
    shape = (6, 5, 4, 3)
    affine = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    low, high = (0.0, 400.0) if dtype == "uint8" else (-300.0, 300.0)
    values = rng.uniform(low, high, shape)
    path = os.fspath(tmp_path / f"written{suffix}")
    writer = _core.NiftiWriter(path, list(shape), affine, 1.25,
                               _core.NiftiWriteOptions(datatype=dtype, scl_slope=slope, scl_inter=inter))
    for t in range(shape[3]):
        writer.write(values[..., t])
    assert not os.path.exists(path)  # appears only when complete
    writer.close()
    img = nib.load(path)
    assert img.header.get_data_dtype() == np.dtype(dtype)
    assert np.array_equal(img.affine, affine)
    assert float(img.header.get_zooms()[3]) == 1.25
    assert img.header.get_xyzt_units() == ("mm", "sec")
    read = img.get_fdata()
    if dtype.startswith("float"):
        assert np.array_equal(read, values.astype(dtype).astype(np.float64))
    else:
        # The stored integer is the nearest one under the slope and intercept the file carries.
        file_slope, file_inter = (float(np.float32(slope)), float(np.float32(inter)))
        expected = np.rint((values - file_inter) / file_slope) * file_slope + file_inter
        np.testing.assert_allclose(read, expected, rtol=0, atol=1e-9)
        assert np.abs(read - values).max() <= file_slope / 2 + 1e-9
    assert np.array_equal(rewire.load_data(path), read)
    assert rewire.read_header(path)["tr"] == 1.25


def test_writer_rounds_with_the_slope_stored_in_the_file(tmp_path):
    """A value half-way between two stored integers under the double slope 0.37, but not under the
    float32 slope the header keeps: the writer must round with the latter."""
    slope32 = float(np.float32(0.37))
    values = np.full((2, 2, 2), 100.5 * (0.37 + slope32) / 2)
    path = os.fspath(tmp_path / "tie.nii")
    writer = _core.NiftiWriter(path, [2, 2, 2], np.eye(4), 0.0, _core.NiftiWriteOptions(datatype="int16", scl_slope=0.37))
    writer.write(values)
    writer.close()
    stored = np.asarray(nib.load(path).dataobj.get_unscaled())
    assert np.array_equal(stored, np.rint(values / slope32))


def test_writer_is_deterministic_and_gzip(tmp_path, rng):
    values = rng.normal(size=(4, 4, 4))
    paths = [os.fspath(tmp_path / f"{name}.nii.gz") for name in ("a", "b")]
    for path in paths:
        writer = _core.NiftiWriter(path, [4, 4, 4], np.eye(4))
        writer.write(values)
        writer.close()
    first, second = (pathlib.Path(path).read_bytes() for path in paths)
    assert first == second
    assert gzip.decompress(first)[344:348] == b"n+1\0"


def test_writer_refuses_unfinished_file(tmp_path):
    path = os.fspath(tmp_path / "short.nii")
    writer = _core.NiftiWriter(path, [2, 2, 2, 3], np.eye(4), 2.0)
    writer.write(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"short\.nii.*1 of 3 volumes"):
        writer.close()
    del writer
    assert not os.path.exists(path)
    assert not list(tmp_path.iterdir())  # nor its temporary


def test_writer_integer_overflow(tmp_path):
    path = os.fspath(tmp_path / "over.nii")
    writer = _core.NiftiWriter(path, [2, 2, 2], np.eye(4), 0.0, _core.NiftiWriteOptions(datatype="uint8"))
    with pytest.raises(ValueError, match=r"over\.nii.*does not fit"):
        writer.write(np.full((2, 2, 2), 300.0))
