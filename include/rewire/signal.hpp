// rewire — cleaning of region signals: detrend, censor, band-pass, confound regression, standardize.
//
// clean() equals nilearn.signal.clean (nilearn 0.14) in its parameters, defaults and order of
// operations, so that a researcher moving from nilearn gets the same numbers (tested to 1e-8
// relative). The deliberate differences are listed on clean(). The kernels below are the pieces
// clean() is made of, each equal to its nilearn counterpart on its own.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "rewire/butterworth.hpp"
#include "rewire/error.hpp"
#include "rewire/types.hpp"

namespace rewire {

/// How clean() scales each cleaned signal.
enum class Standardize {
    none,           ///< leave as is
    zscore_sample,  ///< zero mean, unit sample standard deviation (ddof = 1): nilearn ≥ 0.13's default
    zscore,         ///< zero mean, unit population standard deviation (ddof = 0): nilearn ≤ 0.12's default
    psc,            ///< percent signal change: 100 · (x − mean) / |mean|
};

/// Temporal filter of clean().
enum class TemporalFilter {
    none,         ///< no filtering (cut-offs are ignored, with a warning)
    butterworth,  ///< zero-phase Butterworth low-, high- or band-pass on signals and confounds
    cosine,       ///< discrete cosine drift regressors up to high_pass, added to the confounds
};

namespace detail {

/// Mean of `n` contiguous values summed in order, as numpy's mean over axis 0 of a C-ordered
/// array; the same order makes a constant column come out exactly constant.
inline double ordered_mean(const double* x, Eigen::Index n) {
    double sum = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) sum += x[i];
    return sum / static_cast<double>(n);
}

/// The centred, unit-norm ramp nilearn's _detrend regresses out (length n ≥ 2).
inline Eigen::VectorXd detrend_regressor(Eigen::Index n) {
    Eigen::VectorXd r(n);
    for (Eigen::Index i = 0; i < n; ++i) r[i] = static_cast<double>(i);
    r.array() -= (static_cast<double>(n) - 1.0) / 2.0;  // exact: the mean of 0..n−1
    const double norm = std::sqrt(r.squaredNorm());
    if (!(norm < std::numeric_limits<double>::epsilon())) r /= norm;
    return r;
}

/// Removes the mean and the linear trend of one series in place (n ≥ 2); `ramp` from detrend_regressor.
inline void detrend_inplace(double* x, Eigen::Index n, const Eigen::VectorXd& ramp) {
    Eigen::Map<Eigen::VectorXd> v(x, n);
    v.array() -= ordered_mean(x, n);
    const double coefficient = ramp.dot(v);  // nilearn's is a BLAS dot: no particular order either
    v -= coefficient * ramp;
}

}  // namespace detail

/// Each column of `signals` (T × N) minus its mean and least-squares linear trend, as nilearn's
/// signal._detrend (type 'linear'). T = 1 is returned unchanged. Returns T × N.
inline TimeSeries detrend(const Eigen::Ref<const Eigen::MatrixXd>& signals) {
    TimeSeries out = signals;
    if (out.rows() < 2) return out;
    const Eigen::VectorXd ramp = detail::detrend_regressor(out.rows());
    for (Eigen::Index j = 0; j < out.cols(); ++j) detail::detrend_inplace(out.col(j).data(), out.rows(), ramp);
    return out;
}

/// Discrete cosine (DCT-II) drift basis of nilearn's create_cosine_drift(high_pass, frame_times)
/// for `frames` frames `t_r` seconds apart: columns cos(π/T · (t + ½) · k) · √(2/T) for k = 1 ..
/// min(T − 1, ⌊2 T · high_pass · t_r⌋), then a constant column of ones. Returns T × (order + 1).
/// (Ashburner et al., SPM; the basis of SPM's high-pass filter.)
inline Eigen::MatrixXd cosine_drift(double high_pass, Eigen::Index frames, double t_r) {
    if (frames < 2) {
        return Eigen::MatrixXd::Ones(frames, 1);
    }
    const double n = static_cast<double>(frames);
    // dt as nilearn derives it from frame times 0, t_r, …, (T − 1) t_r.
    const double last_time = static_cast<double>(frames - 1) * t_r;
    const double dt = (last_time - 0.0) / static_cast<double>(frames - 1);
    const double raw = std::floor(2.0 * n * high_pass * dt);
    const Eigen::Index order = std::min<Eigen::Index>(frames - 1, raw < 0 ? -1 : static_cast<Eigen::Index>(raw));
    if (order < 0) {
        throw InvalidInput("cosine_drift: high_pass must be >= 0 Hz, got " + std::to_string(high_pass));
    }
    Eigen::MatrixXd drift = Eigen::MatrixXd::Zero(frames, order + 1);
    const double normaliser = std::sqrt(2.0 / n);
    for (Eigen::Index k = 1; k <= order; ++k) {
        for (Eigen::Index t = 0; t < frames; ++t) {
            drift(t, k - 1) = normaliser * std::cos((detail::pi / n) * (static_cast<double>(t) + 0.5) * static_cast<double>(k));
        }
    }
    drift.col(order).setOnes();
    return drift;
}

/// Options of clean(), with nilearn.signal.clean's names and defaults (nilearn 0.14).
struct CleanOptions {
    /// Remove each column's mean and linear trend (signals and confounds) before filtering.
    bool detrend = true;
    /// Scaling of the cleaned signals (nilearn's `standardize`).
    Standardize standardize = Standardize::zscore_sample;
    /// Z-score (ddof = 1) the confounds before regression; when false they are only divided by their
    /// largest absolute value (nilearn's rule).
    bool standardize_confounds = true;
    /// Temporal filter. Butterworth with neither cut-off set is no filtering.
    TemporalFilter filter = TemporalFilter::butterworth;
    /// Low-pass cut-off in Hz (Butterworth only).
    std::optional<double> low_pass;
    /// High-pass cut-off in Hz (Butterworth or cosine).
    std::optional<double> high_pass;
    /// Repetition time in seconds; required by both filters.
    std::optional<double> t_r = 2.5;
    /// Replace NaN / infinity in the signals by 0 before cleaning (never in the confounds).
    bool ensure_finite = false;
    /// With Butterworth and a sample mask: also extrapolate censored frames before the first / after
    /// the last kept frame (nilearn ≤ 0.12's default); when false they are dropped before filtering.
    bool extrapolate = false;
    /// Butterworth order (nilearn's butterworth__order).
    int butterworth_order = 5;
    /// Padding of the zero-phase filter (nilearn's butterworth__padtype).
    PadType padtype = PadType::odd;
    /// Padding length; unset: scipy's default 3 · (2 · sections + 1 − …) (butterworth__padlen).
    std::optional<int> padlen;
    /// Threads (0: REWIRE_NUM_THREADS, else OMP_NUM_THREADS, else all cores). Results are
    /// bit-identical for every thread count.
    int threads = 0;

    /// Throws InvalidInput naming the first option that can never work.
    void validate() const {
        auto finite = [](const std::optional<double>& v) { return !v || std::isfinite(*v); };
        if (!finite(low_pass)) throw InvalidInput("clean: low_pass must be a finite frequency in Hz or unset");
        if (!finite(high_pass)) throw InvalidInput("clean: high_pass must be a finite frequency in Hz or unset");
        if (t_r && !(std::isfinite(*t_r) && *t_r > 0.0)) {
            throw InvalidInput("clean: t_r must be > 0 seconds, got " + std::to_string(*t_r));
        }
        if (butterworth_order < 1) {
            throw InvalidInput("clean: butterworth order must be >= 1, got " + std::to_string(butterworth_order));
        }
        if (padlen && *padlen < 0) {
            throw InvalidInput("clean: padlen must be >= 0 or unset, got " + std::to_string(*padlen));
        }
        if (threads < 0) throw InvalidInput("clean: threads must be >= 0, got " + std::to_string(threads));
        if (filter == TemporalFilter::cosine) {
            if (!t_r || !high_pass) {
                throw InvalidInput("clean: filter 'cosine' needs t_r and high_pass (Hz)");
            }
        }
        if (filter == TemporalFilter::butterworth && (low_pass || high_pass)) {
            if (!t_r) throw InvalidInput("clean: Butterworth filtering needs t_r (seconds)");
            if (low_pass && high_pass && *high_pass >= *low_pass) {
                throw InvalidInput("clean: high_pass (" + std::to_string(*high_pass) +
                                   " Hz) must be below low_pass (" + std::to_string(*low_pass) + " Hz)");
            }
            if (high_pass && *high_pass == 0.0) {
                throw InvalidInput("clean: high_pass must be > 0 Hz (unset it for no high-pass), got 0");
            }
            if (low_pass && *low_pass == 0.0) {
                throw InvalidInput("clean: low_pass must be > 0 Hz (unset it for no low-pass), got 0");
            }
        }
    }
};

/// Cleans region signals as nilearn.signal.clean: returns T' × N, T' = the kept frames.
///
/// Order of operations (nilearn's, after Lindquist et al. 2019): cosine drift regressors are built
/// on the full run; censored frames are interpolated by a cubic spline (Butterworth) or removed
/// (otherwise); signals and confounds are detrended, then Butterworth-filtered with the same
/// zero-phase filter (so that filtering and regression stay orthogonal); censored frames are removed;
/// the confounds are standardized and regressed out of the signals by projection on the orthogonal
/// complement of their span (Friston et al. 1994, column-pivoted QR, columns of R with
/// |r_ii| ≤ 100 ε dropped as nilearn does); the result is standardized. Each run is cleaned alone;
/// the output stacks the runs in ascending label order (as nilearn).
///
/// - `signals`: T × N. `confounds`: T × K (K = 0: none).
/// - `sample_mask`: empty (keep all) or T flags, true = keep the frame.
/// - `runs`: empty (one run) or T run labels.
/// - `warnings`: receives nilearn's warnings (frequencies moved below Nyquist, cosine drift not
///   created, psc of a zero-mean signal, ...) when not null.
///
/// Deliberate differences from nilearn 0.14.1, each a bug or a silent NaN there:
/// - every censored frame is interpolated before filtering (nilearn 0.14.1 writes the spline into
///   `volumes[~sample_mask]` with integer indices, i.e. frames T − 1 − i for the kept frames i, so a
///   censored frame j is interpolated only when frame T − 1 − j is kept; otherwise its raw value,
///   e.g. a motion spike, is filtered into its neighbours);
/// - NaN / infinity in a kept frame of the signals (unless ensure_finite) or of the confounds is an
///   error naming the column, not a NaN output;
/// - a column with only rounding noise left (standard deviation below 1e-11 of its largest input
///   value: a constant signal, or one the confounds explain exactly) is standardized to zeros with
///   a warning; nilearn divides the noise by its standard deviation. Confound columns with nothing
///   left after detrending / filtering (e.g. a linear trend) are dropped instead of being scaled
///   into a random regressor;
/// - with runs, every option applies to every run (nilearn's run loop drops standardize_confounds,
///   extrapolate and the butterworth options).
TimeSeries clean(const Eigen::Ref<const Eigen::MatrixXd>& signals, const CleanOptions& options = {},
                 const Eigen::Ref<const Eigen::MatrixXd>& confounds = Eigen::MatrixXd(),
                 const std::vector<bool>& sample_mask = {}, const std::vector<std::int64_t>& runs = {},
                 std::vector<std::string>* warnings = nullptr);

}  // namespace rewire
