// rewire — spatial transform files (ANTs / ITK / fMRIPrep) and chains of them, read through ITK's
// transform IO: HDF5 composites (`.h5`: affine + displacement field, as antsRegistration and fMRIPrep
// write them), ITK text affines (`.txt`, `.tfm`) and ANTs / ITK MATLAB affines (`.mat`).
//
// Conventions are antsApplyTransforms': a chain is listed last-applied-first, and every transform is
// named for the images it moves (fMRIPrep's `from-A_to-B_mode-image`): the first listed takes the atlas'
// space, the last listed ends in the reference's space. As point maps (what ITK computes) each one maps
// points of its `to` space into its `from` space. No ITK type appears in this header.
#pragma once

#include <string>
#include <vector>

#include "rewire/core/types.hpp"
#include "rewire/io/geometry.hpp"

namespace rewire {

/// One file of a transform chain.
struct TransformFile {
    std::string path;
    bool invert = false;  ///< use the inverse (affines only: a displacement field has no stored inverse)
};

/// `path` or ANTs' `[path,1]` / `[path,0]` (also `[path, 1]`) as a TransformFile. Throws InvalidInput
/// for a malformed bracket.
TransformFile parse_transform_argument(const std::string& text);

/// The spaces a file name states with BIDS entities (`from-MNI152NLin2009cAsym_to-T1w`), empty when it
/// states none, swapped for an inverted transform.
struct TransformSpaces {
    std::string from;
    std::string to;
};
TransformSpaces transform_spaces(const TransformFile& transform);

/// The template or space an image's file name states (`tpl-X` or `space-X`), empty when none.
std::string image_space(const std::string& path);

/// Checks that a chain connects, from the spaces its file names state: each transform's `to` space is
/// the next one's `from` space, the first starts in `atlas_space` and the last ends in
/// `reference_space` (each check made only where both names state a space). Throws InvalidInput naming
/// the files whose spaces do not meet.
void check_chain_spaces(const std::vector<TransformFile>& chain, const std::string& atlas_space = "",
                        const std::string& reference_space = "");

/// What one transform file holds, as ITK reads it: the ITK class of each transform in application
/// order of the file ("AffineTransform_double_3_3", "DisplacementFieldTransform_double_3_3", ...).
/// Throws IoError / InvalidInput naming the file when it is not a 3D transform ITK reads.
std::vector<std::string> transform_kinds(const std::string& path);

/// Maps a point (RAS, mm) through a chain as antsApplyTransforms maps reference points into the
/// atlas: the last listed transform first. Returns the point in the first transform's `from` space.
Eigen::Vector3d map_point(const std::vector<TransformFile>& chain, const Eigen::Vector3d& point);

/// A displacement field on a grid: at voxel (i, j, k) of `grid`, `vectors` holds the displacement (RAS,
/// mm) in x, y, z order at entries 3 (i + nx (j + ny k)) + 0..2.
struct DisplacementField {
    ImageGeometry grid;
    std::vector<double> vectors;
};

/// Writes an ITK transform file: the point map p ↦ affine · (p + d(p)) (RAS, mm), d the displacement
/// field interpolated linearly (zero outside its grid), or the affine alone without a field. `.h5`
/// writes an ANTs composite (an affine then a displacement field, as antsRegistration does; the field
/// in float32 when `single_precision`), `.txt` / `.tfm` / `.mat` an affine alone. The file appears only
/// when complete.
void write_transform(const std::string& path, const Affine& affine, const DisplacementField* field = nullptr,
                     bool single_precision = false);

}  // namespace rewire
