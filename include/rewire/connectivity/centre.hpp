// rewire — centring T × N signals for the estimators, in a per-thread workspace that only grows.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "rewire/core/error.hpp"

namespace rewire::detail {

/// Throws InvalidInput naming the first column of `signals` that holds NaN or infinity.
template <typename Derived>
void check_finite_signals(const Eigen::MatrixBase<Derived>& signals, const char* who) {
    if (signals.allFinite())
        return;
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
        throw InvalidInput(std::string(who) +
                           ": need at least 2 time points (rows of the T × N signals), got " +
                           std::to_string(t));
    }
    if (n < 1)
        throw InvalidInput(std::string(who) + ": the signals have no columns (regions)");
    // NaN or ±infinity anywhere in a column makes its mean NaN or infinite: one pass finds both.
    Eigen::VectorXd mean = signals.colwise().mean().transpose();
    if (!mean.allFinite())
        check_finite_signals(signals, who);
    thread_local std::vector<double> workspace;
    const auto size = static_cast<std::size_t>(t) * static_cast<std::size_t>(n);
    if (workspace.size() < size)
        workspace = std::vector<double>(size);
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

}  // namespace rewire::detail
