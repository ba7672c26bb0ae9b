// rewire — linear detrending, as nilearn.signal._detrend (type 'linear').
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <string>

#include "rewire/core/error.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

namespace detail {

/// Mean of `n` contiguous values summed in order, as numpy's mean over axis 0 of a C-ordered
/// array; the same order makes a constant column come out exactly constant.
inline double ordered_mean(const double* x, Eigen::Index n) {
    double sum = 0.0;
    for (Eigen::Index i = 0; i < n; ++i)
        sum += x[i];
    return sum / static_cast<double>(n);
}

/// The centred, unit-norm ramp nilearn's _detrend regresses out (length n ≥ 2).
inline Eigen::VectorXd detrend_regressor(Eigen::Index n) {
    Eigen::VectorXd r(n);
    for (Eigen::Index i = 0; i < n; ++i)
        r[i] = static_cast<double>(i);
    r.array() -= (static_cast<double>(n) - 1.0) / 2.0;  // exact: the mean of 0..n−1
    const double norm = std::sqrt(r.squaredNorm());
    if (!(norm < std::numeric_limits<double>::epsilon()))
        r /= norm;
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
    if (out.rows() < 2)
        return out;
    const Eigen::VectorXd ramp = detail::detrend_regressor(out.rows());
    for (Eigen::Index j = 0; j < out.cols(); ++j)
        detail::detrend_inplace(out.col(j).data(), out.rows(), ramp);
    return out;
}

}  // namespace rewire
