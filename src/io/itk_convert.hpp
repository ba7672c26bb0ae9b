// rewire — private: rewire's geometry and transform lists in the bridge's plain terms (RAS → ITK's LPS).
// Never included by a file that includes ITK (it brings the system's Eigen; see itk_bridge.hpp).
#pragma once

#include <vector>

#include "itk_bridge.hpp"
#include "rewire/io/geometry.hpp"
#include "rewire/io/transform.hpp"

namespace rewire::detail {

/// The grid of `geometry` in ITK's LPS world.
ItkGrid itk_grid(const ImageGeometry& geometry);

/// A chain in the bridge's terms.
std::vector<ItkTransformRef> itk_transform_chain(const std::vector<TransformFile>& chain);

}  // namespace rewire::detail
