// clean(): nilearn's checks of the filter and confound parameters, resolved once per call.
#include "clean_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "rewire/core/parallel.hpp"

namespace rewire::clean_detail {
namespace {

constexpr float kEps32 = std::numeric_limits<float>::epsilon();

/// Cut-offs below this fraction of the Nyquist frequency are refused: the Butterworth sections become
/// singular (scipy's sosfilt_zi fails near 3e-9 at order 5), and a cut-off whose period is a million
/// frames is longer than any scan, so the TR or the cut-off is wrong (a header's pixdim[4] = 1e-30).
constexpr double kMinNormalisedCutoff = 1e-6;

/// Throws InvalidInput when a positive cut-off is too far below Nyquist to filter with.
void check_normalised(const char* band, double freq, double nyquist, double t_r) {
    if (freq > 0.0 && freq / nyquist < kMinNormalisedCutoff) {
        throw InvalidInput(std::string("clean: the ") + band + "-pass cut-off " + repr(freq) + " Hz is " +
                           repr(freq / nyquist) + " of the Nyquist frequency (" + repr(nyquist) + " Hz at t_r " +
                           repr(t_r) + " s), below the " + repr(kMinNormalisedCutoff) +
                           " a filter can be built with: check t_r (the header's pixdim[4]) and the cut-off");
    }
}

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
                     "frequency). It has been lowered to " +
                     repr(freq) + " (Nyquist frequency).");
    } else if (freq < 0.0) {
        freq = static_cast<double>(static_cast<float>(nyquist) * kEps32);
        warnings.add(std::string("The frequency specified for the ") + band +
                     " pass filter is too low to be handled by a digital filter (must be non-negative). "
                     "It has been set to eps: " +
                     repr(freq) + ".");
    }
    return freq;
}

}  // namespace

std::string repr(double value) {
    if (std::isnan(value))
        return "nan";
    if (std::isinf(value))
        return value > 0 ? "inf" : "-inf";
    char buffer[64];
    int precision = 1;
    for (; precision <= 17; ++precision) {
        std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, value);
        if (std::strtod(buffer, nullptr) == value)
            break;
    }
    const int exponent = value == 0.0 ? 0 : static_cast<int>(std::floor(std::log10(std::abs(value))));
    if (exponent < -4 || exponent >= 16) {
        std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, value);
        return std::string(buffer);  // Python writes 1e-05, as C does
    }
    std::snprintf(buffer, sizeof buffer, "%.*f", std::max(1, precision - 1 - exponent), value);
    std::string s(buffer);
    while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.')
        s.pop_back();
    return s;
}

void Warnings::add(const std::string& message) {
    if (!out_)
        return;
    if (std::find(out_->begin(), out_->end(), message) == out_->end())
        out_->push_back(message);
}

Plan make_plan(const CleanOptions& options, bool has_confounds, Warnings& warnings) {
    Plan plan;
    plan.options = options;
    plan.threads = resolve_threads(options.threads);
    if (has_confounds && !options.detrend && !options.standardize_confounds) {
        warnings.add(
            "When confounds are provided, one must perform detrend and/or standardize confounds. You "
            "provided "
            "detrend=False, standardize_confounds=False. If confounds were not standardized or demeaned "
            "before "
            "passing to signal.clean signal will not be correctly cleaned. ");
    }
    const bool cutoffs = options.low_pass.has_value() || options.high_pass.has_value();
    switch (options.filter) {
        case TemporalFilter::none:
            if (cutoffs) {
                warnings.add(
                    "No filter type selected but cutoff frequency provided.Will not perform filtering.");
            }
            plan.filter = TemporalFilter::none;
            break;
        case TemporalFilter::cosine:
            plan.filter = TemporalFilter::cosine;
            if (*options.high_pass < 0.0) {
                throw InvalidInput("clean: high_pass must be >= 0 Hz for the cosine filter, got " +
                                   repr(*options.high_pass));
            }
            if (options.low_pass)
                warnings.add("low_pass is not implemented for filter='cosine'");
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
            if (high) {
                check_normalised("high", *high, nyquist, *options.t_r);
                high = check_wn("high", *high, nyquist, warnings);
            }
            if (low) {
                check_normalised("low", *low, nyquist, *options.t_r);
                low = check_wn("low", *low, nyquist, warnings);
            }
            if (high && low && *high == *low) {
                warnings.add(
                    "Signals are returned unfiltered because band-pass critical frequencies are equal. "
                    "Please "
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

}  // namespace rewire::clean_detail
