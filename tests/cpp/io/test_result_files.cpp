// Edge files (write_edge_file / read_edge_file): the layout read with the HDF5 C API, and errors.
#include <catch2/catch.hpp>

#include "io/store_support.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/cohort_store.hpp"
#include "rewire/io/result_files.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::make_header;
using rewire::test::read_hdf5_matrix;
using rewire::test::TempDir;

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
    CHECK(read_hdf5_matrix(path, "values") == stack.values);  // the layout, read without rewire
    const std::string store = dir.file("study.h5");
    { CohortStore::open_for_writing(store, make_header(), "test"); }
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_edge_file(store); }),
               Catch::Matchers::Contains("study.h5: not a rewire edge file"));
    CHECK_THAT(test::message_of<IoError>([&] { read_edge_file(dir.file("missing.h5")); }),
               Catch::Matchers::Contains("missing.h5: no such file"));
}
