// SPD matrix functions (sqrtm, inv_sqrtm, logm, expm, map_eigenvalues) against their definitions, diagonal
// closed forms and Eigen's own matrix exponential and logarithm (Padé / Schur–Parlett,
// unsupported/MatrixFunctions).
#include <catch2/catch.hpp>
#include <cmath>
#include <unsupported/Eigen/MatrixFunctions>

#include "connectivity/spd_support.hpp"
#include "rewire/connectivity/matrix_functions.hpp"
#include "rewire/core/error.hpp"

using namespace rewire;
using rewire::test::max_abs;
using rewire::test::random_spd;

TEST_CASE("SPD matrix functions: sqrtm² = A, W A W = I, logm ∘ expm = identity", "[tangent]") {
    const int n = GENERATE(9, 60);  // 60: the fast eigensolver's path (n ≥ 24)
    const Eigen::MatrixXd a = random_spd(n, 1);
    const Eigen::MatrixXd root = sqrtm(a);
    CHECK(max_abs(root * root - a) <= 1e-12 * max_abs(a));
    const Eigen::MatrixXd w = inv_sqrtm(a);
    CHECK(max_abs(w * a * w - Eigen::MatrixXd::Identity(n, n)) <= 1e-12);
    Eigen::MatrixXd s = random_spd(n, 2) - 2.0 * Eigen::MatrixXd::Identity(n, n);  // symmetric, indefinite
    CHECK(max_abs(logm(expm(s)) - s) <= 1e-12 * max_abs(s));
    // Eigen's own matrix functions (scaling and squaring with Padé approximants, Schur–Parlett,
    // Denman–Beavers free square root): other algorithms, no eigendecomposition shared with rewire's.
    CHECK(max_abs(root - Eigen::MatrixXd(a.sqrt())) <= 1e-12 * max_abs(root));
    CHECK(max_abs(logm(a) - Eigen::MatrixXd(a.log())) <= 1e-12 * max_abs(logm(a)));
    CHECK(max_abs(expm(s) - Eigen::MatrixXd(s.exp())) <= 1e-12 * max_abs(expm(s)));
    // On a diagonal matrix the functions act entry by entry.
    const Eigen::Vector3d d(0.5, 2.0, 3.0);
    const Eigen::MatrixXd dm = d.asDiagonal();
    const Eigen::MatrixXd expected = d.array().log().matrix().asDiagonal();
    CHECK(max_abs(logm(dm) - expected) <= 1e-15);
    CHECK(max_abs(map_eigenvalues(dm, [](double x) { return x * x; }) -
                  Eigen::MatrixXd(d.array().square().matrix().asDiagonal())) <= 1e-14);
    CHECK_THROWS_AS(logm(s), InvalidInput);  // not positive definite
}
