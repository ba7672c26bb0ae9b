// rewire — Butterworth filter design as second-order sections (scipy.signal.butter).
//
// The design reproduces scipy.signal.butter(N, Wn, btype, output='sos', fs=fs) step by step: analog
// prototype (buttap), frequency transformation with bilinear prewarping (lp2lp/lp2hp/lp2bp), bilinear
// transform and scipy's zpk2sos 'nearest' pole-zero pairing, so that the sections and their order
// are scipy's. Filtering with them is sosfiltfilt.hpp.
//
// Butterworth S (1930), "On the theory of filter amplifiers", Experimental Wireless 7:536-541.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rewire/core/error.hpp"

namespace rewire {

/// Second-order sections, one per row: b0 b1 b2 a0 a1 a2 with a0 = 1 (scipy's `sos` layout).
using Sos = Eigen::Matrix<double, Eigen::Dynamic, 6, Eigen::RowMajor>;

/// Zeros, poles and gain of a digital filter (scipy's zpk form).
struct Zpk {
    std::vector<std::complex<double>> zeros;
    std::vector<std::complex<double>> poles;
    double gain = 1.0;
};

namespace detail {

using Complex = std::complex<double>;

constexpr double pi = 3.141592653589793;  // numpy.pi

inline bool is_real(const Complex& value) {
    return value.imag() == 0.0;
}

/// a · b as numpy's SIMD multiply computes it on CPUs with FMA (AVX2/AVX-512), each part rounded once
/// after a fused multiply-add.
inline Complex mul(const Complex& a, const Complex& b) {
    return Complex(std::fma(a.real(), b.real(), -(a.imag() * b.imag())),
                   std::fma(a.real(), b.imag(), a.imag() * b.real()));
}

/// Product of the elements in order, as numpy.prod (1 when empty); numpy's reduction loop does not
/// fuse the multiply-adds.
inline Complex product(const std::vector<Complex>& values) {
    if (values.empty())
        return Complex(1.0, 0.0);
    Complex out = values.front();
    for (std::size_t i = 1; i < values.size(); ++i) {
        const Complex& b = values[i];
        out = Complex(out.real() * b.real() - out.imag() * b.imag(),
                      out.real() * b.imag() + out.imag() * b.real());
    }
    return out;
}

/// a / b with numpy's algorithm (Smith's, scaled by a reciprocal), so that poles computed here are
/// bit-identical to scipy's: near Nyquist the sections are so ill-conditioned that one ulp in a
/// pole moves the filtered output by 1e-6.
inline Complex divide(const Complex& a, const Complex& b) {
    const double br = b.real(), bi = b.imag();
    if (std::abs(br) >= std::abs(bi)) {
        if (br == 0.0 && bi == 0.0)
            return Complex(a.real() / std::abs(br), a.imag() / std::abs(br));
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
    if (z.empty())
        return z;
    const double tol = 100.0 * std::numeric_limits<double>::epsilon();
    std::stable_sort(z.begin(), z.end(), [](const Complex& a, const Complex& b) {
        if (a.real() != b.real())
            return a.real() < b.real();
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
        while (stop + 1 < n &&
               positive[stop + 1].real() - positive[stop].real() <= tol * std::abs(positive[stop])) {
            ++stop;
        }
        if (stop > start) {
            auto by_imag = [](const Complex& a, const Complex& b) {
                return std::abs(a.imag()) < std::abs(b.imag());
            };
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
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::abs(from[a] - to) < std::abs(from[b] - to);
    });
    for (std::size_t i : order) {
        if (which == Which::any || (which == Which::real) == is_real(from[i]))
            return i;
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
    for (std::size_t i = 0; i < a.size(); ++i)
        out[i] = a[i].real();
    return out;
}

/// scipy's _single_zpksos: one section from up to two zeros and poles, right-aligned.
inline Eigen::Matrix<double, 1, 6> single_section(const std::vector<Complex>& z,
                                                  const std::vector<Complex>& p) {
    Eigen::Matrix<double, 1, 6> row = Eigen::Matrix<double, 1, 6>::Zero();
    const std::vector<double> b = poly(z);
    const std::vector<double> a = poly(p);
    for (std::size_t i = 0; i < b.size(); ++i)
        row[static_cast<Eigen::Index>(3 - b.size() + i)] = b[i];
    for (std::size_t i = 0; i < a.size(); ++i)
        row[static_cast<Eigen::Index>(6 - a.size() + i)] = a[i];
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
    while (p.size() < z.size())
        p.emplace_back(0.0, 0.0);
    while (z.size() < p.size())
        z.emplace_back(0.0, 0.0);
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
            if (detail::is_real(v[i]))
                out.push_back(i);
        }
        return out;
    };
    auto all_indices = [](const std::vector<Complex>& v) {
        std::vector<std::size_t> out(v.size());
        for (std::size_t i = 0; i < v.size(); ++i)
            out[i] = i;
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
    if (high_pass)
        wn.push_back(normalised(*high_pass, "high_pass"));
    if (low_pass)
        wn.push_back(normalised(*low_pass, "low_pass"));
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
        const Complex angle =
            divide(mul(Complex(0.0, detail::pi), real(static_cast<double>(m))), real(2.0 * order));
        poles.push_back(-std::exp(angle));
    }
    std::vector<Complex> zeros;
    double gain = 1.0;

    // Prewarp the cut-offs (bilinear transform with fs = 2, as scipy's iirfilter).
    const double fs = 2.0;
    std::vector<double> warped;
    for (double w : wn)
        warped.push_back(2.0 * fs * std::tan(detail::pi * w / fs));
    const auto degree = static_cast<std::size_t>(order);

    if (!high_pass) {  // lp2lp_zpk
        for (Complex& pole : poles)
            pole = mul(real(warped[0]), pole);
        gain *= std::pow(warped[0], static_cast<double>(degree));
    } else if (!low_pass) {  // lp2hp_zpk
        std::vector<Complex> negated;
        for (const Complex& pole : poles)
            negated.push_back(-pole);
        gain *= divide(real(1.0), product(negated)).real();
        for (Complex& pole : poles)
            pole = divide(real(warped[0]), pole);
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

}  // namespace rewire
