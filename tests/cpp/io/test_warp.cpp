// Transform files and warped labels against closed forms: a constant displacement and an affine map
// points as p ↦ A (p + d); a translation by whole voxels moves every label by that many voxels. (The
// comparisons with SimpleITK on real atlases are in tests/python/test_warp.py.)
#include <catch2/catch.hpp>

#include <Eigen/Geometry>

#include "rewire/core/error.hpp"
#include "rewire/io/transform.hpp"
#include "rewire/io/warp.hpp"
#include "test_support.hpp"

using rewire::test::TempDir;

TEST_CASE("ANTs' [file,1] syntax and the spaces file names state", "[warp]") {
    const auto plain = rewire::parse_transform_argument("a/x.h5");
    CHECK((plain.path == "a/x.h5" && !plain.invert));
    const auto inverted = rewire::parse_transform_argument("[a/x.txt, 1]");
    CHECK((inverted.path == "a/x.txt" && inverted.invert));
    CHECK_THROWS_AS(rewire::parse_transform_argument("[a/x.txt,2]"), rewire::InvalidInput);
    CHECK_THROWS_AS(rewire::parse_transform_argument("[a/x.txt"), rewire::InvalidInput);

    const std::string mni = "d/sub-01_from-MNI152NLin2009cAsym_to-T1w_mode-image_xfm.h5";
    const std::string coreg = "d/sub-01_task-rest_from-boldref_to-T1w_mode-image_desc-coreg_xfm.txt";
    CHECK(rewire::transform_spaces({mni, false}).from == "MNI152NLin2009cAsym");
    CHECK(rewire::transform_spaces({coreg, true}).to == "boldref");
    CHECK(rewire::image_space("x/tpl-MNI152NLin2009cAsym_res-2_atlas-AAL_dseg.nii.gz") == "MNI152NLin2009cAsym");
    CHECK(rewire::image_space("x/sub-01_space-T1w_desc-preproc_bold.nii.gz") == "T1w");
    CHECK_NOTHROW(rewire::check_chain_spaces({{mni, false}, {coreg, true}}, "MNI152NLin2009cAsym", "boldref"));
    CHECK_THROWS_WITH(rewire::check_chain_spaces({{mni, false}, {coreg, false}}),
                      Catch::Contains("do not connect") && Catch::Contains("starts from boldref"));
    CHECK_THROWS_WITH(rewire::check_chain_spaces({{mni, false}}, "MNI152NLin6Asym"),
                      Catch::Contains("atlas is in MNI152NLin6Asym"));
}

TEST_CASE("written transforms map points as A (p + d)", "[warp]") {
    TempDir dir;
    rewire::Affine affine = rewire::Affine::Identity();
    affine.topLeftCorner<3, 3>() << 1.1, 0.1, 0.0, -0.05, 0.95, 0.02, 0.0, 0.03, 1.02;
    affine.col(3).head<3>() << 4.0, -3.0, 2.0;
    rewire::DisplacementField field;
    field.grid.dims = {6, 7, 8};
    field.grid.affine.diagonal().head<3>().setConstant(10.0);
    field.grid.affine.col(3).head<3>() << -25.0, -30.0, -35.0;
    const Eigen::Vector3d d(1.5, -2.0, 0.75);  // constant: trilinear interpolation is exact inside the grid
    for (std::int64_t v = 0; v < field.grid.voxels(); ++v) {
        field.vectors.insert(field.vectors.end(), {d.x(), d.y(), d.z()});
    }
    const std::string h5 = dir.file("field.h5");
    rewire::write_transform(h5, affine, &field);
    const Eigen::Vector3d p(3.0, -7.0, 12.0);
    const Eigen::Vector3d expected = (affine * (p + d).homogeneous()).head<3>();
    CHECK((rewire::map_point({{h5, false}}, p) - expected).norm() < 1e-9);
    const auto kinds = rewire::transform_kinds(h5);
    REQUIRE(kinds.size() == 3);
    CHECK(kinds[2] == "DisplacementFieldTransform_double_3_3");

    const std::string text = dir.file("affine.txt");
    rewire::write_transform(text, affine);
    CHECK((rewire::map_point({{text, false}}, p) - (affine * p.homogeneous()).head<3>()).norm() < 1e-9);
    CHECK((rewire::map_point({{text, true}}, p) - (affine.inverse() * p.homogeneous()).head<3>()).norm() < 1e-9);
    CHECK_THROWS_AS(rewire::write_transform(dir.file("field.txt"), affine, &field), rewire::InvalidInput);
    CHECK_THROWS_WITH(rewire::map_point({{h5, true}}, p), Catch::Contains("cannot be inverted"));
}

TEST_CASE("a translation by whole voxels moves every label by as many voxels", "[warp]") {
    TempDir dir;
    rewire::Image3D atlas;
    atlas.path = "atlas";
    atlas.geometry.dims = {5, 4, 3};
    atlas.geometry.affine.diagonal().head<3>() << 2.0, 3.0, 4.0;
    for (std::int64_t v = 0; v < atlas.geometry.voxels(); ++v) atlas.data.push_back(static_cast<double>(v + 1));
    // A reference point p samples the atlas at p + (2, 0, -4) mm: one voxel on in x, one back in z.
    rewire::Affine shift = rewire::Affine::Identity();
    shift.col(3).head<3>() << 2.0, 0.0, -4.0;
    const std::string path = dir.file("shift.txt");
    rewire::write_transform(path, shift);
    const rewire::Image3D warped = rewire::warp_labels(atlas, atlas.geometry, {{path, false}}, {});
    for (std::int64_t k = 0; k < 3; ++k) {
        for (std::int64_t j = 0; j < 4; ++j) {
            for (std::int64_t i = 0; i < 5; ++i) {
                const bool inside = i + 1 < 5 && k - 1 >= 0;
                const double expected = inside ? static_cast<double>((i + 1) + 5 * (j + 4 * (k - 1)) + 1) : 0.0;
                CHECK(warped.data[static_cast<std::size_t>(i + 5 * (j + 4 * k))] == expected);
            }
        }
    }
    rewire::Affine far = rewire::Affine::Identity();
    far(0, 3) = 500.0;
    rewire::write_transform(dir.file("far.txt"), far);
    CHECK_THROWS_WITH(rewire::warp_labels(atlas, atlas.geometry, {{dir.file("far.txt"), false}}, {}),
                      Catch::Contains("does not overlap"));
}
