// rewire::stats — the permutation engine: edge statistics for many shuffles at once, enhanced,
// reduced to a null distribution of maxima, and family-wise error corrected p-values.
//
// Freedman–Lane (Freedman & Lane 1983; Winkler et al. 2014, NeuroImage 92:381, Table 2): the data
// are residualised against the nuisance, R = (I − H_Z) Y, each shuffle P permutes and/or sign-flips
// R, and the full model is refitted to P R. With orthonormal bases x of the effect and z of the
// nuisance (design.hpp), and because P is orthogonal:
//     ‖P R_e‖² = ‖R_e‖²                      (the same for every shuffle: computed once)
//     u = xᵀ P R_e,  v = zᵀ P R_e             (the only per-shuffle work)
//     t = u / √((‖R_e‖² − u² − ‖v‖²) / dof)  (F: ‖u‖²/q over the same variance)
// so each shuffle costs (q + r) rows of one product W · R, where row j of W is P'ᵀ basis_j. Batches of
// shuffles stack their rows into one W and run as a single GEMM (kernels.hpp). For one-sample and
// paired designs (no nuisance) this is the sign-flip sum: Σx² does not change under sign flips. When
// the nuisance is preserved by every shuffle (a nuisance intercept under permutations) v = 0 exactly
// and its rows are skipped.
//
// Memory: the residualised data (S × E, in panels) plus, per thread, one batch of outputs (≤ 64
// rows × E) and the enhancer's O(N + E) scratch — O(edges + subjects × edges), no S × S matrices.
// Parallel over batches with OpenMP; every shuffle's result depends only on (seed, shuffle index),
// so results are identical for any thread count and any chunking of the shuffles.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "rewire/core/error.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/stats/design.hpp"
#include "rewire/stats/distributions.hpp"
#include "rewire/stats/enhancer.hpp"
#include "rewire/stats/glm.hpp"
#include "rewire/stats/kernels.hpp"
#include "rewire/stats/shuffle.hpp"

namespace rewire::stats {

/// How a permutation p-value counts the null distribution (K shuffles, observed value v).
enum class Convention {
    /// p = (1 + #{null ≥ v}) / (1 + K): the unpermuted data counted once in the null (Phipson &
    /// Smyth 2010; Winkler et al. 2014). Never 0.
    rewire,
    /// p = #{null ≥ v} / K: bctpy's nbs_bct (the unpermuted data not counted).
    bctpy,
    /// p = #{null > v} / K for v > 0, else 1: MRtrix3's connectomestats, whose K shuffles include the
    /// unpermuted data as shuffle 0 (it writes 1 − p as fwe_1mpvalue).
    mrtrix,
};

/// p-value of `value` against an ascending `sorted_null` under `convention`.
inline double permutation_p(const std::vector<double>& sorted_null, double value, Convention convention) {
    const auto k = static_cast<double>(sorted_null.size());
    switch (convention) {
        case Convention::rewire: {
            const auto at_least = sorted_null.end() - std::lower_bound(sorted_null.begin(), sorted_null.end(), value);
            return (1.0 + static_cast<double>(at_least)) / (1.0 + k);
        }
        case Convention::bctpy: {
            const auto at_least = sorted_null.end() - std::lower_bound(sorted_null.begin(), sorted_null.end(), value);
            return static_cast<double>(at_least) / k;
        }
        case Convention::mrtrix:
        default: {
            if (!(value > 0.0)) return 1.0;
            const auto above = sorted_null.end() - std::upper_bound(sorted_null.begin(), sorted_null.end(), value);
            return static_cast<double>(above) / k;
        }
    }
}

/// Thrown when the progress callback asks the engine to stop.
class Cancelled : public Error {
public:
    Cancelled() : Error("permutation test cancelled") {}
};

struct PermutationOptions {
    Convention convention = Convention::rewire;
    /// Threads (0: REWIRE_NUM_THREADS, OMP_NUM_THREADS, then the hardware). Results do not depend on it.
    int threads = 0;
    /// Enhance Z values (each t or F turned into the Z with the same tail probability) instead of the
    /// statistic itself, as MRtrix3 3.0 does; `statistic` in the result stays t or F. Costs an
    /// incomplete beta per edge and shuffle.
    bool z_statistic = false;
    /// Called on the calling thread as (shuffles done, total); return false to cancel (Cancelled).
    std::function<bool(std::int64_t, std::int64_t)> progress;
};

/// Results of one permutation test. Vectors over edges are in rewire's edge order.
struct PermutationResult {
    Statistic statistic_kind = Statistic::t;
    Eigen::VectorXd statistic;      ///< E: observed t or F (from the engine's identity shuffle)
    Eigen::VectorXd enhanced;       ///< E: observed enhanced value (|t| for two-sided max-T, NBS measure, TFNBS)
    Eigen::VectorXd null;           ///< K: largest enhanced value of each shuffle, in shuffle order
    Eigen::VectorXd p_fwe;          ///< E: family-wise error corrected p of each edge
    Eigen::VectorXd p_uncorrected;  ///< E: per-edge permutation p (elementwise enhancers only; else empty)
    std::int64_t shuffles = 0;      ///< K
    bool exhaustive = false;        ///< the shuffles are every possible one (exact test)
    double df1 = 1.0, df2 = 0.0;    ///< degrees of freedom of the statistic
    std::vector<Eigen::Index> degenerate;  ///< edges with zero residual variance (statistic 0)
    std::vector<double> sorted_null() const {
        std::vector<double> s(null.data(), null.data() + null.size());
        std::sort(s.begin(), s.end());
        return s;
    }
};

namespace detail {

/// True when span(nuisance) ⊆ span of the indicator vectors of `groups` (subjects that shuffles only
/// move among themselves): then zᵀ P R = 0 for every shuffle P.
inline bool nuisance_invariant(const Eigen::MatrixXd& nuisance, const std::vector<std::int64_t>& groups) {
    if (nuisance.cols() == 0) return true;
    std::int64_t count = 0;
    for (auto g : groups) count = std::max(count, g + 1);
    Eigen::MatrixXd means = Eigen::MatrixXd::Zero(count, nuisance.cols());
    Eigen::VectorXd sizes = Eigen::VectorXd::Zero(count);
    for (std::size_t i = 0; i < groups.size(); ++i) {
        means.row(groups[i]) += nuisance.row(static_cast<Eigen::Index>(i));
        sizes[groups[i]] += 1.0;
    }
    double off = 0.0;
    for (std::size_t i = 0; i < groups.size(); ++i) {
        off += (nuisance.row(static_cast<Eigen::Index>(i)) - means.row(groups[i]) / sizes[groups[i]]).squaredNorm();
    }
    return off <= 1e-20 * static_cast<double>(nuisance.cols());
}

/// Residualised data in panels (see kernels.hpp) with per-edge ‖R_e‖² and degenerate edges zeroed.
struct PackedData {
    Eigen::Index subjects = 0, edges = 0, chunks = 0;
    std::vector<double> panels;
    std::vector<double> ss;
    std::vector<Eigen::Index> degenerate;
};

template <typename Data>
PackedData pack(const Data& data, const Model& model, int threads) {
    PackedData packed;
    packed.subjects = data.rows();
    packed.edges = data.cols();
    packed.chunks = (packed.edges + kPanelWidth - 1) / kPanelWidth;
    const Eigen::Index s = packed.subjects;
    packed.panels.assign(static_cast<std::size_t>(packed.chunks * s * kPanelWidth), 0.0);
    packed.ss.assign(static_cast<std::size_t>(packed.chunks * kPanelWidth), 0.0);
    std::vector<char> degenerate(static_cast<std::size_t>(packed.edges), 0);
    const Eigen::MatrixXd& z = model.nuisance;
    const Eigen::MatrixXd& x = model.interest;
    parallel_for(packed.chunks, {threads, 1}, [&](Eigen::Index c) {
        const Eigen::Index e0 = c * kPanelWidth;
        const Eigen::Index width = std::min(kPanelWidth, packed.edges - e0);
        Eigen::MatrixXd block = data.middleCols(e0, width);
        const Eigen::VectorXd total = block.colwise().squaredNorm().transpose();
        if (z.cols() > 0) block -= z * (z.transpose() * block);
        const Eigen::MatrixXd full_residual = block - x * (x.transpose() * block);
        double* panel = packed.panels.data() + c * s * kPanelWidth;
        for (Eigen::Index l = 0; l < width; ++l) {
            // Same rule as glm(): no residual variance under the full model → no statistic.
            const double sse = full_residual.col(l).squaredNorm();
            if (!(sse > 1e-24 * total[l])) {
                degenerate[static_cast<std::size_t>(e0 + l)] = 1;
                continue;
            }
            double sum = 0.0;
            for (Eigen::Index i = 0; i < s; ++i) {
                panel[i * kPanelWidth + l] = block(i, l);
                sum += block(i, l) * block(i, l);
            }
            packed.ss[static_cast<std::size_t>(e0 + l)] = sum;
        }
    });
    for (Eigen::Index e = 0; e < packed.edges; ++e) {
        if (degenerate[static_cast<std::size_t>(e)]) packed.degenerate.push_back(e);
    }
    return packed;
}

/// In place: t or F → Z with the same upper-tail probability (0 stays 0; clamped to ±38, beyond
/// which double tails underflow).
inline void to_z(double* values, Eigen::Index edges, Statistic kind, double df1, double df2) {
    for (Eigen::Index e = 0; e < edges; ++e) {
        const double v = values[e];
        if (v == 0.0) continue;
        double z = kind == Statistic::t ? t_to_z(v, df2) : f_to_z(v, df1, df2);
        if (!std::isfinite(z)) z = z > 0 ? 38.0 : -38.0;
        values[e] = std::min(38.0, std::max(-38.0, z));
    }
}

template <typename Data>
PermutationResult permutation_test_impl(const Data& data, const Model& model, const Shuffles& shuffles,
                                        const Enhancer& enhancer, const PermutationOptions& options) {
    check_data_shape(data, model, "permutation test");
    check_finite_edges(data, "permutation test");
    const Eigen::Index s = model.subjects();
    if (shuffles.subjects() != s) {
        throw InvalidInput("shuffles: made for " + std::to_string(shuffles.subjects()) + " subjects, the data have " +
                           std::to_string(s));
    }
    const std::int64_t k_total = shuffles.size();
    if (k_total < 1) throw InvalidInput("shuffles: need at least 1 shuffle, got 0");
    const int threads = std::max(1, resolve_threads(options.threads, 0));

    PackedData packed = pack(data, model, threads);
    const Eigen::Index edges = packed.edges;
    const Eigen::Index ld = packed.chunks * kPanelWidth;

    // Rows of the basis each shuffle is applied to: the effect, then the nuisance unless every shuffle
    // preserves it.
    const Eigen::Index q = model.interest.cols();
    bool skip_nuisance = false;
    if (!shuffles.flips_signs()) {
        std::vector<std::int64_t> groups(static_cast<std::size_t>(s), 0);
        if (!shuffles.is_explicit() && !shuffles.whole_blocks()) groups = shuffles.block_of();
        skip_nuisance = nuisance_invariant(model.nuisance, groups);
    }
    const Eigen::Index m = q + (skip_nuisance ? 0 : model.nuisance.cols());
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> basis(m, s);
    basis.topRows(q) = model.interest.transpose();
    if (m > q) basis.bottomRows(m - q) = model.nuisance.transpose();

    PermutationResult result;
    result.statistic_kind = model.statistic;
    result.df2 = static_cast<double>(model.dof);
    result.df1 = model.statistic == Statistic::t ? 1.0 : static_cast<double>(q);
    result.shuffles = k_total;
    result.exhaustive = shuffles.exhaustive();
    result.degenerate = packed.degenerate;
    const double dof = result.df2;

    // The observed statistic goes through the same kernel as the shuffles (identity weights), so the
    // unpermuted data reproduce it bit for bit wherever they appear among the shuffles.
    {
        std::vector<double> u(static_cast<std::size_t>(m * ld));
        panel_gemm(basis.data(), m, s, packed.panels.data(), packed.chunks, u.data(), ld);
        result.statistic.resize(edges);
        shuffle_statistic(u.data(), ld, q, m, model.statistic == Statistic::t, dof, packed.ss.data(), edges,
                          result.statistic.data());
    }
    if (options.z_statistic) {
        Eigen::VectorXd z = result.statistic;
        to_z(z.data(), edges, model.statistic, result.df1, dof);
        result.enhanced = enhancer.enhance(z);
    } else {
        result.enhanced = enhancer.enhance(result.statistic);
    }

    const std::int64_t per_batch = std::max<std::int64_t>(1, 64 / m);
    const std::int64_t batches = (k_total + per_batch - 1) / per_batch;
    result.null.resize(k_total);
    const bool elementwise = enhancer.elementwise();

    // Each thread's buffers, made on its first batch.
    struct Workspace {
        std::vector<double> w, u, sign, statistic, transformed;
        std::vector<std::int64_t> perm, counts;
        std::unique_ptr<EnhancerScratch> scratch;
    };
    std::vector<Workspace> workspaces(static_cast<std::size_t>(parallel_threads(batches, {threads, 1})));
    std::atomic<std::int64_t> done{0};
    parallel_for(batches, {threads, 1}, [&](std::int64_t b, int thread) {
        Workspace& ws = workspaces[static_cast<std::size_t>(thread)];
        if (!ws.scratch) {
            ws.w.resize(static_cast<std::size_t>(per_batch * m * s));
            ws.u.resize(static_cast<std::size_t>(per_batch * m * ld));
            ws.perm.resize(static_cast<std::size_t>(s));
            ws.sign.resize(static_cast<std::size_t>(s));
            ws.statistic.resize(static_cast<std::size_t>(edges));
            if (elementwise) {
                ws.transformed.resize(static_cast<std::size_t>(edges));
                ws.counts.assign(static_cast<std::size_t>(edges), 0);
            }
            ws.scratch = enhancer.make_scratch();
        }
        const std::int64_t k0 = b * per_batch;
        const std::int64_t count = std::min(per_batch, k_total - k0);
        for (std::int64_t j = 0; j < count; ++j) {
            shuffles.get(k0 + j, ws.perm.data(), ws.sign.data());
            for (Eigen::Index r = 0; r < m; ++r) {
                // Row r of W: (P'ᵀ basis_r)[perm[i]] = basis_r[i] · sign[i].
                double* row = ws.w.data() + (j * m + r) * s;
                for (Eigen::Index i = 0; i < s; ++i) row[ws.perm[i]] = basis(r, i) * ws.sign[i];
            }
        }
        panel_gemm(ws.w.data(), count * m, s, packed.panels.data(), packed.chunks, ws.u.data(), ld);
        for (std::int64_t j = 0; j < count; ++j) {
            double* statistic = ws.statistic.data();
            shuffle_statistic(ws.u.data() + j * m * ld, ld, q, m, model.statistic == Statistic::t, dof,
                              packed.ss.data(), edges, statistic);
            if (options.z_statistic) to_z(statistic, edges, model.statistic, result.df1, dof);
            result.null[k0 + j] = enhancer.max_enhanced(statistic, edges, *ws.scratch);
            if (elementwise) {
                enhancer.transform_all(statistic, edges, ws.transformed.data());
                const double* observed = result.enhanced.data();
                for (Eigen::Index e = 0; e < edges; ++e) ws.counts[e] += ws.transformed[e] >= observed[e] ? 1 : 0;
            }
        }
        const std::int64_t now = done.fetch_add(count) + count;
        if (thread == 0 && options.progress && !options.progress(now, k_total)) throw Cancelled();
    });
    if (options.progress && done.load() == k_total) options.progress(k_total, k_total);

    const std::vector<double> sorted = result.sorted_null();
    result.p_fwe.resize(edges);
    for (Eigen::Index e = 0; e < edges; ++e) result.p_fwe[e] = permutation_p(sorted, result.enhanced[e], options.convention);
    if (elementwise) {
        result.p_uncorrected.resize(edges);
        for (Eigen::Index e = 0; e < edges; ++e) {
            std::int64_t at_least = 0;
            for (const auto& ws : workspaces) at_least += ws.counts.empty() ? 0 : ws.counts[static_cast<std::size_t>(e)];
            const double kd = static_cast<double>(k_total);
            result.p_uncorrected[e] = options.convention == Convention::rewire
                                          ? (1.0 + static_cast<double>(at_least)) / (1.0 + kd)
                                          : static_cast<double>(at_least) / kd;
        }
    }
    return result;
}

}  // namespace detail

/// Permutation test of `model` on `data` (S × E) with `shuffles`, enhanced by `enhancer`. The null
/// distribution is the largest enhanced value of each shuffle (family-wise error over edges, and
/// over both signs for two-sided enhancers); p-values follow `options.convention`.
inline PermutationResult permutation_test(const Eigen::Ref<const Eigen::MatrixXd>& data, const Model& model,
                                          const Shuffles& shuffles, const Enhancer& enhancer,
                                          const PermutationOptions& options = {}) {
    return detail::permutation_test_impl(data, model, shuffles, enhancer, options);
}

}  // namespace rewire::stats
