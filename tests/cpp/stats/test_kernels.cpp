// The permutation engine's panel product and statistics (include/rewire/stats/kernels.hpp): in every
// kernel variant, exactly the plain loop's numbers (one multiply and one add per term, in subject order).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "rewire/stats/kernels.hpp"
#include "variant_support.hpp"

using namespace rewire;

TEST_CASE("panel product and shuffle statistics: the plain loop's bits in every kernel variant", "[stats][variants]") {
    using stats::detail::kPanelWidth;
    const Eigen::Index rows = 7, subjects = 37, chunks = 3, ld = chunks * kPanelWidth;
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    std::vector<double> w(static_cast<std::size_t>(rows * subjects)), panels(static_cast<std::size_t>(chunks * subjects * kPanelWidth));
    for (double& value : w) value = normal(rng);
    for (double& value : panels) value = normal(rng);
    std::vector<double> expected(static_cast<std::size_t>(rows * ld));
    for (Eigen::Index c = 0; c < chunks; ++c) {
        for (Eigen::Index r = 0; r < rows; ++r) {
            for (Eigen::Index l = 0; l < kPanelWidth; ++l) {
                double sum = 0.0;
                for (Eigen::Index i = 0; i < subjects; ++i) {
                    sum += w[static_cast<std::size_t>(r * subjects + i)] *
                           panels[static_cast<std::size_t>((c * subjects + i) * kPanelWidth + l)];
                }
                expected[static_cast<std::size_t>(r * ld + c * kPanelWidth + l)] = sum;
            }
        }
    }
    // One-sample t on the first row: u = effect, ss = effect² + residual.
    std::vector<double> ss(static_cast<std::size_t>(ld)), t_expected(static_cast<std::size_t>(ld));
    for (Eigen::Index e = 0; e < ld; ++e) {
        const double u = expected[static_cast<std::size_t>(e)];
        ss[static_cast<std::size_t>(e)] = u * u + 1.0 + 0.01 * static_cast<double>(e);
        const double sse = ss[static_cast<std::size_t>(e)] - u * u;
        t_expected[static_cast<std::size_t>(e)] = u / std::sqrt(sse / 30.0);
    }
    for (const KernelVariant variant : test::available_variants()) {
        const test::ForcedVariant forced(variant);
        INFO(kernel_variant_name(variant));
        std::vector<double> out(expected.size(), -1.0), t(t_expected.size());
        stats::detail::panel_gemm(w.data(), rows, subjects, panels.data(), chunks, out.data(), ld);
        CHECK(std::memcmp(out.data(), expected.data(), sizeof(double) * expected.size()) == 0);
        stats::detail::shuffle_statistic(expected.data(), ld, 1, 1, true, 30.0, ss.data(), ld, t.data());
        CHECK(std::memcmp(t.data(), t_expected.data(), sizeof(double) * t.size()) == 0);
    }
}
