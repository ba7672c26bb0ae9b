// cosine_drift: nilearn's DCT-II drift basis, orthonormal up to the cut-off, then a constant.
#include <catch2/catch.hpp>

#include "rewire/signal/cosine_drift.hpp"

using namespace rewire;

TEST_CASE("cosine drift: orthonormal DCT-II columns up to the cut-off, then a constant", "[signal][cosine]") {
    const Eigen::MatrixXd drift = cosine_drift(0.01, 200, 2.0);
    REQUIRE(drift.cols() == 8 + 1);  // floor(2 · 200 · 0.01 · 2) cosines
    const Eigen::MatrixXd cosines = drift.leftCols(8);
    CHECK((cosines.transpose() * cosines - Eigen::MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(drift.col(8) == Eigen::VectorXd::Ones(200));
    CHECK(cosine_drift(0.3, 40, 2.0).cols() == 40);  // capped at T − 1 cosines
}
