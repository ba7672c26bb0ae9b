// rewire — atlases (hard labels, probabilistic maps, spheres) and their Parcellation on a BOLD grid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "rewire/io/geometry.hpp"
#include "rewire/io/image3d.hpp"
#include "rewire/io/nifti.hpp"
#include "rewire/io/resample.hpp"
#include "rewire/io/warp.hpp"

namespace rewire {

/// Region values and names, in ascending value order.
struct LabelTable {
    std::vector<std::int64_t> values;
    std::vector<std::string> names;
};

/// Reads a label table. Accepted: a BIDS `dseg.tsv` (a header line with `index` and `name` columns,
/// tab-separated), or the mricron `.txt` tables (`VALUE NAME [...]` per line, whitespace-separated).
LabelTable read_label_table(const std::string& path);

/// Where the regions of a Parcellation came from.
enum class AtlasKind { labels, maps, spheres };

/// Regions resampled onto one image grid, ready for streamed reduction.
///
/// Region r owns the voxel entries [offsets[r], offsets[r+1]) of `voxels` (linear indices on `grid`,
/// ascending within a region). For label and sphere atlases the region signal is the mean of its
/// voxels; for maps it is nilearn's least-squares fit: signals = (Mᵀ d) · pinv(MᵀM), `weights` holding M.
struct Parcellation {
    AtlasKind kind = AtlasKind::labels;
    ImageGeometry grid;
    std::vector<std::int64_t> values;   ///< label value of each region (1..K for maps and spheres)
    std::vector<std::string> names;     ///< one name per region
    std::vector<std::int64_t> offsets;  ///< K + 1 offsets into `voxels`
    std::vector<std::int64_t> voxels;   ///< voxel indices grouped by region
    std::vector<double> weights;        ///< map weight of each entry (maps only; empty otherwise)
    Eigen::MatrixXd gram_pinv;          ///< K × K pinv(MᵀM) (maps only)
    std::vector<std::int64_t> atlas_voxels;  ///< voxels of each region on the grid before masking

    std::int64_t regions() const { return static_cast<std::int64_t>(names.size()); }
};

/// An atlas as given by the user, before it meets a BOLD grid.
class Atlas {
public:
    /// Hard-label atlas: a 3D image of integer labels (0 = background), in any format read_image3d reads. `label_table` names the
    /// regions; when empty, a table beside the image (`<image>.txt` as mricron ships, or a `.tsv`
    /// with the same stem) is used if present, else the regions are named by their values. Columns
    /// are every label in the image or the table, in ascending value.
    static Atlas from_labels(const std::string& image_path, const std::string& label_table = "");

    /// Probabilistic atlas: a 4D image, a stack of 3D weight maps, one per region (nilearn's
    /// NiftiMapsMasker), in any format read_image3d reads.
    /// `names` must be empty or hold one name per map.
    static Atlas from_maps(const std::string& image_path, const std::vector<std::string>& names = {});

    /// Spheres around MNI coordinates (K × 3, mm) with `radius` mm, as nilearn's NiftiSpheresMasker:
    /// every voxel whose centre lies within the radius, and always the voxel nearest to the centre.
    /// Spheres may share voxels only when `allow_overlap` is true.
    static Atlas from_spheres(const Eigen::MatrixXd& centres, double radius, bool allow_overlap = false,
                              const std::vector<std::string>& names = {});

    AtlasKind kind() const { return kind_; }
    const std::vector<std::int64_t>& values() const { return values_; }
    const std::vector<std::string>& names() const { return names_; }
    std::int64_t regions() const { return static_cast<std::int64_t>(names_.size()); }
    const std::string& source() const { return source_; }

    /// A label atlas carried onto another space's `reference` grid through a transform chain (warp_labels):
    /// the same values and names, in the same column order, so that runs warped per subject stay
    /// comparable; a region the warp leaves without voxels stays a column. Throws InvalidInput for maps
    /// and spheres.
    Atlas warped(const ImageGeometry& reference, const std::vector<TransformFile>& chain,
                 const WarpOptions& options = {}) const;

    /// The atlas image (labels, or a stack of maps); empty for spheres.
    const Image3D& image() const { return image_; }

    /// The regions on `grid`. An atlas on another grid is resampled by nearest neighbour in world
    /// coordinates; `mask` (optional, any grid) restricts the regions to its non-zero voxels.
    /// Throws InvalidInput when no region voxel falls inside the grid (or the mask).
    Parcellation on_grid(const ImageGeometry& grid, const Image3D* mask = nullptr) const;

private:
    AtlasKind kind_ = AtlasKind::labels;
    std::string source_;
    std::vector<std::int64_t> values_;
    std::vector<std::string> names_;
    Image3D image_;               // labels (3D) or maps (a stack of 3D volumes)
    Eigen::MatrixXd centres_;     // spheres
    double radius_ = 0.0;
    bool allow_overlap_ = false;
};

}  // namespace rewire
