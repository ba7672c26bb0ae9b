// clean(): detrend, censoring, band-pass, confound regression and standardisation, against closed forms and
// properties (the comparisons with nilearn are in tests/python/test_clean.py).
#include <Eigen/QR>
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/signal/clean.hpp"
#include "rewire/signal/detrend.hpp"
#include "signal/signal_support.hpp"

using namespace rewire;
using rewire::test::kPi;
using rewire::test::random_walk;

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
    // A TR of 1e-30 s (a header's placeholder): 0.08 Hz is 1.6e-31 of Nyquist, a filter with singular
    // sections (scipy: sosfilt_zi fails below about 3e-9); refused by name, not by the linear solver.
    CleanOptions tiny_tr;
    tiny_tr.low_pass = 0.08;
    tiny_tr.t_r = 1e-30;
    CHECK_THROWS_WITH(clean(x, tiny_tr), Catch::Contains("low-pass cut-off 0.08 Hz is 1.6") &&
                                             Catch::Contains("of the Nyquist frequency") && Catch::Contains("t_r"));
    CleanOptions slow_high;
    slow_high.high_pass = 1e-8;  // 2e-8 of Nyquist at t_r 1 s
    slow_high.t_r = 1.0;
    CHECK_THROWS_WITH(clean(x, slow_high), Catch::Contains("high-pass cut-off 1e-08 Hz"));
    slow_high.high_pass = 1e-5;  // 2e-5 of Nyquist: a narrow filter, but one that can be built
    CHECK(clean(x, slow_high).allFinite());
}
