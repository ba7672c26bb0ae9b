// Signal cleaning: Butterworth design and zero-phase filtering, spline interpolation of censored
// frames, detrend, cosine drift and clean(), against closed forms and properties (the comparisons
// with scipy and nilearn are in tests/python/test_clean.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <random>

#include <Eigen/QR>

#include "rewire/signal/butterworth.hpp"
#include "rewire/signal/interpolate.hpp"
#include "rewire/signal/clean.hpp"

using namespace rewire;

namespace {

constexpr double kPi = 3.141592653589793;

/// |H(e^{jω})| of a cascade of sections at `hz` for sampling rate `fs`.
double gain_at(const Sos& sos, double hz, double fs) {
    const std::complex<double> z1 = std::polar(1.0, -2.0 * kPi * hz / fs);
    std::complex<double> h(1.0, 0.0);
    for (Eigen::Index s = 0; s < sos.rows(); ++s) {
        h *= (sos(s, 0) + sos(s, 1) * z1 + sos(s, 2) * z1 * z1) / (sos(s, 3) + sos(s, 4) * z1 + sos(s, 5) * z1 * z1);
    }
    return std::abs(h);
}

Eigen::MatrixXd random_walk(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
    std::mt19937 engine(seed);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd x(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j) {
        double level = 10.0 * j;
        for (Eigen::Index t = 0; t < rows; ++t) x(t, j) = (level += normal(engine)) + normal(engine);
    }
    return x;
}

/// Amplitude and phase (relative to sin) of the `hz` component of x over samples [a, b).
std::pair<double, double> sine_component(const Eigen::VectorXd& x, double hz, double fs, Eigen::Index a, Eigen::Index b) {
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

TEST_CASE("Butterworth responses: -3 dB at the cut-offs, unit pass band, zero stop band", "[signal][butterworth]") {
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
        for (Eigen::Index s = 0; s < band.rows(); ++s) CHECK(band(s, 3) == 1.0);
    }
}

TEST_CASE("Butterworth design refuses impossible cut-offs", "[signal][butterworth][errors]") {
    CHECK_THROWS_AS(butterworth_sos(5, std::nullopt, 0.25, 0.5), InvalidInput);  // at Nyquist
    CHECK_THROWS_AS(butterworth_sos(5, 0.0, std::nullopt, 0.5), InvalidInput);
    CHECK_THROWS_AS(butterworth_sos(5, 0.1, 0.05, 0.5), InvalidInput);
    CHECK_THROWS_AS(butterworth_sos(0, 0.01, 0.1, 0.5), InvalidInput);
    CHECK_THROWS_WITH(butterworth_sos(5, std::nullopt, 0.3, 0.5), Catch::Contains("low_pass must lie in (0, Nyquist"));
}

TEST_CASE("zero-phase filtering: squared gain, no phase shift, unit DC gain, linearity", "[signal][butterworth]") {
    const double fs = 1.0;
    const ZeroPhaseFilter filter(butterworth_sos(5, std::nullopt, 0.1, fs));
    const Eigen::Index n = 4000;
    for (double hz : {0.02, 0.1, 0.13}) {
        Eigen::MatrixXd x(n, 1);
        for (Eigen::Index t = 0; t < n; ++t) x(t, 0) = std::sin(2.0 * kPi * hz * t / fs);
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

TEST_CASE("the not-a-knot spline reproduces cubics across censored gaps", "[signal][spline]") {
    const auto cubic = [](double t) { return 0.001 * t * t * t - 0.05 * t * t + 0.3 * t - 2.0; };
    const std::vector<std::int64_t> kept{0, 1, 2, 5, 6, 9, 10, 11, 14, 15};
    Eigen::MatrixXd x = Eigen::MatrixXd::Constant(20, 2, 1e6);  // censored values are ignored
    for (std::int64_t t : kept) {
        x(t, 0) = cubic(static_cast<double>(t));
        x(t, 1) = 2.0 * cubic(static_cast<double>(t));
    }
    const Eigen::MatrixXd filled = interpolate_censored(x, kept, true);
    for (Eigen::Index t = 0; t < 20; ++t) {
        CHECK(filled(t, 0) == Approx(cubic(static_cast<double>(t))).margin(1e-9));
        CHECK(filled(t, 1) == Approx(2.0 * cubic(static_cast<double>(t))).margin(1e-9));
    }
    const Eigen::MatrixXd inside = interpolate_censored(x, kept, false);
    CHECK(std::isnan(inside(17, 0)));
    CHECK(inside(12, 0) == Approx(cubic(12.0)).margin(1e-9));
    // Two kept frames: a straight line; three: a parabola.
    Eigen::MatrixXd line = Eigen::MatrixXd::Zero(6, 1);
    line(1, 0) = 1.0;
    line(4, 0) = 7.0;
    CHECK(interpolate_censored(line, {1, 4}, true)(3, 0) == Approx(5.0).epsilon(1e-14));
    Eigen::MatrixXd parabola = Eigen::MatrixXd::Zero(8, 1);
    for (std::int64_t t : {0, 3, 7}) parabola(t, 0) = 0.5 * t * t - t;
    CHECK(interpolate_censored(parabola, {0, 3, 7}, true)(5, 0) == Approx(0.5 * 25 - 5).epsilon(1e-12));
    CHECK_THROWS_AS(FrameSpline({3}, 10, true), InvalidInput);
    CHECK_THROWS_AS(FrameSpline({3, 2}, 10, true), InvalidInput);
    CHECK_THROWS_AS(FrameSpline({3, 10}, 10, true), InvalidInput);
}

TEST_CASE("detrend leaves residuals orthogonal to a constant and a ramp", "[signal][detrend]") {
    Eigen::MatrixXd x = random_walk(57, 3, 3);
    for (Eigen::Index t = 0; t < 57; ++t) x(t, 2) = 3.0 + 0.5 * t;
    const Eigen::MatrixXd d = detrend(x);
    for (Eigen::Index j = 0; j < 3; ++j) {
        CHECK(std::abs(d.col(j).sum()) < 1e-10);
        double ramp = 0.0;
        for (Eigen::Index t = 0; t < 57; ++t) ramp += d(t, j) * t;
        CHECK(std::abs(ramp) < 1e-9);
    }
    CHECK(d.col(2).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(detrend(Eigen::MatrixXd::Ones(1, 2)) == Eigen::MatrixXd::Ones(1, 2));
}

TEST_CASE("cosine drift: orthonormal DCT-II columns up to the cut-off, then a constant", "[signal][cosine]") {
    const Eigen::MatrixXd drift = cosine_drift(0.01, 200, 2.0);
    REQUIRE(drift.cols() == 8 + 1);  // floor(2 · 200 · 0.01 · 2) cosines
    const Eigen::MatrixXd cosines = drift.leftCols(8);
    CHECK((cosines.transpose() * cosines - Eigen::MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(drift.col(8) == Eigen::VectorXd::Ones(200));
    CHECK(cosine_drift(0.3, 40, 2.0).cols() == 40);  // capped at T − 1 cosines
}

TEST_CASE("clean: defaults give zero-mean, unit-variance columns blind to linear trends", "[signal][clean]") {
    const Eigen::MatrixXd x = random_walk(120, 4, 5);
    const Eigen::MatrixXd y = clean(x);
    for (Eigen::Index j = 0; j < 4; ++j) {
        CHECK(std::abs(y.col(j).mean()) < 1e-12);
        CHECK(std::sqrt(y.col(j).squaredNorm() / 119.0) == Approx(1.0).epsilon(1e-12));
    }
    Eigen::MatrixXd trended = x;
    for (Eigen::Index t = 0; t < 120; ++t) trended.row(t).array() += 0.7 * t - 3.0;
    CHECK((clean(trended) - y).cwiseAbs().maxCoeff() < 1e-9);
    CleanOptions population;
    population.standardize = Standardize::zscore;
    CHECK((clean(x, population) - y * std::sqrt(120.0 / 119.0)).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("clean: confound regression leaves residuals orthogonal to the confounds", "[signal][clean]") {
    const Eigen::MatrixXd confounds = random_walk(150, 3, 7);
    Eigen::MatrixXd x = random_walk(150, 5, 8);
    x += confounds * Eigen::MatrixXd::Constant(3, 5, 0.8);
    CleanOptions options;
    options.standardize = Standardize::none;
    const Eigen::MatrixXd y = clean(x, options, confounds);
    const Eigen::MatrixXd detrended = detrend(confounds);
    CHECK((detrended.transpose() * y).cwiseAbs().maxCoeff() < 1e-8 * y.cwiseAbs().maxCoeff() * 150);
    // Equivalent by ordinary least squares on the detrended data.
    const Eigen::MatrixXd dx = detrend(x);
    const Eigen::MatrixXd beta = detrended.colPivHouseholderQr().solve(dx);
    CHECK((y - (dx - detrended * beta)).cwiseAbs().maxCoeff() < 1e-9 * dx.cwiseAbs().maxCoeff());
}

TEST_CASE("clean: a planted band-limited signal survives drift, confounds and band-pass", "[signal][clean]") {
    const Eigen::Index n = 400;
    const double t_r = 1.0;
    Eigen::MatrixXd confounds = random_walk(n, 2, 9);
    Eigen::MatrixXd x(n, 1);
    Eigen::VectorXd planted(n);
    for (Eigen::Index t = 0; t < n; ++t) {
        planted[t] = std::sin(2.0 * kPi * 0.05 * t * t_r);
        x(t, 0) = planted[t] + 0.02 * t + 2.0 * confounds(t, 0) + 0.3 * std::sin(2.0 * kPi * 0.4 * t);
    }
    CleanOptions options;
    options.low_pass = 0.1;
    options.high_pass = 0.01;
    options.t_r = t_r;
    const Eigen::MatrixXd y = clean(x, options, confounds);
    const Eigen::VectorXd a = y.col(0).segment(50, 300);
    const Eigen::VectorXd b = planted.segment(50, 300);
    const double r = (a.array() - a.mean()).matrix().dot((b.array() - b.mean()).matrix()) /
                     std::sqrt((a.array() - a.mean()).square().sum() * (b.array() - b.mean()).square().sum());
    CHECK(r > 0.95);
}

TEST_CASE("clean: runs are cleaned alone; censoring without a filter equals cleaning the kept frames",
          "[signal][clean]") {
    const Eigen::MatrixXd x = random_walk(160, 3, 11);
    const Eigen::MatrixXd confounds = random_walk(160, 2, 12);
    CleanOptions options;
    options.low_pass = 0.2;
    options.t_r = 1.0;
    std::vector<std::int64_t> runs(160, 4);
    std::fill(runs.begin(), runs.begin() + 70, 9);  // label 9 first in time, 4 first in the output
    const Eigen::MatrixXd y = clean(x, options, confounds, {}, runs);
    REQUIRE(y.rows() == 160);
    CHECK(y.topRows(90) == clean(x.bottomRows(90), options, confounds.bottomRows(90)));
    CHECK(y.bottomRows(70) == clean(x.topRows(70), options, confounds.topRows(70)));

    CleanOptions plain;
    plain.filter = TemporalFilter::none;
    std::vector<bool> keep(160, true);
    std::vector<Eigen::Index> kept;
    for (Eigen::Index t = 0; t < 160; ++t) {
        if (t % 7 == 3) keep[static_cast<std::size_t>(t)] = false;
        else kept.push_back(t);
    }
    const Eigen::MatrixXd censored = clean(x, plain, confounds, keep);
    const Eigen::MatrixXd subset = clean(x(kept, Eigen::all), plain, confounds(kept, Eigen::all));
    CHECK((censored - subset).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("clean: results do not depend on the number of threads", "[signal][clean]") {
    // 300 × 701 samples: enough work for up to 4 threads (clean() stays serial below 50,000 per thread).
    const Eigen::MatrixXd x = random_walk(300, 701, 13);
    const Eigen::MatrixXd confounds = random_walk(300, 6, 14);
    std::vector<bool> keep(300, true);
    for (int t : {0, 1, 50, 51, 52, 170, 299}) keep[static_cast<std::size_t>(t)] = false;
    CleanOptions options;
    options.low_pass = 0.1;
    options.high_pass = 0.01;
    options.t_r = 1.0;
    options.threads = 1;
    const Eigen::MatrixXd one = clean(x, options, confounds, keep);
    for (int threads : {2, 3, 5}) {
        options.threads = threads;
        CHECK(clean(x, options, confounds, keep) == one);
    }
}

TEST_CASE("clean: psc, constant columns and warnings", "[signal][clean]") {
    Eigen::MatrixXd x = random_walk(80, 2, 15).array() + 100.0;
    CleanOptions psc;
    psc.detrend = false;
    psc.standardize = Standardize::psc;
    const Eigen::MatrixXd y = clean(x, psc);
    for (Eigen::Index j = 0; j < 2; ++j) {
        const double m = x.col(j).mean();
        CHECK((y.col(j) - ((x.col(j).array() - m) / std::abs(m) * 100.0).matrix()).cwiseAbs().maxCoeff() < 1e-10);
    }
    x.col(1).setConstant(1234.5678);
    std::vector<std::string> warnings;
    const Eigen::MatrixXd z = clean(x, CleanOptions{}, Eigen::MatrixXd(), {}, {}, &warnings);
    CHECK(z.col(1) == Eigen::VectorXd::Zero(80));
    REQUIRE(warnings.size() == 1);
    CHECK_THAT(warnings[0], Catch::Contains("1 column(s) (first: 1) have no variance left"));
    warnings.clear();
    CleanOptions nyquist;
    nyquist.low_pass = 0.3;
    nyquist.t_r = 2.0;
    clean(random_walk(80, 2, 16), nyquist, Eigen::MatrixXd(), {}, {}, &warnings);
    REQUIRE(warnings.size() == 1);
    CHECK_THAT(warnings[0], Catch::Contains("It has been lowered to 0.2499997"));
}

TEST_CASE("clean: bad input throws naming the parameter", "[signal][clean][errors]") {
    const Eigen::MatrixXd x = random_walk(60, 2, 17);
    CHECK_THROWS_WITH(clean(x, {}, Eigen::MatrixXd::Zero(59, 2)),
                      Catch::Contains("confounds have 59 rows (time points) but signals have 60"));
    CleanOptions band;
    band.low_pass = 0.05;
    band.high_pass = 0.1;
    CHECK_THROWS_WITH(clean(x, band), Catch::Contains("high_pass (0.1"));
    CleanOptions no_tr;
    no_tr.low_pass = 0.1;
    no_tr.t_r.reset();
    CHECK_THROWS_WITH(clean(x, no_tr), Catch::Contains("needs t_r"));
    CleanOptions bad_tr;
    bad_tr.t_r = 0.0;
    CHECK_THROWS_WITH(clean(x, bad_tr), Catch::Contains("t_r must be > 0"));
    CHECK_THROWS_WITH(clean(x, {}, Eigen::MatrixXd(), std::vector<bool>(60, false)),
                      Catch::Contains("sample_mask removes every frame"));
    CHECK_THROWS_WITH(clean(x, {}, Eigen::MatrixXd(), std::vector<bool>(59, true)),
                      Catch::Contains("sample_mask has 59 flags"));
    Eigen::MatrixXd nan = x;
    nan(4, 1) = std::nan("");
    CHECK_THROWS_WITH(clean(nan), Catch::Contains("signals column 1 has NaN or infinity at frame 4"));
    CleanOptions finite;
    finite.ensure_finite = true;
    CHECK(clean(nan, finite).allFinite());
    CleanOptions short_band;
    short_band.low_pass = 0.1;
    short_band.high_pass = 0.01;
    CHECK_THROWS_WITH(clean(x.topRows(30), short_band), Catch::Contains("needs more than padlen = 33"));
}
