"""3D images through ITK (rewire.load_image3d, and atlases and masks in every format): values and affines
against nibabel (NIfTI, Analyze values) and SimpleITK (NRRD, MetaImage, Analyze geometry); resampling
from any format against nilearn."""
import os

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from nilearn.image import resample_img
from scipy.spatial.transform import Rotation

import rewire
from conftest import MRICRON, grid_affine, nilearn_quiet, require, save, write_nifti

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def sitk_ras_affine(image):
    """Affine in nibabel's RAS world of a SimpleITK image's (LPS) geometry, first three axes."""
    n = image.GetDimension()
    direction = np.asarray(image.GetDirection()).reshape(n, n)[:3, :3]
    affine = np.eye(4)
    affine[:3, :3] = LPS_TO_RAS @ direction @ np.diag(image.GetSpacing()[:3])
    affine[:3, 3] = LPS_TO_RAS @ np.asarray(image.GetOrigin()[:3])
    return affine


def write_sitk(path, data_xyz, direction, spacing, origin, compress=False):
    """`data_xyz` (X, Y, Z[, T]) written by SimpleITK with the given LPS geometry; returns the path."""
    image = sitk.GetImageFromArray(np.ascontiguousarray(data_xyz.T), isVector=False)
    if data_xyz.ndim == 4:
        d4 = np.eye(4)
        d4[:3, :3] = direction
        image.SetDirection(tuple(d4.ravel()))
        image.SetSpacing(tuple(spacing) + (1.0,))
        image.SetOrigin(tuple(origin) + (0.0,))
    else:
        image.SetDirection(tuple(np.asarray(direction).ravel()))
        image.SetSpacing(tuple(spacing))
        image.SetOrigin(tuple(origin))
    sitk.WriteImage(image, os.fspath(path), compress)
    return os.fspath(path)


OBLIQUE = Rotation.from_rotvec([0.1, -0.25, 0.2]).as_matrix()


@pytest.mark.parametrize("name", ["aal.nii.gz", "AICHAmc.nii.gz", "HarvardOxford-cort-maxprob-thr0-1mm.nii.gz",
                                  "JHU-WhiteMatter-labels-2mm.nii.gz"])
def test_mricron_atlases_equal_nibabel(name):
    path = require(f"{MRICRON}/{name}")
    data, affine = rewire.load_image3d(path)
    reference = nib.load(path)
    assert data.shape == reference.shape
    assert np.array_equal(data, reference.get_fdata())
    assert np.array_equal(affine, reference.affine)


def test_scaled_and_byte_swapped_nifti_equal_nibabel(tmp_path, rng):
    """scl_slope / scl_inter applied in double as nibabel does (ITK alone would round to float32)."""
    stored = rng.integers(-30000, 30000, (6, 5, 4)).astype(np.int16)
    path = write_nifti(tmp_path / "scaled.nii.gz", stored, grid_affine(), slope=0.1, inter=-7.3, endian=">")
    data, affine = rewire.load_image3d(path)
    reference = nib.load(path)
    assert np.array_equal(data, reference.get_fdata())
    assert np.array_equal(affine, reference.affine)


def test_float_nifti_keeps_nan_and_inf_as_nibabel(tmp_path, rng):
    """ITK's NIfTI library would turn NaN and ±inf into 0; rewire keeps nibabel's values (a map with
    NaN is then refused as a probabilistic atlas, as before)."""
    maps = rng.random((6, 5, 4, 2)).astype(np.float32)
    maps[0, 0, 0, 0], maps[1, 0, 0, 0], maps[2, 0, 0, 1] = np.nan, np.inf, -np.inf
    path = save(tmp_path / "maps.nii.gz", maps, grid_affine())
    data, _ = rewire.load_image3d(path)
    assert np.array_equal(data, nib.load(path).get_fdata(), equal_nan=True)
    with pytest.raises(ValueError, match="NaN or infinite"):
        rewire.Atlas.from_maps(path)


def test_sform_preferred_to_a_different_qform(tmp_path, rng):
    """nibabel's rule: the sform when its code is set, although ITK 5.2 would take the qform (10 mm away)."""
    labels = rng.integers(0, 5, (6, 5, 4)).astype(np.uint8)
    image = nib.Nifti1Image(labels, grid_affine())
    shifted = grid_affine(origin=(-8.0, -15.0, -12.0))
    image.set_qform(shifted, code=1)
    image.set_sform(grid_affine(), code=2)
    path = os.fspath(tmp_path / "two_transforms.nii.gz")
    nib.save(image, path)
    assert nib.load(path).header.get_qform()[0, 3] == -8.0  # the file holds both transforms
    data, affine = rewire.load_image3d(path)
    assert np.array_equal(affine, nib.load(path).affine)
    assert np.array_equal(data, labels)


def test_sheared_sform_without_qform(tmp_path, rng):
    """Debian's ITK 5.2 refuses it (no direction cosines); nibabel reads it, and so does rewire."""
    sheared = np.array([[2.0, 0.3, 0.0, -10.0], [0.0, 2.0, 0.4, -12.0], [0.1, 0.0, 2.0, -8.0], [0, 0, 0, 1]])
    labels = rng.integers(0, 5, (6, 5, 4)).astype(np.int16)
    path = write_nifti(tmp_path / "sheared.nii", labels, sheared, qform_code=0)
    data, affine = rewire.load_image3d(path)
    assert np.array_equal(data, nib.load(path).get_fdata())
    assert np.allclose(affine, nib.load(path).affine, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name, dtype, compress", [("labels.nrrd", np.int16, True), ("labels.nhdr", np.uint16, False),
                                                   ("labels.mha", np.uint8, True), ("labels.mhd", np.int32, False),
                                                   ("weights.nrrd", np.float32, False), ("weights.mha", np.float64, True)])
def test_nrrd_and_metaimage_written_by_simpleitk(tmp_path, rng, name, dtype, compress):
    if np.issubdtype(dtype, np.integer):
        data = rng.integers(0, 200, (7, 6, 5)).astype(dtype)
    else:
        data = rng.random((7, 6, 5)).astype(dtype)
    spacing, origin = (1.5, 2.25, 3.0), (-40.5, 61.25, -17.75)
    path = write_sitk(tmp_path / name, data, OBLIQUE, spacing, origin, compress)
    got, affine = rewire.load_image3d(path)
    assert got.shape == data.shape and np.array_equal(got, data.astype(np.float64))
    expected = np.eye(4)
    expected[:3, :3] = LPS_TO_RAS @ OBLIQUE @ np.diag(spacing)
    expected[:3, 3] = LPS_TO_RAS @ np.asarray(origin)
    assert np.allclose(affine, expected, rtol=0, atol=1e-9)
    assert np.allclose(affine, sitk_ras_affine(sitk.ReadImage(path)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["maps.nrrd", "maps.mha"])
def test_4d_stacks_of_3d_volumes(tmp_path, rng, name):
    maps = rng.random((7, 6, 5, 3))
    path = write_sitk(tmp_path / name, maps, OBLIQUE, (2.0, 2.0, 2.0), (1.0, 2.0, 3.0))
    got, affine = rewire.load_image3d(path)
    assert got.shape == maps.shape and np.array_equal(got, maps)
    assert np.allclose(affine, sitk_ras_affine(sitk.ReadImage(path)), rtol=0, atol=1e-12)
    atlas = rewire.Atlas.from_maps(path)
    assert atlas.kind == "maps" and len(atlas) == 3


@pytest.mark.parametrize("data", [np.arange(7 * 6 * 5).reshape(7, 6, 5).astype(np.int16) % 50,
                                  np.linspace(0, 1, 7 * 6 * 5).reshape(7, 6, 5).astype(np.float32)],
                         ids=["int16", "float32"])
def test_analyze_written_by_nibabel(tmp_path, data):
    """Values as nibabel reads them; geometry as ITK reads Analyze 7.5 (SimpleITK's reading)."""
    affine = np.diag([2.0, 2.5, 3.0, 1.0])
    affine[:3, 3] = [-10.0, -20.0, 5.0]
    path = os.fspath(tmp_path / "analyze.hdr")
    nib.save(nib.AnalyzeImage(data, affine), path)
    assert os.path.exists(tmp_path / "analyze.img")
    got, got_affine = rewire.load_image3d(path)
    assert np.array_equal(got, nib.load(path).get_fdata())
    assert np.allclose(got_affine, sitk_ras_affine(sitk.ReadImage(path)), rtol=0, atol=1e-9)


def test_atlas_in_nrrd_resamples_as_nilearn_does_its_nifti_twin(tmp_path, rng):
    """The same labels and geometry as NRRD (read by ITK) and as NIfTI (read by nilearn): rewire's labels on
    a BOLD grid from the NRRD equal nilearn's resampling of the NIfTI."""
    labels = rng.integers(0, 9, (14, 13, 12)).astype(np.int16)
    spacing, origin = (2.0, 1.5, 2.5), (30.0, 20.0, -15.0)
    nrrd = write_sitk(tmp_path / "atlas.nrrd", labels, OBLIQUE, spacing, origin)
    _, affine = rewire.load_image3d(nrrd)
    twin = save(tmp_path / "atlas.nii.gz", labels, affine)
    shape, grid = (10, 9, 8), np.diag([3.0, 3.0, 3.0, 1.0])
    centre = affine[:3, :3] @ (np.array(labels.shape) - 1) / 2 + affine[:3, 3]
    grid[:3, 3] = centre - 3.0 * (np.array(shape) - 1) / 2 + rng.uniform(-1, 1, 3)
    got = rewire.Atlas.from_file(nrrd)._core.labels_on_grid(list(shape), grid)
    with nilearn_quiet():
        expected = resample_img(twin, target_affine=grid, target_shape=shape, interpolation="nearest",
                                force_resample=True, copy_header=True).get_fdata()
    assert (expected != 0).sum() > 50
    assert np.array_equal(got, expected)


def test_mask_in_metaimage_equals_mask_in_nifti(tmp_path, rng):
    """A brain mask given as .mha restricts extraction exactly as the same mask as .nii.gz."""
    affine = grid_affine()
    bold = save(tmp_path / "bold.nii.gz", rng.normal(100, 5, (6, 5, 4, 8)), affine)
    atlas = save(tmp_path / "atlas.nii.gz", rng.integers(1, 4, (6, 5, 4)).astype(np.int16), affine)
    mask = (rng.random((6, 5, 4)) > 0.3).astype(np.uint8)
    nifti_mask = save(tmp_path / "mask.nii.gz", mask, affine)
    # The same grid in ITK's terms: RAS → LPS.
    mha_mask = write_sitk(tmp_path / "mask.mha", mask, np.diag([-1.0, -1.0, 1.0]) @ np.eye(3), (3.0, 3.0, 3.0),
                          LPS_TO_RAS @ affine[:3, 3])
    assert np.array_equal(rewire.load_image3d(mha_mask)[1], affine)
    assert np.array_equal(rewire.extract(bold, atlas, mha_mask), rewire.extract(bold, atlas, nifti_mask), equal_nan=True)


def test_nii_beside_nii_gz_is_refused(tmp_path):
    """ITK 5.2 would read the header of one file and the voxels of the other."""
    save(tmp_path / "x.nii", np.ones((4, 4, 4), np.int16), np.eye(4))
    packed = save(tmp_path / "x.nii.gz", np.full((4, 4, 4), 2, np.int16), np.diag([2.0, 2.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"x\.nii\.gz: .*x\.nii exists beside it.*Remove or rename one"):
        rewire.load_image3d(packed)
    with pytest.raises(ValueError, match="Remove or rename one"):
        rewire.Atlas.from_file(packed)
    os.remove(tmp_path / "x.nii")
    assert np.array_equal(rewire.load_image3d(packed)[0], np.full((4, 4, 4), 2.0))


def test_unknown_format_is_refused(tmp_path):
    path = tmp_path / "atlas.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match=r"atlas\.png: unknown image format"):
        rewire.Atlas.from_file(path)
