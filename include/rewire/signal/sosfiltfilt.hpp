// rewire — zero-phase (forward-backward) filtering with second-order sections, as
// scipy.signal.sosfiltfilt: the series is extended at both ends (odd / even / constant), filtered forward
// from the steady state of its first value (sosfilt_zi), then backward from the steady state of the last
// output, then trimmed.
//
// Gustafsson F (1996), "Determining the initial states in forward-backward filtering", IEEE Trans.
// Signal Process. 44(4):988-992 (the steady-state initial conditions).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rewire/core/error.hpp"
#include "rewire/signal/butterworth.hpp"

namespace rewire {

/// Padding added at both ends before zero-phase filtering (scipy.signal.sosfiltfilt's padtype).
enum class PadType {
    odd,       ///< point-reflected about the end value: 2 x[0] − x[k] (scipy's default)
    even,      ///< mirrored: x[k]
    constant,  ///< the end value repeated
    none,      ///< no padding (padlen is then 0)
};

/// Initial conditions of each section for a unit step at steady state (scipy.signal.sosfilt_zi):
/// n_sections × 2; multiply by the first sample to start a filter without a transient.
inline Eigen::Matrix<double, Eigen::Dynamic, 2> sosfilt_zi(const Sos& sos) {
    Eigen::Matrix<double, Eigen::Dynamic, 2> zi(sos.rows(), 2);
    double scale = 1.0;
    for (Eigen::Index s = 0; s < sos.rows(); ++s) {
        const double a0 = sos(s, 3);
        const double b0 = sos(s, 0) / a0, b1 = sos(s, 1) / a0, b2 = sos(s, 2) / a0;
        const double a1 = sos(s, 4) / a0, a2 = sos(s, 5) / a0;
        // lfilter_zi: solve (I − Aᵀ) zi = B with A the companion matrix, by LU with partial pivoting.
        double m00 = 1.0 + a1, m01 = -1.0, m10 = a2, m11 = 1.0;
        double r0 = b1 - a1 * b0, r1 = b2 - a2 * b0;
        if (std::abs(m10) > std::abs(m00)) {
            std::swap(m00, m10);
            std::swap(m01, m11);
            std::swap(r0, r1);
        }
        if (m00 == 0.0)
            throw NumericalError("sosfilt_zi: singular section " + std::to_string(s));
        const double l = m10 * (1.0 / m00);
        const double u11 = m11 - l * m01;
        if (u11 == 0.0)
            throw NumericalError("sosfilt_zi: singular section " + std::to_string(s));
        const double y1 = r1 - l * r0;
        const double z1 = y1 / u11;
        const double z0 = (r0 - m01 * z1) / m00;
        zi(s, 0) = scale * z0;
        zi(s, 1) = scale * z1;
        scale *= ((sos(s, 0) + sos(s, 1)) + sos(s, 2)) / ((sos(s, 3) + sos(s, 4)) + sos(s, 5));
    }
    return zi;
}

/// Default padding of scipy.signal.sosfiltfilt: 3 · (2 · n_sections + 1 − min(#sections with b2 = 0,
/// #sections with a2 = 0)).
inline Eigen::Index sosfiltfilt_default_padlen(const Sos& sos) {
    Eigen::Index zero_b = 0, zero_a = 0;
    for (Eigen::Index s = 0; s < sos.rows(); ++s) {
        zero_b += (sos(s, 2) == 0.0);
        zero_a += (sos(s, 5) == 0.0);
    }
    return 3 * (2 * sos.rows() + 1 - std::min(zero_b, zero_a));
}

namespace detail {

constexpr int max_sections = 64;

/// One pass of direct-form II transposed sections (scipy's _sosfilt) over `lanes` (1 or 4) series
/// interleaved in `y` (sample i of series l at i·lanes + l), in place, forward (step +1) or backward
/// (step −1), starting from the steady state `zi` (sections × 2, column-major) times the first sample
/// met. Compiled once per kernel variant in src/signal/sosfiltfilt.cpp (core/kernel_variant.hpp
/// chooses); no FMA, so every variant rounds as scipy does.
void sos_pass(int lanes, const double* sos, const double* zi, int sections, double* y, Eigen::Index total,
              int step);

}  // namespace detail

/// A Butterworth (or any SOS) filter ready to run forward-backward over many series of one length.
///
/// Holds the sections, their steady-state initial conditions and the padding, so that filtering a
/// column costs one pass forward and one backward over n + 2·padlen samples.
class ZeroPhaseFilter {
public:
    /// `padlen` < 0 selects scipy's default; PadType::none forces 0.
    explicit ZeroPhaseFilter(const Sos& sos, PadType pad = PadType::odd, Eigen::Index padlen = -1)
        : sos_(sos), zi_(sosfilt_zi(sos)), pad_(pad) {
        for (Eigen::Index s = 0; s < sos.rows(); ++s) {
            if (sos(s, 3) != 1.0) {
                throw InvalidInput("sosfiltfilt: a0 of every section must be 1 (section " +
                                   std::to_string(s) + ")");
            }
        }
        edge_ = (pad == PadType::none) ? 0 : (padlen < 0 ? sosfiltfilt_default_padlen(sos) : padlen);
    }

    /// Samples of padding added at each end.
    Eigen::Index padlen() const { return edge_; }

    /// Series that filter_many() runs together: independent recursions interleaved so that their
    /// latencies overlap (several times the throughput of one at a time, identical results).
    static constexpr int lanes = 4;

    /// Scratch size (doubles) that filter() and filter_many() need for series of `n` samples.
    Eigen::Index work_size(Eigen::Index n) const { return lanes * (n + 2 * edge_); }

    /// Throws InvalidInput unless a series of `n` samples is longer than the padding (scipy's rule).
    void check_length(Eigen::Index n, const std::string& what = "sosfiltfilt") const {
        if (n <= edge_) {
            throw InvalidInput(
                what + ": the series has " + std::to_string(n) +
                " samples; zero-phase filtering needs more than padlen = " + std::to_string(edge_) +
                " (scipy.signal.sosfiltfilt's rule; use fewer sections or a smaller padlen)");
        }
    }

    /// Filters `x` (n samples, contiguous) in place; `work` holds work_size(n) doubles.
    void filter(double* x, Eigen::Index n, double* work) const {
        double* one[1] = {x};
        filter_group<1>(one, 1, n, work);
    }

    /// Filters `count` ≤ lanes series of n samples each in place, together; the same numbers as
    /// filter() on each. `work` holds work_size(n) doubles.
    void filter_many(double* const* series, int count, Eigen::Index n, double* work) const {
        filter_group<lanes>(series, count, n, work);
    }

    /// Filters every column of `x` (T × N); returns T × N.
    Eigen::MatrixXd operator()(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
        check_length(x.rows());
        Eigen::MatrixXd out = x;
        std::vector<double> work(static_cast<std::size_t>(work_size(x.rows())));
        for (Eigen::Index j = 0; j < out.cols(); j += lanes) {
            double* columns[lanes];
            const int count = static_cast<int>(std::min<Eigen::Index>(lanes, out.cols() - j));
            for (int l = 0; l < count; ++l)
                columns[l] = out.col(j + l).data();
            filter_many(columns, count, out.rows(), work.data());
        }
        return out;
    }

private:
    // Extends each series at both ends (scipy's odd_ext / even_ext / const_ext) into an interleaved
    // buffer (sample i of lane l at i·L + l), filters forward then backward, trims.
    template <int L>
    void filter_group(double* const* series, int count, Eigen::Index n, double* work) const {
        check_length(n);
        const Eigen::Index e = edge_;
        const Eigen::Index total = n + 2 * e;
        for (int l = 0; l < L; ++l) {
            if (l >= count) {
                for (Eigen::Index i = 0; i < total; ++i)
                    work[i * L + l] = 0.0;
                continue;
            }
            const double* x = series[l];
            for (Eigen::Index i = 0; i < n; ++i)
                work[(e + i) * L + l] = x[i];
            for (Eigen::Index k = 1; k <= e; ++k) {
                double left = 0.0, right = 0.0;
                switch (pad_) {
                    case PadType::odd:
                        left = 2.0 * x[0] - x[k];
                        right = 2.0 * x[n - 1] - x[n - 1 - k];
                        break;
                    case PadType::even:
                        left = x[k];
                        right = x[n - 1 - k];
                        break;
                    default:
                        left = x[0];
                        right = x[n - 1];
                        break;
                }
                work[(e - k) * L + l] = left;
                work[(e + n - 1 + k) * L + l] = right;
            }
        }
        run<L>(work, total, +1);
        run<L>(work, total, -1);
        for (int l = 0; l < count; ++l) {
            double* x = series[l];
            for (Eigen::Index i = 0; i < n; ++i)
                x[i] = work[(e + i) * L + l];
        }
    }

    // One pass of the sections over L interleaved series (detail::sos_pass).
    template <int L>
    void run(double* y, Eigen::Index total, int step) const {
        const auto sections = static_cast<int>(sos_.rows());
        if (sections > detail::max_sections) {
            throw InvalidInput("sosfiltfilt: at most " + std::to_string(detail::max_sections) +
                               " sections, got " + std::to_string(sections));
        }
        detail::sos_pass(L, sos_.data(), zi_.data(), sections, y, total, step);
    }

    Sos sos_;
    Eigen::Matrix<double, Eigen::Dynamic, 2> zi_;
    PadType pad_;
    Eigen::Index edge_ = 0;
};

/// Zero-phase filtering of every column of `x` (T × N) with `sos`, equal to
/// scipy.signal.sosfiltfilt(sos, x, axis=0, padtype, padlen); `padlen` < 0 selects scipy's default.
inline Eigen::MatrixXd sosfiltfilt(const Sos& sos, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                   PadType pad = PadType::odd, Eigen::Index padlen = -1) {
    return ZeroPhaseFilter(sos, pad, padlen)(x);
}

}  // namespace rewire
