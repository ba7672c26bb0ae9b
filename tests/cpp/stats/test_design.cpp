// rewire::stats — design validation and the Beckmann split of a design into effect and nuisance.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/core/error.hpp"
#include "rewire/stats/design.hpp"
#include "test_support.hpp"

using namespace rewire;
using namespace rewire::stats;
using rewire::test::normal_matrix;

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
    CHECK_THAT(
        test::message_of<InvalidInput>([&] { make_model(design.topRows(3), Eigen::RowVector3d(0, 1, 0)); }),
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
