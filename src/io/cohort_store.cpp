// CohortStore over the HDF5 C API. HDF5 headers stay in this file (DESIGN.md: no HDF5 in include/).
#include "rewire/io/cohort_store.hpp"

#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "hdf5.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/core/error.hpp"

namespace rewire {
namespace {

using namespace hdf5;  // the helpers of src/io/hdf5.hpp

std::string run_path(const std::string& subject, const std::string& session) {
    return "runs/" + subject + "/" + session;
}

void check_name(const std::string& value, const std::string& what) {
    if (value.empty() || value.find('/') != std::string::npos || value == "." || value == "..") {
        throw InvalidInput(what + " '" + value + "' is not a valid identifier (non-empty, no '/')");
    }
}

constexpr int kFormatVersion = 1;
}  // namespace

struct CohortStore::Impl {
    std::string path;
    Handle file;
    bool writable = false;

    std::string where(const std::string& detail) const { return path + ": " + detail; }

    /// Writes row `row` of an S × E stack, growing it (and its subject list) when row == S.
    void write_edge_row(const std::string& kind, const std::string& session, const std::string& subject,
                        const EdgeVector& edges) {
        const std::string group_path = "edges/" + kind + "/" + session;
        Handle group = open_group(file.get(), group_path, true);
        const hsize_t edge_count = static_cast<hsize_t>(edges.size());
        if (!exists(group.get(), "values")) {
            const hsize_t dims[2] = {0, edge_count};
            const hsize_t max_dims[2] = {H5S_UNLIMITED, edge_count};
            // Square-ish 512 KB chunks: one subject (a row) and one edge (a column) both read few chunks.
            const hsize_t chunk[2] = {32, std::max<hsize_t>(1, std::min<hsize_t>(edge_count, 2048))};
            Handle space(H5Screate_simple(2, dims, max_dims), H5Sclose);
            Handle properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
            H5Pset_chunk(properties.get(), 2, chunk);
            Handle created(H5Dcreate2(group.get(), "values", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                      properties.get(), H5P_DEFAULT),
                           H5Dclose);
            if (!created.valid())
                throw IoError(where("cannot create " + group_path + "/values"));
            write_strings(group.get(), "subjects", {}, true);
        }
        Handle values = open_dataset(group.get(), "values");
        const auto dims = dataset_dims(values.get());
        if (dims[1] != edge_count) {
            throw InvalidInput(where(group_path + " holds " + std::to_string(dims[1]) +
                                     " edges per subject, not " + std::to_string(edge_count)));
        }
        std::vector<std::string> subjects = read_strings(group.get(), "subjects");
        auto found = std::find(subjects.begin(), subjects.end(), subject);
        const hsize_t row = static_cast<hsize_t>(found - subjects.begin());
        if (found == subjects.end()) {
            const hsize_t grown[2] = {row + 1, edge_count};
            check(H5Dset_extent(values.get(), grown), where("cannot grow " + group_path));
        }
        Handle file_space(H5Dget_space(values.get()), H5Sclose);
        const hsize_t start[2] = {row, 0};
        const hsize_t count[2] = {1, edge_count};
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
        Handle memory(H5Screate_simple(2, count, nullptr), H5Sclose);
        check(H5Dwrite(values.get(), H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), H5P_DEFAULT,
                       edges.data()),
              where("cannot write " + group_path));
        if (found == subjects.end()) {
            Handle names = open_dataset(group.get(), "subjects");
            const hsize_t length = row + 1;
            check(H5Dset_extent(names.get(), &length), where("cannot grow subjects of " + group_path));
            Handle name_space(H5Dget_space(names.get()), H5Sclose);
            const hsize_t one = 1;
            H5Sselect_hyperslab(name_space.get(), H5S_SELECT_SET, &row, nullptr, &one, nullptr);
            Handle name_memory(H5Screate_simple(1, &one, nullptr), H5Sclose);
            Handle type = string_type();
            const char* text = subject.c_str();
            check(H5Dwrite(names.get(), type.get(), name_memory.get(), name_space.get(), H5P_DEFAULT, &text),
                  where("cannot write subjects of " + group_path));
        }
    }

    /// What the file says of one run, from one look at its group.
    struct RunState {
        bool committed = false;
        std::string exclusion;  ///< why a committed run is excluded; empty when it is included
        bool included() const { return committed && exclusion.empty(); }
    };

    RunState state(const std::string& subject, const std::string& session) const {
        const std::string group_path = run_path(subject, session);
        RunState result;
        if (!exists(file.get(), group_path))
            return result;
        Handle group = open_group(file.get(), group_path, false);
        result.committed =
            has_attribute(group.get(), "committed") &&
            read_attribute_number<std::int64_t>(group.get(), "committed", H5T_NATIVE_INT64) == 1;
        if (result.committed && has_attribute(group.get(), "excluded")) {
            result.exclusion = read_attribute(group.get(), "excluded");
        }
        return result;
    }

    bool committed(const std::string& subject, const std::string& session) const {
        return state(subject, session).committed;
    }

    /// Committed runs, sorted, excluded ones included (with their reasons).
    std::vector<ExcludedRun> committed_runs() const {
        std::vector<ExcludedRun> result;
        if (!exists(file.get(), "runs"))
            return result;
        Handle runs = open_group(file.get(), "runs", false);
        for (const auto& subject : children(runs.get())) {
            Handle subject_group = open_group(runs.get(), subject, false);
            for (const auto& session : children(subject_group.get())) {
                RunState run = state(subject, session);
                if (run.committed)
                    result.push_back({subject, session, std::move(run.exclusion)});
            }
        }
        std::sort(result.begin(), result.end(), [](const ExcludedRun& a, const ExcludedRun& b) {
            return std::tie(a.subject, a.session) < std::tie(b.subject, b.session);
        });
        return result;
    }
};

CohortStore::CohortStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CohortStore::CohortStore(CohortStore&&) noexcept = default;
CohortStore& CohortStore::operator=(CohortStore&&) noexcept = default;
CohortStore::~CohortStore() = default;

const std::string& CohortStore::path() const {
    return self().path;
}

CohortStore::Impl& CohortStore::self() const {
    if (!impl_)
        throw InvalidInput("cohort store is closed");
    return *impl_;
}

void CohortStore::close() {
    impl_.reset();
}

std::unique_ptr<CohortStore::Impl> CohortStore::open_impl(const std::string& path, bool writable) {
    QuietErrors quiet;
    if (!std::filesystem::exists(path))
        throw IoError(path + ": no such cohort store");
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        throw IoError(path + ": not an HDF5 file (corrupt or not a rewire cohort store)");
    }
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->writable = writable;
    // Readers take no file lock, so that a study can be read while `rewire run` adds to it (and a notebook
    // holding the store open never blocks the writer); a reader sees the runs committed when it opened
    // the file. Writers lock the file, so two never write at once.
    Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!writable)
        H5Pset_file_locking(access.get(), false, true);
    impl->file =
        Handle(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, access.get()), H5Fclose);
    if (!impl->file.valid()) {
        throw IoError(path + (writable
                                  ? ": cannot open the HDF5 file for writing (corrupt, or another process is "
                                    "writing it)"
                                  : ": cannot open the HDF5 file (corrupt or truncated)"));
    }
    if (!has_attribute(impl->file.get(), "format") ||
        read_attribute(impl->file.get(), "format") != "rewire-cohort") {
        throw InvalidInput(path + ": not a rewire cohort store (no format attribute 'rewire-cohort')");
    }
    const auto stored_version =
        read_attribute_number<std::int64_t>(impl->file.get(), "format_version", H5T_NATIVE_INT64);
    if (stored_version > kFormatVersion) {
        throw InvalidInput(path + ": store format version " + std::to_string(stored_version) +
                           " is newer than this rewire reads (" + std::to_string(kFormatVersion) +
                           "); upgrade rewire");
    }
    return impl;
}

CohortStore CohortStore::open(const std::string& path) {
    return CohortStore(open_impl(path, false));
}

CohortStore CohortStore::open_for_writing(const std::string& path, const StoreHeader& header,
                                          const std::string& command_line) {
    if (header.values.size() != header.names.size() || header.values.empty()) {
        throw InvalidInput(path + ": store header needs one name per region value, and at least one region");
    }
    if (header.coordinates.size() > 0 &&
        (header.coordinates.rows() != static_cast<Eigen::Index>(header.values.size()) ||
         header.coordinates.cols() != 3)) {
        throw InvalidInput(path + ": node coordinates must be N × 3");
    }
    QuietErrors quiet;
    std::unique_ptr<Impl> impl;
    std::string created;  // temporary name of a new store, until it is moved into place
    if (std::filesystem::exists(path)) {
        impl = open_impl(path, true);
        CohortStore existing(std::move(impl));
        const StoreHeader stored = existing.header();
        std::string difference;
        if (stored.atlas_checksum != header.atlas_checksum)
            difference = "atlas (" + stored.atlas + " vs " + header.atlas + ")";
        else if (stored.values != header.values)
            difference = "region labels";
        else if (stored.options != header.options)
            difference = "options (stored " + stored.options + ", requested " + header.options + ")";
        if (!difference.empty()) {
            throw InvalidInput(path + ": this store was made with other " + difference +
                               "; results made with different settings are never mixed: write to a new file, "
                               "or remove this one to start over");
        }
        impl = std::move(existing.impl_);
        // Remove runs an interrupted writer left uncommitted.
        if (exists(impl->file.get(), "runs")) {
            Handle runs = open_group(impl->file.get(), "runs", false);
            for (const auto& subject : children(runs.get())) {
                Handle subject_group = open_group(runs.get(), subject, false);
                for (const auto& session : children(subject_group.get())) {
                    if (!impl->committed(subject, session))
                        H5Ldelete(subject_group.get(), session.c_str(), H5P_DEFAULT);
                }
            }
        }
    } else {
        const std::filesystem::path parent = std::filesystem::path(path).parent_path();
        if (!parent.empty() && !std::filesystem::exists(parent)) {
            throw IoError(path + ": folder " + parent.string() + " does not exist");
        }
        impl = std::make_unique<Impl>();
        impl->path = path;
        impl->writable = true;
        // Created under a temporary name and moved into place once the header is written and flushed, so
        // a writer killed here never leaves a file at `path` that is not a store.
        created = path + ".part";
        std::filesystem::remove(created);
        impl->file = Handle(H5Fcreate(created.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
        if (!impl->file.valid())
            throw IoError(path + ": cannot create the HDF5 file");
        const hid_t root = impl->file.get();
        write_attribute(root, "format", "rewire-cohort");
        write_attribute_number<std::int64_t>(root, "format_version", kFormatVersion, H5T_STD_I64LE);
        write_attribute(root, "atlas", header.atlas);
        write_attribute(root, "atlas_checksum", header.atlas_checksum);
        write_attribute(root, "options", header.options);
        write_attribute(root, "edge_order", kEdgeOrder);
        Handle nodes = open_group(root, "nodes", true);
        write_integers(nodes.get(), "values", header.values);
        write_strings(nodes.get(), "names", header.names);
        Eigen::MatrixXd coordinates = header.coordinates;
        if (coordinates.size() == 0) {
            coordinates = Eigen::MatrixXd::Constant(static_cast<Eigen::Index>(header.values.size()), 3,
                                                    std::numeric_limits<double>::quiet_NaN());
        }
        write_matrix(nodes.get(), "coordinates", coordinates);
    }
    write_provenance(impl->file.get());
    write_attribute(impl->file.get(), "command_line", command_line);
    check(H5Fflush(impl->file.get(), H5F_SCOPE_GLOBAL), path + ": cannot flush");
    if (!created.empty()) {
        std::error_code error;
        std::filesystem::rename(created, path, error);  // the open file keeps working under its new name
        if (error)
            throw IoError(path + ": cannot move the new store into place: " + error.message());
    }
    return CohortStore(std::move(impl));
}

StoreHeader CohortStore::header() const {
    QuietErrors quiet;
    const hid_t root = self().file.get();
    StoreHeader header;
    header.atlas = read_attribute(root, "atlas");
    header.atlas_checksum = read_attribute(root, "atlas_checksum");
    header.options = read_attribute(root, "options");
    Handle nodes = open_group(root, "nodes", false);
    header.values = read_integers(nodes.get(), "values");
    header.names = read_strings(nodes.get(), "names");
    header.coordinates = read_matrix(nodes.get(), "coordinates");
    return header;
}

std::vector<std::pair<std::string, std::string>> CohortStore::runs() const {
    QuietErrors quiet;
    std::vector<std::pair<std::string, std::string>> result;
    for (auto& run : self().committed_runs()) {
        if (run.reason.empty())
            result.emplace_back(std::move(run.subject), std::move(run.session));
    }
    return result;
}

std::vector<ExcludedRun> CohortStore::excluded_runs() const {
    QuietErrors quiet;
    std::vector<ExcludedRun> result = self().committed_runs();
    result.erase(
        std::remove_if(result.begin(), result.end(), [](const ExcludedRun& r) { return r.reason.empty(); }),
        result.end());
    return result;
}

std::optional<RunQc> CohortStore::qc(const std::string& subject, const std::string& session) const {
    QuietErrors quiet;
    if (!self().committed(subject, session))
        return std::nullopt;
    Handle group = open_group(self().file.get(), run_path(subject, session), false);
    RunQc qc;
    qc.mean_fd = read_attribute_number<double>(group.get(), "mean_fd", H5T_NATIVE_DOUBLE);
    qc.frames_total = read_attribute_number<std::int64_t>(group.get(), "frames_total", H5T_NATIVE_INT64);
    qc.frames_censored =
        read_attribute_number<std::int64_t>(group.get(), "frames_censored", H5T_NATIVE_INT64);
    return qc;
}

void CohortStore::set_exclusion(const std::string& subject, const std::string& session,
                                const std::string& reason) {
    if (!self().writable)
        throw InvalidInput(self().path + ": store is open read-only");
    QuietErrors quiet;
    if (!self().committed(subject, session)) {
        throw InvalidInput(self().where("no committed run for subject " + subject + ", session " + session));
    }
    Handle group = open_group(self().file.get(), run_path(subject, session), false);
    if (reason.empty()) {
        if (has_attribute(group.get(), "excluded")) {
            check(H5Adelete(group.get(), "excluded"),
                  self().where("cannot include " + subject + "/" + session));
        }
    } else {
        write_attribute(group.get(), "excluded", reason);
    }
    check(H5Fflush(self().file.get(), H5F_SCOPE_GLOBAL), self().where("cannot flush"));
}

std::optional<std::string> CohortStore::fingerprint(const std::string& subject,
                                                    const std::string& session) const {
    QuietErrors quiet;
    if (!self().committed(subject, session))
        return std::nullopt;
    Handle group = open_group(self().file.get(), run_path(subject, session), false);
    return read_attribute(group.get(), "fingerprint");
}

void CohortStore::commit(const RunRecord& run) {
    if (!self().writable)
        throw InvalidInput(self().path + ": store is open read-only");
    check_name(run.subject, "subject");
    check_name(run.session, "session");
    const Eigen::Index n = static_cast<Eigen::Index>(header().values.size());
    if (run.timeseries.cols() != n || run.coverage.size() != n) {
        throw InvalidInput(self().where("run " + run.subject + "/" + run.session + " has " +
                                        std::to_string(run.timeseries.cols()) + " regions, the store " +
                                        std::to_string(n)));
    }
    for (const auto& [kind, matrix] : run.measures) {
        check_name(kind, "measure");
        if (matrix.rows() != n || matrix.cols() != n) {
            throw InvalidInput(self().where("measure " + kind + " of " + run.subject + "/" + run.session +
                                            " is not " + std::to_string(n) + " × " + std::to_string(n)));
        }
    }
    QuietErrors quiet;
    const hid_t root = self().file.get();
    const std::string group_path = run_path(run.subject, run.session);
    if (exists(root, group_path)) {
        check(H5Ldelete(root, group_path.c_str(), H5P_DEFAULT), self().where("cannot replace " + group_path));
    }
    {
        Handle group = open_group(root, group_path, true);
        write_matrix(group.get(), "timeseries", run.timeseries);
        write_integers(group.get(), "sample_mask", run.sample_mask);
        write_vector(group.get(), "coverage", run.coverage.data(), static_cast<hsize_t>(run.coverage.size()));
        Handle measures = open_group(group.get(), "connectivity", true);
        for (const auto& [kind, matrix] : run.measures)
            write_matrix(measures.get(), kind, matrix);
        write_attribute(group.get(), "subject", run.subject);
        write_attribute(group.get(), "session", run.session);
        write_attribute(group.get(), "fingerprint", run.fingerprint);
        write_attribute(group.get(), "inputs", run.inputs);
        write_attribute(group.get(), "checksums", run.checksums);
        write_provenance(group.get());  // runs of one store may come from different machines
        write_attribute_number(group.get(), "tr", run.tr, H5T_IEEE_F64LE);
        write_attribute_number(group.get(), "mean_fd", run.mean_fd, H5T_IEEE_F64LE);
        write_attribute_number(group.get(), "mean_dvars", run.mean_dvars, H5T_IEEE_F64LE);
        write_attribute_number<std::int64_t>(group.get(), "frames_total", run.frames_total, H5T_STD_I64LE);
        write_attribute_number<std::int64_t>(group.get(), "frames_censored", run.frames_censored,
                                             H5T_STD_I64LE);
    }
    for (const auto& [kind, matrix] : run.measures) {
        self().write_edge_row(kind, run.session, run.subject, edge_vector(matrix));
    }
    // The run becomes visible only now: a crash before this line leaves it uncommitted.
    Handle group = open_group(root, group_path, false);
    write_attribute_number<std::int64_t>(group.get(), "committed", 1, H5T_STD_I64LE);
    check(H5Fflush(root, H5F_SCOPE_GLOBAL), self().where("cannot flush"));
}

RunRecord CohortStore::read_run(const std::string& subject, const std::string& session) const {
    QuietErrors quiet;
    if (!self().committed(subject, session)) {
        throw InvalidInput(self().where("no committed run for subject " + subject + ", session " + session));
    }
    Handle group = open_group(self().file.get(), run_path(subject, session), false);
    RunRecord run;
    run.subject = subject;
    run.session = session;
    run.fingerprint = read_attribute(group.get(), "fingerprint");
    run.inputs = read_attribute(group.get(), "inputs");
    run.checksums = read_attribute(group.get(), "checksums");
    run.timeseries = read_matrix(group.get(), "timeseries");
    run.sample_mask = read_integers(group.get(), "sample_mask");
    run.coverage = read_matrix(group.get(), "coverage");
    run.tr = read_attribute_number<double>(group.get(), "tr", H5T_NATIVE_DOUBLE);
    run.mean_fd = read_attribute_number<double>(group.get(), "mean_fd", H5T_NATIVE_DOUBLE);
    run.mean_dvars = read_attribute_number<double>(group.get(), "mean_dvars", H5T_NATIVE_DOUBLE);
    run.frames_total = read_attribute_number<std::int64_t>(group.get(), "frames_total", H5T_NATIVE_INT64);
    run.frames_censored =
        read_attribute_number<std::int64_t>(group.get(), "frames_censored", H5T_NATIVE_INT64);
    Handle measures = open_group(group.get(), "connectivity", false);
    for (const auto& kind : children(measures.get()))
        run.measures[kind] = read_matrix(measures.get(), kind);
    return run;
}

EdgeStack CohortStore::edges(const std::string& kind, const std::string& session) const {
    QuietErrors quiet;
    const std::string group_path = "edges/" + kind + "/" + session;
    if (!exists(self().file.get(), group_path)) {
        throw InvalidInput(
            self().where("no " + kind + " edges for session " + session + " (measures: " + [&] {
                std::string s;
                for (const auto& k : kinds())
                    s += (s.empty() ? "" : ", ") + k;
                return s;
            }() + ")"));
    }
    Handle group = open_group(self().file.get(), group_path, false);
    const std::vector<std::string> subjects = read_strings(group.get(), "subjects");
    const Eigen::MatrixXd all = read_matrix(group.get(), "values");
    // Rows of runs that were never committed (an interrupted writer) or are excluded are not results.
    EdgeStack stack;
    std::vector<Eigen::Index> keep;
    for (std::size_t s = 0; s < subjects.size() && static_cast<Eigen::Index>(s) < all.rows(); ++s) {
        if (self().state(subjects[s], session).included()) {
            keep.push_back(static_cast<Eigen::Index>(s));
            stack.subjects.push_back(subjects[s]);
        }
    }
    stack.values.resize(static_cast<Eigen::Index>(keep.size()), all.cols());
    for (std::size_t r = 0; r < keep.size(); ++r)
        stack.values.row(static_cast<Eigen::Index>(r)) = all.row(keep[r]);
    return stack;
}

std::vector<std::string> CohortStore::kinds() const {
    QuietErrors quiet;
    if (!exists(self().file.get(), "edges"))
        return {};
    Handle edges = open_group(self().file.get(), "edges", false);
    return children(edges.get());
}

void CohortStore::set_text(const std::string& name, const std::string& value) {
    if (!self().writable)
        throw InvalidInput(self().path + ": store is open read-only");
    QuietErrors quiet;
    write_attribute(self().file.get(), name, value);
    check(H5Fflush(self().file.get(), H5F_SCOPE_GLOBAL), self().where("cannot flush"));
}

std::optional<std::string> CohortStore::text(const std::string& name) const {
    QuietErrors quiet;
    if (!has_attribute(self().file.get(), name))
        return std::nullopt;
    return read_attribute(self().file.get(), name);
}

}  // namespace rewire
