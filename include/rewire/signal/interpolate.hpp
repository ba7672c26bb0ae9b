// rewire — cubic-spline interpolation of censored frames (scrubbing before temporal filtering).
//
// Censored (high-motion) frames are replaced by a cubic spline through the kept frames before a
// Butterworth filter runs, so that a spike does not ring into its neighbours; the interpolated
// frames are removed again after filtering (Lindquist et al. 2019, "Modular preprocessing pipelines
// can reintroduce artifacts into fMRI data", Hum. Brain Mapp. 40:2358-2376, second recommendation).
// The spline is scipy.interpolate.CubicSpline with its default 'not-a-knot' ends (de Boor 1978, "A
// Practical Guide to Splines"), the system solved as scipy does (tridiagonal LU with partial
// pivoting, LAPACK gtsv), so values equal nilearn.signal.clean's interpolation.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>

#include "rewire/core/error.hpp"

namespace rewire {

/// Spline through the kept frames of series of `frames` samples, reusable across columns: the
/// knots (kept frame indices) and the factorised system depend only on which frames are kept.
///
/// Frames are equally spaced; positions are frame indices (the spline is invariant to the unit of
/// time, so the repetition time is not needed).
class FrameSpline {
public:
    /// `kept`: strictly increasing frame indices in [0, frames), at least 2. With `extrapolate`
    /// false, frames before the first or after the last kept frame become NaN (scipy's
    /// extrapolate=False); otherwise the end polynomials are extended.
    FrameSpline(std::vector<std::int64_t> kept, std::int64_t frames, bool extrapolate)
        : kept_(std::move(kept)), frames_(frames), extrapolate_(extrapolate) {
        const auto m = static_cast<Eigen::Index>(kept_.size());
        if (m < 2) {
            throw InvalidInput("cubic-spline interpolation of censored frames needs at least 2 kept frames, got " +
                               std::to_string(m));
        }
        for (Eigen::Index i = 0; i < m; ++i) {
            if (kept_[i] < 0 || kept_[i] >= frames_ || (i > 0 && kept_[i] <= kept_[i - 1])) {
                throw InvalidInput("kept frames must be strictly increasing indices in [0, " + std::to_string(frames_) +
                                   "), got " + std::to_string(kept_[i]) + " at position " + std::to_string(i));
            }
        }
        x_.resize(m);
        for (Eigen::Index i = 0; i < m; ++i) x_[i] = static_cast<double>(kept_[i]);
        dx_ = x_.tail(m - 1) - x_.head(m - 1);
        if (m == 3) {
            Eigen::Matrix3d a = Eigen::Matrix3d::Zero();
            a(0, 0) = 1;
            a(0, 1) = 1;
            a(1, 0) = dx_[1];
            a(1, 1) = 2 * (dx_[0] + dx_[1]);
            a(1, 2) = dx_[0];
            a(2, 1) = 1;
            a(2, 2) = 1;
            lu3_ = a.partialPivLu();
        } else if (m > 3) {
            factorise();
        }
    }

    std::int64_t frames() const { return frames_; }
    const std::vector<std::int64_t>& kept() const { return kept_; }
    std::int64_t first_kept() const { return kept_.front(); }
    std::int64_t last_kept() const { return kept_.back(); }

    /// Doubles of scratch that fill() needs.
    Eigen::Index work_size() const { return 4 * static_cast<Eigen::Index>(kept_.size()); }

    /// Replaces the censored frames of `series` (frames() samples, contiguous) by the spline through
    /// its kept frames; kept frames are left untouched. `work` holds work_size() doubles.
    void fill(double* series, double* work) const {
        const auto m = static_cast<Eigen::Index>(kept_.size());
        double* y = work;          // kept values
        double* slope = y + m;     // m − 1 slopes
        double* s = slope + m;     // m derivatives at the knots
        for (Eigen::Index i = 0; i < m; ++i) y[i] = series[kept_[i]];
        for (Eigen::Index i = 0; i + 1 < m; ++i) slope[i] = (y[i + 1] - y[i]) / dx_[i];
        derivatives(slope, s, s + m);

        // Evaluate the piecewise cubic (scipy's CubicHermiteSpline coefficients, PPoly evaluation).
        Eigen::Index interval = 0;
        const double nan = std::numeric_limits<double>::quiet_NaN();
        for (std::int64_t f = 0, next = 0; f < frames_; ++f) {
            if (next < m && kept_[next] == f) {
                ++next;
                continue;
            }
            const auto t = static_cast<double>(f);
            if (!extrapolate_ && (t < x_[0] || t > x_[m - 1])) {
                series[f] = nan;
                continue;
            }
            while (interval + 2 < m && t >= x_[interval + 1]) ++interval;
            const Eigen::Index i = interval;
            const double h = dx_[i];
            const double tt = (s[i] + s[i + 1] - 2 * slope[i]) / h;
            const double c0 = tt / h;
            const double c1 = (slope[i] - s[i]) / h - tt;
            const double c2 = s[i];
            const double c3 = y[i];
            const double d = t - x_[i];
            const double d2 = d * d;
            series[f] = ((c3 + c2 * d) + c1 * d2) + c0 * (d2 * d);
        }
    }

private:
    // Derivatives at the knots (scipy's CubicSpline, bc_type='not-a-knot'); rhs is scratch.
    void derivatives(const double* slope, double* s, double* rhs) const {
        const auto m = static_cast<Eigen::Index>(kept_.size());
        if (m == 2) {  // a straight line
            s[0] = s[1] = slope[0];
            return;
        }
        if (m == 3) {  // a parabola: not-a-knot at both ends leaves one cubic
            Eigen::Vector3d b(2 * slope[0], 3 * (dx_[0] * slope[1] + dx_[1] * slope[0]), 2 * slope[1]);
            Eigen::Vector3d solution = lu3_.solve(b);
            for (int i = 0; i < 3; ++i) s[i] = solution[i];
            return;
        }
        for (Eigen::Index i = 1; i + 1 < m; ++i) rhs[i] = 3 * (dx_[i] * slope[i - 1] + dx_[i - 1] * slope[i]);
        {
            const double d = x_[2] - x_[0];
            rhs[0] = ((dx_[0] + 2 * d) * dx_[1] * slope[0] + dx_[0] * dx_[0] * slope[1]) / d;
        }
        {
            const double d = x_[m - 1] - x_[m - 3];
            rhs[m - 1] = (dx_[m - 2] * dx_[m - 2] * slope[m - 3] + (2 * d + dx_[m - 2]) * dx_[m - 3] * slope[m - 2]) / d;
        }
        // Apply the row interchanges and L (LAPACK dgtts2), then back-substitute with U.
        for (Eigen::Index i = 0; i + 1 < m; ++i) {
            if (swapped_[i]) {
                const double temp = rhs[i] - dl_[i] * rhs[i + 1];
                rhs[i] = rhs[i + 1];
                rhs[i + 1] = temp;
            } else {
                rhs[i + 1] = rhs[i + 1] - dl_[i] * rhs[i];
            }
        }
        s[m - 1] = rhs[m - 1] / d_[m - 1];
        s[m - 2] = (rhs[m - 2] - du_[m - 2] * s[m - 1]) / d_[m - 2];
        for (Eigen::Index i = m - 3; i >= 0; --i) {
            s[i] = (rhs[i] - du_[i] * s[i + 1] - du2_[i] * s[i + 2]) / d_[i];
        }
    }

    // Tridiagonal LU with partial pivoting (LAPACK dgttrf / dgtsv) of the not-a-knot system.
    void factorise() {
        const auto m = static_cast<Eigen::Index>(kept_.size());
        d_.resize(m);
        du_.setZero(m - 1);
        dl_.setZero(m - 1);
        du2_.setZero(m);
        swapped_.assign(static_cast<std::size_t>(m), false);
        for (Eigen::Index i = 1; i + 1 < m; ++i) d_[i] = 2 * (dx_[i - 1] + dx_[i]);
        for (Eigen::Index i = 1; i + 1 < m; ++i) du_[i] = dx_[i - 1];
        for (Eigen::Index i = 0; i + 2 < m; ++i) dl_[i] = dx_[i + 1];
        d_[0] = dx_[1];
        du_[0] = x_[2] - x_[0];
        d_[m - 1] = dx_[m - 3];
        dl_[m - 2] = x_[m - 1] - x_[m - 3];
        for (Eigen::Index i = 0; i + 1 < m; ++i) {
            if (std::abs(d_[i]) >= std::abs(dl_[i])) {
                if (d_[i] == 0.0) throw NumericalError("cubic spline: singular system");
                const double fact = dl_[i] / d_[i];
                dl_[i] = fact;
                d_[i + 1] = d_[i + 1] - fact * du_[i];
            } else {
                const double fact = d_[i] / dl_[i];
                d_[i] = dl_[i];
                dl_[i] = fact;
                const double temp = du_[i];
                du_[i] = d_[i + 1];
                d_[i + 1] = temp - fact * d_[i + 1];
                if (i + 2 < m) {
                    du2_[i] = du_[i + 1];
                    du_[i + 1] = -fact * du_[i + 1];
                }
                swapped_[static_cast<std::size_t>(i)] = true;
            }
        }
        if (d_[m - 1] == 0.0) throw NumericalError("cubic spline: singular system");
    }

    std::vector<std::int64_t> kept_;
    std::int64_t frames_;
    bool extrapolate_;
    Eigen::VectorXd x_, dx_;
    Eigen::VectorXd d_, du_, dl_, du2_;
    std::vector<bool> swapped_;
    Eigen::PartialPivLU<Eigen::Matrix3d> lu3_;
};

/// Every column of `signals` (T × N) with its censored frames (those not in `kept`, strictly
/// increasing indices) replaced by the cubic spline through its kept frames, as
/// scipy.interpolate.CubicSpline(kept, signals[kept], extrapolate=extrapolate)(range(T)).
/// Returns T × N; with `extrapolate` false, frames outside the kept range are NaN.
inline Eigen::MatrixXd interpolate_censored(const Eigen::Ref<const Eigen::MatrixXd>& signals,
                                            const std::vector<std::int64_t>& kept, bool extrapolate) {
    const FrameSpline spline(kept, signals.rows(), extrapolate);
    Eigen::MatrixXd out = signals;
    std::vector<double> work(static_cast<std::size_t>(spline.work_size()));
    for (Eigen::Index j = 0; j < out.cols(); ++j) spline.fill(out.col(j).data(), work.data());
    return out;
}

}  // namespace rewire
