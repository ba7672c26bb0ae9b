// rewire — clean(): nilearn.signal.clean (nilearn 0.14.1), one function per step of nilearn's, in
// nilearn's order:
//
//   nilearn 0.14.1 (nilearn/signal.py)                      here
//   _check_signal_parameters, _check_filter_parameters      make_plan (clean_plan.cpp)
//   _sanitize_inputs; runs → _process_runs                  clean()
//   _create_cosine_drift_terms                              add_cosine_drift
//   _handle_scrubbed_volumes: which frames                  plan_frames
//     _interpolate_volumes / _censor_signals, per column    interpolate_or_censor
//   original_mean_signals; standardize_signal(detrend)      detrend
//   butterworth(signals), butterworth(confounds)            butterworth
//   _censor_signals after filtering                         censor_filtered
//   standardize_signal(confounds, "zscore_sample") or / max standardize_confounds
//   linalg.qr(confounds, pivoting=True)                     confound_basis
//   signals -= Q.dot(Q.T).dot(signals)                      regress_out
//   standardize_signal(signals, standardize)                zscore, percent_signal_change
//
// nilearn runs each step over the whole T × N matrix. Here the steps up to the standardization run on
// groups of ZeroPhaseFilter::lanes columns (the filter interleaves them), and the signals' groups come in
// blocks of columns shared out over threads (parallel_for); every column goes through the same
// arithmetic whatever the thread count. The projection is x − Q (Qᵀ x) per column instead of nilearn's
// T × T product Q Qᵀ.
#include "rewire/signal/clean.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "clean_plan.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/signal/interpolate.hpp"

namespace rewire {
namespace {

using clean_detail::Plan;
using clean_detail::repr;
using clean_detail::Warnings;

constexpr double kEps = std::numeric_limits<double>::epsilon();
// Below this fraction of a column's largest input value, what is left is rounding noise.
constexpr double kNoiseFloor = 1e-11;
// Columns per block: fixed, so that results never depend on the number of threads.
constexpr Eigen::Index kBlock = 32;
// Samples (frames × columns) of work per thread below which clean() stays serial.
constexpr Eigen::Index kGrain = 50000;
constexpr int kLanes = ZeroPhaseFilter::lanes;
const char* const kNoStandardize3d =
    "Standardization of 3D signal has been requested but would lead to zero values. Skipping.";

/// Up to kLanes columns going through the steps together: pointers to their values.
struct Group {
    double* column[kLanes];
    int count = 0;
};

/// Σᵢ x_l[i] for each of the group's series (n values each), each summed in index order (numpy's
/// order over axis 0); the series interleave so that their dependent additions overlap.
void ordered_sums(const Group& x, Eigen::Index n, double* sums) {
    const double* p[kLanes];
    for (int l = 0; l < kLanes; ++l)
        p[l] = x.column[l < x.count ? l : 0];
    double acc[kLanes] = {};
    for (Eigen::Index i = 0; i < n; ++i) {
        for (int l = 0; l < kLanes; ++l)
            acc[l] += p[l][i];
    }
    for (int l = 0; l < x.count; ++l)
        sums[l] = acc[l];
}

/// Σᵢ (x_l[i] − m_l)², in index order, as numpy's var after its own mean.
void ordered_square_deviations(const Group& x, Eigen::Index n, const double* m, double* sums) {
    const double* p[kLanes];
    double mean[kLanes];
    for (int l = 0; l < kLanes; ++l) {
        p[l] = x.column[l < x.count ? l : 0];
        mean[l] = m[l < x.count ? l : 0];
    }
    double acc[kLanes] = {};
    for (Eigen::Index i = 0; i < n; ++i) {
        for (int l = 0; l < kLanes; ++l) {
            const double d = p[l][i] - mean[l];
            acc[l] += d * d;
        }
    }
    for (int l = 0; l < x.count; ++l)
        sums[l] = acc[l];
}

/// Index of the first non-finite entry among `rows` of `column`, or -1.
Eigen::Index first_non_finite(const double* column, const std::vector<Eigen::Index>& rows) {
    for (Eigen::Index r : rows) {
        if (!std::isfinite(column[r]))
            return r;
    }
    return -1;
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
            if (denominator > 0.0 && std::isfinite(denominator) && a.dot(b) / denominator > 0.9)
                return true;
        }
    }
    return false;
}

/// nilearn's _create_cosine_drift_terms: with filter="cosine", the cosine drift regressors up to
/// high_pass, built on the whole run (before censoring), join the confounds (without the constant:
/// the signals are centred anyway), unless a confound already correlates above 0.9 with one of them.
Eigen::MatrixXd add_cosine_drift(const Eigen::MatrixXd* user_confounds, Eigen::Index frames, const Plan& plan,
                                 Warnings& warnings) {
    Eigen::MatrixXd confounds = user_confounds ? *user_confounds : Eigen::MatrixXd(frames, 0);
    if (plan.filter != TemporalFilter::cosine)
        return confounds;
    const double high_pass = *plan.options.high_pass;
    const double t_r = *plan.options.t_r;
    if (frames >= 2) {
        const double dt = (static_cast<double>(frames - 1) * t_r - 0.0) / static_cast<double>(frames - 1);
        if (high_pass * dt >= 0.5) {
            warnings.add(
                "High-pass filter will span all accessible frequencies and saturate the design matrix. You "
                "may want to reduce the high_pass value.The provided value is " +
                repr(high_pass) + " Hz");
        }
    }
    Eigen::MatrixXd drift = cosine_drift(high_pass, frames, t_r);
    drift = drift.leftCols(drift.cols() - 1).eval();
    if (drift.cols() == 0) {
        warnings.add(
            "Cosine filter was not created. The time series might be too short or the high pass filter is "
            "not "
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
    return confounds;
}

/// Which frames of a run are kept, and what the steps up to the filter work on.
struct Frames {
    Eigen::Index total = 0;          ///< T, frames of the run
    std::vector<Eigen::Index> kept;  ///< kept frames, ascending (every frame without a sample mask)
    bool censored = false;           ///< some frame is not kept
    bool interpolate = false;        ///< censored frames are spline-filled before Butterworth filtering
    std::optional<FrameSpline> spline;
    Eigen::Index first = 0;             ///< working range [first, last) of the interpolated series
    Eigen::Index last = 0;              ///< (the whole run when extrapolating)
    Eigen::Index work = 0;              ///< frames of the working series (detrend, filter)
    std::vector<Eigen::Index> out_row;  ///< working index of each output frame

    Eigen::Index out() const { return static_cast<Eigen::Index>(kept.size()); }
};

/// nilearn's _handle_scrubbed_volumes, planned once per run: with Butterworth filtering, censored frames
/// are replaced by a cubic spline through the kept frames (_interpolate_volumes; frames before the first
/// or after the last kept one are dropped unless extrapolate) and removed after filtering; otherwise
/// they are removed before anything else (_censor_signals).
Frames plan_frames(const std::vector<bool>& keep, Eigen::Index total, const Plan& plan,
                   const std::string& where) {
    Frames f;
    f.total = total;
    f.last = total;
    for (Eigen::Index t = 0; t < total; ++t) {
        if (keep.empty() || keep[static_cast<std::size_t>(t)])
            f.kept.push_back(t);
    }
    if (f.kept.empty())
        throw InvalidInput("clean: sample_mask removes every frame" + where);
    f.censored = f.out() < total;
    f.interpolate = f.censored && plan.filter == TemporalFilter::butterworth;
    if (f.interpolate) {
        if (f.out() < 2) {
            throw InvalidInput("clean: sample_mask keeps " + std::to_string(f.out()) +
                               " frame; interpolating censored frames before Butterworth filtering needs at "
                               "least 2" +
                               where);
        }
        f.spline.emplace(std::vector<std::int64_t>(f.kept.begin(), f.kept.end()), total, true);
        if (!plan.options.extrapolate) {
            f.first = f.kept.front();
            f.last = f.kept.back() + 1;
        }
    }
    f.work = f.interpolate ? f.last - f.first : f.out();
    f.out_row.resize(f.kept.size());
    for (std::size_t i = 0; i < f.kept.size(); ++i)
        f.out_row[i] = f.interpolate ? f.kept[i] - f.first : static_cast<Eigen::Index>(i);
    return f;
}

/// NaN or infinity in a kept frame of the confounds is an error (censored frames are replaced or
/// removed anyway); nilearn would carry the NaN into every cleaned signal.
void check_confounds_finite(const Eigen::MatrixXd& confounds, const Frames& frames,
                            const std::string& where) {
    for (Eigen::Index j = 0; j < confounds.cols(); ++j) {
        const Eigen::Index bad = first_non_finite(confounds.col(j).data(), frames.kept);
        if (bad >= 0) {
            throw InvalidInput("clean: confounds column " + std::to_string(j) +
                               " has NaN or infinity at frame " + std::to_string(bad) + where +
                               " (censor that frame or fill the value)");
        }
    }
}

/// The steps of one run that every column goes through, signals and confounds alike.
class RunSteps {
public:
    RunSteps(const Plan& plan, const Frames& frames, Warnings& warnings, const std::string& where)
        : plan_(plan),
          frames_(frames),
          filtering_(plan.filter == TemporalFilter::butterworth && plan.zero_phase.has_value()) {
        if (filtering_)
            plan.zero_phase->check_length(frames.work, "clean: Butterworth filtering" + where);
        if (plan.options.detrend && frames.work == 1) {
            warnings.add(
                "Detrending of 3D signal has been requested but would lead to zero values. Skipping.");
        }
        if (frames.work >= 2)
            ramp_ = detail::detrend_regressor(frames.work);
    }

    /// One thread's working memory.
    struct Scratch {
        std::vector<double> full, work, filter, spline;
        Eigen::VectorXd coefficients;  // Qᵀ x of regress_out
    };

    Scratch make_scratch(Eigen::Index regressors) const {
        Scratch s;
        s.full.resize(static_cast<std::size_t>(frames_.total));
        s.work.resize(static_cast<std::size_t>(kLanes * std::max<Eigen::Index>(frames_.work, 1)));
        if (filtering_)
            s.filter.resize(static_cast<std::size_t>(plan_.zero_phase->work_size(frames_.work)));
        if (frames_.spline)
            s.spline.resize(static_cast<std::size_t>(frames_.spline->work_size()));
        s.coefficients.resize(regressors);
        return s;
    }

    /// `count` working series in `s.work`, one after the other.
    Group working(int count, Scratch& s) const {
        Group w;
        w.count = count;
        for (int l = 0; l < w.count; ++l)
            w.column[l] = s.work.data() + l * frames_.work;
        return w;
    }

    /// nilearn's _handle_scrubbed_volumes on one column, with _sanitize_signals' ensure_finite: copies
    /// the working frames of `column` into `w` (every frame; the spline-filled range; or the kept
    /// frames). Returns false when a kept frame is NaN or infinite (and not replaced); `scale` receives
    /// the largest kept magnitude.
    bool interpolate_or_censor(const double* column, double* w, bool replace_non_finite, Scratch& s,
                               double& scale) const {
        const Frames& f = frames_;
        bool finite = true;
        if (!f.censored) {  // the common case: every frame, contiguous, vectorised
            if (replace_non_finite) {
                for (Eigen::Index t = 0; t < f.total; ++t)
                    w[t] = std::isfinite(column[t]) ? column[t] : 0.0;
            } else {
                std::copy(column, column + f.total, w);
            }
            const Eigen::Map<const Eigen::ArrayXd> values(w, f.total);
            finite = (values * 0.0).sum() == 0.0;  // NaN as soon as one value is NaN or infinite
            scale = values.abs().maxCoeff();
            return finite;
        }
        auto value = [&](Eigen::Index t) {
            const double v = column[t];
            return (replace_non_finite && !std::isfinite(v)) ? 0.0 : v;
        };
        scale = 0.0;
        for (Eigen::Index t : f.kept) {
            finite = finite && std::isfinite(value(t));
            scale = std::max(scale, std::abs(value(t)));
        }
        if (f.interpolate) {
            for (Eigen::Index t = 0; t < f.total; ++t)
                s.full[static_cast<std::size_t>(t)] = value(t);
            f.spline->fill(s.full.data(), s.spline.data());
            for (Eigen::Index t = f.first; t < f.last; ++t)
                w[t - f.first] = s.full[static_cast<std::size_t>(t)];
        } else {
            for (Eigen::Index i = 0; i < f.work; ++i)
                w[i] = value(f.kept[static_cast<std::size_t>(i)]);
        }
        return finite;
    }

    /// nilearn's original_mean_signals = signals.mean(axis=0) into `means`, then
    /// standardize_signal(detrend=True): the mean and the least-squares linear trend removed.
    void detrend(const Group& w, double* means) const {
        const Eigen::Index n = frames_.work;
        ordered_sums(w, n, means);
        for (int l = 0; l < w.count; ++l)
            means[l] /= static_cast<double>(n);
        if (!plan_.options.detrend || n < 2)
            return;
        for (int l = 0; l < w.count; ++l) {
            Eigen::Map<Eigen::VectorXd> v(w.column[l], n);
            v.array() -= means[l];
            const double coefficient = ramp_.dot(v);
            v -= coefficient * ramp_;
        }
    }

    /// nilearn's butterworth(): the zero-phase Butterworth filter, on signals and confounds alike
    /// (Lindquist et al. 2019: filtering and regression stay orthogonal).
    void butterworth(const Group& w, Scratch& s) const {
        if (filtering_)
            plan_.zero_phase->filter_many(w.column, w.count, frames_.work, s.filter.data());
    }

    /// nilearn's _censor_signals after filtering: the output frames of the working series into `out`.
    void censor_filtered(const Group& w, const Group& out) const {
        for (int l = 0; l < w.count; ++l) {
            for (Eigen::Index i = 0; i < frames_.out(); ++i)
                out.column[l][i] = w.column[l][frames_.out_row[static_cast<std::size_t>(i)]];
        }
    }

    /// The steps from the scrubbed volumes to the censored output for out.count columns: `columns` (T
    /// frames each) into `out` (the output frames each); writes each column's working mean (nilearn's
    /// original_mean_signals) and largest kept magnitude. Returns a bit mask of the columns with a
    /// non-finite kept frame.
    unsigned up_to_censoring(const double* const* columns, bool replace_non_finite, Scratch& s, double* means,
                             double* scale, const Group& out) const {
        const Group w = working(out.count, s);
        unsigned bad = 0;
        for (int l = 0; l < w.count; ++l) {
            if (!interpolate_or_censor(columns[l], w.column[l], replace_non_finite, s, scale[l]))
                bad |= 1u << l;
        }
        detrend(w, means);
        butterworth(w, s);
        censor_filtered(w, out);
        return bad;
    }

    const Frames& frames() const { return frames_; }

private:
    const Plan& plan_;
    const Frames& frames_;
    bool filtering_;
    Eigen::VectorXd ramp_;
};

/// standardize_signal(x, "zscore" / "zscore_sample") on a group of n-frame columns, in nilearn's order:
/// mean, centre, mean again, squared deviations, divide by the standard deviation (ddof 0 or 1). A
/// column with only rounding noise left (sd below ε or kNoiseFloor of its largest input) is set to 0
/// instead (nilearn divides it by 1) and marked in `noise`.
void zscore(const Group& x, Eigen::Index n, int ddof, const double* scale, bool* noise) {
    double m[kLanes], m2[kLanes], squares[kLanes];
    ordered_sums(x, n, m);
    for (int l = 0; l < x.count; ++l)
        Eigen::Map<Eigen::ArrayXd>(x.column[l], n) -= m[l] / static_cast<double>(n);
    ordered_sums(x, n, m2);
    for (int l = 0; l < x.count; ++l)
        m2[l] /= static_cast<double>(n);
    ordered_square_deviations(x, n, m2, squares);
    for (int l = 0; l < x.count; ++l) {
        const double sd = std::sqrt(squares[l] / static_cast<double>(n - ddof));
        noise[l] = sd < kEps || sd < kNoiseFloor * scale[l];
        Eigen::Map<Eigen::ArrayXd> v(x.column[l], n);
        if (noise[l]) {
            v.setZero();
        } else {
            v /= sd;
        }
    }
}

/// nilearn's confound scaling before the regression: standardize_signal(confounds, "zscore_sample")
/// with standardize_confounds, else division by each column's largest magnitude (nilearn's "numerical
/// stability" rule; a column of zeros is left alone). Columns with only rounding noise left are zeroed
/// (dropped by confound_basis) instead of being scaled into a random regressor.
void standardize_confounds(const Group& c, Eigen::Index n, bool standardize, const double* scale) {
    if (standardize) {
        bool noise[kLanes];
        if (n >= 2)
            zscore(c, n, 1, scale, noise);
        return;
    }
    for (int l = 0; l < c.count; ++l) {
        Eigen::Map<Eigen::ArrayXd> v(c.column[l], n);
        double largest = v.abs().maxCoeff();
        const bool tiny = largest < kNoiseFloor * scale[l];
        if (largest == 0.0)
            largest = 1.0;
        if (tiny) {
            v.setZero();
        } else {
            v /= largest;
        }
    }
}

/// nilearn's `Q, R, _ = linalg.qr(confounds, mode="economic", pivoting=True)` and
/// `Q = Q[:, abs(diag(R)) > 100 ε]`: an orthonormal basis (out × r) of the confound space.
Eigen::MatrixXd confound_basis(const Eigen::MatrixXd& c) {
    const Eigen::Index rows = c.rows();
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(c);
    const Eigen::Index diag = std::min(rows, c.cols());
    const Eigen::MatrixXd full_q = qr.householderQ() * Eigen::MatrixXd::Identity(rows, diag);
    std::vector<Eigen::Index> columns;
    for (Eigen::Index i = 0; i < diag; ++i) {
        if (std::abs(qr.matrixQR()(i, i)) > kEps * 100.0)
            columns.push_back(i);
    }
    Eigen::MatrixXd q(rows, static_cast<Eigen::Index>(columns.size()));
    for (std::size_t i = 0; i < columns.size(); ++i)
        q.col(static_cast<Eigen::Index>(i)) = full_q.col(columns[i]);
    return q;
}

/// The confounds through the same steps as the signals up to the censoring, scaled
/// (standardize_confounds), then the basis of their span: out × r, r = 0 without confounds.
Eigen::MatrixXd confound_space(const Eigen::MatrixXd& confounds, const RunSteps& steps, const CleanOptions& o,
                               Warnings& warnings) {
    const Eigen::Index k = confounds.cols();
    const Eigen::Index n = steps.frames().out();
    if (k == 0)
        return Eigen::MatrixXd(n, 0);
    Eigen::MatrixXd c(n, k);
    RunSteps::Scratch s = steps.make_scratch(0);
    if (o.standardize_confounds && n == 1)
        warnings.add(kNoStandardize3d);
    for (Eigen::Index j0 = 0; j0 < k; j0 += kLanes) {
        const double* in[kLanes];
        Group x;
        x.count = static_cast<int>(std::min<Eigen::Index>(kLanes, k - j0));
        double scale[kLanes], means[kLanes];
        for (int l = 0; l < x.count; ++l) {
            in[l] = confounds.col(j0 + l).data();
            x.column[l] = c.col(j0 + l).data();
        }
        steps.up_to_censoring(in, false, s, means, scale, x);  // non-finite confounds were refused before
        standardize_confounds(x, n, o.standardize_confounds, scale);
    }
    return confound_basis(c);
}

/// nilearn's `signals -= Q.dot(Q.T).dot(signals)`, column by column as x − Q (Qᵀ x): two matrix-vector
/// products (Eigen never threads these), never the T × T matrix Q Qᵀ.
void regress_out(const Group& x, Eigen::Index n, const Eigen::MatrixXd& q, Eigen::VectorXd& coefficients) {
    if (q.cols() == 0)
        return;
    for (int l = 0; l < x.count; ++l) {
        Eigen::Map<Eigen::VectorXd> column(x.column[l], n);
        coefficients.noalias() = q.transpose() * column;
        column.noalias() -= q * coefficients;
    }
}

/// The signals after every step but psc, and what the later steps need to know of each column.
struct CleanedSignals {
    TimeSeries values;                  ///< out × N
    std::vector<double> original_mean;  ///< nilearn's original_mean_signals (for psc)
    std::vector<char> bad;              ///< a kept frame is NaN or infinite
    std::vector<char> flat;             ///< only rounding noise was left to z-score
};

/// Every column of `signals` through the steps up to the z-scoring, in blocks of kBlock columns shared
/// out over threads (parallel_for); in a block, kLanes columns at a time.
CleanedSignals clean_signals(const Eigen::Ref<const Eigen::MatrixXd>& signals, const RunSteps& steps,
                             const Eigen::MatrixXd& q, const Plan& plan) {
    const CleanOptions& o = plan.options;
    const Eigen::Index n = signals.cols();
    const Eigen::Index out_frames = steps.frames().out();
    const auto columns = static_cast<std::size_t>(n);
    CleanedSignals r;
    r.values.resize(out_frames, n);
    r.original_mean.resize(columns);
    r.bad.assign(columns, 0);
    r.flat.assign(columns, 0);
    std::vector<double> input_scale(columns);
    const bool zscore_signals =
        (o.standardize == Standardize::zscore || o.standardize == Standardize::zscore_sample) &&
        out_frames >= 2;
    const int ddof = o.standardize == Standardize::zscore_sample ? 1 : 0;

    const Eigen::Index blocks = (n + kBlock - 1) / kBlock;
    // Serial below the grain: a thread is worth its start-up (and the wait for a busy core) only with a
    // millisecond or so of work of its own.
    const Eigen::Index by_work = std::max<Eigen::Index>(1, n * steps.frames().work / kGrain);
    const Parallelism parallelism{static_cast<int>(std::min<Eigen::Index>(plan.threads, by_work)), 1};
    std::vector<RunSteps::Scratch> scratch;
    for (int t = parallel_threads(blocks, parallelism); t > 0; --t)
        scratch.push_back(steps.make_scratch(q.cols()));
    parallel_for(blocks, parallelism, [&](std::int64_t b, int thread) {
        RunSteps::Scratch& s = scratch[static_cast<std::size_t>(thread)];
        const Eigen::Index end = std::min(n, (b + 1) * kBlock);
        for (Eigen::Index j0 = b * kBlock; j0 < end; j0 += kLanes) {
            const auto j = static_cast<std::size_t>(j0);
            const double* in[kLanes];
            Group x;
            x.count = static_cast<int>(std::min<Eigen::Index>(kLanes, end - j0));
            for (int l = 0; l < x.count; ++l) {
                in[l] = signals.col(j0 + l).data();
                x.column[l] = r.values.col(j0 + l).data();
            }
            const unsigned bad =
                steps.up_to_censoring(in, o.ensure_finite, s, &r.original_mean[j], &input_scale[j], x);
            for (int l = 0; l < x.count; ++l)
                r.bad[j + static_cast<std::size_t>(l)] = static_cast<char>((bad >> l) & 1u);
            regress_out(x, out_frames, q, s.coefficients);
            if (zscore_signals) {
                bool noise[kLanes];
                zscore(x, out_frames, ddof, &input_scale[j], noise);
                for (int l = 0; l < x.count; ++l)
                    r.flat[j + static_cast<std::size_t>(l)] = noise[l];
            }
        }
    });
    return r;
}

/// nilearn's standardize_signal(signals, "psc"): 100 · (x − mean) / |mean|. When detrending or
/// high-pass filtering has removed the mean (the cleaned means average below a tenth of the original
/// ones: nilearn's filtered_mean_check), the original mean is added back first. A column whose mean is
/// 0 is set to 0, with nilearn's warning.
void percent_signal_change(TimeSeries& out, const std::vector<double>& original_mean, Warnings& warnings) {
    const Eigen::Index n = out.cols();
    const Eigen::Index frames = out.rows();
    double filtered = 0.0, original = 0.0;
    for (Eigen::Index j = 0; j < n; ++j) {
        filtered += std::abs(detail::ordered_mean(out.col(j).data(), frames));
        original += std::abs(original_mean[static_cast<std::size_t>(j)]);
    }
    const bool add_mean =
        original > 0.0 && (filtered / static_cast<double>(n)) / (original / static_cast<double>(n)) < 1e-1;
    bool zero_mean = false;
    for (Eigen::Index j = 0; j < n; ++j) {
        double* x = out.col(j).data();
        if (add_mean) {
            for (Eigen::Index i = 0; i < frames; ++i)
                x[i] += original_mean[static_cast<std::size_t>(j)];
        }
        const double m = detail::ordered_mean(x, frames);
        if (std::abs(m) < kEps) {
            zero_mean = true;
            for (Eigen::Index i = 0; i < frames; ++i)
                x[i] = 0.0;
            continue;
        }
        const double scale = std::abs(m);
        for (Eigen::Index i = 0; i < frames; ++i)
            x[i] = ((x[i] - m) / scale) * 100.0;
    }
    if (zero_mean) {
        warnings.add(
            "psc standardization strategy is meaningless for features that have a mean of 0. These "
            "time series are set to 0.");
    }
}

/// One run: nilearn.signal.clean without runs, step by step.
TimeSeries clean_run(const Eigen::Ref<const Eigen::MatrixXd>& signals, const Eigen::MatrixXd* user_confounds,
                     const std::vector<bool>& keep, const Plan& plan, Warnings& warnings,
                     const std::string& where) {
    const CleanOptions& o = plan.options;
    const Eigen::MatrixXd confounds = add_cosine_drift(user_confounds, signals.rows(), plan, warnings);
    const Frames frames = plan_frames(keep, signals.rows(), plan, where);
    check_confounds_finite(confounds, frames, where);
    const RunSteps steps(plan, frames, warnings, where);
    const Eigen::MatrixXd q = confound_space(confounds, steps, o, warnings);
    const bool zscore_signals =
        o.standardize == Standardize::zscore || o.standardize == Standardize::zscore_sample;
    if (zscore_signals && frames.out() == 1)
        warnings.add(kNoStandardize3d);
    CleanedSignals cleaned = clean_signals(signals, steps, q, plan);

    const auto first_bad = std::find(cleaned.bad.begin(), cleaned.bad.end(), 1);
    if (first_bad != cleaned.bad.end()) {
        const auto j = static_cast<Eigen::Index>(first_bad - cleaned.bad.begin());
        throw InvalidInput("clean: signals column " + std::to_string(j) + " has NaN or infinity at frame " +
                           std::to_string(first_non_finite(signals.col(j).data(), frames.kept)) + where +
                           "; pass ensure_finite=True to replace non-finite values by 0 (as nilearn does)");
    }
    if (o.standardize == Standardize::psc && signals.cols() > 0) {
        if (frames.out() == 1) {
            warnings.add(kNoStandardize3d);
        } else {
            percent_signal_change(cleaned.values, cleaned.original_mean, warnings);
        }
    }
    const auto flat_count = std::count(cleaned.flat.begin(), cleaned.flat.end(), 1);
    if (flat_count > 0) {
        const auto first_flat = std::find(cleaned.flat.begin(), cleaned.flat.end(), 1) - cleaned.flat.begin();
        warnings.add(
            std::to_string(flat_count) + " column(s) (first: " + std::to_string(first_flat) +
            ") have no variance left after cleaning (a constant signal, or one the confounds explain "
            "exactly); they are set to 0 instead of being standardized" +
            where + ".");
    }
    return std::move(cleaned.values);
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
    if (frames == 0)
        throw InvalidInput("clean: signals have no time points");

    Warnings sink(warnings);
    const Plan plan = clean_detail::make_plan(options, has_confounds, sink);
    const Eigen::MatrixXd all_confounds = has_confounds ? Eigen::MatrixXd(confounds) : Eigen::MatrixXd();

    if (runs.empty()) {
        return clean_run(signals, has_confounds ? &all_confounds : nullptr, sample_mask, plan, sink, "");
    }

    // Each run alone, stacked in ascending label order (nilearn's np.unique order).
    std::map<std::int64_t, std::vector<Eigen::Index>> rows_of;
    for (Eigen::Index t = 0; t < frames; ++t)
        rows_of[runs[static_cast<std::size_t>(t)]].push_back(t);
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
            if (has_confounds)
                run_confounds.row(i) = all_confounds.row(t);
            if (!sample_mask.empty())
                run_keep.push_back(sample_mask[static_cast<std::size_t>(t)]);
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
