"""Images: atlases, region-signal extraction, 3D images and NIfTI headers (the io layer over rewire._core)."""
from __future__ import annotations

import os
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

PathLike = Union[str, "os.PathLike[str]"]

#: The defaults of warping (C++ WarpOptions).
_WARP = _core.WarpOptions()


class Atlas:
    """A parcellation: hard labels, probabilistic maps or spheres.

    Columns of extracted signals follow ``values`` (ascending label value) and are named ``names``.
    """

    def __init__(self, core: "_core.Atlas"):
        self._core = core

    @classmethod
    def from_file(cls, path: PathLike, labels: Optional[PathLike] = None) -> "Atlas":
        """Hard-label atlas from a 3D integer image (any format of :func:`load_image3d`); ``labels`` is a
        label table (mricron ``.txt`` or BIDS ``dseg.tsv``); without it a table beside the image is used
        when present."""
        return cls(_core.Atlas.from_labels(os.fspath(path), os.fspath(labels) if labels else ""))

    @classmethod
    def from_maps(cls, path: PathLike, names: Optional[Sequence[str]] = None) -> "Atlas":
        """Probabilistic atlas: a 4D image, a stack of 3D weight maps, one per region (nilearn's
        NiftiMapsMasker); any format of :func:`load_image3d`."""
        return cls(_core.Atlas.from_maps(os.fspath(path), list(names or [])))

    @classmethod
    def from_spheres(cls, coords, radius: float = 0.0, allow_overlap: bool = False,
                     names: Optional[Sequence[str]] = None) -> "Atlas":
        """Spheres of ``radius`` mm around MNI ``coords`` (K × 3), as nilearn's NiftiSpheresMasker."""
        centres = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
        return cls(_core.Atlas.from_spheres(centres, float(radius), bool(allow_overlap), list(names or [])))

    @property
    def kind(self) -> str:
        return self._core.kind

    @property
    def values(self) -> np.ndarray:
        return np.asarray(self._core.values, dtype=np.int64)

    @property
    def names(self) -> list:
        return list(self._core.names)

    def __len__(self) -> int:
        return len(self._core.names)

    def __repr__(self) -> str:
        return f"Atlas(kind={self.kind!r}, regions={len(self)}, source={self._core.source!r})"

    def warp(self, reference: PathLike, transforms, invert: Optional[Sequence[bool]] = None,
             interpolation: str = str(_WARP.interpolation), *, sigma: float = _WARP.sigma,
             alpha: float = _WARP.alpha, threads: int = _WARP.threads) -> "Atlas":
        """This label atlas on ``reference``'s grid (any image; a BOLD series gives its volumes' grid)
        through ``transforms``, as :func:`rewire.warp_atlas` (antsApplyTransforms' conventions). Values,
        names and column order are unchanged, so runs warped per participant stay comparable column by
        column; a region the warp leaves without voxels stays a column (without data in extraction)."""
        from .transforms import transform_chain

        options = _core.WarpOptions(interpolation=interpolation, sigma=float(sigma), alpha=float(alpha),
                                    threads=int(threads))
        return Atlas(self._core.warped(os.fspath(reference), transform_chain(transforms, invert), options))


def _as_atlas(atlas) -> Atlas:
    if isinstance(atlas, Atlas):
        return atlas
    return Atlas.from_file(atlas)


#: The defaults of extract (C++ ExtractOptions).
_EXTRACT = _core.ExtractOptions()


def extract(bold: PathLike, atlas, mask: Optional[PathLike] = None, *, return_coverage: bool = False,
            threads: int = _EXTRACT.threads, progress: Optional[Callable[[int, int], None]] = None):
    """Region signals of a 4D BOLD image, streamed one volume at a time.

    Returns a float64 array shaped (T, N) in the atlas' column order (raw means, no cleaning). With
    ``return_coverage=True`` returns ``(signals, coverage)`` where coverage[n] is the fraction of region
    n's voxels that carry finite data in every volume. A region without data is a NaN column.
    ``threads``: reduction threads (0: ``REWIRE_NUM_THREADS``, ``OMP_NUM_THREADS``, else all cores but
    the one that inflates); results do not depend on it.
    """
    result = _core.extract(os.fspath(bold), _as_atlas(atlas)._core, os.fspath(mask) if mask else "",
                           _core.ExtractOptions(threads=int(threads)), progress)
    signals = np.asarray(result.signals)
    if return_coverage:
        return signals, np.asarray(result.coverage)
    return signals


def read_header(path: PathLike) -> dict:
    """Header fields and geometry of a NIfTI file (``affine`` equals nibabel's ``img.affine``)."""
    return _core.read_header(os.fspath(path))


def load_data(path: PathLike) -> np.ndarray:
    """Whole image as float64 shaped like nibabel's ``get_fdata()`` (for small images)."""
    return _core.load_data(os.fspath(path))


def load_image3d(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """``(data, affine)`` of a 3D image, or of a 4D stack of 3D volumes, read through ITK as rewire reads
    atlases and masks: NIfTI-1 (``.nii``, ``.nii.gz``), NIfTI-2, NRRD (``.nrrd``, ``.nhdr``), MetaImage
    (``.mha``, ``.mhd``), Analyze 7.5 (``.hdr``/``.img``). ``data`` is float64 shaped (X, Y, Z[, V]); for
    NIfTI it equals nibabel's ``get_fdata()`` and ``affine`` nibabel's ``img.affine``; for the other
    formats the affine is ITK's geometry in RAS+ mm."""
    image = _core.read_image3d(os.fspath(path))
    return image["data"], np.asarray(image["affine"])
