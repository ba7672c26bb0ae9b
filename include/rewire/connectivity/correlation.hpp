// rewire — Pearson correlation, covariance → correlation, precision → partial correlation, Fisher z.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "rewire/connectivity/centre.hpp"
#include "rewire/connectivity/covariance.hpp"  // RowMajorSignals
#include "rewire/connectivity/gram.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

namespace detail {

/// covariance_to_correlation in place, for callers that need no second N × N matrix: C_ij / √(C_ii C_jj)
/// from the lower triangle, both triangles written, exact unit diagonal. Throws InvalidInput naming a
/// non-positive (or non-finite) diagonal entry.
inline void covariance_to_correlation_in_place(Eigen::Ref<Eigen::MatrixXd> c) {
    const Eigen::Index n = c.rows();
    Eigen::VectorXd scale(n);
    for (Eigen::Index j = 0; j < n; ++j) {
        if (!(c(j, j) > 0.0) || !std::isfinite(c(j, j))) {
            throw InvalidInput("covariance_to_correlation: diagonal entry " + std::to_string(j) + " is " +
                               std::to_string(c(j, j)) +
                               ", expected a positive variance (a constant region?)");
        }
        scale[j] = 1.0 / std::sqrt(c(j, j));
    }
    for (Eigen::Index j = 0; j < n; ++j) {
        c(j, j) = 1.0;
        for (Eigen::Index i = j + 1; i < n; ++i)
            c(i, j) = c(j, i) = c(i, j) * scale[i] * scale[j];  // symmetric by construction
    }
}

/// The Pearson correlation behind correlation() and estimate(kind correlation, estimator empirical):
/// the columns centred (either memory order, in this thread's workspace), their Gram matrix Xc'Xc
/// (gram.hpp: the same bits for any thread count), scaled to a unit diagonal and clipped to [-1, 1] as
/// numpy.corrcoef clips. `who` prefixes error messages.
template <typename Derived>
Connectome pearson_correlation(const Eigen::MatrixBase<Derived>& signals, int threads, const char* who) {
    const CentredSignals c = centre_signals(signals, who);
    Connectome r = gram(c, threads);
    for (Eigen::Index j = 0; j < r.rows(); ++j) {
        if (!(r(j, j) > 0.0))
            throw InvalidInput(std::string(who) + ": column " + std::to_string(j) + " has zero variance");
    }
    covariance_to_correlation_in_place(r);
    r = r.cwiseMax(-1.0).cwiseMin(1.0);  // rounding can step just outside [-1, 1]
    return r;
}

}  // namespace detail

/// Pearson correlation of the columns of `signals` (T × N, T ≥ 2); returns N × N with an exact unit
/// diagonal, as numpy.corrcoef(signals, rowvar=False). Throws InvalidInput naming the first column
/// that holds NaN/infinity or has zero variance, instead of returning NaN. `threads` (0: automatic)
/// share out the product X'X; the result does not depend on it.
inline Connectome correlation(const Eigen::Ref<const Eigen::MatrixXd>& signals, int threads = 0) {
    return detail::pearson_correlation(signals, threads, "correlation");
}

/// correlation() of row-major signals (numpy's layout), read without a copy.
inline Connectome correlation(const RowMajorSignals& signals, int threads = 0) {
    return detail::pearson_correlation(signals, threads, "correlation");
}

/// Fisher z-transform arctanh(r) of a correlation matrix, with the diagonal set to 0 (not infinity).
/// Off-diagonal |r| = 1 gives ±infinity.
inline Connectome fisher_z(const Eigen::Ref<const Eigen::MatrixXd>& r) {
    if (r.rows() != r.cols()) {
        throw InvalidInput("fisher_z: expected a square matrix, got " + std::to_string(r.rows()) + " × " +
                           std::to_string(r.cols()));
    }
    Connectome z = r.unaryExpr([](double value) { return std::atanh(value); });
    z.diagonal().setZero();
    return z;
}

/// Correlation from an N × N covariance: C_ij / √(C_ii C_jj), with an exact unit diagonal
/// (nilearn's `cov_to_corr`). Throws InvalidInput naming a non-positive diagonal entry.
inline Connectome covariance_to_correlation(const Eigen::Ref<const Eigen::MatrixXd>& covariance) {
    const Eigen::Index n = covariance.rows();
    if (covariance.cols() != n) {
        throw InvalidInput("covariance_to_correlation: expected a square matrix, got " + std::to_string(n) +
                           " × " + std::to_string(covariance.cols()));
    }
    Connectome r = covariance;
    detail::covariance_to_correlation_in_place(r);
    return r;
}

/// Partial correlation from an N × N precision matrix P: −P_ij / √(P_ii P_jj), unit diagonal
/// (nilearn's `prec_to_partial`).
inline Connectome precision_to_partial_correlation(const Eigen::Ref<const Eigen::MatrixXd>& precision) {
    Connectome p = -covariance_to_correlation(precision);
    p.diagonal().setOnes();
    return p;
}

}  // namespace rewire
