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
