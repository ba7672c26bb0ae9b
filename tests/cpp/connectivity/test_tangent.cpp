// The geometric mean and the tangent space against closed forms and invariances.
#include <Eigen/QR>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "connectivity/spd_support.hpp"
#include "rewire/connectivity/tangent.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::max_abs;
using rewire::test::random_spd;

namespace {

/// T × N signals with a subject-specific mixing, from a fixed seed.
TimeSeries subject_signals(int t, int n, unsigned seed) { return test::mixed_signals(t, n, seed, 0.25); }

}  // namespace

TEST_CASE("geometric mean of commuting matrices is the entrywise geometric mean", "[tangent]") {
    std::vector<Eigen::MatrixXd> m;
    const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(random_spd(5, 3)).householderQ();
    Eigen::VectorXd log_sum = Eigen::VectorXd::Zero(5);
    for (unsigned k = 0; k < 4; ++k) {
        Eigen::VectorXd values(5);
        for (int i = 0; i < 5; ++i) values[i] = 0.5 + 0.7 * i + 0.3 * k * (i % 2 ? 1.0 : -0.5) + 0.2 * k;
        log_sum += values.array().log().matrix();
        m.push_back(q * values.asDiagonal() * q.transpose());
    }
    GeometricMeanOptions o;
    o.tol = 1e-14;
    o.max_iter = 100;
    const GeometricMean g = geometric_mean(m, o);
    const Eigen::MatrixXd expected = q * (log_sum / 4.0).array().exp().matrix().asDiagonal() * q.transpose();
    CHECK(g.converged);
    CHECK(max_abs(g.mean - expected) <= 1e-10 * max_abs(expected));
}

TEST_CASE("geometric mean of two matrices is the midpoint A#B", "[tangent]") {
    const int n = GENERATE(6, 48);  // 48: the fast eigensolver's path (n ≥ 24)
    const Eigen::MatrixXd a = random_spd(n, 4), b = random_spd(n, 5);
    // A#B = A^{1/2} (A^{-1/2} B A^{-1/2})^{1/2} A^{1/2} (Bhatia 2007, Positive Definite Matrices, 4.1).
    const Eigen::MatrixXd ra = sqrtm(a), wa = inv_sqrtm(a);
    const Eigen::MatrixXd midpoint = ra * sqrtm(wa * b * wa) * ra;
    GeometricMeanOptions o;
    o.tol = 1e-14;
    o.max_iter = 200;
    const GeometricMean g = geometric_mean({a, b}, o);
    CHECK(g.converged);
    CHECK(max_abs(g.mean - midpoint) <= 1e-9 * max_abs(midpoint));
    // Congruence invariance: mean(X A X', X B X') = X mean(A, B) X'.
    Eigen::MatrixXd x = random_spd(n, 6) + 0.3 * Eigen::MatrixXd::Ones(n, n);
    const GeometricMean gx = geometric_mean({x * a * x.transpose(), x * b * x.transpose()}, o);
    const Eigen::MatrixXd moved = x * midpoint * x.transpose();
    CHECK(max_abs(gx.mean - moved) <= 1e-8 * max_abs(moved));
}

TEST_CASE("tangent vectors: zero at the mean, sum to zero over the group, reference reusable", "[tangent]") {
    const int n = GENERATE(8, 40);
    std::vector<TimeSeries> group;
    for (unsigned k = 0; k < 6; ++k) group.push_back(subject_signals(120 + 10 * static_cast<int>(k), n, 20 + k));
    TangentOptions o;
    o.mean.tol = 1e-13;
    o.mean.max_iter = 100;
    TangentSpace space(o);
    const std::vector<Connectome> vectors = space.fit_transform(group);
    REQUIRE(vectors.size() == 6);
    REQUIRE(space.summary().converged);
    // The geometric mean is where the mean of the logs vanishes (the gradient of the objective).
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(n, n);
    for (const auto& v : vectors) {
        sum += v;
        CHECK(max_abs(v - v.transpose()) == 0.0);
    }
    CHECK(max_abs(sum) <= 1e-9);
    CHECK(max_abs(space.whitening() * space.mean() * space.whitening() - Eigen::MatrixXd::Identity(n, n)) <= 1e-12);
    CHECK(max_abs(space.transform_covariances({space.mean()})[0]) <= 1e-12);
    // A restored reference maps new sessions exactly as the fitted one.
    const TangentSpace restored = TangentSpace::from_reference(space.mean(), space.whitening(), o);
    const std::vector<TimeSeries> later{subject_signals(150, n, 99)};
    CHECK((restored.transform(later)[0].array() == space.transform(later)[0].array()).all());
}

TEST_CASE("tangent embedding is bit-identical for any thread count", "[tangent]") {
    const int n = GENERATE(12, 40);
    std::vector<TimeSeries> group;
    for (unsigned k = 0; k < 5; ++k) group.push_back(subject_signals(100, n, 40 + k));
    TangentOptions one;
    one.mean.threads = 1;
    TangentOptions three = one;
    three.mean.threads = 3;
    TangentSpace a(one), b(three);
    const auto va = a.fit_transform(group);
    const auto vb = b.fit_transform(group);
    CHECK((a.mean().array() == b.mean().array()).all());
    CHECK(a.summary().iterations == b.summary().iterations);
    for (std::size_t k = 0; k < va.size(); ++k) CHECK((va[k].array() == vb[k].array()).all());
}

TEST_CASE("tangent: bad input names the problem", "[tangent][errors]") {
    std::vector<TimeSeries> mixed{subject_signals(50, 6, 1), subject_signals(50, 7, 2)};
    TangentSpace space;
    CHECK_THAT(test::message_of<InvalidInput>([&] { space.fit(mixed); }),
               Catch::Matchers::Contains("subject 1 has 7 regions"));
    TangentOptions empirical;
    empirical.estimator = CovarianceEstimator::empirical;
    TangentSpace e(empirical);
    std::vector<TimeSeries> short_group{subject_signals(5, 6, 3), subject_signals(50, 6, 4)};
    CHECK_THAT(test::message_of<InvalidInput>([&] { e.fit(short_group); }),
               Catch::Matchers::Contains("T <= N") && Catch::Matchers::Contains("ledoit_wolf"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { space.transform({subject_signals(50, 6, 5)}); }),
               Catch::Matchers::Contains("before fit"));
    space.fit({subject_signals(50, 6, 6), subject_signals(60, 6, 7)});
    CHECK_THAT(test::message_of<InvalidInput>([&] { space.transform({subject_signals(50, 5, 8)}); }),
               Catch::Matchers::Contains("subject 0 has 5 regions, the reference has 6"));
    Eigen::MatrixXd not_spd = Eigen::MatrixXd::Identity(3, 3);
    not_spd(2, 2) = -1.0;
    CHECK_THROWS_AS(geometric_mean({Eigen::MatrixXd::Identity(3, 3), not_spd}), InvalidInput);
    // A matrix that is not positive definite while the arithmetic mean is: found by the first
    // iteration (its whitened form is congruent to it), and named.
    const Eigen::MatrixXd two = 2.0 * Eigen::MatrixXd::Identity(3, 3);
    CHECK_THAT(test::message_of<InvalidInput>([&] { geometric_mean({two, two, not_spd}); }),
               Catch::Matchers::Contains("matrix 2") && Catch::Matchers::Contains("not symmetric positive definite"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { space.transform_covariances({Eigen::MatrixXd::Identity(6, 6), [] {
                   Eigen::MatrixXd c = Eigen::MatrixXd::Identity(6, 6);
                   c(4, 4) = -2.0;
                   return c;
               }()}); }),
               Catch::Matchers::Contains("subject 1") && Catch::Matchers::Contains("not symmetric positive definite"));
    CHECK_THROWS_AS(TangentSpace::from_reference(not_spd, not_spd), InvalidInput);
    // nilearn's symmetry tolerance, 1e-7 relative, checked tile by tile: an asymmetry in an
    // off-diagonal tile of a 70 × 70 matrix is caught, one below the tolerance is not.
    const Eigen::MatrixXd spd = random_spd(70, 12);
    Eigen::MatrixXd skewed = spd;
    skewed(66, 3) *= 1.0 + 1e-6;
    CHECK_THAT(test::message_of<InvalidInput>([&] { geometric_mean({spd, skewed}); }),
               Catch::Matchers::Contains("matrix 1 is not symmetric"));
    skewed(66, 3) = spd(66, 3) * (1.0 + 1e-8);
    CHECK_NOTHROW(geometric_mean({spd, skewed}));
    GeometricMeanOptions bad;
    bad.max_iter = 0;
    CHECK_THROWS_AS(bad.validate(), InvalidInput);
}
