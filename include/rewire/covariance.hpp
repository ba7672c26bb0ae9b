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

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "rewire/error.hpp"
#include "rewire/types.hpp"

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
        case CovarianceEstimator::ledoit_wolf: return "ledoit_wolf";
        case CovarianceEstimator::oas: return "oas";
        default: return "empirical";
    }
}

/// Parses an estimator name; throws InvalidInput listing the valid names.
inline CovarianceEstimator parse_covariance_estimator(const std::string& name) {
    for (auto e : {CovarianceEstimator::empirical, CovarianceEstimator::ledoit_wolf, CovarianceEstimator::oas}) {
        if (name == to_string(e)) return e;
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
            throw InvalidInput("covariance: threads must be >= 0 (0: automatic), got " + std::to_string(threads));
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

/// Dense kernels compiled once per instruction set in src/estimator_kernels_*.cpp and chosen at run time (the
/// library is built for baseline x86-64; AVX2+FMA makes these 2-3× faster). Column-major raw
/// pointers; none of them threads.
namespace kernels {
/// C (n × n, lower triangle) += alpha · A Aᵀ for A n × k, or alpha · Aᵀ A for A k × n (`a_transposed`);
/// k may be 0.
void syrk_lower(std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, bool a_transposed, double alpha,
                double* c, std::int64_t ldc);
/// C (m × n) = Aᵀ B for A k × m and B k × n.
void gemm_tn(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, const double* b,
             std::int64_t ldb, double* c, std::int64_t ldc);
/// C (m × n) = A Bᵀ for A m × k and B n × k.
void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, const double* b,
             std::int64_t ldb, double* c, std::int64_t ldc);
/// Eigendecomposition of symmetric A (lower triangle read): ascending `values` (n), orthonormal
/// `vectors` (n × n). False when the solver did not converge.
bool eigh_lower(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors, std::int64_t ldv);
/// eigh_lower's fast path alone (tridiagonalization, bisection and Rayleigh-quotient iteration by
/// twisted factorizations; src/symmetric_eigensolver.inc): false when it does not apply — n < 24, a
/// (nearly) split tridiagonal form, eigenvalues closer than 1e-6·‖A‖ — and eigh_lower would fall back
/// to Eigen's QR solver. For tests and benchmarks.
bool eigh_lower_fast(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors,
                     std::int64_t ldv);
/// W M W (n × n into `out`, exactly symmetric) for symmetric W and M (both triangles read, as nilearn's
/// whitening W·M·W).
void whiten(std::int64_t n, const double* w, std::int64_t ldw, const double* m, std::int64_t ldm, double* out,
            std::int64_t ldo);
/// V diag(f) Vᵀ (n × n into `out`, exactly symmetric) for n × n `vectors` V and n `values` f.
void recompose(std::int64_t n, const double* vectors, std::int64_t ldv, const double* values, double* out,
               std::int64_t ldo);
/// L M Lᵀ (n × n into `out`, exactly symmetric) for lower triangular L, stored with zeros above its
/// diagonal (as cholesky() and lower_inverse_block() leave it), and symmetric M (both triangles read).
void triangular_congruence(std::int64_t n, const double* l, std::int64_t ldl, const double* m, std::int64_t ldm,
                           double* out, std::int64_t ldo);
/// Whether symmetric A (lower triangle read) has a Cholesky factor, i.e. is positive definite.
bool is_positive_definite(std::int64_t n, const double* a, std::int64_t lda);
/// Cholesky factor L (n × n, lower; upper triangle zero) of SPD A (lower triangle read); returns the
/// reciprocal condition estimate of A, or −1 when A is not positive definite.
double cholesky(std::int64_t n, const double* a, std::int64_t lda, double* l, std::int64_t ldl);
/// Columns first .. first+cols−1 of L⁻¹ (n × cols into x) for lower triangular L (n × n), using only
/// the trailing triangle below `first` (those columns vanish above it).
void lower_inverse_block(std::int64_t n, const double* l, std::int64_t ldl, std::int64_t first, std::int64_t cols,
                         double* x, std::int64_t ldx);
/// The variant in use: "avx512", "avx2" or "generic".
const char* variant();
}  // namespace kernels

/// Thread count: the argument, else REWIRE_NUM_THREADS, else OpenMP's default (OMP_NUM_THREADS).
inline int estimator_threads(int requested) {
    if (requested > 0) return requested;
    if (const char* env = std::getenv("REWIRE_NUM_THREADS")) {
        const int value = std::atoi(env);
        if (value > 0) return value;
    }
#ifdef _OPENMP
    return std::max(1, omp_get_max_threads());
#else
    return 1;
#endif
}

/// Throws InvalidInput naming the first column of `signals` that holds NaN or infinity.
template <typename Derived>
void check_finite_signals(const Eigen::MatrixBase<Derived>& signals, const char* who) {
    if (signals.allFinite()) return;
    for (Eigen::Index j = 0; j < signals.cols(); ++j) {
        if (!signals.col(j).allFinite()) {
            throw InvalidInput(std::string(who) + ": column " + std::to_string(j) +
                               " of the signals contains NaN or infinity (a region without data?)");
        }
    }
}

/// Signals with their column means removed and those means: T × N column-major, or N × T
/// (`regions_in_rows`) when they came row-major, so that centring them is a straight copy.
struct CentredSignals {
    Eigen::Map<Eigen::MatrixXd> values;
    Eigen::VectorXd mean;
    bool regions_in_rows = false;

    Eigen::Index frames() const { return regions_in_rows ? values.cols() : values.rows(); }
    Eigen::Index regions() const { return regions_in_rows ? values.rows() : values.cols(); }
};

/// Checks shape and finiteness, then centres the columns of T × N signals (either memory order) into
/// this thread's workspace: a buffer that only grows, so that calls on a cohort do not page-fault a
/// fresh T × N copy each time (the fault-in costs as much as the product for N ≈ 100). The values
/// stay valid until the next call on the same thread. `who` prefixes error messages.
template <typename Derived>
CentredSignals centre_signals(const Eigen::MatrixBase<Derived>& signals, const char* who) {
    const Eigen::Index t = signals.rows(), n = signals.cols();
    if (t < 2) {
        throw InvalidInput(std::string(who) + ": need at least 2 time points (rows of the T × N signals), got " +
                           std::to_string(t));
    }
    if (n < 1) throw InvalidInput(std::string(who) + ": the signals have no columns (regions)");
    // NaN or ±infinity anywhere in a column makes its mean NaN or infinite: one pass finds both.
    Eigen::VectorXd mean = signals.colwise().mean().transpose();
    if (!mean.allFinite()) check_finite_signals(signals, who);
    thread_local std::vector<double> workspace;
    const auto size = static_cast<std::size_t>(t) * static_cast<std::size_t>(n);
    if (workspace.size() < size) workspace = std::vector<double>(size);
    constexpr bool by_rows = static_cast<bool>(Derived::IsRowMajor);
    CentredSignals c{Eigen::Map<Eigen::MatrixXd>(workspace.data(), by_rows ? n : t, by_rows ? t : n),
                     std::move(mean), by_rows};
    if constexpr (by_rows) {
        c.values = signals.transpose().colwise() - c.mean;
    } else {
        c.values = signals.rowwise() - c.mean.transpose();
    }
    return c;
}

/// X'X (N × N, both triangles) of T × N signals stored column-major at x (leading dimension ld), or,
/// `regions_in_rows`, stored as their N × T transpose.
///
/// The lower triangle is cut into column blocks of a width that depends on N only; diagonal blocks are
/// selfadjoint rank updates (SYRK, half the flops of a general product), the others general products,
/// each computed whole by one thread. The result is therefore the same bit for bit for every thread
/// count, and no partial sums need memory or a reduction.
inline Eigen::MatrixXd gram(const double* x, Eigen::Index ld, Eigen::Index t, Eigen::Index n, bool regions_in_rows,
                            int threads) {
    // About three blocks a side (six tasks), 64 to 256 columns wide: wide enough for full-speed kernels,
    // narrow enough to share out. The width depends on N only, never on the thread count.
    const Eigen::Index width = std::min<Eigen::Index>(256, std::max<Eigen::Index>(64, ((n + 2) / 3 + 15) / 16 * 16));
    const Eigen::Index blocks = (n + width - 1) / width;
    Eigen::MatrixXd g(n, n);
    // Tasks (i, j), j ≤ i, in row-major order of the block triangle.
    const Eigen::Index tasks = blocks * (blocks + 1) / 2;
    const int nt = static_cast<int>(std::min<Eigen::Index>(estimator_threads(threads), tasks));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (Eigen::Index task = 0; task < tasks; ++task) {
        Eigen::Index i = 0;
        while ((i + 1) * (i + 2) / 2 <= task) ++i;
        const Eigen::Index j = task - i * (i + 1) / 2;
        const Eigen::Index r0 = i * width, rows = std::min(width, n - r0);
        const Eigen::Index c0 = j * width, cols = std::min(width, n - c0);
        double* out = g.data() + c0 * n + r0;
        const double* xi = regions_in_rows ? x + r0 : x + r0 * ld;  // regions r0 … and c0 …
        const double* xj = regions_in_rows ? x + c0 : x + c0 * ld;
        if (i == j) {
            Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>>(out, rows, rows, Eigen::OuterStride<>(n)).setZero();
            kernels::syrk_lower(rows, t, xi, ld, !regions_in_rows, 1.0, out, n);
        } else if (regions_in_rows) {
            kernels::gemm_nt(rows, cols, t, xi, ld, xj, ld, out, n);
        } else {
            kernels::gemm_tn(rows, cols, t, xi, ld, xj, ld, out, n);
        }
    }
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

/// Σ_t (Σ_i w_i x_ti²)²: the sum of all entries of (X∘X)'(X∘X) for the columns scaled by √w, which
/// Ledoit–Wolf needs, in O(T·N) instead of a second N² product. `w` empty means all ones.
inline double sum_squared_row_energy(const CentredSignals& c, const Eigen::VectorXd& w) {
    const auto& x = c.values;
    if (c.regions_in_rows) {
        double sum = 0.0;
        for (Eigen::Index t = 0; t < x.cols(); ++t) {
            const double energy = w.size() ? (x.col(t).array().square() * w.array()).sum() : x.col(t).squaredNorm();
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
    if (s.rows() == 1) return 0.0;
    const double trace = s.trace();
    const double mu = trace / n;
    const double frob2 = s.squaredNorm();
    double beta = 1.0 / (n * samples) * (row_energy4 / samples - frob2);
    const double delta = (frob2 - 2.0 * mu * trace + n * mu * mu) / n;
    beta = std::min(beta, delta);
    if (beta == 0.0 || !(delta > 0.0)) return 0.0;  // S is already μI: any δ gives the same matrix
    return beta / delta;
}

/// OAS δ from S (N × N) and T, as sklearn's _oas: α = mean(S²), δ = min((α + μ²) / ((T + 1)(α − μ²/N)), 1).
inline double oas_shrinkage(const Eigen::MatrixXd& s, Eigen::Index t) {
    const double n = static_cast<double>(s.rows());
    if (s.rows() == 1) return 0.0;  // one feature: sklearn returns 0 whatever the formula says
    const double alpha = s.squaredNorm() / (n * n);
    const double mu = s.trace() / n;
    const double num = alpha + mu * mu;
    const double den = (static_cast<double>(t) + 1.0) * (alpha - mu * mu / n);
    return den == 0.0 ? 1.0 : std::min(num / den, 1.0);
}

/// (1 − δ) S + δ μ I in place.
inline void shrink_in_place(Eigen::MatrixXd& s, double shrinkage) {
    if (shrinkage == 0.0) return;
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
        case CovarianceEstimator::oas: return oas_shrinkage(s, c.frames());
        default: return 0.0;
    }
}

}  // namespace detail

namespace detail {

template <typename Derived>
CovarianceEstimate estimate_covariance(const Eigen::MatrixBase<Derived>& signals, const CovarianceOptions& options) {
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
using RowMajorSignals = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                                   Eigen::Unaligned, Eigen::OuterStride<>>;

/// Covariance of T × N signals (T ≥ 2) with the chosen estimator; returns the N × N estimate, the
/// removed means and the shrinkage δ. Equals scikit-learn's `EmpiricalCovariance().fit(X).covariance_`,
/// `LedoitWolf().fit(X)` (Ledoit & Wolf 2004) or `OAS().fit(X)` (Chen et al. 2010) `covariance_` and
/// `shrinkage_`. Throws InvalidInput naming the column that holds NaN or infinity.
inline CovarianceEstimate estimate_covariance(const Eigen::Ref<const Eigen::MatrixXd>& signals,
                                              const CovarianceOptions& options = {}) {
    return detail::estimate_covariance(signals, options);
}

/// estimate_covariance() of row-major signals.
inline CovarianceEstimate estimate_covariance(const RowMajorSignals& signals, const CovarianceOptions& options = {}) {
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
    if (subjects.empty()) throw InvalidInput("covariances: the group has no subjects");
    const Eigen::Index n = subjects.front().cols();
    for (std::size_t k = 0; k < subjects.size(); ++k) {
        if (subjects[k].cols() != n) {
            throw InvalidInput("covariances: subject " + std::to_string(k) + " has " +
                               std::to_string(subjects[k].cols()) + " regions (columns), subject 0 has " +
                               std::to_string(n) + "; all subjects need the same regions");
        }
        if (require_full_rank && options.estimator == CovarianceEstimator::empirical && subjects[k].rows() <= n) {
            throw InvalidInput("covariances: subject " + std::to_string(k) + " has T = " +
                               std::to_string(subjects[k].rows()) + " time points for N = " + std::to_string(n) +
                               " regions; the empirical covariance is singular when T <= N, use the "
                               "'ledoit_wolf' estimator");
        }
    }
    const auto count = static_cast<Eigen::Index>(subjects.size());
    const int threads =
        static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(detail::estimator_threads(options.threads), count)));
    CovarianceOptions single = options;
    single.threads = 1;
    std::vector<CovarianceEstimate> out(subjects.size());
    std::vector<std::string> errors(subjects.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (Eigen::Index k = 0; k < count; ++k) {
        const auto i = static_cast<std::size_t>(k);
        try {
            out[i] = estimate_covariance(subjects[i], single);
        } catch (const std::exception& e) {
            errors[i] = e.what();
        }
    }
    for (std::size_t i = 0; i < errors.size(); ++i) {  // the first failing subject, whatever the threads
        if (!errors[i].empty()) throw InvalidInput("subject " + std::to_string(i) + ": " + errors[i]);
    }
    return out;
}

}  // namespace rewire
