"""rewire.nilearn's maskers against nilearn 0.14.1's on the same small synthetic files."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from nilearn import maskers

from conftest import grid_affine, max_relative, nilearn_quiet, save, write_nifti
from rewire import nilearn as rn

TOL = 1e-6


def _nilearn(cls, imgs, **kwargs):
    transform_kwargs = {k: kwargs.pop(k) for k in ("confounds", "sample_mask") if k in kwargs}
    with nilearn_quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # resampling / removed-label notices
        return getattr(maskers, cls)(**kwargs).fit_transform(imgs, **transform_kwargs)


def _rewire(cls, imgs, **kwargs):
    transform_kwargs = {k: kwargs.pop(k) for k in ("confounds", "sample_mask") if k in kwargs}
    masker = getattr(rn, cls)(**kwargs)
    return masker, masker.fit_transform(imgs, **transform_kwargs)


@pytest.fixture
def files(tmp_path, rng):
    shape, volumes = (12, 10, 8), 40
    affine = grid_affine()
    labels = rng.integers(0, 6, shape).astype(np.int16)
    courses = rng.normal(0.0, 5.0, (6, volumes)).cumsum(axis=1)
    data = 100.0 + courses[labels] + rng.normal(0.0, 1.0, shape + (volumes,))
    bold = write_nifti(tmp_path / "bold.nii.gz", data, affine, tr=2.0)
    atlas = save(tmp_path / "atlas.nii.gz", labels, affine)
    return dict(tmp=tmp_path, bold=bold, atlas=atlas, data=data, labels=labels, affine=affine, shape=shape,
                volumes=volumes)


def test_labels_default(files):
    masker, ours = _rewire("NiftiLabelsMasker", files["bold"], labels_img=files["atlas"])
    theirs = _nilearn("NiftiLabelsMasker", files["bold"], labels_img=files["atlas"])
    assert ours.shape == theirs.shape == (files["volumes"], 5)
    assert max_relative(ours, theirs) < TOL
    assert masker.labels_ == [0, 1, 2, 3, 4, 5]
    assert masker.region_ids_ == {"background": 0, 0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
    assert masker.n_elements_ == 5


def test_labels_cleaning_options(files, rng):
    confounds = rng.normal(size=(files["volumes"], 3))
    sample_mask = np.setdiff1d(np.arange(files["volumes"]), [3, 7, 20])  # mirrors 36, 32, 19 kept
    options = dict(labels_img=files["atlas"], standardize="zscore_sample", detrend=True, low_pass=0.2,
                   high_pass=0.01, t_r=2.0, confounds=confounds, sample_mask=sample_mask)
    _, ours = _rewire("NiftiLabelsMasker", files["bold"], **options)
    theirs = _nilearn("NiftiLabelsMasker", files["bold"], **options)
    assert ours.shape == theirs.shape == (files["volumes"] - 3, 5)
    assert max_relative(ours, theirs) < TOL


def test_labels_mask_img(files):
    mask = np.zeros(files["shape"], dtype=np.uint8)
    mask[2:10, 1:9, 1:7] = 1
    mask_path = save(files["tmp"] / "mask.nii.gz", mask, files["affine"])
    _, ours = _rewire("NiftiLabelsMasker", files["bold"], labels_img=files["atlas"], mask_img=mask_path,
                      standardize="zscore_sample")
    theirs = _nilearn("NiftiLabelsMasker", files["bold"], labels_img=files["atlas"], mask_img=mask_path,
                      standardize="zscore_sample")
    assert ours.shape == theirs.shape
    assert max_relative(ours, theirs) < TOL


def test_labels_empty_on_data_grid(files):
    # A 1.5 mm atlas on the 3 mm data grid: label 7 sits on voxels between the data grid's centres,
    # so it has no voxel after (nearest) resampling; nilearn drops it with a warning.
    fine = np.repeat(np.repeat(np.repeat(files["labels"], 2, 0), 2, 1), 2, 2)
    fine[5, 5, 5] = 7  # odd index: never the nearest fine voxel of a coarse centre
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    affine[:3, 3] = files["affine"][:3, 3]
    atlas = save(files["tmp"] / "fine.nii.gz", fine.astype(np.int16), affine)
    with pytest.warns(UserWarning, match="removed"):
        masker, ours = _rewire("NiftiLabelsMasker", files["bold"], labels_img=atlas)
    theirs = _nilearn("NiftiLabelsMasker", files["bold"], labels_img=atlas)
    assert ours.shape == theirs.shape
    assert max_relative(ours, theirs) < TOL
    assert 7 not in masker.labels_


def test_maps(files, rng):
    maps = rng.uniform(0.0, 1.0, files["shape"] + (4,))
    maps[maps < 0.5] = 0.0
    maps_path = save(files["tmp"] / "maps.nii.gz", maps, files["affine"])
    _, ours = _rewire("NiftiMapsMasker", files["bold"], maps_img=maps_path, detrend=True)
    theirs = _nilearn("NiftiMapsMasker", files["bold"], maps_img=maps_path, detrend=True)
    assert ours.shape == theirs.shape == (files["volumes"], 4)
    assert max_relative(ours, theirs) < TOL


@pytest.mark.parametrize("radius", [None, 4.0, 7.0])
def test_spheres(files, radius):
    seeds = [(-6.0, -3.0, 0.0), (3.0, 6.0, 3.0), (0.0, 0.0, 0.0)]
    options = dict(seeds=seeds, radius=radius, allow_overlap=True, standardize="zscore_sample")
    _, ours = _rewire("NiftiSpheresMasker", files["bold"], **options)
    theirs = _nilearn("NiftiSpheresMasker", files["bold"], **options)
    assert ours.shape == theirs.shape == (files["volumes"], 3)
    assert max_relative(ours, theirs) < TOL


def test_not_implemented_and_types(files):
    with pytest.raises(NotImplementedError, match="smoothing_fwhm"):
        rn.NiftiLabelsMasker(files["atlas"], smoothing_fwhm=6.0).fit()
    with pytest.raises(NotImplementedError, match="strategy"):
        rn.NiftiLabelsMasker(files["atlas"], strategy="median").fit()
    with pytest.raises(NotImplementedError, match="resampling_target"):
        rn.NiftiLabelsMasker(files["atlas"], resampling_target="labels").fit()
    with pytest.raises(NotImplementedError, match="high_variance_confounds"):
        rn.NiftiMapsMasker(files["atlas"], high_variance_confounds=True).fit()
    import nibabel as nib

    masker = rn.NiftiLabelsMasker(files["atlas"]).fit()
    loaded = nib.load(files["bold"])
    assert np.array_equal(masker.transform(loaded), masker.transform(files["bold"]))
    with pytest.raises(TypeError, match="file"):
        masker.transform(nib.Nifti1Image(files["data"], files["affine"]))
    with pytest.raises(TypeError):
        masker.transform(files["data"])


def test_connectivity_measure_reexport():
    from rewire.connectivity import ConnectivityMeasure
    from rewire.nilearn import ConnectivityMeasure as Reexported, NiftiLabelsMasker  # noqa: F401

    assert Reexported is ConnectivityMeasure
