// rewire — covariance estimators: empirical (maximum likelihood), Ledoit–Wolf and OAS shrinkage.
//
// Definitions follow scikit-learn 1.x (`EmpiricalCovariance`, `LedoitWolf`, `OAS`, assume_centered=False)
// so that `covariance` and `shrinkage` equal sklearn's `covariance_` and `shrinkage_`:
//   S = Xc'Xc / T                         (Xc: columns minus their means; divided by T, not T − 1)
//   shrunk = (1 − δ) S + δ μ I,  μ = tr(S) / N
// with δ from Ledoit & Wolf (2004, J. Multivar. Anal. 88:365) or Chen et al. (2010, IEEE Trans. Signal
// Process. 58:5016, as sklearn implements it). Every estimator costs one product Xc'Xc (T·N² flops);
// the shrinkage intensities are O(N²) or O(T·N) on top of it.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "rewire/connectivity/centre.hpp"
#include "rewire/connectivity/gram.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

/// How a covariance matrix is estimated from T × N signals.
enum class CovarianceEstimator {
    empirical,    ///< maximum likelihood Xc'Xc / T (sklearn's EmpiricalCovariance)
    ledoit_wolf,  ///< Ledoit & Wolf (2004) shrinkage toward μI (sklearn's LedoitWolf; nilearn's default)
    oas,          ///< oracle approximating shrinkage, Chen et al. (2010) (sklearn's OAS)
};

/// "empirical", "ledoit_wolf" or "oas".
inline const char* to_string(CovarianceEstimator estimator) {
    switch (estimator) {
        case CovarianceEstimator::ledoit_wolf:
            return "ledoit_wolf";
        case CovarianceEstimator::oas:
            return "oas";
        default:
            return "empirical";
    }
}

/// Parses an estimator name; throws InvalidInput listing the valid names.
inline CovarianceEstimator parse_covariance_estimator(const std::string& name) {
    for (auto e :
         {CovarianceEstimator::empirical, CovarianceEstimator::ledoit_wolf, CovarianceEstimator::oas}) {
        if (name == to_string(e))
            return e;
    }
    throw InvalidInput("estimator: unknown covariance estimator '" + name +
                       "', expected one of 'empirical', 'ledoit_wolf', 'oas'");
}

/// Options of estimate_covariance().
struct CovarianceOptions {
    /// Which estimator.
    CovarianceEstimator estimator = CovarianceEstimator::empirical;
    /// Threads for the product Xc'Xc (0: REWIRE_NUM_THREADS, else OpenMP's default). The result is
    /// bit-identical for every thread count.
    int threads = 0;

    /// Throws InvalidInput on a negative thread count.
    void validate() const {
        if (threads < 0) {
            throw InvalidInput("covariance: threads must be >= 0 (0: automatic), got " +
                               std::to_string(threads));
        }
    }
};

/// A covariance estimate and what produced it.
struct CovarianceEstimate {
    Eigen::MatrixXd covariance;  ///< N × N, symmetric; divided by T (as scikit-learn)
    Eigen::VectorXd location;    ///< N column means removed before the product
    double shrinkage = 0.0;      ///< δ, the weight of μI (0 for the empirical estimator)
    CovarianceEstimator estimator = CovarianceEstimator::empirical;
};

namespace detail {
/// Σ_t (Σ_i w_i x_ti²)²: the sum of all entries of (X∘X)'(X∘X) for the columns scaled by √w, which
/// Ledoit–Wolf needs, in O(T·N) instead of a second N² product. `w` empty means all ones.
inline double sum_squared_row_energy(const CentredSignals& c, const Eigen::VectorXd& w) {
    const auto& x = c.values;
    if (c.regions_in_rows) {
        double sum = 0.0;
        for (Eigen::Index t = 0; t < x.cols(); ++t) {
            const double energy =
                w.size() ? (x.col(t).array().square() * w.array()).sum() : x.col(t).squaredNorm();
            sum += energy * energy;
        }
        return sum;
    }
    Eigen::VectorXd energy = Eigen::VectorXd::Zero(x.rows());
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
        const double weight = w.size() ? w[j] : 1.0;
        energy.array() += weight * x.col(j).array().square();
    }
    return energy.squaredNorm();
}

/// Ledoit–Wolf δ from S (N × N), Σ_t ||x_t||⁴ and T, exactly as sklearn's ledoit_wolf_shrinkage
/// (its blocks summed whole): β̂ = (Σ_t ||x_t||⁴ / T − ||S||²_F) / (N T), d̂ = (||S||²_F − N μ²) / N,
/// δ = min(β̂, d̂) / d̂.
inline double ledoit_wolf_shrinkage(const Eigen::MatrixXd& s, double row_energy4, Eigen::Index t) {
    const double n = static_cast<double>(s.rows());
    const double samples = static_cast<double>(t);
    if (s.rows() == 1)
        return 0.0;
    const double trace = s.trace();
    const double mu = trace / n;
    const double frob2 = s.squaredNorm();
    double beta = 1.0 / (n * samples) * (row_energy4 / samples - frob2);
    const double delta = (frob2 - 2.0 * mu * trace + n * mu * mu) / n;
    beta = std::min(beta, delta);
    if (beta == 0.0 || !(delta > 0.0))
        return 0.0;  // S is already μI: any δ gives the same matrix
    return beta / delta;
}

/// OAS δ from S (N × N) and T, as sklearn's _oas: α = mean(S²), δ = min((α + μ²) / ((T + 1)(α − μ²/N)), 1).
inline double oas_shrinkage(const Eigen::MatrixXd& s, Eigen::Index t) {
    const double n = static_cast<double>(s.rows());
    if (s.rows() == 1)
        return 0.0;  // one feature: sklearn returns 0 whatever the formula says
    const double alpha = s.squaredNorm() / (n * n);
    const double mu = s.trace() / n;
    const double num = alpha + mu * mu;
    const double den = (static_cast<double>(t) + 1.0) * (alpha - mu * mu / n);
    return den == 0.0 ? 1.0 : std::min(num / den, 1.0);
}

/// (1 − δ) S + δ μ I in place.
inline void shrink_in_place(Eigen::MatrixXd& s, double shrinkage) {
    if (shrinkage == 0.0)
        return;
    const double mu = s.trace() / static_cast<double>(s.rows());
    s *= 1.0 - shrinkage;
    s.diagonal().array() += shrinkage * mu;
}

/// δ of `estimator` for S = Xc'Xc/T of centred signals whose column j is scaled by √w_j (w empty: 1).
inline double shrinkage_for(CovarianceEstimator estimator, const Eigen::MatrixXd& s, const CentredSignals& c,
                            const Eigen::VectorXd& w) {
    switch (estimator) {
        case CovarianceEstimator::ledoit_wolf:
            return ledoit_wolf_shrinkage(s, sum_squared_row_energy(c, w), c.frames());
        case CovarianceEstimator::oas:
            return oas_shrinkage(s, c.frames());
        default:
            return 0.0;
    }
}

template <typename Derived>
CovarianceEstimate estimate_covariance(const Eigen::MatrixBase<Derived>& signals,
                                       const CovarianceOptions& options) {
    options.validate();
    const CentredSignals c = centre_signals(signals, "covariance");
    CovarianceEstimate result;
    result.estimator = options.estimator;
    result.covariance = gram(c, options.threads);
    result.covariance /= static_cast<double>(signals.rows());
    result.shrinkage = shrinkage_for(options.estimator, result.covariance, c, Eigen::VectorXd());
    shrink_in_place(result.covariance, result.shrinkage);
    result.location = c.mean;
    return result;
}

}  // namespace detail

/// Row-major T × N signals (numpy's default layout), which the estimators read without a copy.
using RowMajorSignals =
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Unaligned,
               Eigen::OuterStride<>>;

/// Covariance of T × N signals (T ≥ 2) with the chosen estimator; returns the N × N estimate, the
/// removed means and the shrinkage δ. Equals scikit-learn's `EmpiricalCovariance().fit(X).covariance_`,
/// `LedoitWolf().fit(X)` (Ledoit & Wolf 2004) or `OAS().fit(X)` (Chen et al. 2010) `covariance_` and
/// `shrinkage_`. Throws InvalidInput naming the column that holds NaN or infinity.
inline CovarianceEstimate estimate_covariance(const Eigen::Ref<const Eigen::MatrixXd>& signals,
                                              const CovarianceOptions& options = {}) {
    return detail::estimate_covariance(signals, options);
}

/// estimate_covariance() of row-major signals.
inline CovarianceEstimate estimate_covariance(const RowMajorSignals& signals,
                                              const CovarianceOptions& options = {}) {
    return detail::estimate_covariance(signals, options);
}

/// Ledoit–Wolf shrunk covariance of T × N signals (Ledoit & Wolf 2004), as sklearn's `ledoit_wolf`.
inline CovarianceEstimate ledoit_wolf(const Eigen::Ref<const Eigen::MatrixXd>& signals, int threads = 0) {
    CovarianceOptions options;
    options.estimator = CovarianceEstimator::ledoit_wolf;
    options.threads = threads;
    return estimate_covariance(signals, options);
}

/// OAS shrunk covariance of T × N signals (Chen et al. 2010), as sklearn's `oas`.
inline CovarianceEstimate oas(const Eigen::Ref<const Eigen::MatrixXd>& signals, int threads = 0) {
    CovarianceOptions options;
    options.estimator = CovarianceEstimator::oas;
    options.threads = threads;
    return estimate_covariance(signals, options);
}

/// Covariances of a group of T_k × N signals (TimeSeries, or RowMajorSignals read in place), one
/// subject per thread (each subject's product is the same bits as estimate_covariance()). Throws
/// InvalidInput naming the subject whose N differs from subject 0's, or, for the empirical estimator
/// with `require_full_rank`, whose T ≤ N.
template <typename Signals>
std::vector<CovarianceEstimate> estimate_covariances(const std::vector<Signals>& subjects,
                                                     const CovarianceOptions& options = {},
                                                     bool require_full_rank = false) {
    options.validate();
    if (subjects.empty())
        throw InvalidInput("covariances: the group has no subjects");
    const Eigen::Index n = subjects.front().cols();
    for (std::size_t k = 0; k < subjects.size(); ++k) {
        if (subjects[k].cols() != n) {
            throw InvalidInput("covariances: subject " + std::to_string(k) + " has " +
                               std::to_string(subjects[k].cols()) + " regions (columns), subject 0 has " +
                               std::to_string(n) + "; all subjects need the same regions");
        }
        if (require_full_rank && options.estimator == CovarianceEstimator::empirical &&
            subjects[k].rows() <= n) {
            throw InvalidInput("covariances: subject " + std::to_string(k) +
                               " has T = " + std::to_string(subjects[k].rows()) +
                               " time points for N = " + std::to_string(n) +
                               " regions; the empirical covariance is singular when T <= N, use the "
                               "'ledoit_wolf' estimator");
        }
    }
    CovarianceOptions single = options;
    single.threads = 1;
    std::vector<CovarianceEstimate> out(subjects.size());
    // One subject per thread; the first failing subject's error, with its type, whatever the threads.
    parallel_for(
        static_cast<std::int64_t>(subjects.size()), {options.threads, 1},
        [&](std::int64_t k) { out[static_cast<std::size_t>(k)] = estimate_covariance(subjects[static_cast<std::size_t>(k)], single); },
        [](std::int64_t k) { return "subject " + std::to_string(k); });
    return out;
}

}  // namespace rewire
