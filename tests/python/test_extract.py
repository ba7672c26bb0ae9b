"""rewire.extract against a direct numpy reference (nibabel data + np.bincount, 1e-12 relative) and
against nilearn's maskers (1e-6 relative, nilearn's documented agreement)."""
import nibabel as nib
import numpy as np
import pytest
from nilearn.image import resample_to_img
from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker, NiftiSpheresMasker

import rewire
from conftest import (MRICRON, grid_affine, max_relative, nilearn_quiet, parcel_means, require, save,
                      write_nifti)

NUMPY_RTOL = 1e-12
NILEARN_RTOL = 1e-6


def nilearn_labels(bold, atlas, mask=None):
    with nilearn_quiet():
        masker = NiftiLabelsMasker(labels_img=atlas, mask_img=mask, standardize=None, reports=False)
        return masker.fit_transform(bold)


def resampled_labels(atlas, bold):
    """The atlas on the BOLD grid by nilearn's nearest-neighbour resampling (an independent one)."""
    with nilearn_quiet():
        return resample_to_img(atlas, bold, interpolation="nearest", force_resample=True,
                               copy_header=True).get_fdata()


def test_labels_same_grid(bold_and_labels):
    bold, atlas, data, labels, _ = bold_and_labels
    signals, coverage = rewire.extract(bold, atlas, return_coverage=True)
    expected, expected_coverage = parcel_means(data, labels, [1, 2, 3, 4, 5])
    assert signals.shape == (16, 5)
    assert max_relative(signals, expected) <= NUMPY_RTOL
    assert np.array_equal(coverage, expected_coverage)
    assert np.array_equal(coverage, np.ones(5))
    assert max_relative(signals, nilearn_labels(bold, atlas)) <= NILEARN_RTOL


def test_scaled_int16_big_endian_bold(tmp_path, rng, bold_and_labels):
    """Voxels stay int16 until reduced: the scaling is applied per voxel as nibabel does."""
    _, atlas, _, labels, affine = bold_and_labels
    stored = rng.integers(-2000, 2000, labels.shape + (12,)).astype(np.int16)
    bold = write_nifti(tmp_path / "scaled.nii.gz", stored, affine, slope=0.37, inter=-12.5, endian=">", tr=2.0)
    data = nib.load(bold).get_fdata()
    signals = rewire.extract(bold, atlas)
    assert max_relative(signals, parcel_means(data, labels, [1, 2, 3, 4, 5])[0]) <= NUMPY_RTOL
    assert max_relative(signals, nilearn_labels(bold, atlas)) <= NILEARN_RTOL


def test_nan_voxels_left_out(tmp_path, rng, bold_and_labels):
    _, atlas, data, labels, affine = bold_and_labels
    data = data.copy()
    region_two = np.argwhere(labels == 2)
    # Three voxels of region 2 are NaN in some volumes, one voxel of region 4 is +inf in one volume,
    # and every voxel of region 5 is NaN in volume 3.
    for voxel, volumes in zip(region_two[:3], ([0], [0, 5], range(16))):
        data[tuple(voxel) + (list(volumes),)] = np.nan
    data[tuple(np.argwhere(labels == 4)[0]) + (7,)] = np.inf
    data[labels == 5, 3] = np.nan
    bold = save(tmp_path / "nan.nii.gz", data, affine)
    signals, coverage = rewire.extract(bold, atlas, return_coverage=True)
    expected, expected_coverage = parcel_means(data, labels, [1, 2, 3, 4, 5])
    assert np.isnan(expected[3, 4]) and np.isfinite(expected[4, 4])
    assert max_relative(signals, expected) <= NUMPY_RTOL
    np.testing.assert_allclose(coverage, expected_coverage, rtol=0, atol=1e-15)
    assert coverage[1] == pytest.approx(((labels == 2).sum() - 3) / (labels == 2).sum())
    assert coverage[3] == pytest.approx(((labels == 4).sum() - 1) / (labels == 4).sum())
    assert coverage[4] == 0.0 and coverage[0] == 1.0


def test_empty_regions(tmp_path, bold_and_labels):
    """A label listed in the table but absent from the image, and a region entirely outside the
    mask, are NaN columns with coverage 0; the other columns are unchanged."""
    bold, atlas, data, labels, affine = bold_and_labels
    table = tmp_path / "atlas.txt"
    table.write_text("1 one\n2 two\n3 three\n4 four\n5 five\n9 nine\n")
    mask = (labels != 3).astype(np.uint8)
    mask_path = save(tmp_path / "mask.nii.gz", mask, affine)
    got = rewire.Atlas.from_file(atlas, table)
    assert list(got.values) == [1, 2, 3, 4, 5, 9]
    signals, coverage = rewire.extract(bold, got, mask_path, return_coverage=True)
    expected, expected_coverage = parcel_means(data, labels, [1, 2, 3, 4, 5, 9], mask=mask)
    assert signals.shape == (16, 6)
    assert np.isnan(signals[:, [2, 5]]).all()
    assert max_relative(signals, expected) <= NUMPY_RTOL
    assert np.array_equal(coverage, expected_coverage)
    assert np.array_equal(coverage, [1, 1, 0, 1, 1, 0])


def test_atlas_on_another_grid(tmp_path, rng, bold_and_labels):
    """A 2 mm atlas whose grid is shifted by fractions of a voxel against the 3 mm BOLD grid, with
    BOLD voxels half a voxel outside its edges and at exact half-way positions."""
    bold, _, data, _, _ = bold_and_labels
    atlas_affine = grid_affine(2.0, origin=(-18.5, -14.0, -11.25))
    atlas = save(tmp_path / "atlas2mm.nii.gz", rng.integers(0, 6, (17, 15, 12)).astype(np.int16), atlas_affine)
    labels = resampled_labels(atlas, bold)
    assert set(np.unique(labels)) == {0, 1, 2, 3, 4, 5}
    signals = rewire.extract(bold, atlas)
    assert max_relative(signals, parcel_means(data, labels, [1, 2, 3, 4, 5])[0]) <= NUMPY_RTOL
    assert max_relative(signals, nilearn_labels(bold, atlas)) <= NILEARN_RTOL


def test_mask(tmp_path, rng, bold_and_labels):
    bold, atlas, data, labels, affine = bold_and_labels
    mask = (rng.random(labels.shape) < 0.7).astype(np.uint8)
    mask_path = save(tmp_path / "mask.nii.gz", mask, affine)
    signals, coverage = rewire.extract(bold, atlas, mask_path, return_coverage=True)
    expected, expected_coverage = parcel_means(data, labels, [1, 2, 3, 4, 5], mask=mask)
    assert max_relative(signals, expected) <= NUMPY_RTOL
    np.testing.assert_allclose(coverage, expected_coverage, rtol=0, atol=1e-15)
    assert (coverage < 1).all() and (coverage > 0.5).all()
    assert max_relative(signals, nilearn_labels(bold, atlas, mask_path)) <= NILEARN_RTOL
    # The mask changes the answer: the unmasked means differ.
    assert max_relative(rewire.extract(bold, atlas), signals) > 1e-6


def test_mask_on_another_grid(tmp_path, rng, bold_and_labels):
    bold, atlas, data, labels, _ = bold_and_labels
    mask_affine = grid_affine(1.5, origin=(-19.0, -16.25, -13.0))
    mask_path = save(tmp_path / "mask15.nii.gz", (rng.random((25, 21, 17)) < 0.8).astype(np.uint8), mask_affine)
    mask = resampled_labels(mask_path, bold)
    signals = rewire.extract(bold, atlas, mask_path)
    assert max_relative(signals, parcel_means(data, labels, [1, 2, 3, 4, 5], mask=mask)[0]) <= NUMPY_RTOL
    assert max_relative(signals, nilearn_labels(bold, atlas, mask_path)) <= NILEARN_RTOL


def test_aal_1mm_on_2mm_bold(tmp_path, rng):
    """The mricron AAL atlas (1 mm, 181 × 217 × 181) on a 2 mm MNI BOLD grid (91 × 109 × 91, the grid
    of AICHAmc.nii.gz), 20 volumes: nilearn resamples the labels to the data by nearest neighbour."""
    aal = require(f"{MRICRON}/aal.nii.gz")
    require(f"{MRICRON}/aal.nii.txt")
    affine = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    shape = (91, 109, 91, 20)
    courses = rng.normal(0.0, 50.0, (shape[3],))
    data = (rng.normal(1000.0, 100.0, shape) + courses).astype(np.int16)
    bold = save(tmp_path / "bold2mm.nii", data, affine)
    atlas = rewire.Atlas.from_file(aal)
    assert len(atlas) == 116 and atlas.names[0] == "Precentral_L"
    signals = rewire.extract(bold, atlas)
    assert signals.shape == (20, 116)
    labels = resampled_labels(aal, bold)
    expected, _ = parcel_means(data, labels, list(atlas.values))
    assert max_relative(signals, expected) <= NUMPY_RTOL
    reference = nilearn_labels(bold, aal)
    assert reference.shape == (20, 116)  # every AAL region survives the resampling
    assert max_relative(signals, reference) <= NILEARN_RTOL


def gaussian_maps(shape, centres, width):
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    maps = np.stack([np.exp(-((ijk - np.asarray(c)) ** 2).sum(-1) / (2 * width**2)) for c in centres], axis=-1)
    maps[maps < 0.05] = 0.0
    return maps


@pytest.mark.parametrize("with_mask", [False, True], ids=["no-mask", "mask"])
def test_maps_equal_nilearn(tmp_path, rng, bold_and_labels, with_mask):
    bold, _, _, labels, affine = bold_and_labels
    maps = gaussian_maps(labels.shape, [(3, 3, 3), (5, 4, 4), (8, 6, 3), (4, 7, 5)], width=2.0)
    assert ((maps > 0).sum(-1) >= 2).any()  # the maps overlap
    maps_path = save(tmp_path / "maps.nii.gz", maps, affine)
    mask_path = None
    if with_mask:
        mask_path = save(tmp_path / "mask.nii.gz", (rng.random(labels.shape) < 0.8).astype(np.uint8), affine)
    atlas = rewire.Atlas.from_maps(maps_path, ["a", "b", "c", "d"])
    assert atlas.kind == "maps" and atlas.names == ["a", "b", "c", "d"]
    signals = rewire.extract(bold, atlas, mask_path)
    with nilearn_quiet():
        reference = NiftiMapsMasker(maps_img=maps_path, mask_img=mask_path, standardize=None,
                                    reports=False).fit_transform(bold)
    assert signals.shape == (16, 4)
    assert max_relative(signals, reference) <= NILEARN_RTOL
    # Least squares, not a weighted mean: the direct numpy solution agrees too.
    data = nib.load(bold).get_fdata().reshape(-1, 16, order="F")
    weights = maps.reshape(-1, 4, order="F")
    if with_mask:
        keep = nib.load(mask_path).get_fdata().ravel(order="F") != 0
        weights, data = weights[keep], data[keep]
    assert max_relative(signals, np.linalg.lstsq(weights, data, rcond=None)[0].T) <= 1e-10


SEEDS = [(-6.0, -3.0, 0.0), (6.0, 3.0, 3.0), (-3.0, 9.0, -3.0)]


def nilearn_spheres(bold, seeds, radius, mask=None, allow_overlap=False):
    with nilearn_quiet():
        masker = NiftiSpheresMasker(seeds, radius=radius, mask_img=mask, allow_overlap=allow_overlap,
                                    standardize=None, reports=False)
        return masker.fit_transform(bold)


@pytest.mark.parametrize("radius", [4.5, 6.0])
def test_spheres_equal_nilearn(tmp_path, rng, bold_and_labels, radius):
    """Seeds on voxel centres of the 3 mm grid; radius 6 puts voxels exactly on the sphere surface."""
    bold, _, _, labels, affine = bold_and_labels
    signals = rewire.extract(bold, rewire.Atlas.from_spheres(SEEDS, radius))
    assert max_relative(signals, nilearn_spheres(bold, SEEDS, radius)) <= NILEARN_RTOL
    mask_path = save(tmp_path / "mask.nii.gz", (rng.random(labels.shape) < 0.7).astype(np.uint8), affine)
    masked = rewire.extract(bold, rewire.Atlas.from_spheres(SEEDS, radius), mask_path)
    assert max_relative(masked, nilearn_spheres(bold, SEEDS, radius, mask_path)) <= NILEARN_RTOL
    assert max_relative(masked, signals) > 1e-6


def test_sphere_members_closed_form(bold_and_labels):
    """A 6 mm sphere around a voxel centre of a 3 mm grid holds the 33 voxels with
    i² + j² + k² <= 4 (offsets in voxels): check the mean directly."""
    bold, _, data, _, affine = bold_and_labels
    centre = np.array([5, 4, 3])
    offsets = np.array([(i, j, k) for i in range(-2, 3) for j in range(-2, 3) for k in range(-2, 3)
                        if i * i + j * j + k * k <= 4])
    assert len(offsets) == 33
    members = centre + offsets
    expected = data[members[:, 0], members[:, 1], members[:, 2]].mean(axis=0)
    seed = (affine @ np.append(centre, 1.0))[:3]
    signals = rewire.extract(bold, rewire.Atlas.from_spheres([seed], 6.0))
    assert max_relative(signals[:, 0], expected) <= NUMPY_RTOL


def test_sphere_radius_zero_is_nearest_voxel(bold_and_labels):
    bold, _, data, _, affine = bold_and_labels
    seeds = np.array([[-5.2, -2.1, 1.4], [7.4, 3.9, 2.0]])  # voxel coordinates (4.27, 4.3, 4.47), (8.47, 6.3, 4.67)
    nearest = np.rint(np.linalg.solve(affine, np.c_[seeds, np.ones(2)].T)[:3].T).astype(int)
    signals = rewire.extract(bold, rewire.Atlas.from_spheres(seeds, 0.0))
    expected = np.stack([data[tuple(v)] for v in nearest], axis=1)
    assert max_relative(signals, expected) <= NUMPY_RTOL
    assert max_relative(signals, nilearn_spheres(bold, seeds, None)) <= NILEARN_RTOL


def test_overlapping_spheres(bold_and_labels):
    bold = bold_and_labels[0]
    seeds = [(-6.0, -3.0, 0.0), (-3.0, -3.0, 0.0)]
    with pytest.raises(ValueError, match="overlap"):
        rewire.extract(bold, rewire.Atlas.from_spheres(seeds, 6.0))
    with pytest.raises(ValueError, match="Overlap"):  # nilearn refuses them too
        nilearn_spheres(bold, seeds, 6.0)
    signals = rewire.extract(bold, rewire.Atlas.from_spheres(seeds, 6.0, allow_overlap=True))
    assert max_relative(signals, nilearn_spheres(bold, seeds, 6.0, allow_overlap=True)) <= NILEARN_RTOL


def test_threads_give_identical_bits(tmp_path, bold_and_labels):
    bold, atlas, _, labels, affine = bold_and_labels
    maps = save(tmp_path / "maps.nii.gz", gaussian_maps(labels.shape, [(3, 3, 3), (6, 5, 4)], 2.0), affine)
    for parcellation in (rewire.Atlas.from_file(atlas), rewire.Atlas.from_maps(maps),
                         rewire.Atlas.from_spheres(SEEDS, 6.0)):
        one = rewire.extract(bold, parcellation, threads=1)
        two = rewire.extract(bold, parcellation, threads=2)
        assert np.array_equal(one, two), parcellation.kind


def test_progress_reports_every_volume(bold_and_labels):
    bold, atlas = bold_and_labels[:2]
    calls = []
    rewire.extract(bold, atlas, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(t, 16) for t in range(1, 17)]
