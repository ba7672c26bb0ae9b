// NIfTI reading and writing: round trips through every datatype, scaling, geometry and bad files.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "rewire/core/error.hpp"
#include "rewire/io/nifti.hpp"
#include "test_support.hpp"

using namespace rewire;
using rewire::test::TempDir;

namespace {

std::vector<double> integer_ramp(std::int64_t count, double low, double high) {
    std::vector<double> values(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
        values[static_cast<std::size_t>(i)] = std::round(low + (high - low) * double(i % 97) / 96.0);
    }
    return values;
}

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("every datatype round-trips through NiftiWriter and NiftiStream", "[nifti]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(5, 4, 3, 3);
    struct Case { NiftiDataType type; double low, high; };
    const Case cases[] = {{NiftiDataType::uint8, 0, 255},      {NiftiDataType::int8, -128, 127},
                          {NiftiDataType::int16, -32768, 32767}, {NiftiDataType::uint16, 0, 65535},
                          {NiftiDataType::int32, -1e6, 1e6},   {NiftiDataType::uint32, 0, 4e9},
                          {NiftiDataType::float32, -3.5, 1e3},  {NiftiDataType::float64, -1e-3, 1e9}};
    for (const auto& c : cases) {
        for (const char* suffix : {".nii", ".nii.gz"}) {
            const std::string path = dir.file(std::string("image_") + datatype_name(c.type) + suffix);
            const auto data = integer_ramp(g.voxels() * g.volumes, c.low, c.high);
            NiftiWriteOptions options;
            options.datatype = c.type;
            test::write_image(path, g, data, options);

            NiftiStream stream(path);
            CHECK(stream.header().datatype == c.type);
            CHECK(stream.volumes() == 3);
            std::vector<double> volume(static_cast<std::size_t>(g.voxels()));
            for (std::int64_t v = 0; v < g.volumes; ++v) {
                REQUIRE(stream.read(volume.data()));
                for (std::int64_t i = 0; i < g.voxels(); ++i) {
                    // Integer-valued data is exact in every type it fits.
                    REQUIRE(volume[static_cast<std::size_t>(i)] == data[static_cast<std::size_t>(v * g.voxels() + i)]);
                }
            }
            CHECK_FALSE(stream.read(volume.data()));
        }
    }
}

TEST_CASE("scl_slope and scl_inter are applied as value = stored * slope + inter", "[nifti]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(3, 3, 2, 2);
    NiftiWriteOptions options;
    options.datatype = NiftiDataType::int16;
    options.scl_slope = 0.25;  // exact in float32, so stored headers hold these values exactly
    options.scl_inter = -8.0;
    std::vector<double> data(static_cast<std::size_t>(g.voxels() * g.volumes));
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = -8.0 + 0.25 * double(i * 7 % 50);
    test::write_image(dir.file("scaled.nii.gz"), g, data, options);
    const NiftiImage image = read_nifti(dir.file("scaled.nii.gz"));
    CHECK(image.header.scl_slope == 0.25);
    CHECK(image.header.scl_inter == -8.0);
    CHECK(image.data == data);
}

TEST_CASE("geometry: affine from the sform, TR in seconds, dims", "[nifti]") {
    TempDir dir;
    ImageGeometry g = test::small_grid(4, 5, 6, 7, 3.0);
    g.tr = 0.8;
    test::write_image(dir.file("geometry.nii"), g, std::vector<double>(static_cast<std::size_t>(g.voxels() * 7), 1.0));
    const NiftiHeader h = read_nifti_header(dir.file("geometry.nii"));
    CHECK(h.version == 1);
    CHECK(h.sform_code == 4);
    CHECK(h.geometry.dims == std::array<std::int64_t, 3>{4, 5, 6});
    CHECK(h.geometry.volumes == 7);
    CHECK(h.geometry.tr == Approx(0.8).epsilon(1e-7));  // stored as float32
    CHECK((h.geometry.affine - g.affine).cwiseAbs().maxCoeff() == 0.0);
    CHECK(h.geometry.voxel_size[0] == 3.0);
}

TEST_CASE("bad files give clear errors naming the file", "[nifti][errors]") {
    TempDir dir;
    SECTION("missing file") {
        CHECK_THAT(test::message_of<IoError>([&] { read_nifti_header(dir.file("absent.nii.gz")); }), Catch::Matchers::Contains("absent.nii.gz") && Catch::Matchers::Contains("cannot open"));
    }
    SECTION("not a NIfTI file") {
        std::ofstream(dir.file("notes.nii")) << "this is a text file, not an image\n";
        CHECK_THAT(test::message_of<InvalidInput>([&] { read_nifti_header(dir.file("notes.nii")); }), Catch::Matchers::Contains("notes.nii") && Catch::Matchers::Contains("not a NIfTI"));
    }
    const ImageGeometry g = test::small_grid(16, 16, 8, 6);
    std::vector<double> data(static_cast<std::size_t>(g.voxels() * g.volumes));
    std::mt19937 random(7);
    for (auto& value : data) value = double(random() % 1000);
    NiftiWriteOptions options;
    options.datatype = NiftiDataType::int16;
    SECTION("truncated .nii.gz") {
        test::write_image(dir.file("full.nii.gz"), g, data, options);
        auto bytes = read_bytes(dir.file("full.nii.gz"));
        bytes.resize(bytes.size() / 2);
        write_bytes(dir.file("truncated.nii.gz"), bytes);
        // Wherever the cut falls (header or data), reading fails with IoError naming the file.
        CHECK_THAT(test::message_of<IoError>([&] { read_nifti(dir.file("truncated.nii.gz")); }),
                   Catch::Matchers::Contains("truncated.nii.gz") && Catch::Matchers::Contains("truncated"));
    }
    SECTION("corrupt compressed bytes") {
        options.gzip_level = 6;
        test::write_image(dir.file("full.nii.gz"), g, data, options);
        auto bytes = read_bytes(dir.file("full.nii.gz"));
        for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
        write_bytes(dir.file("corrupt.nii.gz"), bytes);
        CHECK_THAT(test::message_of<IoError>([&] { read_nifti(dir.file("corrupt.nii.gz")); }), Catch::Matchers::Contains("corrupt.nii.gz"));
    }
    SECTION(".nii shorter than its header says") {
        test::write_image(dir.file("full.nii"), g, data, options);
        auto bytes = read_bytes(dir.file("full.nii"));
        bytes.resize(bytes.size() - 100);
        write_bytes(dir.file("short.nii"), bytes);
        CHECK_THAT(test::message_of<InvalidInput>([&] { NiftiStream(dir.file("short.nii")); }), Catch::Matchers::Contains("short.nii") && Catch::Matchers::Contains("header dims"));
    }
}

TEST_CASE("NiftiWriter leaves no file behind when abandoned", "[nifti]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(2, 2, 2, 3);
    {
        NiftiWriter writer(dir.file("partial.nii.gz"), g);
        std::vector<double> volume(8, 1.0);
        writer.write(volume.data());
        REQUIRE_THROWS_AS(writer.close(), InvalidInput);  // 1 of 3 volumes
    }
    CHECK_FALSE(std::filesystem::exists(dir.file("partial.nii.gz")));
    CHECK(std::filesystem::is_empty(std::filesystem::path(dir.file("partial.nii.gz")).parent_path()));
    // An existing image is left as it was until a new one is complete.
    const std::string kept = dir.file("kept.nii");
    {
        NiftiWriter first(kept, g);
        std::vector<double> volume(8, 2.0);
        for (int t = 0; t < 3; ++t)
            first.write(volume.data());
        first.close();
    }
    const auto size = std::filesystem::file_size(kept);
    {
        NiftiWriter second(kept, g);
        std::vector<double> volume(8, 5.0);
        second.write(volume.data());
    }  // abandoned
    CHECK(std::filesystem::file_size(kept) == size);
    CHECK(read_nifti(kept).data[0] == 2.0);
    CHECK(std::distance(std::filesystem::directory_iterator(std::filesystem::path(kept).parent_path()),
                        std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("the same data gives the same bytes", "[nifti]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(6, 5, 4, 2);
    const auto data = integer_ramp(g.voxels() * 2, 0, 200);
    NiftiWriteOptions options;
    options.datatype = NiftiDataType::int16;
    test::write_image(dir.file("a.nii.gz"), g, data, options);
    test::write_image(dir.file("b.nii.gz"), g, data, options);
    CHECK(read_bytes(dir.file("a.nii.gz")) == read_bytes(dir.file("b.nii.gz")));
}
