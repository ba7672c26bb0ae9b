"""rewire.clean against nilearn.signal.clean (nilearn 0.14.1), and its pieces against scipy.

The main test draws 64 random option sets (fixed seeds) over simulated signals and the real parcel
signals nitime ships (fmri_timeseries.csv: white matter, ventricles and whole brain as confounds,
28 regions as signals) and requires max |rewire − nilearn| ≤ 1e-8 · max |nilearn| and the same
warnings. nilearn 0.14.1 interpolates the wrong frames when censoring before a Butterworth filter
(``volumes[~sample_mask]`` on integer indices: censored frame j is interpolated only when frame
T−1−j is kept); the reference used there is nilearn with that one line corrected, and a separate
test shows the difference is exactly that bug.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from nilearn import signal as nsignal
from scipy import signal as ssignal
from scipy.interpolate import CubicSpline

import rewire
from rewire import _core
from conftest import NITIME_DATA, max_relative, require

RTOL = 1e-8  # max |rewire − reference| / max |reference|, double precision
CASES = 64


def _interpolate_volumes_fixed(volumes, sample_mask, t_r, extrapolate):
    """nilearn 0.14.1's _interpolate_volumes with its censored-frame selection corrected: the
    original assigns ``volumes[~sample_mask]`` where sample_mask holds int32 indices, i.e. frames
    −(i+1) ≡ T−1−i for the kept frames i, instead of the frames that are not kept."""
    frame_times = np.arange(volumes.shape[0]) * t_r
    spline = CubicSpline(frame_times[sample_mask], volumes[sample_mask, :], extrapolate=extrapolate)
    interpolated = spline(frame_times)
    censored = np.ones(volumes.shape[0], dtype=bool)
    censored[sample_mask] = False
    volumes[censored, :] = interpolated[censored, :]
    return volumes


@pytest.fixture
def fixed_nilearn(monkeypatch):
    monkeypatch.setattr(nsignal, "_interpolate_volumes", _interpolate_volumes_fixed)


def _real_table():
    path = require(os.path.join(NITIME_DATA, "fmri_timeseries.csv"))
    return np.genfromtxt(path, delimiter=",", skip_header=1)  # 250 × 31, TR 1.89 s


def _derivative(x):
    return np.vstack([np.zeros((1, x.shape[1])), np.diff(x, axis=0)])


def _case(index):
    """Signals, confounds and one random nilearn.signal.clean option set (seeded by `index`)."""
    rng = np.random.default_rng(7000 + index)
    if index % 2:
        table = _real_table()
        signals = table[:, 3:].copy()
        pool = np.hstack([table[:, :3], _derivative(table[:, :3])])
        t_r = 1.89
    else:
        n_time = int(rng.choice([150, 240]))
        n = int(rng.integers(3, 12))
        t = np.arange(n_time)[:, None]
        signals = (rng.standard_normal((n_time, n)).cumsum(0) * 0.3 + rng.standard_normal((n_time, n))
                   + np.sin(2 * np.pi * t * rng.uniform(0.002, 0.2, n)) * rng.uniform(0.5, 3, n)
                   + rng.uniform(-50, 200, n))
        motion = rng.standard_normal((n_time, 4)).cumsum(0) * 0.1
        pool = np.hstack([motion, _derivative(motion), motion ** 2, rng.standard_normal((n_time, 2))])
        t_r = float(rng.choice([0.72, 1.0, 2.0, 2.5]))
    n_time = signals.shape[0]
    nyquist = 0.5 / t_r
    opts = {"t_r": t_r}
    opts["detrend"] = bool(rng.random() < 0.7)
    opts["standardize"] = [None, "zscore_sample", "zscore_sample", "psc", True, False][rng.integers(6)]
    if opts["standardize"] == "psc":
        signals = signals + 300.0  # psc is meaningful for signals with a mean well away from 0
    opts["filter"] = ["butterworth", "butterworth", "cosine", False][rng.integers(4)]
    low = float(rng.uniform(0.06, 0.15))
    high = float(rng.uniform(0.005, 0.03))
    if rng.random() < 0.1:
        low = nyquist * rng.uniform(1.0, 1.3)  # at or above Nyquist: nilearn lowers it, with a warning
    bands = {"band": (low, high), "low": (low, None), "high": (None, high), "none": (None, None)}
    if opts["filter"] == "butterworth":
        opts["low_pass"], opts["high_pass"] = bands[["band", "band", "low", "high", "none"][rng.integers(5)]]
    elif opts["filter"] == "cosine":
        opts["high_pass"] = high
        if rng.random() < 0.2:
            opts["low_pass"] = low
    elif rng.random() < 0.3:
        opts["low_pass"] = low
    kind = ["none", "array", "array", "frame", "path", "list"][rng.integers(6)]
    columns = rng.choice(pool.shape[1], size=int(rng.integers(1, pool.shape[1] + 1)), replace=False)
    confounds = pool[:, np.sort(columns)]
    opts["standardize_confounds"] = bool(rng.random() < 0.75)
    mask = None
    if rng.random() < 0.5:
        mask = rng.random(n_time) > rng.uniform(0.05, 0.2)
        if rng.random() < 0.4:
            mask[: int(rng.integers(1, 4))] = False  # censored first frames (extrapolated or dropped)
        if rng.random() < 0.4:
            mask[-int(rng.integers(1, 4)):] = False
    opts["extrapolate"] = bool(rng.random() < 0.5)
    runs = None
    if rng.random() < 0.25:
        runs = (np.arange(n_time) >= n_time // 2).astype(int)
    elif opts["filter"] == "butterworth" and rng.random() < 0.4:
        opts["butterworth__order"] = int(rng.choice([2, 3, 4, 6]))
        opts["butterworth__padtype"] = ["odd", "even", "constant"][rng.integers(3)]
    return signals, confounds, kind, mask, runs, opts


def _confound_input(kind, confounds, tmp_path):
    if kind == "none":
        return None
    if kind == "array":
        return confounds
    names = [f"c{j}" for j in range(confounds.shape[1])]
    if kind == "frame":
        return pd.DataFrame(confounds, columns=names)
    if kind == "path":
        path = tmp_path / "confounds.tsv"
        pd.DataFrame(confounds, columns=names).to_csv(path, sep="\t", index=False, float_format="%.17g")
        return str(path)
    half = confounds.shape[1] // 2
    return [confounds[:, :half], pd.DataFrame(confounds[:, half:])] if half else [confounds]


def _mask_input(mask, rows, rng):
    """The sample mask of `rows` as nilearn accepts it: boolean or kept indices."""
    sub = mask[rows]
    return sub if rng.random() < 0.5 else np.flatnonzero(sub)


def _nilearn(signals, confounds, mask_for, runs, opts):
    """nilearn.signal.clean, and the UserWarnings it gives. With runs, each run alone (rewire applies
    every option to every run; nilearn's own run loop drops some, checked separately)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if runs is None:
            out = nsignal.clean(signals, confounds=confounds, sample_mask=mask_for(np.arange(len(signals))), **opts)
        else:
            parts = []
            for label in np.unique(runs):
                rows = np.flatnonzero(runs == label)
                parts.append(nsignal.clean(signals[rows], confounds=None if confounds is None else confounds[rows],
                                           sample_mask=mask_for(rows), **opts))
            out = np.vstack(parts)
    return out, {str(w.message) for w in caught if w.category is UserWarning}


@pytest.mark.parametrize("index", range(CASES))
def test_clean_equals_nilearn(index, tmp_path, fixed_nilearn):
    signals, confounds, kind, mask, runs, opts = _case(index)
    rng = np.random.default_rng(index)
    masks = {}

    def mask_for(rows):
        if mask is None:
            return None
        key = (int(rows[0]), len(rows))
        if key not in masks:
            masks[key] = _mask_input(mask, rows, rng)
        return masks[key]

    reference, expected_warnings = _nilearn(signals, None if kind == "none" else confounds, mask_for, runs, opts)
    given = _confound_input(kind, confounds, tmp_path)
    if runs is None:
        sample_mask = mask_for(np.arange(len(signals)))
    else:
        sample_mask = None if mask is None else [mask_for(np.flatnonzero(runs == r)) for r in (0, 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = rewire.clean(signals, runs=runs, confounds=given, sample_mask=sample_mask, **opts)
    assert got.shape == reference.shape
    assert max_relative(got, reference) <= RTOL, opts
    assert {str(w.message) for w in caught} == expected_warnings


def test_runs_equal_nilearn_own_run_loop():
    """Where nilearn's run loop forwards every option, rewire equals nilearn.signal.clean(runs=...)
    directly, including runs given in interleaved order (stacked by ascending label)."""
    table = _real_table()
    signals, confounds = table[:, 3:], table[:, :3]
    runs = np.repeat([2, 0, 1], [90, 80, 80])
    options = dict(confounds=confounds, low_pass=0.1, high_pass=0.01, t_r=1.89)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = nsignal.clean(signals, runs=runs, **options)
    got = rewire.clean(signals, runs=runs, **options)
    assert max_relative(got, reference) <= RTOL
    # Censoring without interpolation (no filter) is not touched by nilearn's interpolation bug
    # (nilearn's sample-mask check needs labels 0 .. n_runs − 1).
    runs = np.repeat([0, 1, 2], [90, 80, 80])
    kept = np.ones(250, dtype=bool)
    kept[[5, 6, 100, 101, 170, 200]] = False
    sample_mask = [np.flatnonzero(kept[runs == r]) for r in (0, 1, 2)]
    options = dict(confounds=confounds, filter=False, t_r=1.89)
    reference = nsignal.clean(signals, runs=runs, sample_mask=sample_mask, **options)
    got = rewire.clean(signals, runs=runs, sample_mask=sample_mask, **options)
    assert got.shape == (244, 28)
    assert max_relative(got, reference) <= RTOL


def test_interpolation_differs_from_nilearn_only_by_its_indexing_bug():
    """nilearn 0.14.1 interpolates a censored frame j only when frame T−1−j is kept."""
    table = _real_table()
    signals, confounds = table[:, 3:], table[:, :3]
    options = dict(confounds=confounds, low_pass=0.1, high_pass=0.01, t_r=1.89)
    # Every censored frame has its mirror kept: nilearn interpolates the right frames and equals rewire.
    mirrored_kept = np.ones(250, dtype=bool)
    mirrored_kept[[40, 41, 100, 230]] = False
    reference = nsignal.clean(signals, sample_mask=mirrored_kept, **options)
    assert max_relative(rewire.clean(signals, sample_mask=mirrored_kept, **options), reference) <= RTOL
    # A spike at frame 40, censored together with its mirror 209: nilearn filters the spike as if it
    # were data, so it rings into its neighbours; rewire interpolates it, and its output does not
    # depend on the censored value at all.
    spiked = signals.copy()
    spiked[40] += 500.0
    both = np.ones(250, dtype=bool)
    both[[40, 209]] = False
    buggy = nsignal.clean(spiked, sample_mask=both, **options)
    got = rewire.clean(spiked, sample_mask=both, **options)
    assert max_relative(got, buggy) > 1e-2
    assert max_relative(got, rewire.clean(signals, sample_mask=both, **options)) <= 1e-12
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nsignal, "_interpolate_volumes", _interpolate_volumes_fixed)
        fixed = nsignal.clean(spiked, sample_mask=both, **options)
    assert max_relative(got, fixed) <= RTOL


def test_old_zscore_is_population_std(rng):
    signals = rng.standard_normal((80, 5)).cumsum(0) + 10
    base = nsignal.clean(signals, standardize=None, low_pass=0.1, t_r=2.0)
    expected = (base - base.mean(0)) / base.std(0)  # ddof = 0, nilearn <= 0.12's "zscore"
    got = rewire.clean(signals, standardize="zscore", low_pass=0.1, t_r=2.0)
    assert max_relative(got, expected) <= RTOL
    assert np.allclose(got.std(0), 1.0, rtol=1e-12)
    sample = rewire.clean(signals, standardize="zscore_sample", low_pass=0.1, t_r=2.0)
    assert np.allclose(got / sample, np.sqrt(80 / 79), rtol=1e-12)
    assert np.array_equal(rewire.clean(signals, standardize=True), rewire.clean(signals))


def test_ensure_finite_matches_nilearn(rng):
    signals = rng.standard_normal((60, 4)).cumsum(0)
    signals[[3, 17], 2] = np.nan
    signals[30, 0] = np.inf
    reference = nsignal.clean(signals, ensure_finite=True, low_pass=0.2, t_r=1.0)
    got = rewire.clean(signals, ensure_finite=True, low_pass=0.2, t_r=1.0)
    assert max_relative(got, reference) <= RTOL


def test_nan_in_censored_frames_is_allowed(rng):
    """Censored frames are interpolated or removed, so NaN there (fMRIPrep's first-row derivatives)
    is harmless; in a kept frame it is an error naming the column."""
    signals = rng.standard_normal((100, 3)).cumsum(0)
    confounds = rng.standard_normal((100, 2)).cumsum(0)
    confounds[0, 1] = np.nan
    keep = np.ones(100, dtype=bool)
    keep[0] = False
    clean_confounds = confounds.copy()
    clean_confounds[0, 1] = 0.0
    for options in (dict(low_pass=0.1, t_r=2.0, extrapolate=True), dict(filter=False)):
        got = rewire.clean(signals, confounds=confounds, sample_mask=keep, **options)
        assert np.isfinite(got).all()
        reference = rewire.clean(signals, confounds=clean_confounds, sample_mask=keep, **options)
        assert max_relative(got, reference) <= RTOL
    with pytest.raises(ValueError, match=r"confounds column 1 has NaN or infinity at frame 0"):
        rewire.clean(signals, confounds=confounds)
    signals[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"signals column 2 has NaN or infinity at frame 7.*ensure_finite"):
        rewire.clean(signals)


def test_constant_and_explained_columns_become_zero_with_a_warning(rng):
    signals = rng.standard_normal((120, 4)).cumsum(0)
    confounds = rng.standard_normal((120, 3)).cumsum(0)
    signals[:, 1] = 1234.5678  # constant
    signals[:, 3] = confounds @ np.array([1.0, -2.0, 0.5]) + 7.0  # explained exactly by the confounds
    with pytest.warns(UserWarning, match=r"2 column\(s\) \(first: 1\) have no variance left"):
        got = rewire.clean(signals, confounds=confounds, low_pass=0.1, t_r=2.0)
    assert np.array_equal(got[:, [1, 3]], np.zeros((120, 2)))
    assert np.isfinite(got).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = nsignal.clean(signals, confounds=confounds, low_pass=0.1, t_r=2.0)
    assert max_relative(got[:, [0, 2]], reference[:, [0, 2]]) <= RTOL
    # psc of a zero-mean column: nilearn's warning and zeros.
    zero_mean = np.tile([1.0, -1.0], 30)[:, None] * np.ones((1, 2))
    zero_mean[:, 1] += 10.0
    with pytest.warns(UserWarning, match="psc standardization strategy is meaningless"):
        got = rewire.clean(zero_mean, detrend=False, standardize="psc")
    assert np.array_equal(got[:, 0], np.zeros(60))


def test_linear_trend_confound_is_dropped_not_amplified(rng):
    """With detrend, a linear-trend confound is rounding noise; nilearn z-scores that noise into a
    random regressor, rewire drops it (the trend is already gone)."""
    signals = rng.standard_normal((100, 3)).cumsum(0)
    confounds = np.column_stack([np.arange(100.0), rng.standard_normal(100).cumsum()])
    got = rewire.clean(signals, confounds=confounds)
    expected = rewire.clean(signals, confounds=confounds[:, 1:])
    assert max_relative(got, expected) <= RTOL


def test_warnings_match_nilearn(rng):
    signals = rng.standard_normal((100, 3)).cumsum(0) + 20
    cases = [
        dict(low_pass=0.3, t_r=2.0),  # above Nyquist (0.25 Hz)
        dict(high_pass=-0.01, low_pass=0.1, t_r=2.0),
        dict(low_pass=0.3, high_pass=0.26, t_r=2.0),  # both lowered to the same frequency: unfiltered
        dict(filter=False, low_pass=0.1),
        dict(filter="cosine", high_pass=0.01, low_pass=0.1, t_r=2.0),
        dict(confounds=rng.standard_normal((100, 2)), detrend=False, standardize_confounds=False),
    ]
    for options in cases:
        with warnings.catch_warnings(record=True) as expected:
            warnings.simplefilter("always")
            reference = nsignal.clean(signals, **options)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = rewire.clean(signals, **options)
        assert {str(w.message) for w in caught} == {str(w.message) for w in expected}, options
        assert len(caught) > 0
        assert max_relative(got, reference) <= RTOL, options
    # Cosines up to Nyquist span every frequency and leave nothing: nilearn warns, then z-scores the
    # rounding noise; rewire gives zeros and says so.
    with warnings.catch_warnings(record=True) as expected:
        warnings.simplefilter("always")
        nsignal.clean(signals, filter="cosine", high_pass=0.2, t_r=2.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = rewire.clean(signals, filter="cosine", high_pass=0.2, t_r=2.5)
    messages = {str(w.message) for w in caught}
    assert {str(w.message) for w in expected} < messages
    assert any("3 column(s) (first: 0) have no variance left" in m for m in messages)
    assert np.array_equal(got, np.zeros_like(got))


@pytest.mark.parametrize("options, message", [
    (dict(confounds=np.zeros((99, 2))), r"confounds have 99 rows \(time points\) but signals have 100"),
    (dict(low_pass=0.05, high_pass=0.1, t_r=2.0), r"high_pass \(0\.1.*must be below low_pass \(0\.05"),
    (dict(low_pass=0.1, t_r=None), r"Butterworth filtering needs t_r"),
    (dict(low_pass=0.1, t_r=0.0), r"t_r must be > 0 seconds"),
    (dict(low_pass=0.1, t_r=-2.0), r"t_r must be > 0 seconds"),
    (dict(high_pass=0.0, t_r=2.0), r"high_pass must be > 0 Hz"),
    (dict(filter="cosine", t_r=2.0), r"filter 'cosine' needs t_r and high_pass"),
    (dict(sample_mask=np.zeros(100, dtype=bool)), r"sample_mask removes every frame"),
    (dict(sample_mask=np.array([], dtype=int)), r"sample_mask removes every frame"),
    (dict(sample_mask=np.array([0, 5, 100])), r"frame index 100, outside \[0, 100\)"),
    (dict(sample_mask=np.array([-1, 5])), r"frame index -1, outside"),
    (dict(sample_mask=np.array([5, 3])), r"strictly increasing"),
    (dict(sample_mask=np.ones(99, dtype=bool)), r"has 99 flags but the run has 100"),
    (dict(sample_mask=np.array([7]), low_pass=0.1, t_r=2.0), r"keeps 1 frame.*at least 2"),
    (dict(runs=np.zeros(99)), r"one label per time point \(100\)"),
    (dict(runs=np.repeat([0, 1], 50), sample_mask=np.arange(50)), r"1 sample_mask\(s\) for 2 run\(s\)"),
    (dict(standardize="zscore_population"), r"standardize must be one of"),
    (dict(filter="fft"), r"filter must be 'butterworth', 'cosine' or False"),
    (dict(butterworth__order=0, low_pass=0.1), r"butterworth__order must be a positive integer"),
])
def test_bad_input_raises_clear_errors(options, message, rng):
    signals = rng.standard_normal((100, 3))
    with pytest.raises(ValueError, match=message):
        rewire.clean(signals, **options)


def test_too_short_for_the_filter_padding(rng):
    with pytest.raises(ValueError, match=r"30 samples; zero-phase filtering needs more than padlen = 33"):
        rewire.clean(rng.standard_normal((30, 2)), low_pass=0.1, high_pass=0.01, t_r=2.0)
    with pytest.raises(ValueError, match=r"\(run 1\)"):
        rewire.clean(rng.standard_normal((80, 2)), runs=np.repeat([0, 1], [50, 30]), low_pass=0.1,
                     high_pass=0.01, t_r=2.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'detrending'"):
        rewire.clean(rng.standard_normal((80, 2)), detrending=True)
    with pytest.raises(FileNotFoundError):
        rewire.clean(rng.standard_normal((80, 2)), confounds="/nonexistent/confounds.tsv")


def test_results_do_not_depend_on_threads(rng):
    signals = rng.standard_normal((300, 203)).cumsum(0)
    confounds = rng.standard_normal((300, 12)).cumsum(0)
    keep = rng.random(300) > 0.1
    runs = np.repeat([0, 1], 150)
    options = dict(confounds=confounds, low_pass=0.1, high_pass=0.01, t_r=1.0, sample_mask=[keep[:150], keep[150:]],
                   runs=runs)
    one = rewire.clean(signals, threads=1, **options)
    for threads in (2, 3):
        assert np.array_equal(rewire.clean(signals, threads=threads, **options), one)


def test_one_dimensional_signal_and_input_untouched(rng):
    signal = rng.standard_normal(90).cumsum() + 4
    copy = signal.copy()
    got = rewire.clean(signal, low_pass=0.1, t_r=2.0)
    assert got.shape == (90,)
    assert np.array_equal(signal, copy)
    assert max_relative(got, rewire.clean(signal[:, None], low_pass=0.1, t_r=2.0)[:, 0]) == 0.0


def test_confound_file_with_header_and_missing_values(tmp_path, rng):
    signals = rng.standard_normal((50, 3)).cumsum(0)
    confounds = rng.standard_normal((50, 3)).cumsum(0)
    path = tmp_path / "desc-confounds_timeseries.tsv"
    lines = ["trans_x\ttrans_y\ttrans_z_derivative1"]
    lines += ["\t".join("n/a" if (t == 0 and j == 2) else f"{v:.17g}" for j, v in enumerate(row))
              for t, row in enumerate(confounds)]
    path.write_text("\n".join(lines) + "\n")
    keep = np.arange(1, 50)
    got = rewire.clean(signals, confounds=path, sample_mask=keep)
    reference = nsignal.clean(signals, confounds=confounds, sample_mask=keep)
    assert max_relative(got, reference) <= RTOL


# --- the pieces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6, 8])
@pytest.mark.parametrize("band", [(0.01, None), (None, 0.1), (0.01, 0.1), (0.2, 0.3)])
def test_butterworth_sections_equal_scipy(order, band):
    fs = 1 / 0.72
    high, low = band
    wn = [high, low] if high and low else (high or low)
    btype = "band" if high and low else ("high" if high else "low")
    reference = ssignal.butter(order, wn, btype, output="sos", fs=fs)
    got = _core.butterworth_sos(order, high, low, fs)
    assert got.shape == reference.shape  # same pairing into sections
    assert np.abs(got - reference).max() <= 1e-12 * np.abs(reference).max()
    assert np.abs(_core.sosfilt_zi(got) - ssignal.sosfilt_zi(reference)).max() <= 1e-10 * np.abs(
        ssignal.sosfilt_zi(reference)).max()


@pytest.mark.parametrize("padtype, padlen", [("odd", None), ("even", None), ("constant", None), (None, None),
                                             ("odd", 0), ("odd", 10), ("even", 60)])
def test_sosfiltfilt_equals_scipy(padtype, padlen, rng):
    sos = ssignal.butter(5, [0.01, 0.1], "band", output="sos", fs=0.5)
    x = rng.standard_normal((200, 4)).cumsum(0)
    reference = ssignal.sosfiltfilt(sos, x, axis=0, padtype=padtype, padlen=padlen)
    assert max_relative(_core.sosfiltfilt(sos, x, padtype, padlen), reference) <= 1e-10
    reference = nsignal.butterworth(x, 0.5, low_pass=0.1, high_pass=0.01, padtype=padtype, padlen=padlen, copy=True)
    got = rewire.signal.butterworth(x, 0.5, low_pass=0.1, high_pass=0.01, padtype=padtype, padlen=padlen)
    assert max_relative(got, reference) <= 1e-10


def test_zero_phase_filter_properties(rng):
    """A low-pass passes a constant unchanged (unit DC gain, steady-state start) and is linear."""
    sos = _core.butterworth_sos(5, None, 0.1, 1.0)
    constant = np.full((100, 1), 3.5)
    assert np.abs(_core.sosfiltfilt(sos, constant, "odd", None) - 3.5).max() < 1e-10
    a, b = rng.standard_normal((100, 1)), rng.standard_normal((100, 1))
    combined = _core.sosfiltfilt(sos, 2 * a - b, "odd", None)
    separate = 2 * _core.sosfiltfilt(sos, a, "odd", None) - _core.sosfiltfilt(sos, b, "odd", None)
    assert np.abs(combined - separate).max() < 1e-12


def test_detrend_cosine_and_spline_equal_references(rng):
    x = rng.standard_normal((77, 5)) * 100 + 5
    assert max_relative(_core.detrend(x), nsignal._detrend(x)) <= 1e-12
    for high_pass, frames, t_r in [(0.01, 200, 2.0), (0.008, 1200, 0.72), (0.3, 40, 2.0)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            reference = nsignal.create_cosine_drift(high_pass, np.arange(frames) * t_r)
        assert np.abs(_core.cosine_drift(high_pass, frames, t_r) - reference).max() <= 1e-12
    for frames in (2, 3, 4, 5, 60):
        for extrapolate in (True, False):
            keep = np.flatnonzero(rng.random(frames) > 0.3)
            if frames <= 3:
                keep = np.arange(frames)[:2] if frames == 2 else np.array([0, 2])
            if len(keep) < 2:
                keep = np.array([0, frames - 1])
            y = rng.standard_normal((frames, 3))
            reference = CubicSpline(keep * 2.5, y[keep], extrapolate=extrapolate)(np.arange(frames) * 2.5)
            reference[keep] = y[keep]
            got = _core.interpolate_censored(y, keep.tolist(), extrapolate)
            assert max_relative(got, reference) <= 1e-12
