// rewire::stats — the panel product under the permutation engine (see include/rewire/stats/kernels.hpp).
//
// Written with GCC/Clang vector extensions so the compiler emits full-width code for each
// instruction set below (compiled once per kernel variant, chosen by core/kernel_variant.hpp);
// rewire's sources build with -ffp-contract=off, so every variant rounds the same way (one multiply
// and one add per term, in subject order) and results are bit-identical across CPUs.
#include "rewire/stats/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "rewire/core/kernel_variant.hpp"

namespace rewire::stats::detail {
namespace {

#if defined(__GNUC__) || defined(__clang__)
#define REWIRE_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define REWIRE_ALWAYS_INLINE inline
#endif

#if defined(__GNUC__)
typedef double Vec8 __attribute__((vector_size(64)));
typedef double Vec4 __attribute__((vector_size(32)));

/// Rows (≤ 4) rows × 16 edges of one panel in vectors V: accumulators stay in registers. Always inlined,
/// so each variant below compiles it for its own instruction set. V is the variant's register width:
/// wider generic vectors are split by the compiler through memory (Vec8 with AVX2 ran at 0.8 GFLOP/s,
/// Vec4 at 5–7). The width never changes the bits: each element is the same products and sums in
/// subject order.
template <typename V, int Rows>
REWIRE_ALWAYS_INLINE void block(const double* w, Eigen::Index subjects, const double* panel, double* out, Eigen::Index ld) {
    constexpr int width = static_cast<int>(sizeof(V) / sizeof(double));
    constexpr int vectors = static_cast<int>(kPanelWidth) / width;
    V acc[Rows][vectors] = {};
    for (Eigen::Index i = 0; i < subjects; ++i) {
        V y[vectors];
        for (int v = 0; v < vectors; ++v) std::memcpy(&y[v], panel + i * kPanelWidth + v * width, sizeof(V));
        for (int r = 0; r < Rows; ++r) {
            const double weight = w[r * subjects + i];
            for (int v = 0; v < vectors; ++v) acc[r][v] += weight * y[v];
        }
    }
    for (int r = 0; r < Rows; ++r) {
        for (int v = 0; v < vectors; ++v) std::memcpy(out + r * ld + v * width, &acc[r][v], sizeof(V));
    }
}
#else
using Vec8 = void;
using Vec4 = void;
template <typename V, int Rows>
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

template <typename V>
REWIRE_ALWAYS_INLINE void panel_gemm_impl(const double* w, Eigen::Index rows, Eigen::Index subjects, const double* panels,
                     Eigen::Index chunks, double* out, Eigen::Index ld) {
    for (Eigen::Index c = 0; c < chunks; ++c) {
        const double* panel = panels + c * subjects * kPanelWidth;
        double* o = out + c * kPanelWidth;
        Eigen::Index r = 0;
        for (; r + 4 <= rows; r += 4) block<V, 4>(w + r * subjects, subjects, panel, o + r * ld, ld);
        switch (rows - r) {
            case 3: block<V, 3>(w + r * subjects, subjects, panel, o + r * ld, ld); break;
            case 2: block<V, 2>(w + r * subjects, subjects, panel, o + r * ld, ld); break;
            case 1: block<V, 1>(w + r * subjects, subjects, panel, o + r * ld, ld); break;
            default: break;
        }
    }
}

REWIRE_ALWAYS_INLINE void shuffle_statistic_impl(const double* u, Eigen::Index ld, Eigen::Index q, Eigen::Index m, bool t_statistic,
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

/// Each kernel once per variant: the always-inlined bodies above, compiled for that instruction set.
#define REWIRE_STATS_KERNELS(suffix, target, vector)                                                         \
    target void panel_gemm_##suffix(const double* w, Eigen::Index rows, Eigen::Index subjects,               \
                                    const double* panels, Eigen::Index chunks, double* out, Eigen::Index ld) { \
        panel_gemm_impl<vector>(w, rows, subjects, panels, chunks, out, ld);                                 \
    }                                                                                                        \
    target void shuffle_statistic_##suffix(const double* u, Eigen::Index ld, Eigen::Index q, Eigen::Index m,  \
                                           bool t_statistic, double dof, const double* ss, Eigen::Index edges, \
                                           double* out) {                                                    \
        shuffle_statistic_impl(u, ld, q, m, t_statistic, dof, ss, edges, out);                               \
    }

REWIRE_STATS_KERNELS(generic, , Vec8)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define REWIRE_STATS_VARIANTS 1
REWIRE_STATS_KERNELS(avx2, __attribute__((target("avx2,fma"))), Vec4)
REWIRE_STATS_KERNELS(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))), Vec8)
#else
#define REWIRE_STATS_VARIANTS 0
#endif
#undef REWIRE_STATS_KERNELS

}  // namespace

void shuffle_statistic(const double* u, Eigen::Index ld, Eigen::Index q, Eigen::Index m, bool t_statistic,
                       double dof, const double* ss, Eigen::Index edges, double* out) {
#if REWIRE_STATS_VARIANTS
    switch (kernel_variant()) {
        case KernelVariant::avx512: return shuffle_statistic_avx512(u, ld, q, m, t_statistic, dof, ss, edges, out);
        case KernelVariant::avx2: return shuffle_statistic_avx2(u, ld, q, m, t_statistic, dof, ss, edges, out);
        default: break;
    }
#endif
    shuffle_statistic_generic(u, ld, q, m, t_statistic, dof, ss, edges, out);
}

void panel_gemm(const double* w, Eigen::Index rows, Eigen::Index subjects, const double* panels, Eigen::Index chunks,
                double* out, Eigen::Index ld) {
#if REWIRE_STATS_VARIANTS
    switch (kernel_variant()) {
        case KernelVariant::avx512: return panel_gemm_avx512(w, rows, subjects, panels, chunks, out, ld);
        case KernelVariant::avx2: return panel_gemm_avx2(w, rows, subjects, panels, chunks, out, ld);
        default: break;
    }
#endif
    panel_gemm_generic(w, rows, subjects, panels, chunks, out, ld);
}

}  // namespace rewire::stats::detail
