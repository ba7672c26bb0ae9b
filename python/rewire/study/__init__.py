"""Whole studies: discovery over BIDS / fMRIPrep derivatives, the run loop into a cohort store, and the
BIDS-derivative outputs written beside it."""
from .run import StudyOptions, run_study

__all__ = ["StudyOptions", "run_study"]
