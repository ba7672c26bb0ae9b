// rewire::stats — Benjamini–Hochberg FDR by hand.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/core/error.hpp"
#include "rewire/stats/fdr.hpp"
#include "test_support.hpp"

using namespace rewire;
using namespace rewire::stats;

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
