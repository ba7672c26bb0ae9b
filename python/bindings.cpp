// rewire._core — pybind11 bindings. Arrays cross as numpy float64; time series are (T, N).
// Every call that touches files or loops over data releases the GIL.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
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

rewire::NiftiDataType datatype_from_name(const std::string& name) {
    using T = rewire::NiftiDataType;
    for (T type : {T::uint8, T::int8, T::int16, T::uint16, T::int32, T::uint32, T::float32, T::float64}) {
        if (name == rewire::datatype_name(type)) return type;
    }
    throw rewire::InvalidInput("unknown NIfTI datatype '" + name + "'");
}

/// Whole image as a numpy array shaped like nibabel's get_fdata(): (X, Y, Z[, T]), Fortran order.
py::array_t<double> load_data(const std::string& path) {
    rewire::NiftiImage image;
    {
        py::gil_scoped_release release;
        image = rewire::read_nifti(path);
    }
    const auto& g = image.geometry();
    std::vector<py::ssize_t> shape(image.header.dim.begin() + 1, image.header.dim.begin() + 1 + image.header.dim[0]);
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
                  double tr, const std::string& dtype, double slope, double inter, int level) {
        if (shape.size() != 3 && shape.size() != 4) {
            throw rewire::InvalidInput(path + ": shape must have 3 or 4 entries");
        }
        rewire::ImageGeometry g;
        g.dims = {shape[0], shape[1], shape[2]};
        g.volumes = shape.size() == 4 ? shape[3] : 1;
        g.affine = affine;
        g.tr = tr;
        rewire::NiftiWriteOptions options;
        options.datatype = datatype_from_name(dtype);
        options.scl_slope = slope;
        options.scl_inter = inter;
        options.gzip_level = level;
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

PYBIND11_MODULE(_core, m) {
    m.doc() = "rewire C++ core";
    m.attr("__version__") = rewire::version;

    // C++ exceptions become the Python types DESIGN.md promises, with the same text.
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const rewire::InvalidInput& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const rewire::IoError& e) {
            PyErr_SetString(PyExc_OSError, e.what());
        } catch (const rewire::NumericalError& e) {
            PyErr_SetString(PyExc_FloatingPointError, e.what());
        }
    });

    m.def("read_header", [](const std::string& path) {
        rewire::NiftiHeader h;
        {
            py::gil_scoped_release release;
            h = rewire::read_nifti_header(path);
        }
        return header_dict(h);
    }, "path"_a, "Header fields and geometry of a NIfTI file (affine as nibabel's img.affine).");

    m.def("load_data", &load_data, "path"_a,
          "Whole image as float64 shaped (X, Y, Z[, T]) like nibabel's get_fdata(); for small images.");

    py::class_<PyNiftiWriter>(m, "NiftiWriter")
        .def(py::init<const std::string&, std::vector<std::int64_t>, const Eigen::Matrix4d&, double,
                      const std::string&, double, double, int>(),
             "path"_a, "shape"_a, "affine"_a, "tr"_a = 0.0, "dtype"_a = "float32", "scl_slope"_a = 1.0,
             "scl_inter"_a = 0.0, "gzip_level"_a = 1)
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
        .def_property_readonly("kind", [](const rewire::Atlas& a) {
            switch (a.kind()) {
                case rewire::AtlasKind::labels: return "labels";
                case rewire::AtlasKind::maps: return "maps";
                default: return "spheres";
            }
        })
        .def_property_readonly("values", &rewire::Atlas::values)
        .def_property_readonly("names", &rewire::Atlas::names)
        .def_property_readonly("source", &rewire::Atlas::source)
        .def("labels_on_grid", [](const rewire::Atlas& atlas, std::vector<std::int64_t> shape,
                                  const Eigen::Matrix4d& affine) {
            // Region value of every voxel of a grid (0: background), shaped (X, Y, Z) in Fortran order.
            if (shape.size() < 3) throw rewire::InvalidInput("labels_on_grid: shape needs 3 entries");
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
        }, "shape"_a, "affine"_a, "Region value of each voxel of the grid (overlaps: the last region wins).");

    m.def("extract", [](const std::string& bold, const rewire::Atlas& atlas, const std::string& mask, int threads,
                        const std::function<void(std::int64_t, std::int64_t)>& progress) {
        rewire::ExtractOptions options;
        options.threads = threads;
        if (progress) {
            options.progress = [progress](std::int64_t done, std::int64_t total) {
                py::gil_scoped_acquire acquire;
                progress(done, total);
            };
        }
        rewire::Extraction result;
        {
            py::gil_scoped_release release;
            result = rewire::extract(bold, atlas, mask, options);
        }
        py::dict d;
        d["signals"] = result.signals;
        d["coverage"] = result.coverage;
        d["names"] = result.names;
        d["values"] = result.values;
        d["tr"] = result.geometry.tr;
        return d;
    }, "bold"_a, "atlas"_a, "mask"_a = "", "threads"_a = 0, "progress"_a = nullptr);

    m.def("fisher_z", [](const Eigen::Ref<const Eigen::MatrixXd>& r) { return rewire::fisher_z(r); }, "r"_a,
          py::call_guard<py::gil_scoped_release>());
    m.def("edge_vector", [](const Eigen::Ref<const Eigen::MatrixXd>& matrix) { return rewire::edge_vector(matrix); },
          "matrix"_a, py::call_guard<py::gil_scoped_release>());
    m.def("edge_index", &rewire::edge_index, "i"_a, "j"_a, "nodes"_a);

    rewire::python::bind_signal(m);
    rewire::python::bind_confounds(m);
    rewire::python::bind_estimators(m);
    rewire::python::bind_cohort(m);
    rewire::python::bind_stats(m);
}
