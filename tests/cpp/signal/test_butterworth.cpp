// Butterworth design (scipy.signal.butter(..., output="sos")) against the bilinear transform and the
// magnitude response of the cascade.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/signal/butterworth.hpp"
#include "rewire/signal/sosfiltfilt.hpp"
#include "signal/signal_support.hpp"

using namespace rewire;

using rewire::test::gain_at;
using rewire::test::kPi;

TEST_CASE("first-order Butterworth equals the bilinear transform of wc / (s + wc)", "[signal][butterworth]") {
    const double fs = 0.5, cutoff = 0.1;
    const double w = 4.0 * std::tan(kPi * (cutoff / (fs / 2)) / 2.0);  // prewarped, fs = 2 convention
    const Sos sos = butterworth_sos(1, std::nullopt, cutoff, fs);
    REQUIRE(sos.rows() == 1);
    const double g = w / (4.0 + w);
    CHECK(sos(0, 0) == Approx(g).epsilon(1e-14));
    CHECK(sos(0, 1) == Approx(g).epsilon(1e-14));
    CHECK(sos(0, 2) == 0.0);
    CHECK(sos(0, 3) == 1.0);
    CHECK(sos(0, 4) == Approx(-(4.0 - w) / (4.0 + w)).epsilon(1e-14));
    CHECK(sos(0, 5) == 0.0);
    CHECK(sosfiltfilt_default_padlen(sos) == 3 * (2 * 1 + 1 - 1));  // one section with b2 = a2 = 0
}

TEST_CASE("Butterworth responses: -3 dB at the cut-offs, unit pass band, zero stop band",
          "[signal][butterworth]") {
    const double fs = 1.0 / 0.72;
    for (int order : {2, 3, 5, 8}) {
        const Sos low = butterworth_sos(order, std::nullopt, 0.1, fs);
        CHECK(low.rows() == (order + 1) / 2);
        CHECK(gain_at(low, 0.1, fs) == Approx(std::sqrt(0.5)).epsilon(1e-10));
        CHECK(gain_at(low, 0.0, fs) == Approx(1.0).epsilon(1e-12));
        CHECK(gain_at(low, fs / 2, fs) < 1e-12);
        const Sos high = butterworth_sos(order, 0.01, std::nullopt, fs);
        CHECK(gain_at(high, 0.01, fs) == Approx(std::sqrt(0.5)).epsilon(1e-10));
        CHECK(gain_at(high, 0.0, fs) < 1e-12);
        CHECK(gain_at(high, fs / 2, fs) == Approx(1.0).epsilon(1e-12));
        const Sos band = butterworth_sos(order, 0.01, 0.1, fs);
        CHECK(band.rows() == order);
        CHECK(gain_at(band, 0.01, fs) == Approx(std::sqrt(0.5)).epsilon(1e-9));
        CHECK(gain_at(band, 0.1, fs) == Approx(std::sqrt(0.5)).epsilon(1e-9));
        CHECK(gain_at(band, 0.0, fs) < 1e-12);
        CHECK(gain_at(band, fs / 2, fs) < 1e-12);
        for (Eigen::Index s = 0; s < band.rows(); ++s)
            CHECK(band(s, 3) == 1.0);
    }
}

TEST_CASE("Butterworth design refuses impossible cut-offs", "[signal][butterworth][errors]") {
    CHECK_THROWS_AS(butterworth_sos(5, std::nullopt, 0.25, 0.5), InvalidInput);  // at Nyquist
    CHECK_THROWS_AS(butterworth_sos(5, 0.0, std::nullopt, 0.5), InvalidInput);
    CHECK_THROWS_AS(butterworth_sos(5, 0.1, 0.05, 0.5), InvalidInput);
    CHECK_THROWS_AS(butterworth_sos(0, 0.01, 0.1, 0.5), InvalidInput);
    CHECK_THROWS_WITH(butterworth_sos(5, std::nullopt, 0.3, 0.5),
                      Catch::Contains("low_pass must lie in (0, Nyquist"));
}
