// rewire — clean(): nilearn.signal.clean's pipeline over column blocks, in parallel.
//
// Signals are processed in blocks of columns spread over threads; every column goes through the same
// arithmetic whatever the thread count: gather the working frames (spline-filled or censored),
// detrend, filter forward and backward (four columns interleaved), censor, then project off the
// confound space as x − Q (Qᵀ x) instead of nilearn's T × T product Q Qᵀ.
#include "rewire/signal/clean.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/QR>

#include "rewire/core/parallel.hpp"
#include "rewire/signal/interpolate.hpp"

namespace rewire {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr float kEps32 = std::numeric_limits<float>::epsilon();
// Below this fraction of a column's largest input value, what is left is rounding noise.
constexpr double kNoiseFloor = 1e-11;
// Columns per block: fixed, so that results never depend on the number of threads.
constexpr Eigen::Index kBlock = 32;
// Samples (frames × columns) of work per thread below which clean() stays serial.
constexpr Eigen::Index kGrain = 50000;

/// A double as Python's repr writes it (shortest round-trip digits), for messages that quote nilearn's.
std::string repr(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buffer[64];
    int precision = 1;
    for (; precision <= 17; ++precision) {
        std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, value);
        if (std::strtod(buffer, nullptr) == value) break;
    }
    const int exponent = value == 0.0 ? 0 : static_cast<int>(std::floor(std::log10(std::abs(value))));
    if (exponent < -4 || exponent >= 16) {
        std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, value);
        std::string s(buffer);
        // Python writes 1e-05, C writes 1e-05 as well; strip a trailing ".0" mantissa only.
        return s;
    }
    std::snprintf(buffer, sizeof buffer, "%.*f", std::max(1, precision - 1 - exponent), value);
    std::string s(buffer);
    while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
    return s;
}

/// Collects warnings once each, in the order they first occur.
class Warnings {
public:
    explicit Warnings(std::vector<std::string>* out) : out_(out) {}
    void add(const std::string& message) {
        if (!out_) return;
        if (std::find(out_->begin(), out_->end(), message) == out_->end()) out_->push_back(message);
    }

private:
    std::vector<std::string>* out_;
};

/// Options resolved once for every run.
struct Plan {
    CleanOptions options;
    TemporalFilter filter = TemporalFilter::none;
    std::optional<ZeroPhaseFilter> zero_phase;  // Butterworth; empty when nilearn returns unfiltered
    int threads = 1;
};

/// nilearn's _check_wn: a cut-off at or above Nyquist is moved just below it, a negative one to ε.
//
// nilearn's EPS is a numpy float32, so under numpy's promotion rules (NEP 50) both replacements are
// computed in single precision: float32(nyq) − float32(nyq · 10) · eps32, and float32(nyq) · eps32.
double check_wn(const char* band, double freq, double nyquist, Warnings& warnings) {
    if (freq >= nyquist) {
        const float step = static_cast<float>(nyquist * 10) * kEps32;
        freq = static_cast<double>(static_cast<float>(static_cast<float>(nyquist) - step));
        warnings.add(std::string("The frequency specified for the ") + band +
                     " pass filter is too high to be handled by a digital filter (superior to Nyquist "
                     "frequency). It has been lowered to " + repr(freq) + " (Nyquist frequency).");
    } else if (freq < 0.0) {
        freq = static_cast<double>(static_cast<float>(nyquist) * kEps32);
        warnings.add(std::string("The frequency specified for the ") + band +
                     " pass filter is too low to be handled by a digital filter (must be non-negative). "
                     "It has been set to eps: " + repr(freq) + ".");
    }
    return freq;
}

Plan make_plan(const CleanOptions& options, bool has_confounds, Warnings& warnings) {
    Plan plan;
    plan.options = options;
    plan.threads = resolve_threads(options.threads);
    if (has_confounds && !options.detrend && !options.standardize_confounds) {
        warnings.add(
            "When confounds are provided, one must perform detrend and/or standardize confounds. You provided "
            "detrend=False, standardize_confounds=False. If confounds were not standardized or demeaned before "
            "passing to signal.clean signal will not be correctly cleaned. ");
    }
    const bool cutoffs = options.low_pass.has_value() || options.high_pass.has_value();
    switch (options.filter) {
        case TemporalFilter::none:
            if (cutoffs) {
                warnings.add("No filter type selected but cutoff frequency provided.Will not perform filtering.");
            }
            plan.filter = TemporalFilter::none;
            break;
        case TemporalFilter::cosine:
            plan.filter = TemporalFilter::cosine;
            if (*options.high_pass < 0.0) {
                throw InvalidInput("clean: high_pass must be >= 0 Hz for the cosine filter, got " +
                                   repr(*options.high_pass));
            }
            if (options.low_pass) warnings.add("low_pass is not implemented for filter='cosine'");
            break;
        case TemporalFilter::butterworth: {
            if (!cutoffs) {
                plan.filter = TemporalFilter::none;
                break;
            }
            plan.filter = TemporalFilter::butterworth;
            const double rate = 1.0 / *options.t_r;
            const double nyquist = rate * 0.5;
            std::optional<double> high = options.high_pass, low = options.low_pass;
            if (high) high = check_wn("high", *high, nyquist, warnings);
            if (low) low = check_wn("low", *low, nyquist, warnings);
            if (high && low && *high == *low) {
                warnings.add(
                    "Signals are returned unfiltered because band-pass critical frequencies are equal. Please "
                    "check that inputs for sampling_rate, low_pass, and high_pass are valid.");
                break;
            }
            const Sos sos = butterworth_sos(options.butterworth_order, high, low, rate);
            plan.zero_phase.emplace(sos, options.padtype, options.padlen ? *options.padlen : -1);
            break;
        }
    }
    return plan;
}

/// Index of the first non-finite entry among `rows` of `column`, or -1.
Eigen::Index first_non_finite(const double* column, const std::vector<Eigen::Index>& rows) {
    for (Eigen::Index r : rows) {
        if (!std::isfinite(column[r])) return r;
    }
    return -1;
}

constexpr int kLanes = ZeroPhaseFilter::lanes;

/// Σᵢ x_l[i] for each of `count` ≤ kLanes series, each summed in index order (numpy's order over
/// axis 0); the series interleave so that their dependent additions overlap.
void ordered_sums(double* const* x, int count, Eigen::Index n, double* sums) {
    const double* p[kLanes];
    for (int l = 0; l < kLanes; ++l) p[l] = x[l < count ? l : 0];
    double acc[kLanes] = {};
    for (Eigen::Index i = 0; i < n; ++i) {
        for (int l = 0; l < kLanes; ++l) acc[l] += p[l][i];
    }
    for (int l = 0; l < count; ++l) sums[l] = acc[l];
}

/// Σᵢ (x_l[i] − m_l)², in index order, as numpy's var after its own mean.
void ordered_square_deviations(double* const* x, int count, Eigen::Index n, const double* m, double* sums) {
    const double* p[kLanes];
    double mean[kLanes];
    for (int l = 0; l < kLanes; ++l) {
        p[l] = x[l < count ? l : 0];
        mean[l] = m[l < count ? l : 0];
    }
    double acc[kLanes] = {};
    for (Eigen::Index i = 0; i < n; ++i) {
        for (int l = 0; l < kLanes; ++l) {
            const double d = p[l][i] - mean[l];
            acc[l] += d * d;
        }
    }
    for (int l = 0; l < count; ++l) sums[l] = acc[l];
}

/// True when some user confound correlates above 0.9 with a cosine regressor (nilearn's check).
bool cosine_in_confounds(const Eigen::MatrixXd& confounds, const Eigen::MatrixXd& drift) {
    auto centred = [](const Eigen::VectorXd& v) { return Eigen::VectorXd(v.array() - v.mean()); };
    for (Eigen::Index c = 0; c < drift.cols(); ++c) {
        const Eigen::VectorXd a = centred(drift.col(c));
        const double na = a.norm();
        for (Eigen::Index k = 0; k < confounds.cols(); ++k) {
            const Eigen::VectorXd b = centred(confounds.col(k));
            const double denominator = na * b.norm();
            if (denominator > 0.0 && std::isfinite(denominator) && a.dot(b) / denominator > 0.9) return true;
        }
    }
    return false;
}

/// One run: nilearn.signal.clean without runs.
TimeSeries clean_run(const Eigen::Ref<const Eigen::MatrixXd>& signals, const Eigen::MatrixXd* user_confounds,
                     const std::vector<bool>& keep, const Plan& plan, Warnings& warnings, const std::string& where) {
    const CleanOptions& o = plan.options;
    const Eigen::Index frames = signals.rows();
    const Eigen::Index n = signals.cols();

    // Confounds, with the cosine drift built on the whole run (before censoring), as nilearn.
    Eigen::MatrixXd confounds = user_confounds ? *user_confounds : Eigen::MatrixXd(frames, 0);
    if (plan.filter == TemporalFilter::cosine) {
        const double high_pass = *o.high_pass;
        if (frames >= 2) {
            const double dt = (static_cast<double>(frames - 1) * *o.t_r - 0.0) / static_cast<double>(frames - 1);
            if (high_pass * dt >= 0.5) {
                warnings.add(
                    "High-pass filter will span all accessible frequencies and saturate the design matrix. You "
                    "may want to reduce the high_pass value.The provided value is " + repr(high_pass) + " Hz");
            }
        }
        Eigen::MatrixXd drift = cosine_drift(high_pass, frames, *o.t_r);
        drift = drift.leftCols(drift.cols() - 1).eval();  // the constant: signals are centred anyway
        if (drift.cols() == 0) {
            warnings.add(
                "Cosine filter was not created. The time series might be too short or the high pass filter is not "
                "suitable for the data.");
        } else if (!user_confounds) {
            confounds = drift;
        } else if (cosine_in_confounds(confounds, drift)) {
            warnings.add("Cosine filter(s) exist in user supplied confounds.Use user supplied regressors only.");
        } else {
            Eigen::MatrixXd both(frames, confounds.cols() + drift.cols());
            both << confounds, drift;
            confounds = both;
        }
    }
    const Eigen::Index k = confounds.cols();

    // Frames: which are kept, which form the working series, which leave after filtering.
    const bool masked = !keep.empty();
    std::vector<Eigen::Index> kept;
    if (masked) {
        for (Eigen::Index t = 0; t < frames; ++t) {
            if (keep[static_cast<std::size_t>(t)]) kept.push_back(t);
        }
        if (kept.empty()) throw InvalidInput("clean: sample_mask removes every frame" + where);
    } else {
        kept.resize(static_cast<std::size_t>(frames));
        for (Eigen::Index t = 0; t < frames; ++t) kept[static_cast<std::size_t>(t)] = t;
    }
    const auto kept_count = static_cast<Eigen::Index>(kept.size());
    const bool censored = kept_count < frames;
    const bool interpolate = censored && plan.filter == TemporalFilter::butterworth;
    std::optional<FrameSpline> spline;
    Eigen::Index first = 0, last = frames;  // working range of the interpolated series
    if (interpolate) {
        if (kept_count < 2) {
            throw InvalidInput("clean: sample_mask keeps " + std::to_string(kept_count) +
                               " frame; interpolating censored frames before Butterworth filtering needs at least 2" +
                               where);
        }
        spline.emplace(std::vector<std::int64_t>(kept.begin(), kept.end()), frames, true);
        if (!o.extrapolate) {
            first = kept.front();
            last = kept.back() + 1;
        }
    }
    const Eigen::Index work_frames = interpolate ? last - first : kept_count;
    const Eigen::Index out_frames = kept_count;
    std::vector<Eigen::Index> out_rows(static_cast<std::size_t>(out_frames));  // working index of each output
    for (Eigen::Index i = 0; i < out_frames; ++i) {
        out_rows[static_cast<std::size_t>(i)] = interpolate ? kept[static_cast<std::size_t>(i)] - first : i;
    }

    // Non-finite values in kept frames are errors (censored frames are replaced or removed anyway);
    // the signals are checked on the way through (see prepare), the few confounds here.
    for (Eigen::Index j = 0; j < k; ++j) {
        const Eigen::Index bad = first_non_finite(confounds.col(j).data(), kept);
        if (bad >= 0) {
            throw InvalidInput("clean: confounds column " + std::to_string(j) + " has NaN or infinity at frame " +
                               std::to_string(bad) + where + " (censor that frame or fill the value)");
        }
    }
    const bool filtering = plan.filter == TemporalFilter::butterworth && plan.zero_phase.has_value();
    if (filtering) {
        plan.zero_phase->check_length(work_frames, "clean: Butterworth filtering" + where);
    }
    if (o.detrend && work_frames == 1) {
        warnings.add("Detrending of 3D signal has been requested but would lead to zero values. Skipping.");
    }
    const Eigen::VectorXd ramp = work_frames >= 2 ? detail::detrend_regressor(work_frames) : Eigen::VectorXd();

    // A column's path: gather the working frames (spline-filled or censored), remember their mean
    // (nilearn's original_mean_signals) and largest input magnitude, detrend; then filter (up to
    // ZeroPhaseFilter::lanes columns together) and keep the output frames.
    constexpr int lanes = ZeroPhaseFilter::lanes;
    struct Scratch {
        std::vector<double> full, work, filter, spline, coefficients;
    };
    auto make_scratch = [&]() {
        Scratch s;
        s.full.resize(static_cast<std::size_t>(frames));
        s.work.resize(static_cast<std::size_t>(lanes * std::max<Eigen::Index>(work_frames, 1)));
        if (filtering) s.filter.resize(static_cast<std::size_t>(plan.zero_phase->work_size(work_frames)));
        if (spline) s.spline.resize(static_cast<std::size_t>(spline->work_size()));
        return s;
    };
    // Gathers one column into `w` (work_frames values); returns false when a kept frame is NaN or
    // infinite (and not replaced); `scale` receives the largest kept magnitude.
    auto gather = [&](const double* column, double* w, bool replace_non_finite, Scratch& s, double& scale) {
        bool finite = true;
        if (!censored) {  // the common case: every frame, contiguous, vectorised
            if (replace_non_finite) {
                for (Eigen::Index t = 0; t < frames; ++t) w[t] = std::isfinite(column[t]) ? column[t] : 0.0;
            } else {
                std::copy(column, column + frames, w);
            }
            const Eigen::Map<const Eigen::ArrayXd> values(w, frames);
            finite = (values * 0.0).sum() == 0.0;  // NaN as soon as one value is NaN or infinite
            scale = values.abs().maxCoeff();
            return finite;
        }
        auto value = [&](Eigen::Index t) {
            const double v = column[t];
            return (replace_non_finite && !std::isfinite(v)) ? 0.0 : v;
        };
        scale = 0.0;
        for (Eigen::Index t : kept) {
            finite = finite && std::isfinite(value(t));
            scale = std::max(scale, std::abs(value(t)));
        }
        if (interpolate) {
            for (Eigen::Index t = 0; t < frames; ++t) s.full[static_cast<std::size_t>(t)] = value(t);
            spline->fill(s.full.data(), s.spline.data());
            for (Eigen::Index t = first; t < last; ++t) w[t - first] = s.full[static_cast<std::size_t>(t)];
        } else {
            for (Eigen::Index i = 0; i < work_frames; ++i) w[i] = value(kept[static_cast<std::size_t>(i)]);
        }
        return finite;
    };
    // The rest of a group's path up to the output frames: working-series means (nilearn's
    // original_mean_signals), detrend, zero-phase filter, censoring into `out`.
    auto process_group = [&](double* const* w, int count, Scratch& s, double* means, double* const* out) {
        ordered_sums(w, count, work_frames, means);
        for (int l = 0; l < count; ++l) means[l] /= static_cast<double>(work_frames);
        if (o.detrend && work_frames >= 2) {
            for (int l = 0; l < count; ++l) {
                Eigen::Map<Eigen::VectorXd> v(w[l], work_frames);
                v.array() -= means[l];
                const double coefficient = ramp.dot(v);
                v -= coefficient * ramp;
            }
        }
        if (filtering) plan.zero_phase->filter_many(w, count, work_frames, s.filter.data());
        for (int l = 0; l < count; ++l) {
            for (Eigen::Index i = 0; i < out_frames; ++i) out[l][i] = w[l][out_rows[static_cast<std::size_t>(i)]];
        }
    };
    // Zero mean and unit standard deviation (ddof 0 or 1) in nilearn's order: mean, centre, mean
    // again, squared deviations. Returns which columns had nothing but rounding noise left.
    auto zscore_group = [&](double* const* x, int count, int ddof, const double* scale, bool* noise) {
        double m[kLanes], m2[kLanes], squares[kLanes];
        ordered_sums(x, count, out_frames, m);
        for (int l = 0; l < count; ++l) {
            Eigen::Map<Eigen::ArrayXd>(x[l], out_frames) -= m[l] / static_cast<double>(out_frames);
        }
        ordered_sums(x, count, out_frames, m2);
        for (int l = 0; l < count; ++l) m2[l] /= static_cast<double>(out_frames);
        ordered_square_deviations(x, count, out_frames, m2, squares);
        for (int l = 0; l < count; ++l) {
            const double sd = std::sqrt(squares[l] / static_cast<double>(out_frames - ddof));
            // nilearn divides by 1 below ε, leaving rounding noise; rewire zeroes it (see clean()).
            noise[l] = sd < kEps || sd < kNoiseFloor * scale[l];
            Eigen::Map<Eigen::ArrayXd> v(x[l], out_frames);
            if (noise[l]) {
                v.setZero();
            } else {
                v /= sd;
            }
        }
    };

    // Confounds: same path, then standardized (or scaled by their maximum) and orthonormalised.
    Eigen::MatrixXd q;  // out_frames × r orthonormal basis of the confound space
    if (k > 0) {
        Eigen::MatrixXd c(out_frames, k);
        Scratch s = make_scratch();
        if (o.standardize_confounds && out_frames == 1) {
            warnings.add("Standardization of 3D signal has been requested but would lead to zero values. Skipping.");
        }
        for (Eigen::Index j0 = 0; j0 < k; j0 += kLanes) {
            const int count = static_cast<int>(std::min<Eigen::Index>(kLanes, k - j0));
            double* w[kLanes];
            double* x[kLanes];
            double scale[kLanes], means[kLanes];
            bool noise[kLanes];
            for (int l = 0; l < count; ++l) {
                w[l] = s.work.data() + l * work_frames;
                x[l] = c.col(j0 + l).data();
                gather(confounds.col(j0 + l).data(), w[l], false, s, scale[l]);
            }
            process_group(w, count, s, means, x);
            if (o.standardize_confounds) {
                if (out_frames >= 2) zscore_group(x, count, 1, scale, noise);
                continue;
            }
            for (int l = 0; l < count; ++l) {  // nilearn: divide by the largest magnitude instead
                Eigen::Map<Eigen::ArrayXd> v(x[l], out_frames);
                double largest = v.abs().maxCoeff();
                const bool tiny = largest < kNoiseFloor * scale[l];
                if (largest == 0.0) largest = 1.0;
                if (tiny) {
                    v.setZero();
                } else {
                    v /= largest;
                }
            }
        }
        Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(c);
        const Eigen::Index diag = std::min(out_frames, k);
        Eigen::MatrixXd full_q = qr.householderQ() * Eigen::MatrixXd::Identity(out_frames, diag);
        std::vector<Eigen::Index> columns;
        for (Eigen::Index i = 0; i < diag; ++i) {
            if (std::abs(qr.matrixQR()(i, i)) > kEps * 100.0) columns.push_back(i);
        }
        q.resize(out_frames, static_cast<Eigen::Index>(columns.size()));
        for (std::size_t i = 0; i < columns.size(); ++i) q.col(static_cast<Eigen::Index>(i)) = full_q.col(columns[i]);
    }

    // Signals, block by block; within a block, kLanes columns at a time. The projection
    // x − Q (Qᵀ x) is two matrix-vector products per column, never nilearn's T × T matrix Q Qᵀ.
    TimeSeries out(out_frames, n);
    std::vector<double> original_mean(static_cast<std::size_t>(n)), input_scale(static_cast<std::size_t>(n));
    std::vector<char> flat(static_cast<std::size_t>(n), 0);
    std::vector<char> bad(static_cast<std::size_t>(n), 0);  // a kept frame is NaN or infinite
    const bool zscore = o.standardize == Standardize::zscore || o.standardize == Standardize::zscore_sample;
    const int ddof = o.standardize == Standardize::zscore_sample ? 1 : 0;
    if (zscore && out_frames == 1) {
        warnings.add("Standardization of 3D signal has been requested but would lead to zero values. Skipping.");
    }
    const Eigen::Index blocks = (n + kBlock - 1) / kBlock;
    // Serial below the grain: a thread is worth its start-up (and the wait for a busy core) only with
    // a millisecond or so of work of its own.
    const Eigen::Index by_work = std::max<Eigen::Index>(1, n * work_frames / kGrain);
    const int threads = static_cast<int>(std::min<Eigen::Index>({plan.threads, std::max<Eigen::Index>(blocks, 1), by_work}));
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        Scratch s = make_scratch();
        Eigen::VectorXd coefficients(q.cols());
#pragma omp for schedule(dynamic, 1)
        for (Eigen::Index b = 0; b < blocks; ++b) {
            const Eigen::Index end = std::min(n, (b + 1) * kBlock);
            for (Eigen::Index j0 = b * kBlock; j0 < end; j0 += kLanes) {
                const int count = static_cast<int>(std::min<Eigen::Index>(kLanes, end - j0));
                const auto first_column = static_cast<std::size_t>(j0);
                double* w[kLanes];
                double* x[kLanes];
                for (int l = 0; l < count; ++l) {
                    w[l] = s.work.data() + l * work_frames;
                    x[l] = out.col(j0 + l).data();
                    if (!gather(signals.col(j0 + l).data(), w[l], o.ensure_finite, s, input_scale[first_column + l])) {
                        bad[first_column + l] = 1;
                    }
                }
                process_group(w, count, s, original_mean.data() + first_column, x);
                if (q.cols() > 0) {  // matrix-vector products: Eigen never threads these
                    for (int l = 0; l < count; ++l) {
                        auto column = out.col(j0 + l);
                        coefficients.noalias() = q.transpose() * column;
                        column.noalias() -= q * coefficients;
                    }
                }
                if (zscore && out_frames >= 2) {
                    bool noise[kLanes];
                    zscore_group(x, count, ddof, input_scale.data() + first_column, noise);
                    for (int l = 0; l < count; ++l) flat[first_column + l] = noise[l];
                }
            }
        }
    }

    const auto first_bad = std::find(bad.begin(), bad.end(), 1);
    if (first_bad != bad.end()) {
        const auto j = static_cast<Eigen::Index>(first_bad - bad.begin());
        throw InvalidInput("clean: signals column " + std::to_string(j) + " has NaN or infinity at frame " +
                           std::to_string(first_non_finite(signals.col(j).data(), kept)) + where +
                           "; pass ensure_finite=True to replace non-finite values by 0 (as nilearn does)");
    }

    if (o.standardize == Standardize::psc && n > 0) {
        if (out_frames == 1) {
            warnings.add("Standardization of 3D signal has been requested but would lead to zero values. Skipping.");
        } else {
            // nilearn: when detrending / high-pass filtering has removed the mean, psc is taken
            // relative to the mean before cleaning.
            double filtered = 0.0, original = 0.0;
            for (Eigen::Index j = 0; j < n; ++j) {
                filtered += std::abs(detail::ordered_mean(out.col(j).data(), out_frames));
                original += std::abs(original_mean[static_cast<std::size_t>(j)]);
            }
            const bool add_mean =
                original > 0.0 && (filtered / static_cast<double>(n)) / (original / static_cast<double>(n)) < 1e-1;
            bool zero_mean = false;
            for (Eigen::Index j = 0; j < n; ++j) {
                double* x = out.col(j).data();
                if (add_mean) {
                    for (Eigen::Index i = 0; i < out_frames; ++i) x[i] += original_mean[static_cast<std::size_t>(j)];
                }
                const double m = detail::ordered_mean(x, out_frames);
                if (std::abs(m) < kEps) {
                    zero_mean = true;
                    for (Eigen::Index i = 0; i < out_frames; ++i) x[i] = 0.0;
                    continue;
                }
                const double scale = std::abs(m);
                for (Eigen::Index i = 0; i < out_frames; ++i) x[i] = ((x[i] - m) / scale) * 100.0;
            }
            if (zero_mean) {
                warnings.add("psc standardization strategy is meaningless for features that have a mean of 0. These "
                             "time series are set to 0.");
            }
        }
    }

    const auto flat_count = std::count(flat.begin(), flat.end(), 1);
    if (flat_count > 0) {
        Eigen::Index first_flat = 0;
        while (!flat[static_cast<std::size_t>(first_flat)]) ++first_flat;
        warnings.add(std::to_string(flat_count) + " column(s) (first: " + std::to_string(first_flat) +
                     ") have no variance left after cleaning (a constant signal, or one the confounds explain "
                     "exactly); they are set to 0 instead of being standardized" + where + ".");
    }
    return out;
}

}  // namespace

TimeSeries clean(const Eigen::Ref<const Eigen::MatrixXd>& signals, const CleanOptions& options,
                 const Eigen::Ref<const Eigen::MatrixXd>& confounds, const std::vector<bool>& sample_mask,
                 const std::vector<std::int64_t>& runs, std::vector<std::string>* warnings) {
    options.validate();
    const Eigen::Index frames = signals.rows();
    const bool has_confounds = confounds.cols() > 0;
    if (has_confounds && confounds.rows() != frames) {
        throw InvalidInput("clean: confounds have " + std::to_string(confounds.rows()) +
                           " rows (time points) but signals have " + std::to_string(frames));
    }
    if (!sample_mask.empty() && static_cast<Eigen::Index>(sample_mask.size()) != frames) {
        throw InvalidInput("clean: sample_mask has " + std::to_string(sample_mask.size()) +
                           " flags but signals have " + std::to_string(frames) + " time points");
    }
    if (!runs.empty() && static_cast<Eigen::Index>(runs.size()) != frames) {
        throw InvalidInput("clean: runs has " + std::to_string(runs.size()) + " labels but signals have " +
                           std::to_string(frames) + " time points");
    }
    if (frames == 0) throw InvalidInput("clean: signals have no time points");

    Warnings sink(warnings);
    const Plan plan = make_plan(options, has_confounds, sink);
    const Eigen::MatrixXd all_confounds = has_confounds ? Eigen::MatrixXd(confounds) : Eigen::MatrixXd();

    if (runs.empty()) {
        return clean_run(signals, has_confounds ? &all_confounds : nullptr, sample_mask, plan, sink, "");
    }

    // Each run alone, stacked in ascending label order (nilearn's np.unique order).
    std::map<std::int64_t, std::vector<Eigen::Index>> rows_of;
    for (Eigen::Index t = 0; t < frames; ++t) rows_of[runs[static_cast<std::size_t>(t)]].push_back(t);
    std::vector<TimeSeries> parts;
    Eigen::Index total = 0;
    for (const auto& [label, rows] : rows_of) {
        const auto count = static_cast<Eigen::Index>(rows.size());
        Eigen::MatrixXd run_signals(count, signals.cols());
        Eigen::MatrixXd run_confounds(count, all_confounds.cols());
        std::vector<bool> run_keep;
        for (Eigen::Index i = 0; i < count; ++i) {
            const Eigen::Index t = rows[static_cast<std::size_t>(i)];
            run_signals.row(i) = signals.row(t);
            if (has_confounds) run_confounds.row(i) = all_confounds.row(t);
            if (!sample_mask.empty()) run_keep.push_back(sample_mask[static_cast<std::size_t>(t)]);
        }
        parts.push_back(clean_run(run_signals, has_confounds ? &run_confounds : nullptr, run_keep, plan, sink,
                                  " (run " + std::to_string(label) + ")"));
        total += parts.back().rows();
    }
    TimeSeries out(total, signals.cols());
    Eigen::Index row = 0;
    for (const TimeSeries& part : parts) {
        out.middleRows(row, part.rows()) = part;
        row += part.rows();
    }
    return out;
}

}  // namespace rewire
