// NIfTI-1 / NIfTI-2 header parsing, streamed voxel reading and writing.
#include "rewire/io/nifti.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>
#include <type_traits>

#include <Eigen/Geometry>
#include <Eigen/SVD>
#include <zlib.h>

#include "byte_source.hpp"
#include "nifti_header.hpp"
#include "rewire/core/checked.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/atomic_file.hpp"

namespace rewire {
namespace {

constexpr int kNifti1HeaderSize = 348;
constexpr int kNifti2HeaderSize = 540;

template <typename T>
T byteswap(T value) {
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    std::reverse(bytes, bytes + sizeof(T));
    std::memcpy(&value, bytes, sizeof(T));
    return value;
}

/// Reads a field of type T at `offset` of a raw header, swapping bytes when needed.
class FieldReader {
public:
    FieldReader(const unsigned char* bytes, bool swapped) : bytes_(bytes), swapped_(swapped) {}
    template <typename T>
    T get(int offset) const {
        T value;
        std::memcpy(&value, bytes_ + offset, sizeof(T));
        return swapped_ ? byteswap(value) : value;
    }

private:
    const unsigned char* bytes_;
    bool swapped_;
};

bool known_datatype(int code) {
    switch (code) {
        case 2: case 4: case 8: case 16: case 64: case 256: case 512: case 768: return true;
        default: return false;
    }
}

std::string datatype_hint(int code) {
    switch (code) {
        case 32: return " (complex64)";
        case 128: return " (RGB24)";
        case 1792: return " (complex128)";
        case 1024: return " (int64)";
        case 1280: return " (uint64)";
        default: return "";
    }
}

/// nibabel's Nifti1Header.get_qform(): quaternion (b, c, d) with a non-negative a, pixdim, qfac.
Affine qform_affine(double b, double c, double d, const std::array<double, 8>& pixdim,
                    const Eigen::Vector3d& offset, double threshold) {
    double w2 = 1.0 - (b * b + c * c + d * d);
    double a = 0.0;
    if (w2 >= 0.0) {
        a = std::sqrt(w2);
    } else if (w2 < threshold) {
        throw InvalidInput("quaternion (b, c, d) has norm above 1");
    }
    const Eigen::Quaterniond q(a, b, c, d);
    const double norm2 = q.squaredNorm();
    Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();
    if (norm2 >= std::numeric_limits<double>::epsilon()) {
        rotation = Eigen::Quaterniond(q.coeffs() / std::sqrt(norm2)).toRotationMatrix();
    }
    const double qfac = pixdim[0] == -1.0 ? -1.0 : 1.0;  // nibabel sets any other qfac to 1
    const Eigen::Vector3d zooms(pixdim[1], pixdim[2], pixdim[3] * qfac);
    Affine affine = Affine::Identity();
    affine.topLeftCorner<3, 3>() = rotation * zooms.asDiagonal();
    affine.topRightCorner<3, 1>() = offset;
    return affine;
}

/// nibabel's shape_zoom_affine(): the fallback when neither sform nor qform is set.
Affine fallback_affine(const std::array<std::int64_t, 3>& dims, const std::array<double, 8>& pixdim) {
    Affine affine = Affine::Identity();
    const double zooms[3] = {-pixdim[1], pixdim[2], pixdim[3]};
    for (int axis = 0; axis < 3; ++axis) {
        affine(axis, axis) = zooms[axis];
        affine(axis, 3) = -(static_cast<double>(dims[axis]) - 1.0) / 2.0 * zooms[axis];
    }
    return affine;
}

/// nibabel's header fixes on loading (Nifti1Header.check_fix, _chk_pixdims): zero voxel sizes become
/// 1 and negative ones their absolute value, so that geometry and affine match nibabel's img.affine.
void fix_voxel_sizes(std::array<double, 8>& pixdim) {
    for (int axis = 1; axis <= 3; ++axis) {
        pixdim[axis] = pixdim[axis] == 0.0 ? 1.0 : std::abs(pixdim[axis]);
    }
}

/// The rank of the sform's 3 × 3 part when it cannot map voxels onto 3D space (all zero, or axes that
/// are parallel or lie in a plane), else nothing. nibabel reads such a header; nilearn fails on it, and
/// every region would be empty. Axes a million times shorter than the longest are as degenerate: no
/// scanner grid is that anisotropic, and float32 srow rows of a singular matrix are rarely exactly so.
std::optional<int> degenerate_rank(const Affine& affine) {
    const Eigen::Vector3d singular = Eigen::JacobiSVD<Eigen::Matrix3d>(affine.topLeftCorner<3, 3>()).singularValues();
    const int rank = static_cast<int>((singular.array() > singular[0] * 1e-6).count());
    if (singular[0] > 0.0 && rank == 3)
        return std::nullopt;
    return singular[0] > 0.0 ? rank : 0;
}

/// Refuses dims whose voxel count, bytes in memory (as float64) or end of data do not fit 64 bits: a
/// corrupt NIfTI-2 header (dim[1] = 2^62) would otherwise wrap round to a small size, pass the file-size
/// check and reach an allocation.
void check_sizes(const NiftiHeader& h, const std::string& path) {
    const ImageGeometry& g = h.geometry;
    const auto in_memory = checked_product({g.dims[0], g.dims[1], g.dims[2], g.volumes,
                                            std::int64_t{sizeof(double)}});
    const auto in_file = checked_product({g.dims[0], g.dims[1], g.dims[2], g.volumes,
                                          std::int64_t{bytes_per_voxel(h.datatype)}});
    if (!in_memory || !in_file || !checked_sum(h.vox_offset, *in_file)) {
        std::ostringstream message;
        message << path << ": header dims " << g.dims[0] << "x" << g.dims[1] << "x" << g.dims[2] << "x"
                << g.volumes << " describe more than 2^63 bytes of voxel data: the header is corrupt";
        throw InvalidInput(message.str());
    }
}

double seconds_per_time_unit(int xyzt_units) {
    switch (xyzt_units & 0x38) {
        case 16: return 1e-3;  // NIFTI_UNITS_MSEC
        case 24: return 1e-6;  // NIFTI_UNITS_USEC
        default: return 1.0;   // NIFTI_UNITS_SEC, or unknown: nibabel and nilearn read seconds
    }
}

NiftiHeader decode_header(const unsigned char* raw, int size, bool swapped, const std::string& path) {
    NiftiHeader h;
    const FieldReader f(raw, swapped);
    h.swapped = swapped;
    std::array<double, 4> srow[3];
    double quatern[3];
    double qoffset[3];
    int datatype = 0;
    if (size == kNifti1HeaderSize) {
        h.version = 1;
        if (std::memcmp(raw + 344, "n+1", 4) != 0 && std::memcmp(raw + 344, "ni1", 4) != 0) {
            throw InvalidInput(path + ": not a NIfTI file (magic string is not 'n+1' or 'ni1')");
        }
        if (std::memcmp(raw + 344, "ni1", 4) == 0) {
            throw InvalidInput(path + ": two-file NIfTI (.hdr/.img) is not supported; convert to .nii");
        }
        for (int i = 0; i < 8; ++i) {
            h.dim[i] = f.get<std::int16_t>(40 + 2 * i);
            h.pixdim[i] = f.get<float>(76 + 4 * i);
        }
        datatype = f.get<std::int16_t>(70);
        const double offset = f.get<float>(108);
        if (!(std::fabs(offset) < 0x1p62)) {  // converting NaN, inf or beyond int64 would be undefined
            throw InvalidInput(path + ": vox_offset is " + std::to_string(offset) + "; expected a byte offset");
        }
        h.vox_offset = static_cast<std::int64_t>(offset);
        h.scl_slope = f.get<float>(112);
        h.scl_inter = f.get<float>(116);
        h.xyzt_units = raw[123];
        h.qform_code = f.get<std::int16_t>(252);
        h.sform_code = f.get<std::int16_t>(254);
        for (int i = 0; i < 3; ++i) {
            quatern[i] = f.get<float>(256 + 4 * i);
            qoffset[i] = f.get<float>(268 + 4 * i);
            for (int j = 0; j < 4; ++j) {
                srow[i][j] = f.get<float>(280 + 16 * i + 4 * j);
            }
        }
    } else {
        h.version = 2;
        if (std::memcmp(raw + 4, "n+2\0\r\n\032\n", 8) != 0) {
            throw InvalidInput(path + ": not a NIfTI-2 file (bad magic string)");
        }
        datatype = f.get<std::int16_t>(12);
        for (int i = 0; i < 8; ++i) {
            h.dim[i] = f.get<std::int64_t>(16 + 8 * i);
            h.pixdim[i] = f.get<double>(104 + 8 * i);
        }
        h.vox_offset = f.get<std::int64_t>(168);
        h.scl_slope = f.get<double>(176);
        h.scl_inter = f.get<double>(184);
        h.qform_code = f.get<std::int32_t>(344);
        h.sform_code = f.get<std::int32_t>(348);
        for (int i = 0; i < 3; ++i) {
            quatern[i] = f.get<double>(352 + 8 * i);
            qoffset[i] = f.get<double>(376 + 8 * i);
            for (int j = 0; j < 4; ++j) {
                srow[i][j] = f.get<double>(400 + 32 * i + 8 * j);
            }
        }
        h.xyzt_units = f.get<std::int32_t>(500);
    }

    if (!known_datatype(datatype)) {
        throw InvalidInput(path + ": unsupported NIfTI datatype " + std::to_string(datatype) +
                           datatype_hint(datatype) +
                           "; expected uint8, int8, int16, uint16, int32, uint32, float32 or float64");
    }
    h.datatype = static_cast<NiftiDataType>(datatype);
    const std::int64_t ndim = h.dim[0];
    if (ndim < 1 || ndim > 7) {
        throw InvalidInput(path + ": dim[0] is " + std::to_string(ndim) + "; expected 1 to 7");
    }
    for (int i = 1; i <= ndim; ++i) {
        if (h.dim[i] < 1) {
            throw InvalidInput(path + ": dim[" + std::to_string(i) + "] is " + std::to_string(h.dim[i]) +
                               "; every used dimension must be at least 1");
        }
    }
    for (int i = 5; i <= ndim; ++i) {
        if (h.dim[i] > 1) {
            throw InvalidInput(path + ": dim[" + std::to_string(i) + "] is " + std::to_string(h.dim[i]) +
                               "; rewire reads 3D and 4D images only");
        }
    }
    if (h.vox_offset < size) {
        // NIfTI-1 files with vox_offset 0 come from some writers: data follows the header (+ 4 bytes).
        h.vox_offset = size + 4;
    }
    if (!(std::isfinite(h.scl_slope)) || h.scl_slope == 0.0) {
        h.scl_slope = 1.0;  // NIfTI: a slope of 0 means "no scaling"; nibabel also treats NaN so
        h.scl_inter = 0.0;
    }
    if (!std::isfinite(h.scl_inter)) {
        h.scl_inter = 0.0;
    }

    fix_voxel_sizes(h.pixdim);
    ImageGeometry& g = h.geometry;
    for (int axis = 0; axis < 3; ++axis) {
        g.dims[axis] = axis + 1 <= ndim ? h.dim[axis + 1] : 1;
        g.voxel_size[axis] = h.pixdim[axis + 1];
    }
    g.volumes = ndim >= 4 ? h.dim[4] : 1;
    check_sizes(h, path);
    g.tr = ndim >= 4 ? h.pixdim[4] * seconds_per_time_unit(h.xyzt_units) : 0.0;
    const double threshold = h.version == 1 ? -3.0 * std::numeric_limits<float>::epsilon()
                                            : -3.0 * std::numeric_limits<double>::epsilon();
    // Both transforms as the file states them, whichever one the affine follows (read_image3d checks
    // ITK's reading against them).
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 4; ++j) {
            h.sform(i, j) = srow[i][j];
        }
    }
    if (h.qform_code > 0 && h.sform_code > 0) {
        try {
            h.qform = qform_affine(quatern[0], quatern[1], quatern[2], h.pixdim,
                                   Eigen::Vector3d(qoffset[0], qoffset[1], qoffset[2]), threshold);
            h.has_qform = h.qform.allFinite();
        } catch (const InvalidInput&) {
            h.has_qform = false;  // the sform is used; a qform nothing reads is no error
        }
    }
    if (h.sform_code > 0) {
        g.affine = Affine::Identity();
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 4; ++j) {
                g.affine(i, j) = srow[i][j];
            }
        }
        if (const auto rank = degenerate_rank(g.affine); rank && g.affine.allFinite()) {
            throw InvalidInput(path + ": the sform (sform_code " + std::to_string(h.sform_code) + ") is degenerate: " +
                               (*rank == 0 ? std::string("its rotation and zooms are all zero")
                                           : "its 3x3 part has rank " + std::to_string(*rank)) +
                               ", so voxels do not map onto 3D space; fix srow_x/y/z, or set sform_code to 0 "
                               "to use the qform");
        }
    } else if (h.qform_code > 0) {
        try {
            g.affine = qform_affine(quatern[0], quatern[1], quatern[2], h.pixdim,
                                    Eigen::Vector3d(qoffset[0], qoffset[1], qoffset[2]), threshold);
        } catch (const InvalidInput& e) {
            throw InvalidInput(path + ": qform " + e.what());
        }
        h.qform = g.affine;
        h.has_qform = true;
    } else {
        g.affine = fallback_affine(g.dims, h.pixdim);
    }
    if (!g.affine.allFinite()) {
        throw InvalidInput(path + ": the affine (sform/qform) contains NaN or infinity");
    }
    return h;
}

std::uint64_t file_size_or_zero(const std::string& path) {
    std::error_code error;
    const auto size = std::filesystem::file_size(path, error);
    return error ? 0 : static_cast<std::uint64_t>(size);
}

bool has_gzip_magic(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        return false;
    }
    unsigned char magic[2] = {0, 0};
    const std::size_t got = std::fread(magic, 1, 2, file);
    std::fclose(file);
    return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

NiftiHeader parse_header_from(detail::ByteSource& source, const std::string& path) {
    unsigned char raw[kNifti2HeaderSize] = {};
    const std::size_t got = source.read(raw, 4);
    if (got < 4) {
        throw InvalidInput(path + ": not a NIfTI file (" + std::to_string(got) + " bytes long)");
    }
    std::int32_t sizeof_hdr = 0;
    std::memcpy(&sizeof_hdr, raw, 4);
    bool swapped = false;
    if (sizeof_hdr != kNifti1HeaderSize && sizeof_hdr != kNifti2HeaderSize) {
        sizeof_hdr = byteswap(sizeof_hdr);
        swapped = true;
    }
    if (sizeof_hdr != kNifti1HeaderSize && sizeof_hdr != kNifti2HeaderSize) {
        throw InvalidInput(path + ": not a NIfTI file (sizeof_hdr is neither 348 nor 540)");
    }
    if (source.read(raw + 4, sizeof_hdr - 4) < static_cast<std::size_t>(sizeof_hdr - 4)) {
        throw InvalidInput(path + ": file ends inside the NIfTI header");
    }
    return decode_header(raw, sizeof_hdr, swapped, path);
}

}  // namespace

namespace detail {

NiftiHeader parse_nifti_header(ByteSource& source, const std::string& path) {
    return parse_header_from(source, path);
}

}  // namespace detail

namespace {

template <typename T>
void convert_typed(const void* raw, std::int64_t count, double slope, double inter, double* out) {
    const T* in = static_cast<const T*>(raw);
    if (slope == 1.0 && inter == 0.0) {
        for (std::int64_t i = 0; i < count; ++i) {
            out[i] = static_cast<double>(in[i]);
        }
        return;
    }
    // nibabel multiplies, then adds, as two rounded operations: keep them separate (no FMA).
    for (std::int64_t i = 0; i < count; ++i) {
        out[i] = static_cast<double>(in[i]) * slope + inter;  // built with -ffp-contract=off
    }
}

template <typename T>
void swap_in_place(void* data, std::int64_t count) {
    T* values = static_cast<T*>(data);
    for (std::int64_t i = 0; i < count; ++i) {
        values[i] = byteswap(values[i]);
    }
}

}  // namespace

int bytes_per_voxel(NiftiDataType type) {
    switch (type) {
        case NiftiDataType::uint8: case NiftiDataType::int8: return 1;
        case NiftiDataType::int16: case NiftiDataType::uint16: return 2;
        case NiftiDataType::int32: case NiftiDataType::uint32: case NiftiDataType::float32: return 4;
        case NiftiDataType::float64: return 8;
    }
    return 0;
}

const char* datatype_name(NiftiDataType type) {
    switch (type) {
        case NiftiDataType::uint8: return "uint8";
        case NiftiDataType::int8: return "int8";
        case NiftiDataType::int16: return "int16";
        case NiftiDataType::uint16: return "uint16";
        case NiftiDataType::int32: return "int32";
        case NiftiDataType::uint32: return "uint32";
        case NiftiDataType::float32: return "float32";
        case NiftiDataType::float64: return "float64";
    }
    return "unknown";
}

void convert_voxels(const void* raw, NiftiDataType type, std::int64_t count, double slope, double inter,
                    double* destination) {
    switch (type) {
        case NiftiDataType::uint8: return convert_typed<std::uint8_t>(raw, count, slope, inter, destination);
        case NiftiDataType::int8: return convert_typed<std::int8_t>(raw, count, slope, inter, destination);
        case NiftiDataType::int16: return convert_typed<std::int16_t>(raw, count, slope, inter, destination);
        case NiftiDataType::uint16: return convert_typed<std::uint16_t>(raw, count, slope, inter, destination);
        case NiftiDataType::int32: return convert_typed<std::int32_t>(raw, count, slope, inter, destination);
        case NiftiDataType::uint32: return convert_typed<std::uint32_t>(raw, count, slope, inter, destination);
        case NiftiDataType::float32: return convert_typed<float>(raw, count, slope, inter, destination);
        case NiftiDataType::float64: return convert_typed<double>(raw, count, slope, inter, destination);
    }
}

NiftiHeader read_nifti_header(const std::string& path) {
    auto source = detail::ByteSource::open(path);
    try {
        return parse_header_from(*source, path);
    } catch (const IoError&) {
        throw;
    }
}

// ---------------------------------------------------------------------------------------------- stream

struct NiftiStream::Impl {
    std::string path;
    NiftiHeader header;
    std::unique_ptr<detail::ByteSource> source;
    std::int64_t next_volume = 0;
    std::vector<unsigned char> scratch;  // raw bytes for read()
};

NiftiStream::NiftiStream(const std::string& path) : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    impl_->source = detail::ByteSource::open(path);
    impl_->header = parse_header_from(*impl_->source, path);
    const NiftiHeader& h = impl_->header;
    const std::int64_t header_size = h.version == 1 ? kNifti1HeaderSize : kNifti2HeaderSize;
    const std::uint64_t data_bytes = static_cast<std::uint64_t>(volume_bytes()) * h.geometry.volumes;
    // The size check costs nothing, so fail before reading (or allocating) anything. Deflate cannot
    // compress better than 1032:1, which bounds what a .gz file of a given size can hold.
    const bool gzip = has_gzip_magic(path);
    const std::uint64_t size = file_size_or_zero(path);
    const std::uint64_t capacity = gzip ? 1032 * size + 1024 : size;
    if (capacity < static_cast<std::uint64_t>(h.vox_offset) + data_bytes) {
        std::ostringstream message;
        message << path << ": header dims " << h.geometry.dims[0] << "x" << h.geometry.dims[1] << "x"
                << h.geometry.dims[2] << "x" << h.geometry.volumes << " (" << datatype_name(h.datatype)
                << ") need " << data_bytes << " bytes of voxel data from offset " << h.vox_offset
                << ", but the file is " << size << " bytes long"
                << (gzip ? " (compressed; it cannot hold that much)" : "");
        throw InvalidInput(message.str());
    }
    const std::int64_t to_skip = h.vox_offset - header_size;
    if (static_cast<std::int64_t>(impl_->source->skip(static_cast<std::size_t>(to_skip))) < to_skip) {
        throw IoError(path + ": file ends before the voxel data (vox_offset " +
                      std::to_string(h.vox_offset) + ")");
    }
}

NiftiStream::~NiftiStream() = default;
NiftiStream::NiftiStream(NiftiStream&&) noexcept = default;
NiftiStream& NiftiStream::operator=(NiftiStream&&) noexcept = default;

const std::string& NiftiStream::path() const { return impl_->path; }
const NiftiHeader& NiftiStream::header() const { return impl_->header; }
std::int64_t NiftiStream::position() const { return impl_->next_volume; }

std::int64_t NiftiStream::volume_bytes() const {
    return voxels() * bytes_per_voxel(impl_->header.datatype);
}

bool NiftiStream::read_raw(void* destination) {
    const NiftiHeader& h = impl_->header;
    if (impl_->next_volume >= h.geometry.volumes) {
        return false;
    }
    const auto bytes = static_cast<std::size_t>(volume_bytes());
    const std::size_t got = impl_->source->read(destination, bytes);
    if (got < bytes) {
        std::ostringstream message;
        message << impl_->path << ": data ends inside volume " << impl_->next_volume << " of "
                << h.geometry.volumes << " (header dims " << h.geometry.dims[0] << "x" << h.geometry.dims[1]
                << "x" << h.geometry.dims[2] << "x" << h.geometry.volumes
                << "): truncated file, or a header whose dimensions do not match the data";
        throw IoError(message.str());
    }
    if (h.swapped) {
        switch (bytes_per_voxel(h.datatype)) {
            case 2: swap_in_place<std::uint16_t>(destination, voxels()); break;
            case 4: swap_in_place<std::uint32_t>(destination, voxels()); break;
            case 8: swap_in_place<std::uint64_t>(destination, voxels()); break;
            default: break;
        }
    }
    ++impl_->next_volume;
    if (impl_->next_volume == h.geometry.volumes) {
        impl_->source->finish();  // gzip: the CRC after the last voxel vouches for all of them
    }
    return true;
}

bool NiftiStream::read(double* destination) {
    impl_->scratch.resize(static_cast<std::size_t>(volume_bytes()));
    if (!read_raw(impl_->scratch.data())) {
        return false;
    }
    const NiftiHeader& h = impl_->header;
    convert_voxels(impl_->scratch.data(), h.datatype, voxels(), h.scl_slope, h.scl_inter, destination);
    return true;
}

NiftiImage read_nifti(const std::string& path) {
    NiftiStream stream(path);
    NiftiImage image;
    image.header = stream.header();
    const std::int64_t voxels = stream.voxels();
    image.data.resize(static_cast<std::size_t>(voxels * stream.volumes()));
    for (std::int64_t v = 0; v < stream.volumes(); ++v) {
        stream.read(image.data.data() + v * voxels);
    }
    return image;
}

// ---------------------------------------------------------------------------------------------- writer

namespace {

template <typename T>
void store_typed(const double* values, std::int64_t count, double slope, double inter, unsigned char* out,
                 const std::string& path) {
    T* typed = reinterpret_cast<T*>(out);
    for (std::int64_t i = 0; i < count; ++i) {
        double stored = (values[i] - inter) / slope;
        if constexpr (std::is_integral_v<T>) {
            stored = std::nearbyint(stored);
            if (!(stored >= static_cast<double>(std::numeric_limits<T>::lowest()) &&
                  stored <= static_cast<double>(std::numeric_limits<T>::max()))) {
                throw InvalidInput(path + ": value " + std::to_string(values[i]) +
                                   " does not fit the stored integer type (choose scl_slope or a wider type)");
            }
        }
        typed[i] = static_cast<T>(stored);
    }
}

std::vector<unsigned char> nifti1_header_bytes(const ImageGeometry& g, const NiftiWriteOptions& o) {
    std::vector<unsigned char> raw(kNifti1HeaderSize + 4, 0);
    auto put = [&raw](int offset, auto value) { std::memcpy(raw.data() + offset, &value, sizeof(value)); };
    put(0, std::int32_t{kNifti1HeaderSize});
    raw[39] = 0;  // dim_info
    const bool four_d = g.volumes > 1;
    const std::int64_t dims[4] = {g.dims[0], g.dims[1], g.dims[2], g.volumes};
    put(40, static_cast<std::int16_t>(four_d ? 4 : 3));
    for (int i = 0; i < 7; ++i) {
        const std::int64_t value = i < 4 ? dims[i] : 1;
        if (value > 32767) {
            throw InvalidInput("NIfTI-1 dimensions are limited to 32767");
        }
        put(42 + 2 * i, static_cast<std::int16_t>(value));
    }
    put(70, static_cast<std::int16_t>(o.datatype));
    put(72, static_cast<std::int16_t>(8 * bytes_per_voxel(o.datatype)));
    // Voxel sizes as the columns of the affine; qfac from the sign of its determinant.
    const Eigen::Matrix3d linear = g.affine.topLeftCorner<3, 3>();
    const double qfac = linear.determinant() < 0 ? -1.0 : 1.0;
    put(76, static_cast<float>(qfac));
    for (int axis = 0; axis < 3; ++axis) {
        put(80 + 4 * axis, static_cast<float>(linear.col(axis).norm()));
    }
    put(92, static_cast<float>(four_d ? g.tr : 0.0));
    for (int i = 4; i < 7; ++i) {
        put(80 + 4 * i, 1.0f);
    }
    put(108, static_cast<float>(kNifti1HeaderSize + 4));
    put(112, static_cast<float>(o.scl_slope));
    put(116, static_cast<float>(o.scl_inter));
    raw[123] = static_cast<unsigned char>(2 | 8);  // mm and seconds
    std::memcpy(raw.data() + 148, "rewire", 6);
    // qform: the rotation part of the affine (voxel sizes and qfac removed), as a quaternion.
    Eigen::Matrix3d rotation = linear;
    for (int axis = 0; axis < 3; ++axis) {
        rotation.col(axis) /= linear.col(axis).norm();
    }
    rotation.col(2) *= qfac;
    Eigen::Quaterniond q(rotation);
    if (q.w() < 0) {
        q.coeffs() *= -1.0;
    }
    put(252, std::int16_t{4});  // qform_code MNI_152
    put(254, std::int16_t{4});  // sform_code MNI_152
    put(256, static_cast<float>(q.x()));
    put(260, static_cast<float>(q.y()));
    put(264, static_cast<float>(q.z()));
    for (int i = 0; i < 3; ++i) {
        put(268 + 4 * i, static_cast<float>(g.affine(i, 3)));
        for (int j = 0; j < 4; ++j) {
            put(280 + 16 * i + 4 * j, static_cast<float>(g.affine(i, j)));
        }
    }
    std::memcpy(raw.data() + 344, "n+1\0", 4);
    return raw;  // 4 bytes of zero extension flag follow the header
}

}  // namespace

struct NiftiWriter::Impl {
    std::string path;
    std::optional<AtomicFile> output;  // the file being written, moved onto `path` by close()
    ImageGeometry geometry;
    NiftiWriteOptions options;
    bool gzip = false;
    std::FILE* file = nullptr;
    gzFile gz = nullptr;
    std::int64_t written = 0;
    bool closed = false;
    std::vector<unsigned char> buffer;

    ~Impl() {  // abandoned before close(): the handles are closed here, the partial file removed by `output`
        if (gz != nullptr)
            gzclose(gz);
        if (file != nullptr)
            std::fclose(file);
    }

    void put(const void* data, std::size_t bytes) {
        if (gzip) {
            if (gzwrite(gz, data, static_cast<unsigned>(bytes)) != static_cast<int>(bytes)) {
                throw IoError(path + ": write failed");
            }
        } else if (std::fwrite(data, 1, bytes, file) != bytes) {
            throw IoError(path + ": write failed: " + std::strerror(errno));
        }
    }
};

NiftiWriter::NiftiWriter(const std::string& path, const ImageGeometry& geometry, const NiftiWriteOptions& options)
    : impl_(std::make_unique<Impl>()) {
    Impl& w = *impl_;
    w.path = path;
    w.geometry = geometry;
    w.options = options;
    if (options.scl_slope == 0.0 || !std::isfinite(options.scl_slope)) {
        throw InvalidInput(path + ": scl_slope must be finite and non-zero");
    }
    const auto header = nifti1_header_bytes(geometry, options);
    // Convert voxels with the float32 scaling the header holds, as readers will apply it. (Read back
    // from the header bytes: GCC 12 -O2 drops a plain double → float → double round trip here.)
    float slope = 0.0f;
    float inter = 0.0f;
    std::memcpy(&slope, header.data() + 112, sizeof(float));
    std::memcpy(&inter, header.data() + 116, sizeof(float));
    if (slope == 0.0f || !std::isfinite(slope) || !std::isfinite(inter)) {
        throw InvalidInput(path + ": scl_slope " + std::to_string(options.scl_slope) + " / scl_inter " +
                           std::to_string(options.scl_inter) + " do not fit the float32 header fields");
    }
    w.options.scl_slope = slope;
    w.options.scl_inter = inter;
    w.gzip = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    w.output.emplace(path);
    const std::string& temporary = w.output->temporary();
    if (w.gzip) {
        // gzopen writes a header with no time stamp, so the same data gives the same bytes.
        const std::string mode = "wb" + std::to_string(std::clamp(options.gzip_level, 0, 9));
        w.gz = gzopen(temporary.c_str(), mode.c_str());
        if (w.gz == nullptr) {
            throw IoError(path + ": cannot create " + temporary);
        }
        gzbuffer(w.gz, 1 << 20);
    } else {
        w.file = std::fopen(temporary.c_str(), "wb");
        if (w.file == nullptr) {
            throw IoError(path + ": cannot create " + temporary + ": " + std::strerror(errno));
        }
    }
    w.put(header.data(), header.size());
}

NiftiWriter::~NiftiWriter() = default;  // an abandoned file is removed, never left behind (Impl)

void NiftiWriter::write(const double* volume) {
    Impl& w = *impl_;
    if (w.written >= w.geometry.volumes) {
        throw InvalidInput(w.path + ": more volumes written than the " + std::to_string(w.geometry.volumes) +
                           " declared");
    }
    const std::int64_t count = w.geometry.voxels();
    w.buffer.resize(static_cast<std::size_t>(count * bytes_per_voxel(w.options.datatype)));
    const double slope = w.options.scl_slope;
    const double inter = w.options.scl_inter;
    unsigned char* out = w.buffer.data();
    switch (w.options.datatype) {
        case NiftiDataType::uint8: store_typed<std::uint8_t>(volume, count, slope, inter, out, w.path); break;
        case NiftiDataType::int8: store_typed<std::int8_t>(volume, count, slope, inter, out, w.path); break;
        case NiftiDataType::int16: store_typed<std::int16_t>(volume, count, slope, inter, out, w.path); break;
        case NiftiDataType::uint16: store_typed<std::uint16_t>(volume, count, slope, inter, out, w.path); break;
        case NiftiDataType::int32: store_typed<std::int32_t>(volume, count, slope, inter, out, w.path); break;
        case NiftiDataType::uint32: store_typed<std::uint32_t>(volume, count, slope, inter, out, w.path); break;
        case NiftiDataType::float32: store_typed<float>(volume, count, slope, inter, out, w.path); break;
        case NiftiDataType::float64: store_typed<double>(volume, count, slope, inter, out, w.path); break;
    }
    w.put(w.buffer.data(), w.buffer.size());
    ++w.written;
}

void NiftiWriter::close() {
    Impl& w = *impl_;
    if (w.closed) {
        return;
    }
    if (w.written != w.geometry.volumes) {
        throw InvalidInput(w.path + ": " + std::to_string(w.written) + " of " +
                           std::to_string(w.geometry.volumes) + " volumes written; file not finished");
    }
    int status = 0;
    if (w.gzip) {
        status = gzclose(w.gz);
        w.gz = nullptr;
    } else {
        status = std::fclose(w.file);
        w.file = nullptr;
    }
    if (status != 0) {
        throw IoError(w.path + ": could not finish writing");
    }
    w.output->commit();
    w.closed = true;
}

}  // namespace rewire
