// rewire::stats — false discovery rate: Benjamini–Hochberg (1995) and Benjamini–Yekutieli (2001)
// adjusted p-values, computed with the same floating-point steps as
// scipy.stats.false_discovery_control, so the results are equal to the last bit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "rewire/core/error.hpp"

namespace rewire::stats {

enum class FdrMethod {
    bh,  ///< Benjamini & Hochberg (1995), independent or positively dependent tests
    by,  ///< Benjamini & Yekutieli (2001), any dependence (BH × Σ 1/i)
};

namespace detail {

/// numpy's pairwise summation of a contiguous float64 array (numpy/core/src/umath/loops_utils.h),
/// so that Σ 1/i equals np.sum(1 / i) bit for bit.
inline double numpy_pairwise_sum(const double* a, std::size_t n) {
    constexpr std::size_t block = 128;
    if (n < 8) {
        double sum = 0.0;
        for (std::size_t i = 0; i < n; ++i) sum += a[i];
        return sum;
    }
    if (n <= block) {
        double r[8];
        for (int j = 0; j < 8; ++j) r[j] = a[j];
        std::size_t i = 8;
        for (; i < n - (n % 8); i += 8) {
            for (int j = 0; j < 8; ++j) r[j] += a[i + j];
        }
        double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) sum += a[i];
        return sum;
    }
    std::size_t half = n / 2;
    half -= half % 8;
    return numpy_pairwise_sum(a, half) + numpy_pairwise_sum(a + half, n - half);
}

}  // namespace detail

/// Adjusted p-values (m values in, same order out): sort ascending, p₍ᵢ₎ · m/i (· Σ 1/k for BY),
/// running minimum from the largest, clipped to 1 — scipy.stats.false_discovery_control.
/// Throws InvalidInput when a value is NaN or outside [0, 1] (scipy raises ValueError there too).
inline Eigen::VectorXd fdr(const Eigen::Ref<const Eigen::VectorXd>& p, FdrMethod method = FdrMethod::bh) {
    const Eigen::Index m = p.size();
    for (Eigen::Index k = 0; k < m; ++k) {
        if (!(p[k] >= 0.0 && p[k] <= 1.0)) {
            throw InvalidInput("fdr: p[" + std::to_string(k) + "] = " + std::to_string(p[k]) +
                               ", expected a p-value in [0, 1] (NaN is not allowed)");
        }
    }
    if (m <= 1) return p;
    std::vector<Eigen::Index> order(static_cast<std::size_t>(m));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return p[a] < p[b]; });
    std::vector<double> sorted(static_cast<std::size_t>(m));
    const double md = static_cast<double>(m);
    for (Eigen::Index i = 0; i < m; ++i) {
        sorted[i] = p[order[i]] * (md / static_cast<double>(i + 1));
    }
    if (method == FdrMethod::by) {
        std::vector<double> reciprocal(static_cast<std::size_t>(m));
        for (Eigen::Index i = 0; i < m; ++i) reciprocal[i] = 1.0 / static_cast<double>(i + 1);
        const double harmonic = detail::numpy_pairwise_sum(reciprocal.data(), reciprocal.size());
        for (double& value : sorted) value *= harmonic;
    }
    for (Eigen::Index i = m - 2; i >= 0; --i) sorted[i] = std::min(sorted[i], sorted[i + 1]);
    Eigen::VectorXd adjusted(m);
    for (Eigen::Index i = 0; i < m; ++i) adjusted[order[i]] = std::min(sorted[i], 1.0);
    return adjusted;
}

}  // namespace rewire::stats
