// 3D images through ITK's ImageIO (itk_bridge.cpp), with rewire's geometry rule (see image3d.hpp).
#include "rewire/io/image3d.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "itk_bridge.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/nifti.hpp"
#include "widen_in_place.hpp"

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

/// The format a file name announces (NIfTI-1 or -2: the header says); InvalidInput for any other name.
ImageFormat format_from_name(const std::string& path) {
    const std::string name = lower(path);
    if (ends_with(name, ".nii") || ends_with(name, ".nii.gz")) return ImageFormat::nifti1;
    if (ends_with(name, ".nrrd") || ends_with(name, ".nhdr")) return ImageFormat::nrrd;
    if (ends_with(name, ".mha") || ends_with(name, ".mhd")) return ImageFormat::metaimage;
    if (ends_with(name, ".hdr") || ends_with(name, ".img") || ends_with(name, ".img.gz")) return ImageFormat::analyze;
    throw InvalidInput(path + ": unknown image format; rewire reads NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), "
                              "MetaImage (.mha, .mhd) and Analyze 7.5 (.hdr/.img)");
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
    std::error_code error;
    if (ends_with(name, ".hdr")) {
        const std::string stem = path.substr(0, path.size() - 4);
        if (fs::exists(stem + ".img", error) && fs::exists(stem + ".img.gz", error)) {
            throw InvalidInput(path + ": both " + stem + ".img and " + stem + ".img.gz exist; ITK's reader would "
                               "take the voxels of either. Remove or rename one of them");
        }
        return;
    }
    std::string other;
    if (ends_with(name, ".nii.gz") || ends_with(name, ".img.gz")) {
        other = path.substr(0, path.size() - 3);
    } else if (ends_with(name, ".nii") || ends_with(name, ".img")) {
        other = path + ".gz";
    }
    if (!other.empty() && fs::exists(other, error)) {
        throw InvalidInput(path + ": " + other + " exists beside it; ITK's NIfTI reader (5.2) would read the header "
                           "of one file and the voxels of the other. Remove or rename one of them");
    }
}

/// The grid ITK read: dims and volumes.
ImageGeometry grid_of(const detail::ItkVolume& volume, const std::string& path) {
    if (volume.fourth_axis_mixed) {
        throw InvalidInput(path + ": the 4th axis is rotated into space; expected a stack of 3D volumes");
    }
    ImageGeometry g;
    g.dims = {volume.size[0], volume.size[1], volume.size[2]};
    g.volumes = volume.size[3];
    return g;
}

/// ITK's geometry as an affine in nibabel's world: ITK's physical space is LPS, nibabel's RAS.
Affine ras_affine(const detail::ItkVolume& volume) {
    Affine affine = Affine::Identity();
    for (int row = 0; row < 3; ++row) {
        for (int axis = 0; axis < 3; ++axis) {
            affine(row, axis) = volume.direction[static_cast<std::size_t>(3 * row + axis)] *
                                volume.spacing[static_cast<std::size_t>(axis)];
        }
        affine(row, 3) = volume.origin[static_cast<std::size_t>(row)];
    }
    affine.row(0) *= -1.0;  // L → R
    affine.row(1) *= -1.0;  // P → A
    return (affine.array() + 0.0).matrix();  // -0 → +0
}

/// NRRD, MetaImage, Analyze: voxels and geometry as ITK reads them.
Image3D read_with_itk_geometry(const std::string& path, ImageFormat format, detail::ItkFormat reader) {
    detail::ItkVolume volume = detail::itk_read(path, reader);
    Image3D image;
    image.path = path;
    image.format = format;
    image.geometry = grid_of(volume, path);
    image.geometry.affine = ras_affine(volume);
    for (int axis = 0; axis < 3; ++axis) {
        image.geometry.voxel_size[static_cast<std::size_t>(axis)] = volume.spacing[static_cast<std::size_t>(axis)];
    }
    image.data = std::move(volume.values);
    return image;
}

/// The stored values at the start of `buffer` become its doubles with nibabel's scaling, in place.
void scale_in_place(std::vector<double>& buffer, const NiftiHeader& header) {
    detail::widen_in_place(buffer, static_cast<std::size_t>(bytes_per_voxel(header.datatype)),
                           [&header](const unsigned char* raw, std::size_t count, double* out) {
                               convert_voxels(raw, header.datatype, static_cast<std::int64_t>(count),
                                              header.scl_slope, header.scl_inter, out);
                           });
}

/// ITK's name of the component type NIfTI's `type` is read as.
const char* itk_name(NiftiDataType type) {
    switch (type) {
        case NiftiDataType::uint8: return "unsigned_char";
        case NiftiDataType::int8: return "char";
        case NiftiDataType::int16: return "short";
        case NiftiDataType::uint16: return "unsigned_short";
        case NiftiDataType::int32: return "int";
        case NiftiDataType::uint32: return "unsigned_int";
        case NiftiDataType::float32: return "float";
        case NiftiDataType::float64: return "double";
    }
    return "unknown";
}

/// NIfTI-1: the header parsed by rewire defines the geometry, ITK reads the voxels.
Image3D read_nifti1(const std::string& path, const NiftiHeader& header) {
    refuse_ambiguous_siblings(path);
    Image3D image;
    image.path = path;
    image.format = ImageFormat::nifti1;
    image.geometry = header.geometry;
    image.geometry.tr = 0.0;

    // ITK's NIfTI library (niftilib) replaces NaN and ±inf in float images by 0, which nibabel keeps:
    // float voxels come from rewire's own reader, after ITK's reading of the header is checked below.
    const bool floating = header.datatype == NiftiDataType::float32 || header.datatype == NiftiDataType::float64;
    detail::ItkVolume volume = detail::itk_read(path, detail::ItkFormat::nifti, !floating);
    if (volume.header_refused) {
        // ITK 5.2 refuses some headers nibabel reads and rewire has just parsed (a sheared sform has no
        // direction cosines; zero voxel sizes): the voxels then come from rewire's own reader.
        NiftiImage own = read_nifti(path);
        image.data = std::move(own.data);
        image.read_by_itk = false;
        return image;
    }
    // The same dims, or the two readers do not describe the same voxels.
    const ImageGeometry itk = grid_of(volume, path);
    if (itk.dims != header.geometry.dims || itk.volumes != header.geometry.volumes) {
        std::ostringstream message;
        message << path << ": ITK reads dims " << itk.dims[0] << "x" << itk.dims[1] << "x" << itk.dims[2] << "x"
                << itk.volumes << " where the header says " << header.geometry.dims[0] << "x"
                << header.geometry.dims[1] << "x" << header.geometry.dims[2] << "x" << header.geometry.volumes;
        throw InvalidInput(message.str());
    }
    // ITK's affine must match where the file leaves it no choice: the qform alone, or an sform and a
    // qform that agree, with voxel sizes nibabel did not have to fix. (ITK 5.2 prefers the qform to a
    // differing sform, fixes odd voxel sizes its own way, and its fallback without either transform is
    // not nibabel's: those files are read with rewire's affine without a check.)
    const double qfac = header.pixdim[0];  // nibabel reads a qfac other than ±1 as 1, niftilib a negative one as -1
    bool agreed = (qfac == 0.0 || qfac == 1.0 || qfac == -1.0) && header.has_qform && (header.sform_code <= 0 ||
                                       (header.sform - header.qform).cwiseAbs().maxCoeff() <= kAffineTolerance);
    for (std::size_t axis = 0; axis < 3; ++axis) {
        agreed = agreed && std::abs(volume.spacing[axis] - header.pixdim[axis + 1]) <= kAffineTolerance;
    }
    if (agreed) {
        const Affine from_itk = ras_affine(volume);
        if ((from_itk - header.geometry.affine).cwiseAbs().maxCoeff() > kAffineTolerance) {
            throw InvalidInput(path + ": ITK's affine " + show(from_itk) + " differs from the header's " +
                               show(header.geometry.affine) + " (sform_code " + std::to_string(header.sform_code) +
                               ", qform_code " + std::to_string(header.qform_code) + ")");
        }
    }
    // Unscaled, ITK reports the stored type, which must be the header's (scaled, it reports float).
    const bool scaled = header.scl_slope != 1.0 || header.scl_inter != 0.0;
    if (!scaled && volume.component != itk_name(header.datatype)) {
        throw InvalidInput(path + ": ITK reads voxels of type " + volume.component + " where the header says " +
                           datatype_name(header.datatype));
    }
    if (floating) {
        image.data = read_nifti(path).data;
        image.read_by_itk = false;
        return image;
    }
    image.data = std::move(volume.values);
    scale_in_place(image.data, header);
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
    return read_with_itk_geometry(path, ImageFormat::analyze, detail::ItkFormat::analyze);
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
        case ImageFormat::nrrd:
            return read_with_itk_geometry(path, ImageFormat::nrrd, detail::ItkFormat::nrrd);
        case ImageFormat::metaimage:
            return read_with_itk_geometry(path, ImageFormat::metaimage, detail::ItkFormat::metaimage);
        case ImageFormat::analyze:
            return read_analyze(path);
    }
    throw InvalidInput(path + ": unknown image format");
}

}  // namespace rewire
