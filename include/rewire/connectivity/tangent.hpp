// rewire — the tangent space of symmetric positive definite (SPD) matrices: the geometric (affine-invariant)
// mean and the tangent embedding of connectivity (Varoquaux et al. 2010, MICCAI, LNCS 6361:200), as nilearn's
// ConnectivityMeasure (kind="tangent").
//
// The heavy steps (eigendecompositions by src/connectivity/kernels/symmetric_eigensolver.inc, whitening and V
// f(Λ) Vᵀ products) run in the dispatched kernels of dense_kernels.hpp, which never thread: the parallelism
// is one subject per thread, and a group mean is summed in subject order, so the result does not depend on
// the number of threads.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "rewire/connectivity/covariance.hpp"
#include "rewire/connectivity/matrix_functions.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

namespace detail {

/// nilearn's symmetry test: |m_ij − m_ji| ≤ 1e-7·|m_ji| for all i, j. Compared in 32 × 32 tiles, so
/// that the transposed reads stay in cache (a whole-matrix transpose reads a new cache line per
/// element).
inline bool nearly_symmetric(const Eigen::MatrixXd& m) {
    constexpr Eigen::Index tile = 32;
    const Eigen::Index n = m.rows();
    for (Eigen::Index j = 0; j < n; j += tile) {
        for (Eigen::Index i = j; i < n; i += tile) {
            const Eigen::Index rows = std::min(tile, n - i), cols = std::min(tile, n - j);
            const auto below = m.block(i, j, rows, cols).array();
            const auto above = m.block(j, i, cols, rows).transpose().array();
            if (!((below - above).abs() <= 1e-7 * above.abs()).all())
                return false;
            if (!((above - below).abs() <= 1e-7 * below.abs()).all())
                return false;
        }
    }
    return true;
}

/// log of a covariance whitened by an SPD reference (lower triangle read) into `out` (n × n, exactly
/// symmetric). Whitening is a congruence, so the whitened matrix is positive definite exactly when the
/// covariance is (Sylvester): InvalidInput when it is not.
inline void log_of_whitened(const Eigen::MatrixXd& whitened, const char* who, double* out) {
    auto solver = eigh(whitened, who);
    if (!(solver.values.minCoeff() > 0.0)) {
        throw InvalidInput(std::string(who) +
                           ": the matrix is not symmetric positive definite (its whitened "
                           "form has smallest eigenvalue " +
                           std::to_string(solver.values.minCoeff()) + ")");
    }
    const Eigen::VectorXd logs = solver.values.array().log().matrix();
    const Eigen::Index n = whitened.rows();
    kernels::recompose(n, solver.vectors.data(), n, logs.data(), out, n);
}

/// log(W·M·W) of an SPD M whitened by a symmetric W (nilearn's whitening, W = G^{-1/2}) into `out`.
inline void whitened_log(const Eigen::MatrixXd& w, const Eigen::MatrixXd& m, const char* who, double* out) {
    const Eigen::Index n = w.rows();
    Eigen::MatrixXd whitened(n, n);
    kernels::whiten(n, w.data(), n, m.data(), n, whitened.data(), n);
    log_of_whitened(whitened, who, out);
}

/// log(L⁻¹·M·L⁻ᵀ) of an SPD M whitened by the Cholesky factor L of G (G = L Lᵀ), given L⁻¹ (zeros above
/// its diagonal). It equals Rᵀ log(G^{-1/2} M G^{-1/2}) R for the orthogonal R = G^{-1/2} L, and the
/// triangular products take 1.7 N³ flops where the symmetric whitening takes 3.2 N³.
inline Eigen::MatrixXd cholesky_whitened_log(const Eigen::MatrixXd& l_inverse, const Eigen::MatrixXd& m,
                                             const char* who) {
    const Eigen::Index n = l_inverse.rows();
    Eigen::MatrixXd whitened(n, n), out(n, n);
    kernels::triangular_congruence(n, l_inverse.data(), n, m.data(), n, whitened.data(), n);
    log_of_whitened(whitened, who, out.data());
    return out;
}

}  // namespace detail

/// Options of geometric_mean(); the defaults are those nilearn's ConnectivityMeasure passes.
struct GeometricMeanOptions {
    /// Gradient steps at most.
    int max_iter = 30;
    /// Convergence when ||mean_k log(G^{-1/2} C_k G^{-1/2})||_F / N² < tol.
    double tol = 1e-7;
    /// Subjects processed in parallel (0: REWIRE_NUM_THREADS, else OpenMP's default).
    int threads = 0;

    /// Throws InvalidInput on max_iter < 1, tol ≤ 0 or NaN, or negative threads.
    void validate() const {
        if (max_iter < 1)
            throw InvalidInput("geometric mean: max_iter must be >= 1, got " + std::to_string(max_iter));
        if (!(tol > 0.0))
            throw InvalidInput("geometric mean: tol must be > 0, got " + std::to_string(tol));
        if (threads < 0)
            throw InvalidInput("geometric mean: threads must be >= 0, got " + std::to_string(threads));
    }
};

/// The geometric mean and how the descent ended (nilearn only warns when it does not converge).
struct GeometricMean {
    Eigen::MatrixXd mean;        ///< N × N SPD
    int iterations = 0;          ///< gradient steps taken
    double gradient_norm = 0.0;  ///< ||mean of the logs||_F as the stopping rule last saw it
    bool converged = false;      ///< gradient_norm / N² < tol
};

/// Geometric (affine-invariant) mean of SPD N × N matrices: argmin_G Σ_k ||log(G^{-1/2} C_k G^{-1/2})||²_F,
/// by the gradient descent of Fletcher & Joshi (2007, Signal Process. 87:250, Algorithm 3) exactly as
/// nilearn's `_geometric_mean`: start at the arithmetic mean, step along the geodesic, halve the step
/// when the gradient norm grows. Throws InvalidInput when the list is empty, the shapes differ (naming
/// the matrix) or a matrix is not SPD.
inline GeometricMean geometric_mean(const std::vector<Eigen::MatrixXd>& matrices,
                                    const GeometricMeanOptions& options = {}) {
    options.validate();
    if (matrices.empty())
        throw InvalidInput("geometric mean: need at least one matrix");
    const Eigen::Index n = matrices.front().rows();
    for (std::size_t k = 0; k < matrices.size(); ++k) {
        const auto& m = matrices[k];
        if (m.rows() != n || m.cols() != n) {
            throw InvalidInput("geometric mean: matrix " + std::to_string(k) + " is " +
                               std::to_string(m.rows()) + " × " + std::to_string(m.cols()) + ", expected " +
                               std::to_string(n) + " × " + std::to_string(n) +
                               " like matrix 0 (all subjects need the same regions)");
        }
    }
    {
        // nilearn's is_spd: symmetric to 7 decimals (relative) here, one matrix per thread; positive
        // definiteness shows in the first iteration, whose whitened matrices are congruent to these.
        std::vector<char> valid(matrices.size(), 0);
        parallel_for(static_cast<std::int64_t>(matrices.size()), {options.threads, 1}, [&](std::int64_t k) {
            const auto& m = matrices[static_cast<std::size_t>(k)];
            valid[static_cast<std::size_t>(k)] = m.allFinite() && detail::nearly_symmetric(m);
        });
        for (std::size_t k = 0; k < valid.size(); ++k) {
            if (!valid[k]) {
                throw InvalidInput("geometric mean: matrix " + std::to_string(k) +
                                   " is not symmetric (to 1e-7 relative) or holds NaN or infinity");
            }
        }
    }
    const auto count = static_cast<Eigen::Index>(matrices.size());
    // Threads of the ordered loop below, each with its own log.
    const int threads = parallel_threads(count, {options.threads, 1});

    GeometricMean out;
    out.mean = Eigen::MatrixXd::Zero(n, n);
    for (const auto& m : matrices)
        out.mean += m;
    out.mean /= static_cast<double>(count);

    double norm = 0.0;
    double norm_old = std::numeric_limits<double>::infinity();
    double step = 1.0;
    const double size = static_cast<double>(n) * static_cast<double>(n);
    Eigen::MatrixXd l(n, n), l_inverse(n, n);
    for (int iteration = 0; iteration < options.max_iter; ++iteration) {
        // nilearn whitens by G^{-1/2}; whitening by the Cholesky factor L of G instead rotates every log
        // by the same orthogonal R = G^{-1/2} L, which leaves the gradient norm unchanged and turns the
        // step G^{1/2} exp(step · R L̄ Rᵀ) G^{1/2} into L exp(step · L̄) Lᵀ: the same iterates, without
        // an eigendecomposition of G and at half the cost per subject.
        if (detail::kernels::cholesky(n, out.mean.data(), n, l.data(), n) < 0.0) {
            throw InvalidInput("geometric mean: the mean of iteration " + std::to_string(iteration) +
                               " is not positive definite");
        }
        detail::kernels::lower_inverse_block(n, l.data(), n, 0, n, l_inverse.data(), n);
        // Logs are computed in parallel and added in subject order (an ordered section, entered as soon
        // as the previous subject's log is in): the same bits for any thread count, one log per thread
        // in memory, and no barrier between subjects.
        Eigen::MatrixXd logs_mean = Eigen::MatrixXd::Zero(n, n);
        std::vector<Eigen::MatrixXd> logs(static_cast<std::size_t>(threads));  // one per thread
        parallel_for_ordered(
            count, threads,
            [&](std::int64_t k, int thread) {
                logs[static_cast<std::size_t>(thread)] = detail::cholesky_whitened_log(
                    l_inverse, matrices[static_cast<std::size_t>(k)], "geometric mean");
            },
            [&](std::int64_t, int thread) { logs_mean += logs[static_cast<std::size_t>(thread)]; },
            [](std::int64_t k) { return "matrix " + std::to_string(k); });
        logs_mean /= static_cast<double>(count);
        norm = logs_mean.norm();
        auto gradient = detail::eigh(logs_mean, "geometric mean");
        const Eigen::MatrixXd step_exp =
            detail::form_symmetric(gradient.vectors, (step * gradient.values.array()).exp().matrix());
        detail::kernels::triangular_congruence(n, l.data(), n, step_exp.data(), n, out.mean.data(), n);
        out.iterations = iteration + 1;
        if (norm < norm_old) {
            norm_old = norm;
        } else if (norm > norm_old) {
            step /= 2.0;
            norm = norm_old;
        }
        if (norm / size < options.tol)
            break;
    }
    out.gradient_norm = norm;
    out.converged = norm / size < options.tol;
    return out;
}

/// Options of TangentSpace.
struct TangentOptions {
    /// Covariance estimator for each subject (nilearn's default cov_estimator is Ledoit–Wolf; the
    /// empirical covariance is singular when T ≤ N).
    CovarianceEstimator estimator = CovarianceEstimator::ledoit_wolf;
    /// Geometric mean settings (nilearn: max_iter 30, tol 1e-7) and the thread count.
    GeometricMeanOptions mean;

    /// Throws InvalidInput on bad mean settings.
    void validate() const { mean.validate(); }
};

/// The tangent space at a group's geometric mean: fit on a group, then map any subject or session to
/// the symmetric matrix log(W C W), W = mean^{-1/2} (nilearn's ConnectivityMeasure(kind="tangent")).
/// The reference (mean, whitening) can be stored and restored with from_reference(), so that later
/// sessions of the same subjects (post − pre deltas) are embedded at the same point.
class TangentSpace {
public:
    explicit TangentSpace(TangentOptions options = {}) : options_(std::move(options)) { options_.validate(); }

    /// A tangent space at a stored reference: `mean` N × N SPD, `whitening` its inverse square root.
    /// Throws InvalidInput when the shapes differ or `mean` is not SPD.
    static TangentSpace from_reference(Eigen::MatrixXd mean, Eigen::MatrixXd whitening,
                                       TangentOptions options = {}) {
        TangentSpace space(std::move(options));
        const Eigen::Index n = mean.rows();
        if (mean.cols() != n || whitening.rows() != n || whitening.cols() != n || n == 0) {
            throw InvalidInput("tangent: the reference mean (" + std::to_string(mean.rows()) + " × " +
                               std::to_string(mean.cols()) + ") and whitening (" +
                               std::to_string(whitening.rows()) + " × " + std::to_string(whitening.cols()) +
                               ") must be the same non-empty square shape");
        }
        if (!mean.allFinite() || !whitening.allFinite() ||
            !detail::kernels::is_positive_definite(n, mean.data(), n)) {
            throw InvalidInput("tangent: the reference mean is not symmetric positive definite");
        }
        space.mean_ = std::move(mean);
        space.whitening_ = std::move(whitening);
        return space;
    }

    /// Fits the reference on a group of T_k × N signals (T may differ between subjects, N may not).
    TangentSpace& fit(const std::vector<TimeSeries>& subjects) {
        return fit_covariances(covariances(subjects));
    }
    /// fit() of row-major signals (numpy's layout), read in place.
    TangentSpace& fit(const std::vector<RowMajorSignals>& subjects) {
        return fit_covariances(covariances(subjects));
    }

    /// Fits the reference on N × N SPD covariances (one per subject).
    TangentSpace& fit_covariances(const std::vector<Eigen::MatrixXd>& covariances) {
        summary_ = geometric_mean(covariances, options_.mean);
        mean_ = summary_.mean;
        whitening_ = inv_sqrtm(mean_);
        return *this;
    }

    /// Tangent vectors log(W C_k W) (N × N each) of T_k × N signals. Throws InvalidInput before fit or
    /// when N differs from the reference's.
    std::vector<Connectome> transform(const std::vector<TimeSeries>& subjects) const {
        return transform_covariances(covariances(subjects));
    }
    /// transform() of row-major signals, read in place.
    std::vector<Connectome> transform(const std::vector<RowMajorSignals>& subjects) const {
        return transform_covariances(covariances(subjects));
    }

    /// Tangent vectors of N × N SPD covariances.
    std::vector<Connectome> transform_covariances(const std::vector<Eigen::MatrixXd>& covariances) const {
        std::vector<Connectome> out(covariances.size());
        transform_each(covariances, [&](std::size_t k) {
            out[k].resize(mean_.rows(), mean_.rows());
            return out[k].data();
        });
        return out;
    }

    /// transform_covariances() into `out`: S consecutive N × N matrices (exactly symmetric, so either
    /// memory order), e.g. a caller's (S, N, N) array.
    void transform_covariances_into(const std::vector<Eigen::MatrixXd>& covariances, double* out) const {
        const auto size = static_cast<std::size_t>(mean_.size());
        transform_each(covariances, [&](std::size_t k) { return out + k * size; });
    }

    /// fit() then transform() on the same group, estimating each covariance once.
    std::vector<Connectome> fit_transform(const std::vector<TimeSeries>& subjects) {
        return fit_transform_covariances(covariances(subjects));
    }
    /// fit_transform() of row-major signals, read in place.
    std::vector<Connectome> fit_transform(const std::vector<RowMajorSignals>& subjects) {
        return fit_transform_covariances(covariances(subjects));
    }

    /// Covariances of a group with this space's estimator, one subject per thread. Throws InvalidInput
    /// when the subjects' N differ, and, for the empirical estimator, when a subject has T ≤ N.
    std::vector<Eigen::MatrixXd> covariances(const std::vector<TimeSeries>& subjects) const {
        return covariances_of(subjects);
    }
    /// covariances() of row-major signals, read in place.
    std::vector<Eigen::MatrixXd> covariances(const std::vector<RowMajorSignals>& subjects) const {
        return covariances_of(subjects);
    }

    bool fitted() const { return mean_.size() > 0; }
    Eigen::Index nodes() const { return mean_.rows(); }
    const Eigen::MatrixXd& mean() const { return mean_; }            ///< N × N geometric mean
    const Eigen::MatrixXd& whitening() const { return whitening_; }  ///< N × N mean^{-1/2}
    const TangentOptions& options() const { return options_; }
    /// How the geometric mean converged (empty for a space restored with from_reference()).
    const GeometricMean& summary() const { return summary_; }

private:
    /// log(W C_k W) of every covariance into destination(k) (an N × N buffer), one subject per thread.
    template <typename Destination>
    void transform_each(const std::vector<Eigen::MatrixXd>& covariances, Destination destination) const {
        if (!fitted())
            throw InvalidInput("tangent: transform before fit (fit on a group or load a reference)");
        const Eigen::Index n = mean_.rows();
        for (std::size_t k = 0; k < covariances.size(); ++k) {
            if (covariances[k].rows() != n || covariances[k].cols() != n) {
                throw InvalidInput("tangent: subject " + std::to_string(k) + " has " +
                                   std::to_string(covariances[k].rows()) + " regions, the reference has " +
                                   std::to_string(n));
            }
        }
        parallel_for(
            static_cast<std::int64_t>(covariances.size()), {options_.mean.threads, 1},
            [&](std::int64_t k) {
                const auto i = static_cast<std::size_t>(k);
                detail::whitened_log(whitening_, covariances[i], "tangent", destination(i));
            },
            [](std::int64_t k) { return "subject " + std::to_string(k); });
    }

    std::vector<Connectome> fit_transform_covariances(const std::vector<Eigen::MatrixXd>& covariances) {
        fit_covariances(covariances);
        return transform_covariances(covariances);
    }

    template <typename Signals>
    std::vector<Eigen::MatrixXd> covariances_of(const std::vector<Signals>& subjects) const {
        CovarianceOptions options;
        options.estimator = options_.estimator;
        options.threads = options_.mean.threads;
        auto estimates = estimate_covariances(subjects, options, true);
        std::vector<Eigen::MatrixXd> out;
        out.reserve(estimates.size());
        for (auto& e : estimates)
            out.push_back(std::move(e.covariance));
        return out;
    }

    TangentOptions options_;
    Eigen::MatrixXd mean_;
    Eigen::MatrixXd whitening_;
    GeometricMean summary_;
};

}  // namespace rewire
