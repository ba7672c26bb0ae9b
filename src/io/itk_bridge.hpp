// rewire — private: the only door to ITK. Plain data in and out, no Eigen and no ITK types: ITK 5.2 ships
// its own Eigen 3.3 (itkeigen) under the same include guards as the system's Eigen 3.4 that rewire's
// headers use, so ITK and rewire's Eigen code must never meet in one translation unit. itk_bridge.cpp
// includes ITK and nothing of rewire's but this header and the errors.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rewire::detail {

/// Which ITK ImageIO reads a file (chosen by rewire from the name, never by ITK's factory).
enum class ItkFormat { nifti, nrrd, metaimage, analyze };

/// An image as ITK reads it.
struct ItkVolume {
    unsigned dimensions = 3;                        ///< 2 to 4
    std::array<std::int64_t, 4> size{1, 1, 1, 1};  ///< x, y, z, volumes
    std::array<double, 3> spacing{1.0, 1.0, 1.0};
    std::array<double, 3> origin{0.0, 0.0, 0.0};    ///< LPS, mm
    std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  ///< row-major; column a is axis a (LPS)
    bool fourth_axis_mixed = false;                  ///< 4D: the 4th axis is rotated into space
    std::string component;                           ///< ITK's name of the stored type ("short", ...)
    /// size[0..3] values. NIfTI: the stored values, unscaled and in the file's type, at the start of the
    /// buffer (read_image3d widens them with nibabel's scaling); other formats: already float64.
    std::vector<double> values;
    bool header_refused = false;                     ///< NIfTI: ITK refused the header (message in `refusal`)
    std::string refusal;
};

/// Reads `path` with ITK's ImageIO for `format`: the header, then (when `voxels`) every voxel. Throws
/// InvalidInput / IoError naming the file; for NIfTI a header ITK refuses is reported in the result
/// instead (rewire parsed it already and may read it itself).
ItkVolume itk_read(const std::string& path, ItkFormat format, bool voxels = true);

/// Nearest-neighbour sampling (scipy's order 0, mode 'constant', as nilearn) through ITK's
/// ResampleImageFilter in voxel space: for each voxel of a grid of `grid_dims`, the linear index of the
/// voxel of a source of `source_dims` it samples, or -1. The grid voxel (i, j, k) maps to the source's
/// continuous index by `map` (3 × 4, row-major, source⁻¹ ∘ grid) evaluated in nilearn's order: per axis
/// (i + shift) · zoom when `aligned`, else the matrix product with points within 1e-9 of a half-integer
/// put exactly there.
struct VoxelMap {
    std::array<double, 12> map{};
    bool aligned = false;
    std::array<double, 3> zoom{1.0, 1.0, 1.0};
    std::array<double, 3> shift{0.0, 0.0, 0.0};
};
std::vector<std::int64_t> itk_nearest(const std::array<std::int64_t, 3>& grid_dims,
                                      const std::array<std::int64_t, 3>& source_dims, const VoxelMap& map);

/// A 3 × 4 map, row-major: y = M[:, :3] x + M[:, 3].
using Map34 = std::array<double, 12>;

/// A voxel grid in ITK's LPS world: voxel index (i, j, k) lies at index_to_lps · (i, j, k, 1).
struct ItkGrid {
    std::array<std::int64_t, 3> size{1, 1, 1};
    Map34 index_to_lps{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
};

/// One file of a chain (antsApplyTransforms' order: the last applied first to the reference's points).
struct ItkTransformRef {
    std::string path;
    bool invert = false;
};

/// ITK class names of the transforms of one file, in the order the file lists them (a composite's
/// components after its own name). Throws IoError / InvalidInput naming the file.
std::vector<std::string> itk_transform_kinds(const std::string& path);

/// `point` (LPS, mm) mapped through the chain, the last transform first.
std::array<double, 3> itk_map_point(const std::vector<ItkTransformRef>& chain, const std::array<double, 3>& point);

/// Labels of `atlas` sampled at every voxel of `reference` through the chain: for reference voxel v,
/// the atlas is sampled at atlas.index_to_lps⁻¹ ∘ chain ∘ reference.index_to_lps (v). Nearest neighbour
/// (ITK's: round half up, inside for indices in [-0.5, n - 0.5)), or ITK's label-Gaussian interpolator
/// with `sigma_voxels` (atlas voxels) per axis. Outside the atlas: 0. On `threads` threads (the result does not
/// depend on them).
struct ItkWarp {
    const double* labels = nullptr;  ///< atlas.size voxels, NIfTI / ITK order
    ItkGrid atlas;
    ItkGrid reference;
    std::vector<ItkTransformRef> chain;
    bool label_gaussian = false;
    std::array<double, 3> sigma_voxels{1.0, 1.0, 1.0};
    double alpha = 4.0;  ///< the Gaussian's cut-off in sigmas
    int threads = 1;
};
std::vector<double> itk_warp_labels(const ItkWarp& warp);

/// A displacement field in ITK's terms: LPS vectors (x, y, z per voxel, NIfTI order) on `grid`.
struct ItkField {
    ItkGrid grid;
    const double* vectors = nullptr;
};

/// Writes the point map p ↦ affine (p + d(p)) (LPS) to `path` with ITK's transform IO, chosen by
/// the extension of `path` (.h5: a composite of the affine and the field, as antsRegistration writes;
/// .txt, .tfm, .mat: the affine alone). `single_precision`: float32 parameters.
void itk_write_transform(const std::string& path, const Map34& affine, const ItkField* field, bool single_precision);

}  // namespace rewire::detail
