// rewire — Pearson correlation, covariance → correlation, precision → partial correlation, Fisher z.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "rewire/core/error.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

/// Pearson correlation of the columns of `signals` (T × N, T ≥ 2); returns N × N with an exact unit
/// diagonal, as numpy.corrcoef(signals, rowvar=False). Throws InvalidInput naming the first column
/// that holds NaN/infinity or has zero variance, instead of returning NaN.
inline Connectome correlation(const Eigen::Ref<const Eigen::MatrixXd>& signals) {
    const Eigen::Index t = signals.rows();
    const Eigen::Index n = signals.cols();
    if (t < 2) {
        throw InvalidInput("correlation: need at least 2 time points, got " + std::to_string(t));
    }
    for (Eigen::Index j = 0; j < n; ++j) {
        if (!signals.col(j).allFinite()) {
            throw InvalidInput("correlation: column " + std::to_string(j) +
                               " contains NaN or infinity (a region without data?)");
        }
    }
    Eigen::MatrixXd centred = signals.rowwise() - signals.colwise().mean();
    Eigen::VectorXd scale = centred.colwise().norm();
    for (Eigen::Index j = 0; j < n; ++j) {
        if (!(scale[j] > 0.0)) {
            throw InvalidInput("correlation: column " + std::to_string(j) + " has zero variance");
        }
    }
    centred = centred * scale.cwiseInverse().asDiagonal();
    Connectome r(n, n);
    r.triangularView<Eigen::Lower>() = centred.transpose() * centred;
    r = r.selfadjointView<Eigen::Lower>();
    r = r.cwiseMax(-1.0).cwiseMin(1.0);  // rounding can step just outside [-1, 1], as numpy clips
    r.diagonal().setOnes();
    return r;
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
    Eigen::VectorXd scale(n);
    for (Eigen::Index j = 0; j < n; ++j) {
        if (!(covariance(j, j) > 0.0) || !std::isfinite(covariance(j, j))) {
            throw InvalidInput("covariance_to_correlation: diagonal entry " + std::to_string(j) + " is " +
                               std::to_string(covariance(j, j)) +
                               ", expected a positive variance (a constant region?)");
        }
        scale[j] = 1.0 / std::sqrt(covariance(j, j));
    }
    Connectome r(n, n);
    for (Eigen::Index j = 0; j < n; ++j) {
        r(j, j) = 1.0;
        for (Eigen::Index i = j + 1; i < n; ++i) {
            r(i, j) = r(j, i) = covariance(i, j) * scale[i] * scale[j];  // symmetric by construction
        }
    }
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
