// Edge vectors (strict upper triangle) and nilearn's sym_matrix_to_vec / vec_to_sym_matrix layout, against
// hand-written matrices and nilearn's docstring examples.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/connectivity/edges.hpp"

using namespace rewire;

TEST_CASE("edge vector: strict upper triangle, row by row, and its index formula", "[connectivity]") {
    const int n = 6;
    Eigen::MatrixXd m(n, n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
            m(i, j) = 100 * i + j;
    const EdgeVector e = edge_vector(m);
    REQUIRE(e.size() == edge_count(n));
    std::int64_t expected = 0;
    for (int i = 0; i < n; ++i) {
        for (int j = i + 1; j < n; ++j) {
            CHECK(edge_index(i, j, n) == expected);
            CHECK(e[expected] == m(i, j));
            ++expected;
        }
    }
}

TEST_CASE("sym_matrix_to_vec / vec_to_sym_matrix: nilearn's order and √2 diagonal", "[connectivity]") {
    Eigen::Matrix3d m;
    m << 1.0, 2.0, 3.0, 2.0, 1.0, 5.0, 3.0, 5.0, 1.0;  // nilearn's docstring example
    const double d = 1.0 / std::sqrt(2.0);
    Eigen::VectorXd expected(6);
    expected << d, 2.0, d, 3.0, 5.0, d;
    CHECK((sym_matrix_to_vec(m) - expected).cwiseAbs().maxCoeff() <= 1e-15);
    CHECK(sym_matrix_to_vec(m, true) == Eigen::Vector3d(2.0, 3.0, 5.0));
    CHECK((vec_to_sym_matrix(sym_matrix_to_vec(m)) - Eigen::MatrixXd(m)).cwiseAbs().maxCoeff() <= 1e-15);
    // vec_to_sym_matrix(arange(1, 7)) from nilearn's docstring.
    Eigen::VectorXd v(6);
    v << 1, 2, 3, 4, 5, 6;
    Eigen::Matrix3d sym;
    sym << std::sqrt(2.0), 2, 4, 2, 3 * std::sqrt(2.0), 5, 4, 5, 6 * std::sqrt(2.0);
    CHECK((vec_to_sym_matrix(v) - Eigen::MatrixXd(sym)).cwiseAbs().maxCoeff() <= 1e-14);
    // A separate diagonal is multiplied by √2 as well (nilearn's convention).
    const Eigen::MatrixXd rebuilt =
        vec_to_sym_matrix(Eigen::Vector3d(2.0, 3.0, 5.0), Eigen::Vector3d::Constant(d));
    CHECK((rebuilt - Eigen::MatrixXd(m)).cwiseAbs().maxCoeff() <= 1e-15);
    // Index formulas.
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j <= i; ++j) {
            CHECK(expected[sym_vec_index(i, j, false)] == Approx(i == j ? m(i, j) * d : m(i, j)));
            if (j < i)
                CHECK(sym_matrix_to_vec(m, true)[sym_vec_index(i, j, true)] == m(i, j));
        }
    }
    CHECK_THROWS_AS(vec_to_sym_matrix(Eigen::VectorXd::Ones(5)), InvalidInput);
    CHECK_THROWS_AS(vec_to_sym_matrix(Eigen::VectorXd::Ones(3), Eigen::VectorXd::Ones(4)), InvalidInput);
}
