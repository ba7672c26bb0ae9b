// Edge files and result files: small HDF5 files written whole (deltas, statistics results).
#include "rewire/io/result_files.hpp"

#include <hdf5.h>

#include <filesystem>
#include <functional>

#include "hdf5.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/atomic_file.hpp"

namespace rewire {

using namespace hdf5;  // the helpers of src/io/hdf5.hpp

namespace {

/// Creates `path` through `write(file)` on a new HDF5 file under a temporary name, moved into place only
/// when complete (write_atomically).
void write_hdf5_atomically(const std::string& path, const std::function<void(hid_t)>& write) {
    write_atomically(path, [&](const std::string& temporary) {
        QuietErrors quiet;
        const hid_t file = H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (file < 0)
            throw IoError(path + ": cannot create the HDF5 file");
        try {
            write(file);
        } catch (...) {
            H5Fclose(file);
            throw;
        }
        if (H5Fclose(file) < 0)  // closing flushes: a full disk shows here
            throw IoError(path + ": cannot finish writing the HDF5 file");
    });
}

}  // namespace

void write_edge_file(const std::string& path, const EdgeStack& stack,
                     const std::vector<std::string>& node_names,
                     const std::map<std::string, std::string>& attributes) {
    const auto n = static_cast<std::int64_t>(node_names.size());
    if (stack.values.rows() != static_cast<Eigen::Index>(stack.subjects.size()) ||
        stack.values.cols() != edge_count(n)) {
        throw InvalidInput(path + ": expected " + std::to_string(stack.subjects.size()) + " × " +
                           std::to_string(edge_count(n)) + " values for " + std::to_string(n) + " nodes");
    }
    write_hdf5_atomically(path, [&](hid_t file) {
        write_matrix(file, "values", stack.values);
        write_strings(file, "subjects", stack.subjects);
        Handle nodes = open_group(file, "nodes", true);
        write_strings(nodes.get(), "names", node_names);
        write_attribute(file, "edge_order", kEdgeOrder);
        write_provenance(file);
        for (const auto& [name, value] : attributes)
            write_attribute(file, name, value);
    });
}

void write_result_file(const std::string& path, const ResultFile& contents) {
    write_hdf5_atomically(path, [&](hid_t file) {
        for (const auto& [name, values] : contents.vectors) {
            write_vector(file, name, values.data(), static_cast<hsize_t>(values.size()));
        }
        for (const auto& [name, values] : contents.integers)
            write_integers(file, name, values);
        for (const auto& [name, values] : contents.strings)
            write_strings(file, name, values);
        for (const auto& [name, value] : contents.numbers)
            write_attribute_number(file, name, value, H5T_IEEE_F64LE);
        write_provenance(file);
        for (const auto& [name, value] : contents.texts)
            write_attribute(file, name, value);
    });
}

EdgeFile read_edge_file(const std::string& path) {
    QuietErrors quiet;
    if (!std::filesystem::exists(path))
        throw IoError(path + ": no such file");
    if (H5Fis_hdf5(path.c_str()) <= 0)
        throw IoError(path + ": not an HDF5 file (corrupt or truncated)");
    Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!file.valid())
        throw IoError(path + ": cannot open the HDF5 file");
    const hid_t root = file.get();
    if (!exists(root, "values") || !exists(root, "subjects") || !exists(root, "nodes/names")) {
        throw InvalidInput(path +
                           ": not a rewire edge file (expected /values, /subjects and /nodes/names, as "
                           "`rewire delta -o FILE.h5` writes)");
    }
    EdgeFile result;
    try {
        result.stack.values = read_matrix(root, "values");
        result.stack.subjects = read_strings(root, "subjects");
        Handle nodes = open_group(root, "nodes", false);
        result.node_names = read_strings(nodes.get(), "names");
        std::vector<std::string> names;
        auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
            static_cast<std::vector<std::string>*>(data)->emplace_back(name);
            return 0;
        };
        H5Aiterate2(root, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names);
        for (const auto& name : names) {
            Handle attribute(H5Aopen(root, name.c_str(), H5P_DEFAULT), H5Aclose);
            Handle type(H5Aget_type(attribute.get()), H5Tclose);
            if (H5Tget_class(type.get()) == H5T_STRING)
                result.attributes[name] = read_attribute(root, name);
        }
    } catch (const Error& e) {
        throw InvalidInput(path + ": " + e.what());
    }
    const auto n = static_cast<std::int64_t>(result.node_names.size());
    if (result.stack.values.rows() != static_cast<Eigen::Index>(result.stack.subjects.size()) ||
        result.stack.values.cols() != edge_count(n)) {
        throw InvalidInput(path + ": /values is " + std::to_string(result.stack.values.rows()) + " × " +
                           std::to_string(result.stack.values.cols()) + " but there are " +
                           std::to_string(result.stack.subjects.size()) + " subjects and " +
                           std::to_string(n) + " nodes (" + std::to_string(edge_count(n)) + " edges)");
    }
    return result;
}

}  // namespace rewire
