// Not-a-knot cubic spline interpolation of censored frames against polynomials it must reproduce.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/signal/interpolate.hpp"

using namespace rewire;

TEST_CASE("the not-a-knot spline reproduces cubics across censored gaps", "[signal][spline]") {
    const auto cubic = [](double t) { return 0.001 * t * t * t - 0.05 * t * t + 0.3 * t - 2.0; };
    const std::vector<std::int64_t> kept{0, 1, 2, 5, 6, 9, 10, 11, 14, 15};
    Eigen::MatrixXd x = Eigen::MatrixXd::Constant(20, 2, 1e6);  // censored values are ignored
    for (std::int64_t t : kept) {
        x(t, 0) = cubic(static_cast<double>(t));
        x(t, 1) = 2.0 * cubic(static_cast<double>(t));
    }
    const Eigen::MatrixXd filled = interpolate_censored(x, kept, true);
    for (Eigen::Index t = 0; t < 20; ++t) {
        CHECK(filled(t, 0) == Approx(cubic(static_cast<double>(t))).margin(1e-9));
        CHECK(filled(t, 1) == Approx(2.0 * cubic(static_cast<double>(t))).margin(1e-9));
    }
    const Eigen::MatrixXd inside = interpolate_censored(x, kept, false);
    CHECK(std::isnan(inside(17, 0)));
    CHECK(inside(12, 0) == Approx(cubic(12.0)).margin(1e-9));
    // Two kept frames: a straight line; three: a parabola.
    Eigen::MatrixXd line = Eigen::MatrixXd::Zero(6, 1);
    line(1, 0) = 1.0;
    line(4, 0) = 7.0;
    CHECK(interpolate_censored(line, {1, 4}, true)(3, 0) == Approx(5.0).epsilon(1e-14));
    Eigen::MatrixXd parabola = Eigen::MatrixXd::Zero(8, 1);
    for (std::int64_t t : {0, 3, 7})
        parabola(t, 0) = 0.5 * t * t - t;
    CHECK(interpolate_censored(parabola, {0, 3, 7}, true)(5, 0) == Approx(0.5 * 25 - 5).epsilon(1e-12));
    CHECK_THROWS_AS(FrameSpline({3}, 10, true), InvalidInput);
    CHECK_THROWS_AS(FrameSpline({3, 2}, 10, true), InvalidInput);
    CHECK_THROWS_AS(FrameSpline({3, 10}, 10, true), InvalidInput);
}
