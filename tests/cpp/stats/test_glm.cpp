// rewire::stats — design validation, the parametric GLM, distributions and FDR against closed forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "rewire/stats/design.hpp"
#include "rewire/stats/distributions.hpp"
#include "rewire/stats/fdr.hpp"
#include "rewire/stats/glm.hpp"
#include "test_support.hpp"

using namespace rewire;
using namespace rewire::stats;
using rewire::test::normal_matrix;

namespace {

}  // namespace

TEST_CASE("distributions: closed forms of the t, F and normal tails", "[stats][distributions]") {
    // t with 1 dof is Cauchy: P(T > t) = 1/2 − atan(t)/π.
    for (double t : {-3.0, -0.5, 0.0, 0.7, 2.0, 40.0}) {
        CHECK(t_sf(t, 1.0) == Approx(0.5 - std::atan(t) / M_PI).epsilon(1e-13));
    }
    // t with 2 dof: P(T > t) = 1/2 − t / (2 √(2 + t²)).
    for (double t : {-1.5, 0.3, 4.0}) {
        CHECK(t_sf(t, 2.0) == Approx(0.5 - t / (2.0 * std::sqrt(2.0 + t * t))).epsilon(1e-13));
    }
    // F(2, d2): P(F > f) = (1 + 2f/d2)^(−d2/2).
    for (double f : {0.1, 1.0, 7.5}) {
        CHECK(f_sf(f, 2.0, 9.0) == Approx(std::pow(1.0 + 2.0 * f / 9.0, -4.5)).epsilon(1e-13));
    }
    // F(1, ν) is t²: both two-sided tails agree.
    CHECK(f_sf(2.3 * 2.3, 1.0, 17.0) == Approx(t_two_sided_p(2.3, 17.0)).epsilon(1e-13));
    // Very small tails keep relative precision (Cauchy: ≈ 1/(π t) for large t).
    CHECK(t_sf(1e12, 1.0) == Approx(1.0 / (M_PI * 1e12)).epsilon(1e-9));
    CHECK(normal_sf(1.959963984540054) == Approx(0.025).epsilon(1e-14));
    for (double p : {1e-300, 1e-10, 0.025, 0.3, 0.5, 0.9}) {
        CHECK(normal_sf(normal_isf(p)) == Approx(p).epsilon(1e-13));
    }
    // Large dof: t → Z.
    CHECK(t_to_z(3.0, 1e7) == Approx(3.0).epsilon(1e-6));
    CHECK(z_to_t(t_to_z(2.5, 12.0), 12.0) == Approx(2.5).epsilon(1e-12));
    CHECK(z_to_t(-2.0, 8.0) == Approx(-z_to_t(2.0, 8.0)).epsilon(1e-15));
    CHECK(f_sf(z_to_f(3.1, 3.0, 20.0), 3.0, 20.0) == Approx(normal_sf(3.1)).epsilon(1e-12));
}

TEST_CASE("design: bad designs and contrasts are named in the error", "[stats][design]") {
    Eigen::MatrixXd design(6, 3);
    design.col(0).setOnes();
    design.col(1) << 1, 2, 3, 4, 5, 6;
    design.col(2) = 2.0 * design.col(1);  // collinear
    CHECK_THAT(test::message_of<InvalidInput>([&] { make_model(design, Eigen::RowVector3d(0, 1, 0)); }),
               Catch::Contains("rank-deficient") && Catch::Contains("column 2"));
    design.col(2) << 0, 1, 0, 1, 1, 0;
    CHECK_THAT(test::message_of<InvalidInput>([&] { make_model(design, Eigen::RowVector2d(0, 1)); }),
               Catch::Contains("expected 3 weights"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { make_model(design, Eigen::RowVector3d(0, 0, 0)); }),
               Catch::Contains("all zeros"));
    Eigen::MatrixXd two(2, 3);
    two << 0, 1, 0, 0, 2, 0;
    CHECK_THAT(test::message_of<InvalidInput>([&] { make_model(design, two, Statistic::f); }),
               Catch::Contains("linearly dependent"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { make_model(design, two, Statistic::t); }),
               Catch::Contains("t contrast has 1 row"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { make_model(design.topRows(3), Eigen::RowVector3d(0, 1, 0)); }),
               Catch::Contains("no residual degrees of freedom"));
    Eigen::MatrixXd nan_design = design;
    nan_design(2, 1) = std::nan("");
    CHECK_THAT(test::message_of<InvalidInput>([&] { make_model(nan_design, Eigen::RowVector3d(0, 1, 0)); }),
               Catch::Contains("NaN"));
}

TEST_CASE("design: the Beckmann split is orthonormal and spans the design", "[stats][design]") {
    const Eigen::MatrixXd noise = normal_matrix(20, 3, 7);
    Eigen::MatrixXd design(20, 4);
    design.col(0).setOnes();
    design.rightCols(3) = noise;
    design.col(3) *= 1000.0;  // units must not matter
    const Model model = make_model(design, Eigen::RowVector4d(0, 1, -1, 0));
    REQUIRE(model.interest.cols() == 1);
    REQUIRE(model.nuisance.cols() == 3);
    Eigen::MatrixXd basis(20, 4);
    basis << model.interest, model.nuisance;
    CHECK((basis.transpose() * basis - Eigen::MatrixXd::Identity(4, 4)).cwiseAbs().maxCoeff() < 1e-12);
    // Same column space as the design.
    const Eigen::MatrixXd projected = basis * (basis.transpose() * design);
    CHECK((projected - design).cwiseAbs().maxCoeff() < 1e-9 * design.cwiseAbs().maxCoeff());
    // X = M (MᵀM)⁻¹ cᵀ, and interest = X / ‖X‖ with the same sign.
    const Eigen::VectorXd x = design * (design.transpose() * design).inverse() * Eigen::Vector4d(0, 1, -1, 0);
    CHECK((model.interest - x / x.norm()).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(model.contrast_variance == Approx(x.squaredNorm()).epsilon(1e-12));
    CHECK(model.nuisance_has_intercept());
    CHECK(model.dof == 16);
    const Model one_sample = make_model(Eigen::MatrixXd::Ones(20, 1), Eigen::MatrixXd::Ones(1, 1));
    CHECK(one_sample.nuisance.cols() == 0);
    CHECK_FALSE(one_sample.nuisance_has_intercept());
}

TEST_CASE("glm: one-sample t equals mean / (sd / √n) and two-sample the pooled t", "[stats][glm]") {
    const Eigen::MatrixXd data = normal_matrix(15, 10, 11).array() + 0.4;
    const GlmResult one = glm(data, Eigen::MatrixXd::Ones(15, 1), Eigen::MatrixXd::Ones(1, 1));
    for (Eigen::Index e = 0; e < 10; ++e) {
        const double mean = data.col(e).mean();
        const double sd = std::sqrt((data.col(e).array() - mean).square().sum() / 14.0);
        CHECK(one.value[e] == Approx(mean / (sd / std::sqrt(15.0))).epsilon(1e-12));
        CHECK(one.p[e] == Approx(2.0 * t_sf(std::fabs(one.value[e]), 14.0)).epsilon(1e-12));
        CHECK(one.effect[e] == Approx(mean).epsilon(1e-12));
    }
    CHECK(one.df2 == 14.0);

    Eigen::MatrixXd design(15, 2);
    design.col(0).setOnes();
    for (int i = 0; i < 15; ++i) design(i, 1) = i < 6 ? 1.0 : 0.0;
    const GlmResult two = glm(data, design, Eigen::RowVector2d(0, 1));
    for (Eigen::Index e = 0; e < 10; ++e) {
        const double m1 = data.col(e).head(6).mean();
        const double m2 = data.col(e).tail(9).mean();
        const double ss = (data.col(e).head(6).array() - m1).square().sum() + (data.col(e).tail(9).array() - m2).square().sum();
        const double t = (m1 - m2) / std::sqrt(ss / 13.0 * (1.0 / 6 + 1.0 / 9));
        CHECK(two.value[e] == Approx(t).epsilon(1e-12));
    }
    // F of the same one-row contrast is t².
    const GlmResult f = glm(data, design, Eigen::RowVector2d(0, 1), Statistic::f);
    for (Eigen::Index e = 0; e < 10; ++e) {
        CHECK(f.value[e] == Approx(two.value[e] * two.value[e]).epsilon(1e-12));
        CHECK(f.p[e] == Approx(two.p[e]).epsilon(1e-11));
    }
}

TEST_CASE("glm: constant edges are degenerate, NaN edges and row mismatches are errors", "[stats][glm]") {
    Eigen::MatrixXd data = normal_matrix(8, 6, 3);
    data.col(2).setConstant(0.25);
    data.col(4).setZero();
    const GlmResult r = glm(data, Eigen::MatrixXd::Ones(8, 1), Eigen::MatrixXd::Ones(1, 1));
    REQUIRE(r.degenerate == std::vector<Eigen::Index>{2, 4});
    CHECK(r.value[2] == 0.0);
    CHECK(r.p[4] == 1.0);
    CHECK(std::isfinite(r.value[0]));
    data(3, 5) = std::nan("");
    CHECK_THAT(test::message_of<InvalidInput>([&] { glm(data, Eigen::MatrixXd::Ones(8, 1), Eigen::MatrixXd::Ones(1, 1)); }),
               Catch::Contains("edge 5") && Catch::Contains("nodes 2–3") && Catch::Contains("1 of 8"));
    CHECK_THAT(test::message_of<InvalidInput>([&] {
                   glm(data.topRows(7), Eigen::MatrixXd::Ones(8, 1), Eigen::MatrixXd::Ones(1, 1));
               }),
               Catch::Contains("7 subjects") && Catch::Contains("8 rows"));
}

TEST_CASE("fdr: Benjamini–Hochberg by hand", "[stats][fdr]") {
    Eigen::VectorXd p(5);
    p << 0.01, 0.04, 0.03, 0.5, 0.02;
    const Eigen::VectorXd bh = fdr(p);
    // Sorted 0.01 0.02 0.03 0.04 0.5 → ×5/i = 0.05 0.05 0.05 0.05 0.5, running minimum from the top.
    CHECK(bh[0] == Approx(0.05));
    CHECK(bh[1] == Approx(0.05));
    CHECK(bh[2] == Approx(0.05));
    CHECK(bh[3] == Approx(0.5));
    CHECK(bh[4] == Approx(0.05));
    const Eigen::VectorXd by = fdr(p, FdrMethod::by);
    CHECK(by[3] == Approx(std::min(1.0, 0.5 * (1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4 + 1.0 / 5))));
    Eigen::VectorXd bad = p;
    bad[1] = std::nan("");
    CHECK_THAT(test::message_of<InvalidInput>([&] { fdr(bad); }), Catch::Contains("p[1]"));
}
