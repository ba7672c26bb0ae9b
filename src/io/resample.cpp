// Nearest-neighbour resampling: rewire's geometry, ITK's ResampleImageFilter (itk_bridge.cpp), nilearn's
// answer.
//
// ITK cannot hold a sheared affine as image geometry, so the filter runs in voxel space: both images get
// ITK's unit geometry and the transform is source⁻¹ ∘ grid, an itk::AffineTransform evaluated point by
// point in the order of operations of nilearn's resampling, because at points exactly half-way between
// voxels the rounding of that arithmetic decides the voxel. The interpolator follows scipy.ndimage
// order 0, mode 'constant' (inside only when 0 <= x <= n - 1, then floor(x + 0.5)).
#include "rewire/io/resample.hpp"

#include <numeric>

#include "itk_bridge.hpp"

namespace rewire {
namespace {

/// True when the 3 × 3 part of `affine` is diagonal with no zero on the diagonal.
bool axis_aligned(const Affine& affine) {
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
            if ((i == j) != (affine(i, j) != 0.0)) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace

std::vector<std::int64_t> nearest_voxels(const ImageGeometry& grid, const ImageGeometry& source) {
    if (grid.same_grid(source, 1e-6)) {
        std::vector<std::int64_t> result(static_cast<std::size_t>(grid.voxels()));
        std::iota(result.begin(), result.end(), std::int64_t{0});
        return result;
    }
    detail::VoxelMap map;
    const Affine voxel_map = voxel_to_voxel(grid, source);
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 4; ++j) map.map[static_cast<std::size_t>(4 * i + j)] = voxel_map(i, j);
    }
    map.aligned = axis_aligned(grid.affine) && axis_aligned(source.affine);
    if (map.aligned) {
        // nilearn's arithmetic: LAPACK inverts a diagonal affine to 1/s and -t·(1/s), the product gives
        // zoom a and offset b, and scipy's zoom_shift samples (k + b/a)·a.
        for (int axis = 0; axis < 3; ++axis) {
            const double inverse = 1.0 / source.affine(axis, axis);
            const double zoom = inverse * grid.affine(axis, axis);
            const double offset = inverse * grid.affine(axis, 3) + (-source.affine(axis, 3) * inverse);
            map.zoom[static_cast<std::size_t>(axis)] = zoom;
            map.shift[static_cast<std::size_t>(axis)] = offset / zoom;
        }
    }
    return detail::itk_nearest(grid.dims, source.dims, map);
}

}  // namespace rewire
