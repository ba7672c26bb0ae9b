// The fast symmetric eigensolver behind tangent.hpp's matrix functions (src/symmetric_eigensolver.inc):
// on generic matrices it must give eigenpairs as accurate as Eigen's QR solver, and on clustered,
// repeated or split spectra it must decline so that eigh_lower falls back to the QR solver.
#include <Eigen/Eigenvalues>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "rewire/connectivity/covariance.hpp"
#include "test_support.hpp"

using namespace rewire;
namespace kernels = rewire::detail::kernels;

namespace {

/// A whitened sample covariance W C W (W = C₂^{-1/2}) of T = 3N Gaussian signals mixed by I + 0.3 G/√N:
/// the matrices whose logarithms the tangent space takes.
Eigen::MatrixXd whitened_covariance(int n, unsigned seed) {
    const double mixing = 0.3 / std::sqrt(static_cast<double>(n));
    const Eigen::MatrixXd x = test::mixed_signals(3 * n, n, seed, mixing);
    const Eigen::MatrixXd y = test::mixed_signals(3 * n, n, seed + 1, mixing);
    const Eigen::MatrixXd c = x.transpose() * x / (3.0 * n), c2 = y.transpose() * y / (3.0 * n);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e(c2);
    const Eigen::MatrixXd w = e.eigenvectors() * e.eigenvalues().cwiseInverse().cwiseSqrt().asDiagonal() *
                              e.eigenvectors().transpose();
    const Eigen::MatrixXd a = w * c * w;
    return 0.5 * (a + a.transpose());
}

struct Pairs {
    bool fast = false;
    Eigen::VectorXd values;
    Eigen::MatrixXd vectors;
};

Pairs fast_pairs(const Eigen::MatrixXd& a) {
    const auto n = a.rows();
    Pairs p{false, Eigen::VectorXd(n), Eigen::MatrixXd(n, n)};
    p.fast = kernels::eigh_lower_fast(n, a.data(), n, p.values.data(), p.vectors.data(), n);
    return p;
}

Pairs pairs(const Eigen::MatrixXd& a) {
    const auto n = a.rows();
    Pairs p{true, Eigen::VectorXd(n), Eigen::MatrixXd(n, n)};
    REQUIRE(kernels::eigh_lower(n, a.data(), n, p.values.data(), p.vectors.data(), n));
    return p;
}

/// Eigenvalues against Eigen's QR solver, orthonormal vectors, small residual ‖AV − VΛ‖.
void check_eigenpairs(const Eigen::MatrixXd& a, const Pairs& p) {
    const auto n = a.rows();
    const double scale = a.cwiseAbs().maxCoeff();
    const Eigen::VectorXd reference =
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(a, Eigen::EigenvaluesOnly).eigenvalues();
    CHECK((p.values - reference).cwiseAbs().maxCoeff() <= 1e-12 * scale);
    CHECK((p.vectors.transpose() * p.vectors - Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() <=
          1e-10);
    CHECK((a * p.vectors - p.vectors * p.values.asDiagonal()).cwiseAbs().maxCoeff() <= 1e-12 * scale);
}

}  // namespace

TEST_CASE("fast eigensolver: generic matrices take the fast path, as accurate as QR", "[eigensolver]") {
    const int n = GENERATE(24, 97, 400);
    SECTION("whitened covariance") {
        const Eigen::MatrixXd a = whitened_covariance(n, 7);
        const Pairs p = fast_pairs(a);
        REQUIRE(p.fast);
        check_eigenpairs(a, p);
    }
    SECTION("indefinite, eigenvalues of both signs and near zero") {
        Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, -3.0, 2.0);
        values[n / 2] = 1e-9;  // an eigenvalue next to zero needs an absolute, not relative, stopping rule
        const Eigen::MatrixXd a = test::with_spectrum(values, 11);
        const Pairs p = fast_pairs(a);
        REQUIRE(p.fast);
        check_eigenpairs(a, p);
        Eigen::Index nearest = 0;
        p.values.cwiseAbs().minCoeff(&nearest);
        CHECK(std::abs(p.values[nearest] - 1e-9) <= 1e-13);
    }
    SECTION("graded spectrum over six decades") {
        Eigen::VectorXd values(n);
        for (int i = 0; i < n; ++i)
            values[i] = std::pow(10.0, -3.0 + 6.0 * i / (n - 1));
        const Eigen::MatrixXd a = test::with_spectrum(values, 13);
        const Pairs p = fast_pairs(a);  // the smallest eigenvalues are closer than 1e-6‖A‖: QR takes them
        check_eigenpairs(a, p.fast ? p : pairs(a));
    }
}

TEST_CASE("fast eigensolver: close pairs are finished by bisection and reorthogonalized", "[eigensolver]") {
    const int n = 64;
    // 15 pairs this close relative to ‖A‖ = 3: from bisection's brackets (5e-7‖A‖ wide), the Rayleigh
    // quotient iteration of some leaves its bracket for the partner, and bisection finishes those.
    const double gap = GENERATE(1.1e-6, 2e-6, 1e-5, 1e-4);
    Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, 1.0, 3.0);
    for (int i = 2; i < n - 2; i += 4)
        values[i] = values[i + 1] - 3.0 * gap;
    const Eigen::MatrixXd a = test::with_spectrum(values, 43);
    const Pairs p = fast_pairs(a);
    REQUIRE(p.fast);
    check_eigenpairs(a, p);
    // log(A) through these pairs against the QR solver's
    const Pairs q = pairs(a);
    const Eigen::MatrixXd fast_log =
        p.vectors * p.values.array().log().matrix().asDiagonal() * p.vectors.transpose();
    const Eigen::MatrixXd qr_log =
        q.vectors * q.values.array().log().matrix().asDiagonal() * q.vectors.transpose();
    CHECK((fast_log - qr_log).cwiseAbs().maxCoeff() <= 1e-12);
}

TEST_CASE("fast eigensolver declines clustered, repeated and split spectra; eigh_lower stays exact",
          "[eigensolver]") {
    const int n = 64;
    Eigen::MatrixXd a;
    SECTION("identity") {
        a = Eigen::MatrixXd::Identity(n, n);
    }
    SECTION("diagonal (the tridiagonal form splits)") {
        a = Eigen::VectorXd::LinSpaced(n, 1.0, 2.0).asDiagonal();
    }
    SECTION("a triple eigenvalue") {
        Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, 1.0, 3.0);
        values[10] = values[11] = values[12];
        a = test::with_spectrum(values, 17);
    }
    SECTION("two eigenvalues 1e-9 apart") {
        Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, 1.0, 3.0);
        values[20] = values[21] - 1e-9;
        a = test::with_spectrum(values, 19);
    }
    SECTION("scaled by 1e-200 (squares would underflow)") {
        a = 1e-200 * whitened_covariance(n, 47);
    }
    SECTION("scaled by 1e200 (squares would overflow)") {
        a = 1e200 * whitened_covariance(n, 53);
    }
    SECTION("block diagonal") {
        a = Eigen::MatrixXd::Zero(n, n);
        a.topLeftCorner(n / 2, n / 2) = whitened_covariance(n / 2, 23);
        a.bottomRightCorner(n / 2, n / 2) = whitened_covariance(n / 2, 29);
    }
    CHECK_FALSE(fast_pairs(a).fast);
    check_eigenpairs(a, pairs(a));
}

TEST_CASE("fast eigensolver is not used below 24 rows", "[eigensolver]") {
    const Eigen::MatrixXd a = whitened_covariance(23, 31);
    CHECK_FALSE(fast_pairs(a).fast);
    check_eigenpairs(a, pairs(a));
}

TEST_CASE("whiten, recompose and congruence kernels against plain products", "[eigensolver]") {
    const int n = GENERATE(50, 203);  // 203: the congruence in uneven row blocks
    const Eigen::MatrixXd w = whitened_covariance(n, 37), m = whitened_covariance(n, 41);
    Eigen::MatrixXd out(n, n);
    kernels::whiten(n, w.data(), n, m.data(), n, out.data(), n);
    const Eigen::MatrixXd expected = w * m * w;
    CHECK((out - expected).cwiseAbs().maxCoeff() <= 1e-13 * expected.cwiseAbs().maxCoeff());
    CHECK((out.array() == out.transpose().array()).all());

    const Pairs p = pairs(m);
    const Eigen::VectorXd logs = p.values.array().log().matrix();
    kernels::recompose(n, p.vectors.data(), n, logs.data(), out.data(), n);
    CHECK((out - p.vectors * logs.asDiagonal() * p.vectors.transpose()).cwiseAbs().maxCoeff() <= 1e-13);
    CHECK((out.array() == out.transpose().array()).all());

    // L⁻¹ M L⁻ᵀ (the whitening of the geometric mean) from L⁻¹, and L M Lᵀ (its step), against
    // triangular solves and plain products.
    const Eigen::MatrixXd l = Eigen::LLT<Eigen::MatrixXd>(w).matrixL();
    Eigen::MatrixXd l_inverse(n, n);
    kernels::lower_inverse_block(n, l.data(), n, 0, n, l_inverse.data(), n);
    CHECK((l_inverse.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().array() == 0.0).all());
    kernels::triangular_congruence(n, l_inverse.data(), n, m.data(), n, out.data(), n);
    const Eigen::MatrixXd whitened = l.triangularView<Eigen::Lower>().solve(
        Eigen::MatrixXd(l.triangularView<Eigen::Lower>().solve(m).transpose()));
    CHECK((out - whitened).cwiseAbs().maxCoeff() <= 1e-12 * whitened.cwiseAbs().maxCoeff());
    CHECK((out.array() == out.transpose().array()).all());
    kernels::triangular_congruence(n, l.data(), n, m.data(), n, out.data(), n);
    const Eigen::MatrixXd product = l * m * l.transpose();
    CHECK((out - product).cwiseAbs().maxCoeff() <= 1e-13 * product.cwiseAbs().maxCoeff());
    CHECK((out.array() == out.transpose().array()).all());
}
