// rewire — nearest-neighbour resampling of an image onto another grid (atlases and masks onto BOLD).
#pragma once

#include <cstdint>
#include <vector>

#include "rewire/io/geometry.hpp"

namespace rewire {

/// For each voxel of `grid`, the linear index of the nearest voxel of `source` in world space, or -1
/// when it falls outside `source`. Follows scipy.ndimage order-0 sampling in mode 'constant', as
/// nilearn resamples: outside unless 0 <= x <= n - 1 in every axis, then rounded as floor(x + 0.5),
/// with x computed in nilearn's order of operations so that points exactly half-way between voxels
/// land where nilearn puts them. Runs through ITK's ResampleImageFilter in voxel space (any affine,
/// sheared ones included), on the calling thread.
std::vector<std::int64_t> nearest_voxels(const ImageGeometry& grid, const ImageGeometry& source);

}  // namespace rewire
