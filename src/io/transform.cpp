// Transform files: ANTs' argument syntax, the spaces BIDS names state, and the RAS ↔ LPS conversions
// between rewire's (nibabel's) world and ITK's, around the ITK calls of itk_transforms.cpp.
#include "rewire/io/transform.hpp"

#include <cmath>
#include <cstdio>

#include "itk_convert.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/atomic_file.hpp"

namespace rewire {
namespace {

/// ITK's world is LPS, nibabel's RAS: the two differ by the sign of x and y.
const Eigen::Matrix4d kRasToLps = Eigen::Vector4d(-1.0, -1.0, 1.0, 1.0).asDiagonal();

std::string basename(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// The value of BIDS entity `key` in a file name (`key-value_`), empty when absent.
std::string entity(const std::string& path, const std::string& key) {
    const std::string name = basename(path);
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('_', start);
        if (end == std::string::npos) end = name.size();
        const std::string part = name.substr(start, end - start);
        if (part.compare(0, key.size() + 1, key + "-") == 0) {
            std::string value = part.substr(key.size() + 1);
            return value.substr(0, value.find('.'));
        }
        start = end + 1;
    }
    return {};
}

detail::Map34 to_map(const Eigen::Matrix4d& matrix) {
    detail::Map34 map{};
    for (int row = 0; row < 3; ++row) {
        for (int column = 0; column < 4; ++column) map[static_cast<std::size_t>(4 * row + column)] = matrix(row, column);
    }
    return map;
}

std::string extension(const std::string& path) {
    const std::string name = basename(path);
    const auto dot = name.find_last_of('.');
    return dot == std::string::npos ? std::string() : name.substr(dot);
}

std::string describe(const TransformFile& file) {
    const TransformSpaces spaces = transform_spaces(file);
    return basename(file.path) + (file.invert ? " (inverted)" : "") + " (from " + spaces.from + " to " + spaces.to + ")";
}

}  // namespace

namespace detail {

ItkGrid itk_grid(const ImageGeometry& geometry) {
    ItkGrid grid;
    grid.size = geometry.dims;
    grid.index_to_lps = to_map(kRasToLps * geometry.affine);
    return grid;
}

std::vector<ItkTransformRef> itk_transform_chain(const std::vector<TransformFile>& chain) {
    std::vector<ItkTransformRef> refs;
    for (const auto& file : chain) refs.push_back({file.path, file.invert});
    return refs;
}

}  // namespace detail

TransformFile parse_transform_argument(const std::string& text) {
    if (text.empty() || text.front() != '[') return {text, false};
    const auto comma = text.rfind(',');
    if (text.back() != ']' || comma == std::string::npos) {
        throw InvalidInput("transform '" + text + "': expected a file name or ANTs' [file,1] (inverted) / [file,0]");
    }
    std::string flag = text.substr(comma + 1, text.size() - comma - 2);
    flag.erase(0, flag.find_first_not_of(' '));
    flag.erase(flag.find_last_not_of(' ') + 1);
    if (flag != "0" && flag != "1") {
        throw InvalidInput("transform '" + text + "': the flag after the comma must be 0 or 1 (1: use the inverse)");
    }
    std::string path = text.substr(1, comma - 1);
    path.erase(path.find_last_not_of(' ') + 1);
    if (path.empty()) throw InvalidInput("transform '" + text + "': no file name");
    return {path, flag == "1"};
}

TransformSpaces transform_spaces(const TransformFile& transform) {
    TransformSpaces spaces{entity(transform.path, "from"), entity(transform.path, "to")};
    if (transform.invert) std::swap(spaces.from, spaces.to);
    return spaces;
}

std::string image_space(const std::string& path) {
    const std::string space = entity(path, "space");
    return space.empty() ? entity(path, "tpl") : space;
}

void check_chain_spaces(const std::vector<TransformFile>& chain, const std::string& atlas_space,
                        const std::string& reference_space) {
    if (chain.empty()) return;
    for (std::size_t n = 0; n + 1 < chain.size(); ++n) {
        const auto here = transform_spaces(chain[n]);
        const auto next = transform_spaces(chain[n + 1]);
        if (!here.to.empty() && !next.from.empty() && here.to != next.from) {
            throw InvalidInput("the transforms do not connect: " + chain[n].path + " takes the image to " + here.to +
                               ", but the next one, " + chain[n + 1].path + ", starts from " + next.from +
                               " (transforms are listed as antsApplyTransforms takes them: the one applied to "
                               "the atlas first; chain: " + describe(chain[n]) + " then " + describe(chain[n + 1]) + ")");
        }
    }
    const auto first = transform_spaces(chain.front());
    if (!atlas_space.empty() && !first.from.empty() && first.from != atlas_space) {
        throw InvalidInput("the transforms do not start in the atlas' space: the atlas is in " + atlas_space + ", but " +
                           chain.front().path + (chain.front().invert ? " (inverted)" : "") + " starts from " +
                           first.from);
    }
    const auto last = transform_spaces(chain.back());
    if (!reference_space.empty() && !last.to.empty() && last.to != reference_space) {
        throw InvalidInput("the transforms do not end in the reference's space: the reference is in " +
                           reference_space + ", but " + chain.back().path +
                           (chain.back().invert ? " (inverted)" : "") + " ends in " + last.to);
    }
}

std::vector<std::string> transform_kinds(const std::string& path) { return detail::itk_transform_kinds(path); }

Eigen::Vector3d map_point(const std::vector<TransformFile>& chain, const Eigen::Vector3d& point) {
    const auto mapped = detail::itk_map_point(detail::itk_transform_chain(chain), {-point.x(), -point.y(), point.z()});
    return {-mapped[0], -mapped[1], mapped[2]};
}

void write_transform(const std::string& path, const Affine& affine, const DisplacementField* field,
                     bool single_precision) {
    const std::string ext = extension(path);
    const bool hdf5 = ext == ".h5" || ext == ".hdf5";
    if (!hdf5 && ext != ".txt" && ext != ".tfm" && ext != ".mat") {
        throw InvalidInput(path + ": unknown transform format '" + ext +
                           "'; write .h5 (ANTs composite), .txt / .tfm (ITK text) or .mat (ANTs affine)");
    }
    if (field && !hdf5) {
        throw InvalidInput(path + ": a displacement field can only be written to an HDF5 composite (.h5)");
    }
    if (!affine.allFinite() || std::abs(affine.topLeftCorner<3, 3>().determinant()) < 1e-12 ||
        affine.row(3) != Eigen::RowVector4d(0, 0, 0, 1)) {
        throw InvalidInput(path + ": the affine must be finite, invertible, with a last row 0 0 0 1");
    }
    detail::ItkField itk_field;
    std::vector<double> lps_vectors;
    if (field) {
        const auto voxels = field->grid.voxels();
        if (static_cast<std::int64_t>(field->vectors.size()) != 3 * voxels) {
            throw InvalidInput(path + ": the displacement field holds " + std::to_string(field->vectors.size()) +
                               " values; its grid needs 3 × " + std::to_string(voxels));
        }
        lps_vectors = field->vectors;
        for (std::size_t n = 0; n < lps_vectors.size(); n += 3) {
            if (!std::isfinite(lps_vectors[n]) || !std::isfinite(lps_vectors[n + 1]) || !std::isfinite(lps_vectors[n + 2])) {
                throw InvalidInput(path + ": the displacement field has a value that is not finite");
            }
            lps_vectors[n] = -lps_vectors[n];
            lps_vectors[n + 1] = -lps_vectors[n + 1];
        }
        itk_field.grid = detail::itk_grid(field->grid);
        itk_field.vectors = lps_vectors.data();
    }
    const detail::Map34 map = to_map(kRasToLps * affine * kRasToLps);
    // ITK picks its writer by the extension, so the temporary keeps it: <target>.<random>.part<ext>.
    write_atomically(path, [&](const std::string& temporary) {
        const std::string named = temporary + ext;
        try {
            detail::itk_write_transform(named, map, field ? &itk_field : nullptr, single_precision);
        } catch (...) {
            std::remove(named.c_str());
            throw;
        }
        if (std::rename(named.c_str(), temporary.c_str()) != 0) {
            std::remove(named.c_str());
            throw IoError(path + ": cannot move the written transform into place");
        }
    });
}

}  // namespace rewire
