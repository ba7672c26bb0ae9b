"""Spatial transforms (ANTs / ITK / fMRIPrep files) and label atlases warped through them into another
space, such as a participant's native space (the io layer over rewire._core; ITK does the work).

Conventions are antsApplyTransforms': a chain is listed last-applied-first (the first transform is the
one the atlas meets first), ``[file,1]`` or ``invert=[..., True, ...]`` uses a transform's inverse, and a
file named ``from-A_to-B_mode-image`` moves images from A to B (as a point map it takes B's points into
A). Points and affines are in RAS mm, as nibabel's.
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["check_chain", "map_points", "transform_chain", "transform_kinds", "warp_atlas", "write_transform"]


def transform_chain(transforms, invert: Optional[Sequence[bool]] = None) -> List[Tuple[str, bool]]:
    """``transforms`` (a path or a list; each may be ANTs' ``[path,1]``) and ``invert`` (one flag per
    transform) as a list of ``(path, invert)``. ValueError when the lengths differ or a path is flagged
    both ways."""
    if isinstance(transforms, (str, os.PathLike)):
        transforms = [transforms]
    chain = [_core.parse_transform_argument(os.fspath(t)) for t in transforms]
    if not chain:
        raise ValueError("transforms: at least one transform file is needed")
    if invert is not None:
        flags = [bool(flag) for flag in invert]
        if len(flags) != len(chain):
            raise ValueError(f"invert: {len(flags)} flag(s) for {len(chain)} transform(s); give one per transform")
        for (path, bracket), flag in zip(chain, flags):
            if bracket and not flag:
                raise ValueError(f"{path}: given as [file,1] (inverted) but invert is False for it")
        chain = [(path, bracket or flag) for (path, bracket), flag in zip(chain, flags)]
    return chain


#: The defaults of warping (C++ WarpOptions).
_WARP = _core.WarpOptions()


def warp_atlas(atlas: PathLike, reference: PathLike, transforms, invert: Optional[Sequence[bool]] = None,
               interpolation: str = str(_WARP.interpolation), *, sigma: float = _WARP.sigma,
               alpha: float = _WARP.alpha, output: Optional[PathLike] = None, threads: int = _WARP.threads) -> Tuple[np.ndarray, np.ndarray]:
    """A label atlas carried onto ``reference``'s grid through ``transforms``, as ``antsApplyTransforms -i
    atlas -r reference -t ... -n NearestNeighbor`` (``interpolation="label_gaussian"``: its ``MultiLabel``,
    ``sigma`` mm, 0 for the atlas' voxel size, cut off at ``alpha`` sigmas).

    ``reference`` is any image (a 4D BOLD gives its volumes' grid). The spaces the file names state
    (``tpl-``/``space-`` of the images, ``from-``/``to-`` of the transforms) must connect, else ValueError
    naming the files. Returns ``(labels, affine)``: int32 (X, Y, Z) labels (0: background) and the
    reference's affine; ``output`` also writes them as NIfTI.
    """
    options = _core.WarpOptions(interpolation=interpolation, sigma=float(sigma), alpha=float(alpha),
                                threads=int(threads))
    image = _core.warp_atlas(os.fspath(atlas), os.fspath(reference), transform_chain(transforms, invert), options,
                             os.fspath(output) if output is not None else "")
    return np.asarray(image["data"]).astype(np.int32), np.asarray(image["affine"])


def check_chain(transforms, invert: Optional[Sequence[bool]] = None, atlas_space: str = "",
                reference_space: str = "") -> None:
    """ValueError when the spaces the transforms' names state do not connect (each ``to`` the next
    ``from``, the first from ``atlas_space``, the last to ``reference_space``, where known)."""
    _core.check_chain_spaces(transform_chain(transforms, invert), atlas_space, reference_space)


def transform_kinds(path: PathLike) -> List[str]:
    """ITK class names of the transforms in a file (``CompositeTransform_double_3_3``, then its
    components); ValueError / OSError naming the file when ITK cannot read it as a transform."""
    return list(_core.transform_kinds(os.fspath(path)))


def map_points(transforms, points, invert: Optional[Sequence[bool]] = None) -> np.ndarray:
    """Points (K, 3; RAS mm) of the reference space mapped through the chain into the atlas' space."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return np.asarray(_core.map_points(transform_chain(transforms, invert), points))


def write_transform(path: PathLike, affine, field=None, field_affine=None, *, single_precision: bool = False) -> None:
    """Writes the point map ``p -> affine @ (p + d(p))`` (RAS mm) as an ITK / ANTs transform file: ``.h5``
    an ANTs composite (the affine, then the displacement field, as antsRegistration writes them),
    ``.txt`` / ``.tfm`` (ITK text) or ``.mat`` (ANTs) the affine alone. ``field``: (X, Y, Z, 3)
    displacements in RAS mm on the grid (``field.shape[:3]``, ``field_affine``), interpolated linearly, 0
    outside; ``single_precision``: float32 parameters (fMRIPrep's files). The file appears only complete."""
    affine = np.asarray(affine, dtype=np.float64)
    if field is None:
        _core.write_transform(os.fspath(path), affine, None, None, bool(single_precision))
        return
    _core.write_transform(os.fspath(path), affine, np.asfortranarray(field, dtype=np.float64),
                          np.asarray(field_affine, dtype=np.float64) if field_affine is not None else None,
                          bool(single_precision))
