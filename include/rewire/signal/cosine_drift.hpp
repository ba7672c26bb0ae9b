// rewire — the discrete cosine drift basis of nilearn's create_cosine_drift (SPM's high-pass filter).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "rewire/core/error.hpp"
#include "rewire/signal/butterworth.hpp"  // detail::pi

namespace rewire {

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
    const Eigen::Index order =
        std::min<Eigen::Index>(frames - 1, raw < 0 ? -1 : static_cast<Eigen::Index>(raw));
    if (order < 0) {
        throw InvalidInput("cosine_drift: high_pass must be >= 0 Hz, got " + std::to_string(high_pass));
    }
    Eigen::MatrixXd drift = Eigen::MatrixXd::Zero(frames, order + 1);
    const double normaliser = std::sqrt(2.0 / n);
    for (Eigen::Index k = 1; k <= order; ++k) {
        for (Eigen::Index t = 0; t < frames; ++t) {
            drift(t, k - 1) = normaliser * std::cos((detail::pi / n) * (static_cast<double>(t) + 0.5) *
                                                    static_cast<double>(k));
        }
    }
    drift.col(order).setOnes();
    return drift;
}

}  // namespace rewire
