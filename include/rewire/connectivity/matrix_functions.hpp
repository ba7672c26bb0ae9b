// rewire — the symmetric eigendecomposition (rewire's own solver, src/connectivity/kernels/) and the
// matrix functions built on it: sqrtm, inv_sqrtm, logm, expm and map_eigenvalues, as nilearn's
// `_map_eigenvalues` computes them.
#pragma once

#include <Eigen/Core>
#include <string>

#include "rewire/connectivity/dense_kernels.hpp"
#include "rewire/core/error.hpp"

namespace rewire {

namespace detail {

/// V diag(values) V' for orthonormal `vectors` (N × N), exactly symmetric.
inline Eigen::MatrixXd form_symmetric(const Eigen::MatrixXd& vectors, const Eigen::VectorXd& values) {
    const Eigen::Index n = vectors.rows();
    Eigen::MatrixXd out(n, n);
    kernels::recompose(n, vectors.data(), n, values.data(), out.data(), n);
    return out;
}

/// Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix.
struct Eigh {
    Eigen::VectorXd values;
    Eigen::MatrixXd vectors;
};

/// Eigendecomposition of the lower triangle of a square matrix; `who` names the caller in errors.
inline Eigh eigh(const Eigen::Ref<const Eigen::MatrixXd>& symmetric, const char* who) {
    const Eigen::Index n = symmetric.rows();
    if (symmetric.cols() != n || n == 0) {
        throw InvalidInput(std::string(who) + ": expected a non-empty square matrix, got " +
                           std::to_string(n) + " × " + std::to_string(symmetric.cols()));
    }
    if (!symmetric.allFinite())
        throw InvalidInput(std::string(who) + ": the matrix contains NaN or infinity");
    Eigh e{Eigen::VectorXd(n), Eigen::MatrixXd(n, n)};
    if (!kernels::eigh_lower(n, symmetric.data(), symmetric.outerStride(), e.values.data(), e.vectors.data(),
                             n)) {
        throw NumericalError(std::string(who) + ": the symmetric eigensolver did not converge");
    }
    return e;
}

/// Throws InvalidInput when the smallest eigenvalue is not positive.
inline void require_positive(const Eigen::VectorXd& eigenvalues, const char* who) {
    if (!(eigenvalues.minCoeff() > 0.0)) {
        throw InvalidInput(std::string(who) +
                           ": expected a symmetric positive definite matrix, its smallest "
                           "eigenvalue is " +
                           std::to_string(eigenvalues.minCoeff()));
    }
}

}  // namespace detail

/// f(A) = V f(Λ) V' for a symmetric N × N matrix A = V Λ V' (its lower triangle is read), as nilearn's
/// `_map_eigenvalues`; `function` maps an eigenvalue to a double.
template <typename Function>
Eigen::MatrixXd map_eigenvalues(const Eigen::Ref<const Eigen::MatrixXd>& symmetric, Function function) {
    auto solver = detail::eigh(symmetric, "map_eigenvalues");
    return detail::form_symmetric(solver.vectors, solver.values.unaryExpr(function));
}

/// Principal square root of an SPD N × N matrix. Throws InvalidInput when it is not positive definite.
inline Eigen::MatrixXd sqrtm(const Eigen::Ref<const Eigen::MatrixXd>& spd) {
    auto solver = detail::eigh(spd, "sqrtm");
    detail::require_positive(solver.values, "sqrtm");
    return detail::form_symmetric(solver.vectors, solver.values.array().sqrt().matrix());
}

/// A^{-1/2} of an SPD N × N matrix (the whitening of nilearn's tangent space).
inline Eigen::MatrixXd inv_sqrtm(const Eigen::Ref<const Eigen::MatrixXd>& spd) {
    auto solver = detail::eigh(spd, "inv_sqrtm");
    detail::require_positive(solver.values, "inv_sqrtm");
    return detail::form_symmetric(solver.vectors, solver.values.array().rsqrt().matrix());
}

/// Principal logarithm of an SPD N × N matrix.
inline Eigen::MatrixXd logm(const Eigen::Ref<const Eigen::MatrixXd>& spd) {
    auto solver = detail::eigh(spd, "logm");
    detail::require_positive(solver.values, "logm");
    return detail::form_symmetric(solver.vectors, solver.values.array().log().matrix());
}

/// Exponential of a symmetric N × N matrix (an SPD matrix).
inline Eigen::MatrixXd expm(const Eigen::Ref<const Eigen::MatrixXd>& symmetric) {
    auto solver = detail::eigh(symmetric, "expm");
    return detail::form_symmetric(solver.vectors, solver.values.array().exp().matrix());
}

}  // namespace rewire
