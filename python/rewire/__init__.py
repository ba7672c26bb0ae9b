"""rewire: resting-state fMRI functional connectivity.

From preprocessed BOLD volumes to region time series (streamed, one volume at a time), connectivity
matrices, pre/post change and cohort statistics. Time series are numpy float64 arrays shaped (T, N),
as in nilearn.

The public names are imported on first use (PEP 562), so that ``import rewire`` and the command line
start without loading numpy, pandas or the extension module.
"""
from __future__ import annotations

import importlib
import sys
import types

# No typing import here (annotations are strings): it would cost `import rewire` ~10 ms.

#: Public name → the module that defines it (relative to this package).
_LAZY: dict[str, str] = {
    "Atlas": ".images",
    "extract": ".images",
    "load_data": ".images",
    "load_image3d": ".images",
    "read_header": ".images",
    "warp_atlas": ".transforms",
    "ConnectivityMeasure": ".connectivity",
    "Tangent": ".connectivity",
    "connectivity": ".connectivity",
    "correlation": ".connectivity",
    "covariance": ".connectivity",
    "covariance_to_correlation": ".connectivity",
    "edge_index": ".connectivity",
    "edge_nodes": ".connectivity",
    "edge_vector": ".connectivity",
    "edge_zscores": ".connectivity",
    "fisher_z": ".connectivity",
    "geometric_mean": ".connectivity",
    "ledoit_wolf": ".connectivity",
    "oas": ".connectivity",
    "precision_to_partial_correlation": ".connectivity",
    "sym_matrix_to_vec": ".connectivity",
    "vec_to_sym_matrix": ".connectivity",
    "Cohort": ".cohort",
    "delta": ".cohort",
    "StudyOptions": ".study.options",
    "run_study": ".study.run",
    "clean": ".signal",
    "framewise_displacement": ".confounds",
    "load_confounds": ".confounds",
    "load_confounds_strategy": ".confounds",
}

#: Public submodules reached as attributes (``rewire.stats.nbs``).
_SUBMODULES = ("stats", "transforms")
#: Submodules that ``import rewire`` used to load, still reached as attributes on first use.
_MODULES = ("_core", "cli", "cohort", "confounds", "demo", "images", "nilearn", "signal", "simulate", "study")

__all__: list[str] = sorted([*_LAZY, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> object:
    if name == "__version__":
        from ._core import __version__ as version  # the extension's: one version for C++ and Python

        globals()[name] = version
        return version
    if name in _SUBMODULES or name in _MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``rewire.connectivity`` is the function, not the module of the same name: importing the module
    (for any reason) makes the import system set the package attribute to the module, which is turned
    into the function here, as the eager ``from .connectivity import connectivity`` used to do."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == f".{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
