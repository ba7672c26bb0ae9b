// rewire — 3D images (atlases, probabilistic maps, brain masks, references), read through ITK's ImageIO.
//
// Every 3D image rewire takes is read here, whatever its format; BOLD time series are not (they keep the
// streaming reader of nifti.hpp). The geometry follows one rule, rewire's:
// - NIfTI-1 (.nii, .nii.gz): ITK reads the voxels; the affine is rewire's own parse of the header
//   (read_nifti_header: nibabel's rule, sform if sform_code > 0, else qform if qform_code > 0, else the
//   pixdim fallback) and the values are nibabel's get_fdata() (scl_slope / scl_inter applied in double,
//   as nibabel does). ITK 5.2 takes the qform where nibabel takes the sform and cannot hold a sheared
//   sform, so its own geometry is only checked: where it disagrees with rewire's although the file gives
//   it no reason to (sform and qform agree, or only a qform), the read fails naming both affines.
//   rewire's own reader reads the voxels instead where ITK 5.2 refuses a NIfTI-1 header nibabel reads (a
//   sheared sform without a qform, zero voxel sizes), and for float32 / float64 images, whose NaN and
//   ±inf ITK's NIfTI library replaces by 0 (nibabel keeps them).
// - NIfTI-2: rewire's own reader (no ITK release reads NIfTI-2).
// - NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd), Analyze 7.5 (.hdr/.img): ITK's geometry (origin,
//   spacing, direction in ITK's LPS world) turned into an affine in nibabel's RAS world.
// No ITK type appears in this header.
#pragma once

#include <string>
#include <vector>

#include "rewire/io/geometry.hpp"

namespace rewire {

/// File formats read_image3d() reads.
enum class ImageFormat { nifti1, nifti2, nrrd, metaimage, analyze };

/// Name of `format` ("NIfTI-1", "NRRD", ...).
const char* format_name(ImageFormat format);

/// A 3D image, or a stack of 3D volumes on one grid (a probabilistic atlas: one map per volume), in
/// memory as float64. Voxel (i, j, k) of volume v is data[i + nx (j + ny k) + v · voxels()].
struct Image3D {
    std::string path;
    ImageFormat format = ImageFormat::nifti1;
    ImageGeometry geometry;    ///< dims, volumes, voxel sizes and the voxel → world (RAS, mm) affine
    std::vector<double> data;  ///< geometry.voxels() × geometry.volumes values
    bool read_by_itk = true;   ///< false where rewire's own reader read the voxels (see read_image3d)
};

/// Reads a 3D image (or a 4D stack of 3D volumes) in any format of ImageFormat, chosen by the file name
/// (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd, .hdr, .img) and checked against the content. Throws
/// IoError (unreadable file) or InvalidInput (unknown format, more than 4 dimensions, vector pixels,
/// ITK's and rewire's readings of a NIfTI header disagreeing, `x.nii` beside `x.nii.gz`, ...) naming
/// the file.
Image3D read_image3d(const std::string& path);

}  // namespace rewire
