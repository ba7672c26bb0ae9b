// rewire._core — pybind11 bindings. Arrays cross as numpy float64; time series are (T, N).
// Every call that touches files or loops over data releases the GIL.
#include "bindings.hpp"

#include <filesystem>

#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "rewire/rewire.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

py::dict geometry_dict(const rewire::ImageGeometry& g) {
    py::dict d;
    if (g.volumes > 1) {
        d["shape"] = py::make_tuple(g.dims[0], g.dims[1], g.dims[2], g.volumes);
    } else {
        d["shape"] = py::make_tuple(g.dims[0], g.dims[1], g.dims[2]);
    }
    d["affine"] = Eigen::Matrix4d(g.affine);
    d["voxel_size"] = py::make_tuple(g.voxel_size[0], g.voxel_size[1], g.voxel_size[2]);
    d["tr"] = g.tr;
    return d;
}

py::dict header_dict(const rewire::NiftiHeader& h) {
    py::dict d = geometry_dict(h.geometry);
    std::vector<std::int64_t> dim(h.dim.begin() + 1, h.dim.begin() + 1 + h.dim[0]);
    d["shape"] = py::tuple(py::cast(dim));
    d["version"] = h.version;
    d["datatype"] = rewire::datatype_name(h.datatype);
    d["scl_slope"] = h.scl_slope;
    d["scl_inter"] = h.scl_inter;
    d["qform_code"] = h.qform_code;
    d["sform_code"] = h.sform_code;
    d["vox_offset"] = h.vox_offset;
    return d;
}

/// Whole image as a numpy array shaped like nibabel's get_fdata(): (X, Y, Z[, T]), Fortran order.
py::array_t<double> load_data(const std::string& path) {
    rewire::NiftiImage image;
    {
        py::gil_scoped_release release;
        image = rewire::read_nifti(path);
    }
    const auto& g = image.geometry();
    std::vector<py::ssize_t> shape(image.header.dim.begin() + 1,
                                   image.header.dim.begin() + 1 + image.header.dim[0]);
    std::vector<py::ssize_t> strides;
    py::ssize_t stride = sizeof(double);
    for (auto extent : shape) {
        strides.push_back(stride);
        stride *= extent;
    }
    (void)g;
    auto* owner = new std::vector<double>(std::move(image.data));
    py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<double>*>(p); });
    return py::array_t<double>(shape, strides, owner->data(), free_when_done);
}


class PyNiftiWriter {
public:
    PyNiftiWriter(const std::string& path, std::vector<std::int64_t> shape, const Eigen::Matrix4d& affine,
                  double tr, const rewire::NiftiWriteOptions& options) {
        if (shape.size() != 3 && shape.size() != 4) {
            throw rewire::InvalidInput(path + ": shape must have 3 or 4 entries");
        }
        rewire::ImageGeometry g;
        g.dims = {shape[0], shape[1], shape[2]};
        g.volumes = shape.size() == 4 ? shape[3] : 1;
        g.affine = affine;
        g.tr = tr;
        voxels_ = g.voxels();
        writer_ = std::make_unique<rewire::NiftiWriter>(path, g, options);
    }
    void write(py::array_t<double, py::array::f_style | py::array::forcecast> volume) {
        if (volume.size() != voxels_) {
            throw rewire::InvalidInput("NiftiWriter.write: expected a volume of " + std::to_string(voxels_) +
                                       " voxels, got " + std::to_string(volume.size()));
        }
        const double* data = volume.data();
        py::gil_scoped_release release;
        writer_->write(data);
    }
    void close() {
        py::gil_scoped_release release;
        writer_->close();
    }

private:
    std::int64_t voxels_ = 0;
    std::unique_ptr<rewire::NiftiWriter> writer_;
};

}  // namespace

namespace rewire::python {

/// A 3D image (or stack) from read_image3d as {data: (X, Y, Z[, V]) float64 in Fortran order, affine,
/// format, path}.
pybind11::dict image3d_dict(rewire::Image3D image) {
    const auto& g = image.geometry;
    std::vector<py::ssize_t> shape{g.dims[0], g.dims[1], g.dims[2]};
    if (g.volumes > 1) shape.push_back(g.volumes);
    std::vector<py::ssize_t> strides;
    py::ssize_t stride = sizeof(double);
    for (auto extent : shape) {
        strides.push_back(stride);
        stride *= extent;
    }
    py::dict d;
    d["affine"] = g.affine;
    d["format"] = rewire::format_name(image.format);
    d["path"] = image.path;
    auto* owner = new std::vector<double>(std::move(image.data));
    py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<double>*>(p); });
    d["data"] = py::array_t<double>(shape, strides, owner->data(), free_when_done);
    return d;
}

}  // namespace rewire::python

using rewire::python::image3d_dict;

PYBIND11_MODULE(_core, m) {
    m.doc() = "rewire C++ core";
    m.attr("__version__") = rewire::version;
    rewire::python::bind_transforms(m);  // first: Atlas.warped takes its WarpOptions
    m.def(
        "build_info",
        [] {
            const rewire::BuildInfo info = rewire::build_info();
            py::dict out;
            out["version"] = info.version;
            out["kernels"] = info.kernels;
            out["compiler"] = info.compiler;
            out["flags"] = info.flags;
            return out;
        },
        "Provenance of this build (version, kernel variant in use, compiler, floating-point flags), as written "
        "into every cohort store and result file.");

    // C++ exceptions become the Python types DESIGN.md promises, with the same text.
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p)
                std::rethrow_exception(p);
        } catch (const rewire::InvalidInput& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const rewire::IoError& e) {
            PyErr_SetString(PyExc_OSError, e.what());
        } catch (const rewire::NumericalError& e) {
            PyErr_SetString(PyExc_FloatingPointError, e.what());
        } catch (const std::filesystem::filesystem_error& e) {  // names the path and the system's reason
            PyErr_SetString(PyExc_OSError, e.what());
        }
    });

    m.def(
        "read_header",
        [](const std::string& path) {
            rewire::NiftiHeader h;
            {
                py::gil_scoped_release release;
                h = rewire::read_nifti_header(path);
            }
            return header_dict(h);
        },
        "path"_a, "Header fields and geometry of a NIfTI file (affine as nibabel's img.affine).");

    m.def(
        "read_image3d",
        [](const std::string& path) {
            rewire::Image3D image;
            {
                py::gil_scoped_release release;
                image = rewire::read_image3d(path);
            }
            return image3d_dict(std::move(image));
        },
        "path"_a,
        "A 3D image (or a 4D stack of 3D volumes) in any format rewire reads (NIfTI-1/2, NRRD, MetaImage, "
        "Analyze), through ITK: {data, affine (voxel -> RAS mm, nibabel's rule for NIfTI), format, path}.");

    m.def("load_data", &load_data, "path"_a,
          "Whole image as float64 shaped (X, Y, Z[, T]) like nibabel's get_fdata(); for small images.");

    {
        using T = rewire::NiftiDataType;
        rewire::python::bind_enum<T>(m, "NiftiDataType", "Stored voxel type of a NIfTI file (numpy's names).",
                                     {{"uint8", T::uint8, "uint8"},
                                      {"int8", T::int8, "int8"},
                                      {"int16", T::int16, "int16"},
                                      {"uint16", T::uint16, "uint16"},
                                      {"int32", T::int32, "int32"},
                                      {"uint32", T::uint32, "uint32"},
                                      {"float32", T::float32, "float32"},
                                      {"float64", T::float64, "float64"}});
    }
    rewire::python::OptionsClass<rewire::NiftiWriteOptions>(m, "NiftiWriteOptions",
                                                            "How NiftiWriter stores voxels.")
        .field("datatype", &rewire::NiftiWriteOptions::datatype, "stored voxel type")
        .field("scl_slope", &rewire::NiftiWriteOptions::scl_slope, "stored = (value - scl_inter) / scl_slope")
        .field("scl_inter", &rewire::NiftiWriteOptions::scl_inter, "see scl_slope")
        .field("gzip_level", &rewire::NiftiWriteOptions::gzip_level, "0-9, used when the path ends in .gz")
        .finish();

    py::class_<PyNiftiWriter>(m, "NiftiWriter")
        .def(py::init<const std::string&, std::vector<std::int64_t>, const Eigen::Matrix4d&, double,
                      const rewire::NiftiWriteOptions&>(),
             "path"_a, "shape"_a, "affine"_a, "tr"_a = 0.0, "options"_a = rewire::NiftiWriteOptions{})
        .def("write", &PyNiftiWriter::write, "volume"_a, "Writes the next (X, Y, Z) volume.")
        .def("close", &PyNiftiWriter::close, "Finishes the file and moves it into place.");

    py::class_<rewire::LabelTable>(m, "LabelTable")
        .def_readonly("values", &rewire::LabelTable::values)
        .def_readonly("names", &rewire::LabelTable::names);
    m.def("read_label_table", &rewire::read_label_table, "path"_a);

    py::class_<rewire::Atlas>(m, "Atlas")
        .def_static("from_labels", &rewire::Atlas::from_labels, "path"_a, "labels"_a = "",
                    py::call_guard<py::gil_scoped_release>())
        .def_static("from_maps", &rewire::Atlas::from_maps, "path"_a, "names"_a = std::vector<std::string>{},
                    py::call_guard<py::gil_scoped_release>())
        .def_static("from_spheres", &rewire::Atlas::from_spheres, "centres"_a, "radius"_a,
                    "allow_overlap"_a = false, "names"_a = std::vector<std::string>{})
        .def_property_readonly("kind",
                               [](const rewire::Atlas& a) {
                                   switch (a.kind()) {
                                       case rewire::AtlasKind::labels:
                                           return "labels";
                                       case rewire::AtlasKind::maps:
                                           return "maps";
                                       default:
                                           return "spheres";
                                   }
                               })
        .def_property_readonly("values", &rewire::Atlas::values)
        .def_property_readonly("names", &rewire::Atlas::names)
        .def_property_readonly("source", &rewire::Atlas::source)
        .def(
            "warped",
            [](const rewire::Atlas& atlas, const std::string& reference, const std::vector<std::pair<std::string, bool>>& chain,
               const rewire::WarpOptions& options) {
                const auto files = rewire::python::chain_of(chain);
                py::gil_scoped_release release;
                return atlas.warped(rewire::read_grid(reference), files, options);
            },
            "reference"_a, "chain"_a, "options"_a = rewire::WarpOptions{},
            "The label atlas on the grid of `reference` (any image; a 4D BOLD gives its volumes' grid) through "
            "`chain`, a list of (path, invert) listed last-applied-first as antsApplyTransforms takes them; "
            "values, names and column order unchanged.")
        .def(
            "labels_on_grid",
            [](const rewire::Atlas& atlas, std::vector<std::int64_t> shape, const Eigen::Matrix4d& affine) {
                // Region value of every voxel of a grid (0: background), shaped (X, Y, Z) in Fortran order.
                if (shape.size() < 3)
                    throw rewire::InvalidInput("labels_on_grid: shape needs 3 entries");
                rewire::ImageGeometry grid;
                grid.dims = {shape[0], shape[1], shape[2]};
                grid.affine = affine;
                rewire::Parcellation p;
                {
                    py::gil_scoped_release release;
                    p = atlas.on_grid(grid);
                }
                py::array_t<std::int64_t, py::array::f_style> image({shape[0], shape[1], shape[2]});
                std::fill(image.mutable_data(), image.mutable_data() + image.size(), 0);
                for (std::int64_t r = 0; r < p.regions(); ++r) {
                    for (auto e = p.offsets[r]; e < p.offsets[r + 1]; ++e) {
                        image.mutable_data()[p.voxels[e]] = p.values[r];
                    }
                }
                return image;
            },
            "shape"_a, "affine"_a,
            "Region value of each voxel of the grid (overlaps: the last region wins).");

    rewire::python::OptionsClass<rewire::ExtractOptions>(m, "ExtractOptions", "Options of extract().")
        .field(
            "threads", &rewire::ExtractOptions::threads,
            "reduction threads (0: REWIRE_NUM_THREADS, OMP_NUM_THREADS, else all cores but one); results do "
            "not depend on it")
        .field("ring", &rewire::ExtractOptions::ring, "volumes inflated ahead of the reduction (>= 2)")
        .validate()
        .finish();

    py::class_<rewire::Extraction> extraction(m, "Extraction",
                                              "Region signals of one BOLD run, before cleaning.");
    rewire::python::array_field(extraction, "signals", &rewire::Extraction::signals,
                                "(T, N) region means (NaN column: a region without data)");
    rewire::python::array_field(extraction, "coverage", &rewire::Extraction::coverage,
                                "(N,) fraction of each region's voxels with finite data in every volume");
    extraction.def_readonly("names", &rewire::Extraction::names)
        .def_readonly("values", &rewire::Extraction::values)
        .def_property_readonly("tr", [](const rewire::Extraction& e) { return e.geometry.tr; });

    m.def(
        "extract",
        [](const std::string& bold, const rewire::Atlas& atlas, const std::string& mask,
           rewire::ExtractOptions options, const std::function<void(std::int64_t, std::int64_t)>& progress) {
            options.validate();
            if (progress) {
                options.progress = [progress](std::int64_t done, std::int64_t total) {
                    py::gil_scoped_acquire acquire;
                    progress(done, total);
                };
            }
            py::gil_scoped_release release;
            return rewire::extract(bold, atlas, mask, options);
        },
        "bold"_a, "atlas"_a, "mask"_a = "", "options"_a = rewire::ExtractOptions{}, "progress"_a = nullptr,
        "Region signals of a 4D BOLD image, streamed one volume at a time (an Extraction).");

    m.def(
        "resolve_threads", &rewire::resolve_threads, "requested"_a, "reserved"_a = 0,
        "Threads a request resolves to: the request when > 0, else REWIRE_NUM_THREADS, else OMP_NUM_THREADS, "
        "else all cores but `reserved` (at least 1).");

    m.def(
        "fisher_z", [](const Eigen::Ref<const Eigen::MatrixXd>& r) { return rewire::fisher_z(r); }, "r"_a,
        py::call_guard<py::gil_scoped_release>());
    m.def(
        "edge_vector",
        [](const Eigen::Ref<const Eigen::MatrixXd>& matrix) { return rewire::edge_vector(matrix); },
        "matrix"_a, py::call_guard<py::gil_scoped_release>());
    m.def("edge_index", &rewire::edge_index, "i"_a, "j"_a, "nodes"_a);

    rewire::python::bind_signal(m);
    rewire::python::bind_confounds(m);
    rewire::python::bind_estimators(m);
    rewire::python::bind_cohort(m);
    rewire::python::bind_stats(m);
}
