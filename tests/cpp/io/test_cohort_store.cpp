// CohortStore: round trips, edge stacks, refusal to mix options, uncommitted runs, corrupt files.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "rewire/io/cohort_store.hpp"
#include "rewire/io/result_files.hpp"
#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/edge_zscores.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/io/store_delta.hpp"
#include "rewire/core/error.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::TempDir;

namespace {

StoreHeader make_header() {
    StoreHeader header;
    header.atlas = "atlas.nii.gz";
    header.atlas_checksum = "crc32:1234";
    header.values = {1, 2, 5, 9};
    header.names = {"Amygdala_L", "Amygdala_R", "Frontal_Med_Orb_L", "Frontal_Med_Orb_R"};
    header.coordinates = Eigen::MatrixXd::Random(4, 3);
    header.options = R"({"kind": ["correlation"]})";
    return header;
}

RunRecord make_run(const std::string& subject, const std::string& session, double seed) {
    RunRecord run;
    run.subject = subject;
    run.session = session;
    run.fingerprint = subject + session + "v1";
    run.inputs = R"({"bold": "x.nii.gz"})";
    run.checksums = R"({"bold": "crc32:1"})";
    run.timeseries.resize(30, 4);  // deterministic in `seed`, so a run can be rebuilt for comparison
    for (int t = 0; t < 30; ++t)
        for (int j = 0; j < 4; ++j) run.timeseries(t, j) = std::sin(seed * (t + 1) * (j + 1.7)) + 0.1 * seed;
    for (std::int64_t t = 0; t < 30; ++t) run.sample_mask.push_back(t);
    run.coverage = Eigen::VectorXd::Ones(4);
    run.tr = 2.0;
    run.mean_fd = 0.1 * seed;
    run.frames_total = 30;
    run.measures["correlation"] = correlation(run.timeseries);
    return run;
}

}  // namespace

TEST_CASE("runs and edge stacks round-trip", "[cohort]") {
    TempDir dir;
    const std::string path = dir.file("study.h5");
    {
        CohortStore store = CohortStore::open_for_writing(path, make_header(), "rewire run test");
        store.commit(make_run("sub-01", "pre", 1));
        store.commit(make_run("sub-02", "pre", 2));
        store.commit(make_run("sub-01", "post", 3));
    }
    const CohortStore store = CohortStore::open(path);
    CHECK(store.header().names == make_header().names);
    CHECK(store.runs().size() == 3);
    const RunRecord expected = make_run("sub-02", "pre", 2);
    const RunRecord run = store.read_run("sub-02", "pre");
    CHECK(run.timeseries == expected.timeseries);
    CHECK(run.measures.at("correlation") == expected.measures.at("correlation"));
    CHECK(run.mean_fd == expected.mean_fd);
    CHECK(*store.fingerprint("sub-02", "pre") == expected.fingerprint);
    CHECK_FALSE(store.fingerprint("sub-03", "pre").has_value());

    const EdgeStack pre = store.edges("correlation", "pre");
    CHECK(pre.subjects == std::vector<std::string>{"sub-01", "sub-02"});
    REQUIRE(pre.values.rows() == 2);
    CHECK(pre.values.row(1).transpose() == edge_vector(expected.measures.at("correlation")));
    CHECK(store.kinds() == std::vector<std::string>{"correlation"});
}

TEST_CASE("re-committing a run replaces it in place", "[cohort]") {
    TempDir dir;
    const std::string path = dir.file("study.h5");
    CohortStore store = CohortStore::open_for_writing(path, make_header(), "test");
    store.commit(make_run("sub-01", "pre", 1));
    store.commit(make_run("sub-02", "pre", 2));
    store.commit(make_run("sub-01", "pre", 5));
    const EdgeStack pre = store.edges("correlation", "pre");
    CHECK(pre.subjects == std::vector<std::string>{"sub-01", "sub-02"});
    CHECK(pre.values.row(0).transpose() == edge_vector(make_run("sub-01", "pre", 5).measures.at("correlation")));
}

TEST_CASE("an excluded run leaves runs() and edges() but keeps its data", "[cohort]") {
    TempDir dir;
    const std::string path = dir.file("study.h5");
    CohortStore store = CohortStore::open_for_writing(path, make_header(), "test");
    store.commit(make_run("sub-01", "pre", 1));
    store.commit(make_run("sub-02", "pre", 2));
    store.set_exclusion("sub-01", "pre", "mean FD 0.700 mm > 0.5 mm");
    CHECK(store.runs() == std::vector<std::pair<std::string, std::string>>{{"sub-02", "pre"}});
    CHECK(store.edges("correlation", "pre").subjects == std::vector<std::string>{"sub-02"});
    const auto excluded = store.excluded_runs();
    REQUIRE(excluded.size() == 1);
    CHECK(excluded[0].subject == "sub-01");
    CHECK(excluded[0].reason == "mean FD 0.700 mm > 0.5 mm");
    CHECK(store.read_run("sub-01", "pre").timeseries == make_run("sub-01", "pre", 1).timeseries);
    CHECK(store.qc("sub-01", "pre")->mean_fd == make_run("sub-01", "pre", 1).mean_fd);
    CHECK(store.fingerprint("sub-01", "pre").has_value());  // so an unchanged run is still skipped
    store.set_exclusion("sub-01", "pre", "");
    CHECK(store.runs().size() == 2);
    CHECK(store.edges("correlation", "pre").subjects.size() == 2);
    store.set_exclusion("sub-02", "pre", "too few frames");
    store.commit(make_run("sub-02", "pre", 3));  // committed anew: included again
    CHECK(store.excluded_runs().empty());
    CHECK_THAT(test::message_of<InvalidInput>([&] { store.set_exclusion("sub-09", "pre", "x"); }),
               Catch::Matchers::Contains("no committed run for subject sub-09"));
}

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

TEST_CASE("edge files round-trip and name what is wrong", "[cohort]") {
    TempDir dir;
    const std::string path = dir.file("deltas.h5");
    EdgeStack stack{{"sub-01", "sub-02"}, Eigen::MatrixXd::Random(2, 6)};
    write_edge_file(path, stack, make_header().names, {{"kind", "correlation"}});
    const EdgeFile file = read_edge_file(path);
    CHECK(file.stack.subjects == stack.subjects);
    CHECK(file.stack.values == stack.values);
    CHECK(file.node_names == make_header().names);
    CHECK(file.attributes.at("kind") == "correlation");
    CHECK(file.attributes.count("edge_order") == 1);
    const std::string store = dir.file("study.h5");
    { CohortStore::open_for_writing(store, make_header(), "test"); }
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_edge_file(store); }),
               Catch::Matchers::Contains("study.h5: not a rewire edge file"));
    CHECK_THAT(test::message_of<IoError>([&] { read_edge_file(dir.file("missing.h5")); }),
               Catch::Matchers::Contains("missing.h5: no such file"));
}

TEST_CASE("a store made with other options is refused", "[cohort][errors]") {
    TempDir dir;
    const std::string path = dir.file("study.h5");
    { CohortStore::open_for_writing(path, make_header(), "test").commit(make_run("sub-01", "pre", 1)); }
    StoreHeader other = make_header();
    other.options = R"({"kind": ["tangent"]})";
    CHECK_THAT(test::message_of<InvalidInput>([&] { CohortStore::open_for_writing(path, other, "test"); }),
               Catch::Matchers::Contains("other options") && Catch::Matchers::Contains("new file"));
    // Nothing stored was lost.
    CHECK(CohortStore::open(path).runs().size() == 1);
}

TEST_CASE("corrupt and foreign files give clear errors", "[cohort][errors]") {
    TempDir dir;
    std::ofstream(dir.file("corrupt.h5")) << "definitely not HDF5";
    CHECK_THAT(test::message_of<IoError>([&] { CohortStore::open(dir.file("corrupt.h5")); }),
               Catch::Matchers::Contains("corrupt.h5") && Catch::Matchers::Contains("not an HDF5 file"));
    CHECK_THAT(test::message_of<IoError>([&] { CohortStore::open(dir.file("absent.h5")); }),
               Catch::Matchers::Contains("absent.h5"));
    CHECK_THAT(test::message_of<InvalidInput>([&] {
                   CohortStore::open_for_writing(dir.file("study.h5"), make_header(), "t").read_run("sub-9", "pre");
               }),
               Catch::Matchers::Contains("no committed run"));
}
