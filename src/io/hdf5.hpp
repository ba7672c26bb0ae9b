// Small RAII and read/write helpers over the HDF5 C API, shared by the cohort store and the result
// files. Internal to src/io: HDF5 headers never reach include/.
#pragma once

#include <hdf5.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <sstream>
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

/// Turns HDF5's automatic error printing off for the process, for good: rewire reports every HDF5 error
/// itself (an exception naming the file and the object), and with printing on, HDF5 also writes its own
/// error stack, and at exit "infinite loop closing library" after it met a damaged file.
class QuietErrors {
public:
    QuietErrors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
    QuietErrors(const QuietErrors&) = delete;
    QuietErrors& operator=(const QuietErrors&) = delete;
};

/// The most specific message on HDF5's error stack ("incorrect metadata checksum after all read
/// attempts", "data error detected by Fletcher32 checksum", "Bad file descriptor" ...), then clears it.
inline std::string library_reason() {
    std::string reason;
    auto innermost = [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
        auto* text = static_cast<std::string*>(data);
        if (text->empty() && error->desc != nullptr && *error->desc != '\0')
            *text = error->desc;
        return 0;
    };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &reason);
    H5Eclear2(H5E_DEFAULT);
    return reason;
}

/// An IoError saying what failed, followed by HDF5's own reason when it gave one.
inline IoError failure(const std::string& what) {
    const std::string reason = library_reason();
    return IoError(reason.empty() ? what : what + " (" + reason + ")");
}

inline Handle checked(hid_t id, herr_t (*close)(hid_t), const std::string& what) {
    if (id < 0)
        throw failure(what);
    return Handle(id, close);
}

inline void check(herr_t status, const std::string& what) {
    if (status < 0)
        throw failure(what);
}

/// The full path inside the file of `name` under `location` ("/runs/sub-01/pre/timeseries"), for
/// messages that say which object is damaged.
inline std::string object_path(hid_t location, const std::string& name = "") {
    std::string base;
    const ssize_t length = H5Iget_name(location, nullptr, 0);
    if (length > 0) {
        base.resize(static_cast<std::size_t>(length) + 1);
        H5Iget_name(location, base.data(), base.size());
        base.resize(static_cast<std::size_t>(length));
    }
    if (name.empty())
        return base.empty() ? "/" : base;
    return (base.empty() || base == "/" ? "/" : base + "/") + name;
}

/// Throws IoError when `text` is not valid UTF-8 (a damaged string would otherwise reach Python as a
/// UnicodeDecodeError that names nothing).
inline const std::string& checked_utf8(const std::string& text, const std::string& what) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        const std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3
                                                 : (byte >> 3) == 0x1E ? 4 : 0;
        if (length == 0 || i + length > text.size())
            throw IoError(what + " is not valid UTF-8 text (damaged)");
        for (std::size_t k = 1; k < length; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2)
                throw IoError(what + " is not valid UTF-8 text (damaged)");
        }
        i += length;
    }
    return text;
}

/// Variable-length UTF-8 strings: how format-1 stores hold text, still read.
inline Handle string_type() {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    return type;
}

/// Width of the strings of an extendable string dataset (subject IDs), fixed when it is created.
inline constexpr std::size_t kNameWidth = 256;

/// Fixed-length UTF-8 strings of `width` bytes, NUL-padded: rewire writes text this way, so that it sits
/// in an object header (attributes) or a chunk (datasets), under their checksums. Variable-length strings
/// live in HDF5's global heap, which has no checksum: damage there makes HDF5 loop for ever.
inline Handle fixed_string_type(std::size_t width) {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    check(H5Tset_size(type.get(), std::max<std::size_t>(width, 1)), "cannot make a string type");
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    return type;
}

/// `values` laid end to end, each NUL-padded to `width` bytes (at least one byte).
inline std::string padded_strings(const std::vector<std::string>& values, std::size_t width,
                                  const std::string& what) {
    width = std::max<std::size_t>(width, 1);
    std::string buffer(values.size() * width, '\0');
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (values[i].size() > width) {
            throw InvalidInput(what + ": '" + values[i] + "' is longer than " + std::to_string(width) + " bytes");
        }
        std::copy(values[i].begin(), values[i].end(), buffer.begin() + static_cast<std::ptrdiff_t>(i * width));
    }
    return buffer;
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
        const htri_t found = H5Lexists(location, partial.c_str(), H5P_DEFAULT);
        if (found < 0)
            throw failure("cannot look up " + object_path(location, partial));
        if (found == 0)
            return false;
    }
    return true;
}

inline Handle open_group(hid_t location, const std::string& path, bool create) {
    if (exists(location, path)) {
        return checked(H5Gopen2(location, path.c_str(), H5P_DEFAULT), H5Gclose,
                       "cannot open group " + object_path(location, path));
    }
    if (!create)
        throw IoError("group " + object_path(location, path) + " is missing");
    Handle links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(links.get(), 1);
    return checked(H5Gcreate2(location, path.c_str(), links.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                   "cannot create group " + object_path(location, path));
}

// ---- attributes

inline void write_attribute(hid_t object, const std::string& name, const std::string& value) {
    if (H5Aexists(object, name.c_str()) > 0)
        H5Adelete(object, name.c_str());
    Handle type = fixed_string_type(value.size());
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attribute =
        checked(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                "cannot write attribute " + name);
    const std::string text = padded_strings({value}, value.size(), "attribute " + name);
    check(H5Awrite(attribute.get(), type.get(), text.data()), "cannot write attribute " + name);
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
    const htri_t found = H5Aexists(object, name.c_str());
    if (found < 0)
        throw failure("cannot read the attributes of " + object_path(object));
    return found > 0;
}

/// Opens attribute `name` of `object`, checking that it exists and that its stored type is of `type_class`.
inline Handle open_attribute(hid_t object, const std::string& name, H5T_class_t type_class) {
    const std::string what = "attribute '" + name + "' of " + object_path(object);
    if (!has_attribute(object, name))
        throw IoError(what + " is missing");
    Handle attribute = checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose, "cannot open " + what);
    Handle stored = checked(H5Aget_type(attribute.get()), H5Tclose, "cannot read the type of " + what);
    Handle space = checked(H5Aget_space(attribute.get()), H5Sclose, "cannot read the shape of " + what);
    if (H5Tget_class(stored.get()) != type_class || H5Sget_simple_extent_npoints(space.get()) != 1) {
        throw IoError(what + " is not a single " +
                      (type_class == H5T_STRING ? "string" : type_class == H5T_INTEGER ? "integer" : "number"));
    }
    return attribute;
}

inline std::string read_attribute(hid_t object, const std::string& name) {
    Handle attribute = open_attribute(object, name, H5T_STRING);
    Handle type = string_type();
    Handle stored(H5Aget_type(attribute.get()), H5Tclose);
    if (H5Tis_variable_str(stored.get()) > 0) {
        char* text = nullptr;
        check(H5Aread(attribute.get(), type.get(), &text), "cannot read attribute " + name);
        std::string value = text != nullptr ? text : "";
        Handle space(H5Aget_space(attribute.get()), H5Sclose);
        H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, &text);
        return checked_utf8(value, "attribute '" + name + "' of " + object_path(object));
    }
    const std::size_t size = H5Tget_size(stored.get());
    std::string value(size, '\0');
    check(H5Aread(attribute.get(), stored.get(), value.data()), "cannot read attribute " + name);
    value.erase(std::find(value.begin(), value.end(), '\0'), value.end());
    return checked_utf8(value, "attribute '" + name + "' of " + object_path(object));
}

template <typename T>
T read_attribute_number(hid_t object, const std::string& name, hid_t type) {
    Handle attribute = open_attribute(object, name, H5Tget_class(type));
    T value{};
    check(H5Aread(attribute.get(), type, &value), "cannot read attribute " + name);
    return value;
}

// ---- datasets

/// Creation properties of a stored array: chunked (whole rows, about 1 MB a chunk) with HDF5's
/// Fletcher-32 checksum, so that a damaged byte is reported when read, never returned as a value.
/// `max_dims` may hold H5S_UNLIMITED (then `chunk_rows` rows a chunk); an empty array stays contiguous.
/// HDF5 filters no variable-length strings (`checksum` false): their bytes sit in the global heap.
inline Handle array_properties(int rank, const hsize_t* dims, const hsize_t* max_dims = nullptr,
                               hsize_t chunk_rows = 0, bool checksum = true) {
    Handle properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    hsize_t chunk[2] = {1, 1};
    hsize_t row_values = 1;
    for (int d = 0; d < rank; ++d) {
        const bool unlimited = max_dims != nullptr && max_dims[d] == H5S_UNLIMITED;
        if (dims[d] == 0 && !unlimited)
            return properties;  // nothing to protect
        if (d > 0) {
            chunk[d] = dims[d];
            row_values *= dims[d];
        }
    }
    const hsize_t rows_per_megabyte = std::max<hsize_t>(1, (hsize_t{1} << 20) / (8 * row_values));
    chunk[0] = chunk_rows > 0 ? chunk_rows : std::max<hsize_t>(1, std::min(dims[0], rows_per_megabyte));
    check(H5Pset_chunk(properties.get(), rank, chunk), "cannot set the chunk shape");
    if (checksum)
        check(H5Pset_fletcher32(properties.get()), "cannot set the Fletcher-32 checksum");
    return properties;
}

inline void write_matrix(hid_t location, const std::string& name,
                         const Eigen::Ref<const Eigen::MatrixXd>& matrix) {
    const RowMajor rows = matrix;
    const hsize_t dims[2] = {static_cast<hsize_t>(rows.rows()), static_cast<hsize_t>(rows.cols())};
    Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    Handle properties = array_properties(2, dims);
    Handle dataset = checked(H5Dcreate2(location, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                        properties.get(), H5P_DEFAULT),
                             H5Dclose, "cannot create dataset " + name);
    if (rows.size() > 0) {
        check(H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()),
              "cannot write dataset " + name);
    }
}

inline void write_vector(hid_t location, const std::string& name, const double* values, hsize_t count) {
    Handle space(H5Screate_simple(1, &count, nullptr), H5Sclose);
    Handle properties = array_properties(1, &count);
    Handle dataset = checked(H5Dcreate2(location, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                        properties.get(), H5P_DEFAULT),
                             H5Dclose, "cannot create dataset " + name);
    if (count > 0)
        check(H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values),
              "cannot write " + name);
}

inline void write_integers(hid_t location, const std::string& name, const std::vector<std::int64_t>& values) {
    const hsize_t count = values.size();
    Handle space(H5Screate_simple(1, &count, nullptr), H5Sclose);
    Handle properties = array_properties(1, &count);
    Handle dataset = checked(H5Dcreate2(location, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                                        properties.get(), H5P_DEFAULT),
                             H5Dclose, "cannot create dataset " + name);
    if (count > 0)
        check(H5Dwrite(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
              "cannot write " + name);
}

/// A 1D dataset of fixed-length strings, as wide as the longest; `extendable` makes it chunked with an
/// unlimited length and kNameWidth bytes a string.
inline void write_strings(hid_t location, const std::string& name, const std::vector<std::string>& values,
                          bool extendable = false) {
    const hsize_t count = values.size();
    const hsize_t unlimited = H5S_UNLIMITED;
    std::size_t width = extendable ? kNameWidth : 1;
    for (const auto& value : values)
        width = extendable ? width : std::max(width, value.size());
    Handle space(H5Screate_simple(1, &count, extendable ? &unlimited : nullptr), H5Sclose);
    Handle properties = array_properties(1, &count, extendable ? &unlimited : nullptr, extendable ? 256 : 0);
    Handle type = fixed_string_type(width);
    const std::string buffer = padded_strings(values, width, object_path(location, name));
    Handle dataset = checked(H5Dcreate2(location, name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                        properties.get(), H5P_DEFAULT),
                             H5Dclose, "cannot create dataset " + name);
    if (count > 0)
        check(H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
              "cannot write " + name);
}

inline std::vector<hsize_t> dataset_dims(hid_t dataset) {
    Handle space = checked(H5Dget_space(dataset), H5Sclose, "cannot read the shape of " + object_path(dataset));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > 2)
        throw IoError(object_path(dataset) + " has " + std::to_string(rank) + " dimensions, not 1 or 2");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr),
          "cannot read the shape of " + object_path(dataset));
    return dims;
}

/// Opens dataset `name`, checking that it exists and holds values of `type_class`.
inline Handle open_dataset(hid_t location, const std::string& name, H5T_class_t type_class) {
    const std::string what = object_path(location, name);
    if (!exists(location, name))
        throw IoError("dataset " + what + " is missing");
    Handle dataset = checked(H5Dopen2(location, name.c_str(), H5P_DEFAULT), H5Dclose, "cannot open " + what);
    Handle type = checked(H5Dget_type(dataset.get()), H5Tclose, "cannot read the type of " + what);
    if (H5Tget_class(type.get()) != type_class) {
        throw IoError(what + " does not hold " +
                      (type_class == H5T_STRING ? "strings" : type_class == H5T_INTEGER ? "integers" : "numbers"));
    }
    return dataset;
}

inline Handle open_dataset(hid_t location, const std::string& name) {
    const std::string what = object_path(location, name);
    if (!exists(location, name))
        throw IoError("dataset " + what + " is missing");
    return checked(H5Dopen2(location, name.c_str(), H5P_DEFAULT), H5Dclose, "cannot open " + what);
}

inline Eigen::MatrixXd read_matrix(hid_t location, const std::string& name) {
    Handle dataset = open_dataset(location, name, H5T_FLOAT);
    const auto dims = dataset_dims(dataset.get());
    const auto rows = static_cast<Eigen::Index>(dims.empty() ? 0 : dims[0]);
    const auto cols = static_cast<Eigen::Index>(dims.size() < 2 ? 1 : dims[1]);
    RowMajor values(rows, cols);
    if (values.size() > 0) {
        check(H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
              "cannot read " + object_path(location, name));
    }
    return values;
}

inline std::vector<std::int64_t> read_integers(hid_t location, const std::string& name) {
    Handle dataset = open_dataset(location, name, H5T_INTEGER);
    const auto dims = dataset_dims(dataset.get());
    std::vector<std::int64_t> values(dims.empty() ? 0 : dims[0]);
    if (!values.empty()) {
        check(H5Dread(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
              "cannot read " + object_path(location, name));
    }
    return values;
}

inline std::vector<std::string> read_strings(hid_t location, const std::string& name) {
    Handle dataset = open_dataset(location, name, H5T_STRING);
    const auto dims = dataset_dims(dataset.get());
    const std::size_t count = dims.empty() ? 0 : dims[0];
    Handle stored = checked(H5Dget_type(dataset.get()), H5Tclose, "cannot read the type of " + name);
    std::vector<std::string> values;
    if (H5Tis_variable_str(stored.get()) > 0) {  // format 1
        std::vector<char*> pointers(count, nullptr);
        Handle type = string_type();
        if (count > 0) {
            check(H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
                  "cannot read " + object_path(location, name));
        }
        for (char* pointer : pointers)
            values.emplace_back(pointer != nullptr ? pointer : "");
        if (count > 0) {
            Handle space(H5Dget_space(dataset.get()), H5Sclose);
            H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data());
        }
    } else {
        const std::size_t width = H5Tget_size(stored.get());
        std::string buffer(count * width, '\0');
        if (count > 0 && width > 0) {
            check(H5Dread(dataset.get(), stored.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
                  "cannot read " + object_path(location, name));
        }
        for (std::size_t i = 0; i < count; ++i) {
            std::string value = buffer.substr(i * width, width);
            value.erase(std::find(value.begin(), value.end(), '\0'), value.end());
            values.push_back(std::move(value));
        }
    }
    for (const auto& value : values)
        checked_utf8(value, "a string of " + object_path(location, name));
    return values;
}

/// Names of the links directly inside a group.
inline std::vector<std::string> children(hid_t group) {
    std::vector<std::string> names;
    auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
    };
    check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names),
          "cannot list the members of " + object_path(group));
    return names;
}

}  // namespace rewire::hdf5
