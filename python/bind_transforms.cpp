// rewire._core: transform files (ANTs / ITK) and atlases warped through them.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "rewire/io/transform.hpp"
#include "rewire/io/warp.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {

std::vector<TransformFile> chain_of(const std::vector<std::pair<std::string, bool>>& chain) {
    std::vector<TransformFile> files;
    for (const auto& [path, invert] : chain) files.push_back({path, invert});
    return files;
}

void bind_transforms(py::module_& m) {
    bind_enum<LabelInterpolation>(m, "LabelInterpolation", "How warped labels are sampled.",
                                  {{"nearest", LabelInterpolation::nearest, "nearest"},
                                   {"label_gaussian", LabelInterpolation::label_gaussian, "label_gaussian"}},
                                  &label_interpolation);
    OptionsClass<WarpOptions>(m, "WarpOptions", "Options of warp_atlas().")
        .field("interpolation", &WarpOptions::interpolation,
               "'nearest' (antsApplyTransforms' NearestNeighbor) or 'label_gaussian' (its MultiLabel)")
        .field("sigma", &WarpOptions::sigma, "label_gaussian: sigma in mm (0: the atlas' voxel size)")
        .field("alpha", &WarpOptions::alpha, "label_gaussian: cut-off in sigmas (ANTs' MultiLabel: 4)")
        .field("threads", &WarpOptions::threads,
               "threads (0: REWIRE_NUM_THREADS, OMP_NUM_THREADS, else all cores); results do not depend on it")
        .validate()
        .finish();

    m.def(
        "parse_transform_argument",
        [](const std::string& text) {
            const TransformFile file = parse_transform_argument(text);
            return std::make_pair(file.path, file.invert);
        },
        "text"_a, "`path` or ANTs' `[path,1]` as (path, invert).");
    m.def(
        "transform_spaces",
        [](const std::string& path, bool invert) {
            const TransformSpaces spaces = transform_spaces({path, invert});
            return std::make_pair(spaces.from, spaces.to);
        },
        "path"_a, "invert"_a = false, "(from, to): the spaces the file name states (empty when none).");
    m.def("image_space", &image_space, "path"_a, "The space (`space-X` or `tpl-X`) an image's name states.");
    m.def(
        "check_chain_spaces",
        [](const std::vector<std::pair<std::string, bool>>& chain, const std::string& atlas_space,
           const std::string& reference_space) { check_chain_spaces(chain_of(chain), atlas_space, reference_space); },
        "chain"_a, "atlas_space"_a = "", "reference_space"_a = "",
        "Raises ValueError when the spaces the names state do not connect.");
    m.def("transform_kinds", &transform_kinds, "path"_a, py::call_guard<py::gil_scoped_release>(),
          "ITK class names of the transforms in a file (a composite's components after it).");
    m.def(
        "map_points",
        [](const std::vector<std::pair<std::string, bool>>& chain, const Eigen::MatrixX3d& points) {
            const auto files = chain_of(chain);
            Eigen::MatrixX3d mapped(points.rows(), 3);
            py::gil_scoped_release release;
            for (Eigen::Index n = 0; n < points.rows(); ++n) {
                mapped.row(n) = map_point(files, points.row(n).transpose()).transpose();
            }
            return mapped;
        },
        "chain"_a, "points"_a, "Points (K, 3; RAS mm) of the reference space mapped through the chain.");
    m.def(
        "write_transform",
        [](const std::string& path, const Eigen::Matrix4d& affine, std::optional<py::array_t<double, py::array::f_style | py::array::forcecast>> field,
           std::optional<Eigen::Matrix4d> field_affine, bool single_precision) {
            if (!field) {
                py::gil_scoped_release release;
                write_transform(path, affine, nullptr, single_precision);
                return;
            }
            if (field->ndim() != 4 || field->shape(3) != 3) {
                throw InvalidInput(path + ": the displacement field must be shaped (X, Y, Z, 3)");
            }
            if (!field_affine) throw InvalidInput(path + ": a displacement field needs its grid's affine (field_affine)");
            DisplacementField displacement;
            displacement.grid.dims = {field->shape(0), field->shape(1), field->shape(2)};
            displacement.grid.affine = *field_affine;
            const auto voxels = displacement.grid.voxels();
            displacement.vectors.resize(static_cast<std::size_t>(3 * voxels));
            const double* data = field->data();  // Fortran order: component c of voxel v at v + c · voxels
            for (std::int64_t v = 0; v < voxels; ++v) {
                for (std::int64_t c = 0; c < 3; ++c) displacement.vectors[static_cast<std::size_t>(3 * v + c)] = data[v + c * voxels];
            }
            py::gil_scoped_release release;
            write_transform(path, affine, &displacement, single_precision);
        },
        "path"_a, "affine"_a, "field"_a = py::none(), "field_affine"_a = py::none(), "single_precision"_a = false,
        "Writes the point map p -> affine (p + d(p)) (RAS mm) as an ITK / ANTs transform file.");
    m.def(
        "warp_atlas",
        [](const std::string& atlas, const std::string& reference, const std::vector<std::pair<std::string, bool>>& chain,
           const WarpOptions& options, const std::string& output) {
            Image3D warped;
            {
                py::gil_scoped_release release;
                warped = warp_atlas(atlas, reference, chain_of(chain), options);
                if (!output.empty()) write_labels(output, warped);
            }
            return image3d_dict(std::move(warped));
        },
        "atlas"_a, "reference"_a, "chain"_a, "options"_a = WarpOptions{}, "output"_a = "",
        "The atlas' labels on the reference's grid through the chain: {data, affine, format, path}; also "
        "written to `output` (NIfTI) when given.");
}

}  // namespace rewire::python
