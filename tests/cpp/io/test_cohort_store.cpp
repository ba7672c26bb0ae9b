// CohortStore: what it writes read back with the plain HDF5 C API (the layout docs/cohort-store.md
// promises) and with CohortStore, edge stacks, refusal to mix options, uncommitted runs, corrupt files.
#include <catch2/catch.hpp>
#include <cmath>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "io/store_support.hpp"
#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/cohort_store.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::make_header;
using rewire::test::make_run;
using rewire::test::read_hdf5_matrix;
using rewire::test::TempDir;

TEST_CASE("runs and edge stacks round-trip", "[cohort]") {
    TempDir dir;
    const std::string path = dir.file("study.h5");
    {
        CohortStore store = CohortStore::open_for_writing(path, make_header(), "rewire run test");
        store.commit(make_run("sub-01", "pre", 1));
        store.commit(make_run("sub-02", "pre", 2));
        store.commit(make_run("sub-01", "post", 3));
    }
    // The layout docs/cohort-store.md gives, read with the HDF5 C API alone.
    const RunRecord written = make_run("sub-02", "pre", 2);
    const Connectome r = written.measures.at("correlation");
    CHECK(read_hdf5_matrix(path, "runs/sub-02/pre/timeseries") == written.timeseries);
    CHECK(read_hdf5_matrix(path, "runs/sub-02/pre/connectivity/correlation") == r);
    CHECK(read_hdf5_matrix(path, "nodes/values").col(0) == Eigen::Vector4d(1, 2, 5, 9));
    const Eigen::MatrixXd rows = read_hdf5_matrix(path, "edges/correlation/pre/values");  // in commit order
    REQUIRE(rows.rows() == 2);
    CHECK(rows.row(1) ==
          (Eigen::RowVectorXd(6) << r(0, 1), r(0, 2), r(0, 3), r(1, 2), r(1, 3), r(2, 3)).finished());

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

namespace {
/// Runs `body` in a child process whose writes fail beyond `limit` bytes (RLIMIT_FSIZE, SIGXFSZ
/// ignored: write() returns EFBIG, as on a full disk). Returns the child's error message ("" when
/// `body` finished), passed back through a pipe.
template <typename Body>
std::string with_file_size_limit(rlim_t limit, Body&& body) {
    int channel[2];
    REQUIRE(::pipe(channel) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(channel[0]);
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit cap{limit, limit};
        ::setrlimit(RLIMIT_FSIZE, &cap);
        std::string message;
        try {
            body();
        } catch (const IoError& error) {
            message = std::string("IoError: ") + error.what();
        } catch (const std::exception& error) {
            message = std::string("other: ") + error.what();
        }
        [[maybe_unused]] const ssize_t written = ::write(channel[1], message.data(), message.size());
        ::_exit(0);
    }
    ::close(channel[1]);
    std::string message;
    char buffer[4096];
    for (ssize_t n; (n = ::read(channel[0], buffer, sizeof buffer)) > 0;)
        message.append(buffer, static_cast<std::size_t>(n));
    ::close(channel[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));  // never a crash
    return message;
}
}  // namespace

TEST_CASE("a write failure leaves every committed run readable and a reopened store resumes", "[cohort]") {
    // File-size limits from "no room for the header" to "room for most runs"; each run takes about 30 KB.
    for (const rlim_t limit_kb : {1, 16, 700, 800, 900, 1000, 1100}) {
        CAPTURE(limit_kb);
        TempDir dir;
        const std::string path = dir.file("study.h5");
        const std::string message = with_file_size_limit(limit_kb << 10, [&] {
            CohortStore store = CohortStore::open_for_writing(path, make_header(), "test");
            for (int s = 1; s <= 40; ++s)
                store.commit(make_run("sub-" + std::to_string(100 + s), "pre", s));
        });
        // The failure is caught where space is reserved, before HDF5 writes anything.
        CHECK_THAT(message, Catch::Contains("IoError: " + path + ": no room to") &&
                                Catch::Contains("File too large"));
        std::vector<std::pair<std::string, std::string>> committed;
        if (std::filesystem::exists(path)) {
            const CohortStore store = CohortStore::open(path);
            committed = store.runs();
            for (const auto& [subject, session] : committed) {
                const RunRecord expected = make_run(subject, session, std::stoi(subject.substr(4)) - 100);
                CHECK(store.read_run(subject, session).timeseries == expected.timeseries);
                CHECK(store.read_run(subject, session).measures.at("correlation") ==
                      expected.measures.at("correlation"));
            }
            CHECK(store.verify().intact());
            if (!committed.empty())  // a store with only its header has no edge table yet
                CHECK(store.edges("correlation", "pre").subjects.size() == committed.size());
        }
        CHECK(std::distance(std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()), {}) ==
              (std::filesystem::exists(path) ? 1 : 0));  // no NAME.part-<pid> left
        CohortStore store = CohortStore::open_for_writing(path, make_header(), "test");
        for (int s = 1; s <= 40; ++s)
            store.commit(make_run("sub-" + std::to_string(100 + s), "pre", s));
        CHECK(store.runs().size() == 40);
        CHECK(store.edges("correlation", "pre").values.row(39) ==
              edge_vector(make_run("sub-140", "pre", 40).measures.at("correlation")).transpose());
    }
}
