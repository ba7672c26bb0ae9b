// rewire::stats — the compiled kernel under the permutation engine (src/stats/kernels.cpp).
//
// The engine's inner product is W · R: a few dozen rows of per-shuffle weights (rows × S) against the
// subject × edge data R, stored in panels of 16 edges (panel c holds R[i][16c .. 16c+15] for every
// subject i, contiguous). Each output is summed over subjects in ascending order with separate
// multiplies and adds (no fused multiply-add), so the result does not depend on the CPU's vector
// width, the batch a row belongs to, or the thread that computes it.
#pragma once

#include <Eigen/Core>

#include "rewire/core/parallel.hpp"

namespace rewire {

namespace stats::detail {

/// Edges per panel.
inline constexpr Eigen::Index kPanelWidth = 16;

/// out[r·ld + 16c + l] = Σ_i w[r·subjects + i] · panels[(c·subjects + i)·16 + l] for r < rows,
/// c < chunks, l < 16. Runtime-dispatched to AVX-512 / AVX2 code where the CPU has it.
void panel_gemm(const double* w, Eigen::Index rows, Eigen::Index subjects, const double* panels, Eigen::Index chunks,
                double* out, Eigen::Index ld);

/// Statistics of one shuffle from its m rows of U (row stride ld): rows [0, q) are the effect, rows
/// [q, m) the nuisance; ss[e] = ‖R_e‖². t (q = 1): u₀ / √(sse/dof); F: (Σ_{j<q} u_j² / q) / (sse/dof), with
/// sse = ss − Σ_j u_j²; 0 where sse ≤ 0 (a degenerate edge). Runtime-dispatched like panel_gemm.
void shuffle_statistic(const double* u, Eigen::Index ld, Eigen::Index q, Eigen::Index m, bool t_statistic,
                       double dof, const double* ss, Eigen::Index edges, double* out);

}  // namespace stats::detail
}  // namespace rewire
