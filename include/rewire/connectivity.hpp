// rewire — connectivity from region signals: Pearson correlation, Fisher z and edge vectors.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "rewire/error.hpp"
#include "rewire/types.hpp"

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

/// Number of edges N(N-1)/2 of an N-node connectome.
inline std::int64_t edge_count(std::int64_t nodes) { return nodes * (nodes - 1) / 2; }

/// Position of edge (i, j), i < j, in rewire's edge vector: the strict upper triangle read row by row,
/// index = i·N − i(i+1)/2 + (j − i − 1).
inline std::int64_t edge_index(std::int64_t i, std::int64_t j, std::int64_t nodes) {
    return i * nodes - i * (i + 1) / 2 + (j - i - 1);
}

/// The strict upper triangle of `matrix` (N × N) in rewire's edge order.
inline EdgeVector edge_vector(const Eigen::Ref<const Eigen::MatrixXd>& matrix) {
    const Eigen::Index n = matrix.rows();
    EdgeVector edges(edge_count(n));
    Eigen::Index e = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = i + 1; j < n; ++j) {
            edges[e++] = matrix(i, j);
        }
    }
    return edges;
}

}  // namespace rewire
