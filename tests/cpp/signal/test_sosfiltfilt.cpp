// Zero-phase filtering (scipy.signal.sosfiltfilt): squared gain, no phase shift, unit DC gain, linearity.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "rewire/signal/butterworth.hpp"
#include "rewire/signal/sosfiltfilt.hpp"
#include "signal/signal_support.hpp"
#include "variant_support.hpp"

using namespace rewire;

using rewire::test::gain_at;
using rewire::test::kPi;
using rewire::test::random_walk;

namespace {

/// Amplitude and phase (relative to sin) of the `hz` component of x over samples [a, b).
std::pair<double, double> sine_component(const Eigen::VectorXd& x, double hz, double fs, Eigen::Index a,
                                         Eigen::Index b) {
    double s = 0.0, c = 0.0, ss = 0.0, cc = 0.0;
    for (Eigen::Index t = a; t < b; ++t) {
        const double w = 2.0 * kPi * hz * t / fs;
        s += x[t] * std::sin(w);
        c += x[t] * std::cos(w);
        ss += std::sin(w) * std::sin(w);
        cc += std::cos(w) * std::cos(w);
    }
    return {s / ss, c / cc};
}

}  // namespace

TEST_CASE("zero-phase filtering: squared gain, no phase shift, unit DC gain, linearity",
          "[signal][butterworth]") {
    const double fs = 1.0;
    const ZeroPhaseFilter filter(butterworth_sos(5, std::nullopt, 0.1, fs));
    const Eigen::Index n = 4000;
    for (double hz : {0.02, 0.1, 0.13}) {
        Eigen::MatrixXd x(n, 1);
        for (Eigen::Index t = 0; t < n; ++t)
            x(t, 0) = std::sin(2.0 * kPi * hz * t / fs);
        const Eigen::MatrixXd y = filter(x);
        const auto [in_phase, quadrature] = sine_component(y.col(0), hz, fs, 1000, 3000);
        const double expected = std::pow(gain_at(butterworth_sos(5, std::nullopt, 0.1, fs), hz, fs), 2);
        CHECK(in_phase == Approx(expected).margin(2e-3));
        CHECK(std::abs(quadrature) < 2e-3);
    }
    const Eigen::MatrixXd constant = Eigen::MatrixXd::Constant(200, 1, 3.5);
    CHECK((filter(constant).array() - 3.5).abs().maxCoeff() < 1e-10);
    const Eigen::MatrixXd a = random_walk(200, 1, 1), b = random_walk(200, 1, 2);
    CHECK((filter(2.0 * a - b) - (2.0 * filter(a) - filter(b))).cwiseAbs().maxCoeff() < 1e-10);
    CHECK_THROWS_WITH(filter(Eigen::MatrixXd::Zero(18, 1)), Catch::Contains("needs more than padlen = 18"));
    CHECK(ZeroPhaseFilter(butterworth_sos(5, std::nullopt, 0.1, fs), PadType::none).padlen() == 0);
    CHECK(ZeroPhaseFilter(butterworth_sos(5, 0.01, 0.1, fs), PadType::odd, 7).padlen() == 7);
}

TEST_CASE("zero-phase filtering gives the same bits in every kernel variant, one series or four at a time",
          "[signal][variants]") {
    const ZeroPhaseFilter filter(butterworth_sos(4, 0.01, 0.1, 1.0));
    const Eigen::MatrixXd x = random_walk(500, 7, 3);  // one group of four series, one of three
    Eigen::MatrixXd reference;
    for (const KernelVariant variant : test::available_variants()) {
        const test::ForcedVariant forced(variant);
        const Eigen::MatrixXd y = filter(x);
        std::vector<double> work(static_cast<std::size_t>(filter.work_size(x.rows())));
        for (Eigen::Index j = 0; j < x.cols(); ++j) {
            Eigen::VectorXd alone = x.col(j);
            filter.filter(alone.data(), alone.size(), work.data());
            CHECK(std::memcmp(alone.data(), y.col(j).data(), sizeof(double) * static_cast<std::size_t>(alone.size())) == 0);
        }
        if (variant == KernelVariant::generic) {
            reference = y;
            continue;
        }
        INFO(kernel_variant_name(variant));
        CHECK(std::memcmp(y.data(), reference.data(), sizeof(double) * static_cast<std::size_t>(y.size())) == 0);
    }
}
