"""Simulated resting-state study laid out like fMRIPrep derivatives, with a planted connectivity change.

Two groups (therapy, control) are scanned before and after (sessions ``pre`` and ``post``). Every run is a
4D BOLD image on an MNI grid. The regions come from a label atlas: by default the simulator's own synthetic
atlas (``synthetic_atlas``: AAL-named regions on a stylised brain, written into the study as
``atlas/*_dseg.nii.gz`` with its ``dseg.tsv`` label table), so that nothing outside rewire is needed; any
other hard-label atlas (AAL, ...) may be given instead. The brain voxels carry

    baseline × (1 + region signal + nuisance + voxel noise)     (0 outside the brain mask)

- region signal: one time course per atlas region, shared by all its voxels, 2 % of baseline. The region
  time courses are AR(1) in time (φ = 0.5) and correlated across regions by a latent correlation matrix:
  a smooth spatial structure (nearby and mirror-image regions correlate) plus a planted block.
- planted block: the four edges between amygdala (left, right) and medial orbitofrontal cortex (left,
  right) have correlation 0.1; in the therapy group's post session they rise by each subject's own change
  (the nominal ``effect`` times a factor between 0.8 and 1.2). Controls do not change.
- nuisance: global signal, white-matter and CSF signals (leaking a little into grey matter), slow drift,
  head motion (smooth random walk plus a few spikes, with intensity drops at the spikes).

The nuisance is kept small enough (about 10 % of the region signal's variance in a parcel mean) that the
planted change shows in raw parcel means, and large enough that cleaning visibly matters.

Everything is generated one volume at a time: a 2 mm, 1200-volume run never holds its 4D array. Random
draws come from numpy's PCG64 seeded by a SeedSequence keyed by (seed, group, subject, session), so a
subject's data does not depend on how many subjects are generated, and the same options give the same
bytes.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._files import write_text
from .images import Atlas

GROUPS = ("therapy", "control")
SESSIONS = ("pre", "post")
SPACE = "MNI152NLin2009cAsym"
TASK = "rest"

#: MNI box the grids cover (mm) and its corner: r = 2 gives fMRIPrep's 91 × 109 × 91 grid.
MNI_EXTENT_MM = (182.0, 218.0, 182.0)
MNI_ORIGIN_MM = (90.0, -126.0, -72.0)

#: Planted regions: AAL name and an MNI point inside it (used to pick the nearest region when the atlas
#: has no region of that name). Edges join every amygdala to every medial orbitofrontal region.
PLANTED_REGIONS = (
    ("Amygdala_L", (-23.0, -5.0, -18.0)),
    ("Amygdala_R", (27.0, -4.0, -20.0)),
    ("Frontal_Med_Orb_L", (-5.0, 54.0, -7.0)),
    ("Frontal_Med_Orb_R", (8.0, 52.0, -7.0)),
)
BASELINE_EDGE_CORRELATION = 0.1
#: Correlation within the planted pairs (left–right amygdala, left–right medial orbitofrontal). It bounds
#: the planted edges: the 4 × 4 block stays positive definite only while edge < (1 + this) / 2.
PLANTED_PAIR_CORRELATION = 0.85
#: Share of a planted region's variance that follows the brain-wide structure; the rest is the planted
#: block, which keeps the planted edges free of constraints from the neighbours' correlations.
PLANTED_SHARED_VARIANCE = 0.15
#: Smallest eigenvalue allowed in the planted block (keeps the Cholesky factor well conditioned).
MIN_EIGENVALUE = 0.02
#: Each therapy subject's change is effect × a factor drawn from N(1, 0.1²) clipped to this range.
CHANGE_FACTOR_RANGE = (0.8, 1.2)

REGION_AMPLITUDE = 0.02    # region signal, fraction of baseline (SD)
VOXEL_NOISE = 0.02         # independent voxel noise, fraction of baseline (SD)
AR1 = 0.5                  # lag-1 autocorrelation of the region time courses
TISSUE_BASELINE = {"grey": 1000.0, "csf": 1150.0, "white": 900.0}

#: Clinical scores: pre ~ N(mean, sd); post = pre + slope × planted change + N(0, noise²).
CLINICAL = {
    "attachment": {"mean": 50.0, "sd": 8.0, "slope": 30.0, "noise": 1.0,
                   "description": "attachment security score (higher is more secure)"},
    "cortisol": {"mean": 14.0, "sd": 3.0, "slope": -6.0, "noise": 1.0,
                 "description": "morning salivary cortisol (nmol/L)"},
    "hrv": {"mean": 40.0, "sd": 8.0, "slope": 10.0, "noise": 2.0,
            "description": "heart-rate variability, RMSSD (ms)"},
}


@dataclass
class SimulationOptions:
    """What ``simulate_study`` writes. Defaults match ``rewire simulate``."""

    subjects: int = 4          #: participants per group
    timepoints: int = 120      #: volumes per run
    tr: float = 2.0            #: repetition time (s)
    resolution: int = 4        #: voxel size in mm: 2 (91 × 109 × 91), 3 or 4 (46 × 55 × 46)
    effect: float = 0.5        #: nominal post − pre rise of the planted edges' correlation (therapy)
    seed: int = 0              #: random seed (non-negative)
    atlas: Optional[str] = None  #: label atlas image; None: the synthetic atlas (``synthetic_atlas``)
    dtype: str = "int16"       #: stored voxel type, "int16" or "float32"
    gzip_level: int = 1        #: 0–9

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raises ValueError (bad value) or FileNotFoundError (atlas) naming the option at fault."""
        if int(self.subjects) != self.subjects or self.subjects < 1:
            raise ValueError(f"subjects must be a whole number >= 1 (per group), got {self.subjects}")
        if int(self.timepoints) != self.timepoints or self.timepoints < 20:
            raise ValueError(f"timepoints must be a whole number >= 20 (aCompCor needs them), got {self.timepoints}")
        if not (math.isfinite(self.tr) and self.tr > 0):
            raise ValueError(f"tr must be a positive number of seconds, got {self.tr}")
        if self.resolution not in (2, 3, 4):
            raise ValueError(f"resolution must be 2, 3 or 4 (mm), got {self.resolution}")
        if not (math.isfinite(self.effect) and abs(self.effect) < 1):
            raise ValueError(f"effect must be a correlation change between -1 and 1, got {self.effect}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if self.dtype not in ("int16", "float32"):
            raise ValueError(f"dtype must be 'int16' or 'float32', got {self.dtype!r}")
        if self.gzip_level not in range(10):
            raise ValueError(f"gzip_level must be 0..9, got {self.gzip_level}")
        atlas_path(self.atlas)


def atlas_path(atlas: Optional[str]) -> Optional[str]:
    """The atlas image given, or None for the synthetic atlas; FileNotFoundError when it is missing."""
    if atlas is None:
        return None
    path = os.fspath(atlas)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"atlas image not found: {path}")
    return path


def mni_grid(resolution: int) -> Tuple[Tuple[int, int, int], np.ndarray]:
    """Shape (X, Y, Z) and 4 × 4 affine of the ``resolution`` mm grid covering the MNI box."""
    if resolution not in (2, 3, 4):
        raise ValueError(f"resolution must be 2, 3 or 4 (mm), got {resolution}")
    r = float(resolution)
    shape = tuple(int(math.ceil(extent / r)) for extent in MNI_EXTENT_MM)
    affine = np.array([[-r, 0, 0, MNI_ORIGIN_MM[0]],
                       [0, r, 0, MNI_ORIGIN_MM[1]],
                       [0, 0, r, MNI_ORIGIN_MM[2]],
                       [0, 0, 0, 1.0]])
    return shape, affine


def bids_paths(out_dir: str, subject: str, session: str, resolution: int) -> Dict[str, str]:
    """fMRIPrep-style paths of one run: ``bold``, ``bold_json``, ``mask``, ``confounds``, ``confounds_json``."""
    func = os.path.join(out_dir, subject, f"ses-{session}", "func")
    stem = f"{subject}_ses-{session}_task-{TASK}"
    spatial = f"{stem}_space-{SPACE}_res-{resolution}"
    return {
        "bold": os.path.join(func, f"{spatial}_desc-preproc_bold.nii.gz"),
        "bold_json": os.path.join(func, f"{spatial}_desc-preproc_bold.json"),
        "mask": os.path.join(func, f"{spatial}_desc-brain_mask.nii.gz"),
        "confounds": os.path.join(func, f"{stem}_desc-confounds_timeseries.tsv"),
        "confounds_json": os.path.join(func, f"{stem}_desc-confounds_timeseries.json"),
    }


# --------------------------------------------------------------------------------------------------
# The synthetic atlas: the default, so that `rewire simulate` and `rewire demo` need no atlas package.
#
# Each hemisphere is a superellipsoid |Δx/a|³ + |Δy/b|³ + |Δz/c|³ ≤ 1 (a stylised cerebrum; the two are
# 4 mm apart at the midline). Its cortex, the voxels within CORTEX_DEPTH_MM of its surface along the ray
# from its centre, is split among AAL-named seed points by nearest seed. Deep grey matter (insula,
# hippocampus, amygdala, basal ganglia, thalamus) is one ball per region with the volume of the AAL region,
# cut at the midline, painted over the cortex in the order listed. Seeds and centres are rounded centroids
# of the AAL regions (Tzourio-Mazoyer et al. 2002) of the left hemisphere; the right mirrors them
# (x → −x), on a grid symmetric about x = 0. Labels are a function of the voxel centre in mm, so any grid
# gets them directly, without resampling.

#: Left hemisphere: centre (mm), semi-axes (mm) and exponent of its superellipsoid.
HEMISPHERE_CENTRE_MM = (-36.0, -18.0, 16.0)
HEMISPHERE_AXES_MM = (34.0, 88.0, 62.0)
HEMISPHERE_EXPONENT = 3.0
CORTEX_DEPTH_MM = 10.0
#: Cortical regions (AAL name without the hemisphere) and their seed point in the left hemisphere (mm).
SYNTHETIC_CORTEX = (
    ("Precentral", (-40, -7, 51)), ("Frontal_Sup", (-20, 33, 43)), ("Frontal_Sup_Orb", (-18, 47, -13)),
    ("Frontal_Mid", (-35, 33, 35)), ("Frontal_Mid_Orb", (-32, 51, -10)), ("Frontal_Inf_Oper", (-49, 14, 20)),
    ("Frontal_Inf_Tri", (-48, 30, 14)), ("Frontal_Inf_Orb", (-38, 31, -12)), ("Rolandic_Oper", (-50, -7, 14)),
    ("Supp_Motor_Area", (-7, 3, 61)), ("Frontal_Sup_Medial", (-7, 50, 31)), ("Frontal_Med_Orb", (-6, 53, -7)),
    ("Rectus", (-6, 37, -18)), ("Cingulum_Ant", (-6, 36, 15)), ("Cingulum_Mid", (-6, -12, 41)),
    ("Cingulum_Post", (-6, -42, 24)), ("Calcarine", (-11, -76, 7)), ("Cuneus", (-10, -80, 27)),
    ("Lingual", (-15, -68, -5)), ("Occipital_Sup", (-20, -82, 30)), ("Occipital_Mid", (-34, -80, 17)),
    ("Occipital_Inf", (-37, -80, -8)), ("Fusiform", (-32, -40, -20)), ("Postcentral", (-42, -24, 51)),
    ("Parietal_Sup", (-24, -60, 60)), ("Parietal_Inf", (-44, -46, 48)), ("SupraMarginal", (-57, -33, 32)),
    ("Angular", (-45, -60, 37)), ("Precuneus", (-8, -56, 46)), ("Paracentral_Lobule", (-8, -28, 69)),
    ("Temporal_Sup", (-55, -21, 7)), ("Temporal_Pole_Sup", (-44, 15, -19)), ("Temporal_Mid", (-56, -35, -2)),
    ("Temporal_Inf", (-52, -30, -23)),
)
#: Deep grey matter: AAL name without the hemisphere, centre in the left hemisphere (mm), volume (cm³).
SYNTHETIC_NUCLEI = (
    ("Insula", (-37, 6, 3), 14.5), ("Hippocampus", (-27, -20, -10), 7.5),
    ("ParaHippocampal", (-23, -16, -21), 8.4), ("Amygdala", (-25, 0, -18), 1.8), ("Caudate", (-13, 11, 9), 7.8),
    ("Putamen", (-26, 4, 2), 8.2), ("Pallidum", (-20, 0, 0), 2.2), ("Thalamus", (-12, -18, 8), 8.5),
)
SYNTHETIC_ATLAS_NAME = "synthetic"


def synthetic_atlas_names() -> List[str]:
    """Region names of the synthetic atlas in label order (label value = position + 1): every cortical
    region, then every deep one, left before right."""
    return [f"{name}_{side}" for name, *_ in SYNTHETIC_CORTEX + SYNTHETIC_NUCLEI for side in ("L", "R")]


def synthetic_atlas(shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """Labels (X, Y, Z) int16 of the synthetic atlas on the grid (``shape``, ``affine``); 0 outside."""
    shape = tuple(int(n) for n in shape)
    affine = np.asarray(affine, dtype=np.float64)
    ijk = np.indices(shape, dtype=np.float64).reshape(3, -1).T
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    labels = np.zeros(len(xyz), dtype=np.int16)
    count = len(SYNTHETIC_CORTEX)
    for side, sign in enumerate((1.0, -1.0)):          # L (value 2k + 1), R (value 2k + 2)
        mirror = np.array([sign, 1.0, 1.0])
        offset = xyz - np.asarray(HEMISPHERE_CENTRE_MM) * mirror
        rho = (np.abs(offset / HEMISPHERE_AXES_MM) ** HEMISPHERE_EXPONENT).sum(axis=1) ** (1 / HEMISPHERE_EXPONENT)
        inside = np.flatnonzero((rho < 1) & (rho > 0))
        # Depth below the surface along the ray from the centre: |offset| (1/ρ − 1).
        depth = np.linalg.norm(offset[inside], axis=1) * (1 / rho[inside] - 1)
        cortex = inside[depth <= CORTEX_DEPTH_MM]
        seeds = np.array([point for _, point in SYNTHETIC_CORTEX], dtype=np.float64) * mirror
        nearest = ((xyz[cortex, None, :] - seeds[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        labels[cortex] = 2 * nearest + side + 1
        for k, (_, centre, volume) in enumerate(SYNTHETIC_NUCLEI):
            radius = (3 * volume * 1000 / (4 * math.pi)) ** (1 / 3)
            ball = np.linalg.norm(xyz - np.asarray(centre, dtype=np.float64) * mirror, axis=1) <= radius
            ball &= sign * xyz[:, 0] < 0                 # the thalami would meet at the midline
            labels[ball] = 2 * (count + k) + side + 1
    return labels.reshape(shape, order="C")


def synthetic_atlas_paths(folder: str, resolution: int) -> Tuple[str, str]:
    """Image and label table of the synthetic atlas under ``folder`` (TemplateFlow-style names)."""
    stem = os.path.join(folder, "atlas", f"tpl-{SPACE}_res-{resolution}_atlas-{SYNTHETIC_ATLAS_NAME}_dseg")
    return stem + ".nii.gz", stem + ".tsv"


def write_synthetic_atlas(folder, resolution: int, gzip_level: int = 1) -> str:
    """Writes the synthetic atlas on the ``resolution`` mm MNI grid under ``folder``/atlas, with its BIDS
    ``dseg.tsv`` label table beside it (``Atlas.from_file`` finds it); returns the image path."""
    image, table = synthetic_atlas_paths(os.fspath(folder), resolution)
    os.makedirs(os.path.dirname(image), exist_ok=True)
    shape, affine = mni_grid(resolution)
    labels = synthetic_atlas(shape, affine)
    writer = _core.NiftiWriter(image, list(shape), affine, 0.0,
                               _core.NiftiWriteOptions(datatype="int16", gzip_level=gzip_level))
    writer.write(labels.ravel(order="F").astype(np.float64))
    writer.close()
    write_text(table, _tsv({"index": [str(v) for v in range(1, len(synthetic_atlas_names()) + 1)],
                               "name": synthetic_atlas_names()}))
    return image


# --------------------------------------------------------------------------------------------------
# Anatomy: atlas on the grid, brain mask and tissue classes.

def _dilate(mask: np.ndarray) -> np.ndarray:
    """One step of 6-neighbour binary dilation (no wrap-around at the borders)."""
    out = mask.copy()
    for axis in range(3):
        head = [slice(None)] * 3
        tail = [slice(None)] * 3
        head[axis] = slice(1, None)
        tail[axis] = slice(None, -1)
        out[tuple(head)] |= mask[tuple(tail)]
        out[tuple(tail)] |= mask[tuple(head)]
    return out


def _enclosed(mask: np.ndarray) -> np.ndarray:
    """Voxels with a mask voxel on both sides along every axis: the mask with its interior filled."""
    inside = np.ones_like(mask)
    for axis in range(3):
        forward = np.logical_or.accumulate(mask, axis=axis)
        backward = np.flip(np.logical_or.accumulate(np.flip(mask, axis), axis=axis), axis)
        inside &= forward & backward
    return inside


GREY, CSF, WHITE = 0, 1, 2


@dataclass
class _Anatomy:
    """The atlas on a simulation grid. Voxel arrays list the brain-mask voxels in NIfTI (Fortran) order."""

    shape: Tuple[int, int, int]
    affine: np.ndarray
    atlas_image: Optional[str]  # the atlas file given; None: the synthetic atlas
    values: np.ndarray          # K label values, ascending (rewire.extract's column order)
    names: List[str]
    mask: np.ndarray            # (X, Y, Z) bool brain mask
    index: np.ndarray           # V linear indices of the mask voxels
    tissue: np.ndarray          # V tissue class: GREY (atlas voxels), CSF (ring around them), WHITE (interior)
    column: np.ndarray          # V region column of grey voxels; K for the others
    position: np.ndarray        # V × 3 voxel centres scaled to about [-1, 1] (for motion artefacts)
    centroids: np.ndarray       # K × 3 region centroids in mm on the 2 mm grid (NaN: region absent)


def _load_anatomy(resolution: int, atlas: Optional[str]) -> _Anatomy:
    image = atlas_path(atlas)
    if image is None:
        names = synthetic_atlas_names()
        values = np.arange(1, len(names) + 1)
        labels_on = synthetic_atlas
    else:
        parcellation = Atlas.from_file(image)
        if parcellation.kind != "labels" or len(parcellation) == 0:
            raise ValueError(f"{image}: the simulator needs a hard-label atlas with at least one region")
        names, values = parcellation.names, parcellation.values

        def labels_on(shape, affine):
            return parcellation._core.labels_on_grid(list(shape), affine)
    shape, affine = mni_grid(resolution)
    labels = labels_on(shape, affine)
    grey = labels > 0
    ring = _dilate(grey)
    mask = ring | _enclosed(ring)
    tissue_image = np.full(shape, WHITE, dtype=np.int8)
    tissue_image[ring & ~grey] = CSF
    tissue_image[grey] = GREY

    index = np.flatnonzero(mask.ravel(order="F"))
    tissue = tissue_image.ravel(order="F")[index]
    flat_labels = labels.ravel(order="F")[index]
    column = np.full(index.size, len(values), dtype=np.int64)
    column[tissue == GREY] = np.searchsorted(values, flat_labels[tissue == GREY])
    ijk = np.stack(np.unravel_index(index, shape, order="F"), axis=1).astype(np.float64)
    centre = (np.asarray(shape, dtype=np.float64) - 1) / 2
    position = (ijk - centre) / centre

    # Centroids on the 2 mm grid whatever the resolution, so the latent network is the same on every grid.
    shape2, affine2 = mni_grid(2)
    labels2 = labels_on(shape2, affine2).ravel(order="F")
    where = np.flatnonzero(labels2)
    xyz = np.stack(np.unravel_index(where, shape2, order="F"), axis=1) @ affine2[:3, :3].T + affine2[:3, 3]
    columns2 = np.searchsorted(values, labels2[where])
    counts = np.bincount(columns2, minlength=len(values)).astype(np.float64)
    centroids = np.full((len(values), 3), np.nan)
    present = counts > 0
    for axis in range(3):
        sums = np.bincount(columns2, weights=xyz[:, axis], minlength=len(values))
        centroids[present, axis] = sums[present] / counts[present]
    return _Anatomy(shape, affine, image, values, names, mask, index, tissue, column, position, centroids)


# --------------------------------------------------------------------------------------------------
# Latent network: correlation of the region time courses.

def _spatial_correlation(centroids: np.ndarray) -> np.ndarray:
    """K × K baseline correlation: a little everywhere, more between nearby and mirror-image regions.

    Σ = 0.15·11ᵀ + 0.55·(k(p, q) + k(p, Mq)) + 0.3·I with a Gaussian kernel k (length 25 mm) and M the
    left–right mirror; k(p, q) + k(p, Mq) is positive semi-definite because M is an isometry and an
    involution, so Σ is positive definite; it is scaled to a unit diagonal.
    """
    present = np.all(np.isfinite(centroids), axis=1)
    points = np.where(present[:, None], centroids, 0.0)
    mirror = points * np.array([-1.0, 1.0, 1.0])

    def kernel(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
        return np.exp(-d2 / (2 * 25.0 ** 2))

    near = (kernel(points, points) + kernel(points, mirror)) * np.outer(present, present)
    sigma = 0.15 + 0.55 * near + 0.3 * np.eye(len(points))
    scale = 1.0 / np.sqrt(np.diag(sigma))
    return sigma * np.outer(scale, scale)


def _planted_columns(anatomy: _Anatomy) -> Tuple[List[int], List[str]]:
    """Columns of the planted regions: by AAL name, else the region whose centroid is nearest."""
    columns, how = [], []
    for name, point in PLANTED_REGIONS:
        if name in anatomy.names:
            columns.append(anatomy.names.index(name))
            how.append("name")
            continue
        distance = np.linalg.norm(anatomy.centroids - np.asarray(point), axis=1)
        distance[~np.isfinite(distance)] = np.inf
        distance[columns] = np.inf
        if not np.isfinite(distance).any():
            raise ValueError(f"{anatomy.atlas_image or 'synthetic atlas'}: too few regions to plant the effect in")
        columns.append(int(np.argmin(distance)))
        how.append(f"nearest centroid to MNI {list(point)}")
    return columns, how


class _Network:
    """Region correlation for a given planted-edge correlation, positive definite by construction.

    Planted regions p mix a share β of the brain-wide structure with a 4 × 4 planted block B:
    C = D C0 D + (1 − β) B̂, D = diag(√β on planted, 1 elsewhere), B̂ = B embedded at the planted columns.
    D C0 D is positive definite and B is checked to be, so C is; B is chosen so that the planted block of C
    equals the target exactly (unit diagonal, pairs PLANTED_PAIR_CORRELATION, edges `edge`).
    """

    def __init__(self, anatomy: _Anatomy):
        self.base = _spatial_correlation(anatomy.centroids)
        self.planted, self.selected_by = _planted_columns(anatomy)
        self.edges = [(a, m) for a in self.planted[:2] for m in self.planted[2:]]

    def _block(self, edge: float) -> np.ndarray:
        beta = PLANTED_SHARED_VARIANCE
        target = np.eye(4)
        target[0, 1] = target[1, 0] = target[2, 3] = target[3, 2] = PLANTED_PAIR_CORRELATION
        target[:2, 2:] = edge
        target[2:, :2] = edge
        return (target - beta * self.base[np.ix_(self.planted, self.planted)]) / (1 - beta)

    def edge_range(self) -> Tuple[float, float]:
        """Smallest and largest planted-edge correlation that keep the planted block well conditioned."""
        def ok(edge):
            return np.linalg.eigvalsh(self._block(edge)).min() >= MIN_EIGENVALUE

        limits = []
        for outside in (-1.0, 1.0):
            inside = BASELINE_EDGE_CORRELATION  # attainable by design (pair correlation 0.85, β = 0.15)
            for _ in range(50):
                middle = (inside + outside) / 2
                inside, outside = (middle, outside) if ok(middle) else (inside, middle)
            limits.append(inside)
        return limits[0], limits[1]

    def correlation(self, edge: float) -> np.ndarray:
        """K × K latent correlation with the planted edges at `edge`; ValueError when not attainable."""
        block = self._block(edge)
        if np.linalg.eigvalsh(block).min() < MIN_EIGENVALUE:
            low, high = self.edge_range()
            raise ValueError(f"planted edge correlation {edge:.3f} is outside [{low:.3f}, {high:.3f}], the range "
                             f"that keeps the covariance positive definite (baseline {BASELINE_EDGE_CORRELATION}, "
                             f"within-pair correlation {PLANTED_PAIR_CORRELATION}); use a smaller effect")
        d = np.ones(len(self.base))
        d[self.planted] = math.sqrt(PLANTED_SHARED_VARIANCE)
        c = self.base * np.outer(d, d)
        c[np.ix_(self.planted, self.planted)] += (1 - PLANTED_SHARED_VARIANCE) * block
        return c


# --------------------------------------------------------------------------------------------------
# Time series of one run.

def _ar1(rng: np.random.Generator, timepoints: int, columns: int, phi: float) -> np.ndarray:
    """T × columns stationary AR(1) series with unit variance."""
    innovations = rng.standard_normal((timepoints, columns))
    out = np.empty_like(innovations)
    out[0] = innovations[0]
    scale = math.sqrt(1 - phi * phi)
    for t in range(1, timepoints):
        out[t] = phi * out[t - 1] + scale * innovations[t]
    return out


def _motion(rng: np.random.Generator, timepoints: int) -> Tuple[np.ndarray, np.ndarray]:
    """T × 6 motion (trans_x/y/z in mm, rot_x/y/z in radians) and the spike volumes.

    Smooth random walks (AR(1)-smoothed steps of 0.02 mm and 0.0003 rad) plus about 2 spikes per 100
    volumes (at least one): single-volume jerks of about 0.4 mm and 0.004 rad (FD of 1–2 mm).
    """
    steps = _ar1(rng, timepoints, 6, 0.7) * np.array([0.02, 0.02, 0.02, 3e-4, 3e-4, 3e-4])
    motion = np.cumsum(steps, axis=0)
    count = min(max(1, int(rng.poisson(0.02 * timepoints))), timepoints - 1)  # at least one to censor
    spikes = np.sort(rng.choice(np.arange(1, timepoints), size=count, replace=False))
    motion[spikes] += rng.standard_normal((count, 6)) * np.array([0.4, 0.4, 0.4, 4e-3, 4e-3, 4e-3])
    return motion, spikes


class _ConfoundAccumulator:
    """fMRIPrep's confound columns computed from the written volumes, in O(voxels) memory.

    global_signal, csf and white_matter are means over the brain mask and the tissue classes. dvars and
    std_dvars follow nipype's ComputeDVARS (Power 2012; Nichols 2013) with two streaming shortcuts: the
    intensity normalisation (median → 1000) uses the first volume's median, and the voxel SD is the
    sample SD rather than IQR / 1.349. a_comp_cor_00..05 (Behzadi 2007) come from up to 2000 evenly
    spaced CSF and white-matter voxels: cosine high-pass (128 s), voxel-wise standardisation, the top
    six left singular vectors. cosineXX columns hold the 128 s high-pass basis, as fMRIPrep writes them.
    """

    def __init__(self, tissue: np.ndarray, timepoints: int):
        self.tissue = tissue
        self.timepoints = timepoints
        self.noise_voxels = np.flatnonzero(tissue != GREY)
        self.noise_voxels = self.noise_voxels[np.linspace(0, self.noise_voxels.size - 1,
                                                          min(2000, self.noise_voxels.size)).astype(np.int64)]
        self.noise_series = np.empty((timepoints, self.noise_voxels.size))
        self.means = {name: np.empty(timepoints) for name in ("global_signal", "csf", "white_matter")}
        self.dvars = np.full(timepoints, np.nan)
        self.t = 0

    def add(self, values: np.ndarray) -> None:
        t = self.t
        self.means["global_signal"][t] = values.mean()
        self.means["csf"][t] = values[self.tissue == CSF].mean()
        self.means["white_matter"][t] = values[self.tissue == WHITE].mean()
        self.noise_series[t] = values[self.noise_voxels]
        if t == 0:
            self.first = values.copy()
            self.scale = 1000.0 / np.median(values)
            self.sum = np.zeros_like(values)       # of y = x − x₀, to keep the sums small
            self.sum_squares = np.zeros_like(values)
            self.sum_lagged = np.zeros_like(values)
        else:
            step = values - self.previous
            self.dvars[t] = self.scale * math.sqrt(np.mean(step * step))
        y = values - self.first
        self.sum += y
        self.sum_squares += y * y
        if t > 0:
            self.sum_lagged += y * (self.previous - self.first)
        self.previous = values
        self.t += 1

    def _std_dvars(self) -> np.ndarray:
        n = self.timepoints
        mean = self.sum / n
        last = self.previous - self.first
        r0 = self.sum_squares - n * mean * mean                                   # Σ (y − ȳ)²
        r1 = self.sum_lagged - mean * (2 * self.sum - last) + (n - 1) * mean * mean  # Σ (y_t − ȳ)(y_t−1 − ȳ)
        keep = r0 > 0
        ar1 = r1[keep] / r0[keep]
        sd = np.sqrt(r0[keep] / n)
        expected = self.scale * np.mean(np.sqrt(np.maximum(2 * (1 - ar1), 0.0)) * sd)
        return self.dvars / expected

    def _cosines(self, tr: float) -> np.ndarray:
        """T × C discrete cosine basis of a 128 s high-pass, as nipype's _cosine_drift (fMRIPrep's cosineXX)."""
        n = self.timepoints
        order = min(int(math.floor(2 * n * tr / 128.0)), n // 2)
        k = np.arange(1, order)   # order - 1 cosines (nipype adds the constant as the last one)
        return math.sqrt(2.0 / n) * np.cos(np.pi * np.outer(np.arange(n) + 0.5, k) / n)

    def _a_comp_cor(self, cosines: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top six components (T × 6), their singular values and fractions of variance explained."""
        n = self.timepoints
        design = np.linalg.qr(np.column_stack([np.ones(n), cosines]))[0]
        residual = self.noise_series - design @ (design.T @ self.noise_series)
        sd = residual.std(axis=0)
        residual = residual[:, sd > 0] / sd[sd > 0]
        # Left singular vectors as eigenvectors of the T × T Gram matrix: a handful of large BLAS calls,
        # where an SVD makes thousands of small ones that crawl when the cores are busy.
        eigenvalues, vectors = np.linalg.eigh(residual @ residual.T)
        eigenvalues = np.maximum(eigenvalues[::-1], 0.0)
        u = vectors[:, ::-1][:, :6]
        # Signs are arbitrary: make the largest entry of each component positive.
        u = u * np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
        return u, np.sqrt(eigenvalues[:6]), eigenvalues[:6] / eigenvalues.sum()

    def finish(self, motion: np.ndarray, tr: float) -> Tuple[Dict[str, np.ndarray], dict]:
        """Confound columns in fMRIPrep's order (NaN marks the 'n/a' first rows) and the JSON sidecar
        with fMRIPrep's CompCor metadata (nilearn's load_confounds reads it)."""
        def expand(name, x, out):
            diff = np.concatenate([[np.nan], np.diff(x)])
            out[name] = x
            out[name + "_derivative1"] = diff
            out[name + "_power2"] = x * x
            out[name + "_derivative1_power2"] = diff * diff

        columns: Dict[str, np.ndarray] = {}
        for name in ("global_signal", "csf", "white_matter"):
            expand(name, self.means[name], columns)
        columns["std_dvars"] = self._std_dvars()
        columns["dvars"] = self.dvars
        columns["framewise_displacement"] = _framewise_displacement(motion)
        cosines = self._cosines(tr)
        components, singular, explained = self._a_comp_cor(cosines)
        metadata = {}
        for i in range(components.shape[1]):
            name = f"a_comp_cor_{i:02d}"
            columns[name] = components[:, i]
            metadata[name] = {"CumulativeVarianceExplained": round(float(explained[:i + 1].sum()), 6),
                              "Mask": "combined", "Method": "aCompCor", "Retained": True,
                              "SingularValue": round(float(singular[i]), 6),
                              "VarianceExplained": round(float(explained[i]), 6)}
        for i in range(cosines.shape[1]):
            columns[f"cosine{i:02d}"] = cosines[:, i]
        for i, name in enumerate(("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")):
            expand(name, motion[:, i], columns)
        return columns, metadata


def _framewise_displacement(motion: np.ndarray, radius: float = 50.0) -> np.ndarray:
    """Power et al. (2012) FD of T × 6 motion (mm, radians): Σ|Δtrans| + radius · Σ|Δrot|; first is NaN."""
    step = np.abs(np.diff(motion, axis=0))
    fd = step[:, :3].sum(axis=1) + radius * step[:, 3:].sum(axis=1)
    return np.concatenate([[np.nan], fd])


# --------------------------------------------------------------------------------------------------
# Writing.

def _tsv(columns: Dict[str, Sequence], formats: Optional[Dict[str, str]] = None) -> str:
    """Tab-separated text with a header; NaN and None become 'n/a'."""
    formats = formats or {}
    names = list(columns)
    rows = ["\t".join(names)]
    for i in range(len(columns[names[0]])):
        cells = []
        for name in names:
            value = columns[name][i]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append("n/a")
            elif isinstance(value, str):
                cells.append(value)
            else:
                cells.append(format(float(value), formats.get(name, ".10g")))
        rows.append("\t".join(cells))
    return "\n".join(rows) + "\n"


def _json(data) -> str:
    return json.dumps(data, indent=2) + "\n"


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _write_run(anatomy: _Anatomy, network: _Network, rng: np.random.Generator, bold_path: str, *,
               timepoints: int, tr: float, edge: float, dtype: str, gzip_level: int,
               mask_path: Optional[str], confounds_path: Optional[str],
               progress: Optional[Callable[[int, int], None]]) -> np.ndarray:
    """Writes one run volume by volume; returns its T × K region time courses (unit variance)."""
    correlation = network.correlation(edge)
    regions = _ar1(rng, timepoints, len(anatomy.values), AR1) @ np.linalg.cholesky(correlation).T
    voxels = anatomy.index.size
    tissue = anatomy.tissue

    # Nuisance time series: global, white-matter and CSF signals, drift (Legendre P1, P2), motion.
    global_signal, white, csf = _ar1(rng, timepoints, 3, 0.8).T
    motion, spikes = _motion(rng, timepoints)
    time = np.linspace(-1.0, 1.0, timepoints)
    drift = np.column_stack([time, 1.5 * time * time - 0.5])
    drop = np.zeros(timepoints)
    drop[spikes] = -rng.uniform(0.01, 0.03, size=spikes.size)        # intensity loss at motion spikes
    displacement = (motion - motion.mean(axis=0)) * np.array([1, 1, 1, 50.0, 50.0, 50.0])  # mm

    # Everything that is constant within a region or tissue class goes into one lookup table, T × (K + 2):
    # region columns, then CSF, then white matter (fractions of baseline). Grey matter picks up a little
    # of the white-matter and CSF signals (partial volume).
    table = np.empty((timepoints, regions.shape[1] + 2))
    table[:, :-2] = REGION_AMPLITUDE * regions + 0.002 * (white + csf)[:, None]
    table[:, -2] = 0.02 * csf
    table[:, -1] = 0.01 * white
    table += (0.004 * global_signal + drift @ rng.normal(0.0, 0.004, size=2) + drop)[:, None]
    column = anatomy.column.copy()
    column[tissue == CSF] = regions.shape[1]
    column[tissue == WHITE] = regions.shape[1] + 1

    # What varies voxel by voxel: drift slopes, and motion artefacts growing towards the edges of the
    # brain (0.3 % of baseline per mm of displacement at the edge).
    u = anatomy.position
    varying = np.stack([*rng.normal(0.0, 0.002, size=(2, voxels)),
                        0.003 * u[:, 0], 0.003 * u[:, 1], 0.003 * u[:, 2],
                        0.006 * u[:, 1] * u[:, 2], 0.006 * u[:, 0] * u[:, 2], 0.006 * u[:, 0] * u[:, 1]])
    varying_series = np.column_stack([drift, displacement])
    baseline = np.array([TISSUE_BASELINE["grey"], TISSUE_BASELINE["csf"], TISSUE_BASELINE["white"]])[tissue]
    baseline = baseline * (1.0 + 0.05 * rng.standard_normal(voxels))

    shape4 = list(anatomy.shape) + [timepoints]
    confounds = _ConfoundAccumulator(tissue, timepoints) if confounds_path else None
    writer = _core.NiftiWriter(bold_path, shape4, anatomy.affine, tr,
                               _core.NiftiWriteOptions(datatype=dtype, gzip_level=gzip_level))
    volume = np.zeros(int(np.prod(anatomy.shape)))
    for t in range(timepoints):
        fraction = table[t, column]
        for pattern, amount in zip(varying, varying_series[t]):   # no BLAS: its threads spin on busy cores
            fraction += amount * pattern
        values = baseline * (1.0 + fraction + VOXEL_NOISE * rng.standard_normal(voxels))
        # Store what the file will hold, so the confounds describe the written data exactly.
        values = np.rint(values) if dtype == "int16" else values.astype(np.float32).astype(np.float64)
        volume[anatomy.index] = values
        writer.write(volume)
        if confounds is not None:
            confounds.add(values)
        if progress is not None:
            progress(t + 1, timepoints)
    writer.close()

    if mask_path:
        mask_writer = _core.NiftiWriter(mask_path, list(anatomy.shape), anatomy.affine, 0.0,
                                        _core.NiftiWriteOptions(datatype="uint8", gzip_level=gzip_level))
        mask_writer.write(anatomy.mask.astype(np.float64))
        mask_writer.close()
    if confounds is not None:
        columns, metadata = confounds.finish(motion, tr)
        write_text(confounds_path, _tsv(columns))
        write_text(os.path.splitext(confounds_path)[0] + ".json", _json(metadata))
    return regions


def simulate_run(bold_path, *, timepoints: int, tr: float, resolution: int, seed: int, dtype: str = "int16",
                 atlas: Optional[str] = None, gzip_level: int = 1, edge_correlation: Optional[float] = None,
                 mask_path=None, confounds_path=None,
                 progress: Optional[Callable[[int, int], None]] = None) -> np.ndarray:
    """Writes one simulated BOLD run (X, Y, Z, T) to ``bold_path``, one volume at a time.

    ``edge_correlation`` is the latent correlation of the planted edges (default: the baseline 0.1).
    ``mask_path`` and ``confounds_path``, when given, also receive the brain mask and the fMRIPrep-style
    confounds TSV (with its JSON sidecar beside it). ``progress(done, total)`` is called per volume.
    Memory stays O(voxels + T × regions) whatever the number of volumes.

    Returns the T × K region time courses (unit variance; voxels carry 2 % of baseline times them), in
    the atlas' ascending label order, i.e. the column order of ``rewire.extract``.
    """
    options = SimulationOptions(subjects=1, timepoints=timepoints, tr=tr, resolution=resolution, effect=0.0,
                                seed=seed, atlas=atlas, dtype=dtype, gzip_level=gzip_level)
    anatomy = _load_anatomy(options.resolution, options.atlas)
    network = _Network(anatomy)
    edge = BASELINE_EDGE_CORRELATION if edge_correlation is None else float(edge_correlation)
    return _write_run(anatomy, network, _rng(seed), os.fspath(bold_path), timepoints=timepoints, tr=tr, edge=edge,
                      dtype=dtype, gzip_level=gzip_level, mask_path=os.fspath(mask_path) if mask_path else None,
                      confounds_path=os.fspath(confounds_path) if confounds_path else None, progress=progress)


# --------------------------------------------------------------------------------------------------
# The study.

@dataclass
class _Subject:
    participant_id: str
    group_index: int
    subject_index: int                 # within the group
    change: float                      # planted post − pre change of the edge correlation
    age: int
    sex: str
    scores: Dict[str, Tuple[float, float]] = field(default_factory=dict)   # name → (pre, post)

    @property
    def group(self) -> str:
        return GROUPS[self.group_index]


def _draw_subject(seed: int, group_index: int, subject_index: int, participant_id: str,
                  effect: float) -> _Subject:
    """Subject-level draws, from a stream of their own (independent of the number of subjects)."""
    rng = _rng(seed, group_index, subject_index)
    factor = float(np.clip(rng.normal(1.0, 0.1), *CHANGE_FACTOR_RANGE))
    change = effect * factor if GROUPS[group_index] == "therapy" else 0.0
    subject = _Subject(participant_id, group_index, subject_index, change, int(rng.integers(20, 56)),
                       "F" if rng.random() < 0.5 else "M")
    for name, spec in CLINICAL.items():
        pre = rng.normal(spec["mean"], spec["sd"])
        post = pre + spec["slope"] * change + rng.normal(0.0, spec["noise"])
        subject.scores[name] = (round(pre, 1), round(post, 1))
    return subject


def simulate_study(out_dir, options: SimulationOptions,
                   progress: Optional[Callable[[int, int], None]] = None) -> dict:
    """Writes the simulated study under ``out_dir`` and returns the ground truth (also in ground_truth.json).

    With the default ``options.atlas`` (None) the synthetic atlas is written too, under ``out_dir``/atlas;
    ``ground_truth["atlas"]["image"]`` names the atlas used (relative to ``out_dir`` when inside it).
    ``progress(done, total)`` is called after each written run.
    """
    options.validate()
    out_dir = os.fspath(out_dir)
    anatomy = _load_anatomy(options.resolution, options.atlas)
    network = _Network(anatomy)
    width = max(2, len(str(2 * options.subjects)))
    subjects = [_draw_subject(options.seed, g, i, f"sub-{g * options.subjects + i + 1:0{width}d}", options.effect)
                for g in range(len(GROUPS)) for i in range(options.subjects)]
    # Check every planted correlation before writing anything.
    for subject in subjects:
        network.correlation(BASELINE_EDGE_CORRELATION + subject.change)
    if anatomy.atlas_image is None:
        write_synthetic_atlas(out_dir, options.resolution, options.gzip_level)

    total = len(subjects) * len(SESSIONS)
    done = 0
    for subject in subjects:
        g, i = subject.group_index, subject.subject_index
        for s, session in enumerate(SESSIONS):
            paths = bids_paths(out_dir, subject.participant_id, session, options.resolution)
            os.makedirs(os.path.dirname(paths["bold"]), exist_ok=True)
            edge = BASELINE_EDGE_CORRELATION + (subject.change if session == "post" else 0.0)
            # Run streams are keyed (group, subject, 1 + session); the subject's own draws use (group, subject).
            _write_run(anatomy, network, _rng(options.seed, g, i, s + 1), paths["bold"],
                       timepoints=options.timepoints, tr=options.tr, edge=edge, dtype=options.dtype,
                       gzip_level=options.gzip_level, mask_path=paths["mask"], confounds_path=paths["confounds"],
                       progress=None)
            write_text(paths["bold_json"], _json({"RepetitionTime": options.tr, "SkullStripped": False,
                                                     "TaskName": TASK}))
            done += 1
            if progress is not None:
                progress(done, total)

    truth = _ground_truth(anatomy, network, subjects, options)
    _write_participants(out_dir, subjects)
    write_text(os.path.join(out_dir, "dataset_description.json"), _json({
        "Name": "rewire simulated resting-state study",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "rewire simulate", "Version": _core.__version__,
                         "Description": "Simulated two-group pre/post resting-state fMRI with a planted "
                                        "amygdala - medial prefrontal connectivity change.",
                         "Options": truth["options"]}],
    }))
    write_text(os.path.join(out_dir, "ground_truth.json"), _json(truth))
    return truth


def _write_participants(out_dir: str, subjects: List[_Subject]) -> None:
    columns: Dict[str, list] = {
        "participant_id": [s.participant_id for s in subjects],
        "group": [s.group for s in subjects],
        "age": [str(s.age) for s in subjects],
        "sex": [s.sex for s in subjects],
    }
    for name in CLINICAL:
        columns[f"{name}_pre"] = [s.scores[name][0] for s in subjects]
        columns[f"{name}_post"] = [s.scores[name][1] for s in subjects]
    write_text(os.path.join(out_dir, "participants.tsv"),
                  _tsv(columns, {name: ".1f" for name in columns}))
    sidecar = {"group": {"Description": "therapy: received the intervention between sessions; control: did not"},
               "age": {"Description": "age at the pre session", "Units": "years"},
               "sex": {"Description": "F or M"}}
    for name, spec in CLINICAL.items():
        for session in SESSIONS:
            sidecar[f"{name}_{session}"] = {"Description": f"{spec['description']}, {session} session"}
    write_text(os.path.join(out_dir, "participants.json"), _json(sidecar))


def _ground_truth(anatomy: _Anatomy, network: _Network, subjects: List[_Subject],
                  options: SimulationOptions) -> dict:
    names, values = anatomy.names, anatomy.values
    low, high = network.edge_range()
    base = BASELINE_EDGE_CORRELATION
    per_group = {}
    for group in GROUPS:
        changes = [s.change for s in subjects if s.group == group]
        per_group[group] = float(np.mean(changes))
    if anatomy.atlas_image is None:
        # Written into the study: recorded relative to it, so that the study can move.
        name = SYNTHETIC_ATLAS_NAME
        atlas_image, table = synthetic_atlas_paths("", options.resolution)
    else:
        # The label table Atlas.from_file picked up: "<image without .gz>.txt" (mricron) or "<stem>.tsv".
        name = os.path.basename(anatomy.atlas_image)
        atlas_image = anatomy.atlas_image
        image = atlas_image[:-3] if atlas_image.endswith(".gz") else atlas_image
        stem = image[:-4] if image.endswith(".nii") else image
        table = next((c for c in (image + ".txt", stem + ".tsv") if os.path.isfile(c)), None)
    return {
        "software": {"name": "rewire simulate", "version": _core.__version__},
        "seed": options.seed,
        "options": asdict(options),
        "grid": {"resolution_mm": options.resolution, "shape": list(anatomy.shape),
                 "affine": anatomy.affine.tolist(), "timepoints": options.timepoints, "tr": options.tr,
                 "space": SPACE, "dtype": options.dtype},
        "atlas": {"name": name, "image": atlas_image, "labels": table, "regions": len(values),
                  "column_order": "ascending label value (rewire.extract's columns)"},
        "planted_regions": [{"name": names[c], "value": int(values[c]), "column": int(c), "selected_by": how}
                            for c, how in zip(network.planted, network.selected_by)],
        "planted_edges": [{"regions": [names[a], names[m]], "values": [int(values[a]), int(values[m])],
                           "columns": [int(a), int(m)]} for a, m in network.edges],
        "baseline_correlation": base,
        "planted_pair_correlation": PLANTED_PAIR_CORRELATION,
        "attainable_edge_correlation": [round(low, 6), round(high, 6)],
        "edge_correlation": {group: {"pre": base, "post": round(base + per_group[group], 6)} for group in GROUPS},
        "effect": {group: round(per_group[group], 6) for group in GROUPS},
        "nominal_effect": options.effect,
        "subjects": {s.participant_id: {"group": s.group, "change": round(s.change, 6),
                                        "edge_correlation": {"pre": base, "post": round(base + s.change, 6)}}
                     for s in subjects},
        "clinical": {name: {"slope_per_unit_change": spec["slope"], "noise_sd": spec["noise"],
                            "description": spec["description"]} for name, spec in CLINICAL.items()},
        "signal": {"note": "edge correlations are those of the latent region time courses, before nuisance "
                           "and voxel noise; raw parcel means show slightly smaller changes",
                   "region_amplitude": REGION_AMPLITUDE, "voxel_noise": VOXEL_NOISE, "ar1": AR1,
                   "tissue_baseline": TISSUE_BASELINE},
    }
