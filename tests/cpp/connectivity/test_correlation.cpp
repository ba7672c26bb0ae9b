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
