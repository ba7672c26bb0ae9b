// rewire — one subject's connectivity matrix of a chosen kind from its T × N signals.
//
// Kinds, estimators and the standardisation follow nilearn 0.14's ConnectivityMeasure(kind=...,
// cov_estimator=..., standardize=True), with one deliberate difference in the defaults: rewire's
// correlation is exact Pearson (the empirical estimator), nilearn's is the correlation of the
// Ledoit–Wolf shrunk covariance (pass CovarianceEstimator::ledoit_wolf to reproduce it). The result
// records which estimator and shrinkage it used. The tangent kind needs a group: see TangentSpace.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/covariance.hpp"
#include "rewire/connectivity/dense_kernels.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

/// What a connectivity matrix measures.
enum class ConnectivityKind {
    covariance,           ///< the estimator's covariance (N × N)
    correlation,          ///< covariance_to_correlation of the (standardised) covariance
    partial_correlation,  ///< precision_to_partial_correlation of its inverse
    precision,            ///< the inverse covariance
    tangent,              ///< log of the whitened covariance at a group mean (TangentSpace)
};

/// nilearn's names: "covariance", "correlation", "partial correlation", "precision", "tangent".
inline const char* to_string(ConnectivityKind kind) {
    switch (kind) {
        case ConnectivityKind::covariance: return "covariance";
        case ConnectivityKind::partial_correlation: return "partial correlation";
        case ConnectivityKind::precision: return "precision";
        case ConnectivityKind::tangent: return "tangent";
        default: return "correlation";
    }
}

/// Parses a kind name (nilearn's spelling; "partial_correlation" is accepted too); throws InvalidInput
/// listing the valid names.
inline ConnectivityKind parse_connectivity_kind(const std::string& name) {
    for (auto k : {ConnectivityKind::covariance, ConnectivityKind::correlation, ConnectivityKind::partial_correlation,
                   ConnectivityKind::precision, ConnectivityKind::tangent}) {
        if (name == to_string(k)) return k;
    }
    if (name == "partial_correlation") return ConnectivityKind::partial_correlation;
    throw InvalidInput("kind: unknown connectivity kind '" + name +
                       "', expected one of 'covariance', 'correlation', 'partial correlation', 'precision', "
                       "'tangent'");
}

/// Options of estimate().
struct EstimateOptions {
    /// What to compute.
    ConnectivityKind kind = ConnectivityKind::correlation;
    /// How the covariance is estimated (empirical: exact Pearson correlation).
    CovarianceEstimator estimator = CovarianceEstimator::empirical;
    /// nilearn's standardize=True: for kind correlation only, z-score each column (ddof = 1; a column
    /// whose sd is below machine epsilon is left unscaled) before the estimator. It changes the
    /// shrinkage of ledoit_wolf/oas, not the empirical correlation.
    bool standardize = true;
    /// Threads for the product Xc'Xc (0: automatic); the result does not depend on it.
    int threads = 0;

    /// Throws InvalidInput on a negative thread count.
    void validate() const {
        if (threads < 0) throw InvalidInput("estimate: threads must be >= 0 (0: automatic), got " + std::to_string(threads));
    }
};

/// A connectivity matrix and how it was made.
struct Estimate {
    Connectome matrix;  ///< N × N, symmetric
    ConnectivityKind kind = ConnectivityKind::correlation;
    CovarianceEstimator estimator = CovarianceEstimator::empirical;
    double shrinkage = 0.0;     ///< δ of the covariance estimator (0 for empirical)
    bool standardized = false;  ///< whether the columns were z-scored before the estimator
};

namespace detail {

/// Inverse of an SPD covariance as L⁻ᵀ L⁻¹: the Cholesky factor, the columns of L⁻¹ in blocks shared out
/// between threads, then the Gram matrix of L⁻¹ (about 5N³/3 flops, most of them parallel). Throws
/// NumericalError when the covariance is singular to working precision (reciprocal condition number
/// below N·ε).
inline Eigen::MatrixXd spd_inverse(const Eigen::MatrixXd& covariance, const char* who, int threads) {
    const Eigen::Index n = covariance.rows();
    Eigen::MatrixXd l(n, n);
    const double rcond = kernels::cholesky(n, covariance.data(), n, l.data(), n);
    if (!(rcond > static_cast<double>(n) * std::numeric_limits<double>::epsilon())) {
        throw NumericalError(std::string(who) + ": the covariance is singular (not positive definite to working "
                             "precision): some regions are constant or linear combinations of others; use the "
                             "'ledoit_wolf' estimator or remove those regions");
    }
    Eigen::MatrixXd l_inv(n, n);
    const Eigen::Index width = 128;
    const Eigen::Index blocks = (n + width - 1) / width;
    parallel_for(blocks, {threads, 1}, [&](Eigen::Index b) {
        const Eigen::Index first = b * width;
        kernels::lower_inverse_block(n, l.data(), n, first, std::min(width, n - first), l_inv.data() + first * n, n);
    });
    return gram(l_inv, threads);
}

template <typename Derived>
Estimate estimate(const Eigen::MatrixBase<Derived>& signals, const EstimateOptions& options) {
    options.validate();
    const char* who = to_string(options.kind);
    if (options.kind == ConnectivityKind::tangent) {
        throw InvalidInput("kind 'tangent' needs a group of subjects (deviations from their geometric mean): use "
                           "TangentSpace (Python: rewire.Tangent)");
    }
    const Eigen::Index t = signals.rows();
    const Eigen::Index n = signals.cols();
    const bool inverts =
        options.kind == ConnectivityKind::precision || options.kind == ConnectivityKind::partial_correlation;
    if (inverts && options.estimator == CovarianceEstimator::empirical && t <= n) {
        throw InvalidInput(std::string("kind '") + who + "' with the empirical estimator needs more time points than "
                           "regions (T > N), got T = " + std::to_string(t) + ", N = " + std::to_string(n) +
                           "; use estimator 'ledoit_wolf'");
    }
    Estimate out;
    out.kind = options.kind;
    out.estimator = options.estimator;
    if (options.kind == ConnectivityKind::correlation &&
        options.estimator == CovarianceEstimator::empirical) {
        // Exact Pearson: the one routine correlation() uses (z-scoring first would not change it).
        out.matrix = pearson_correlation(signals, options.threads, who);
        out.standardized = options.standardize;
        return out;
    }
    const CentredSignals c = centre_signals(signals, who);
    const double frames = static_cast<double>(t);
    Eigen::MatrixXd s = gram(c, options.threads);
    s /= frames;

    Eigen::VectorXd weight;  // w_j = 1/sd_j²: the covariance of the z-scored columns is D S D, D = √w
    if (options.kind == ConnectivityKind::correlation && options.standardize) {
        out.standardized = true;
        weight.resize(n);
        for (Eigen::Index j = 0; j < n; ++j) {
            const double sd = std::sqrt(s(j, j) * frames / (frames - 1.0));
            weight[j] = sd < std::numeric_limits<double>::epsilon() ? 1.0 : 1.0 / (sd * sd);
        }
        const Eigen::VectorXd d = weight.cwiseSqrt();
        s = d.asDiagonal() * s * d.asDiagonal();
    }
    out.shrinkage = shrinkage_for(options.estimator, s, c, weight);
    shrink_in_place(s, out.shrinkage);

    switch (options.kind) {
        case ConnectivityKind::covariance: out.matrix = std::move(s); break;
        case ConnectivityKind::correlation:
            covariance_to_correlation_in_place(s);
            out.matrix = std::move(s);
            break;
        case ConnectivityKind::precision: out.matrix = spd_inverse(s, who, options.threads); break;
        default:
            out.matrix = spd_inverse(s, who, options.threads);
            covariance_to_correlation_in_place(out.matrix);
            out.matrix = -out.matrix;
            out.matrix.diagonal().setOnes();
            break;
    }
    return out;
}

}  // namespace detail

/// Connectivity of one subject's T × N signals (T ≥ 2): `kind` computed from the `estimator`'s
/// covariance, as nilearn's ConnectivityMeasure(kind, cov_estimator).fit_transform([signals])[0]
/// (scikit-learn's estimators; Ledoit & Wolf 2004, Chen et al. 2010).
///
/// Throws InvalidInput on NaN/infinity (naming the column), on a constant column for the empirical
/// correlation, for precision and partial correlation with the empirical estimator and T ≤ N (the
/// covariance is then singular: use ledoit_wolf), and for kind tangent (it needs a group: TangentSpace).
/// Throws NumericalError when a covariance to invert is singular.
inline Estimate estimate(const Eigen::Ref<const Eigen::MatrixXd>& signals, const EstimateOptions& options = {}) {
    return detail::estimate(signals, options);
}

/// estimate() of row-major signals (numpy's layout), read without a copy.
inline Estimate estimate(const RowMajorSignals& signals, const EstimateOptions& options = {}) {
    return detail::estimate(signals, options);
}

/// estimate() of each subject of a group (T_k × N_k signals: TimeSeries, or RowMajorSignals read in
/// place), one subject per thread; each result is the same bits as estimate() of that subject alone.
/// Throws the first subject's error with its index.
template <typename Signals>
std::vector<Estimate> estimate_group(const std::vector<Signals>& subjects, const EstimateOptions& options = {}) {
    options.validate();
    EstimateOptions single = options;
    single.threads = 1;
    std::vector<Estimate> out(subjects.size());
    parallel_for(
        static_cast<std::int64_t>(subjects.size()), {options.threads, 1},
        [&](std::int64_t k) { out[static_cast<std::size_t>(k)] = estimate(subjects[static_cast<std::size_t>(k)], single); },
        [](std::int64_t k) { return "subject " + std::to_string(k); });
    return out;
}

}  // namespace rewire
