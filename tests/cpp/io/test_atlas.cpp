// Atlases: label tables, resampling onto a grid, spheres, bad atlases.
#include <catch2/catch.hpp>

#include <fstream>

#include "rewire/io/atlas.hpp"
#include "rewire/core/error.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::TempDir;

namespace {

/// 3D label image of `g` where voxel (i, j, k) gets 1 + i / 2 (labels 1..nx/2 in slabs along x).
std::vector<double> slab_labels(const ImageGeometry& g) {
    std::vector<double> labels(static_cast<std::size_t>(g.voxels()));
    for (std::int64_t k = 0; k < g.dims[2]; ++k)
        for (std::int64_t j = 0; j < g.dims[1]; ++j)
            for (std::int64_t i = 0; i < g.dims[0]; ++i)
                labels[static_cast<std::size_t>(i + g.dims[0] * (j + g.dims[1] * k))] = double(1 + i / 2);
    return labels;
}

}  // namespace

TEST_CASE("label tables: mricron .txt and BIDS dseg.tsv", "[atlas]") {
    TempDir dir;
    std::ofstream(dir.file("atlas.txt")) << "1 Amygdala_L 4101\n2 Amygdala_R 4102\n\n10 Frontal_Med_Orb_L 2611\n";
    const LabelTable txt = read_label_table(dir.file("atlas.txt"));
    CHECK(txt.values == std::vector<std::int64_t>{1, 2, 10});
    CHECK(txt.names == std::vector<std::string>{"Amygdala_L", "Amygdala_R", "Frontal_Med_Orb_L"});

    std::ofstream(dir.file("dseg.tsv")) << "index\tname\tcolor\n7\tthalamus left\t#ff0000\n3\tcaudate\t#00ff00\n";
    const LabelTable tsv = read_label_table(dir.file("dseg.tsv"));
    CHECK(tsv.values == std::vector<std::int64_t>{3, 7});  // ascending value, whatever the file order
    CHECK(tsv.names == std::vector<std::string>{"caudate", "thalamus left"});

    std::ofstream(dir.file("broken.txt")) << "one Amygdala\n";
    REQUIRE_THROWS_WITH(read_label_table(dir.file("broken.txt")), Catch::Matchers::Contains("broken.txt:1"));
}

TEST_CASE("a label atlas on the BOLD grid maps voxels one to one", "[atlas]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(8, 3, 2, 1);
    NiftiWriteOptions options;
    options.datatype = NiftiDataType::uint8;
    test::write_image(dir.file("slabs.nii.gz"), g, slab_labels(g), options);
    std::ofstream(dir.file("slabs.txt")) << "1 a\n2 b\n3 c\n4 d\n5 never_in_image\n";
    const Atlas atlas = Atlas::from_labels(dir.file("slabs.nii.gz"), dir.file("slabs.txt"));
    REQUIRE(atlas.regions() == 5);
    const Parcellation p = atlas.on_grid(g);
    CHECK(p.names[4] == "never_in_image");
    for (std::int64_t r = 0; r < 4; ++r) {
        CHECK(p.offsets[r + 1] - p.offsets[r] == 2 * 3 * 2);  // two x-columns of 3 × 2 voxels
        CHECK(p.atlas_voxels[r] == 12);
    }
    CHECK(p.offsets[5] == p.offsets[4]);  // label 5 has no voxel: kept as an empty region
}

TEST_CASE("nearest-neighbour resampling through world coordinates", "[atlas]") {
    // A 1 mm atlas and a 2 mm grid that share the origin: 2 mm voxel i sits on 1 mm voxel 2i.
    ImageGeometry fine = test::small_grid(8, 4, 4, 1, 1.0);
    fine.affine << -1, 0, 0, 20, 0, 1, 0, -30, 0, 0, 1, -10, 0, 0, 0, 1;
    ImageGeometry coarse = test::small_grid(4, 2, 2, 1, 2.0);
    const auto source = nearest_voxels(coarse, fine);
    for (std::int64_t k = 0; k < 2; ++k)
        for (std::int64_t j = 0; j < 2; ++j)
            for (std::int64_t i = 0; i < 4; ++i)
                CHECK(source[static_cast<std::size_t>(i + 4 * (j + 2 * k))] == 2 * i + 8 * (2 * j + 4 * 2 * k));
    // Shift the coarse grid away: nothing overlaps.
    coarse.affine(0, 3) += 1000;
    for (const auto s : nearest_voxels(coarse, fine)) CHECK(s == -1);
}

TEST_CASE("spheres: radius in mm, nearest voxel always included, overlap refused", "[atlas]") {
    const ImageGeometry g = test::small_grid(10, 10, 10, 1, 2.0);
    Eigen::MatrixXd centres(2, 3);
    const Eigen::Vector3d c0 = g.world(2, 2, 2);
    const Eigen::Vector3d c1 = g.world(7, 7, 7);
    centres.row(0) = c0.transpose();
    centres.row(1) = c1.transpose();
    SECTION("radius 0 keeps the nearest voxel") {
        const Parcellation p = Atlas::from_spheres(centres, 0.0).on_grid(g);
        CHECK(p.offsets[1] == 1);
        CHECK(p.voxels[0] == 2 + 10 * (2 + 10 * 2));
    }
    SECTION("radius 2 mm on a 2 mm grid: the centre and its 6 face neighbours") {
        const Parcellation p = Atlas::from_spheres(centres, 2.0).on_grid(g);
        CHECK(p.offsets[1] - p.offsets[0] == 7);
    }
    SECTION("overlap") {
        REQUIRE_THROWS_WITH(Atlas::from_spheres(centres, 10.0).on_grid(g), Catch::Matchers::Contains("overlaps"));
        const Parcellation p = Atlas::from_spheres(centres, 10.0, true).on_grid(g);
        CHECK(p.offsets[2] - p.offsets[1] == p.offsets[1] - p.offsets[0]);
    }
}

TEST_CASE("bad atlases give clear errors", "[atlas][errors]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(4, 4, 4, 1);
    std::vector<double> fractional(static_cast<std::size_t>(g.voxels()), 0.5);
    test::write_image(dir.file("prob.nii.gz"), g, fractional);
    REQUIRE_THROWS_WITH(Atlas::from_labels(dir.file("prob.nii.gz")),
                        Catch::Matchers::Contains("prob.nii.gz") && Catch::Matchers::Contains("non-integer"));

    // Integer-valued floats beyond int64 (a float atlas holding 1e30 and 2e30) have no label value.
    NiftiWriteOptions as_double;
    as_double.datatype = NiftiDataType::float64;
    std::vector<double> huge(static_cast<std::size_t>(g.voxels()), 1e30);
    std::fill(huge.begin(), huge.begin() + 10, 2e30);
    test::write_image(dir.file("huge.nii"), g, huge, as_double);
    REQUIRE_THROWS_WITH(Atlas::from_labels(dir.file("huge.nii")),
                        Catch::Matchers::Contains("huge.nii") && Catch::Matchers::Contains("2e+30") &&
                            Catch::Matchers::Contains("beyond the range of 64-bit integer labels"));
    std::fill(huge.begin(), huge.end(), -9223372036854775808.0);  // -2^63 is an int64
    std::fill(huge.begin(), huge.begin() + 10, 4611686018427387904.0);  // 2^62
    test::write_image(dir.file("wide.nii"), g, huge, as_double);
    CHECK(Atlas::from_labels(dir.file("wide.nii")).values() ==
          std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), std::int64_t{1} << 62});

    ImageGeometry maps = g;
    maps.volumes = 3;
    test::write_image(dir.file("maps.nii.gz"), maps, std::vector<double>(static_cast<std::size_t>(g.voxels() * 3), 0.2));
    REQUIRE_THROWS_WITH(Atlas::from_maps(dir.file("maps.nii.gz"), {"a", "b"}),
                        Catch::Matchers::Contains("3 maps but 2 names"));

    std::vector<double> labels(static_cast<std::size_t>(g.voxels()), 1.0);
    test::write_image(dir.file("labels.nii.gz"), g, labels);
    ImageGeometry far = g;
    far.affine(2, 3) += 500;
    REQUIRE_THROWS_WITH(Atlas::from_labels(dir.file("labels.nii.gz")).on_grid(far),
                        Catch::Matchers::Contains("does not overlap"));
}
