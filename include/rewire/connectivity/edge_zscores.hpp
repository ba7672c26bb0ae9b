// rewire — autocorrelation-corrected z-scores of single edges (Bartlett 1946; xDF, Afyouni et al. 2019).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/dense_kernels.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

/// How the variance of an edge's Fisher z is obtained.
enum class ZVariance {
    naive,     ///< 1 / (T − 3): independent time points
    bartlett,  ///< 1 / (T_eff − 3) with Bartlett's (1946) effective number of time points
    xdf,       ///< xDF (Afyouni et al. 2019): autocorrelations and cross-correlations, any true ρ
};

/// "naive", "bartlett" or "xdf".
inline const char* to_string(ZVariance method) {
    switch (method) {
        case ZVariance::naive:
            return "naive";
        case ZVariance::xdf:
            return "xdf";
        default:
            return "bartlett";
    }
}

/// Parses a variance method name; throws InvalidInput listing the valid names.
inline ZVariance parse_z_variance(const std::string& name) {
    for (auto m : {ZVariance::naive, ZVariance::bartlett, ZVariance::xdf}) {
        if (name == to_string(m))
            return m;
    }
    throw InvalidInput("method: unknown Fisher z variance '" + name +
                       "', expected one of 'naive', 'bartlett', 'xdf'");
}

/// Options of edge_zscores().
struct EdgeZOptions {
    /// How var(z) is obtained.
    ZVariance method = ZVariance::bartlett;
    /// Last lag M of the auto- and cross-correlation sums (−1: ⌊√T⌋, the window length Afyouni et al.
    /// 2019 use for their Tukey taper); lags beyond M count as 0 (truncation). Used by `bartlett` and
    /// `xdf`; 1 ≤ M ≤ T − 2.
    std::int64_t max_lag = -1;
    /// Threads for xdf's lagged products (0: automatic); the result does not depend on it.
    int threads = 0;

    /// Throws InvalidInput when max_lag is neither −1 nor positive, or threads is negative.
    void validate() const {
        if (max_lag != -1 && max_lag < 1) {
            throw InvalidInput("edge_zscores: max_lag must be -1 (automatic: floor(sqrt(T))) or >= 1, got " +
                               std::to_string(max_lag));
        }
        if (threads < 0)
            throw InvalidInput("edge_zscores: threads must be >= 0, got " + std::to_string(threads));
    }
};

/// Fisher z of every edge, its autocorrelation-corrected standard deviation and the z-score.
struct EdgeZScores {
    Connectome zscore;         ///< N × N: fisher_z · √(dof − 3), diagonal 0
    Connectome fisher_z;       ///< N × N: arctanh(r), diagonal 0
    Connectome dof;            ///< N × N effective number of time points: var(fisher_z) = 1 / (dof − 3)
    std::int64_t max_lag = 0;  ///< the lag window M used (0 for naive)
};

namespace detail {

/// Lagged products of unit-norm centred columns u (T × N): P_k(i, j) = Σ_{t<T−k} u_i(t) u_j(t + k),
/// computed in column blocks shared out between threads (bit-identical for any thread count).
inline void lagged_products(const Eigen::MatrixXd& u, Eigen::Index k, int threads, Eigen::MatrixXd& p) {
    const Eigen::Index t = u.rows(), n = u.cols();
    const Eigen::Index width = 128;
    const Eigen::Index blocks = (n + width - 1) / width;
    parallel_for(blocks, {threads, 1}, [&](Eigen::Index b) {
        const Eigen::Index c0 = b * width, cols = std::min(width, n - c0);
        kernels::gemm_tn(n, cols, t - k, u.data(), t, u.data() + c0 * t + k, t, p.data() + c0 * n, n);
    });
}

}  // namespace detail

/// z-scores of the Pearson correlations of T × N signals that account for autocorrelation.
///
/// `bartlett`: under independence of two series x, y (each autocorrelated), Bartlett (1946, J. R. Stat.
/// Soc. Suppl. 8:27) gives var(r) ≈ (1 + 2 Σ_k ρ_x(k) ρ_y(k)) / T, so var(arctanh r) ≈ 1 / (T_eff − 3) with
///   T_eff = T / (1 + 2 Σ_{k=1..M} ρ_x(k) ρ_y(k)),
/// ρ(k) = Σ_{t<T−k} x̃_t x̃_{t+k} / Σ_t x̃_t² (x̃ centred; the usual biased estimator), summed over the
/// lags 1..M (truncated window). T_eff is capped at T: a negative sum never makes an edge more
/// significant than independent samples would.
///
/// `xdf`: the variance of Afyouni, Smith & Nichols (2019, NeuroImage 199:609, eq. 8, as their xDF code
/// computes it), valid for any true correlation ρ, with cross-correlations ρ_xy(±k) and weights T−1−k:
///   T² var(r) = (T−1)(1−ρ²)² + ρ² Σ w_k (ρ_x(k)² + ρ_y(k)² + ρ_xy(k)² + ρ_xy(−k)²)
///               − 2ρ Σ w_k (ρ_x(k) + ρ_y(k)) (ρ_xy(k) + ρ_xy(−k)) + 2 Σ w_k (ρ_x(k) ρ_y(k) + ρ_xy(k)
///               ρ_xy(−k)),
/// floored at the theoretical (1−ρ²)²/T, with ρ = r and lags truncated at M; var(arctanh r) =
/// var(r) / (1−ρ²)² (delta method), reported as dof = 1/var(arctanh r) + 3 (at most T + 3).
/// It costs M products of N × N × T (the others O(N·T·M)).
///
/// With `naive`, dof = T. The naive z of autocorrelated BOLD is too large: for two independent AR(1)
/// series with φ = 0.7 its standard deviation is about 1.7 instead of 1. Throws InvalidInput for T < 5
/// or a bad column (as correlation()), NumericalError when some dof ≤ 3 (series too short or too
/// autocorrelated for this variance).
inline EdgeZScores edge_zscores(const Eigen::Ref<const Eigen::MatrixXd>& signals,
                                const EdgeZOptions& options = {}) {
    options.validate();
    const Eigen::Index t = signals.rows();
    const Eigen::Index n = signals.cols();
    if (t < 5) {
        throw InvalidInput("edge_zscores: need at least 5 time points, got " + std::to_string(t));
    }
    EdgeZScores out;
    const Connectome r = correlation(signals);
    out.fisher_z = fisher_z(r);
    const double frames = static_cast<double>(t);
    if (options.method == ZVariance::naive) {
        out.dof = Connectome::Constant(n, n, frames);
        out.max_lag = 0;
    } else {
        const std::int64_t lags =
            options.max_lag == -1
                ? std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(std::sqrt(frames))))
                : options.max_lag;
        if (lags > t - 2) {
            throw InvalidInput("edge_zscores: max_lag must be at most T - 2 = " + std::to_string(t - 2) +
                               ", got " + std::to_string(lags));
        }
        out.max_lag = lags;
        Eigen::MatrixXd u = signals.rowwise() - signals.colwise().mean();
        const Eigen::VectorXd inverse_norm = u.colwise().norm().cwiseInverse().transpose();
        u = u * inverse_norm.asDiagonal();  // unit norm: products are correlations
        Eigen::MatrixXd rho(n, lags);       // N × M autocorrelations
        for (Eigen::Index j = 0; j < n; ++j) {
            const auto x = u.col(j);
            for (Eigen::Index k = 1; k <= lags; ++k)
                rho(j, k - 1) = x.head(t - k).dot(x.tail(t - k));
        }
        if (options.method == ZVariance::bartlett) {
            Eigen::MatrixXd cross = Eigen::MatrixXd::Zero(n, n);
            cross.selfadjointView<Eigen::Lower>().rankUpdate(rho);  // Σ_k ρ_i(k) ρ_j(k)
            cross.triangularView<Eigen::StrictlyUpper>() = cross.transpose();
            out.dof = (frames / (1.0 + 2.0 * cross.array())).min(frames).matrix();
            out.dof.diagonal().setConstant(frames);
        } else {
            const int threads = resolve_threads(options.threads);
            Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n), b = a, c = a, p(n, n);
            for (Eigen::Index k = 1; k <= lags; ++k) {
                detail::lagged_products(u, k, threads, p);  // p(i, j) = ρ_ij(k), p(j, i) = ρ_ij(−k)
                const double w = frames - 1.0 - static_cast<double>(k);
                const auto ac = rho.col(k - 1);
                parallel_for(n, {threads, 64}, [&](Eigen::Index j) {  // columns are independent
                    for (Eigen::Index i = 0; i < n; ++i) {
                        const double plus = p(i, j), minus = p(j, i);
                        a(i, j) += w * (ac[i] * ac[i] + ac[j] * ac[j] + plus * plus + minus * minus);
                        b(i, j) += w * (ac[i] + ac[j]) * (plus + minus);
                        c(i, j) += w * (ac[i] * ac[j] + plus * minus);
                    }
                });
            }
            out.dof.resize(n, n);
            for (Eigen::Index j = 0; j < n; ++j) {
                for (Eigen::Index i = 0; i < n; ++i) {
                    const double rr = r(i, j), one = 1.0 - rr * rr;
                    if (i == j || !(one > 0.0)) {
                        out.dof(i, j) = frames + 3.0;  // |r| = 1: z is ±∞ whatever its variance
                        continue;
                    }
                    double var = ((frames - 1.0) * one * one + rr * rr * a(i, j) - 2.0 * rr * b(i, j) +
                                  2.0 * c(i, j)) /
                                 (frames * frames);
                    var = std::max(var, one * one / frames);  // xDF's floor: the theoretical variance
                    out.dof(i, j) = one * one / var + 3.0;
                }
            }
            // The formula is symmetric in (i, j) but sums in a different order on each side.
            out.dof = (0.5 * (out.dof + out.dof.transpose())).eval();
        }
    }
    out.zscore.resize(n, n);
    for (Eigen::Index j = 0; j < n; ++j) {
        for (Eigen::Index i = 0; i < n; ++i) {
            const double dof = out.dof(i, j);
            if (!(dof > 3.0)) {
                throw NumericalError(
                    "edge_zscores: edge (" + std::to_string(i) + ", " + std::to_string(j) +
                    ") has an effective number of time points T_eff = " + std::to_string(dof) +
                    " <= 3; the series are too short or too autocorrelated (try a smaller "
                    "max_lag)");
            }
            out.zscore(i, j) = out.fisher_z(i, j) * std::sqrt(dof - 3.0);
        }
    }
    out.zscore.diagonal().setZero();
    return out;
}

}  // namespace rewire
