// Correlation, Fisher z and edge vectors against closed forms.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/edge_zscores.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/connectivity/estimate.hpp"

using namespace rewire;

TEST_CASE("correlation of linearly related signals is exactly ±1", "[connectivity]") {
    Eigen::MatrixXd ts(50, 3);
    for (int t = 0; t < 50; ++t) {
        const double x = std::sin(0.3 * t) + 0.01 * t;
        ts(t, 0) = x;
        ts(t, 1) = 3.0 * x + 2.0;
        ts(t, 2) = -0.5 * x;
    }
    const Connectome r = correlation(ts);
    CHECK(r(0, 1) == Approx(1.0).margin(1e-12));
    CHECK(r(0, 2) == Approx(-1.0).margin(1e-12));
    CHECK(r.diagonal() == Eigen::VectorXd::Ones(3));
    CHECK((r - r.transpose()).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("correlation equals the textbook Pearson formula", "[connectivity]") {
    Eigen::MatrixXd ts(40, 4);
    for (int t = 0; t < 40; ++t) {
        for (int j = 0; j < 4; ++j) ts(t, j) = std::cos(0.1 * t * (j + 1)) + 0.05 * ((t * 7 + j * 13) % 11);
    }
    const Connectome r = correlation(ts);
    for (int a = 0; a < 4; ++a) {
        for (int b = 0; b < 4; ++b) {
            const Eigen::VectorXd x = ts.col(a).array() - ts.col(a).mean();
            const Eigen::VectorXd y = ts.col(b).array() - ts.col(b).mean();
            CHECK(r(a, b) == Approx(x.dot(y) / std::sqrt(x.squaredNorm() * y.squaredNorm())).epsilon(1e-12));
        }
    }
}

TEST_CASE("correlation refuses constant and non-finite columns", "[connectivity][errors]") {
    Eigen::MatrixXd ts = Eigen::MatrixXd::Random(10, 3);
    ts.col(1).setConstant(4.0);
    REQUIRE_THROWS_WITH(correlation(ts), Catch::Matchers::Contains("column 1") && Catch::Matchers::Contains("zero variance"));
    ts.col(1).setRandom();
    ts(3, 2) = std::nan("");
    REQUIRE_THROWS_WITH(correlation(ts), Catch::Matchers::Contains("column 2"));
    REQUIRE_THROWS(correlation(Eigen::MatrixXd::Random(1, 3)));
}

TEST_CASE("one Pearson routine: either memory order, any thread count, estimate() alike", "[connectivity]") {
    // N = 150 spans three column blocks of the Gram matrix, so threads share the work.
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd x(300, 150);
    for (Eigen::Index j = 0; j < x.cols(); ++j)
        for (Eigen::Index t = 0; t < x.rows(); ++t)
            x(t, j) = normal(rng) + 0.3 * (j % 7) * std::sin(0.05 * t);
    const Connectome r = correlation(x, 1);
    // numpy's layout is read in place; the product then runs in another order (last bits only).
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = x;
    const RowMajorSignals view(row_major.data(), x.rows(), x.cols(), Eigen::OuterStride<>(x.cols()));
    const Connectome r_view = correlation(view, 1);
    CHECK((r_view - r).cwiseAbs().maxCoeff() <= 1e-15);
    for (int threads : {1, 2, 3, 8}) {
        CHECK(correlation(x, threads) == r);
        CHECK(correlation(view, threads) == r_view);
    }
    EstimateOptions options;  // kind correlation, estimator empirical
    for (bool standardize : {true, false}) {
        options.standardize = standardize;
        const Estimate e = estimate(x, options);
        CHECK(e.matrix == r);
        CHECK(e.standardized == standardize);
        CHECK(estimate(view, options).matrix == r_view);
    }
    CHECK(r == r.transpose());
    CHECK(r.diagonal() == Eigen::VectorXd::Ones(150));
    CHECK(r.cwiseAbs().maxCoeff() <= 1.0);
    // Against the textbook formula on centred columns, computed separately.
    const Eigen::MatrixXd centred = x.rowwise() - x.colwise().mean();
    const Eigen::VectorXd norms = centred.colwise().norm();
    const Eigen::MatrixXd expected = norms.cwiseInverse().asDiagonal() * (centred.transpose() * centred) *
                                     norms.cwiseInverse().asDiagonal();
    CHECK((r - expected).cwiseAbs().maxCoeff() <= 1e-14);
}

TEST_CASE("Fisher z is arctanh with a zero diagonal", "[connectivity]") {
    Eigen::Matrix3d r;
    r << 1, 0.5, -0.2, 0.5, 1, 0.0, -0.2, 0.0, 1;
    const Connectome z = fisher_z(r);
    CHECK(z(0, 1) == Approx(0.5 * std::log(1.5 / 0.5)));
    CHECK(z(0, 2) == Approx(std::atanh(-0.2)));
    CHECK(z.diagonal().isZero());
}

TEST_CASE("edge vector: strict upper triangle, row by row, and its index formula", "[connectivity]") {
    const int n = 6;
    Eigen::MatrixXd m(n, n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) m(i, j) = 100 * i + j;
    const EdgeVector e = edge_vector(m);
    REQUIRE(e.size() == edge_count(n));
    std::int64_t expected = 0;
    for (int i = 0; i < n; ++i) {
        for (int j = i + 1; j < n; ++j) {
            CHECK(edge_index(i, j, n) == expected);
            CHECK(e[expected] == m(i, j));
            ++expected;
        }
    }
}

TEST_CASE("covariance to correlation and precision to partial correlation", "[connectivity]") {
    Eigen::Matrix2d cov;
    cov << 4.0, 2.0, 2.0, 9.0;  // nilearn's cov_to_corr docstring
    const Connectome r = covariance_to_correlation(cov);
    CHECK(r(0, 1) == Approx(1.0 / 3.0).epsilon(1e-15));
    CHECK(r.diagonal() == Eigen::VectorXd::Ones(2));
    Eigen::Matrix2d precision;
    precision << 2.0, -1.0, -1.0, 2.0;  // nilearn's prec_to_partial docstring
    CHECK(precision_to_partial_correlation(precision)(1, 0) == Approx(0.5).epsilon(1e-15));
    cov(1, 1) = 0.0;
    REQUIRE_THROWS_WITH(covariance_to_correlation(cov), Catch::Matchers::Contains("diagonal entry 1"));
}

TEST_CASE("sym_matrix_to_vec / vec_to_sym_matrix: nilearn's order and √2 diagonal", "[connectivity]") {
    Eigen::Matrix3d m;
    m << 1.0, 2.0, 3.0, 2.0, 1.0, 5.0, 3.0, 5.0, 1.0;  // nilearn's docstring example
    const double d = 1.0 / std::sqrt(2.0);
    Eigen::VectorXd expected(6);
    expected << d, 2.0, d, 3.0, 5.0, d;
    CHECK((sym_matrix_to_vec(m) - expected).cwiseAbs().maxCoeff() <= 1e-15);
    CHECK(sym_matrix_to_vec(m, true) == Eigen::Vector3d(2.0, 3.0, 5.0));
    CHECK((vec_to_sym_matrix(sym_matrix_to_vec(m)) - Eigen::MatrixXd(m)).cwiseAbs().maxCoeff() <= 1e-15);
    // vec_to_sym_matrix(arange(1, 7)) from nilearn's docstring.
    Eigen::VectorXd v(6);
    v << 1, 2, 3, 4, 5, 6;
    Eigen::Matrix3d sym;
    sym << std::sqrt(2.0), 2, 4, 2, 3 * std::sqrt(2.0), 5, 4, 5, 6 * std::sqrt(2.0);
    CHECK((vec_to_sym_matrix(v) - Eigen::MatrixXd(sym)).cwiseAbs().maxCoeff() <= 1e-14);
    // A separate diagonal is multiplied by √2 as well (nilearn's convention).
    const Eigen::MatrixXd rebuilt = vec_to_sym_matrix(Eigen::Vector3d(2.0, 3.0, 5.0), Eigen::Vector3d::Constant(d));
    CHECK((rebuilt - Eigen::MatrixXd(m)).cwiseAbs().maxCoeff() <= 1e-15);
    // Index formulas.
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j <= i; ++j) {
            CHECK(expected[sym_vec_index(i, j, false)] == Approx(i == j ? m(i, j) * d : m(i, j)));
            if (j < i) CHECK(sym_matrix_to_vec(m, true)[sym_vec_index(i, j, true)] == m(i, j));
        }
    }
    CHECK_THROWS_AS(vec_to_sym_matrix(Eigen::VectorXd::Ones(5)), InvalidInput);
    CHECK_THROWS_AS(vec_to_sym_matrix(Eigen::VectorXd::Ones(3), Eigen::VectorXd::Ones(4)), InvalidInput);
}

TEST_CASE("edge z-scores: naive is sqrt(T-3) atanh r; Bartlett's T_eff for AR(1) pairs", "[connectivity]") {
    // Independent AR(1) pairs with φ_x = 0.6, φ_y = 0.5: 1 + 2 Σ_k (0.3)^k = 1 + 2·0.3/0.7 (Bartlett 1946).
    const int t = 20000;
    Eigen::MatrixXd x(t, 2);
    std::uint64_t state = 12345;
    auto normal = [&state]() {  // Box–Muller on a small LCG: deterministic on every platform
        auto uniform = [&state]() {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            return (static_cast<double>(state >> 11) + 0.5) / 9007199254740992.0;
        };
        const double u = uniform(), v = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
    };
    x(0, 0) = normal();
    x(0, 1) = normal();
    for (int i = 1; i < t; ++i) {
        x(i, 0) = 0.6 * x(i - 1, 0) + normal();
        x(i, 1) = 0.5 * x(i - 1, 1) + normal();
    }
    EdgeZOptions naive;
    naive.method = ZVariance::naive;
    const EdgeZScores n = edge_zscores(x, naive);
    CHECK(n.zscore(0, 1) == Approx(std::atanh(correlation(x)(0, 1)) * std::sqrt(t - 3.0)).epsilon(1e-12));
    CHECK(n.dof(0, 1) == t);
    const EdgeZScores b = edge_zscores(x);
    CHECK(b.max_lag == 141);  // ⌊√20000⌋
    const double expected = t / (1.0 + 2.0 * 0.3 / 0.7);
    CHECK(b.dof(0, 1) == Approx(expected).epsilon(0.05));
    CHECK(b.dof(1, 0) == b.dof(0, 1));
    CHECK(b.zscore(0, 1) == Approx(b.fisher_z(0, 1) * std::sqrt(b.dof(0, 1) - 3.0)).epsilon(1e-12));
    CHECK(b.zscore(0, 0) == 0.0);
    CHECK(b.dof(0, 0) == t);
    // xDF (Afyouni et al. 2019) reduces to Bartlett's correction for uncorrelated series.
    EdgeZOptions xdf;
    xdf.method = ZVariance::xdf;
    const EdgeZScores x2 = edge_zscores(x, xdf);
    CHECK(x2.dof(0, 1) - 3.0 == Approx(expected).epsilon(0.05));
    CHECK(x2.dof(0, 1) == x2.dof(1, 0));
    CHECK(parse_z_variance("xdf") == ZVariance::xdf);
    // White noise: T_eff stays close to T and never above it.
    Eigen::MatrixXd w(t, 2);
    for (int i = 0; i < t; ++i) w(i, 0) = normal(), w(i, 1) = normal();
    const EdgeZScores bw = edge_zscores(w);
    CHECK(bw.dof(0, 1) <= t);
    CHECK(bw.dof(0, 1) >= 0.95 * t);
    EdgeZOptions bad;
    bad.max_lag = 0;
    CHECK_THROWS_AS(edge_zscores(w, bad), InvalidInput);
    CHECK_THROWS_WITH(parse_z_variance("xdf2"), Catch::Matchers::Contains("'naive', 'bartlett'"));
}
