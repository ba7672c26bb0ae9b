// Connectivity kinds of one subject against closed forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/estimate.hpp"
#include "test_support.hpp"

using namespace rewire;

namespace {

double max_abs(const Eigen::MatrixXd& m) { return m.cwiseAbs().maxCoeff(); }

Eigen::MatrixXd signals(int t, int n, unsigned seed) {
    Eigen::MatrixXd x = test::mixed_signals(t, n, seed, 0.4);
    for (int j = 0; j < n; ++j) x.col(j) *= 1.0 + j;  // unequal variances: standardising matters
    return x;
}

EstimateOptions with(ConnectivityKind kind, CovarianceEstimator estimator = CovarianceEstimator::empirical) {
    EstimateOptions o;
    o.kind = kind;
    o.estimator = estimator;
    return o;
}

}  // namespace

TEST_CASE("empirical correlation is Pearson's r and says so", "[estimate]") {
    const Eigen::MatrixXd x = signals(200, 6, 1);
    const Estimate e = estimate(x);
    CHECK(e.kind == ConnectivityKind::correlation);
    CHECK(e.estimator == CovarianceEstimator::empirical);
    CHECK(e.shrinkage == 0.0);
    CHECK(max_abs(e.matrix - correlation(x)) <= 1e-14);
    CHECK(e.matrix.diagonal() == Eigen::VectorXd::Ones(6));
}

TEST_CASE("Ledoit-Wolf correlation of z-scored columns is (1 - δ) r", "[estimate]") {
    // On z-scored columns every variance is (T−1)/T = μ, so cov_to_corr((1−δ)S + δμI) = (1−δ) r.
    const Eigen::MatrixXd x = signals(150, 8, 2);
    const Estimate e = estimate(x, with(ConnectivityKind::correlation, CovarianceEstimator::ledoit_wolf));
    CHECK(e.standardized);
    CHECK(e.shrinkage > 0.0);
    Eigen::MatrixXd expected = (1.0 - e.shrinkage) * correlation(x);
    expected.diagonal().setOnes();
    CHECK(max_abs(e.matrix - expected) <= 1e-13);
    // The shrinkage is that of the z-scored signals.
    const Eigen::MatrixXd xc = x.rowwise() - x.colwise().mean();
    const Eigen::MatrixXd z = xc.array().rowwise() / (xc.colwise().norm().array() / std::sqrt(149.0));
    CHECK(e.shrinkage == Approx(ledoit_wolf(z).shrinkage).epsilon(1e-12));
    // Without standardising, the shrinkage is that of the raw signals.
    EstimateOptions raw = with(ConnectivityKind::correlation, CovarianceEstimator::ledoit_wolf);
    raw.standardize = false;
    const Estimate r = estimate(x, raw);
    CHECK_FALSE(r.standardized);
    CHECK(r.shrinkage == Approx(ledoit_wolf(x).shrinkage).epsilon(1e-12));
    CHECK(max_abs(r.matrix - covariance_to_correlation(ledoit_wolf(x).covariance)) <= 1e-14);
}

TEST_CASE("covariance, precision and partial correlation agree with their definitions", "[estimate]") {
    const Eigen::MatrixXd x = signals(300, 5, 3);
    const Eigen::MatrixXd s = estimate(x, with(ConnectivityKind::covariance)).matrix;
    const Eigen::MatrixXd p = estimate(x, with(ConnectivityKind::precision)).matrix;
    CHECK(max_abs(s * p - Eigen::MatrixXd::Identity(5, 5)) <= 1e-11);
    const Eigen::MatrixXd pc = estimate(x, with(ConnectivityKind::partial_correlation)).matrix;
    // Three variables: r_01·2 = (r01 − r02 r12) / √((1 − r02²)(1 − r12²)).
    const Eigen::MatrixXd x3 = x.leftCols(3);
    const Eigen::MatrixXd r = correlation(x3);
    const double expected = (r(0, 1) - r(0, 2) * r(1, 2)) / std::sqrt((1 - r(0, 2) * r(0, 2)) * (1 - r(1, 2) * r(1, 2)));
    const Eigen::MatrixXd pc3 = estimate(x3, with(ConnectivityKind::partial_correlation)).matrix;
    CHECK(pc3(0, 1) == Approx(expected).epsilon(1e-12));
    CHECK(pc.diagonal() == Eigen::VectorXd::Ones(5));
    CHECK(max_abs(pc - pc.transpose()) == 0.0);
}

TEST_CASE("estimate: bad input gives clear errors", "[estimate][errors]") {
    const Eigen::MatrixXd few = signals(10, 12, 4);  // T ≤ N
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate(few, with(ConnectivityKind::partial_correlation)); }),
               Catch::Matchers::Contains("T > N") && Catch::Matchers::Contains("ledoit_wolf"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate(few, with(ConnectivityKind::precision)); }),
               Catch::Matchers::Contains("T = 10, N = 12"));
    CHECK_NOTHROW(estimate(few, with(ConnectivityKind::partial_correlation, CovarianceEstimator::ledoit_wolf)));
    Eigen::MatrixXd dup = signals(100, 4, 5);
    dup.col(3) = 2.0 * dup.col(1) - dup.col(0);  // linearly dependent: singular covariance
    CHECK_THAT(test::message_of<NumericalError>([&] { estimate(dup, with(ConnectivityKind::partial_correlation)); }),
               Catch::Matchers::Contains("singular"));
    Eigen::MatrixXd flat = signals(50, 3, 6);
    flat.col(2).setConstant(1.5);
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate(flat); }),
               Catch::Matchers::Contains("column 2 has zero variance"));
    Eigen::MatrixXd nan = signals(50, 3, 7);
    nan(3, 1) = std::nan("");
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate(nan); }), Catch::Matchers::Contains("column 1"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate(nan.topRows(2), with(ConnectivityKind::tangent)); }),
               Catch::Matchers::Contains("group"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { parse_connectivity_kind("partial"); }),
               Catch::Matchers::Contains("'partial correlation'") && Catch::Matchers::Contains("'tangent'"));
    CHECK(parse_connectivity_kind("partial_correlation") == ConnectivityKind::partial_correlation);
}
