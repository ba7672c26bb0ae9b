// NIfTI reading and writing. The reader is checked against nibabel (files nibabel wrote, values and
// affines as nibabel reads them: make_nifti_fixtures.py, run by CTest as the nifti_fixtures fixture), the
// writer against ITK's NIfTI reader; errors, atomic writes and determinism are properties of rewire alone.
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkNiftiImageIO.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>

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

/// One line of the fixtures' manifest.txt (see make_nifti_fixtures.py).
struct NibabelFixture {
    std::string file;
    int version = 0;
    std::string datatype;
    std::vector<std::int64_t> dims;
    double tr = 0.0;
    std::vector<double> affine;  // 16, row-major: nibabel's img.affine
};

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);)
        parts.push_back(part);
    return parts;
}

std::vector<NibabelFixture> read_manifest(const std::string& folder) {
    std::ifstream in(folder + "/manifest.txt");
    if (!in) {
        FAIL(folder
             << "/manifest.txt is missing: run the tests with ctest, whose nifti_fixtures test writes it");
    }
    std::vector<NibabelFixture> fixtures;
    for (std::string line; std::getline(in, line);) {
        if (line.empty())
            continue;
        std::map<std::string, std::string> fields;
        for (const std::string& word : split(line, ' ')) {
            const auto equals = word.find('=');
            REQUIRE(equals != std::string::npos);
            fields[word.substr(0, equals)] = word.substr(equals + 1);
        }
        NibabelFixture f;
        f.file = fields.at("file");
        f.version = std::stoi(fields.at("version"));
        f.datatype = fields.at("datatype");
        for (const std::string& n : split(fields.at("dims"), ','))
            f.dims.push_back(std::stoll(n));
        f.tr = std::strtod(fields.at("tr").c_str(), nullptr);
        for (const std::string& x : split(fields.at("affine"), ','))
            f.affine.push_back(std::strtod(x.c_str(), nullptr));
        REQUIRE(f.affine.size() == 16);
        fixtures.push_back(f);
    }
    return fixtures;
}

/// Raw little-endian float64 values, decoded byte by byte (independent of this machine's byte order).
std::vector<double> read_little_endian_doubles(const std::string& path) {
    const std::vector<char> bytes = read_bytes(path);
    REQUIRE(bytes.size() % 8 == 0);
    std::vector<double> values(bytes.size() / 8);
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::uint64_t bits = 0;
        for (int b = 7; b >= 0; --b)
            bits = (bits << 8) | static_cast<unsigned char>(bytes[8 * i + static_cast<std::size_t>(b)]);
        std::memcpy(&values[i], &bits, sizeof bits);
    }
    return values;
}

/// Same bits, or both NaN (NaN payloads are not part of what nibabel promises).
bool same_value(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

using ItkImage = itk::Image<double, 4>;

/// `path` read by ITK's own NIfTI reader (which applies scl_slope / scl_inter).
ItkImage::Pointer read_with_itk(const std::string& path) {
    auto reader = itk::ImageFileReader<ItkImage>::New();
    reader->SetImageIO(itk::NiftiImageIO::New());
    reader->SetFileName(path);
    reader->Update();
    return reader->GetOutput();
}

}  // namespace

TEST_CASE("files written by nibabel read as nibabel reads them", "[nifti][.nibabel]") {
    const std::string folder = REWIRE_NIFTI_FIXTURES;
    const auto fixtures = read_manifest(folder);
    // What make_nifti_fixtures.py covers, so that a shrunken fixture set cannot pass unnoticed.
    std::set<std::string> datatypes, containers;
    for (const auto& f : fixtures) {
        datatypes.insert(f.datatype);
        containers.insert(
            "v" + std::to_string(f.version) +
            (f.file.size() > 3 && f.file.substr(f.file.size() - 3) == ".gz" ? ".nii.gz" : ".nii"));
    }
    CHECK(fixtures.size() == 84);
    CHECK(std::count_if(fixtures.begin(), fixtures.end(),
                        [](const NibabelFixture& f) { return f.file.rfind("pixdim_", 0) == 0; }) == 8);
    CHECK(datatypes.size() == 8);
    CHECK(containers == std::set<std::string>{"v1.nii", "v1.nii.gz", "v2.nii", "v2.nii.gz"});

    for (const auto& f : fixtures) {
        INFO(f.file);
        const std::string path = folder + "/" + f.file;
        const std::vector<double> expected = read_little_endian_doubles(path + ".values.bin");
        const NiftiImage image = read_nifti(path);
        const NiftiHeader& h = image.header;
        CHECK(h.version == f.version);
        CHECK(datatype_name(h.datatype) == f.datatype);
        CHECK(h.geometry.dims == std::array<std::int64_t, 3>{f.dims[0], f.dims[1], f.dims[2]});
        CHECK(h.geometry.volumes == (f.dims.size() == 4 ? f.dims[3] : 1));
        CHECK(h.geometry.tr == Approx(f.tr).epsilon(1e-12).margin(0.0));
        double affine_error = 0.0;
        for (int i = 0; i < 16; ++i)
            affine_error = std::max(affine_error, std::abs(h.geometry.affine(i / 4, i % 4) -
                                                           f.affine[static_cast<std::size_t>(i)]));
        CHECK(affine_error <= 1e-12);

        REQUIRE(image.data.size() == expected.size());
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < expected.size(); ++i)
            mismatches += same_value(image.data[i], expected[i]) ? 0 : 1;
        CHECK(mismatches == 0);
        // The streamed reader gives the same bits, volume by volume.
        NiftiStream stream(path);
        std::vector<double> volume(static_cast<std::size_t>(stream.voxels()));
        for (std::int64_t v = 0; v < stream.volumes(); ++v) {
            REQUIRE(stream.read(volume.data()));
            for (std::size_t i = 0; i < volume.size(); ++i) {
                mismatches +=
                    same_value(volume[i], expected[static_cast<std::size_t>(v) * volume.size() + i]) ? 0 : 1;
            }
        }
        CHECK_FALSE(stream.read(volume.data()));
        CHECK(mismatches == 0);
    }
}

TEST_CASE("NiftiWriter output read by ITK: every datatype, .nii and .nii.gz, exact values", "[nifti][itk]") {
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
            INFO(path);
            const auto data = integer_ramp(g.voxels() * g.volumes, c.low, c.high);
            NiftiWriteOptions options;
            options.datatype = c.type;
            test::write_image(path, g, data, options);

            const auto itk_image = read_with_itk(path);
            const auto size = itk_image->GetLargestPossibleRegion().GetSize();
            CHECK(size[0] == 5);
            CHECK(size[1] == 4);
            CHECK(size[2] == 3);
            CHECK(size[3] == 3);
            const double* theirs = itk_image->GetBufferPointer();
            std::size_t mismatches = 0;
            // Integer-valued data is exact in every type it fits.
            for (std::size_t i = 0; i < data.size(); ++i)
                mismatches += theirs[i] == data[i] ? 0 : 1;
            CHECK(mismatches == 0);
        }
    }
}

TEST_CASE("NiftiWriter scaling: ITK reads stored * scl_slope + scl_inter as the values written",
          "[nifti][itk]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(3, 3, 2, 2);
    NiftiWriteOptions options;
    options.datatype = NiftiDataType::int16;
    options.scl_slope = 0.25;  // exact in float32, so stored headers hold these values exactly
    options.scl_inter = -8.0;
    std::vector<double> data(static_cast<std::size_t>(g.voxels() * g.volumes));
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = -8.0 + 0.25 * double(i * 7 % 50);
    test::write_image(dir.file("scaled.nii.gz"), g, data, options);
    const auto itk_image = read_with_itk(dir.file("scaled.nii.gz"));
    const double* theirs = itk_image->GetBufferPointer();
    for (std::size_t i = 0; i < data.size(); ++i)
        REQUIRE(theirs[i] == data[i]);
}

TEST_CASE("NiftiWriter geometry read by ITK: oblique affine, voxel sizes and TR", "[nifti][itk]") {
    TempDir dir;
    ImageGeometry g = test::small_grid(7, 6, 5, 4, 2.5);
    g.tr = 0.8;
    // An oblique affine: a rotation about z, so ITK's direction cosines are not the identity.
    const double angle = 0.3;
    Eigen::Matrix3d rotation;
    rotation << std::cos(angle), -std::sin(angle), 0, std::sin(angle), std::cos(angle), 0, 0, 0, 1;
    g.affine.topLeftCorner<3, 3>() = rotation * Eigen::Vector3d(-2.5, 2.5, 2.5).asDiagonal();
    std::vector<double> data(static_cast<std::size_t>(g.voxels() * g.volumes));
    std::mt19937 random(3);
    for (auto& v : data)
        v = double(random() % 2000) - 1000.0;
    NiftiWriteOptions options;
    options.datatype = NiftiDataType::int16;
    for (const char* name : {"oblique.nii", "oblique.nii.gz"}) {
        INFO(name);
        test::write_image(dir.file(name), g, data, options);
        const auto itk_image = read_with_itk(dir.file(name));
        const auto size = itk_image->GetLargestPossibleRegion().GetSize();
        CHECK(std::int64_t(size[0]) == g.dims[0]);
        CHECK(std::int64_t(size[1]) == g.dims[1]);
        CHECK(std::int64_t(size[2]) == g.dims[2]);
        CHECK(std::int64_t(size[3]) == g.volumes);
        // ITK is LPS+, NIfTI world space is RAS+: flip x and y. ITK's affine = direction · diag(spacing).
        // The header stores float32, hence the tolerance.
        const Eigen::Vector3d lps(-1, -1, 1);
        for (int row = 0; row < 3; ++row) {
            CHECK(itk_image->GetOrigin()[row] * lps[row] == Approx(g.affine(row, 3)).margin(1e-5));
            for (int col = 0; col < 3; ++col) {
                const double itk_entry =
                    itk_image->GetDirection()[row][col] * itk_image->GetSpacing()[col] * lps[row];
                CHECK(itk_entry == Approx(g.affine(row, col)).margin(1e-5));
            }
        }
        CHECK(itk_image->GetSpacing()[3] == Approx(0.8).epsilon(1e-7));
        const double* theirs = itk_image->GetBufferPointer();
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < data.size(); ++i)
            mismatches += theirs[i] == data[i] ? 0 : 1;
        CHECK(mismatches == 0);
    }
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
    SECTION("NIfTI-1 vox_offset that is no byte offset (NaN, inf, beyond int64)") {
        // Converting such a float to an integer is undefined behaviour (UBSan reports it): refused first.
        test::write_image(dir.file("full.nii"), g, data, options);
        for (const float offset : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                   -1e30f, 1e30f}) {
            auto bytes = read_bytes(dir.file("full.nii"));
            std::memcpy(bytes.data() + 108, &offset, sizeof offset);
            write_bytes(dir.file("offset.nii"), bytes);
            CHECK_THAT(test::message_of<InvalidInput>([&] { read_nifti_header(dir.file("offset.nii")); }),
                       Catch::Matchers::Contains("offset.nii") && Catch::Matchers::Contains("vox_offset"));
        }
    }
}

/// A NIfTI-2 uint8 file, no transform, whose header claims `dims` (dim[0] = 4), then 64 bytes of data.
void write_nifti2_header(const std::string& path, const std::array<std::int64_t, 4>& dims) {
    std::vector<char> bytes(540 + 4 + 64, 0);
    auto put = [&bytes](std::size_t offset, auto value) { std::memcpy(bytes.data() + offset, &value, sizeof value); };
    put(0, std::int32_t{540});
    std::memcpy(bytes.data() + 4, "n+2\0\r\n\032\n", 8);
    put(12, std::int16_t{2});  // uint8
    put(14, std::int16_t{8});
    put(16, std::int64_t{4});
    for (int i = 1; i <= 7; ++i) {
        put(16 + 8 * i, i <= 4 ? dims[i - 1] : std::int64_t{1});
        put(104 + 8 * i, 1.0);
    }
    put(168, std::int64_t{544});
    put(176, 1.0);
    write_bytes(path, bytes);
}

TEST_CASE("header sizes that do not fit 64 bits are refused before any allocation", "[nifti][errors]") {
    TempDir dir;
    const std::int64_t big = std::int64_t{1} << 62;
    const std::int64_t half = std::int64_t{1} << 32;
    for (const auto& [dims, shown] : std::vector<std::pair<std::array<std::int64_t, 4>, std::string>>{
             {{big, 1, 1, 1}, "4611686018427387904x1x1x1"},
             {{half, half, 1, 1}, "4294967296x4294967296x1x1"},
             {{1 << 20, 1 << 20, 1 << 20, 4}, "1048576x1048576x1048576x4"}}) {  // 2^62 bytes, 2^65 as float64
        const std::string path = dir.file("huge.nii");
        write_nifti2_header(path, dims);
        CHECK_THAT(test::message_of<InvalidInput>([&] { read_nifti_header(path); }),
                   Catch::Matchers::Contains("huge.nii: header dims " + shown + " describe more than 2^63 bytes"));
        CHECK_THROWS_AS(NiftiStream(path), InvalidInput);
        CHECK_THROWS_AS(read_nifti(path), InvalidInput);
    }
    // The largest claim that fits is still refused by the file's size, not by an allocation.
    write_nifti2_header(dir.file("large.nii"), {1 << 20, 1 << 20, 1 << 19, 1});  // 2^59 voxels, 2^62 bytes as float64
    CHECK_THAT(test::message_of<InvalidInput>([&] { NiftiStream(dir.file("large.nii")); }),
               Catch::Matchers::Contains("but the file is 608 bytes long"));
}

TEST_CASE("a degenerate sform is refused naming the file", "[nifti][errors]") {
    TempDir dir;
    const ImageGeometry g = test::small_grid(4, 3, 2, 1);
    test::write_image(dir.file("good.nii"), g, std::vector<double>(24, 1.0));
    const auto good = read_bytes(dir.file("good.nii"));
    auto set_srow = [&](const std::string& name, const float (&rows)[3][4]) {
        auto bytes = good;
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 4; ++j)
                std::memcpy(bytes.data() + 280 + 16 * i + 4 * j, &rows[i][j], sizeof(float));
        write_bytes(dir.file(name), bytes);
        return dir.file(name);
    };
    const float zero[3][4] = {};
    const float plane[3][4] = {{2, 0, 2, 1}, {0, 2, 2, 2}, {0, 0, 0, 3}};  // third axis = first + second
    const float thin[3][4] = {{2, 0, 0, 1}, {0, 2, 0, 2}, {0, 0, 1e-7f, 3}};  // 2e7 times thinner
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_nifti_header(set_srow("zero.nii", zero)); }),
               Catch::Matchers::Contains("zero.nii: the sform (sform_code 4) is degenerate: its rotation and zooms "
                                         "are all zero"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_nifti_header(set_srow("plane.nii", plane)); }),
               Catch::Matchers::Contains("plane.nii") && Catch::Matchers::Contains("rank 2"));
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_nifti_header(set_srow("thin.nii", thin)); }),
               Catch::Matchers::Contains("thin.nii") && Catch::Matchers::Contains("rank 2"));
    // An oblique, anisotropic sform (1 × 2 × 5 mm) is a grid like any other.
    const float oblique[3][4] = {{0.8f, -1.2f, 0, 1}, {0.6f, 1.6f, 0, 2}, {0, 0, 5, 3}};
    CHECK(read_nifti_header(set_srow("oblique.nii", oblique)).geometry.affine(2, 2) == 5.0);
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
