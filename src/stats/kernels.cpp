// rewire::stats — the panel product under the permutation engine (see include/rewire/stats/kernels.hpp).
//
// Written with GCC/Clang vector extensions so the compiler emits full-width code for each target
// of the clones below; rewire's sources build with -ffp-contract=off, so every target rounds the
// same way (one multiply and one add per term, in subject order) and results are bit-identical
// across CPUs.
#include "rewire/stats/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace rewire::stats::detail {
namespace {

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(__clang__)
#define REWIRE_KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define REWIRE_KERNEL_CLONES
#endif

#if defined(__GNUC__)
typedef double Vec8 __attribute__((vector_size(64)));

/// Rows (≤ 4) rows × 16 edges of one panel; accumulators stay in registers. Always inlined, so each
/// target clone below compiles it for its own instruction set.
template <int Rows>
__attribute__((always_inline)) inline void block(const double* w, Eigen::Index subjects, const double* panel, double* out, Eigen::Index ld) {
    Vec8 acc[Rows][2] = {};
    for (Eigen::Index i = 0; i < subjects; ++i) {
        Vec8 y0, y1;
        std::memcpy(&y0, panel + i * kPanelWidth, sizeof(Vec8));
        std::memcpy(&y1, panel + i * kPanelWidth + 8, sizeof(Vec8));
        for (int r = 0; r < Rows; ++r) {
            const double weight = w[r * subjects + i];
            acc[r][0] += weight * y0;
            acc[r][1] += weight * y1;
        }
    }
    for (int r = 0; r < Rows; ++r) {
        std::memcpy(out + r * ld, &acc[r][0], sizeof(Vec8));
        std::memcpy(out + r * ld + 8, &acc[r][1], sizeof(Vec8));
    }
}
#else
template <int Rows>
inline void block(const double* w, Eigen::Index subjects, const double* panel, double* out, Eigen::Index ld) {
    double acc[Rows][16] = {};
    for (Eigen::Index i = 0; i < subjects; ++i) {
        for (int r = 0; r < Rows; ++r) {
            const double weight = w[r * subjects + i];
            for (int l = 0; l < 16; ++l) acc[r][l] += weight * panel[i * kPanelWidth + l];
        }
    }
    for (int r = 0; r < Rows; ++r) {
        for (int l = 0; l < 16; ++l) out[r * ld + l] = acc[r][l];
    }
}
#endif

REWIRE_KERNEL_CLONES
void panel_gemm_impl(const double* w, Eigen::Index rows, Eigen::Index subjects, const double* panels,
                     Eigen::Index chunks, double* out, Eigen::Index ld) {
    for (Eigen::Index c = 0; c < chunks; ++c) {
        const double* panel = panels + c * subjects * kPanelWidth;
        double* o = out + c * kPanelWidth;
        Eigen::Index r = 0;
        for (; r + 4 <= rows; r += 4) block<4>(w + r * subjects, subjects, panel, o + r * ld, ld);
        switch (rows - r) {
            case 3: block<3>(w + r * subjects, subjects, panel, o + r * ld, ld); break;
            case 2: block<2>(w + r * subjects, subjects, panel, o + r * ld, ld); break;
            case 1: block<1>(w + r * subjects, subjects, panel, o + r * ld, ld); break;
            default: break;
        }
    }
}

REWIRE_KERNEL_CLONES
void shuffle_statistic_impl(const double* u, Eigen::Index ld, Eigen::Index q, Eigen::Index m, bool t_statistic,
                            double dof, const double* ss, Eigen::Index edges, double* out) {
    if (t_statistic && m == 1) {
        // One-sample / sign-flip and nuisance-free permutations: the hot path, vectorised.
        for (Eigen::Index e = 0; e < edges; ++e) {
            const double effect = u[e];
            const double sse = ss[e] - effect * effect;
            // max(): no 0/0 or √(negative) even when the result is discarded (floating-point traps).
            const double t = effect / std::sqrt(std::max(sse, std::numeric_limits<double>::min()) / dof);
            out[e] = sse > 0.0 ? t : 0.0;
        }
        return;
    }
    for (Eigen::Index e = 0; e < edges; ++e) {
        double effect = 0.0;
        for (Eigen::Index j = 0; j < q; ++j) effect += u[j * ld + e] * u[j * ld + e];
        double nuisance = 0.0;
        for (Eigen::Index j = q; j < m; ++j) nuisance += u[j * ld + e] * u[j * ld + e];
        const double sse = ss[e] - effect - nuisance;
        if (!(sse > 0.0)) {
            out[e] = 0.0;  // degenerate edge (or an exact fit): no statistic
        } else if (t_statistic) {
            out[e] = u[e] / std::sqrt(sse / dof);
        } else {
            out[e] = (effect / static_cast<double>(q)) / (sse / dof);
        }
    }
}

}  // namespace

void shuffle_statistic(const double* u, Eigen::Index ld, Eigen::Index q, Eigen::Index m, bool t_statistic,
                       double dof, const double* ss, Eigen::Index edges, double* out) {
    shuffle_statistic_impl(u, ld, q, m, t_statistic, dof, ss, edges, out);
}

void panel_gemm(const double* w, Eigen::Index rows, Eigen::Index subjects, const double* panels, Eigen::Index chunks,
                double* out, Eigen::Index ld) {
    panel_gemm_impl(w, rows, subjects, panels, chunks, out, ld);
}

}  // namespace rewire::stats::detail
