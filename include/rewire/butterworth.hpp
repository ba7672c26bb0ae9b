// rewire — Butterworth filters as second-order sections, and zero-phase (forward-backward) filtering.
//
// The design reproduces scipy.signal.butter(N, Wn, btype, output='sos', fs=fs) step by step: analog
// prototype (buttap), frequency transformation with bilinear prewarping (lp2lp/lp2hp/lp2bp), bilinear
// transform and scipy's zpk2sos 'nearest' pole-zero pairing, so that the sections, their order and
// the default padding of sosfiltfilt are scipy's. Filtering is scipy.signal.sosfiltfilt: the series
// is extended at both ends (odd / even / constant), filtered forward from the steady state of its
// first value (sosfilt_zi), then backward from the steady state of the last output, then trimmed.
//
// Butterworth S (1930), "On the theory of filter amplifiers", Experimental Wireless 7:536-541.
// Gustafsson F (1996), "Determining the initial states in forward-backward filtering", IEEE Trans.
// Signal Process. 44(4):988-992 (the steady-state initial conditions).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "rewire/error.hpp"

namespace rewire {

/// Second-order sections, one per row: b0 b1 b2 a0 a1 a2 with a0 = 1 (scipy's `sos` layout).
using Sos = Eigen::Matrix<double, Eigen::Dynamic, 6, Eigen::RowMajor>;

/// Zeros, poles and gain of a digital filter (scipy's zpk form).
struct Zpk {
    std::vector<std::complex<double>> zeros;
    std::vector<std::complex<double>> poles;
    double gain = 1.0;
};

/// Padding added at both ends before zero-phase filtering (scipy.signal.sosfiltfilt's padtype).
enum class PadType {
    odd,       ///< point-reflected about the end value: 2 x[0] − x[k] (scipy's default)
    even,      ///< mirrored: x[k]
    constant,  ///< the end value repeated
    none,      ///< no padding (padlen is then 0)
};

namespace detail {

using Complex = std::complex<double>;

constexpr double pi = 3.141592653589793;  // numpy.pi

inline bool is_real(const Complex& value) { return value.imag() == 0.0; }

/// a · b as numpy's SIMD multiply computes it on CPUs with FMA (AVX2/AVX-512), each part rounded once
/// after a fused multiply-add.
inline Complex mul(const Complex& a, const Complex& b) {
    return Complex(std::fma(a.real(), b.real(), -(a.imag() * b.imag())),
                   std::fma(a.real(), b.imag(), a.imag() * b.real()));
}

/// Product of the elements in order, as numpy.prod (1 when empty); numpy's reduction loop does not
/// fuse the multiply-adds.
inline Complex product(const std::vector<Complex>& values) {
    if (values.empty()) return Complex(1.0, 0.0);
    Complex out = values.front();
    for (std::size_t i = 1; i < values.size(); ++i) {
        const Complex& b = values[i];
        out = Complex(out.real() * b.real() - out.imag() * b.imag(), out.real() * b.imag() + out.imag() * b.real());
    }
    return out;
}

/// a / b with numpy's algorithm (Smith's, scaled by a reciprocal), so that poles computed here are
/// bit-identical to scipy's: near Nyquist the sections are so ill-conditioned that one ulp in a
/// pole moves the filtered output by 1e-6.
inline Complex divide(const Complex& a, const Complex& b) {
    const double br = b.real(), bi = b.imag();
    if (std::abs(br) >= std::abs(bi)) {
        if (br == 0.0 && bi == 0.0) return Complex(a.real() / std::abs(br), a.imag() / std::abs(br));
        const double rat = bi / br;
        const double scl = 1.0 / (br + bi * rat);
        return Complex((a.real() + a.imag() * rat) * scl, (a.imag() - a.real() * rat) * scl);
    }
    const double rat = br / bi;
    const double scl = 1.0 / (bi + br * rat);
    return Complex((a.real() * rat + a.imag()) * scl, (a.imag() * rat - a.real()) * scl);
}

/// scipy.signal._filter_design._cplxreal: one element per conjugate pair (positive imaginary part,
/// pairs averaged), sorted by real part then |imag|; followed by the real elements in ascending order.
inline std::vector<Complex> cplxreal(std::vector<Complex> z) {
    if (z.empty()) return z;
    const double tol = 100.0 * std::numeric_limits<double>::epsilon();
    std::stable_sort(z.begin(), z.end(), [](const Complex& a, const Complex& b) {
        if (a.real() != b.real()) return a.real() < b.real();
        return std::abs(a.imag()) < std::abs(b.imag());
    });
    std::vector<Complex> reals, positive, negative;
    for (const Complex& value : z) {
        if (std::abs(value.imag()) <= tol * std::abs(value)) {
            reals.emplace_back(value.real(), 0.0);
        } else if (value.imag() > 0) {
            positive.push_back(value);
        } else {
            negative.push_back(value);
        }
    }
    if (positive.size() != negative.size()) {
        throw NumericalError("zpk2sos: a complex zero or pole has no matching conjugate");
    }
    // Runs of (nearly) equal real part are ordered by |imag| so that conjugates line up.
    const std::size_t n = positive.size();
    std::size_t start = 0;
    while (start < n) {
        std::size_t stop = start;
        while (stop + 1 < n && positive[stop + 1].real() - positive[stop].real() <= tol * std::abs(positive[stop])) {
            ++stop;
        }
        if (stop > start) {
            auto by_imag = [](const Complex& a, const Complex& b) { return std::abs(a.imag()) < std::abs(b.imag()); };
            std::stable_sort(positive.begin() + start, positive.begin() + stop + 1, by_imag);
            std::stable_sort(negative.begin() + start, negative.begin() + stop + 1, by_imag);
        }
        start = stop + 1;
    }
    std::vector<Complex> out;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::abs(positive[i] - std::conj(negative[i])) > tol * std::abs(negative[i])) {
            throw NumericalError("zpk2sos: a complex zero or pole has no matching conjugate");
        }
        out.push_back((positive[i] + std::conj(negative[i])) / 2.0);
    }
    out.insert(out.end(), reals.begin(), reals.end());
    return out;
}

/// Index of the element closest to the unit circle (first on ties, as numpy.argmin).
inline std::size_t index_worst(const std::vector<Complex>& p, const std::vector<std::size_t>& among) {
    std::size_t best = among.front();
    double best_distance = std::abs(1.0 - std::abs(p[best]));
    for (std::size_t i : among) {
        const double distance = std::abs(1.0 - std::abs(p[i]));
        if (distance < best_distance) {
            best = i;
            best_distance = distance;
        }
    }
    return best;
}

enum class Which { real, complex, any };

/// scipy's _nearest_real_complex_idx: the element of `from` nearest to `to` of the requested kind.
inline std::size_t nearest_index(const std::vector<Complex>& from, const Complex& to, Which which) {
    std::vector<std::size_t> order(from.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return std::abs(from[a] - to) < std::abs(from[b] - to); });
    for (std::size_t i : order) {
        if (which == Which::any || (which == Which::real) == is_real(from[i])) return i;
    }
    throw NumericalError("zpk2sos: no zero of the requested kind is left to pair");
}

/// Coefficients of prod (x − r) in descending powers (numpy.poly), real part.
inline std::vector<double> poly(const std::vector<Complex>& roots) {
    std::vector<Complex> a{Complex(1.0, 0.0)};
    for (const Complex& r : roots) {
        std::vector<Complex> next(a.size() + 1, Complex(0.0, 0.0));
        for (std::size_t i = 0; i < a.size(); ++i) {
            next[i] += a[i];
            next[i + 1] += a[i] * (-r);
        }
        a = next;
    }
    std::vector<double> out(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) out[i] = a[i].real();
    return out;
}

/// scipy's _single_zpksos: one section from up to two zeros and poles, right-aligned.
inline Eigen::Matrix<double, 1, 6> single_section(const std::vector<Complex>& z, const std::vector<Complex>& p) {
    Eigen::Matrix<double, 1, 6> row = Eigen::Matrix<double, 1, 6>::Zero();
    const std::vector<double> b = poly(z);
    const std::vector<double> a = poly(p);
    for (std::size_t i = 0; i < b.size(); ++i) row[static_cast<Eigen::Index>(3 - b.size() + i)] = b[i];
    for (std::size_t i = 0; i < a.size(); ++i) row[static_cast<Eigen::Index>(6 - a.size() + i)] = a[i];
    return row;
}

inline Complex take(std::vector<Complex>& values, std::size_t index) {
    const Complex value = values[index];
    values.erase(values.begin() + static_cast<std::ptrdiff_t>(index));
    return value;
}

}  // namespace detail

/// Second-order sections of a digital zpk system, as scipy.signal.zpk2sos(z, p, k) (pairing
/// 'nearest'): poles closest to the unit circle are paired with their nearest zeros and placed last;
/// the gain goes into the first section. Returns n_sections × 6.
inline Sos zpk2sos(const Zpk& zpk) {
    using detail::Complex;
    std::vector<Complex> z = zpk.zeros;
    std::vector<Complex> p = zpk.poles;
    if (z.empty() && p.empty()) {
        Sos sos(1, 6);
        sos << zpk.gain, 0.0, 0.0, 1.0, 0.0, 0.0;
        return sos;
    }
    while (p.size() < z.size()) p.emplace_back(0.0, 0.0);
    while (z.size() < p.size()) z.emplace_back(0.0, 0.0);
    const std::size_t sections = (p.size() + 1) / 2;
    if (p.size() % 2 == 1) {
        p.emplace_back(0.0, 0.0);
        z.emplace_back(0.0, 0.0);
    }
    z = detail::cplxreal(z);
    p = detail::cplxreal(p);

    auto real_indices = [](const std::vector<Complex>& v) {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (detail::is_real(v[i])) out.push_back(i);
        }
        return out;
    };
    auto all_indices = [](const std::vector<Complex>& v) {
        std::vector<std::size_t> out(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) out[i] = i;
        return out;
    };

    Sos sos = Sos::Zero(static_cast<Eigen::Index>(sections), 6);
    for (std::size_t s = sections; s-- > 0;) {
        const auto row = static_cast<Eigen::Index>(s);
        const Complex p1 = detail::take(p, detail::index_worst(p, all_indices(p)));
        const std::size_t real_poles_left = real_indices(p).size();
        if (detail::is_real(p1) && real_poles_left == 0) {
            // The last real pole of an odd-order system: pair it with the closest real zero.
            const Complex z1 = detail::take(z, detail::nearest_index(z, p1, detail::Which::real));
            sos.row(row) = detail::single_section({z1, Complex(0.0, 0.0)}, {p1, Complex(0.0, 0.0)});
        } else if (p.size() + 1 == z.size() && !detail::is_real(p1) && real_poles_left == 1 &&
                   real_indices(z).size() == 1) {
            // One real pole and one real zero left: this complex pole must take a complex zero.
            const Complex z1 = detail::take(z, detail::nearest_index(z, p1, detail::Which::complex));
            sos.row(row) = detail::single_section({z1, std::conj(z1)}, {p1, std::conj(p1)});
        } else {
            Complex p2;
            if (detail::is_real(p1)) {
                p2 = detail::take(p, detail::index_worst(p, real_indices(p)));
            } else {
                p2 = std::conj(p1);
            }
            if (!z.empty()) {
                const Complex z1 = detail::take(z, detail::nearest_index(z, p1, detail::Which::any));
                if (!detail::is_real(z1)) {
                    sos.row(row) = detail::single_section({z1, std::conj(z1)}, {p1, p2});
                } else if (!z.empty()) {
                    const Complex z2 = detail::take(z, detail::nearest_index(z, p1, detail::Which::real));
                    sos.row(row) = detail::single_section({z1, z2}, {p1, p2});
                } else {
                    sos.row(row) = detail::single_section({z1}, {p1, p2});
                }
            } else {
                sos.row(row) = detail::single_section({}, {p1, p2});
            }
        }
    }
    sos.row(0).head<3>() *= zpk.gain;
    return sos;
}

/// Zeros, poles and gain of a digital Butterworth filter of `order`, equal to scipy.signal.butter(order,
/// Wn, btype, output='zpk', fs=sampling_rate). Cut-offs are in Hz: `high_pass` alone gives a high-pass,
/// `low_pass` alone a low-pass, both a band-pass [high_pass, low_pass]. Each cut-off must lie in
/// (0, sampling_rate / 2) and high_pass < low_pass.
inline Zpk butterworth_zpk(int order, std::optional<double> high_pass, std::optional<double> low_pass,
                           double sampling_rate) {
    using detail::Complex;
    if (order < 1) {
        throw InvalidInput("butterworth: order must be a positive integer, got " + std::to_string(order));
    }
    if (!(sampling_rate > 0.0) || !std::isfinite(sampling_rate)) {
        throw InvalidInput("butterworth: sampling_rate must be > 0 Hz, got " + std::to_string(sampling_rate));
    }
    if (!high_pass && !low_pass) {
        throw InvalidInput("butterworth: give high_pass, low_pass or both (Hz)");
    }
    const double half = sampling_rate / 2.0;
    auto normalised = [&](double hz, const char* name) {
        const double wn = hz / half;
        if (!(wn > 0.0 && wn < 1.0)) {
            throw InvalidInput(std::string("butterworth: ") + name + " must lie in (0, Nyquist = " +
                               std::to_string(half) + ") Hz, got " + std::to_string(hz));
        }
        return wn;
    };
    std::vector<double> wn;
    if (high_pass) wn.push_back(normalised(*high_pass, "high_pass"));
    if (low_pass) wn.push_back(normalised(*low_pass, "low_pass"));
    if (wn.size() == 2 && !(wn[0] < wn[1])) {
        throw InvalidInput("butterworth: high_pass (" + std::to_string(*high_pass) +
                           " Hz) must be below low_pass (" + std::to_string(*low_pass) + " Hz)");
    }

    // Every complex operation below is numpy's (real scalars promoted to complex, numpy's multiply
    // and divide), so that poles and gain are bit-identical to scipy's, signed zeros included: the
    // sign of a zero imaginary part picks the branch of a square root in lp2bp_zpk.
    using detail::divide;
    using detail::mul;
    using detail::product;
    const auto real = [](double x) { return Complex(x, 0.0); };

    // Analog prototype (buttap): p = −exp(1j·π·m / (2N)), m = −N+1, −N+3, …, N−1.
    std::vector<Complex> poles;
    for (int m = -order + 1; m < order; m += 2) {
        const Complex angle = divide(mul(Complex(0.0, detail::pi), real(static_cast<double>(m))), real(2.0 * order));
        poles.push_back(-std::exp(angle));
    }
    std::vector<Complex> zeros;
    double gain = 1.0;

    // Prewarp the cut-offs (bilinear transform with fs = 2, as scipy's iirfilter).
    const double fs = 2.0;
    std::vector<double> warped;
    for (double w : wn) warped.push_back(2.0 * fs * std::tan(detail::pi * w / fs));
    const auto degree = static_cast<std::size_t>(order);

    if (!high_pass) {  // lp2lp_zpk
        for (Complex& pole : poles) pole = mul(real(warped[0]), pole);
        gain *= std::pow(warped[0], static_cast<double>(degree));
    } else if (!low_pass) {  // lp2hp_zpk
        std::vector<Complex> negated;
        for (const Complex& pole : poles) negated.push_back(-pole);
        gain *= divide(real(1.0), product(negated)).real();
        for (Complex& pole : poles) pole = divide(real(warped[0]), pole);
        zeros.assign(degree, real(0.0));
    } else {  // lp2bp_zpk
        const double bw = warped[1] - warped[0];
        const double wo = std::sqrt(warped[0] * warped[1]);
        std::vector<Complex> shifted;
        std::vector<Complex> lowered;
        for (const Complex& pole : poles) {
            const Complex lp = divide(mul(pole, real(bw)), real(2.0));
            const Complex root = std::sqrt(mul(lp, lp) - real(std::pow(wo, 2.0)));
            shifted.push_back(lp + root);
            lowered.push_back(lp - root);
        }
        poles = shifted;
        poles.insert(poles.end(), lowered.begin(), lowered.end());
        zeros.assign(degree, real(0.0));
        gain *= std::pow(bw, static_cast<double>(degree));
    }

    // Bilinear transform (bilinear_zpk with fs = 2).
    const Complex fs2 = real(2.0 * fs);
    const std::size_t relative_degree = poles.size() - zeros.size();
    std::vector<Complex> zero_terms, pole_terms;
    Zpk zpk;
    for (const Complex& zero : zeros) {
        zero_terms.push_back(fs2 - zero);
        zpk.zeros.push_back(divide(fs2 + zero, fs2 - zero));
    }
    for (const Complex& pole : poles) {
        pole_terms.push_back(fs2 - pole);
        zpk.poles.push_back(divide(fs2 + pole, fs2 - pole));
    }
    zpk.zeros.insert(zpk.zeros.end(), relative_degree, real(-1.0));
    zpk.gain = gain * divide(product(zero_terms), product(pole_terms)).real();
    return zpk;
}

/// The same filter as second-order sections, equal to scipy.signal.butter(..., output='sos'):
/// n_sections × 6.
inline Sos butterworth_sos(int order, std::optional<double> high_pass, std::optional<double> low_pass,
                           double sampling_rate) {
    return zpk2sos(butterworth_zpk(order, high_pass, low_pass, sampling_rate));
}

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
        if (m00 == 0.0) throw NumericalError("sosfilt_zi: singular section " + std::to_string(s));
        const double l = m10 * (1.0 / m00);
        const double u11 = m11 - l * m01;
        if (u11 == 0.0) throw NumericalError("sosfilt_zi: singular section " + std::to_string(s));
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

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define REWIRE_SOS_AVX2 1
#else
#define REWIRE_SOS_AVX2 0
#endif

namespace detail {

constexpr int max_sections = 64;

/// One pass of direct-form II transposed sections (scipy's _sosfilt) over L series interleaved in
/// `y` (sample i of series l at i·L + l), in place, forward (step +1) or backward (step −1),
/// starting from the steady state `zi` (sections × 2, column-major) times the first sample met.
/// Coefficients and states live in local arrays so that the compiler keeps them apart from the data
/// and vectorises across the series (sos_pass picks the version for the number of sections).
template <int L, int S>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void sos_pass_fixed(const double* sos, const double* zi, int sections, double* y, Eigen::Index total,
                           int step) {
    // S > 0: exactly S sections known at compile time, so the states stay in registers (no
    // store-to-load round trip in the recursion); S = 0: any number up to max_sections.
    constexpr int capacity = S > 0 ? S : max_sections;
    const int count = S > 0 ? S : sections;
    double b0[capacity], b1[capacity], b2[capacity], a1[capacity], a2[capacity];
    alignas(32) double z0[capacity][L];
    alignas(32) double z1[capacity][L];
    const double* first = y + (step > 0 ? 0 : total - 1) * L;
    for (int s = 0; s < count; ++s) {
        b0[s] = sos[6 * s + 0];
        b1[s] = sos[6 * s + 1];
        b2[s] = sos[6 * s + 2];
        a1[s] = sos[6 * s + 4];
        a2[s] = sos[6 * s + 5];
        for (int l = 0; l < L; ++l) {
            z0[s][l] = zi[s] * first[l];
            z1[s][l] = zi[sections + s] * first[l];
        }
    }
    const Eigen::Index stride = step > 0 ? L : -L;
    double* sample = y + (step > 0 ? 0 : total - 1) * L;
    for (Eigen::Index i = 0; i < total; ++i, sample += stride) {
        alignas(32) double cur[L];
        for (int l = 0; l < L; ++l) cur[l] = sample[l];
        for (int s = 0; s < count; ++s) {
            for (int l = 0; l < L; ++l) {
                const double next = b0[s] * cur[l] + z0[s][l];
                z0[s][l] = b1[s] * cur[l] - a1[s] * next + z1[s][l];
                z1[s][l] = b2[s] * cur[l] - a2[s] * next;
                cur[l] = next;
            }
        }
        for (int l = 0; l < L; ++l) sample[l] = cur[l];
    }
}

template <int L>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void sos_pass(const double* sos, const double* zi, int sections, double* y, Eigen::Index total, int step) {
    switch (sections) {  // the section counts of Butterworth orders 1 to 8 (low/high-pass and band-pass)
        case 1: return sos_pass_fixed<L, 1>(sos, zi, sections, y, total, step);
        case 2: return sos_pass_fixed<L, 2>(sos, zi, sections, y, total, step);
        case 3: return sos_pass_fixed<L, 3>(sos, zi, sections, y, total, step);
        case 4: return sos_pass_fixed<L, 4>(sos, zi, sections, y, total, step);
        case 5: return sos_pass_fixed<L, 5>(sos, zi, sections, y, total, step);
        case 6: return sos_pass_fixed<L, 6>(sos, zi, sections, y, total, step);
        case 7: return sos_pass_fixed<L, 7>(sos, zi, sections, y, total, step);
        case 8: return sos_pass_fixed<L, 8>(sos, zi, sections, y, total, step);
        default: return sos_pass_fixed<L, 0>(sos, zi, sections, y, total, step);
    }
}

#if REWIRE_SOS_AVX2
/// sos_pass<4> compiled for AVX2: the four series in one register. No FMA, so the roundings are
/// those of the generic loop (and of scipy's).
__attribute__((target("avx2"))) inline void sos_pass_avx2(const double* sos, const double* zi, int sections,
                                                          double* y, Eigen::Index total, int step) {
    sos_pass<4>(sos, zi, sections, y, total, step);
}

inline bool cpu_has_avx2() {
    static const bool has = __builtin_cpu_supports("avx2");
    return has;
}
#endif

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
                throw InvalidInput("sosfiltfilt: a0 of every section must be 1 (section " + std::to_string(s) + ")");
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
            throw InvalidInput(what + ": the series has " + std::to_string(n) +
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
            for (int l = 0; l < count; ++l) columns[l] = out.col(j + l).data();
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
                for (Eigen::Index i = 0; i < total; ++i) work[i * L + l] = 0.0;
                continue;
            }
            const double* x = series[l];
            for (Eigen::Index i = 0; i < n; ++i) work[(e + i) * L + l] = x[i];
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
            for (Eigen::Index i = 0; i < n; ++i) x[i] = work[(e + i) * L + l];
        }
    }

    // One pass of the sections over L interleaved series (detail::sos_pass), through the AVX2 copy
    // of the loop where the CPU has it; the arithmetic, and so every result, is the same.
    template <int L>
    void run(double* y, Eigen::Index total, int step) const {
        const auto sections = static_cast<int>(sos_.rows());
        if (sections > detail::max_sections) {
            throw InvalidInput("sosfiltfilt: at most " + std::to_string(detail::max_sections) + " sections, got " +
                               std::to_string(sections));
        }
#if REWIRE_SOS_AVX2
        if (L == 4 && detail::cpu_has_avx2()) {
            detail::sos_pass_avx2(sos_.data(), zi_.data(), sections, y, total, step);
            return;
        }
#endif
        detail::sos_pass<L>(sos_.data(), zi_.data(), sections, y, total, step);
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
