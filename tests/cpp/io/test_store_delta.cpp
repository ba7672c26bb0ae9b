// delta on a cohort store: sessions paired by subject, the unpaired listed.
#include <catch2/catch.hpp>
#include <cmath>

#include "io/store_support.hpp"
#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/cohort_store.hpp"
#include "rewire/io/store_delta.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::make_header;
using rewire::test::make_run;
using rewire::test::TempDir;

TEST_CASE("delta pairs sessions by subject and lists the unpaired", "[cohort]") {
    TempDir dir;
    CohortStore store = CohortStore::open_for_writing(dir.file("study.h5"), make_header(), "test");
    // Committed in different orders, so the pre and post stacks hold the subjects in different rows.
    store.commit(make_run("sub-02", "pre", 2));
    store.commit(make_run("sub-01", "pre", 1));
    store.commit(make_run("sub-03", "pre", 4));
    store.commit(make_run("sub-01", "post", 3));
    store.commit(make_run("sub-02", "post", 5));
    const Deltas d = delta(store);
    CHECK(d.subjects == std::vector<std::string>{"sub-01", "sub-02"});
    CHECK(d.unpaired == std::vector<std::string>{"sub-03"});
    REQUIRE(d.values.rows() == 2);
    const auto edges = [](double seed, const std::string& session) {
        return edge_vector(make_run("sub", session, seed).measures.at("correlation"));
    };
    for (Eigen::Index e = 0; e < d.values.cols(); ++e) {
        CHECK(d.values(0, e) == std::atanh(edges(3, "post")(e)) - std::atanh(edges(1, "pre")(e)));
        CHECK(d.values(1, e) == std::atanh(edges(5, "post")(e)) - std::atanh(edges(2, "pre")(e)));
    }
    DeltaOptions raw;
    raw.fisher_z = false;
    CHECK(delta(store, raw).values.row(1).transpose() == edges(5, "post") - edges(2, "pre"));
    raw.kind = "tangent";
    CHECK_THAT(test::message_of<InvalidInput>([&] { delta(store, raw); }),
               Catch::Matchers::Contains("no 'tangent' measure stored (measures: correlation)"));
    DeltaOptions later;
    later.post = "followup";
    CHECK_THAT(test::message_of<InvalidInput>([&] { delta(store, later); }),
               Catch::Matchers::Contains("no session 'followup' (sessions: post, pre)"));
}
