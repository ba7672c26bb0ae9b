// rewire — the Gram matrix X'X of region signals, in blocks whose shape depends on N only.
#pragma once

#include <Eigen/Core>
#include <algorithm>

#include "rewire/connectivity/centre.hpp"
#include "rewire/connectivity/dense_kernels.hpp"
#include "rewire/core/parallel.hpp"

namespace rewire::detail {

/// X'X (N × N, both triangles) of T × N signals stored column-major at x (leading dimension ld), or,
/// `regions_in_rows`, stored as their N × T transpose.
///
/// The lower triangle is cut into column blocks of a width that depends on N only; diagonal blocks are
/// selfadjoint rank updates (SYRK, half the flops of a general product), the others general products,
/// each computed whole by one thread. The result is therefore the same bit for bit for every thread
/// count, and no partial sums need memory or a reduction.
inline Eigen::MatrixXd gram(const double* x, Eigen::Index ld, Eigen::Index t, Eigen::Index n,
                            bool regions_in_rows, int threads) {
    // About three blocks a side (six tasks), 64 to 256 columns wide: wide enough for full-speed kernels,
    // narrow enough to share out. The width depends on N only, never on the thread count.
    const Eigen::Index width =
        std::min<Eigen::Index>(256, std::max<Eigen::Index>(64, ((n + 2) / 3 + 15) / 16 * 16));
    const Eigen::Index blocks = (n + width - 1) / width;
    Eigen::MatrixXd g(n, n);
    // Tasks (i, j), j ≤ i, in row-major order of the block triangle.
    const Eigen::Index tasks = blocks * (blocks + 1) / 2;
    parallel_for(tasks, {threads, 1}, [&](Eigen::Index task) {
        Eigen::Index i = 0;
        while ((i + 1) * (i + 2) / 2 <= task)
            ++i;
        const Eigen::Index j = task - i * (i + 1) / 2;
        const Eigen::Index r0 = i * width, rows = std::min(width, n - r0);
        const Eigen::Index c0 = j * width, cols = std::min(width, n - c0);
        double* out = g.data() + c0 * n + r0;
        const double* xi = regions_in_rows ? x + r0 : x + r0 * ld;  // regions r0 … and c0 …
        const double* xj = regions_in_rows ? x + c0 : x + c0 * ld;
        if (i == j) {
            Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>>(out, rows, rows, Eigen::OuterStride<>(n))
                .setZero();
            kernels::syrk_lower(rows, t, xi, ld, !regions_in_rows, 1.0, out, n);
        } else if (regions_in_rows) {
            kernels::gemm_nt(rows, cols, t, xi, ld, xj, ld, out, n);
        } else {
            kernels::gemm_tn(rows, cols, t, xi, ld, xj, ld, out, n);
        }
    });
    g.triangularView<Eigen::StrictlyUpper>() = g.transpose();
    return g;
}

/// X'X of T × N column-major signals (see above).
inline Eigen::MatrixXd gram(const Eigen::Ref<const Eigen::MatrixXd>& x, int threads) {
    return gram(x.data(), x.outerStride(), x.rows(), x.cols(), false, threads);
}

/// Xc'Xc of centred signals.
inline Eigen::MatrixXd gram(const CentredSignals& c, int threads) {
    return gram(c.values.data(), c.values.outerStride(), c.frames(), c.regions(), c.regions_in_rows, threads);
}

}  // namespace rewire::detail
