// Covariance estimators against the textbook formulas of Ledoit & Wolf (2004) and Chen et al. (2010),
// and their invariances.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Cholesky>

#include "rewire/connectivity/covariance.hpp"
#include "test_support.hpp"

using namespace rewire;

namespace {

/// T × N Gaussian signals with correlated columns and non-zero means, from a fixed seed.
Eigen::MatrixXd mixed_signals(int t, int n, unsigned seed) {
    Eigen::MatrixXd x = test::mixed_signals(t, n, seed, 0.3);
    for (int j = 0; j < n; ++j) x.col(j).array() += 10.0 * j - 3.0;
    return x;
}

/// S = Xc'Xc / T by explicit sums.
Eigen::MatrixXd textbook_covariance(const Eigen::MatrixXd& x) {
    const auto t = x.rows();
    const Eigen::MatrixXd xc = x.rowwise() - x.colwise().mean();
    Eigen::MatrixXd s = Eigen::MatrixXd::Zero(x.cols(), x.cols());
    for (Eigen::Index i = 0; i < t; ++i) s += xc.row(i).transpose() * xc.row(i);
    return s / static_cast<double>(t);
}

}  // namespace

TEST_CASE("empirical covariance is Xc'Xc / T", "[covariance]") {
    const Eigen::MatrixXd x = mixed_signals(300, 7, 1);
    const CovarianceEstimate e = estimate_covariance(x);
    const Eigen::MatrixXd s = textbook_covariance(x);
    CHECK((e.covariance - s).cwiseAbs().maxCoeff() <= 1e-12 * s.cwiseAbs().maxCoeff());
    CHECK((e.location - x.colwise().mean().transpose()).cwiseAbs().maxCoeff() <= 1e-12 * 60.0);
    CHECK(e.shrinkage == 0.0);
    CHECK(e.estimator == CovarianceEstimator::empirical);
    CHECK((e.covariance - e.covariance.transpose()).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("Ledoit-Wolf shrinkage is the 2004 paper's b²/d²", "[covariance]") {
    // Ledoit & Wolf (2004), Lemma 3.2-3.4: b̄² = T⁻² Σ_t ||x_t x_t' − S||², d² = ||S − μI||², δ = min(b̄², d²)/d²
    // (their norm divides by N on both, which cancels).
    for (int t : {40, 300}) {
        const Eigen::MatrixXd x = mixed_signals(t, 12, 2);
        const Eigen::MatrixXd s = textbook_covariance(x);
        const Eigen::MatrixXd xc = x.rowwise() - x.colwise().mean();
        const double mu = s.trace() / 12.0;
        const double d2 = (s - mu * Eigen::MatrixXd::Identity(12, 12)).squaredNorm();
        double b2 = 0.0;
        for (int i = 0; i < t; ++i) b2 += (xc.row(i).transpose() * xc.row(i) - s).squaredNorm();
        b2 /= static_cast<double>(t) * t;
        const double delta = std::min(b2, d2) / d2;

        const CovarianceEstimate e = ledoit_wolf(x);
        CHECK(e.shrinkage == Approx(delta).epsilon(1e-10));
        const Eigen::MatrixXd expected = (1.0 - delta) * s + delta * mu * Eigen::MatrixXd::Identity(12, 12);
        CHECK((e.covariance - expected).cwiseAbs().maxCoeff() <= 1e-10 * expected.cwiseAbs().maxCoeff());
        CHECK(e.covariance.trace() == Approx(s.trace()).epsilon(1e-12));  // shrinkage keeps the trace
    }
}

TEST_CASE("OAS shrinkage is Chen et al.'s formula as scikit-learn writes it", "[covariance]") {
    const Eigen::MatrixXd x = mixed_signals(60, 10, 3);
    const Eigen::MatrixXd s = textbook_covariance(x);
    const double n = 10.0, t = 60.0;
    const double tr_s2 = (s * s).trace();  // tr(S²) through a product, not the implementation's mean(S∘S)
    // Eq. 23 without its 2/N terms, as sklearn: min((tr(S²) + tr(S)²) / ((T + 1)(tr(S²) − tr(S)²/N)), 1),
    // with sklearn's α = tr(S²)/N², μ = tr(S)/N (the 1/N² cancels).
    const double alpha = tr_s2 / (n * n), mu = s.trace() / n;
    const double expected = std::min((alpha + mu * mu) / ((t + 1.0) * (alpha - mu * mu / n)), 1.0);
    const CovarianceEstimate e = oas(x);
    CHECK(e.shrinkage == Approx(expected).epsilon(1e-12));
    CHECK(e.shrinkage > 0.0);
    CHECK(e.shrinkage < 1.0);
    const Eigen::MatrixXd shrunk = (1.0 - expected) * s + expected * mu * Eigen::MatrixXd::Identity(10, 10);
    CHECK((e.covariance - shrunk).cwiseAbs().maxCoeff() <= 1e-12 * shrunk.cwiseAbs().maxCoeff());
}

TEST_CASE("shrinkage intensities do not depend on scale or location", "[covariance]") {
    const Eigen::MatrixXd x = mixed_signals(80, 9, 4);
    Eigen::MatrixXd y = 7.5 * x;
    y.array() += 123.0;
    for (auto estimator : {CovarianceEstimator::ledoit_wolf, CovarianceEstimator::oas}) {
        CovarianceOptions o;
        o.estimator = estimator;
        const auto a = estimate_covariance(x, o);
        const auto b = estimate_covariance(y, o);
        CHECK(b.shrinkage == Approx(a.shrinkage).epsilon(1e-10));
        CHECK((b.covariance / 56.25 - a.covariance).cwiseAbs().maxCoeff() <= 1e-10 * a.covariance.cwiseAbs().maxCoeff());
    }
}

TEST_CASE("Ledoit-Wolf is positive definite with fewer time points than regions", "[covariance]") {
    const Eigen::MatrixXd x = mixed_signals(20, 50, 5);
    const auto lw = ledoit_wolf(x);
    CHECK(lw.shrinkage > 0.0);
    CHECK(lw.shrinkage <= 1.0);
    CHECK(Eigen::LLT<Eigen::MatrixXd>(lw.covariance).info() == Eigen::Success);
    const auto emp = estimate_covariance(x);
    CHECK(Eigen::LLT<Eigen::MatrixXd>(emp.covariance).info() != Eigen::Success);  // rank ≤ T − 1 < N
}

TEST_CASE("one region: no shrinkage, the variance", "[covariance]") {
    const Eigen::MatrixXd x = mixed_signals(30, 1, 6);
    for (auto estimator : {CovarianceEstimator::empirical, CovarianceEstimator::ledoit_wolf, CovarianceEstimator::oas}) {
        CovarianceOptions o;
        o.estimator = estimator;
        const auto e = estimate_covariance(x, o);
        CHECK(e.shrinkage == 0.0);
        CHECK(e.covariance(0, 0) == Approx(textbook_covariance(x)(0, 0)).epsilon(1e-12));
    }
}

TEST_CASE("the covariance is bit-identical for any thread count", "[covariance]") {
    const Eigen::MatrixXd x = mixed_signals(300, 450, 7);  // 3 column blocks: 6 tasks
    CovarianceOptions o;
    o.estimator = CovarianceEstimator::ledoit_wolf;
    o.threads = 1;
    const auto one = estimate_covariance(x, o);
    for (int threads : {2, 3, 4}) {
        o.threads = threads;
        const auto many = estimate_covariance(x, o);
        CHECK((many.covariance.array() == one.covariance.array()).all());
        CHECK(many.shrinkage == one.shrinkage);
    }
    // A group computed one subject per thread gives each subject's own bits.
    std::vector<TimeSeries> group{x, mixed_signals(250, 450, 8), mixed_signals(200, 450, 9)};
    o.threads = 2;
    const auto all = estimate_covariances(group, o);
    o.threads = 1;
    for (std::size_t k = 0; k < group.size(); ++k) {
        CHECK((all[k].covariance.array() == estimate_covariance(group[k], o).covariance.array()).all());
    }
}

TEST_CASE("covariance: bad input names the problem", "[covariance][errors]") {
    Eigen::MatrixXd x = mixed_signals(30, 4, 10);
    x(5, 2) = std::nan("");
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate_covariance(x); }),
               Catch::Matchers::Contains("column 2") && Catch::Matchers::Contains("NaN"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate_covariance(Eigen::MatrixXd::Ones(1, 3)); }),
               Catch::Matchers::Contains("at least 2 time points"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { parse_covariance_estimator("shrunk"); }),
               Catch::Matchers::Contains("'empirical', 'ledoit_wolf', 'oas'"));
    CHECK(parse_covariance_estimator("oas") == CovarianceEstimator::oas);
    std::vector<TimeSeries> group{mixed_signals(30, 4, 11), mixed_signals(30, 5, 12)};
    CHECK_THAT(test::message_of<InvalidInput>([&] { estimate_covariances(group); }),
               Catch::Matchers::Contains("subject 1 has 5 regions"));
    CovarianceOptions bad;
    bad.threads = -1;
    CHECK_THROWS_AS(bad.validate(), InvalidInput);
}
