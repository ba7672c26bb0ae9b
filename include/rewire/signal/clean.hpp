// rewire — cleaning of region signals: detrend, censor, band-pass, confound regression, standardize.
//
// clean() equals nilearn.signal.clean (nilearn 0.14) in its parameters, defaults and order of
// operations, so that a researcher moving from nilearn gets the same numbers (tested to 1e-8
// relative). The deliberate differences are listed on clean(). The kernels below are the pieces
// clean() is made of, each equal to its nilearn counterpart on its own.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rewire/core/error.hpp"
#include "rewire/core/types.hpp"
#include "rewire/signal/cosine_drift.hpp"
#include "rewire/signal/detrend.hpp"
#include "rewire/signal/sosfiltfilt.hpp"

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
        if (!finite(low_pass))
            throw InvalidInput("clean: low_pass must be a finite frequency in Hz or unset");
        if (!finite(high_pass))
            throw InvalidInput("clean: high_pass must be a finite frequency in Hz or unset");
        if (t_r && !(std::isfinite(*t_r) && *t_r > 0.0)) {
            throw InvalidInput("clean: t_r must be > 0 seconds, got " + std::to_string(*t_r));
        }
        if (butterworth_order < 1) {
            throw InvalidInput("clean: butterworth order must be >= 1, got " +
                               std::to_string(butterworth_order));
        }
        if (padlen && *padlen < 0) {
            throw InvalidInput("clean: padlen must be >= 0 or unset, got " + std::to_string(*padlen));
        }
        if (threads < 0)
            throw InvalidInput("clean: threads must be >= 0, got " + std::to_string(threads));
        if (filter == TemporalFilter::cosine) {
            if (!t_r || !high_pass) {
                throw InvalidInput("clean: filter 'cosine' needs t_r and high_pass (Hz)");
            }
        }
        if (filter == TemporalFilter::butterworth && (low_pass || high_pass)) {
            if (!t_r)
                throw InvalidInput("clean: Butterworth filtering needs t_r (seconds)");
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
