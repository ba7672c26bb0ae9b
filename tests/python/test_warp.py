"""Atlases warped through ANTs / ITK transform files (rewire.warp_atlas, Atlas.warp, `rewire warp-atlas`),
against SimpleITK (an independent build of ITK 5.4 from PyPI, its own transform readers and resampler)
and closed forms. Transforms are written by SimpleITK, except where rewire's writer is the subject, and
then read back by SimpleITK."""
from __future__ import annotations

import os

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from scipy.ndimage import map_coordinates

import rewire
from rewire import transforms
from conftest import AAL, require, run_cli

#: nibabel's RAS world and ITK's LPS world differ by the sign of x and y.
FLIP = np.array([-1.0, -1.0, 1.0])


def reference_grid(tmp_path, name="sub-01_space-T1w_boldref.nii.gz", voxel=3.0, shape=(56, 66, 56), tilt=0.12):
    """An oblique reference grid (a native-space boldref) over the MNI brain, written by nibabel."""
    c, s = np.cos(tilt), np.sin(tilt)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ np.array(
        [[1.0, 0.0, 0.0], [0.0, np.cos(tilt / 2), -np.sin(tilt / 2)], [0.0, np.sin(tilt / 2), np.cos(tilt / 2)]])
    affine = np.eye(4)
    affine[:3, :3] = rotation * voxel
    centre = np.array(shape) / 2.0 - 0.5
    affine[:3, 3] = np.array([0.0, -18.0, 10.0]) - affine[:3, :3] @ centre
    image = nib.Nifti1Image(np.zeros(shape, np.float32), affine)
    image.set_qform(affine, 1)
    image.set_sform(affine, 1)
    path = os.fspath(tmp_path / name)
    nib.save(image, path)
    return path


def sitk_affine(seed=0):
    rng = np.random.default_rng(seed)
    affine = sitk.AffineTransform(3)
    affine.SetMatrix(list((np.eye(3) + rng.normal(0, 0.03, (3, 3))).ravel()))
    affine.SetTranslation(list(rng.normal(0, 3.0, 3)))
    return affine


def sitk_field(seed=1, spacing=4.0):
    """A smooth displacement field (LPS mm) of a few mm over the MNI brain."""
    size = (50, 58, 48)
    x, y, z = np.meshgrid(*(np.arange(n) for n in size), indexing="ij")
    field = np.stack([3.0 * np.sin(x / 7.0 + seed), 2.5 * np.cos(y / 9.0), 2.0 * np.sin((x + z) / 11.0)], axis=-1)
    image = sitk.GetImageFromArray(np.transpose(field, (2, 1, 0, 3)).astype(np.float64), isVector=True)
    image.SetSpacing([spacing] * 3)
    image.SetOrigin([-100.0, -130.0, -80.0])
    return sitk.DisplacementFieldTransform(image)


def sitk_warp(atlas, reference, transform, interpolator=sitk.sitkNearestNeighbor):
    """SimpleITK's resampling of the atlas onto the reference, as (X, Y, Z) labels."""
    out = sitk.Resample(sitk.ReadImage(atlas), sitk.ReadImage(reference), transform, interpolator, 0)
    return np.transpose(sitk.GetArrayFromImage(out), (2, 1, 0)).astype(np.int64)


def near_boundary(atlas, reference, transform, tolerance_mm=1e-6):
    """Reference voxels whose sampling point lies within `tolerance_mm` of a boundary between atlas voxels
    (where round-off in two implementations may pick either neighbour)."""
    ref = sitk.ReadImage(reference)
    img = sitk.ReadImage(atlas)
    shape = ref.GetSize()
    flags = np.zeros(shape, bool)
    spacing = np.array(img.GetSpacing())
    for index in np.ndindex(*shape):
        point = transform.TransformPoint(ref.TransformIndexToPhysicalPoint(index))
        continuous = np.array(img.TransformPhysicalPointToContinuousIndex(point))
        distance = np.abs(continuous - np.floor(continuous) - 0.5) * spacing
        flags[index] = bool((distance < tolerance_mm).any())
    return flags


@pytest.fixture(scope="module")
def composite(tmp_path_factory):
    """An ANTs-style composite (affine, then a displacement field applied first), written by SimpleITK."""
    folder = tmp_path_factory.mktemp("xfm")
    transform = sitk.CompositeTransform([sitk_affine(), sitk_field()])
    path = os.fspath(folder / "sub-01_from-MNI152NLin2009cAsym_to-T1w_mode-image_xfm.h5")
    sitk.WriteTransform(transform, path)
    return path, transform


def test_composite_h5_labels_equal_simpleitk(tmp_path, composite):
    atlas = require(AAL)
    reference = reference_grid(tmp_path)
    path, transform = composite
    labels, affine = rewire.warp_atlas(atlas, reference, path)
    expected = sitk_warp(atlas, reference, transform)
    assert np.allclose(affine, nib.load(reference).affine)
    assert labels.dtype == np.int32 and labels.shape == expected.shape
    differ = labels != expected
    assert differ.sum() <= near_boundary(atlas, reference, transform)[differ].sum()
    # a real warp: most of the brain is labelled, with nearly every AAL region
    assert np.count_nonzero(labels) > 20000
    assert np.unique(labels[labels > 0]).size >= 110
    assert rewire.transforms.transform_kinds(path) == [
        "CompositeTransform_double_3_3", "AffineTransform_double_3_3", "DisplacementFieldTransform_double_3_3"]


@pytest.mark.parametrize("suffix", [".txt", ".tfm", ".mat"])
def test_affine_formats_equal_simpleitk(tmp_path, suffix):
    atlas = require(AAL)
    reference = reference_grid(tmp_path, shape=(30, 36, 30), voxel=5.0)
    affine = sitk_affine(seed=3)
    path = os.fspath(tmp_path / f"affine{suffix}")
    sitk.WriteTransform(affine, path)
    labels, _ = rewire.warp_atlas(atlas, reference, path)
    expected = sitk_warp(atlas, reference, affine)
    assert np.count_nonzero(labels) > 1000
    assert np.array_equal(labels, expected)


def test_inversion_conventions(tmp_path):
    """[file,1], invert=[True] and --invert all use the inverse, as SimpleITK's GetInverse()."""
    atlas = require(AAL)
    reference = reference_grid(tmp_path, shape=(30, 36, 30), voxel=5.0)
    affine = sitk_affine(seed=4)
    path = os.fspath(tmp_path / "affine.txt")
    sitk.WriteTransform(affine, path)
    expected = sitk_warp(atlas, reference, affine.GetInverse())
    bracket, _ = rewire.warp_atlas(atlas, reference, f"[{path},1]")
    flagged, _ = rewire.warp_atlas(atlas, reference, [path], invert=[True])
    forward, _ = rewire.warp_atlas(atlas, reference, [path])
    assert np.array_equal(bracket, expected) and np.array_equal(flagged, expected)
    assert np.mean(forward != expected) > 0.05  # the inverse is not the transform itself
    output = tmp_path / "cli.nii.gz"
    result = run_cli("warp-atlas", atlas, "--reference", reference, "--transform", path, "--invert", "-o", output)
    assert result.returncode == 0, result.stderr
    written = nib.load(output)
    assert written.get_data_dtype() == np.int16
    assert np.array_equal(np.asarray(written.dataobj), expected)
    assert np.allclose(written.affine, nib.load(reference).affine)


def test_order_conventions(tmp_path, composite):
    """Listed last-applied-first, as antsApplyTransforms and ITK's CompositeTransform: [A, B] maps a
    reference point p to A(B(p))."""
    atlas = require(AAL)
    reference = reference_grid(tmp_path, shape=(30, 36, 30), voxel=5.0)
    a, b = sitk_affine(seed=5), sitk_affine(seed=6)
    b.SetMatrix(list((np.array(b.GetMatrix()).reshape(3, 3) @ np.array([[0.9, 0.2, 0], [-0.2, 0.9, 0], [0, 0, 1.1]])).ravel()))
    paths = []
    for name, transform in (("a.txt", a), ("b.mat", b)):
        paths.append(os.fspath(tmp_path / name))
        sitk.WriteTransform(transform, paths[-1])
    labels, _ = rewire.warp_atlas(atlas, reference, paths)
    expected = sitk_warp(atlas, reference, sitk.CompositeTransform([a, b]))
    swapped = sitk_warp(atlas, reference, sitk.CompositeTransform([b, a]))
    assert np.array_equal(labels, expected)
    assert np.mean(labels != swapped) > 0.05
    points = np.array([[10.0, -20.0, 30.0], [-40.0, 5.0, -12.0]])
    mapped = transforms.map_points(paths, points)
    for point, ours in zip(points, mapped):
        theirs = FLIP * np.array(a.TransformPoint(b.TransformPoint(tuple(FLIP * point))))
        assert np.allclose(ours, theirs, atol=1e-9)


def test_label_gaussian_equals_simpleitk(tmp_path):
    """ITK's label-Gaussian interpolator; SimpleITK's sitkLabelGaussian uses sigma = the atlas' spacing
    and alpha = 1 (ANTs' MultiLabel, rewire's default, cuts off at 4 sigmas)."""
    atlas = require(AAL)
    reference = reference_grid(tmp_path, shape=(30, 36, 30), voxel=5.0)
    affine = sitk_affine(seed=7)
    path = os.fspath(tmp_path / "affine.txt")
    sitk.WriteTransform(affine, path)
    labels, _ = rewire.warp_atlas(atlas, reference, path, interpolation="label_gaussian", alpha=1.0)
    assert np.array_equal(labels, sitk_warp(atlas, reference, affine, sitk.sitkLabelGaussian))
    default, _ = rewire.warp_atlas(atlas, reference, path, interpolation="label_gaussian")
    assert np.mean(default == labels) > 0.9  # a wider kernel, the same regions


def test_written_transforms_read_by_simpleitk(tmp_path):
    """rewire's writer: p -> A (p + d(p)) in RAS mm, d trilinear on its grid; SimpleITK reads the file and
    maps points as the closed form (scipy's trilinear interpolation of d) says, in double and float32."""
    rng = np.random.default_rng(8)
    affine = np.eye(4)
    affine[:3, :3] += rng.normal(0, 0.05, (3, 3))
    affine[:3, 3] = rng.normal(0, 4, 3)
    field = rng.normal(0, 2.0, (12, 14, 10, 3))
    field_affine = np.diag([5.0, 5.0, 5.0, 1.0])
    field_affine[:3, 3] = [-30.0, -35.0, -25.0]
    points = rng.uniform([-25, -30, -20], [20, 25, 15], (20, 3))
    ijk = (np.linalg.inv(field_affine) @ np.c_[points, np.ones(len(points))].T)[:3]
    displacement = np.stack([map_coordinates(field[..., c], ijk, order=1) for c in range(3)], axis=1)
    closed_form = (affine @ np.c_[points + displacement, np.ones(len(points))].T)[:3].T
    for single, tolerance in ((False, 1e-9), (True, 1e-4)):
        path = os.fspath(tmp_path / f"w{int(single)}.h5")
        transforms.write_transform(path, affine, field, field_affine, single_precision=single)
        theirs = sitk.ReadTransform(path)
        for point, expected in zip(points, closed_form):
            assert np.allclose(FLIP * np.array(theirs.TransformPoint(tuple(FLIP * point))), expected, atol=tolerance)
        assert np.allclose(transforms.map_points(path, points), closed_form, atol=tolerance)
    text = os.fspath(tmp_path / "affine.txt")
    transforms.write_transform(text, affine)
    assert np.allclose(transforms.map_points(text, points), (affine @ np.c_[points, np.ones(20)].T)[:3].T, atol=1e-9)
    assert [name for name in os.listdir(tmp_path) if "part" in name] == []


def test_atlas_warp_keeps_columns(tmp_path, composite):
    """Atlas.warp: the same values and names in the same order; extraction on the reference grid gives the
    mean of each warped region (numpy on the warped labels)."""
    atlas = require(AAL)
    path, _ = composite
    reference = reference_grid(tmp_path, shape=(40, 48, 40), voxel=4.0)
    template = rewire.Atlas.from_file(atlas)
    warped = template.warp(reference, path)
    assert np.array_equal(warped.values, template.values) and warped.names == template.names
    labels, affine = rewire.warp_atlas(atlas, reference, path)
    rng = np.random.default_rng(9)
    data = rng.normal(100, 5, labels.shape + (6,)).astype(np.float32)
    bold = tmp_path / "bold.nii.gz"
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, bold)
    signals = rewire.extract(bold, warped, threads=1)
    for column, value in enumerate(warped.values):
        voxels = labels == value
        if voxels.any():
            assert np.allclose(signals[:, column], data[voxels].astype(np.float64).mean(axis=0), rtol=1e-12)
        else:
            assert np.isnan(signals[:, column]).all()


# Bad input: every error names the file and the problem.

def test_not_a_transform(tmp_path):
    atlas = require(AAL)
    reference = reference_grid(tmp_path, shape=(10, 10, 10), voxel=8.0)
    fake = tmp_path / "fake.h5"
    fake.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not a transform\n")
    for path in (fake, garbage, tmp_path / "image.h5"):
        if path.name == "image.h5":
            nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.int16), np.eye(4)), tmp_path / "image.nii")
            os.rename(tmp_path / "image.nii", path)
        with pytest.raises(ValueError, match=str(path).replace(".", r"\.") + ".*transform"):
            rewire.warp_atlas(atlas, reference, path)
    with pytest.raises(OSError, match="missing.h5: transform file does not exist"):
        rewire.warp_atlas(atlas, reference, tmp_path / "missing.h5")


def test_chain_spaces_must_connect(tmp_path):
    atlas = require(AAL)
    reference = reference_grid(tmp_path, shape=(10, 10, 10), voxel=8.0)
    first = os.fspath(tmp_path / "sub-01_from-MNI152NLin2009cAsym_to-T1w_mode-image_xfm.txt")
    second = os.fspath(tmp_path / "sub-01_from-boldref_to-T1w_mode-image_desc-coreg_xfm.txt")
    for path in (first, second):
        sitk.WriteTransform(sitk.AffineTransform(3), path)
    with pytest.raises(ValueError, match="do not connect.*from-boldref_to-T1w.*starts from boldref"):
        rewire.warp_atlas(atlas, reference, [first, second])
    # inverted, the coreg goes T1w -> boldref and the chain connects (a boldref names no space)
    boldref = reference_grid(tmp_path, name="sub-01_task-rest_boldref.nii.gz", shape=(10, 10, 10), voxel=8.0)
    labels, _ = rewire.warp_atlas(atlas, boldref, [first, second], invert=[False, True])
    assert np.count_nonzero(labels) > 0
    tpl = tmp_path / "tpl-MNI152NLin6Asym_atlas-AAL_dseg.nii.gz"
    nib.save(nib.load(atlas), tpl)
    with pytest.raises(ValueError, match="atlas is in MNI152NLin6Asym.*starts from MNI152NLin2009cAsym"):
        rewire.warp_atlas(tpl, reference, first)
    with pytest.raises(ValueError, match="reference is in T1w.*ends in boldref"):
        rewire.warp_atlas(atlas, reference, f"[{second},1]")
    with pytest.raises(ValueError, match="invert: 1 flag"):
        rewire.warp_atlas(atlas, reference, [first, second], invert=[True])


def test_no_overlap_and_no_inverse(tmp_path, composite):
    atlas = require(AAL)
    reference = reference_grid(tmp_path, name="reference.nii.gz", shape=(10, 10, 10), voxel=8.0)
    far = sitk.TranslationTransform(3, (1000.0, 0.0, 0.0))
    path = os.fspath(tmp_path / "far.txt")
    sitk.WriteTransform(far, path)
    with pytest.raises(ValueError, match="aal.nii.gz: no voxel of the reference grid receives a label.*far.txt"):
        rewire.warp_atlas(atlas, reference, path)
    h5, _ = composite
    with pytest.raises(ValueError, match="xfm.h5: cannot be inverted.*DisplacementFieldTransform"):
        rewire.warp_atlas(atlas, reference, h5, invert=[True])
    result = run_cli("warp-atlas", atlas, "--reference", reference, "--transform", path, "-o", tmp_path / "o.nii.gz")
    assert result.returncode == 1 and "no voxel of the reference grid" in result.stderr
    assert not (tmp_path / "o.nii.gz").exists()
    with pytest.raises(ValueError, match="only label atlases can be warped"):
        rewire.Atlas.from_spheres([[0, 0, 0]], 5.0).warp(reference, path)
