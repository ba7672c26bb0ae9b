// rewire — head motion: framewise displacement (Power et al. 2012) and the frames to censor for
// scrubbing (Power et al. 2014), as fMRIPrep computes and nilearn's load_confounds applies them.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rewire/core/error.hpp"

namespace rewire {

/// Framewise displacement (Power et al. 2012, NeuroImage 59(3):2142): FD_t = Σ|Δtranslation| +
/// radius · Σ|Δrotation|, the rotations in radians turned into arc length on a sphere of `radius` mm.
/// `motion` is T × 6 in fMRIPrep's column order trans_x, trans_y, trans_z, rot_x, rot_y, rot_z (mm and
/// radians). Returns T values with FD_0 = NaN, as fMRIPrep writes n/a for the first frame (nipype's
/// FramewiseDisplacement, parameter_source="SPM", radius 50 mm).
inline Eigen::VectorXd framewise_displacement(const Eigen::Ref<const Eigen::MatrixXd>& motion,
                                              double radius = 50.0) {
    if (motion.cols() != 6) {
        throw InvalidInput(
            "framewise_displacement: expected T × 6 motion parameters (trans_x, trans_y, "
            "trans_z, rot_x, rot_y, rot_z), got " +
            std::to_string(motion.cols()) + " columns");
    }
    if (!(radius > 0.0))
        throw InvalidInput("framewise_displacement: radius must be > 0 mm");
    Eigen::VectorXd fd(motion.rows());
    if (motion.rows() == 0)
        return fd;
    fd[0] = std::numeric_limits<double>::quiet_NaN();
    for (Eigen::Index t = 1; t < motion.rows(); ++t) {
        // Summed in nipype's order (three translations, then three scaled rotations).
        double sum = 0.0;
        for (int j = 0; j < 6; ++j) {
            const double step = std::abs(motion(t - 1, j) - motion(t, j));
            sum += j < 3 ? step : radius * step;
        }
        fd[t] = sum;
    }
    return fd;
}

/// Power et al. 2014 (NeuroImage 84:320) segment rule, as nilearn's optimize_scrub: given censored
/// frames (sorted, unique, non-empty) of a run of `frames` volumes, also censors every run of kept frames
/// shorter than `min_segment` at the start, at the end and between two censored frames. Returns the
/// censored frames, sorted and unique.
inline std::vector<std::int64_t> scrub_segments(std::vector<std::int64_t> censored, std::int64_t frames,
                                                std::int64_t min_segment) {
    if (censored.empty() || min_segment <= 0)
        return censored;
    std::vector<std::int64_t> out;
    const std::int64_t first = censored.front();
    const std::int64_t last = censored.back();
    if (first < min_segment) {
        for (std::int64_t t = 0; t < first; ++t)
            out.push_back(t);
    }
    for (std::size_t i = 0; i < censored.size(); ++i) {
        out.push_back(censored[i]);
        if (i + 1 < censored.size()) {
            const std::int64_t gap = censored[i + 1] - censored[i];
            if (gap > 1 && gap < min_segment + 1) {
                for (std::int64_t t = censored[i] + 1; t < censored[i + 1]; ++t)
                    out.push_back(t);
            }
        }
    }
    if (frames - (last + 1) < min_segment) {
        for (std::int64_t t = last + 1; t < frames; ++t)
            out.push_back(t);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

/// Frames to censor for scrubbing: framewise displacement above `fd_threshold` or standardized DVARS
/// above `std_dvars_threshold` (NaN never exceeds), extended by scrub_segments with `min_segment`.
/// `fd` and `std_dvars` hold T values each.
inline std::vector<std::int64_t> motion_outliers(const Eigen::Ref<const Eigen::VectorXd>& fd,
                                                 const Eigen::Ref<const Eigen::VectorXd>& std_dvars,
                                                 double fd_threshold, double std_dvars_threshold,
                                                 std::int64_t min_segment) {
    if (fd.size() != std_dvars.size()) {
        throw InvalidInput("motion_outliers: framewise displacement has " + std::to_string(fd.size()) +
                           " frames but std_dvars has " + std::to_string(std_dvars.size()));
    }
    std::vector<std::int64_t> censored;
    for (Eigen::Index t = 0; t < fd.size(); ++t) {
        if (fd[t] > fd_threshold || std_dvars[t] > std_dvars_threshold)
            censored.push_back(t);
    }
    return scrub_segments(std::move(censored), fd.size(), min_segment);
}

}  // namespace rewire
