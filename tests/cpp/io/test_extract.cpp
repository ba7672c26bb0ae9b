// Streamed extraction against a direct computation, NaN handling, coverage and thread invariance.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "rewire/core/error.hpp"
#include "rewire/io/extract.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::TempDir;

namespace {

struct Fixture {
    TempDir dir;
    ImageGeometry g = test::small_grid(12, 10, 8, 15);
    std::vector<double> bold;
    std::vector<double> labels;

    explicit Fixture(NiftiDataType type, bool with_nan) {
        std::mt19937 random(42);
        std::normal_distribution<double> noise(0.0, 50.0);
        bold.resize(static_cast<std::size_t>(g.voxels() * g.volumes));
        for (auto& v : bold) v = std::round(1000.0 + noise(random));
        labels.resize(static_cast<std::size_t>(g.voxels()));
        for (std::size_t v = 0; v < labels.size(); ++v) labels[v] = double((v * 7919) % 6);  // 0 = background
        if (with_nan) {
            bold[static_cast<std::size_t>(3 * g.voxels() + 17)] = std::numeric_limits<double>::quiet_NaN();
        }
        NiftiWriteOptions options;
        options.datatype = type;
        test::write_image(dir.file("bold.nii.gz"), g, bold, options);
        NiftiWriteOptions label_options;
        label_options.datatype = NiftiDataType::int16;
        ImageGeometry g3 = g;
        g3.volumes = 1;
        test::write_image(dir.file("labels.nii.gz"), g3, labels, label_options);
    }

    /// Region means computed directly from the arrays, skipping non-finite voxels.
    Eigen::MatrixXd reference() const {
        Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(g.volumes, 5);
        Eigen::MatrixXd counts = Eigen::MatrixXd::Zero(g.volumes, 5);
        for (std::int64_t t = 0; t < g.volumes; ++t) {
            for (std::int64_t v = 0; v < g.voxels(); ++v) {
                const int label = static_cast<int>(labels[static_cast<std::size_t>(v)]);
                const double value = bold[static_cast<std::size_t>(t * g.voxels() + v)];
                if (label == 0 || !std::isfinite(value)) continue;
                sums(t, label - 1) += value;
                counts(t, label - 1) += 1;
            }
        }
        return sums.cwiseQuotient(counts);
    }
};

}  // namespace

TEST_CASE("extraction equals region means computed directly", "[extract]") {
    for (const auto type : {NiftiDataType::int16, NiftiDataType::float32}) {
        Fixture f(type, false);
        const Extraction e = extract(f.dir.file("bold.nii.gz"), Atlas::from_labels(f.dir.file("labels.nii.gz")));
        REQUIRE(e.signals.rows() == 15);
        REQUIRE(e.signals.cols() == 5);
        CHECK((e.signals - f.reference()).cwiseAbs().maxCoeff() < 1e-9);
        CHECK(e.coverage == Eigen::VectorXd::Ones(5));
        CHECK(e.geometry.tr == 2.0);
    }
}

TEST_CASE("non-finite voxels are left out of the mean and lower the coverage", "[extract]") {
    Fixture f(NiftiDataType::float32, true);
    const Extraction e = extract(f.dir.file("bold.nii.gz"), Atlas::from_labels(f.dir.file("labels.nii.gz")));
    CHECK((e.signals - f.reference()).cwiseAbs().maxCoeff() < 1e-9);
    CHECK(e.signals.allFinite());
    const int label = static_cast<int>(f.labels[17]);
    REQUIRE(label > 0);
    CHECK(e.coverage[label - 1] < 1.0);
    CHECK(e.coverage.sum() == Approx(4.0 + e.coverage[label - 1]));
}

TEST_CASE("results are bit-identical for any number of threads", "[extract]") {
    // float32 takes the floating-point reduction, int16 the integer one.
    for (const auto type : {NiftiDataType::float32, NiftiDataType::int16}) {
        Fixture f(type, type == NiftiDataType::float32);
        const Atlas atlas = Atlas::from_labels(f.dir.file("labels.nii.gz"));
        ExtractOptions one;
        one.threads = 1;
        const Extraction a = extract(f.dir.file("bold.nii.gz"), atlas, "", one);
        for (int threads : {2, 3, 8}) {
            ExtractOptions many;
            many.threads = threads;
            many.ring = 2;
            CHECK(extract(f.dir.file("bold.nii.gz"), atlas, "", many).signals == a.signals);
        }
    }
}

TEST_CASE("extraction needs a 4D image", "[extract][errors]") {
    Fixture f(NiftiDataType::int16, false);
    REQUIRE_THROWS_WITH(extract(f.dir.file("labels.nii.gz"), Atlas::from_labels(f.dir.file("labels.nii.gz"))),
                        Catch::Matchers::Contains("labels.nii.gz") && Catch::Matchers::Contains("4D"));
}
