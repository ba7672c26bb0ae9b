// Atlases and their resampling onto a BOLD grid.
#include "rewire/io/atlas.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <Eigen/Eigenvalues>

#include "rewire/core/error.hpp"

namespace rewire {
namespace {

/// Looks for a label table shipped beside an atlas image.
std::string sidecar_table(const std::string& image_path) {
    namespace fs = std::filesystem;
    std::string stem = image_path;
    if (stem.size() > 3 && stem.compare(stem.size() - 3, 3, ".gz") == 0) {
        stem.resize(stem.size() - 3);  // aal.nii.gz -> aal.nii (mricron ships aal.nii.txt)
    }
    std::string bare = stem;
    if (bare.size() > 4 && bare.compare(bare.size() - 4, 4, ".nii") == 0) {
        bare.resize(bare.size() - 4);
    }
    for (const std::string& candidate : {stem + ".txt", bare + ".tsv", bare + ".txt"}) {
        if (fs::exists(candidate)) {
            return candidate;
        }
    }
    return "";
}

/// Sorts entries by region, then by voxel index, and fills the CSR offsets.
void finish_layout(Parcellation& p, std::vector<std::pair<std::int64_t, std::int64_t>>& region_voxel,
                   std::vector<double>* weights) {
    const auto regions = static_cast<std::size_t>(p.regions());
    std::vector<std::size_t> order(region_voxel.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return region_voxel[a] < region_voxel[b]; });
    p.offsets.assign(regions + 1, 0);
    p.voxels.resize(order.size());
    if (weights != nullptr) {
        p.weights.resize(order.size());
    }
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto& [region, voxel] = region_voxel[order[i]];
        p.voxels[i] = voxel;
        ++p.offsets[static_cast<std::size_t>(region) + 1];
        if (weights != nullptr) {
            p.weights[i] = (*weights)[order[i]];
        }
    }
    for (std::size_t r = 0; r < regions; ++r) {
        p.offsets[r + 1] += p.offsets[r];
    }
}

/// Non-zero voxels of `mask` resampled onto `grid` (all true when there is no mask).
std::vector<bool> mask_on_grid(const ImageGeometry& grid, const Image3D* mask) {
    std::vector<bool> inside(static_cast<std::size_t>(grid.voxels()), true);
    if (mask == nullptr) {
        return inside;
    }
    const auto source = nearest_voxels(grid, mask->geometry);
    std::int64_t kept = 0;
    for (std::size_t v = 0; v < inside.size(); ++v) {
        inside[v] = source[v] >= 0 && mask->data[static_cast<std::size_t>(source[v])] != 0.0 &&
                    !std::isnan(mask->data[static_cast<std::size_t>(source[v])]);
        kept += inside[v] ? 1 : 0;
    }
    if (kept == 0) {
        throw InvalidInput("brain mask: no mask voxel falls inside the BOLD field of view");
    }
    return inside;
}

std::vector<std::string> default_names(std::int64_t count) {
    std::vector<std::string> names;
    for (std::int64_t r = 1; r <= count; ++r) {
        names.push_back(std::to_string(r));
    }
    return names;
}

}  // namespace

Atlas Atlas::warped(const ImageGeometry& reference, const std::vector<TransformFile>& chain,
                    const WarpOptions& options) const {
    if (kind_ != AtlasKind::labels) {
        throw InvalidInput(source_ + ": only label atlases can be warped (nearest-neighbour labels); this is a " +
                           (kind_ == AtlasKind::maps ? std::string("maps") : std::string("spheres")) + " atlas");
    }
    Atlas result;
    result.kind_ = kind_;
    result.source_ = source_;
    result.values_ = values_;
    result.names_ = names_;
    result.image_ = warp_labels(image_, reference, chain, options);
    return result;
}

Atlas Atlas::from_labels(const std::string& image_path, const std::string& label_table) {
    Atlas atlas;
    atlas.kind_ = AtlasKind::labels;
    atlas.source_ = image_path;
    atlas.image_ = read_image3d(image_path);
    if (atlas.image_.geometry.volumes != 1) {
        throw InvalidInput(image_path + ": a label atlas must be a 3D image, but it has " +
                           std::to_string(atlas.image_.geometry.volumes) +
                           " volumes (use a maps atlas for 4D probabilistic images)");
    }
    std::set<std::int64_t> present;
    for (const double value : atlas.image_.data) {
        if (!std::isfinite(value) || value != std::floor(value)) {
            throw InvalidInput(image_path + ": label atlas contains the non-integer value " +
                               std::to_string(value) + "; labels must be integers (is this a probabilistic map?)");
        }
        // 2^63 is exact in double; a label at or beyond it has no int64 value (the cast would be undefined
        // and merge such labels into one region).
        if (!(value >= -9223372036854775808.0 && value < 9223372036854775808.0)) {
            char shown[32];
            std::snprintf(shown, sizeof shown, "%g", value);
            throw InvalidInput(image_path + ": label atlas contains the value " + shown +
                               ", beyond the range of 64-bit integer labels (±9.2e18); is the image a label atlas?");
        }
        if (value != 0.0) {
            present.insert(static_cast<std::int64_t>(value));
        }
    }
    if (present.empty()) {
        throw InvalidInput(image_path + ": label atlas has no non-zero label");
    }
    std::map<std::int64_t, std::string> names;
    for (const auto value : present) {
        names[value] = std::to_string(value);
    }
    const std::string table_path = label_table.empty() ? sidecar_table(image_path) : label_table;
    if (!table_path.empty()) {
        const LabelTable table = read_label_table(table_path);
        for (std::size_t i = 0; i < table.values.size(); ++i) {
            names[table.values[i]] = table.names[i];
        }
    }
    for (const auto& [value, name] : names) {
        atlas.values_.push_back(value);
        atlas.names_.push_back(name);
    }
    return atlas;
}

Atlas Atlas::from_maps(const std::string& image_path, const std::vector<std::string>& names) {
    Atlas atlas;
    atlas.kind_ = AtlasKind::maps;
    atlas.source_ = image_path;
    atlas.image_ = read_image3d(image_path);
    const std::int64_t maps = atlas.image_.geometry.volumes;
    if (!names.empty() && static_cast<std::int64_t>(names.size()) != maps) {
        throw InvalidInput(image_path + ": probabilistic atlas has " + std::to_string(maps) + " maps but " +
                           std::to_string(names.size()) + " names were given");
    }
    for (const double value : atlas.image_.data) {
        if (!std::isfinite(value)) {
            throw InvalidInput(image_path + ": probabilistic atlas contains NaN or infinite weights");
        }
    }
    atlas.names_ = names.empty() ? default_names(maps) : names;
    for (std::int64_t r = 1; r <= maps; ++r) {
        atlas.values_.push_back(r);
    }
    return atlas;
}

Atlas Atlas::from_spheres(const Eigen::MatrixXd& centres, double radius, bool allow_overlap,
                          const std::vector<std::string>& names) {
    if (centres.cols() != 3 || centres.rows() < 1) {
        throw InvalidInput("spheres: centres must be a K × 3 array of MNI coordinates in mm, K ≥ 1");
    }
    if (!centres.allFinite()) {
        throw InvalidInput("spheres: centres contain NaN or infinity");
    }
    if (!(radius >= 0.0) || !std::isfinite(radius)) {
        throw InvalidInput("spheres: radius must be a finite number of mm ≥ 0");
    }
    if (!names.empty() && static_cast<Eigen::Index>(names.size()) != centres.rows()) {
        throw InvalidInput("spheres: " + std::to_string(names.size()) + " names for " +
                           std::to_string(centres.rows()) + " centres");
    }
    Atlas atlas;
    atlas.kind_ = AtlasKind::spheres;
    atlas.source_ = "spheres";
    atlas.centres_ = centres;
    atlas.radius_ = radius;
    atlas.allow_overlap_ = allow_overlap;
    atlas.names_ = names.empty() ? default_names(centres.rows()) : names;
    for (Eigen::Index r = 1; r <= centres.rows(); ++r) {
        atlas.values_.push_back(r);
    }
    return atlas;
}

Parcellation Atlas::on_grid(const ImageGeometry& grid, const Image3D* mask) const {
    Parcellation p;
    p.kind = kind_;
    p.grid = grid;
    p.grid.volumes = 1;
    p.values = values_;
    p.names = names_;
    const auto regions = static_cast<std::size_t>(this->regions());
    p.atlas_voxels.assign(regions, 0);
    const std::vector<bool> inside = mask_on_grid(grid, mask);
    std::vector<std::pair<std::int64_t, std::int64_t>> entries;  // (region, voxel)

    if (kind_ == AtlasKind::labels) {
        std::map<std::int64_t, std::int64_t> column_of;
        for (std::size_t r = 0; r < regions; ++r) {
            column_of[values_[r]] = static_cast<std::int64_t>(r);
        }
        const auto source = nearest_voxels(grid, image_.geometry);
        for (std::size_t v = 0; v < source.size(); ++v) {
            if (source[v] < 0) continue;
            const double label = image_.data[static_cast<std::size_t>(source[v])];
            if (label == 0.0) continue;
            const std::int64_t column = column_of.at(static_cast<std::int64_t>(label));
            ++p.atlas_voxels[static_cast<std::size_t>(column)];
            if (inside[v]) entries.emplace_back(column, static_cast<std::int64_t>(v));
        }
        finish_layout(p, entries, nullptr);
    } else if (kind_ == AtlasKind::maps) {
        const auto source = nearest_voxels(grid, image_.geometry);
        const std::int64_t atlas_voxels = image_.geometry.voxels();
        std::vector<double> weights;
        for (std::size_t v = 0; v < source.size(); ++v) {
            if (source[v] < 0) continue;
            for (std::size_t r = 0; r < regions; ++r) {
                const double w = image_.data[static_cast<std::size_t>(source[v] + static_cast<std::int64_t>(r) * atlas_voxels)];
                if (w == 0.0) continue;
                ++p.atlas_voxels[r];
                if (inside[v]) {
                    entries.emplace_back(static_cast<std::int64_t>(r), static_cast<std::int64_t>(v));
                    weights.push_back(w);
                }
            }
        }
        finish_layout(p, entries, &weights);
        // MᵀM over the masked support: least squares as nilearn's lstsq (minimum-norm when singular).
        Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(regions, regions);
        std::map<std::int64_t, std::vector<std::pair<std::size_t, double>>> by_voxel;
        for (std::size_t r = 0; r < regions; ++r) {
            for (auto e = p.offsets[r]; e < p.offsets[r + 1]; ++e) {
                by_voxel[p.voxels[static_cast<std::size_t>(e)]].emplace_back(r, p.weights[static_cast<std::size_t>(e)]);
            }
        }
        for (const auto& [voxel, list] : by_voxel) {
            for (const auto& [a, wa] : list) {
                for (const auto& [b, wb] : list) {
                    gram(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) += wa * wb;
                }
            }
        }
        const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(gram);
        const Eigen::VectorXd& lambda = eigen.eigenvalues();
        const double cutoff = lambda.cwiseAbs().maxCoeff() * static_cast<double>(regions) *
                              std::numeric_limits<double>::epsilon();
        Eigen::VectorXd inverse = Eigen::VectorXd::Zero(lambda.size());
        for (Eigen::Index i = 0; i < lambda.size(); ++i) {
            if (lambda[i] > cutoff) inverse[i] = 1.0 / lambda[i];
        }
        p.gram_pinv = eigen.eigenvectors() * inverse.asDiagonal() * eigen.eigenvectors().transpose();
    } else {
        const Affine to_voxel = grid.affine.inverse();
        std::vector<std::int64_t> owner(static_cast<std::size_t>(grid.voxels()), -1);
        for (std::size_t r = 0; r < regions; ++r) {
            const Eigen::Vector3d centre = centres_.row(static_cast<Eigen::Index>(r)).transpose();
            const Eigen::Vector4d c = to_voxel * centre.homogeneous();
            // The voxel nearest the centre belongs to the sphere whatever the radius (np.round:
            // half to even, as nilearn).
            const std::int64_t ni = static_cast<std::int64_t>(std::nearbyint(c[0]));
            const std::int64_t nj = static_cast<std::int64_t>(std::nearbyint(c[1]));
            const std::int64_t nk = static_cast<std::int64_t>(std::nearbyint(c[2]));
            std::set<std::int64_t> members;
            auto in_grid = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
                return i >= 0 && j >= 0 && k >= 0 && i < grid.dims[0] && j < grid.dims[1] && k < grid.dims[2];
            };
            auto index = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
                return i + grid.dims[0] * (j + grid.dims[1] * k);
            };
            if (in_grid(ni, nj, nk)) members.insert(index(ni, nj, nk));
            // Search a box around the centre that is wide enough for any voxel spacing.
            const double reach = radius_ / std::min({grid.voxel_size[0], grid.voxel_size[1], grid.voxel_size[2]}) + 2;
            for (std::int64_t k = std::max<std::int64_t>(0, std::int64_t(c[2] - reach));
                 k <= std::min<std::int64_t>(grid.dims[2] - 1, std::int64_t(c[2] + reach)); ++k) {
                for (std::int64_t j = std::max<std::int64_t>(0, std::int64_t(c[1] - reach));
                     j <= std::min<std::int64_t>(grid.dims[1] - 1, std::int64_t(c[1] + reach)); ++j) {
                    for (std::int64_t i = std::max<std::int64_t>(0, std::int64_t(c[0] - reach));
                         i <= std::min<std::int64_t>(grid.dims[0] - 1, std::int64_t(c[0] + reach)); ++i) {
                        if ((grid.world(double(i), double(j), double(k)) - centre).norm() <= radius_) {
                            members.insert(index(i, j, k));
                        }
                    }
                }
            }
            for (const std::int64_t voxel : members) {
                ++p.atlas_voxels[r];
                if (!inside[static_cast<std::size_t>(voxel)]) continue;
                if (owner[static_cast<std::size_t>(voxel)] >= 0 && !allow_overlap_) {
                    throw InvalidInput("spheres: sphere " + std::to_string(r + 1) + " (" + names_[r] +
                                       ") overlaps sphere " + std::to_string(owner[static_cast<std::size_t>(voxel)] + 1) +
                                       "; use a smaller radius or allow_overlap=true");
                }
                owner[static_cast<std::size_t>(voxel)] = static_cast<std::int64_t>(r);
                entries.emplace_back(static_cast<std::int64_t>(r), voxel);
            }
        }
        finish_layout(p, entries, nullptr);
    }
    if (p.voxels.empty()) {
        throw InvalidInput(source_ + ": the atlas does not overlap the BOLD image (no region voxel falls inside its "
                           "field of view" + std::string(mask != nullptr ? " and brain mask)" : ")"));
    }
    return p;
}

}  // namespace rewire
