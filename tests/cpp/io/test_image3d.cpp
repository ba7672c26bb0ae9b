// 3D images through ITK (image3d.hpp). References: files written and read by nibabel (the NIfTI
// fixtures of make_nifti_fixtures.py, Debian's mricron atlases) and by SimpleITK (NRRD, MetaImage; the
// geometry of Analyze), from make_image3d_fixtures.py, run by CTest as the image3d_fixtures fixture.
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkNiftiImageIO.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "rewire/core/error.hpp"
#include "rewire/io/image3d.hpp"
#include "test_support.hpp"

using namespace rewire;

namespace {

using Fields = std::map<std::string, std::string>;

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
    return parts;
}

/// The KEY=VALUE lines of a fixture folder's manifest.txt.
std::vector<Fields> read_manifest(const std::string& folder) {
    std::ifstream in(folder + "/manifest.txt");
    if (!in) FAIL(folder << "/manifest.txt is missing: run the tests with ctest, whose fixture tests write it");
    std::vector<Fields> lines;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        Fields fields;
        for (const std::string& word : split(line, ' ')) {
            const auto equals = word.find('=');
            REQUIRE(equals != std::string::npos);
            fields[word.substr(0, equals)] = word.substr(equals + 1);
        }
        lines.push_back(fields);
    }
    return lines;
}

std::vector<double> numbers(const std::string& text) {
    std::vector<double> values;
    for (const std::string& x : split(text, ',')) values.push_back(std::strtod(x.c_str(), nullptr));
    return values;
}

/// Raw little-endian float64 values, decoded byte by byte.
std::vector<double> read_little_endian_doubles(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    REQUIRE(bytes.size() % 8 == 0);
    std::vector<double> values(bytes.size() / 8);
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::uint64_t bits = 0;
        for (int b = 7; b >= 0; --b) bits = (bits << 8) | static_cast<unsigned char>(bytes[8 * i + static_cast<std::size_t>(b)]);
        std::memcpy(&values[i], &bits, sizeof bits);
    }
    return values;
}

bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

double affine_error(const Affine& affine, const std::vector<double>& expected) {
    REQUIRE(expected.size() == 16);
    double error = 0.0;
    for (int i = 0; i < 16; ++i) error = std::max(error, std::abs(affine(i / 4, i % 4) - expected[static_cast<std::size_t>(i)]));
    return error;
}

void check_dims(const Image3D& image, const std::string& dims) {
    const std::vector<double> d = numbers(dims);
    CHECK(image.geometry.dims == std::array<std::int64_t, 3>{std::int64_t(d[0]), std::int64_t(d[1]), std::int64_t(d[2])});
    CHECK(image.geometry.volumes == (d.size() == 4 ? std::int64_t(d[3]) : 1));
}

std::size_t mismatches(const std::vector<double>& got, const std::vector<double>& expected) {
    REQUIRE(got.size() == expected.size());
    std::size_t count = 0;
    for (std::size_t i = 0; i < got.size(); ++i) count += same_value(got[i], expected[i]) ? 0 : 1;
    return count;
}

}  // namespace

TEST_CASE("NIfTI files written by nibabel read through ITK as nibabel reads them", "[image3d][.nibabel]") {
    // The 84 files of make_nifti_fixtures.py: every datatype, both byte orders, scl_slope / scl_inter,
    // sform + qform that disagree, sform only (sheared), qform only, neither, odd voxel sizes, 3D and 4D.
    const std::string folder = REWIRE_NIFTI_FIXTURES;
    const auto fixtures = read_manifest(folder);
    REQUIRE(fixtures.size() == 84);
    int by_itk = 0, scaled_by_itk = 0, swapped_by_itk = 0;
    for (const auto& f : fixtures) {
        const std::string& file = f.at("file");
        INFO(file);
        const Image3D image = read_image3d(folder + "/" + file);
        CHECK(image.format == (f.at("version") == "2" ? ImageFormat::nifti2 : ImageFormat::nifti1));
        check_dims(image, f.at("dims"));
        CHECK(affine_error(image.geometry.affine, numbers(f.at("affine"))) <= 1e-12);  // nibabel's, not ITK's
        CHECK(mismatches(image.data, read_little_endian_doubles(folder + "/" + file + ".values.bin")) == 0);
        if (image.read_by_itk) {
            ++by_itk;
            scaled_by_itk += file.find("_scaled") != std::string::npos ? 1 : 0;
            swapped_by_itk += file.find("_be") != std::string::npos ? 1 : 0;
        }
        // NIfTI-2 (ITK has no reader) and float images (ITK's niftilib turns NaN and ±inf into 0) are
        // read by rewire's own reader.
        if (f.at("version") == "2" || f.at("datatype").rfind("float", 0) == 0) CHECK_FALSE(image.read_by_itk);
    }
    // Every integer NIfTI-1 file of the datatype matrix (24: 6 types × .nii/.nii.gz × both byte orders)
    // went through ITK, scaled and byte-swapped ones included.
    CHECK(by_itk >= 24);
    CHECK(scaled_by_itk >= 12);
    CHECK(swapped_by_itk >= 12);
}

TEST_CASE("NRRD, MetaImage and Analyze files written by SimpleITK and nibabel", "[image3d][.sitk]") {
    const std::string folder = REWIRE_IMAGE3D_FIXTURES;
    std::set<ImageFormat> formats;
    std::set<std::string> extensions;
    int stacks = 0;
    for (const auto& f : read_manifest(folder)) {
        if (f.count("atlas")) continue;
        const std::string& file = f.at("file");
        INFO(file);
        const Image3D image = read_image3d(folder + "/" + file);
        formats.insert(image.format);
        extensions.insert(file.substr(file.find('.')));
        CHECK(image.read_by_itk);
        check_dims(image, f.at("dims"));
        stacks += image.geometry.volumes > 1 ? 1 : 0;
        CHECK(affine_error(image.geometry.affine, numbers(f.at("affine"))) <= 1e-9);
        CHECK(mismatches(image.data, read_little_endian_doubles(folder + "/" + file + ".values.bin")) == 0);
    }
    CHECK(formats == std::set<ImageFormat>{ImageFormat::nrrd, ImageFormat::metaimage, ImageFormat::analyze});
    CHECK(extensions == std::set<std::string>{".nrrd", ".nhdr", ".mha", ".mhd", ".hdr"});
    CHECK(stacks == 2);
}

TEST_CASE("Debian's mricron atlases read through ITK as nibabel reads them", "[image3d][.sitk]") {
    const std::string folder = REWIRE_IMAGE3D_FIXTURES;
    int atlases = 0;
    for (const auto& f : read_manifest(folder)) {
        if (!f.count("atlas")) continue;
        INFO(f.at("atlas"));
        const Image3D image = read_image3d(f.at("atlas"));
        ++atlases;
        CHECK(image.read_by_itk);
        check_dims(image, f.at("dims"));
        CHECK(affine_error(image.geometry.affine, numbers(f.at("affine"))) <= 1e-12);
        // Exact integer digest of every voxel, as make_image3d_fixtures.py computes it from nibabel.
        std::int64_t checksum = 0, nonzero = 0;
        std::set<std::int64_t> labels;
        for (std::size_t i = 0; i < image.data.size(); ++i) {
            const double v = image.data[i];
            REQUIRE(v == std::floor(v));
            const auto label = static_cast<std::int64_t>(v);
            checksum += label * static_cast<std::int64_t>(i % 9973 + 1);
            if (label != 0) {
                ++nonzero;
                labels.insert(label);
            }
        }
        CHECK(checksum == std::stoll(f.at("checksum")));
        CHECK(nonzero == std::stoll(f.at("nonzero")));
        CHECK(static_cast<std::int64_t>(labels.size()) == std::stoll(f.at("labels")));
    }
    CHECK(atlases == 3);
}

TEST_CASE("x.nii beside x.nii.gz: ITK 5.2 mixes them, rewire refuses", "[image3d][.sitk]") {
    const std::string folder = std::string(REWIRE_IMAGE3D_FIXTURES) + "/sibling";
    // The pitfall itself, in ITK's own reader: asked for x.nii.gz (all voxels 2, 2 mm), it returns the
    // voxels of x.nii (all 1).
    using Image = itk::Image<double, 3>;
    auto reader = itk::ImageFileReader<Image>::New();
    reader->SetImageIO(itk::NiftiImageIO::New());
    reader->SetFileName(folder + "/x.nii.gz");
    reader->Update();
    CHECK(reader->GetOutput()->GetBufferPointer()[0] == 1.0);

    for (const std::string name : {"x.nii.gz", "x.nii"}) {
        const std::string message = test::message_of<InvalidInput>([&] { read_image3d(folder + "/" + name); });
        CHECK_THAT(message, Catch::Matchers::Contains(folder + "/" + name) && Catch::Matchers::Contains("x.nii") &&
                                Catch::Matchers::Contains("Remove or rename one"));
    }
}

TEST_CASE("read_image3d: bad names and missing files", "[image3d]") {
    test::TempDir dir;
    CHECK_THAT(test::message_of<IoError>([&] { read_image3d(dir.file("absent.nii.gz")); }),
               Catch::Matchers::Contains("absent.nii.gz") && Catch::Matchers::Contains("cannot open"));
    std::ofstream(dir.file("atlas.png")) << "not an image";
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_image3d(dir.file("atlas.png")); }),
               Catch::Matchers::Contains("atlas.png") && Catch::Matchers::Contains("unknown image format"));
    std::ofstream(dir.file("garbage.nrrd")) << "this is not NRRD\n";
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_image3d(dir.file("garbage.nrrd")); }),
               Catch::Matchers::Contains("garbage.nrrd") && Catch::Matchers::Contains("NRRD"));
    std::ofstream(dir.file("garbage.mha")) << "this is not MetaImage\n";
    CHECK_THAT(test::message_of<InvalidInput>([&] { read_image3d(dir.file("garbage.mha")); }),
               Catch::Matchers::Contains("garbage.mha") && Catch::Matchers::Contains("MetaImage"));
}
