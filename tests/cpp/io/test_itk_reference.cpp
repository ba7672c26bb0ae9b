// ITK as an independent reference: geometry and voxel values of the same files, read by ITK's NIfTI IO.
// (Debian's ITK 5.2 reads NIfTI-1 only, and holds whole images in memory, so rewire parses headers and
// streams voxels itself; this test keeps the two readers in agreement.)
#include <catch2/catch.hpp>

#include <random>

#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkNiftiImageIO.h>

#include "rewire/io/nifti.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::TempDir;

TEST_CASE("ITK reads the same geometry and voxel values as rewire", "[nifti][itk]") {
    TempDir dir;
    ImageGeometry g = test::small_grid(7, 6, 5, 4, 2.5);
    // An oblique affine: a rotation about z, so ITK's direction cosines are not the identity.
    const double angle = 0.3;
    Eigen::Matrix3d rotation;
    rotation << std::cos(angle), -std::sin(angle), 0, std::sin(angle), std::cos(angle), 0, 0, 0, 1;
    g.affine.topLeftCorner<3, 3>() = rotation * Eigen::Vector3d(-2.5, 2.5, 2.5).asDiagonal();
    std::vector<double> data(static_cast<std::size_t>(g.voxels() * g.volumes));
    std::mt19937 random(3);
    for (auto& v : data) v = double(random() % 2000) - 1000.0;
    NiftiWriteOptions options;
    options.datatype = NiftiDataType::int16;
    for (const char* name : {"oblique.nii", "oblique.nii.gz"}) {
        test::write_image(dir.file(name), g, data, options);

        using Image = itk::Image<double, 4>;
        auto reader = itk::ImageFileReader<Image>::New();
        reader->SetImageIO(itk::NiftiImageIO::New());
        reader->SetFileName(dir.file(name));
        reader->Update();
        const Image* itk_image = reader->GetOutput();

        const NiftiHeader h = read_nifti_header(dir.file(name));
        const auto size = itk_image->GetLargestPossibleRegion().GetSize();
        CHECK(std::int64_t(size[0]) == h.geometry.dims[0]);
        CHECK(std::int64_t(size[1]) == h.geometry.dims[1]);
        CHECK(std::int64_t(size[2]) == h.geometry.dims[2]);
        CHECK(std::int64_t(size[3]) == h.geometry.volumes);
        // ITK is LPS+, NIfTI world space is RAS+: flip x and y. ITK's affine = direction · diag(spacing).
        const Eigen::Vector3d lps(-1, -1, 1);
        for (int row = 0; row < 3; ++row) {
            CHECK(itk_image->GetOrigin()[row] * lps[row] == Approx(h.geometry.affine(row, 3)).margin(1e-4));
            for (int col = 0; col < 3; ++col) {
                const double itk_entry = itk_image->GetDirection()[row][col] * itk_image->GetSpacing()[col] * lps[row];
                CHECK(itk_entry == Approx(h.geometry.affine(row, col)).margin(1e-4));
            }
        }
        CHECK(itk_image->GetSpacing()[3] == Approx(h.geometry.tr));

        const NiftiImage ours = read_nifti(dir.file(name));
        const double* theirs = itk_image->GetBufferPointer();
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < ours.data.size(); ++i) mismatches += ours.data[i] != theirs[i] ? 1 : 0;
        CHECK(mismatches == 0);
    }
}
