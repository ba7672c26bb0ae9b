"""Atlases: label tables, column order, and resampling onto a BOLD grid exactly as nilearn does."""
import nibabel as nib
import numpy as np
import pytest
from nilearn.image import resample_img
from scipy.spatial.transform import Rotation

import rewire
from conftest import MRICRON, grid_affine, max_relative, nilearn_quiet, parcel_means, require, save


def nilearn_nearest(atlas_path, shape, affine):
    with nilearn_quiet():
        return resample_img(atlas_path, target_affine=affine, target_shape=shape, interpolation="nearest",
                            force_resample=True, copy_header=True).get_fdata()


@pytest.fixture
def sparse_labels(tmp_path, rng):
    """An atlas with non-contiguous label values 4, 17 and 30, and a BOLD image on its grid."""
    shape = (8, 7, 6)
    affine = grid_affine()
    labels = rng.choice(np.array([0, 4, 17, 30], dtype=np.int16), size=shape)
    data = rng.normal(50.0, 10.0, shape + (6,))
    return (save(tmp_path / "sparse.nii.gz", labels, affine), save(tmp_path / "bold.nii.gz", data, affine),
            labels, data)


def test_mricron_table(tmp_path, sparse_labels):
    atlas_path, bold, labels, data = sparse_labels
    table = tmp_path / "table.txt"
    # mricron layout: VALUE NAME [CODE]; any order; 0 (background) is ignored.
    table.write_text("30 Thirty 7\n0 Background\n4 Four 1\n17 Seventeen 3\n")
    atlas = rewire.Atlas.from_file(atlas_path, table)
    assert list(atlas.values) == [4, 17, 30]
    assert atlas.names == ["Four", "Seventeen", "Thirty"]
    signals = rewire.extract(bold, atlas)
    assert max_relative(signals, parcel_means(data, labels, [4, 17, 30])[0]) <= 1e-12


def test_bids_dseg_table_beside_image(tmp_path, sparse_labels):
    """A BIDS `_dseg.tsv` with the image's stem is found without being named; extra columns are fine;
    a label in the table but not in the image is kept, as a NaN column with coverage 0."""
    _, bold, labels, data = sparse_labels
    atlas_path = save(tmp_path / "atlas-Test_dseg.nii.gz", labels, grid_affine())
    (tmp_path / "atlas-Test_dseg.tsv").write_text(
        "index\tname\tcolor\n17\tmiddle region\t#00ff00\n4\tfirst\t#ff0000\n30\tlast\t#0000ff\n"
        "12\tnot in image\t#ffffff\n")
    atlas = rewire.Atlas.from_file(atlas_path)
    assert list(atlas.values) == [4, 12, 17, 30]
    assert atlas.names == ["first", "not in image", "middle region", "last"]
    signals, coverage = rewire.extract(bold, atlas, return_coverage=True)
    expected, expected_coverage = parcel_means(data, labels, [4, 12, 17, 30])
    assert np.isnan(signals[:, 1]).all()
    assert max_relative(signals, expected) <= 1e-12
    assert np.array_equal(coverage, [1.0, 0.0, 1.0, 1.0])
    assert np.array_equal(coverage, expected_coverage)


def test_labels_without_table_are_named_by_value(sparse_labels):
    atlas = rewire.Atlas.from_file(sparse_labels[0])
    assert atlas.kind == "labels"
    assert atlas.names == ["4", "17", "30"]
    assert len(atlas) == 3


def test_table_lists_some_labels_only(tmp_path, sparse_labels):
    table = tmp_path / "partial.txt"
    table.write_text("17 Seventeen\n")
    atlas = rewire.Atlas.from_file(sparse_labels[0], table)
    assert list(atlas.values) == [4, 17, 30]
    assert atlas.names == ["4", "Seventeen", "30"]


@pytest.mark.parametrize("name, regions, first", [("aal.nii.gz", 116, "Precentral_L"),
                                                   ("AICHAmc.nii.gz", 192, "G_Frontal_Sup-1")])
def test_mricron_atlases_with_their_tables(name, regions, first):
    path = require(f"{MRICRON}/{name}")
    require(f"{MRICRON}/{name[:-3]}.txt")
    atlas = rewire.Atlas.from_file(path)  # finds <image>.nii.txt as mricron ships it
    values = np.unique(nib.load(path).get_fdata())
    assert list(atlas.values) == [int(v) for v in values[values != 0]]
    assert len(atlas) == regions and atlas.names[0] == first
    table = rewire._core.read_label_table(f"{MRICRON}/{name[:-3]}.txt")
    assert list(table.values) == list(atlas.values) and list(table.names) == atlas.names


@pytest.mark.parametrize("origin", [(-18.5, -14.0, -11.25), (-17.0, -15.5, -12.0), (-19.25, -13.0, -10.5)])
def test_resampling_equals_nilearn_shifted_grids(tmp_path, rng, origin):
    """A 2 mm atlas onto a 3 mm grid, shifted so that grid voxels fall exactly half-way between atlas
    voxels and within half a voxel outside its edges (scipy calls those outside)."""
    atlas_path = save(tmp_path / "atlas.nii", rng.integers(1, 9, (17, 15, 12)).astype(np.int16),
                      grid_affine(2.0, origin))
    shape, affine = (12, 10, 8), grid_affine()
    got = rewire.Atlas.from_file(atlas_path)._core.labels_on_grid(list(shape), affine)
    expected = nilearn_nearest(atlas_path, shape, affine)
    assert (expected == 0).any() and (expected != 0).any()
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("seed", range(6))
def test_resampling_equals_nilearn_random_grids(tmp_path, seed):
    """Random voxel sizes (not powers of two), flips, fractional origins; half of them oblique."""
    rng = np.random.default_rng(seed)
    atlas_shape = (14, 13, 12)
    atlas_affine = np.diag(np.r_[rng.choice([1.0, 1.5, 2.5, 0.7], 3) * rng.choice([-1, 1], 3), 1.0])
    if seed % 2:
        atlas_affine[:3, :3] = Rotation.from_rotvec(rng.uniform(-0.3, 0.3, 3)).as_matrix() @ atlas_affine[:3, :3]
    # Centred near the middle of the BOLD grid, so that they overlap.
    centre = rng.uniform(3, 9, 3).round(1)
    atlas_affine[:3, 3] = centre - atlas_affine[:3, :3] @ (np.array(atlas_shape) - 1) / 2
    atlas_path = save(tmp_path / "atlas.nii", rng.integers(1, 9, atlas_shape).astype(np.int16), atlas_affine)
    affine = np.diag(np.r_[rng.choice([2.0, 3.0, 1.5], 3), 1.0])
    affine[:3, 3] = rng.uniform(-8, -4, 3).round(2)
    shape = (10, 9, 8)
    got = rewire.Atlas.from_file(atlas_path)._core.labels_on_grid(list(shape), affine)
    expected = nilearn_nearest(atlas_path, shape, affine)
    assert (expected != 0).sum() > 20
    assert np.array_equal(got, expected)


def test_aal_1mm_onto_2mm_grid_equals_nilearn():
    aal = require(f"{MRICRON}/aal.nii.gz")
    affine = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    shape = (91, 109, 91)
    got = rewire.Atlas.from_file(aal)._core.labels_on_grid(list(shape), affine)
    expected = nilearn_nearest(aal, shape, affine)
    assert len(np.unique(expected)) == 117
    assert np.array_equal(got, expected)


def test_spheres_atlas_properties():
    atlas = rewire.Atlas.from_spheres([[0, 0, 0], [10, 10, 10]], 5.0, names=["pcc", "mpfc"])
    assert atlas.kind == "spheres"
    assert list(atlas.values) == [1, 2]
    assert atlas.names == ["pcc", "mpfc"]
    assert "spheres" in repr(atlas)
