// rewire::stats — TFNBS against a literal re-implementation of MRtrix3's TFCE over NBS.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/stats/tfnbs.hpp"
#include "stats/nbs_reference.hpp"
#include "test_support.hpp"

using namespace rewire;
using namespace rewire::stats;
using rewire::test::normal_matrix;
using rewire::test::reference_tfnbs;

TEST_CASE("tfnbs: equals MRtrix3's TFCE-over-NBS loop", "[stats][tfnbs]") {
    const Eigen::Index nodes = 9;
    const Eigen::Index edges = nodes * (nodes - 1) / 2;
    for (std::uint64_t seed : {4u, 5u}) {
        const Eigen::VectorXd t =
            normal_matrix(edges, 1, seed).col(0) * 1.5 + Eigen::VectorXd::Constant(edges, 0.4);
        TfnbsOptions options;
        options.tail = Tail::greater;
        const Tfnbs enhancer(nodes, options);
        const Eigen::VectorXd ours = enhancer.enhance(t);
        const Eigen::VectorXd reference = reference_tfnbs(t, 0.1, 0.4, 3.0, nodes);
        CHECK((ours - reference).cwiseAbs().maxCoeff() <= 1e-11 * reference.maxCoeff());
        auto scratch = enhancer.make_scratch();
        CHECK(enhancer.max_enhanced(t.data(), edges, *scratch) == ours.maxCoeff());
        // Other parameters, and the negative side.
        options.dh = 0.25;
        options.e = 0.5;
        options.h = 2.0;
        options.tail = Tail::two_sided;
        const Eigen::VectorXd two = Tfnbs(nodes, options).enhance(t);
        const Eigen::VectorXd expected =
            reference_tfnbs(t, 0.25, 0.5, 2.0, nodes) + reference_tfnbs(-t, 0.25, 0.5, 2.0, nodes);
        CHECK((two - expected).cwiseAbs().maxCoeff() <= 1e-11 * expected.maxCoeff());
    }
    TfnbsOptions bad;
    bad.dh = 0.0;
    CHECK_THAT(test::message_of<InvalidInput>([&] { Tfnbs(5, bad); }), Catch::Contains("dh"));
}
