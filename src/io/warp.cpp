// Label atlases warped onto a reference grid through a transform chain (the ITK work in itk_transforms.cpp).
#include "rewire/io/warp.hpp"

#include <cmath>
#include <limits>

#include "itk_convert.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/io/nifti.hpp"

namespace rewire {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string chain_names(const std::vector<TransformFile>& chain) {
    std::string text;
    for (const auto& file : chain) text += (text.empty() ? "" : ", ") + file.path + (file.invert ? " (inverted)" : "");
    return text.empty() ? "no transform" : text;
}

}  // namespace

void WarpOptions::validate() const {
    if (!std::isfinite(sigma) || sigma < 0.0) {
        throw InvalidInput("sigma must be a finite number of mm >= 0 (0: the atlas' voxel size), got " + std::to_string(sigma));
    }
    if (!std::isfinite(alpha) || alpha <= 0.0) {
        throw InvalidInput("alpha must be a finite number of sigmas > 0, got " + std::to_string(alpha));
    }
    if (threads < 0) throw InvalidInput("threads must be >= 0 (0: automatic), got " + std::to_string(threads));
}

LabelInterpolation label_interpolation(const std::string& name) {
    if (name == "nearest") return LabelInterpolation::nearest;
    if (name == "label_gaussian") return LabelInterpolation::label_gaussian;
    throw InvalidInput("interpolation '" + name + "': choose nearest or label_gaussian");
}

ImageGeometry read_grid(const std::string& path) {
    if (ends_with(path, ".nii") || ends_with(path, ".nii.gz")) {
        ImageGeometry grid = read_nifti_header(path).geometry;
        grid.volumes = 1;
        return grid;
    }
    ImageGeometry grid = read_image3d(path).geometry;
    grid.volumes = 1;
    return grid;
}

Image3D warp_labels(const Image3D& atlas, const ImageGeometry& reference, const std::vector<TransformFile>& chain,
                    const WarpOptions& options) {
    options.validate();
    if (atlas.geometry.volumes != 1) {
        throw InvalidInput(atlas.path + ": a label atlas to warp must be one 3D image, but it has " +
                           std::to_string(atlas.geometry.volumes) + " volumes");
    }
    detail::ItkWarp warp;
    warp.labels = atlas.data.data();
    warp.atlas = detail::itk_grid(atlas.geometry);
    warp.reference = detail::itk_grid(reference);
    warp.chain = detail::itk_transform_chain(chain);
    warp.label_gaussian = options.interpolation == LabelInterpolation::label_gaussian;
    for (int axis = 0; axis < 3; ++axis) {
        const double voxel = atlas.geometry.affine.col(axis).head<3>().norm();
        warp.sigma_voxels[static_cast<std::size_t>(axis)] = options.sigma > 0.0 ? options.sigma / voxel : 1.0;
    }
    warp.alpha = options.alpha;
    warp.threads = resolve_threads(options.threads);

    Image3D warped;
    warped.path = atlas.path;
    warped.format = atlas.format;
    warped.geometry = reference;
    warped.geometry.volumes = 1;
    warped.data = detail::itk_warp_labels(warp);  // its errors name the transform file at fault
    bool any = false;
    for (const double label : warped.data) any = any || label != 0.0;
    if (!any) {
        throw InvalidInput(atlas.path + ": no voxel of the reference grid receives a label through " + chain_names(chain) +
                           ": the warped atlas does not overlap the reference (check the transforms, their order "
                           "and which are inverted)");
    }
    return warped;
}

Image3D warp_atlas(const std::string& atlas, const std::string& reference, const std::vector<TransformFile>& chain,
                   const WarpOptions& options) {
    options.validate();
    check_chain_spaces(chain, image_space(atlas), image_space(reference));
    const ImageGeometry grid = read_grid(reference);
    return warp_labels(read_image3d(atlas), grid, chain, options);
}

void write_labels(const std::string& path, const Image3D& labels) {
    double low = 0.0;
    double high = 0.0;
    for (const double label : labels.data) {
        low = std::min(low, label);
        high = std::max(high, label);
    }
    NiftiWriteOptions options;
    options.datatype = (low >= std::numeric_limits<std::int16_t>::min() && high <= std::numeric_limits<std::int16_t>::max())
                           ? NiftiDataType::int16
                           : NiftiDataType::int32;
    ImageGeometry geometry = labels.geometry;
    geometry.volumes = 1;
    NiftiWriter writer(path, geometry, options);
    writer.write(labels.data.data());
    writer.close();
}

}  // namespace rewire
