// rewire::stats — tail probabilities of the t, F and normal distributions, and t/F ↔ Z conversion.
//
// Tails are computed directly (never as 1 − CDF), so p-values as small as 1e-300 keep their
// relative precision. The regularized incomplete beta function is evaluated with its continued
// fraction (modified Lentz; Press et al., Numerical Recipes, 3rd ed., §6.4) on whichever side
// converges, returning the requested tail without cancellation.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "rewire/core/error.hpp"

namespace rewire::stats {

namespace detail {

/// Continued fraction of I_x(a, b) (Numerical Recipes betacf), valid for x < (a + 1)/(a + b + 2).
inline double beta_continued_fraction(double a, double b, double x) {
    constexpr double tiny = 1e-300;
    constexpr double eps = 1e-16;
    const double qab = a + b;
    const double qap = a + 1.0;
    const double qam = a - 1.0;
    double c = 1.0;
    double d = 1.0 - qab * x / qap;
    if (std::fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 100000; ++m) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double del = d * c;
        h *= del;
        if (std::fabs(del - 1.0) < eps) return h;
    }
    throw NumericalError("incomplete beta: continued fraction did not converge for a = " + std::to_string(a) +
                         ", b = " + std::to_string(b) + ", x = " + std::to_string(x));
}

}  // namespace detail

/// Regularized incomplete beta I_x(a, b) (lower = true) or 1 − I_x(a, b) (lower = false), for
/// a, b > 0 and 0 ≤ x ≤ 1. `complement_x` must equal 1 − x; callers pass it computed without
/// cancellation (e.g. t²/(ν + t²) rather than 1 − ν/(ν + t²)).
inline double incomplete_beta(double a, double b, double x, double complement_x, bool lower) {
    if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0) || !(x <= 1.0)) {
        throw InvalidInput("incomplete_beta: need a > 0, b > 0 and 0 <= x <= 1, got a = " + std::to_string(a) +
                           ", b = " + std::to_string(b) + ", x = " + std::to_string(x));
    }
    if (x == 0.0) return lower ? 0.0 : 1.0;
    if (complement_x == 0.0) return lower ? 1.0 : 0.0;
    const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                             b * std::log(complement_x);
    const double front = std::exp(log_front);
    if (x < (a + 1.0) / (a + b + 2.0)) {
        const double value = front * detail::beta_continued_fraction(a, b, x) / a;
        return lower ? value : 1.0 - value;
    }
    const double value = front * detail::beta_continued_fraction(b, a, complement_x) / b;  // = 1 − I_x(a, b)
    return lower ? 1.0 - value : value;
}

/// P(T > t) for Student's t with `df` degrees of freedom (df > 0).
inline double t_sf(double t, double df) {
    if (std::isnan(t)) return t;
    if (std::isinf(t)) return t > 0 ? 0.0 : 1.0;
    const double t2 = t * t;
    const double x = df / (df + t2);
    const double half_tail = 0.5 * incomplete_beta(0.5 * df, 0.5, x, t2 / (df + t2), true);
    return t > 0 ? half_tail : 1.0 - half_tail;
}

/// Two-sided p-value P(|T| ≥ |t|), as scipy.stats.ttest_*.
inline double t_two_sided_p(double t, double df) {
    if (std::isnan(t)) return t;
    if (std::isinf(t)) return 0.0;
    const double t2 = t * t;
    return incomplete_beta(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2), true);
}

/// P(F > f) for the F distribution with (df1, df2) degrees of freedom.
inline double f_sf(double f, double df1, double df2) {
    if (std::isnan(f)) return f;
    if (f <= 0.0) return 1.0;
    if (std::isinf(f)) return 0.0;
    const double denominator = df2 + df1 * f;
    return incomplete_beta(0.5 * df2, 0.5 * df1, df2 / denominator, df1 * f / denominator, true);
}

/// P(Z > z) for the standard normal.
inline double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

/// z with P(Z > z) = p, 0 < p < 1 (Abramowitz & Stegun 26.2.23 start, then Halley steps on erfc:
/// full double precision).
inline double normal_isf(double p) {
    if (!(p > 0.0) || !(p < 1.0)) {
        if (p == 0.0) return std::numeric_limits<double>::infinity();
        if (p == 1.0) return -std::numeric_limits<double>::infinity();
        throw InvalidInput("normal_isf: p must lie in [0, 1], got " + std::to_string(p));
    }
    const bool upper = p < 0.5;
    const double q = upper ? p : 1.0 - p;  // tail probability ≤ 0.5
    const double s = std::sqrt(-2.0 * std::log(q));
    double z = s - (2.515517 + 0.802853 * s + 0.010328 * s * s) / (1.0 + 1.432788 * s + 0.189269 * s * s +
                                                                   0.001308 * s * s * s);
    // Refine z for P(Z > z) = q; the tail is evaluated directly so q down to 1e-300 stays accurate.
    for (int iteration = 0; iteration < 6; ++iteration) {
        const double tail = normal_sf(z);
        const double density = std::exp(-0.5 * z * z) * 0.398942280401432677939946059934;  // 1/√(2π)
        const double step = (tail - q) / density;  // Newton step for f(z) = sf(z) − q, f' = −pdf
        const double halley = step / (1.0 - 0.5 * z * step);  // Halley: f'' = z·pdf
        z += halley;
        if (std::fabs(halley) <= 1e-15 * std::max(1.0, std::fabs(z))) break;
    }
    return upper ? z : -z;
}

/// Z with the same upper-tail probability as t under Student's t(df): sign(t)·Φ⁻¹(1 − P(T > |t|)).
inline double t_to_z(double t, double df) {
    if (std::isnan(t)) return t;
    if (t == 0.0) return 0.0;
    const double z = normal_isf(t_sf(std::fabs(t), df));
    return t > 0 ? z : -z;
}

/// Z with the same upper-tail probability as f under F(df1, df2).
inline double f_to_z(double f, double df1, double df2) { return normal_isf(f_sf(f, df1, df2)); }

namespace detail {

/// x with sf(x) = p for a decreasing tail function on (0, ∞) (bisection on a bracket, then exact to
/// the last bit: ~1100 halvings at most, used once per threshold).
template <typename Sf>
double invert_tail(Sf&& sf, double p) {
    double low = 0.0;
    double high = 1.0;
    while (sf(high) > p) {
        low = high;
        high *= 2.0;
        if (!std::isfinite(high)) return high;
    }
    for (int i = 0; i < 2000 && high - low > 0.0; ++i) {
        const double middle = 0.5 * (low + high);
        if (middle <= low || middle >= high) break;
        (sf(middle) > p ? low : high) = middle;
    }
    return high;
}

}  // namespace detail

/// t with the same upper-tail probability as z: the t threshold equivalent to a Z threshold.
inline double z_to_t(double z, double df) {
    if (z == 0.0) return 0.0;
    const double p = normal_sf(std::fabs(z));
    const double t = detail::invert_tail([df](double x) { return t_sf(x, df); }, p);
    return z > 0 ? t : -t;
}

/// F with the same upper-tail probability as z (z > 0).
inline double z_to_f(double z, double df1, double df2) {
    if (!(z > 0.0)) throw InvalidInput("z_to_f: a Z threshold for an F statistic must be positive, got " +
                                       std::to_string(z));
    const double p = normal_sf(z);
    return detail::invert_tail([df1, df2](double x) { return f_sf(x, df1, df2); }, p);
}

}  // namespace rewire::stats
