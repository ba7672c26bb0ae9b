"""Covariance estimators, connectivity kinds, tangent space, vectorisation and edge z-scores against
scikit-learn's LedoitWolf / OAS / EmpiricalCovariance and nilearn 0.14's ConnectivityMeasure."""
import os

import numpy as np
import pytest
from conftest import NITIME_DATA, max_relative, nilearn_quiet, require
from nilearn.connectome import ConnectivityMeasure as NilearnCM
from nilearn.connectome import sym_matrix_to_vec as nl_sym_matrix_to_vec
from nilearn.connectome import vec_to_sym_matrix as nl_vec_to_sym_matrix
from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf

import rewire

RTOL = 1e-8  # the bar: max |rewire − reference| / max |reference|
SKLEARN = {"empirical": EmpiricalCovariance, "ledoit_wolf": LedoitWolf, "oas": OAS}
KINDS = ("covariance", "correlation", "partial correlation", "precision")


def mixed(rng, t, n, scale_spread=2.0):
    """(T, N) correlated Gaussian signals with column scales spread over `scale_spread` decades and
    non-zero means."""
    mix = np.eye(n) + 0.3 * rng.standard_normal((n, n))
    x = rng.standard_normal((t, n)) @ mix
    return x * np.logspace(0, scale_spread, n) + rng.uniform(-100, 100, n)


def simulated_cohort(rng, subjects, t, n):
    """Subjects sharing a network structure (common mixing) with individual deviations and AR(1)
    temporal autocorrelation, like parcel BOLD."""
    common = np.eye(n) + 0.4 * rng.standard_normal((n, n)) / np.sqrt(n)
    cohort = []
    for _ in range(subjects):
        e = rng.standard_normal((t, n))
        for i in range(1, t):
            e[i] += 0.5 * e[i - 1]
        cohort.append(e @ (common + 0.15 * rng.standard_normal((n, n)) / np.sqrt(n)) + 1000.0)
    return cohort


@pytest.fixture(scope="module")
def nitime_signals():
    path = require(os.path.join(NITIME_DATA, "fmri_timeseries.csv"))
    return np.loadtxt(path, delimiter=",", skiprows=1)  # (250, 31) real parcel signals


# ---------------------------------------------------------------------------------------------------
# Covariance estimators against scikit-learn


@pytest.mark.parametrize("estimator", list(SKLEARN))
@pytest.mark.parametrize("shape", [(200, 30), (40, 90), (1200, 116)])
def test_covariance_matches_sklearn(rng, estimator, shape):
    x = mixed(rng, *shape)
    ref = SKLEARN[estimator]().fit(x)
    cov, shrinkage = rewire.covariance(x, estimator, return_shrinkage=True)
    assert max_relative(cov, ref.covariance_) <= RTOL
    assert shrinkage == pytest.approx(getattr(ref, "shrinkage_", 0.0), rel=RTOL, abs=1e-14)
    if estimator != "empirical":
        assert 0.0 < shrinkage <= 1.0


def test_covariance_on_real_signals(nitime_signals):
    for estimator, cls in SKLEARN.items():
        ref = cls().fit(nitime_signals)
        cov, shrinkage = rewire.covariance(nitime_signals, estimator, return_shrinkage=True)
        assert max_relative(cov, ref.covariance_) <= RTOL
        assert shrinkage == pytest.approx(getattr(ref, "shrinkage_", 0.0), rel=RTOL, abs=1e-14)
    cov, shrinkage = rewire.ledoit_wolf(nitime_signals)
    assert shrinkage > 0.0


def test_covariance_does_not_depend_on_threads(rng):
    x = mixed(rng, 600, 400)  # 3 column blocks of the product, shared out between threads
    one = rewire.covariance(x, "ledoit_wolf", threads=1)
    assert np.array_equal(one, rewire.covariance(x, "ledoit_wolf", threads=2))
    assert np.array_equal(one, rewire.covariance(x, "ledoit_wolf", threads=3))


def test_kernel_variants_agree(rng, tmp_path):
    """Each instruction-set build of the kernels (REWIRE_KERNELS) gives exactly the same numbers."""
    import subprocess
    import sys

    group = [mixed(rng, 150, 40, scale_spread=1.0) for _ in range(4)]  # N ≥ 24: the fast eigensolver
    np.savez(tmp_path / "group.npz", *group)
    script = (
        "import sys, numpy as np, rewire\n"
        "f = np.load(sys.argv[1]); g = [f[k] for k in sorted(f.files, key=lambda k: int(k.split('_')[1]))]\n"
        "np.savez(sys.argv[2], variant=rewire._core.kernel_variant(), tangent=rewire.Tangent().fit_transform(g),\n"
        "         partial=rewire.connectivity(g[0], 'partial correlation'), cov=rewire.covariance(g[1], 'oas'))\n"
    )
    results = {}
    for variant in ("generic", "avx2", "avx512"):
        out = tmp_path / f"{variant}.npz"
        env = dict(os.environ, REWIRE_KERNELS=variant)
        subprocess.run([sys.executable, "-c", script, str(tmp_path / "group.npz"), str(out)], env=env, check=True)
        with np.load(out) as f:
            results[str(f["variant"])] = {k: f[k] for k in ("tangent", "partial", "cov")}
    assert "generic" in results  # the others only where the CPU and the build have them
    for name, values in results.items():
        for key, value in values.items():
            assert np.array_equal(value, results["generic"][key]), (name, key)


# ---------------------------------------------------------------------------------------------------
# Connectivity kinds against nilearn's ConnectivityMeasure


def nilearn_matrix(x, kind, estimator, **kwargs):
    with nilearn_quiet():
        return NilearnCM(kind=kind, cov_estimator=SKLEARN[estimator](), **kwargs).fit_transform([x])[0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("estimator", list(SKLEARN))
def test_connectivity_matches_nilearn(rng, kind, estimator):
    x = mixed(rng, 300, 40)
    got, info = rewire.connectivity(x, kind, estimator, return_info=True)
    assert max_relative(got, nilearn_matrix(x, kind, estimator)) <= RTOL
    assert info["kind"] == kind and info["estimator"] == estimator
    assert info["standardize"] == (kind == "correlation")
    assert np.array_equal(got, got.T)


@pytest.mark.parametrize("kind", KINDS)
def test_shrunk_kinds_with_fewer_frames_than_regions(rng, kind):
    x = mixed(rng, 50, 80)
    for estimator in ("ledoit_wolf", "oas"):
        assert max_relative(rewire.connectivity(x, kind, estimator), nilearn_matrix(x, kind, estimator)) <= RTOL


@pytest.mark.parametrize("kind", KINDS)
def test_connectivity_on_real_signals(nitime_signals, kind):
    for estimator in SKLEARN:
        got = rewire.connectivity(nitime_signals, kind, estimator)
        assert max_relative(got, nilearn_matrix(nitime_signals, kind, estimator)) <= RTOL, estimator


def test_default_correlation_is_pearson_and_ledoit_wolf_is_nilearns_default(nitime_signals):
    r, info = rewire.connectivity(nitime_signals, return_info=True)
    np.testing.assert_allclose(r, np.corrcoef(nitime_signals, rowvar=False), rtol=0, atol=1e-13)
    assert info == {"kind": "correlation", "estimator": "empirical", "shrinkage": 0.0, "standardize": True}
    shrunk, info = rewire.connectivity(nitime_signals, estimator="ledoit_wolf", return_info=True)
    with nilearn_quiet():
        default = NilearnCM(kind="correlation").fit_transform([nitime_signals])[0]
    assert max_relative(shrunk, default) <= RTOL
    assert info["estimator"] == "ledoit_wolf" and info["shrinkage"] > 0.0
    # On z-scored columns the shrunk correlation is (1 - δ) r off the diagonal.
    off = ~np.eye(r.shape[0], dtype=bool)
    np.testing.assert_allclose(shrunk[off], (1 - info["shrinkage"]) * r[off], rtol=1e-12, atol=1e-14)


def test_standardize_false_matches_nilearn(rng):
    x = mixed(rng, 120, 25, scale_spread=3.0)
    got = rewire.connectivity(x, "correlation", "ledoit_wolf", standardize=False)
    assert max_relative(got, nilearn_matrix(x, "correlation", "ledoit_wolf", standardize=False)) <= RTOL
    # Standardising changes the Ledoit–Wolf correlation when the scales differ.
    assert max_relative(got, rewire.connectivity(x, "correlation", "ledoit_wolf")) > 1e-3


def test_connectivity_measure_drop_in(rng):
    cohort = simulated_cohort(rng, 4, 150, 20)
    for kind in KINDS + ("tangent",):
        for vectorize, discard in ((False, False), (True, False), (True, True)):
            with nilearn_quiet():
                ref = NilearnCM(kind=kind, vectorize=vectorize, discard_diagonal=discard)
                expected = ref.fit_transform(cohort)
            ours = rewire.ConnectivityMeasure(kind=kind, vectorize=vectorize, discard_diagonal=discard)
            got = ours.fit_transform(cohort)
            assert got.shape == expected.shape
            assert max_relative(got, expected) <= RTOL, (kind, vectorize, discard)
            assert max_relative(ours.mean_, ref.mean_) <= RTOL, kind
        with nilearn_quiet():
            ref_oas = NilearnCM(kind=kind, cov_estimator=OAS()).fit(cohort[:3]).transform(cohort[1:])
        got_oas = rewire.ConnectivityMeasure(kind=kind, cov_estimator=OAS()).fit(cohort[:3]).transform(cohort[1:])
        assert max_relative(got_oas, ref_oas) <= RTOL, kind


# ---------------------------------------------------------------------------------------------------
# Tangent space


@pytest.mark.parametrize("estimator, n", [("ledoit_wolf", 24), ("oas", 24), ("empirical", 24), ("ledoit_wolf", 120)])
def test_tangent_matches_nilearn_on_simulated_cohort(rng, estimator, n):
    cohort = simulated_cohort(rng, 8, 200, n)
    with nilearn_quiet():
        ref = NilearnCM(kind="tangent", cov_estimator=SKLEARN[estimator]())
        expected = ref.fit_transform(cohort)
    tangent = rewire.Tangent(estimator)
    got = tangent.fit_transform(cohort)
    assert got.shape == (8, n, n)
    assert max_relative(got, expected) <= RTOL
    assert max_relative(tangent.mean_, ref.mean_) <= RTOL
    assert max_relative(tangent.whitening_, ref.whitening_) <= RTOL
    assert tangent.converged_ and tangent.n_iter_ >= 1


def test_tangent_on_random_and_real_signals(rng, nitime_signals):
    random_group = [mixed(rng, 180 + 10 * k, 15, scale_spread=1.0) for k in range(5)]
    # Real signals: the nitime run cut into 5 sessions of 50 frames (31 regions: Ledoit–Wolf needed).
    real_group = [nitime_signals[50 * k:50 * (k + 1)] for k in range(5)]
    for group in (random_group, real_group):
        with nilearn_quiet():
            expected = NilearnCM(kind="tangent").fit_transform(group)
        assert max_relative(rewire.Tangent().fit_transform(group), expected) <= RTOL


def test_tangent_reference_is_fixed_saved_and_reloaded(rng, tmp_path):
    pre = simulated_cohort(rng, 6, 160, 12)
    post = [s + 0.3 * rng.standard_normal(s.shape) @ np.triu(np.ones((12, 12))) for s in pre]
    with nilearn_quiet():
        ref = NilearnCM(kind="tangent").fit(pre)
        expected_post = ref.transform(post)
    tangent = rewire.Tangent().fit(pre)
    got_post = tangent.transform(post)
    assert max_relative(got_post, expected_post) <= RTOL  # post sessions at the pre reference
    path = tmp_path / "reference.npz"
    tangent.save(path)
    with np.load(path) as f:
        assert set(f.files) >= {"format_version", "mean", "whitening", "estimator"}
        assert int(f["format_version"]) == 1 and str(f["estimator"]) == "ledoit_wolf"
    loaded = rewire.Tangent.load(path)
    assert loaded.estimator == "ledoit_wolf" and loaded.n_iter_ == tangent.n_iter_
    assert np.array_equal(loaded.transform(post), got_post)
    assert np.array_equal(loaded.transform([post[2]])[0], got_post[2])  # one session alone
    assert not [p for p in os.listdir(tmp_path) if p != "reference.npz"]  # no temporary left behind


def test_eigensolver_against_numpy(rng):
    """The eigensolver behind logm/sqrtm/expm (its fast path on a whitened covariance, its QR fallback on
    a repeated eigenvalue) against LAPACK through numpy."""
    n = 200
    x, y = (rng.standard_normal((600, n)) @ (np.eye(n) + 0.3 * rng.standard_normal((n, n)) / np.sqrt(n))
            for _ in range(2))
    values, vectors = np.linalg.eigh(np.cov(y, rowvar=False))
    w = vectors @ np.diag(values ** -0.5) @ vectors.T
    whitened = w @ np.cov(x, rowvar=False) @ w
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    repeated = q @ np.diag(np.r_[np.full(20, 2.0), np.linspace(3, 5, n - 20)]) @ q.T
    for a in (whitened, repeated):
        a = (a + a.T) / 2
        got_values, got_vectors = rewire._core.eigh(a)
        expected = np.linalg.eigvalsh(a)
        assert np.abs(got_values - expected).max() <= 1e-12 * np.abs(expected).max()
        assert np.abs(got_vectors.T @ got_vectors - np.eye(n)).max() <= 1e-12
        assert np.abs(got_vectors @ np.diag(got_values) @ got_vectors.T - a).max() <= 1e-12 * np.abs(a).max()
    with pytest.raises(ValueError, match="eigh: expected a non-empty square matrix, got 3 × 4"):
        rewire._core.eigh(np.ones((3, 4)))
    with pytest.raises(ValueError, match="eigh: the matrix contains NaN"):
        rewire._core.eigh(np.full((30, 30), np.nan))


def test_tangent_reads_any_array_layout(rng):
    """C-ordered float64 arrays are read in place; Fortran-ordered, strided, float32 and nested lists are
    converted, with the same result."""
    group = [mixed(rng, 80, 30) for _ in range(4)]
    expected = rewire.Tangent().fit_transform(group)
    assert expected.shape == (4, 30, 30) and expected.flags.c_contiguous
    others = [np.asfortranarray(group[0]), np.repeat(group[1], 2, axis=1)[:, ::2], group[2].astype(np.float32),
              group[3].tolist()]
    # float32 rounding of subject 2 moves the group mean a little
    assert max_relative(rewire.Tangent().fit_transform(others), expected) <= 1e-5
    fitted = rewire.Tangent().fit(group)
    exact = [others[0], others[1], others[3]]
    np.testing.assert_array_equal(fitted.transform(exact), expected[[0, 1, 3]])


def test_tangent_bad_input(rng, tmp_path):
    with pytest.raises(ValueError, match="subject 1 has 9 regions"):
        rewire.Tangent().fit([mixed(rng, 50, 8), mixed(rng, 50, 9)])
    with pytest.raises(ValueError, match="T <= N.*ledoit_wolf"):
        rewire.Tangent("empirical").fit([mixed(rng, 30, 40), mixed(rng, 30, 40)])
    with pytest.raises(ValueError, match="not fitted"):
        rewire.Tangent().transform([mixed(rng, 50, 8)])
    tangent = rewire.Tangent().fit([mixed(rng, 50, 8), mixed(rng, 60, 8)])
    with pytest.raises(ValueError, match="the reference has 8"):
        tangent.transform([mixed(rng, 50, 7)])
    with pytest.raises(ValueError, match="list of"):
        tangent.transform(mixed(rng, 50, 8))
    with pytest.raises(ValueError, match="NaN"):
        bad = mixed(rng, 50, 8)
        bad[3, 4] = np.nan
        tangent.transform([bad])
    with pytest.raises(ValueError, match="unknown covariance estimator 'lw'.*'ledoit_wolf'"):
        rewire.Tangent("lw")
    np.savez(tmp_path / "other.npz", mean=np.eye(3))
    with pytest.raises(ValueError, match="not a rewire.Tangent file"):
        rewire.Tangent.load(tmp_path / "other.npz")


# ---------------------------------------------------------------------------------------------------
# Matrix ↔ vector conversions


def test_sym_matrix_to_vec_and_back_match_nilearn(rng):
    stack = np.array([np.cov(rng.standard_normal((30, 7)), rowvar=False) for _ in range(6)]).reshape(2, 3, 7, 7)
    for discard in (False, True):
        got = rewire.sym_matrix_to_vec(stack, discard_diagonal=discard)
        expected = nl_sym_matrix_to_vec(stack, discard_diagonal=discard)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
    vec = nl_sym_matrix_to_vec(stack)
    np.testing.assert_allclose(rewire.vec_to_sym_matrix(vec), nl_vec_to_sym_matrix(vec), rtol=1e-15, atol=0)
    strict = nl_sym_matrix_to_vec(stack, discard_diagonal=True)
    diagonal = np.diagonal(stack, axis1=-2, axis2=-1) / np.sqrt(2)
    np.testing.assert_allclose(rewire.vec_to_sym_matrix(strict, diagonal=diagonal),
                               nl_vec_to_sym_matrix(strict, diagonal=diagonal), rtol=1e-15, atol=0)
    np.testing.assert_allclose(rewire.vec_to_sym_matrix(strict, diagonal=diagonal), stack, rtol=1e-14)
    with pytest.raises(ValueError, match="length 5"):
        rewire.vec_to_sym_matrix(np.ones(5))
    # nilearn's order is not rewire's edge order: lower triangle by rows vs upper triangle by rows.
    m = stack[0, 0]
    assert not np.array_equal(rewire.sym_matrix_to_vec(m, discard_diagonal=True), rewire.edge_vector(m))
    assert np.array_equal(np.sort(rewire.sym_matrix_to_vec(m, discard_diagonal=True)), np.sort(rewire.edge_vector(m)))


def test_conversions_match_nilearn_helpers(rng):
    from nilearn.connectome import cov_to_corr, prec_to_partial

    c = np.cov(mixed(rng, 100, 9), rowvar=False)
    np.testing.assert_allclose(rewire.covariance_to_correlation(c), cov_to_corr(c), rtol=1e-14, atol=1e-15)
    p = np.linalg.inv(c)
    np.testing.assert_allclose(rewire.precision_to_partial_correlation(p), prec_to_partial(p), rtol=1e-13,
                               atol=1e-15)


# ---------------------------------------------------------------------------------------------------
# Autocorrelation-corrected edge z-scores


def ar1(rng, t, n, phi, burn=200):
    e = rng.standard_normal((t + burn, n))
    x = np.empty_like(e)
    x[0] = e[0]
    for i in range(1, t + burn):
        x[i] = phi * x[i - 1] + e[i]
    return x[burn:]


def test_bartlett_zscores_are_standard_normal_for_independent_ar1_pairs(rng):
    # 4 × 1225 = 4900 pairs of independent AR(1) series, φ = 0.7, T = 300.
    t, n, phi = 300, 50, 0.7
    iu = np.triu_indices(n, 1)
    corrected, naive, xdf = [], [], []
    for _ in range(4):
        x = ar1(rng, t, n, phi)
        z, dof = rewire.edge_zscores(x)
        corrected.append(z[iu])
        xdf.append(rewire.edge_zscores(x, method="xdf")[0][iu])
        naive_z, naive_dof = rewire.edge_zscores(x, method="naive")
        naive.append(naive_z[iu])
        assert np.array_equal(naive_dof, np.full((n, n), float(t)))
        # Bartlett's factor for two AR(1) with φ: 1 + 2 φ²/(1 − φ²) ≈ 2.92, so T_eff ≈ 103.
        assert 80 < np.median(dof[iu]) < 125
    corrected, naive, xdf = np.concatenate(corrected), np.concatenate(naive), np.concatenate(xdf)
    assert abs(np.std(corrected) - 1.0) < 0.05  # sample sd of 4900 null z: ±0.01; small-T acf bias ~+0.02
    # xDF's variance has no "−3" and weights (T−1−k)/T: a few percent wider at T_eff ≈ 100.
    assert abs(np.std(xdf) - 1.0) < 0.08
    assert np.std(naive) > 1.5  # the naive z is ~1.7 times too wide
    assert abs(np.mean(corrected)) < 0.05


def xdf_reference(x, m):
    """Afyouni et al. (2019) xDF variance, transcribed pair by pair from their published code (lags
    truncated at m, theoretical floor), as an effective dof: 1 / var(arctanh r) + 3."""
    t, n = x.shape
    u = x - x.mean(0)
    u = u / np.linalg.norm(u, axis=0)
    r = u.T @ u
    lagged = np.array([u[:t - k].T @ u[k:] for k in range(1, m + 1)])  # [k, i, j] = Σ u_i(t) u_j(t + k)
    ac = np.array([np.diag(p) for p in lagged])
    w = t - 1 - np.arange(1, m + 1)
    dof = np.full((n, n), t + 3.0)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            rho, ai, aj, xp, xn = r[i, j], ac[:, i], ac[:, j], lagged[:, i, j], lagged[:, j, i]
            var = ((t - 1) * (1 - rho ** 2) ** 2
                   + rho ** 2 * np.sum(w * (ai ** 2 + aj ** 2 + xp ** 2 + xn ** 2))
                   - 2 * rho * np.sum(w * (ai + aj) * (xp + xn))
                   + 2 * np.sum(w * (ai * aj + xp * xn))) / t ** 2
            var = max(var, (1 - rho ** 2) ** 2 / t)
            dof[i, j] = (1 - rho ** 2) ** 2 / var + 3
    return dof


def test_xdf_matches_the_published_formula(rng):
    # Correlated, autocorrelated series: the cross-correlation terms matter.
    base = ar1(rng, 150, 1, 0.6)
    x = 0.7 * base + ar1(rng, 150, 7, 0.4) + 0.3 * rng.standard_normal((150, 7))
    z, dof, fz = rewire.edge_zscores(x, method="xdf", max_lag=8, return_fisher_z=True)
    expected = xdf_reference(x, 8)
    off = ~np.eye(7, dtype=bool)
    np.testing.assert_allclose(dof[off], expected[off], rtol=1e-10)
    np.testing.assert_allclose(z[off], fz[off] * np.sqrt(expected[off] - 3), rtol=1e-10)
    assert np.array_equal(dof, dof.T)
    assert dof[off].max() <= 150 + 3 + 1e-9 and dof[off].min() < 120  # autocorrelation lowers the dof


def test_naive_zscores_are_textbook_and_dof_never_exceeds_t(rng):
    x = rng.standard_normal((120, 6))
    z, dof = rewire.edge_zscores(x, method="naive")
    r = np.corrcoef(x, rowvar=False)
    off = ~np.eye(6, dtype=bool)
    np.testing.assert_allclose(z[off], np.sqrt(117) * np.arctanh(r[off]), rtol=1e-12)
    assert np.array_equal(np.diag(z), np.zeros(6))
    z, dof, fz = rewire.edge_zscores(x, max_lag=5, return_fisher_z=True)
    assert dof.max() <= 120 and np.array_equal(dof, dof.T)
    np.testing.assert_allclose(z[off], fz[off] * np.sqrt(dof[off] - 3), rtol=1e-12)
    # Independently: T / (1 + 2 Σ_{k≤5} ρ_i(k) ρ_j(k)) with numpy's autocorrelations.
    xc = x - x.mean(0)
    acf = np.array([(xc[k:] * xc[:-k]).sum(0) for k in range(1, 6)]) / (xc ** 2).sum(0)
    expected = np.minimum(120 / (1 + 2 * acf.T @ acf), 120)
    np.testing.assert_allclose(dof[off], expected[off], rtol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Bad input


def test_bad_input_gives_clear_errors(rng):
    few = mixed(rng, 20, 30)
    for kind in ("precision", "partial correlation"):
        with pytest.raises(ValueError, match=r"T > N.*T = 20, N = 30.*ledoit_wolf"):
            rewire.connectivity(few, kind)
    dependent = mixed(rng, 100, 5)
    dependent[:, 4] = dependent[:, 0] - 2 * dependent[:, 1]
    with pytest.raises(FloatingPointError, match="singular"):
        rewire.connectivity(dependent, "partial correlation")
    nan = mixed(rng, 50, 5)
    nan[7, 3] = np.nan
    with pytest.raises(ValueError, match="column 3"):
        rewire.connectivity(nan)
    with pytest.raises(ValueError, match="column 3"):
        rewire.covariance(nan, "ledoit_wolf")
    with pytest.raises(ValueError, match="'covariance', 'correlation', 'partial correlation', 'precision', 'tangent'"):
        rewire.connectivity(few, "coherence")
    with pytest.raises(ValueError, match="'empirical', 'ledoit_wolf', 'oas'"):
        rewire.connectivity(few, estimator="graphical_lasso")
    with pytest.raises(ValueError, match="group.*Tangent"):
        rewire.connectivity(few, "tangent")
    with pytest.raises(ValueError, match=r"\(T, N\)"):
        rewire.connectivity(np.ones(10))
    with pytest.raises(ValueError, match="'naive', 'bartlett', 'xdf'"):
        rewire.edge_zscores(few, method="xdf2")
    with pytest.raises(ValueError, match="same number of features"):
        rewire.ConnectivityMeasure().fit([mixed(rng, 40, 5), mixed(rng, 40, 6)])
    with pytest.raises(ValueError, match="group of subjects"):
        rewire.ConnectivityMeasure(kind="tangent").fit_transform([mixed(rng, 40, 5)])
