"""Drop-in replacements for nilearn 0.14.1's NIfTI maskers, streaming through rewire.

``NiftiLabelsMasker``, ``NiftiMapsMasker`` and ``NiftiSpheresMasker`` take nilearn's constructor
parameters (same names, same defaults) and return what nilearn returns from ``fit``, ``transform`` and
``fit_transform``: the region signals (T, N) of a 4D BOLD file, extracted with :func:`rewire.extract`
and cleaned with :func:`rewire.clean` using the options nilearn's maskers pass to
``nilearn.signal.clean`` (Butterworth filter, ``extrapolate=False``)::

    from rewire.nilearn import NiftiLabelsMasker, ConnectivityMeasure

    masker = NiftiLabelsMasker("atlas.nii.gz", standardize="zscore_sample", t_r=2.0, low_pass=0.1)
    ts = masker.fit_transform("bold.nii.gz", confounds=confounds, sample_mask=sample_mask)

Labels present in the atlas but without a voxel on the data grid (lost when rewire puts the atlas on the
data grid, or outside ``mask_img``) are dropped from the output, as nilearn 0.14.1 does by default (with
a UserWarning); ``labels_`` / ``region_ids_`` list the labels that remain.

Not implemented (raise NotImplementedError rather than being ignored): ``smoothing_fwhm``,
``high_variance_confounds``, ``strategy`` other than ``"mean"``, ``resampling_target`` other than
``"data"``, ``keep_masked_labels=True`` / ``keep_masked_maps=True``, ``background_label`` other than
0, ``lut``, ``runs`` and in-memory images: images are files (a path, or a nibabel image loaded from a
file); rewire streams them from disk. ``memory``, ``memory_level``, ``verbose``, ``reports`` and ``cmap``
are accepted and have no effect.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from .images import Atlas, extract
from .connectivity import ConnectivityMeasure
from .signal import clean

__all__ = ["NiftiLabelsMasker", "NiftiMapsMasker", "NiftiSpheresMasker", "ConnectivityMeasure"]


def _path(img, what: str) -> str:
    """A file name for ``img``: a str / PathLike, or a nibabel image that was loaded from a file."""
    if isinstance(img, (str, os.PathLike)):
        return os.fspath(img)
    try:
        import nibabel  # noqa: F401
    except ImportError:
        nibabel = None
    if nibabel is not None and hasattr(img, "get_filename"):
        name = img.get_filename()
        if name:
            return os.fspath(name)
        raise TypeError(f"{what}: rewire streams images from files; this nibabel image has no file name "
                        "(save it with nibabel.save and pass the path)")
    raise TypeError(f"{what}: expected a path to a NIfTI file (str or os.PathLike) or a nibabel image loaded "
                    f"from a file, got {type(img).__name__}")


def _not_implemented(name: str, value, default) -> None:
    if value is default or (default is None and value is None) or (not isinstance(default, bool)
                                                                    and value == default):
        return
    raise NotImplementedError(f"rewire.nilearn: {name}={value!r} is not implemented (only the default "
                              f"{default!r}); use nilearn's masker for it")


class _Masker:
    """Shared fit / transform over rewire.extract and rewire.clean."""

    _atlas_param = ""

    def _check_common(self):
        _not_implemented("smoothing_fwhm", self.smoothing_fwhm, None)
        _not_implemented("high_variance_confounds", self.high_variance_confounds, False)
        if getattr(self, "resampling_target", "data") != "data":
            raise NotImplementedError(
                f"rewire.nilearn: resampling_target={self.resampling_target!r} is not implemented; rewire "
                "extracts on the data grid (resampling_target='data')")
        clean_args = dict(self.clean_args or {})
        for key in ("runs",):
            if key in clean_args:
                raise NotImplementedError(f"rewire.nilearn: clean_args[{key!r}] is not implemented")
        return clean_args

    def _build_atlas(self) -> Atlas:
        raise NotImplementedError

    def fit(self, imgs=None, y=None):
        """Loads the atlas (and checks the options); ``imgs`` is not needed (rewire extracts on its grid)."""
        del y
        self.clean_args_ = self._check_common()
        self.atlas_ = self._build_atlas()
        self.mask_img_ = None if self.mask_img is None else _path(self.mask_img, "mask_img")
        self._fitted_on = None if imgs is None else _path(imgs, "imgs")
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "atlas_")

    def _check_fitted(self):
        if not hasattr(self, "atlas_"):
            raise ValueError(f"This {type(self).__name__} instance is not fitted yet; call fit() first")

    def _extract(self, path: str) -> np.ndarray:
        signals, coverage = extract(path, self.atlas_, self.mask_img_, return_coverage=True)
        return signals, coverage

    def _keep_columns(self, signals, coverage) -> np.ndarray:
        return np.ones(signals.shape[1], dtype=bool)

    def transform(self, imgs, confounds=None, sample_mask=None):
        """Region signals (T, N) of ``imgs`` (a 4D NIfTI file), cleaned as nilearn's masker does."""
        self._check_fitted()
        path = _path(imgs, "imgs")
        signals, coverage = self._extract(path)
        keep = self._keep_columns(signals, coverage)
        signals = signals[:, keep]
        self._columns = keep
        kwargs = dict(self.clean_args_)
        out = clean(signals, detrend=self.detrend, standardize=self.standardize,
                    standardize_confounds=self.standardize_confounds, t_r=self.t_r, low_pass=self.low_pass,
                    high_pass=self.high_pass, confounds=confounds, sample_mask=sample_mask, **kwargs)
        out = np.ascontiguousarray(out)
        if self.dtype is not None:
            out = out.astype(self.dtype)
        return out

    def fit_transform(self, imgs, y=None, confounds=None, sample_mask=None):
        return self.fit(imgs, y).transform(imgs, confounds=confounds, sample_mask=sample_mask)


class NiftiLabelsMasker(_Masker):
    """nilearn.maskers.NiftiLabelsMasker (0.14.1) over rewire: mean signal of each label."""

    def __init__(self, labels_img=None, labels=None, lut=None, background_label=0, mask_img=None,
                 smoothing_fwhm=None, standardize=False, standardize_confounds=True, high_variance_confounds=False,
                 detrend=False, low_pass=None, high_pass=None, t_r=None, dtype=None, resampling_target="data",
                 memory=None, memory_level=1, verbose=0, strategy="mean", keep_masked_labels=False, reports=True,
                 cmap=None, clean_args=None):
        self.labels_img = labels_img
        self.labels = labels
        self.lut = lut
        self.background_label = background_label
        self.mask_img = mask_img
        self.smoothing_fwhm = smoothing_fwhm
        self.standardize = standardize
        self.standardize_confounds = standardize_confounds
        self.high_variance_confounds = high_variance_confounds
        self.detrend = detrend
        self.low_pass = low_pass
        self.high_pass = high_pass
        self.t_r = t_r
        self.dtype = dtype
        self.resampling_target = resampling_target
        self.memory = memory
        self.memory_level = memory_level
        self.verbose = verbose
        self.strategy = strategy
        self.keep_masked_labels = keep_masked_labels
        self.reports = reports
        self.cmap = cmap
        self.clean_args = clean_args

    def _build_atlas(self) -> Atlas:
        if self.labels_img is None:
            raise ValueError("NiftiLabelsMasker: labels_img is required")
        if self.strategy != "mean":
            raise NotImplementedError(f"rewire.nilearn: strategy={self.strategy!r} is not implemented; rewire "
                                      "extracts region means (strategy='mean')")
        if self.keep_masked_labels:
            raise NotImplementedError("rewire.nilearn: keep_masked_labels=True is not implemented (deprecated "
                                      "in nilearn 0.14 and removed in 0.15); empty labels are dropped")
        if self.background_label != 0:
            raise NotImplementedError(f"rewire.nilearn: background_label={self.background_label!r} is not "
                                      "implemented; rewire treats 0 as background")
        if self.lut is not None:
            raise NotImplementedError("rewire.nilearn: lut is not implemented; pass labels (names) instead")
        return Atlas.from_file(_path(self.labels_img, "labels_img"))

    def _keep_columns(self, signals, coverage) -> np.ndarray:
        # A label with no voxel on the data grid (or inside mask_img) is a NaN column in rewire; nilearn
        # 0.14.1 drops such labels (with a warning) unless keep_masked_labels.
        keep = ~np.all(np.isnan(signals), axis=0) if signals.shape[0] else np.ones(signals.shape[1], bool)
        values = self.atlas_.values
        if not keep.all():
            if not keep.any():
                raise ValueError("No label left after resampling / masking the labels image.")
            warnings.warn(f"rewire.nilearn: labels without any voxel on the data grid (or inside mask_img) "
                          f"were removed: {set(values[~keep].tolist())}", UserWarning, stacklevel=3)
        self._region_values = values[keep]
        return keep

    @property
    def labels_(self) -> list:
        """Label values of the output columns, background first (as nilearn's ``labels_``)."""
        self._check_fitted()
        values = getattr(self, "_region_values", self.atlas_.values)
        return [self.background_label] + [int(v) for v in values]

    @property
    def region_ids_(self) -> dict:
        self._check_fitted()
        ids = {"background": self.background_label}
        ids.update({i: v for i, v in enumerate(self.labels_[1:])})
        return ids

    @property
    def region_names_(self) -> dict:
        self._check_fitted()
        names = dict(zip(self.atlas_.values.tolist(), self.atlas_.names))
        if self.labels is not None:
            given = [n for n in self.labels if n != "Background"]
            names = dict(zip(self.atlas_.values.tolist(), given))
        return {i: names.get(v, "unknown") for i, v in enumerate(self.labels_[1:])}

    @property
    def n_elements_(self) -> int:
        return len(self.labels_) - 1


class NiftiMapsMasker(_Masker):
    """nilearn.maskers.NiftiMapsMasker (0.14.1) over rewire: one signal per weight map."""

    def __init__(self, maps_img=None, mask_img=None, allow_overlap=True, smoothing_fwhm=None, standardize=False,
                 standardize_confounds=True, high_variance_confounds=False, detrend=False, low_pass=None,
                 high_pass=None, t_r=None, dtype=None, resampling_target="data", keep_masked_maps=False,
                 memory=None, memory_level=0, verbose=0, reports=True, cmap="CMRmap_r", clean_args=None):
        self.maps_img = maps_img
        self.mask_img = mask_img
        self.allow_overlap = allow_overlap
        self.smoothing_fwhm = smoothing_fwhm
        self.standardize = standardize
        self.standardize_confounds = standardize_confounds
        self.high_variance_confounds = high_variance_confounds
        self.detrend = detrend
        self.low_pass = low_pass
        self.high_pass = high_pass
        self.t_r = t_r
        self.dtype = dtype
        self.resampling_target = resampling_target
        self.keep_masked_maps = keep_masked_maps
        self.memory = memory
        self.memory_level = memory_level
        self.verbose = verbose
        self.reports = reports
        self.cmap = cmap
        self.clean_args = clean_args

    def _build_atlas(self) -> Atlas:
        if self.maps_img is None:
            raise ValueError("NiftiMapsMasker: maps_img is required")
        if self.keep_masked_maps:
            raise NotImplementedError("rewire.nilearn: keep_masked_maps=True is not implemented")
        if not self.allow_overlap:
            raise NotImplementedError("rewire.nilearn: allow_overlap=False is not implemented for maps")
        return Atlas.from_maps(_path(self.maps_img, "maps_img"))

    @property
    def n_elements_(self) -> int:
        self._check_fitted()
        return len(self.atlas_)


class NiftiSpheresMasker(_Masker):
    """nilearn.maskers.NiftiSpheresMasker (0.14.1) over rewire: mean signal in a sphere around each seed."""

    def __init__(self, seeds=None, radius=None, mask_img=None, allow_overlap=False, smoothing_fwhm=None,
                 standardize=False, standardize_confounds=True, high_variance_confounds=False, detrend=False,
                 low_pass=None, high_pass=None, t_r=None, dtype=None, memory=None, memory_level=1, verbose=0,
                 reports=True, clean_args=None):
        self.seeds = seeds
        self.radius = radius
        self.mask_img = mask_img
        self.allow_overlap = allow_overlap
        self.smoothing_fwhm = smoothing_fwhm
        self.standardize = standardize
        self.standardize_confounds = standardize_confounds
        self.high_variance_confounds = high_variance_confounds
        self.detrend = detrend
        self.low_pass = low_pass
        self.high_pass = high_pass
        self.t_r = t_r
        self.dtype = dtype
        self.memory = memory
        self.memory_level = memory_level
        self.verbose = verbose
        self.reports = reports
        self.clean_args = clean_args

    def _build_atlas(self) -> Atlas:
        if self.seeds is None:
            raise ValueError("NiftiSpheresMasker: seeds are required")
        if isinstance(self.seeds, (str, os.PathLike)) or hasattr(self.seeds, "get_filename"):
            raise NotImplementedError("rewire.nilearn: seeds given as an image are not implemented; "
                                      "give coordinates (K x 3, mm)")
        self.seeds_ = [tuple(float(c) for c in seed) for seed in np.asarray(self.seeds, float).reshape(-1, 3)]
        return Atlas.from_spheres(self.seeds_, 0.0 if self.radius is None else float(self.radius),
                                  bool(self.allow_overlap))

    @property
    def n_elements_(self) -> int:
        self._check_fitted()
        return len(self.atlas_)
