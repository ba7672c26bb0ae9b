// rewire::stats — NBS against a literal re-implementation of its definition, planted effects, empty
// results, and family-wise calibration (NBS and max-T) on null simulations.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "rewire/stats/maxt.hpp"
#include "rewire/stats/nbs.hpp"
#include "rewire/stats/tfnbs.hpp"
#include "stats/nbs_reference.hpp"
#include "test_support.hpp"

using namespace rewire;
using namespace rewire::stats;
using rewire::test::normal_matrix;

using rewire::test::reference_cluster_size;
using rewire::test::reference_tfnbs;

TEST_CASE("nbs: component measures equal a flood fill over edges", "[stats][nbs]") {
    const Eigen::Index nodes = 12;
    const Eigen::Index edges = nodes * (nodes - 1) / 2;
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const Eigen::VectorXd t = normal_matrix(edges, 1, seed).col(0) * 1.6;
        for (bool strict : {true, false}) {
            NbsOptions options;
            options.threshold = 1.0;
            options.strict = strict;
            options.tail = Tail::greater;
            const Nbs positive(nodes, options);
            CHECK(positive.enhance(t) == reference_cluster_size(t, 1.0, strict, nodes));
            options.tail = Tail::less;
            CHECK(Nbs(nodes, options).enhance(t) == reference_cluster_size(-t, 1.0, strict, nodes));
            // Two-sided, separate signs: each edge keeps its own sign's component.
            options.tail = Tail::two_sided;
            const Eigen::VectorXd both = Nbs(nodes, options).enhance(t);
            const Eigen::VectorXd expected =
                reference_cluster_size(t, 1.0, strict, nodes) + reference_cluster_size(-t, 1.0, strict, nodes);
            CHECK(both == expected);
            // bctpy's mixed signs: components of |t|.
            options.mixed_signs = true;
            CHECK(Nbs(nodes, options).enhance(t) == reference_cluster_size(t.cwiseAbs(), 1.0, strict, nodes));
            // max_enhanced is the same computation.
            const Nbs mixed(nodes, options);
            auto scratch = mixed.make_scratch();
            CHECK(mixed.max_enhanced(t.data(), edges, *scratch) == mixed.enhance(t).maxCoeff());
        }
        // Intensity: Σ (t − threshold) over each component, components listed largest first.
        NbsOptions options;
        options.threshold = 1.0;
        options.tail = Tail::greater;
        options.measure = NbsMeasure::intensity;
        const Nbs intensity(nodes, options);
        const auto components = intensity.components(t);
        double previous = 1e300;
        Eigen::Index covered = 0;
        for (const auto& c : components) {
            double sum = 0.0;
            for (auto e : c.edges) sum += t[e] - 1.0;
            CHECK(c.intensity == Approx(sum).epsilon(1e-12));
            CHECK(c.extent == static_cast<double>(c.edges.size()));
            CHECK(intensity.value(c) <= previous);
            previous = intensity.value(c);
            covered += static_cast<Eigen::Index>(c.edges.size());
        }
        CHECK(covered == (t.array() > 1.0).count());
    }
}

TEST_CASE("nbs: a planted component is found, an impossible threshold gives no components", "[stats][nbs]") {
    const Eigen::Index nodes = 14;
    const Eigen::Index edges = nodes * (nodes - 1) / 2;
    const Eigen::Index s = 24;
    Eigen::MatrixXd data = normal_matrix(s, edges, 8);
    // Effect on every edge among nodes 0..4 (10 edges), in the paired differences.
    std::vector<Eigen::Index> planted;
    for (Eigen::Index i = 0; i < 5; ++i) {
        for (Eigen::Index j = i + 1; j < 5; ++j) planted.push_back(i * nodes - i * (i + 1) / 2 + (j - i - 1));
    }
    for (auto e : planted) data.col(e).array() += 1.2;
    const Model model = make_model(Eigen::MatrixXd::Ones(s, 1), Eigen::MatrixXd::Ones(1, 1));
    ShuffleOptions shuffle;
    shuffle.count = 500;
    shuffle.seed = 1;
    NbsOptions options;
    options.threshold = 3.0;
    const NbsResult result = nbs(data, model, Shuffles::random(s, shuffle), options);
    REQUIRE_FALSE(result.components.empty());
    const Component& top = result.components.front();
    CHECK(top.sign == 1);
    CHECK(top.p < 0.01);
    CHECK(top.nodes == std::vector<Eigen::Index>{0, 1, 2, 3, 4});
    CHECK(top.edges == planted);
    for (auto e : planted) CHECK(result.test.p_fwe[e] == top.p);

    // Z threshold: the t threshold with the same tail probability at 23 dof.
    NbsOptions z = options;
    z.scale = ThresholdScale::z;
    const NbsResult by_z = nbs(data, model, Shuffles::random(s, shuffle), z);
    CHECK(by_z.threshold == Approx(z_to_t(3.0, 23.0)));
    CHECK(by_z.threshold > 3.0);

    options.threshold = 1e6;
    const NbsResult empty = nbs(data, model, Shuffles::random(s, shuffle), options);
    CHECK(empty.components.empty());
    CHECK(empty.test.null.maxCoeff() == 0.0);
    CHECK(empty.test.p_fwe.minCoeff() == 1.0);

    NbsOptions missing;
    CHECK_THAT(test::message_of<InvalidInput>([&] { nbs(data, model, Shuffles::random(s, shuffle), missing); }),
               Catch::Contains("threshold"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { nbs(data.leftCols(11), model, Shuffles::random(s, shuffle), options); }),
               Catch::Contains("N(N-1)/2"));
}

namespace {

/// 2.5% and 97.5% quantiles of Binomial(n, p).
std::pair<int, int> binomial_interval(int n, double p) {
    double cdf = 0.0;
    int low = -1, high = -1;
    for (int k = 0; k <= n; ++k) {
        cdf += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * std::log(p) +
                        (n - k) * std::log1p(-p));
        if (low < 0 && cdf >= 0.025) low = k;
        if (high < 0 && cdf >= 0.975) high = k;
    }
    return {low, high};
}

}  // namespace

TEST_CASE("calibration: family-wise rejection rate on null data is α", "[stats][calibration]") {
    // 300 null studies per scenario: 8 nodes (28 edges), 99 shuffles each, so p = (1 + #)/100 makes
    // P(p ≤ 0.05) exactly 0.05 for an exact test. The count of studies with any FWE-significant
    // edge (max-T) or component (NBS) must lie in the central 95% interval of Binomial(300, 0.05).
    const int studies = 300;
    const auto [low, high] = binomial_interval(studies, 0.05);
    const Eigen::Index nodes = 8;
    const Eigen::Index edges = 28;
    const Eigen::Index s = 16;
    Eigen::MatrixXd two_sample(s, 3);
    two_sample.col(0).setOnes();
    for (int i = 0; i < s; ++i) two_sample(i, 1) = i < 8 ? 1.0 : 0.0;
    two_sample.col(2) = normal_matrix(s, 1, 99).col(0);  // a nuisance covariate: Freedman–Lane
    const Model paired = make_model(Eigen::MatrixXd::Ones(s, 1), Eigen::MatrixXd::Ones(1, 1));
    const Model group = make_model(two_sample, Eigen::RowVector3d(0, 1, 0));
    PermutationOptions quiet;
    quiet.threads = 1;
    int rejected[4] = {0, 0, 0, 0};
    for (int study = 0; study < studies; ++study) {
        // Correlated edges (a shared subject effect), as connectivity is.
        Eigen::MatrixXd data = normal_matrix(s, edges, 1000 + static_cast<std::uint64_t>(study));
        data += 0.5 * normal_matrix(s, 1, 5000 + static_cast<std::uint64_t>(study)) * Eigen::RowVectorXd::Ones(edges);
        // For the group test: a nuisance signal that Freedman–Lane must remove.
        const Eigen::MatrixXd with_nuisance = data + two_sample.col(2) * Eigen::RowVectorXd::Constant(edges, 0.8);
        ShuffleOptions flips;
        flips.count = 99;
        flips.seed = static_cast<std::uint64_t>(study);
        ShuffleOptions perms = flips;
        perms.kind = ShuffleKind::permutation;
        NbsOptions nbs_options;
        nbs_options.threshold = 2.0;
        rejected[0] += maxt(data, paired, Shuffles::random(s, flips), Tail::two_sided, quiet).p_fwe.minCoeff() <= 0.05;
        rejected[1] += maxt(with_nuisance, group, Shuffles::random(s, perms), Tail::two_sided, quiet).p_fwe.minCoeff() <= 0.05;
        const auto a = nbs(data, paired, Shuffles::random(s, flips), nbs_options, quiet);
        rejected[2] += !a.components.empty() && a.components.front().p <= 0.05;
        const auto b = nbs(with_nuisance, group, Shuffles::random(s, perms), nbs_options, quiet);
        rejected[3] += !b.components.empty() && b.components.front().p <= 0.05;
    }
    INFO("95% interval [" << low << ", " << high << "]; rejections: max-T sign-flip " << rejected[0]
                          << ", max-T Freedman–Lane " << rejected[1] << ", NBS sign-flip " << rejected[2]
                          << ", NBS Freedman–Lane " << rejected[3]);
    (void)nodes;
    for (int r : rejected) {
        CHECK(r >= low);
        CHECK(r <= high);
    }
}
