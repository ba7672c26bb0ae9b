// 3D images through ITK's ImageIO, with rewire's geometry rule (see image3d.hpp).
#include "rewire/io/image3d.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <itkImageIOBase.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>

#include "rewire/core/checked.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/nifti.hpp"

namespace rewire {
namespace {

/// Entries of two affines may differ by this much (mm) and still be the same geometry: NIfTI-1 stores
/// float32, and ITK orthonormalises its direction cosines.
constexpr double kAffineTolerance = 1e-3;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The format a file name announces; InvalidInput for any other name.
ImageFormat format_from_name(const std::string& path) {
    const std::string name = lower(path);
    if (ends_with(name, ".nii") || ends_with(name, ".nii.gz")) return ImageFormat::nifti1;  // or 2: the header says
    if (ends_with(name, ".nrrd") || ends_with(name, ".nhdr")) return ImageFormat::nrrd;
    if (ends_with(name, ".mha") || ends_with(name, ".mhd")) return ImageFormat::metaimage;
    if (ends_with(name, ".hdr") || ends_with(name, ".img") || ends_with(name, ".img.gz")) return ImageFormat::analyze;
    throw InvalidInput(path + ": unknown image format; rewire reads NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), "
                              "MetaImage (.mha, .mhd) and Analyze 7.5 (.hdr/.img)");
}

/// ITK's exception text on one line (its descriptions may span several).
std::string description(const itk::ExceptionObject& e) {
    std::string text = e.GetDescription();
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

std::string show(const Affine& affine) {
    std::ostringstream text;
    text.precision(6);
    text << "[";
    for (int i = 0; i < 3; ++i) {
        text << (i ? "; " : "");
        for (int j = 0; j < 4; ++j) text << (j ? " " : "") << affine(i, j);
    }
    text << "]";
    return text.str();
}

/// ITK's NIfTI reader (niftilib) looks for `x.nii` before `x.nii.gz` (and `x.img` before `x.img.gz`)
/// whatever it was given: with both on disk, ITK 5.2 reads the header of one file and the voxels of the
/// other. rewire reads the file it is given or nothing.
void refuse_ambiguous_siblings(const std::string& path) {
    namespace fs = std::filesystem;
    const std::string name = lower(path);
    std::string other;
    if (ends_with(name, ".nii.gz") || ends_with(name, ".img.gz")) {
        other = path.substr(0, path.size() - 3);
    } else if (ends_with(name, ".nii") || ends_with(name, ".img")) {
        other = path + ".gz";
    } else if (ends_with(name, ".hdr")) {
        const std::string stem = path.substr(0, path.size() - 4);
        if (fs::exists(stem + ".img") && fs::exists(stem + ".img.gz")) {
            throw InvalidInput(path + ": both " + stem + ".img and " + stem + ".img.gz exist; ITK's NIfTI/Analyze "
                               "reader would take the voxels of one of them. Remove or rename one");
        }
        return;
    }
    std::error_code error;
    if (!other.empty() && fs::exists(other, error)) {
        throw InvalidInput(path + ": " + other + " exists beside it; ITK's NIfTI reader (5.2) would read the header "
                           "of one file and the voxels of the other. Remove or rename one of them");
    }
}

template <typename T>
void to_double(const void* raw, std::size_t count, double* out) {
    const T* values = static_cast<const T*>(raw);
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<double>(values[i]);
}

/// ITK's pixel components in `raw` as float64 (unscaled).
void convert_itk(itk::IOComponentEnum type, const void* raw, std::size_t count, double* out,
                 const std::string& path) {
    using C = itk::IOComponentEnum;
    switch (type) {
        case C::UCHAR: return to_double<unsigned char>(raw, count, out);
        case C::CHAR: return to_double<signed char>(raw, count, out);
        case C::USHORT: return to_double<std::uint16_t>(raw, count, out);
        case C::SHORT: return to_double<std::int16_t>(raw, count, out);
        case C::UINT: return to_double<std::uint32_t>(raw, count, out);
        case C::INT: return to_double<std::int32_t>(raw, count, out);
        case C::ULONG: return to_double<unsigned long>(raw, count, out);
        case C::LONG: return to_double<long>(raw, count, out);
        case C::ULONGLONG: return to_double<unsigned long long>(raw, count, out);
        case C::LONGLONG: return to_double<long long>(raw, count, out);
        case C::FLOAT: return to_double<float>(raw, count, out);
        case C::DOUBLE: return to_double<double>(raw, count, out);
        default:
            throw InvalidInput(path + ": unsupported voxel type " +
                               itk::ImageIOBase::GetComponentTypeAsString(type));
    }
}

/// Reads the header of `path` with `io`; ITK's exceptions become rewire's, naming the file.
void read_information(itk::ImageIOBase& io, const std::string& path, const char* format) {
    if (!io.CanReadFile(path.c_str())) {
        throw InvalidInput(path + ": not a readable " + std::string(format) + " file");
    }
    io.SetFileName(path);
    try {
        io.ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
        throw InvalidInput(path + ": ITK cannot read the " + std::string(format) + " header: " + description(e));
    }
}

/// The grid ITK reads: dims and volumes (3D image, or 4D stack of 3D volumes).
ImageGeometry itk_grid(const itk::ImageIOBase& io, const std::string& path) {
    const unsigned dimensions = io.GetNumberOfDimensions();
    if (dimensions < 2 || dimensions > 4) {
        throw InvalidInput(path + ": a " + std::to_string(dimensions) +
                           "-dimensional image; expected a 3D image (or a 4D stack of 3D volumes)");
    }
    if (io.GetNumberOfComponents() != 1) {
        throw InvalidInput(path + ": " + std::to_string(io.GetNumberOfComponents()) +
                           " components per voxel (" + itk::ImageIOBase::GetPixelTypeAsString(io.GetPixelType()) +
                           "); expected one value per voxel");
    }
    ImageGeometry g;
    for (unsigned axis = 0; axis < dimensions; ++axis) {
        const auto size = static_cast<std::int64_t>(io.GetDimensions(axis));
        if (axis < 3) {
            g.dims[axis] = size;
        } else {
            g.volumes = size;
        }
    }
    if (!checked_product({g.dims[0], g.dims[1], g.dims[2], g.volumes, std::int64_t{sizeof(double)}})) {
        throw InvalidInput(path + ": dimensions too large for memory");
    }
    return g;
}

/// ITK's geometry as an affine in nibabel's world: ITK's physical space is LPS, nibabel's RAS.
Affine itk_affine(const itk::ImageIOBase& io) {
    Affine affine = Affine::Identity();
    const unsigned dimensions = std::min(3u, io.GetNumberOfDimensions());
    for (unsigned axis = 0; axis < dimensions; ++axis) {
        const std::vector<double> direction = io.GetDirection(axis);
        for (unsigned row = 0; row < dimensions; ++row) {
            affine(row, axis) = direction[row] * io.GetSpacing(axis);
        }
        affine(axis, 3) = io.GetOrigin(axis);
    }
    affine.row(0) *= -1.0;  // L → R
    affine.row(1) *= -1.0;  // P → A
    return affine;
}

/// Reads all voxels into a buffer of 8 bytes per value (wide enough for every component type): the raw
/// values fill its start, to be widened in place.
std::vector<double> read_buffer(itk::ImageIOBase& io, const ImageGeometry& g, const std::string& path) {
    itk::ImageIORegion region(io.GetNumberOfDimensions());
    for (unsigned axis = 0; axis < io.GetNumberOfDimensions(); ++axis) {
        region.SetIndex(axis, 0);
        region.SetSize(axis, io.GetDimensions(axis));
    }
    io.SetIORegion(region);
    std::vector<double> buffer(static_cast<std::size_t>(g.voxels() * g.volumes));
    try {
        io.Read(buffer.data());
    } catch (const itk::ExceptionObject& e) {
        throw IoError(path + ": ITK cannot read the voxels: " + description(e));
    }
    return buffer;
}

/// Converts the raw values (`bytes_per_value` <= 8 each) at the start of `buffer` into its doubles, in
/// place, so that an image never needs a second copy. Blocks go from the end: value i's raw bytes lie
/// below byte 8 i, so no raw value is overwritten before it is converted.
template <typename Convert>
void widen_in_place(std::vector<double>& buffer, std::size_t bytes_per_value, Convert convert) {
    constexpr std::size_t block = std::size_t{1} << 14;
    std::vector<unsigned char> scratch(block * bytes_per_value);
    auto* bytes = reinterpret_cast<unsigned char*>(buffer.data());
    std::size_t end = buffer.size();
    while (end > 0) {
        const std::size_t begin = end > block ? end - block : 0;
        std::memcpy(scratch.data(), bytes + begin * bytes_per_value, (end - begin) * bytes_per_value);
        convert(scratch.data(), end - begin, buffer.data() + begin);
        end = begin;
    }
}

/// Voxels read by ITK, geometry as ITK reads it (NRRD, MetaImage, Analyze).
Image3D read_with_itk_geometry(itk::ImageIOBase& io, const std::string& path, ImageFormat format) {
    read_information(io, path, format_name(format));
    Image3D image;
    image.path = path;
    image.format = format;
    image.geometry = itk_grid(io, path);
    if (io.GetNumberOfDimensions() == 4) {
        for (unsigned axis = 0; axis < 3; ++axis) {
            if (io.GetDirection(axis)[3] != 0.0 || io.GetDirection(3)[axis] != 0.0) {
                throw InvalidInput(path + ": the 4th axis is rotated into space; expected a stack of 3D volumes");
            }
        }
    }
    image.geometry.affine = itk_affine(io);
    for (int axis = 0; axis < 3; ++axis) {
        image.geometry.voxel_size[axis] = image.geometry.affine.block<3, 1>(0, axis).norm();
    }
    const auto type = io.GetComponentType();
    if (io.GetComponentSize() > sizeof(double)) {
        throw InvalidInput(path + ": unsupported voxel type " + itk::ImageIOBase::GetComponentTypeAsString(type));
    }
    image.data = read_buffer(io, image.geometry, path);
    widen_in_place(image.data, io.GetComponentSize(), [&](const void* raw, std::size_t count, double* out) {
        convert_itk(type, raw, count, out, path);
    });
    return image;
}

/// The ITK component type NIfTI's `type` is read as.
itk::IOComponentEnum itk_type(NiftiDataType type) {
    using C = itk::IOComponentEnum;
    switch (type) {
        case NiftiDataType::uint8: return C::UCHAR;
        case NiftiDataType::int8: return C::CHAR;
        case NiftiDataType::int16: return C::SHORT;
        case NiftiDataType::uint16: return C::USHORT;
        case NiftiDataType::int32: return C::INT;
        case NiftiDataType::uint32: return C::UINT;
        case NiftiDataType::float32: return C::FLOAT;
        case NiftiDataType::float64: return C::DOUBLE;
    }
    return C::UNKNOWNCOMPONENTTYPE;
}

/// NIfTI-1: the header parsed by rewire defines the geometry, ITK reads the voxels.
Image3D read_nifti1(const std::string& path, const NiftiHeader& header) {
    refuse_ambiguous_siblings(path);
    Image3D image;
    image.path = path;
    image.format = ImageFormat::nifti1;
    image.geometry = header.geometry;
    image.geometry.tr = 0.0;

    auto io = itk::NiftiImageIO::New();
    io->SetFileName(path);
    try {
        io->ReadImageInformation();
    } catch (const itk::ExceptionObject&) {
        // ITK 5.2 refuses some headers nibabel reads and rewire has just parsed (a sheared sform has no
        // direction cosines; zero voxel sizes): the voxels then come from rewire's own reader.
        NiftiImage own = read_nifti(path);
        image.data = std::move(own.data);
        image.read_by_itk = false;
        return image;
    }
    // The same dims, or the two readers do not describe the same voxels.
    const ImageGeometry itk = itk_grid(*io, path);
    if (itk.dims != header.geometry.dims || itk.volumes != header.geometry.volumes) {
        std::ostringstream message;
        message << path << ": ITK reads dims " << itk.dims[0] << "x" << itk.dims[1] << "x" << itk.dims[2] << "x"
                << itk.volumes << " where the header says " << header.geometry.dims[0] << "x"
                << header.geometry.dims[1] << "x" << header.geometry.dims[2] << "x" << header.geometry.volumes;
        throw InvalidInput(message.str());
    }
    // ITK's affine must match where the file leaves it no choice: the qform alone, or an sform and a
    // qform that agree, with voxel sizes nibabel did not have to fix. (ITK 5.2 prefers the qform to a
    // differing sform, fixes negative voxel sizes otherwise, and its fallback without either transform is
    // not nibabel's: those files are read with rewire's affine without a check.)
    bool agreed = header.has_qform && (header.sform_code <= 0 ||
                                       (header.sform - header.qform).cwiseAbs().maxCoeff() <= kAffineTolerance);
    for (unsigned axis = 0; axis < 3; ++axis) {
        agreed = agreed && std::abs(io->GetSpacing(axis) - header.pixdim[axis + 1]) <= kAffineTolerance;
    }
    if (agreed) {
        const Affine from_itk = itk_affine(*io);
        if ((from_itk - header.geometry.affine).cwiseAbs().maxCoeff() > kAffineTolerance) {
            throw InvalidInput(path + ": ITK's affine " + show(from_itk) + " differs from the header's " +
                               show(header.geometry.affine) + " (sform_code " + std::to_string(header.sform_code) +
                               ", qform_code " + std::to_string(header.qform_code) + ")");
        }
    }
    // The stored values, unscaled: rewire applies scl_slope / scl_inter in double exactly as nibabel does
    // (ITK would scale into float32). Without scaling ITK reports the stored type, which must be the header's.
    const bool scaled = header.scl_slope != 1.0 || header.scl_inter != 0.0;
    if (!scaled && io->GetComponentType() != itk_type(header.datatype)) {
        throw InvalidInput(path + ": ITK reads voxels of type " +
                           itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType()) +
                           " where the header says " + datatype_name(header.datatype));
    }
    io->SetRescaleSlope(1.0);
    io->SetRescaleIntercept(0.0);
    image.data = read_buffer(*io, itk, path);
    widen_in_place(image.data, static_cast<std::size_t>(bytes_per_voxel(header.datatype)),
                   [&](const void* raw, std::size_t count, double* out) {
                       convert_voxels(raw, header.datatype, static_cast<std::int64_t>(count), header.scl_slope,
                                      header.scl_inter, out);
                   });
    return image;
}

/// Analyze 7.5 (.hdr/.img); a .hdr with NIfTI's magic is a two-file NIfTI, which rewire does not read.
Image3D read_analyze(const std::string& path) {
    refuse_ambiguous_siblings(path);
    std::string header = path;
    const std::string name = lower(path);
    if (ends_with(name, ".img.gz")) header = path.substr(0, path.size() - 7) + ".hdr";
    else if (ends_with(name, ".img")) header = path.substr(0, path.size() - 4) + ".hdr";
    std::ifstream file(header, std::ios::binary);
    char raw[348] = {};
    if (!file.read(raw, sizeof raw)) {
        throw IoError(header + ": cannot read an Analyze header (348 bytes)");
    }
    if (std::memcmp(raw + 344, "ni1", 4) == 0 || std::memcmp(raw + 344, "n+1", 4) == 0) {
        throw InvalidInput(path + ": two-file NIfTI (.hdr/.img) is not supported; convert to .nii");
    }
    auto io = itk::NiftiImageIO::New();
    // Analyze 7.5 as ITK 4 and later read it (orientation from the header), without ITK's deprecation warning.
    io->SetLegacyAnalyze75Mode(itk::NiftiImageIOEnums::Analyze75Flavor::AnalyzeITK4);
    return read_with_itk_geometry(*io, path, ImageFormat::analyze);
}

}  // namespace

const char* format_name(ImageFormat format) {
    switch (format) {
        case ImageFormat::nifti1: return "NIfTI-1";
        case ImageFormat::nifti2: return "NIfTI-2";
        case ImageFormat::nrrd: return "NRRD";
        case ImageFormat::metaimage: return "MetaImage";
        case ImageFormat::analyze: return "Analyze 7.5";
    }
    return "unknown";
}

Image3D read_image3d(const std::string& path) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
        throw IoError(path + ": cannot open: No such file or directory");
    }
    switch (format_from_name(path)) {
        case ImageFormat::nifti1:
        case ImageFormat::nifti2: {
            const NiftiHeader header = read_nifti_header(path);
            if (header.version == 2) {
                // No ITK release reads NIfTI-2: rewire's own reader.
                NiftiImage own = read_nifti(path);
                Image3D image;
                image.path = path;
                image.format = ImageFormat::nifti2;
                image.geometry = own.header.geometry;
                image.geometry.tr = 0.0;
                image.data = std::move(own.data);
                image.read_by_itk = false;
                return image;
            }
            return read_nifti1(path, header);
        }
        case ImageFormat::nrrd: {
            auto io = itk::NrrdImageIO::New();
            return read_with_itk_geometry(*io, path, ImageFormat::nrrd);
        }
        case ImageFormat::metaimage: {
            auto io = itk::MetaImageIO::New();
            return read_with_itk_geometry(*io, path, ImageFormat::metaimage);
        }
        case ImageFormat::analyze:
            return read_analyze(path);
    }
    throw InvalidInput(path + ": unknown image format");
}

}  // namespace rewire
