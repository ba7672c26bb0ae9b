"""rewire: resting-state fMRI functional connectivity.

From preprocessed BOLD volumes to region time series (streamed, one volume at a time), connectivity
matrices, pre/post change and cohort statistics. Time series are numpy float64 arrays shaped (T, N),
as in nilearn.
"""
from ._core import __version__
from .images import Atlas, extract, load_data, read_header
from .connectivity import (ConnectivityMeasure, Tangent, connectivity, correlation, covariance, covariance_to_correlation,
                           edge_index, edge_vector, fisher_z,
                         edge_zscores, geometric_mean, ledoit_wolf, oas, precision_to_partial_correlation,
                         sym_matrix_to_vec, vec_to_sym_matrix)
from .cohort import Cohort, delta
from .study import StudyOptions, run_study
from .signal import clean
from .confounds import framewise_displacement, load_confounds, load_confounds_strategy
from . import stats

__all__ = [
    "Atlas",
    "Cohort",
    "ConnectivityMeasure",
    "StudyOptions",
    "Tangent",
    "__version__",
    "clean",
    "connectivity",
    "correlation",
    "covariance",
    "covariance_to_correlation",
    "delta",
    "edge_index",
    "edge_vector",
    "edge_zscores",
    "extract",
    "fisher_z",
    "framewise_displacement",
    "geometric_mean",
    "ledoit_wolf",
    "load_confounds",
    "load_confounds_strategy",
    "load_data",
    "oas",
    "precision_to_partial_correlation",
    "read_header",
    "run_study",
    "stats",
    "sym_matrix_to_vec",
    "vec_to_sym_matrix",
]
