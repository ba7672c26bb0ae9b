// Edge z-scores: the naive Fisher z test and Bartlett's / xDF effective degrees of freedom, against closed
// forms for AR(1) pairs.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/edge_zscores.hpp"

using namespace rewire;

TEST_CASE("edge z-scores: naive is sqrt(T-3) atanh r; Bartlett's T_eff for AR(1) pairs", "[connectivity]") {
    // Independent AR(1) pairs with φ_x = 0.6, φ_y = 0.5: 1 + 2 Σ_k (0.3)^k = 1 + 2·0.3/0.7 (Bartlett 1946).
    const int t = 20000;
    Eigen::MatrixXd x(t, 2);
    std::uint64_t state = 12345;
    auto normal = [&state]() {  // Box–Muller on a small LCG: deterministic on every platform
        auto uniform = [&state]() {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            return (static_cast<double>(state >> 11) + 0.5) / 9007199254740992.0;
        };
        const double u = uniform(), v = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
    };
    x(0, 0) = normal();
    x(0, 1) = normal();
    for (int i = 1; i < t; ++i) {
        x(i, 0) = 0.6 * x(i - 1, 0) + normal();
        x(i, 1) = 0.5 * x(i - 1, 1) + normal();
    }
    EdgeZOptions naive;
    naive.method = ZVariance::naive;
    const EdgeZScores n = edge_zscores(x, naive);
    CHECK(n.zscore(0, 1) == Approx(std::atanh(correlation(x)(0, 1)) * std::sqrt(t - 3.0)).epsilon(1e-12));
    CHECK(n.dof(0, 1) == t);
    const EdgeZScores b = edge_zscores(x);
    CHECK(b.max_lag == 141);  // ⌊√20000⌋
    const double expected = t / (1.0 + 2.0 * 0.3 / 0.7);
    CHECK(b.dof(0, 1) == Approx(expected).epsilon(0.05));
    CHECK(b.dof(1, 0) == b.dof(0, 1));
    CHECK(b.zscore(0, 1) == Approx(b.fisher_z(0, 1) * std::sqrt(b.dof(0, 1) - 3.0)).epsilon(1e-12));
    CHECK(b.zscore(0, 0) == 0.0);
    CHECK(b.dof(0, 0) == t);
    // xDF (Afyouni et al. 2019) reduces to Bartlett's correction for uncorrelated series.
    EdgeZOptions xdf;
    xdf.method = ZVariance::xdf;
    const EdgeZScores x2 = edge_zscores(x, xdf);
    CHECK(x2.dof(0, 1) - 3.0 == Approx(expected).epsilon(0.05));
    CHECK(x2.dof(0, 1) == x2.dof(1, 0));
    CHECK(parse_z_variance("xdf") == ZVariance::xdf);
    // White noise: T_eff stays close to T and never above it.
    Eigen::MatrixXd w(t, 2);
    for (int i = 0; i < t; ++i)
        w(i, 0) = normal(), w(i, 1) = normal();
    const EdgeZScores bw = edge_zscores(w);
    CHECK(bw.dof(0, 1) <= t);
    CHECK(bw.dof(0, 1) >= 0.95 * t);
    EdgeZOptions bad;
    bad.max_lag = 0;
    CHECK_THROWS_AS(edge_zscores(w, bad), InvalidInput);
    CHECK_THROWS_WITH(parse_z_variance("xdf2"), Catch::Matchers::Contains("'naive', 'bartlett'"));
}
