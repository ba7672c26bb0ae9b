// rewire — NIfTI-1 / NIfTI-2 reading (streamed, one volume at a time) and writing.
//
// The header is parsed by rewire (NIfTI-1 and NIfTI-2, either byte order) and the affine follows
// nibabel's rules (sform when sform_code > 0, else qform when qform_code > 0, else the pixdim-based
// fallback, with the voxel sizes nibabel fixes on loading: zero → 1, negative → absolute value), so that
// geometry().affine equals nibabel's img.affine. Headers nothing could use are refused: dims whose size
// does not fit 64 bits (checked before any allocation) and a degenerate sform (rank below 3). Voxel data of `.nii.gz` files is
// inflated with ISA-L (`isal_inflate`), about 2.5× faster than zlib here, in a single forward pass:
// memory does not grow with the number of volumes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rewire/io/geometry.hpp"

namespace rewire {

/// NIfTI datatype codes rewire reads.
enum class NiftiDataType : std::int16_t {
    uint8 = 2,
    int16 = 4,
    int32 = 8,
    float32 = 16,
    float64 = 64,
    int8 = 256,
    uint16 = 512,
    uint32 = 768,
};

/// Size in bytes of one voxel of `type`.
int bytes_per_voxel(NiftiDataType type);

/// Name of `type` as numpy spells it ("int16", "float32", ...).
const char* datatype_name(NiftiDataType type);

/// The header fields rewire uses, decoded from either NIfTI version.
struct NiftiHeader {
    int version = 1;                 ///< 1 or 2
    bool swapped = false;            ///< file byte order differs from this machine's
    NiftiDataType datatype = NiftiDataType::float32;
    std::array<std::int64_t, 8> dim{};  ///< dim[0] = number of dimensions
    std::array<double, 8> pixdim{};
    std::int64_t vox_offset = 0;     ///< byte offset of the voxel data (in the uncompressed stream)
    double scl_slope = 1.0;          ///< already normalised: 0 or NaN in the file reads as 1
    double scl_inter = 0.0;          ///< NaN in the file reads as 0
    int qform_code = 0;
    int sform_code = 0;
    int xyzt_units = 0;
    Affine sform = Affine::Identity();  ///< srow_x/y/z as stored (meaningful when sform_code > 0)
    Affine qform = Affine::Identity();  ///< the qform's affine, valid when has_qform
    bool has_qform = false;             ///< qform_code > 0 and its quaternion decodes
    ImageGeometry geometry;          ///< dims, voxel size, affine and TR derived from the fields above
};

/// Reads and validates the header of `path` (.nii or .nii.gz). Throws IoError / InvalidInput naming
/// the file and the field at fault (a size that overflows, a degenerate sform, ...).
NiftiHeader read_nifti_header(const std::string& path);

/// Streams the voxel data of a NIfTI file, one volume at a time, in one forward pass.
class NiftiStream {
public:
    explicit NiftiStream(const std::string& path);
    ~NiftiStream();
    NiftiStream(NiftiStream&&) noexcept;
    NiftiStream& operator=(NiftiStream&&) noexcept;
    NiftiStream(const NiftiStream&) = delete;
    NiftiStream& operator=(const NiftiStream&) = delete;

    const std::string& path() const;
    const NiftiHeader& header() const;
    const ImageGeometry& geometry() const { return header().geometry; }
    std::int64_t volumes() const { return geometry().volumes; }
    std::int64_t voxels() const { return geometry().voxels(); }
    /// Bytes of one volume in the file's datatype.
    std::int64_t volume_bytes() const;
    /// Index of the next volume that read_raw() or read() will deliver.
    std::int64_t position() const;

    /// Copies the next volume's voxels, in the file's datatype and converted to this machine's byte
    /// order, into `destination` (volume_bytes() bytes). Returns false after the last volume. Throws
    /// IoError when the file ends early or its compressed stream is corrupt.
    bool read_raw(void* destination);

    /// Reads the next volume as float64 with scl_slope / scl_inter applied exactly as nibabel's
    /// get_fdata() does. `destination` holds voxels() values.
    bool read(double* destination);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Converts `count` voxels of native-order `raw` data of `type` to float64 with nibabel's scaling
/// (multiply by slope, then add intercept, in double; no scaling when slope is 1 and intercept 0).
void convert_voxels(const void* raw, NiftiDataType type, std::int64_t count, double slope,
                    double inter, double* destination);

/// A whole (small) image in memory: voxels of volume v start at v * geometry.voxels().
struct NiftiImage {
    NiftiHeader header;
    std::vector<double> data;
    const ImageGeometry& geometry() const { return header.geometry; }
};

/// Reads a whole image as float64. Meant for 3D images (atlases, masks) and small 4D files; large
/// 4D files should go through NiftiStream.
NiftiImage read_nifti(const std::string& path);

/// Options of NiftiWriter.
struct NiftiWriteOptions {
    NiftiDataType datatype = NiftiDataType::float32;  ///< stored type
    double scl_slope = 1.0;                           ///< stored = (value - inter) / slope
    double scl_inter = 0.0;
    int gzip_level = 1;  ///< 0–9, used when the path ends in .gz; 1 is fast and still small
};

/// Writes a NIfTI-1 file volume by volume. The file appears under its name only when close()
/// succeeds (it is written to a temporary name first), so a failure never leaves a file that looks
/// complete. Same inputs give identical bytes (the gzip header carries no time stamp).
class NiftiWriter {
public:
    NiftiWriter(const std::string& path, const ImageGeometry& geometry,
                const NiftiWriteOptions& options = {});
    ~NiftiWriter();
    NiftiWriter(const NiftiWriter&) = delete;
    NiftiWriter& operator=(const NiftiWriter&) = delete;

    /// Writes one volume of geometry.voxels() values, converted to the stored type (rounded to the
    /// nearest integer and checked for range for integer types).
    void write(const double* volume);
    /// Finishes the file and moves it into place. Throws if fewer volumes than declared were written.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rewire
