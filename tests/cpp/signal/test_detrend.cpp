// detrend: residuals orthogonal to a constant and a ramp.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/signal/detrend.hpp"
#include "signal/signal_support.hpp"

using namespace rewire;

using rewire::test::random_walk;

TEST_CASE("detrend leaves residuals orthogonal to a constant and a ramp", "[signal][detrend]") {
    Eigen::MatrixXd x = random_walk(57, 3, 3);
    for (Eigen::Index t = 0; t < 57; ++t)
        x(t, 2) = 3.0 + 0.5 * t;
    const Eigen::MatrixXd d = detrend(x);
    for (Eigen::Index j = 0; j < 3; ++j) {
        CHECK(std::abs(d.col(j).sum()) < 1e-10);
        double ramp = 0.0;
        for (Eigen::Index t = 0; t < 57; ++t)
            ramp += d(t, j) * t;
        CHECK(std::abs(ramp) < 1e-9);
    }
    CHECK(d.col(2).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(detrend(Eigen::MatrixXd::Ones(1, 2)) == Eigen::MatrixXd::Ones(1, 2));
}
