"""rewire: resting-state fMRI functional connectivity.

From preprocessed BOLD volumes to region time series (streamed, one volume at a time), connectivity
matrices, pre/post change and cohort statistics. Time series are numpy float64 arrays shaped (T, N),
as in nilearn.
"""
from ._core import __version__
from .api import Atlas, correlation, edge_index, edge_vector, extract, fisher_z, load_data, read_header

__all__ = [
    "Atlas",
    "__version__",
    "correlation",
    "edge_index",
    "edge_vector",
    "extract",
    "fisher_z",
    "load_data",
    "read_header",
]
