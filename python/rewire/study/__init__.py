"""Whole studies: discovery over BIDS / fMRIPrep derivatives, the run loop into a cohort store, and the
BIDS-derivative outputs written beside it. Names are imported on first use (the command line reads
:class:`StudyOptions` without loading numpy)."""
from __future__ import annotations

import importlib

__all__ = ["StudyOptions", "run_study"]

_LAZY = {"StudyOptions": ".options", "run_study": ".run"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
