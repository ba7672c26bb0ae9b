// rewire — private to clean(): the options of a call resolved once for all its runs, and the warnings
// it collects (nilearn's texts, so that a user moving from nilearn sees the same ones).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rewire/signal/clean.hpp"

namespace rewire::clean_detail {

/// A double as Python's repr writes it (shortest round-trip digits), for messages that quote nilearn's.
std::string repr(double value);

/// Collects warnings once each, in the order they first occur.
class Warnings {
public:
    explicit Warnings(std::vector<std::string>* out) : out_(out) {}
    void add(const std::string& message);

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

/// nilearn's parameter checks before any run: _check_signal_parameters (confounds without detrend or
/// standardize_confounds), _check_filter_parameters (which filter runs, with which cut-offs) and, for
/// Butterworth, the cut-offs moved below Nyquist (_check_wn) and the filter designed once.
Plan make_plan(const CleanOptions& options, bool has_confounds, Warnings& warnings);

}  // namespace rewire::clean_detail
