// rewire — the one definition of edge order: rewire's edge vectors (strict upper triangle, row by row)
// and nilearn's vectorisation (lower triangle, row by row, diagonal scaled by 1/√2).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "rewire/core/error.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

/// Number of edges N(N-1)/2 of an N-node connectome.
inline std::int64_t edge_count(std::int64_t nodes) {
    return nodes * (nodes - 1) / 2;
}

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

/// Length of nilearn's vectorisation of an N × N symmetric matrix: N(N+1)/2, or N(N−1)/2 without
/// the diagonal.
inline std::int64_t sym_vec_size(std::int64_t nodes, bool discard_diagonal) {
    return discard_diagonal ? nodes * (nodes - 1) / 2 : nodes * (nodes + 1) / 2;
}

/// Position of (i, j), j ≤ i, in nilearn's vectorisation (the lower triangle read row by row, which
/// is also the upper triangle read column by column): i(i+1)/2 + j, or i(i−1)/2 + j (j < i) without
/// the diagonal. Not rewire's edge order (see edge_index).
inline std::int64_t sym_vec_index(std::int64_t i, std::int64_t j, bool discard_diagonal) {
    return discard_diagonal ? i * (i - 1) / 2 + j : i * (i + 1) / 2 + j;
}

/// nilearn's `sym_matrix_to_vec`: the lower triangle of an N × N symmetric matrix, row by row, with
/// the diagonal divided by √2 so that the vector's Euclidean norm is the matrix's Frobenius norm / √2;
/// with `discard_diagonal` the strict lower triangle, unscaled. Returns N(N+1)/2 (or N(N−1)/2) values.
inline Eigen::VectorXd sym_matrix_to_vec(const Eigen::Ref<const Eigen::MatrixXd>& matrix,
                                         bool discard_diagonal = false) {
    const Eigen::Index n = matrix.rows();
    if (matrix.cols() != n) {
        throw InvalidInput("sym_matrix_to_vec: expected a square matrix, got " + std::to_string(n) + " × " +
                           std::to_string(matrix.cols()));
    }
    Eigen::VectorXd v(sym_vec_size(n, discard_diagonal));
    const double inv_sqrt2 = 1.0 / std::sqrt(2.0);
    Eigen::Index e = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < i; ++j)
            v[e++] = matrix(i, j);
        if (!discard_diagonal)
            v[e++] = matrix(i, i) * inv_sqrt2;
    }
    return v;
}

/// Inverse of sym_matrix_to_vec (nilearn's `vec_to_sym_matrix` without `diagonal`): N(N+1)/2 values,
/// lower triangle row by row, diagonal multiplied by √2. Throws InvalidInput when the length is not
/// triangular.
inline Eigen::MatrixXd vec_to_sym_matrix(const Eigen::Ref<const Eigen::VectorXd>& vec) {
    const auto length = static_cast<std::int64_t>(vec.size());
    const auto n = static_cast<std::int64_t>(
        std::llround((std::sqrt(8.0 * static_cast<double>(length) + 1.0) - 1.0) / 2.0));
    if (n * (n + 1) / 2 != length) {
        throw InvalidInput("vec_to_sym_matrix: a vector of length " + std::to_string(length) +
                           " is not N(N+1)/2 for any N (pass the diagonal separately if it was discarded)");
    }
    const double sqrt2 = std::sqrt(2.0);
    Eigen::MatrixXd m(n, n);
    Eigen::Index e = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < i; ++j)
            m(i, j) = m(j, i) = vec[e++];
        m(i, i) = vec[e++] * sqrt2;
    }
    return m;
}

/// nilearn's `vec_to_sym_matrix(vec, diagonal)`: the strict lower triangle (N(N−1)/2 values, row by row)
/// and the N diagonal values given apart. As in nilearn, the given diagonal is multiplied by √2 too,
/// so pass diag/√2 to get diag back (nilearn's inverse_transform passes 1/√2 for correlations).
inline Eigen::MatrixXd vec_to_sym_matrix(const Eigen::Ref<const Eigen::VectorXd>& vec,
                                         const Eigen::Ref<const Eigen::VectorXd>& diagonal) {
    const auto n = static_cast<std::int64_t>(diagonal.size());
    if (n * (n - 1) / 2 != static_cast<std::int64_t>(vec.size())) {
        throw InvalidInput("vec_to_sym_matrix: diagonal of size " + std::to_string(n) +
                           " is incompatible with a vector of length " + std::to_string(vec.size()) +
                           ", expected N(N-1)/2 = " + std::to_string(n * (n - 1) / 2));
    }
    const double sqrt2 = std::sqrt(2.0);
    Eigen::MatrixXd m(n, n);
    Eigen::Index e = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < i; ++j)
            m(i, j) = m(j, i) = vec[e++];
        m(i, i) = diagonal[i] * sqrt2;
    }
    return m;
}

}  // namespace rewire
