"""Correlation, Fisher z and edge vectors against numpy."""
import numpy as np
import pytest

import rewire


@pytest.fixture
def series(rng):
    """(T, N) signals with a shared component, so correlations are far from zero, and offsets and
    scales that differ by orders of magnitude between columns."""
    shared = rng.normal(size=(60, 1))
    ts = 0.6 * shared + rng.normal(size=(60, 7))
    return ts * np.logspace(-3, 4, 7) + np.linspace(-1e3, 1e3, 7)


def test_correlation_equals_numpy(series):
    r = rewire.correlation(series)
    expected = np.corrcoef(series, rowvar=False)
    assert r.shape == (7, 7)
    np.testing.assert_allclose(r, expected, rtol=0, atol=1e-10)
    assert np.array_equal(np.diag(r), np.ones(7))  # exactly 1, not 1 - 1e-16
    assert np.array_equal(r, r.T)
    assert np.abs(r[np.triu_indices(7, 1)]).max() > 0.2


def test_correlation_of_perfectly_related_columns(rng):
    x = rng.normal(size=50)
    r = rewire.correlation(np.c_[x, 3 * x + 2, -x])
    np.testing.assert_allclose(r, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], rtol=0, atol=1e-12)
    assert np.abs(r).max() <= 1.0


def test_fisher_z(series):
    r = rewire.correlation(series)
    z = rewire.fisher_z(r)
    off = ~np.eye(7, dtype=bool)
    np.testing.assert_allclose(z[off], np.arctanh(r[off]), rtol=1e-14, atol=0)
    assert np.array_equal(np.diag(z), np.zeros(7))
    assert np.isfinite(z).all()


def test_edge_vector_order(rng):
    n = 9
    matrix = rng.normal(size=(n, n))
    edges = rewire.edge_vector(matrix)
    rows, cols = np.triu_indices(n, 1)
    assert np.array_equal(edges, matrix[rows, cols])
    for position, (i, j) in enumerate(zip(rows, cols)):
        assert rewire.edge_index(int(i), int(j), n) == position
    assert len(edges) == n * (n - 1) // 2


@pytest.mark.parametrize("i, j", [(2, 2), (3, 1), (-1, 2), (0, 9)])
def test_edge_index_rejects_bad_pairs(i, j):
    with pytest.raises(ValueError, match="0 <= i < j < nodes"):
        rewire.edge_index(i, j, 9)


def test_constant_column_named(series):
    series = series.copy()
    series[:, 4] = 3.0
    with pytest.raises(ValueError, match="column 4 has zero variance"):
        rewire.correlation(series)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_column_named(series, bad):
    series = series.copy()
    series[10, 2] = bad
    with pytest.raises(ValueError, match="column 2 of the signals contains NaN or infinity"):
        rewire.correlation(series)


def test_too_few_time_points():
    with pytest.raises(ValueError, match="at least 2 time points"):
        rewire.correlation(np.ones((1, 3)))


def test_correlation_of_extracted_signals(bold_and_labels):
    """The end-to-end path: extracted parcel means → correlation equals numpy on the same array."""
    bold, atlas = bold_and_labels[:2]
    signals = rewire.extract(bold, atlas)
    np.testing.assert_allclose(rewire.correlation(signals), np.corrcoef(signals, rowvar=False), rtol=0, atol=1e-10)
