// Small RAII and read/write helpers over the HDF5 C API, shared by the cohort store and the result
// files. Internal to src/io: HDF5 headers never reach include/.
#pragma once

#include <hdf5.h>

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rewire/core/build_info.hpp"
#include "rewire/core/error.hpp"

namespace rewire::hdf5 {

/// How every rewire HDF5 file describes its edge vectors (root attribute edge_order).
inline constexpr const char* kEdgeOrder =
    "strict upper triangle, row-major: edge e = i*N - i*(i+1)/2 + (j - i - 1) for nodes i < j (0-based)";

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Owns an HDF5 identifier and closes it with the matching function.
class Handle {
public:
    Handle() = default;
    Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
    Handle& operator=(Handle&& other) noexcept {
        reset();
        id_ = std::exchange(other.id_, -1);
        close_ = other.close_;
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }
    hid_t get() const { return id_; }
    bool valid() const { return id_ >= 0; }
    void reset() {
        if (id_ >= 0 && close_ != nullptr)
            close_(id_);
        id_ = -1;
    }

private:
    hid_t id_ = -1;
    herr_t (*close_)(hid_t) = nullptr;
};

/// Silences HDF5's automatic error printing while alive; rewire reports errors itself.
class QuietErrors {
public:
    QuietErrors() {
        H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }
    QuietErrors(const QuietErrors&) = delete;
    QuietErrors& operator=(const QuietErrors&) = delete;

private:
    H5E_auto2_t function_ = nullptr;
    void* data_ = nullptr;
};

inline Handle checked(hid_t id, herr_t (*close)(hid_t), const std::string& what) {
    if (id < 0)
        throw IoError(what);
    return Handle(id, close);
}

inline void check(herr_t status, const std::string& what) {
    if (status < 0)
        throw IoError(what);
}

inline Handle string_type() {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    return type;
}

inline bool exists(hid_t location, const std::string& path) {
    // H5Lexists needs every intermediate link to exist: walk the path one component at a time.
    std::string partial;
    std::istringstream parts(path);
    std::string part;
    while (std::getline(parts, part, '/')) {
        if (part.empty())
            continue;
        partial += (partial.empty() ? "" : "/") + part;
        if (H5Lexists(location, partial.c_str(), H5P_DEFAULT) <= 0)
            return false;
    }
    return true;
}

inline Handle open_group(hid_t location, const std::string& path, bool create) {
    if (exists(location, path)) {
        return checked(H5Gopen2(location, path.c_str(), H5P_DEFAULT), H5Gclose, "cannot open group " + path);
    }
    if (!create)
        throw InvalidInput("group " + path + " does not exist");
    Handle links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(links.get(), 1);
    return checked(H5Gcreate2(location, path.c_str(), links.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                   "cannot create group " + path);
}

// ---- attributes

inline void write_attribute(hid_t object, const std::string& name, const std::string& value) {
    if (H5Aexists(object, name.c_str()) > 0)
        H5Adelete(object, name.c_str());
    Handle type = string_type();
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attribute =
        checked(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                "cannot write attribute " + name);
    const char* text = value.c_str();
    check(H5Awrite(attribute.get(), type.get(), &text), "cannot write attribute " + name);
}

/// Provenance of the numbers under `object` (core/build_info.hpp): attributes rewire_version,
/// rewire_kernels, rewire_compiler and rewire_flags.
inline void write_provenance(hid_t object) {
    const BuildInfo info = build_info();
    write_attribute(object, "rewire_version", info.version);
    write_attribute(object, "rewire_kernels", info.kernels);
    write_attribute(object, "rewire_compiler", info.compiler);
    write_attribute(object, "rewire_flags", info.flags);
}

template <typename T>
void write_attribute_number(hid_t object, const std::string& name, T value, hid_t type) {
    if (H5Aexists(object, name.c_str()) > 0)
        H5Adelete(object, name.c_str());
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attribute = checked(H5Acreate2(object, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                               H5Aclose, "cannot write attribute " + name);
    check(H5Awrite(attribute.get(), type, &value), "cannot write attribute " + name);
}

inline bool has_attribute(hid_t object, const std::string& name) {
    return H5Aexists(object, name.c_str()) > 0;
}

inline std::string read_attribute(hid_t object, const std::string& name) {
    if (!has_attribute(object, name))
        throw InvalidInput("attribute '" + name + "' is missing");
    Handle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
    Handle type = string_type();
    Handle stored(H5Aget_type(attribute.get()), H5Tclose);
    if (H5Tget_class(stored.get()) != H5T_STRING)
        throw InvalidInput("attribute '" + name + "' is not a string");
    if (H5Tis_variable_str(stored.get()) > 0) {
        char* text = nullptr;
        check(H5Aread(attribute.get(), type.get(), &text), "cannot read attribute " + name);
        std::string value = text != nullptr ? text : "";
        Handle space(H5Aget_space(attribute.get()), H5Sclose);
        H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, &text);
        return value;
    }
    const std::size_t size = H5Tget_size(stored.get());
    std::string value(size, '\0');
    check(H5Aread(attribute.get(), stored.get(), value.data()), "cannot read attribute " + name);
    value.erase(std::find(value.begin(), value.end(), '\0'), value.end());
    return value;
}

template <typename T>
T read_attribute_number(hid_t object, const std::string& name, hid_t type) {
    if (!has_attribute(object, name))
        throw InvalidInput("attribute '" + name + "' is missing");
    Handle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
    T value{};
    check(H5Aread(attribute.get(), type, &value), "cannot read attribute " + name);
    return value;
}

// ---- datasets

inline void write_matrix(hid_t location, const std::string& name,
                         const Eigen::Ref<const Eigen::MatrixXd>& matrix) {
    const RowMajor rows = matrix;
    const hsize_t dims[2] = {static_cast<hsize_t>(rows.rows()), static_cast<hsize_t>(rows.cols())};
    Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    Handle dataset = checked(H5Dcreate2(location, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                        H5P_DEFAULT, H5P_DEFAULT),
                             H5Dclose, "cannot create dataset " + name);
    if (rows.size() > 0) {
        check(H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()),
              "cannot write dataset " + name);
    }
}

inline void write_vector(hid_t location, const std::string& name, const double* values, hsize_t count) {
    Handle space(H5Screate_simple(1, &count, nullptr), H5Sclose);
    Handle dataset = checked(H5Dcreate2(location, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                        H5P_DEFAULT, H5P_DEFAULT),
                             H5Dclose, "cannot create dataset " + name);
    if (count > 0)
        check(H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values),
              "cannot write " + name);
}

inline void write_integers(hid_t location, const std::string& name, const std::vector<std::int64_t>& values) {
    const hsize_t count = values.size();
    Handle space(H5Screate_simple(1, &count, nullptr), H5Sclose);
    Handle dataset = checked(
        H5Dcreate2(location, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        H5Dclose, "cannot create dataset " + name);
    if (count > 0)
        check(H5Dwrite(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
              "cannot write " + name);
}

/// A 1D string dataset; `extendable` makes it chunked with an unlimited length.
inline void write_strings(hid_t location, const std::string& name, const std::vector<std::string>& values,
                          bool extendable = false) {
    const hsize_t count = values.size();
    const hsize_t unlimited = H5S_UNLIMITED;
    Handle space(H5Screate_simple(1, &count, extendable ? &unlimited : nullptr), H5Sclose);
    Handle properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (extendable) {
        const hsize_t chunk = 256;
        H5Pset_chunk(properties.get(), 1, &chunk);
    }
    Handle type = string_type();
    Handle dataset = checked(H5Dcreate2(location, name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                        properties.get(), H5P_DEFAULT),
                             H5Dclose, "cannot create dataset " + name);
    std::vector<const char*> pointers;
    for (const auto& value : values)
        pointers.push_back(value.c_str());
    if (count > 0)
        check(H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
              "cannot write " + name);
}

inline std::vector<hsize_t> dataset_dims(hid_t dataset) {
    Handle space(H5Dget_space(dataset), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return dims;
}

inline Handle open_dataset(hid_t location, const std::string& name) {
    if (!exists(location, name))
        throw InvalidInput("dataset " + name + " is missing");
    return checked(H5Dopen2(location, name.c_str(), H5P_DEFAULT), H5Dclose, "cannot open dataset " + name);
}

inline Eigen::MatrixXd read_matrix(hid_t location, const std::string& name) {
    Handle dataset = open_dataset(location, name);
    const auto dims = dataset_dims(dataset.get());
    const auto rows = static_cast<Eigen::Index>(dims.empty() ? 0 : dims[0]);
    const auto cols = static_cast<Eigen::Index>(dims.size() < 2 ? 1 : dims[1]);
    RowMajor values(rows, cols);
    if (values.size() > 0) {
        check(H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
              "cannot read " + name);
    }
    return values;
}

inline std::vector<std::int64_t> read_integers(hid_t location, const std::string& name) {
    Handle dataset = open_dataset(location, name);
    const auto dims = dataset_dims(dataset.get());
    std::vector<std::int64_t> values(dims.empty() ? 0 : dims[0]);
    if (!values.empty()) {
        check(H5Dread(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
              "cannot read " + name);
    }
    return values;
}

inline std::vector<std::string> read_strings(hid_t location, const std::string& name) {
    Handle dataset = open_dataset(location, name);
    const auto dims = dataset_dims(dataset.get());
    const std::size_t count = dims.empty() ? 0 : dims[0];
    std::vector<char*> pointers(count, nullptr);
    Handle type = string_type();
    if (count > 0) {
        check(H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
              "cannot read " + name);
    }
    std::vector<std::string> values;
    for (char* pointer : pointers)
        values.emplace_back(pointer != nullptr ? pointer : "");
    if (count > 0) {
        Handle space(H5Dget_space(dataset.get()), H5Sclose);
        H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data());
    }
    return values;
}

/// Names of the links directly inside a group.
inline std::vector<std::string> children(hid_t group) {
    std::vector<std::string> names;
    auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
    };
    H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names);
    return names;
}

}  // namespace rewire::hdf5
