// rewire — ImageGeometry: the voxel grid of an image and its place in the world.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include <Eigen/Core>
#include <Eigen/LU>

#include "rewire/core/types.hpp"

namespace rewire {

/// Grid of a 3D or 4D image. Voxel (i, j, k) is stored at linear index i + nx (j + ny k), as in NIfTI.
struct ImageGeometry {
    std::array<std::int64_t, 3> dims{1, 1, 1};  ///< nx, ny, nz
    std::int64_t volumes = 1;                   ///< number of volumes (1 for a 3D image)
    std::array<double, 3> voxel_size{1.0, 1.0, 1.0};  ///< mm, from pixdim[1..3]
    Affine affine = Affine::Identity();          ///< voxel → world (mm), as nibabel's img.affine
    double tr = 0.0;                             ///< repetition time in seconds (0 when unknown)

    /// Number of voxels in one volume.
    std::int64_t voxels() const { return dims[0] * dims[1] * dims[2]; }

    /// World coordinates (mm) of the centre of voxel (i, j, k).
    Eigen::Vector3d world(double i, double j, double k) const {
        return (affine * Eigen::Vector4d(i, j, k, 1.0)).head<3>();
    }

    /// True when both images share dims and affine (within `tolerance` mm on every affine entry).
    bool same_grid(const ImageGeometry& other, double tolerance = 1e-4) const {
        if (dims != other.dims) {
            return false;
        }
        return ((affine - other.affine).cwiseAbs().maxCoeff() <= tolerance);
    }
};

/// Matrix that maps voxel coordinates of `from` to voxel coordinates of `to` through world space.
inline Affine voxel_to_voxel(const ImageGeometry& from, const ImageGeometry& to) {
    return to.affine.inverse() * from.affine;
}

}  // namespace rewire
