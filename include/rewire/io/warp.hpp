// rewire — label atlases warped into another space (a subject's native space) through a transform chain,
// as antsApplyTransforms does it: for each voxel of the reference grid, its centre is mapped through the
// chain into the atlas and the atlas is sampled there (ITK's ResampleImageFilter and interpolators).
#pragma once

#include <string>
#include <vector>

#include "rewire/io/geometry.hpp"
#include "rewire/io/image3d.hpp"
#include "rewire/io/transform.hpp"

namespace rewire {

/// How labels are sampled.
enum class LabelInterpolation {
    nearest,         ///< the label of the nearest atlas voxel (antsApplyTransforms' NearestNeighbor)
    label_gaussian,  ///< ITK's LabelImageGaussianInterpolateImageFunction (antsApplyTransforms' MultiLabel)
};

/// Options of warp_labels() and warp_atlas().
struct WarpOptions {
    LabelInterpolation interpolation = LabelInterpolation::nearest;
    /// label_gaussian: the Gaussian's sigma in mm (0: the atlas' voxel size on each axis, ANTs' default).
    double sigma = 0.0;
    /// label_gaussian: the kernel's cut-off, in sigmas (4: ANTs' MultiLabel default; SimpleITK uses 1).
    double alpha = 4.0;
    /// Threads (0: REWIRE_NUM_THREADS, else OMP_NUM_THREADS, else all cores); results do not depend on it.
    int threads = 0;

    /// Throws InvalidInput naming the field at fault.
    void validate() const;
};

/// "nearest" / "label_gaussian" as LabelInterpolation; throws InvalidInput for another name.
LabelInterpolation label_interpolation(const std::string& name);

/// The 3D grid of any image rewire reads: a 4D BOLD series gives the grid of its volumes (header only),
/// a 3D image (boldref, mask, atlas, in any format read_image3d reads) its own.
ImageGeometry read_grid(const std::string& path);

/// The labels of `atlas` (a 3D label image) on the `reference` grid through `chain` (last listed applied
/// first to the reference's points, as antsApplyTransforms). Voxels whose point leaves the atlas get 0.
/// Throws InvalidInput when no voxel of the reference receives a label (the grids do not overlap once
/// warped), naming the atlas and the transforms.
Image3D warp_labels(const Image3D& atlas, const ImageGeometry& reference, const std::vector<TransformFile>& chain,
                    const WarpOptions& options = {});

/// warp_labels() on files: reads `atlas` (read_image3d) and the grid of `reference` (read_grid), checks
/// that the chain's spaces connect from the atlas' to the reference's (check_chain_spaces, by the file
/// names), and warps. The result's `path` is the atlas'.
Image3D warp_atlas(const std::string& atlas, const std::string& reference, const std::vector<TransformFile>& chain,
                   const WarpOptions& options = {});

/// Writes a label image as NIfTI-1 (int16 when every label fits, else int32). The file appears only when
/// complete.
void write_labels(const std::string& path, const Image3D& labels);

}  // namespace rewire
