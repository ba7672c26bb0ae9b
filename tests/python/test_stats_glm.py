"""rewire.stats parametric pieces against scipy, statsmodels and patsy: GLM t/F and p, FDR, formulas,
and the bad-input contract (clear errors, or documented results)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as statsmodels
from scipy import stats as sps

import rewire
import rewire.stats as rs

TOL = 1e-10  # relative, as the issue asks


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.fixture
def deltas():
    rng = np.random.default_rng(11)
    return rng.normal(0.2, 1.0, size=(18, 45))


def test_one_sample_and_paired_equal_scipy(deltas):
    result = rs.glm(deltas)
    t, p = sps.ttest_1samp(deltas, 0.0)
    assert rel(result.t, t) < TOL
    assert rel(result.p, p) < TOL
    assert result.df == 17
    rng = np.random.default_rng(3)
    pre = rng.normal(size=deltas.shape)
    post = pre + deltas
    t, p = sps.ttest_rel(post, pre)
    paired = rs.glm(post - pre)
    assert rel(paired.t, t) < TOL and rel(paired.p, p) < TOL


def test_two_sample_equals_ttest_ind(deltas):
    groups = np.array(["therapy"] * 8 + ["control"] * 10)
    design = rs.two_sample_design(groups, first="therapy")
    result = rs.glm(deltas, design, [0, 1])
    t, p = sps.ttest_ind(deltas[:8], deltas[8:])
    assert rel(result.t, t) < TOL and rel(result.p, p) < TOL
    assert np.allclose(result.effect, deltas[:8].mean(0) - deltas[8:].mean(0), rtol=1e-12)


def test_covariates_t_and_f_equal_statsmodels_ols(deltas):
    rng = np.random.default_rng(8)
    s = deltas.shape[0]
    design = np.column_stack([np.ones(s), rng.normal(size=s), rng.normal(40, 9, s), rng.gamma(2.0, 0.1, s)])
    y = deltas + 0.5 * design[:, [1]]
    result = rs.glm(y, design, [0, 1, 0, 0])
    contrast_f = np.array([[0, 1, 0, 0], [0, 0, 1, 0]])
    f_result = rs.glm(y, design, contrast_f)
    assert f_result.kind == "f" and f_result.df1 == 2
    for e in range(y.shape[1]):
        fit = statsmodels.OLS(y[:, e], design).fit()
        assert rel(result.t[e], fit.tvalues[1]) < TOL
        assert rel(result.p[e], fit.pvalues[1]) < TOL
        assert rel(result.beta[:, e], fit.params) < 1e-9
        test = fit.f_test(contrast_f)
        assert rel(f_result.f[e], float(np.squeeze(test.fvalue))) < TOL
        assert rel(f_result.p[e], float(test.pvalue)) < TOL
    # F of a one-row contrast is t², with the same p.
    single = rs.glm(y, design, [0, 1, 0, 0], ftest=True)
    assert rel(single.f, result.t ** 2) < TOL and rel(single.p, result.p) < TOL


def test_fdr_equals_scipy_bit_for_bit():
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.uniform(size=500), rng.uniform(0, 1e-4, 40), [0.5] * 10, [0.0, 1.0]])
    rng.shuffle(p)
    for method in ("bh", "by"):
        ours = rs.fdr(p, method=method)
        theirs = sps.false_discovery_control(p, method=method)
        assert np.array_equal(ours, theirs), method
    grid = p[:60].reshape(6, 10)
    assert np.array_equal(rs.fdr(grid), sps.false_discovery_control(grid.ravel()).reshape(6, 10))
    with pytest.raises(ValueError, match=r"p\[3\]"):
        rs.fdr([0.1, 0.2, 0.3, np.nan])
    with pytest.raises(ValueError, match="method"):
        rs.fdr([0.1, 0.2], method="holm")


def test_formula_design_equals_patsy():
    rng = np.random.default_rng(2)
    n = 24
    table = pd.DataFrame({
        "participant_id": [f"sub-{i:02d}" for i in range(n)],
        "group": rng.choice(["control", "therapy"], n),
        "sex": rng.choice(["F", "M"], n),
        "site": rng.choice([1, 2, 3], n),
        "age": rng.normal(35, 8, n),
        "mean_fd": rng.gamma(2, 0.05, n),
    })
    table["fd_bin"] = table["mean_fd"] > 0.1
    for formula in ["~ group + age + sex + mean_fd", "~ group * age", "~ C(site) + age:mean_fd", "~ 0 + group + age",
                    "~ age - 1", "~ 1", "~ age:group + group", "~ 0 + group + sex", "~ age*group + fd_bin"]:
        ours = rs.design_from_formula(formula, table)
        reference = patsy.dmatrix(formula, table, return_type="dataframe")
        assert list(ours.columns) == list(reference.columns), formula
        assert np.allclose(ours.to_numpy(), reference.to_numpy(), rtol=0, atol=1e-12), formula
    # A column name is a contrast.
    design = rs.design_from_formula("~ group + age", table)
    y = rng.normal(size=(n, 10))
    by_name = rs.glm(y, design, "group[T.therapy]")
    by_weights = rs.glm(y, design, [0, 1, 0])
    assert np.array_equal(by_name.t, by_weights.t)
    assert np.array_equal(rs.glm(y, design, "group").t, by_weights.t)  # a two-level factor by name
    with pytest.raises(ValueError, match="lower-order terms"):
        rs.design_from_formula("~ group:sex", table)
    with pytest.raises(ValueError, match="'height' is not a column"):
        rs.design_from_formula("~ height", table)
    with pytest.raises(ValueError, match="is not a design column"):
        rs.glm(y, design, "group[T.other]")


def test_bad_input_is_named():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(12, 28))
    design = np.column_stack([np.ones(12), rng.normal(size=12)])
    with pytest.raises(ValueError, match="11 rows but the data have 12 subjects"):
        rs.glm(y, design[:11], [0, 1])
    collinear = np.column_stack([design, 2 * design[:, 1]])
    with pytest.raises(ValueError, match="rank-deficient.*column 2"):
        rs.glm(y, collinear, [0, 1, 0])
    with pytest.raises(ValueError, match="expected 2 weights"):
        rs.glm(y, design, [0, 1, 0])
    with pytest.raises(ValueError, match="contrast: required"):
        rs.glm(y, design)
    bad = y.copy()
    bad[:, 4] = np.nan
    with pytest.raises(ValueError, match=r"edge 4 \(nodes 0–5\) has NaN or infinity in 12 of 12"):
        rs.glm(bad, design, [0, 1])
    constant = y.copy()
    constant[:, 7] = 0.3
    with pytest.warns(RuntimeWarning, match="1 edge.*edge 7"):
        result = rs.glm(constant, design, [0, 1])
    assert result.t[7] == 0.0 and result.p[7] == 1.0 and list(result.degenerate) == [7]
    with pytest.raises(ValueError, match="shuffles: expected a number of shuffles >= 1, got 0"):
        rs.maxt(y, design, [0, 1], shuffles=0)
    with pytest.raises(ValueError, match="given explicitly"):
        rs.nbs(y, design, [0, 1], threshold=float("nan"), shuffles=10)
    with pytest.raises(TypeError):
        rs.nbs(y, design, [0, 1], shuffles=10)  # the threshold has no default


def test_threshold_no_edge_exceeds_is_an_empty_result():
    rng = np.random.default_rng(4)
    y = rng.normal(size=(10, 45))
    result = rs.nbs(y, threshold=50.0, shuffles=20)
    assert result.components == []
    assert np.all(result.null == 0) and np.all(result.p_fwe == 1.0)
    table = result.table()
    assert len(table) == 0 and "component_p" in table.columns


def test_edge_helpers_follow_rewire_edge_order():
    for i, j in [(0, 1), (2, 7), (8, 9)]:
        assert rs.node_pair(rewire.edge_index(i, j, 10), 10) == (i, j)
