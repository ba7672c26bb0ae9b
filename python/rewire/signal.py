"""Signal cleaning with nilearn.signal.clean's parameters, defaults and numbers (nilearn 0.14)."""
from __future__ import annotations

import csv
import numbers
import os
import warnings
from typing import Optional, Sequence, Union

import numpy as np

from . import _core

__all__ = ["butterworth", "clean"]

#: The defaults of every cleaning keyword (C++ CleanOptions, which has nilearn's).
_CLEAN = _core.CleanOptions()
_STANDARDIZE = ("zscore_sample", "zscore", "psc")
_FILTERS = ("butterworth", "cosine")
_PADTYPES = ("odd", "even", "constant", None)
_BUTTERWORTH_KWARGS = ("order", "padtype", "padlen", "copy")


def clean(signals, *, runs=None, detrend: bool = _CLEAN.detrend, standardize=str(_CLEAN.standardize),
          sample_mask=None, confounds=None, standardize_confounds: bool = _CLEAN.standardize_confounds,
          filter=str(_CLEAN.filter), low_pass: Optional[float] = _CLEAN.low_pass,
          high_pass: Optional[float] = _CLEAN.high_pass, t_r: Optional[float] = _CLEAN.t_r,
          ensure_finite: bool = _CLEAN.ensure_finite, extrapolate: bool = _CLEAN.extrapolate,
          threads: int = _CLEAN.threads, **kwargs) -> np.ndarray:
    """Detrend, censor, band-pass, regress confounds out of and standardize (T, N) signals.

    A drop-in for ``nilearn.signal.clean`` (nilearn 0.14.1): same parameter names, defaults and order
    of operations, and the same numbers (tested to 1e-8 relative). Steps, in order:

    1. ``filter="cosine"``: cosine drift regressors up to ``high_pass`` Hz are added to the confounds
       (built on the whole run; skipped with a warning when a confound already correlates > 0.9
       with one of them).
    2. ``sample_mask``: with Butterworth filtering, censored frames are replaced by a cubic spline
       through the kept frames (scipy's ``CubicSpline``; frames before the first / after the last
       kept frame are extrapolated when ``extrapolate`` else dropped); otherwise they are removed.
    3. ``detrend``: mean and linear trend removed from signals and confounds.
    4. Butterworth (order 5, zero-phase ``sosfiltfilt`` with odd padding) low-, high- or band-pass
       on signals and confounds alike; then the censored frames are removed.
    5. Confounds standardized (``standardize_confounds``; else divided by their maximum) and
       regressed out (projection off their span, column-pivoted QR).
    6. ``standardize``: ``"zscore_sample"`` (ddof=1, nilearn's default since 0.13), ``"zscore"``
       (ddof=0: nilearn's behaviour and default up to 0.12), ``"psc"`` (percent signal change) or
       None. ``True`` means ``"zscore_sample"`` and ``False`` None, as in nilearn 0.14.

    Parameters
    ----------
    signals : array (T, N) or (T,)
        Time series, one column per region. Not modified.
    runs : array (T,), optional
        Run label of each frame; each run is cleaned alone and the result stacks the runs in
        ascending label order (as nilearn).
    detrend, standardize, standardize_confounds : see above.
    sample_mask : array or list of arrays, optional
        Frames to keep: a boolean mask of the run's length (True = keep) or strictly increasing
        frame indices. With ``runs``, a list holding one such mask per run (ascending label order).
    confounds : array (T, K) or (T,), pandas.DataFrame, path to a CSV/TSV file, or a list of these
        Nuisance regressors (a file may have a one-line header; ``n/a`` reads as NaN).
    filter : {"butterworth", "cosine", False}
    low_pass, high_pass : float, optional
        Cut-offs in Hz. A cut-off at or above Nyquist is moved just below it with a warning (nilearn).
    t_r : float
        Repetition time in seconds (needed by both filters).
    ensure_finite : bool
        Replace NaN / infinity in the signals by 0 first.
    extrapolate : bool
        See step 2 (nilearn's default changed from True to False in 0.13).
    threads : int
        Threads (0: ``REWIRE_NUM_THREADS``, ``OMP_NUM_THREADS`` or all cores); results do not depend on it.
    **kwargs
        ``butterworth__order``, ``butterworth__padtype`` ("odd", "even", "constant", None),
        ``butterworth__padlen`` as nilearn; ``butterworth__copy`` is accepted and ignored.

    Returns
    -------
    ndarray (T', N) float64, T' the number of kept frames (Fortran-ordered); 1-D in, 1-D out.

    Differences from nilearn 0.14.1, all deliberate
    -----------------------------------------------
    - Every censored frame is interpolated before Butterworth filtering. nilearn 0.14.1 writes the
      spline into ``volumes[~sample_mask]`` with integer indices, i.e. into frames T-1-i for the kept
      frames i, so a censored frame j is interpolated only when frame T-1-j is kept; otherwise its
      raw value (a motion spike) is filtered into its neighbours. Where every censored frame has
      its mirror kept, the outputs are equal.
    - NaN or infinity in a kept frame raises ValueError naming the column (signals: unless
      ``ensure_finite``; confounds: always) instead of returning NaN / failing inside QR.
    - A column with nothing but rounding noise left (a constant signal, or one that the confounds
      explain exactly: std below 1e-11 of its largest input value) is set to 0 with a warning,
      where nilearn z-scores the noise. A confound column with nothing left after detrending /
      filtering (e.g. a linear trend with ``detrend=True``) is dropped rather than scaled up.
    - With ``runs``, every option applies to every run (nilearn's run loop silently resets
      ``standardize_confounds``, ``extrapolate`` and the ``butterworth__`` options to defaults).
    - Keyword-only after ``signals``; the result is always float64 (nilearn keeps float32 input
      in float32); sample masks must be sorted (nilearn would reorder frames) and boolean masks must
      have the run's length; unknown keyword arguments raise TypeError.
    - Errors: bad sample masks raise ValueError (nilearn: IndexError / AllVolumesRemovedError).
    """
    signals = np.asarray(signals)
    if signals.dtype.kind not in "biuf":
        raise TypeError(f"clean: signals must hold real numbers, got dtype {signals.dtype}")
    one_d = signals.ndim == 1
    if one_d:
        signals = signals[:, np.newaxis]
    if signals.ndim != 2:
        raise ValueError(f"clean: signals must be shaped (T, N), got {signals.ndim} dimensions")
    n_time = signals.shape[0]
    if n_time == 0:
        raise ValueError("clean: signals have no time points")

    order, padtype, padlen = _butterworth_kwargs(kwargs)
    standardize = _standardize_name(standardize)
    filter_name = _filter_name(filter)
    for name, value in (("low_pass", low_pass), ("high_pass", high_pass), ("t_r", t_r)):
        _check_number(name, value)
    if not isinstance(ensure_finite, (bool, np.bool_)):
        raise ValueError(f"clean: ensure_finite must be True or False, got {ensure_finite!r}")

    confounds = _confound_array(confounds, n_time)
    codes, labels = _run_codes(runs, n_time)
    keep = _keep_flags(sample_mask, codes, labels, n_time)

    options = _core.CleanOptions(
        detrend=bool(detrend), standardize=standardize or "none", standardize_confounds=bool(standardize_confounds),
        filter=filter_name or "none", low_pass=_float(low_pass), high_pass=_float(high_pass), t_r=_float(t_r),
        ensure_finite=bool(ensure_finite), extrapolate=bool(extrapolate), butterworth_order=order,
        padtype=padtype or "none", padlen=padlen, threads=int(threads))
    out, messages = _core.clean(np.asfortranarray(signals, dtype=np.float64), options, confounds,
                                None if keep is None else keep.tolist(), None if codes is None else codes.tolist())
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=2)
    return out[:, 0] if one_d else out


def butterworth(signals, sampling_rate: float, low_pass: Optional[float] = _CLEAN.low_pass,
                high_pass: Optional[float] = _CLEAN.high_pass, order: int = _CLEAN.butterworth_order,
                padtype: Optional[str] = str(_CLEAN.padtype), padlen: Optional[int] = _CLEAN.padlen,
                copy: bool = False) -> np.ndarray:
    """Zero-phase Butterworth filter of each column, as ``nilearn.signal.butterworth`` (which calls
    ``scipy.signal.butter(..., output="sos")`` and ``sosfiltfilt``). Always returns a new float64
    array (``copy`` is accepted for compatibility). Cut-offs outside (0, Nyquist) raise ValueError."""
    x = np.asarray(signals, dtype=np.float64)
    if low_pass is None and high_pass is None:
        return x.copy()
    if padtype not in _PADTYPES:
        raise ValueError(f"butterworth: padtype must be 'odd', 'even', 'constant' or None, got {padtype!r}")
    sos = _core.butterworth_sos(int(order), _float(high_pass), _float(low_pass), float(sampling_rate))
    column = x[:, np.newaxis] if x.ndim == 1 else x
    out = _core.sosfiltfilt(sos, column, padtype, padlen)
    return out[:, 0] if x.ndim == 1 else out


def _confound_array(confounds, n_time: int) -> Optional[np.ndarray]:
    """Confounds as a float64 (T, K) array from an array, a DataFrame, a CSV/TSV path or a list of
    these (stacked side by side), as nilearn.signal.clean reads them. None stays None."""
    if confounds is None:
        return None
    parts = list(confounds) if isinstance(confounds, (list, tuple)) else [confounds]
    arrays = []
    for part in parts:
        if isinstance(part, (str, os.PathLike)):
            array = _read_table(os.fspath(part))
        elif hasattr(part, "to_numpy") and hasattr(part, "columns"):  # a pandas DataFrame
            array = part.to_numpy()
        elif isinstance(part, np.ndarray):
            array = part
        else:
            raise TypeError(f"confounds: expected an array, a DataFrame, a path or a list of these, "
                            f"got {type(part).__name__}")
        array = np.asarray(array, dtype=np.float64)
        if array.ndim == 1:
            array = array[:, np.newaxis]
        elif array.ndim != 2:
            raise ValueError(f"confounds must be shaped (T, K), got {array.ndim} dimensions")
        if array.shape[0] != n_time:
            raise ValueError(f"confounds have {array.shape[0]} rows (time points) but signals have {n_time}")
        arrays.append(array)
    return np.hstack(arrays) if len(arrays) > 1 else arrays[0]


def _read_table(path: str) -> np.ndarray:
    # nilearn's csv_to_array: whitespace first, else the delimiter sniffed from the first line; a
    # first value that reads as NaN means a header line.
    def read(**kwargs):
        try:
            return np.genfromtxt(path, loose=False, encoding=None, **kwargs)
        except ValueError:
            with open(path) as handle:
                try:
                    delimiter = csv.Sniffer().sniff(handle.readline(), " \t,;").delimiter
                except csv.Error:  # one column: nothing to sniff (nilearn gives up here)
                    delimiter = None
            return np.genfromtxt(path, delimiter=delimiter, encoding=None, **kwargs)

    if not os.path.exists(path):
        raise FileNotFoundError(f"confounds: no such file: {path}")
    table = read()
    if np.size(table) and np.isnan(np.ravel(table)[0]):
        table = read(skip_header=1)
    return table


def _butterworth_kwargs(kwargs):
    options = {}
    for key, value in kwargs.items():
        name = key[len("butterworth__"):] if key.startswith("butterworth__") else None
        if name not in _BUTTERWORTH_KWARGS:
            raise TypeError(f"clean: unexpected keyword argument {key!r} (only butterworth__order, "
                            "butterworth__padtype and butterworth__padlen are passed on)")
        options[name] = value
    order = options.get("order", _CLEAN.butterworth_order)
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ValueError(f"clean: butterworth__order must be a positive integer, got {order!r}")
    padtype = options.get("padtype", str(_CLEAN.padtype))
    if padtype not in _PADTYPES:
        raise ValueError(f"clean: butterworth__padtype must be 'odd', 'even', 'constant' or None, got {padtype!r}")
    padlen = options.get("padlen", _CLEAN.padlen)
    if padlen is not None and (isinstance(padlen, bool) or not isinstance(padlen, numbers.Integral) or padlen < 0):
        raise ValueError(f"clean: butterworth__padlen must be a non-negative integer or None, got {padlen!r}")
    return int(order), padtype, None if padlen is None else int(padlen)


def _standardize_name(standardize):
    if standardize is True:
        return "zscore_sample"
    if standardize is False or standardize is None:
        return None
    if standardize not in _STANDARDIZE:
        raise ValueError(f"clean: standardize must be one of 'zscore_sample', 'zscore', 'psc', None, "
                         f"got {standardize!r}")
    return standardize


def _filter_name(filter):
    if filter is False or filter is None:
        return None
    if filter not in _FILTERS:
        raise ValueError(f"clean: filter must be 'butterworth', 'cosine' or False, got {filter!r}")
    return filter


def _check_number(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise TypeError(f"clean: {name} must be a number or None, got {value!r}")


def _float(value):
    return None if value is None else float(value)


def _run_codes(runs, n_time):
    if runs is None:
        return None, None
    runs = np.asarray(runs)
    if runs.ndim != 1 or runs.shape[0] != n_time:
        raise ValueError(f"clean: runs must hold one label per time point ({n_time}), got shape {runs.shape}")
    labels, codes = np.unique(runs, return_inverse=True)
    return codes.astype(np.int64).ravel(), labels


def _keep_flags(sample_mask, codes, labels, n_time):
    """One keep flag per frame from nilearn's sample_mask forms (None: keep all)."""
    if sample_mask is None:
        return None
    n_runs = 1 if codes is None else len(labels)
    if isinstance(sample_mask, np.ndarray):
        masks = [sample_mask]
    elif isinstance(sample_mask, (list, tuple)):
        if codes is None and len(sample_mask) and all(np.ndim(m) == 0 for m in sample_mask):
            masks = [np.asarray(sample_mask)]  # a plain list of indices or flags for the only run
        else:
            masks = [np.asarray(m) for m in sample_mask]
    else:
        raise TypeError(f"clean: sample_mask must be an array or a list of arrays, got {type(sample_mask).__name__}")
    if len(masks) != n_runs:
        raise ValueError(f"clean: got {len(masks)} sample_mask(s) for {n_runs} run(s); give one per run")
    keep = np.zeros(n_time, dtype=bool)
    for i, mask in enumerate(masks):
        rows = np.arange(n_time) if codes is None else np.flatnonzero(codes == i)
        where = "" if codes is None else f" (run {labels[i]!r})"
        mask = np.asarray(mask)
        if mask.ndim != 1:
            raise ValueError(f"clean: sample_mask{where} must be 1-D, got shape {mask.shape}")
        if mask.dtype == bool:
            if mask.shape[0] != rows.shape[0]:
                raise ValueError(f"clean: boolean sample_mask{where} has {mask.shape[0]} flags but the run has "
                                 f"{rows.shape[0]} time points")
            index = np.flatnonzero(mask)
        elif mask.size == 0 or mask.dtype.kind in "iu":
            index = mask.astype(np.int64)
        else:
            raise ValueError(f"clean: sample_mask{where} must hold booleans or integer frame indices, "
                             f"got dtype {mask.dtype}")
        if index.size == 0:
            raise ValueError(f"clean: sample_mask{where} removes every frame")
        if index.min() < 0 or index.max() >= rows.shape[0]:
            bad = index[(index < 0) | (index >= rows.shape[0])][0]
            raise ValueError(f"clean: sample_mask{where} holds frame index {bad}, outside [0, {rows.shape[0]})")
        if np.any(np.diff(index) <= 0):
            raise ValueError(f"clean: sample_mask{where} indices must be strictly increasing")
        keep[rows[index]] = True
    return keep
