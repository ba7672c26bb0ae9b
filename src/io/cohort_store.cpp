// CohortStore over the HDF5 C API. HDF5 headers stay in this file (DESIGN.md: no HDF5 in include/).
#include "rewire/io/cohort_store.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
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
    if (value.empty() || value.find('/') != std::string::npos || value == "." || value == ".." ||
        value.size() > kNameWidth) {
        throw InvalidInput(what + " '" + value + "' is not a valid identifier (non-empty, no '/', at most " +
                           std::to_string(kNameWidth) + " bytes)");
    }
}

/// 2: every array chunked with a Fletcher-32 checksum, metadata in HDF5's checksummed (1.8) format.
constexpr int kFormatVersion = 2;
/// Format 1 (rewire before format 2) is still read; it has no checksums, so damage goes unnoticed there.
constexpr int kOldestFormatVersion = 1;

/// What a reader is told when the store's bytes are not what rewire wrote.
std::string damage_hint(const std::string& path) {
    return "the store is damaged: `rewire check " + path + "` lists the runs that are intact";
}

/// Disk claimed for a write that adds only metadata (a QC mark, a text attribute, a header): HDF5 object
/// header messages, a global heap collection and the superblock take a few KB; 256 KB is ample.
constexpr std::uint64_t kMetadataBytes = 256 << 10;

/// Edge-table chunk shape: 32 subjects (rows) by up to 2048 edges, about 512 KB, so that a subject's row
/// and an edge's column both read few chunks.
constexpr hsize_t kEdgeChunkRows = 32;
constexpr hsize_t kEdgeChunkColumns = 2048;

/// Bytes a commit may add to the file, generously: its arrays, the new chunk rows of the edge tables it
/// grows (`edge_rows_started`), and HDF5's metadata (object headers, B-tree nodes, heaps).
std::uint64_t commit_bytes(const RunRecord& run, std::size_t edge_rows_started) {
    const std::uint64_t n = static_cast<std::uint64_t>(run.coverage.size());
    const std::uint64_t edges = n * (n - 1) / 2;
    const std::uint64_t text = run.fingerprint.size() + run.inputs.size() + run.checksums.size();
    const std::uint64_t arrays = 8 * (static_cast<std::uint64_t>(run.timeseries.size()) + run.sample_mask.size() +
                                      n + run.measures.size() * n * n);
    const std::uint64_t chunk_columns = std::min<std::uint64_t>(std::max<std::uint64_t>(edges, 1), kEdgeChunkColumns);
    const std::uint64_t chunk_row = kEdgeChunkRows * 8 * chunk_columns * ((edges + chunk_columns - 1) / chunk_columns);
    const std::uint64_t objects = 8 + 2 * run.measures.size();
    return arrays + arrays / 4 + edge_rows_started * (chunk_row + (64 << 10)) + 2 * text + 2 * kMetadataBytes +
           objects * (16 << 10);
}

/// Removes NAME.part-<pid> files that creators which no longer run left behind (a killed `rewire run`);
/// a live creator's file is never touched.
void remove_abandoned_parts(const std::string& path) {
    const std::filesystem::path target(path);
    const std::filesystem::path folder = target.parent_path().empty() ? "." : target.parent_path();
    const std::string prefix = target.filename().string() + ".part-";
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0)
            continue;
        const std::string digits = name.substr(prefix.size());
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9)
            continue;
        const pid_t owner = static_cast<pid_t>(std::stol(digits));
        if (owner == ::getpid() || (::kill(owner, 0) != 0 && errno == ESRCH))
            std::filesystem::remove(entry.path(), error);
    }
}
}  // namespace

struct CohortStore::Impl {
    std::string path;
    std::string open_name;  ///< the name the file was opened under (NAME.part-<pid> while creating)
    Handle file;
    bool writable = false;
    std::int64_t format_version = kFormatVersion;

    std::string where(const std::string& detail) const { return path + ": " + detail; }

    /// Claims `bytes` of disk beyond the file's end before a write, so that a full disk (or a file-size
    /// limit) stops the write here, before HDF5 has changed anything: HDF5 updates its metadata in place
    /// and has no journal, so a flush that fails half-way would leave a file it cannot open.
    void reserve(std::uint64_t bytes, const std::string& what) {
        void* handle = nullptr;
        check(H5Fget_vfd_handle(file.get(), H5P_DEFAULT, &handle), where("cannot reach the file"));
        hsize_t size = 0;
        check(H5Fget_filesize(file.get(), &size), where("cannot read the file size"));
        const int error =
            ::posix_fallocate(*static_cast<int*>(handle), static_cast<off_t>(size), static_cast<off_t>(bytes));
        if (error != 0 && error != EOPNOTSUPP) {
            char needed[32];
            std::snprintf(needed, sizeof needed, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
            throw IoError(where("no room to " + what + " (" + needed + " reserved for it): " + std::strerror(error) +
                                "; nothing was written, every run committed before stays readable: free space "
                                "and run again to resume"));
        }
    }

    /// After a failed write HDF5's cache holds metadata the disk did not take, and closing would write
    /// some of it over the last consistent state. The file's descriptor is pointed at an anonymous
    /// in-memory file first, so that closing writes there: nothing more reaches the store, and the close
    /// succeeds (a failed H5Fclose leaves a half-closed file that crashes HDF5 at exit). The store stays
    /// as the last commit left it.
    void abandon() noexcept {
        void* handle = nullptr;
        if (file.valid() && H5Fget_vfd_handle(file.get(), H5P_DEFAULT, &handle) >= 0 && handle != nullptr) {
            int scratch = ::memfd_create("rewire-abandoned-store", MFD_CLOEXEC);
            if (scratch < 0)
                scratch = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            if (scratch >= 0) {
                ::dup2(scratch, *static_cast<int*>(handle));
                ::close(scratch);
            }
        }
        file.reset();
        H5Eclear2(H5E_DEFAULT);
    }

    /// Reserves `bytes` for `write`, then runs it; when it fails the store is abandoned (closed, nothing
    /// more written) and the error says that the committed runs are intact.
    template <typename Write>
    void writing(const std::string& what, std::uint64_t bytes, Write&& write) {
        reserve(bytes, what);  // a full disk stops here, before anything is written
        try {
            write();
        } catch (Error& error) {
            abandon();
            error.add_context(where("cannot " + what));
            throw IoError(std::string(error.what()) +
                          "; the store was closed without writing more: every run committed before stays "
                          "readable; run again to resume");
        }
    }

    /// Writes row `row` of an S × E stack, growing it (and its subject list) when row == S.
    void write_edge_row(const std::string& kind, const std::string& session, const std::string& subject,
                        const EdgeVector& edges) {
        const std::string group_path = "edges/" + kind + "/" + session;
        Handle group = open_group(file.get(), group_path, true);
        const hsize_t edge_count = static_cast<hsize_t>(edges.size());
        if (!exists(group.get(), "values")) {
            const hsize_t dims[2] = {0, edge_count};
            const hsize_t max_dims[2] = {H5S_UNLIMITED, edge_count};
            const hsize_t chunk[2] = {kEdgeChunkRows,
                                      std::max<hsize_t>(1, std::min<hsize_t>(edge_count, kEdgeChunkColumns))};
            Handle space(H5Screate_simple(2, dims, max_dims), H5Sclose);
            Handle properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
            check(H5Pset_chunk(properties.get(), 2, chunk), where("cannot set the chunk shape"));
            check(H5Pset_fletcher32(properties.get()), where("cannot set the Fletcher-32 checksum"));
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
            Handle stored(H5Dget_type(names.get()), H5Tclose);
            if (H5Tis_variable_str(stored.get()) > 0) {  // a format-1 table
                Handle type = string_type();
                const char* text = subject.c_str();
                check(H5Dwrite(names.get(), type.get(), name_memory.get(), name_space.get(), H5P_DEFAULT, &text),
                      where("cannot write subjects of " + group_path));
            } else {
                const std::string text = padded_strings({subject}, H5Tget_size(stored.get()), "subject");
                check(H5Dwrite(names.get(), stored.get(), name_memory.get(), name_space.get(), H5P_DEFAULT,
                               text.data()),
                      where("cannot write subjects of " + group_path));
            }
        }
    }

    void write_header(const StoreHeader& header) {
        const hid_t root = file.get();
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

    /// Who wrote last, then a flush: the end of every opening for writing.
    void write_provenance(const std::string& command_line) {
        hdf5::write_provenance(file.get());
        write_attribute(file.get(), "command_line", command_line);
        check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "cannot flush");
    }

    StoreHeader read_header() const {
        const hid_t root = file.get();
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

    /// Checks the parts every reader relies on before anything else is read: the header's attributes
    /// and node tables (types and shapes), and that /runs and /edges, when present, are groups.
    void validate_layout() const {
        const StoreHeader header = read_header();
        const std::size_t n = header.values.size();
        if (n == 0 || header.names.size() != n || header.coordinates.rows() != static_cast<Eigen::Index>(n) ||
            header.coordinates.cols() != 3) {
            throw IoError("/nodes: " + std::to_string(n) + " values, " + std::to_string(header.names.size()) +
                          " names and " + std::to_string(header.coordinates.rows()) + " × " +
                          std::to_string(header.coordinates.cols()) + " coordinates do not match");
        }
        for (const char* name : {"runs", "edges"}) {
            if (exists(file.get(), name))
                open_group(file.get(), name, false);
        }
    }

    RunRecord read_run(const std::string& subject, const std::string& session) const {
        if (!committed(subject, session))
            throw InvalidInput(where("no committed run for subject " + subject + ", session " + session));
        Handle group = open_group(file.get(), run_path(subject, session), false);
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
        const auto n = static_cast<Eigen::Index>(run.coverage.size());
        if (run.timeseries.cols() != n)
            throw IoError(object_path(group.get()) + ": timeseries and coverage disagree on the regions");
        return run;
    }

    /// One subject's row of /edges/<kind>/<session>/values (read alone, so that only its chunks are
    /// checked).
    EdgeVector read_edge_row(const std::string& kind, const std::string& session,
                             const std::string& subject) const {
        Handle group = open_group(file.get(), "edges/" + kind + "/" + session, false);
        const std::vector<std::string> subjects = read_strings(group.get(), "subjects");
        const auto found = std::find(subjects.begin(), subjects.end(), subject);
        if (found == subjects.end())
            throw IoError(object_path(group.get(), "subjects") + " does not list " + subject);
        Handle values = open_dataset(group.get(), "values", H5T_FLOAT);
        const auto dims = dataset_dims(values.get());
        const hsize_t row = static_cast<hsize_t>(found - subjects.begin());
        if (dims.size() != 2 || row >= dims[0])
            throw IoError(object_path(values.get()) + " has no row for " + subject);
        Handle file_space(H5Dget_space(values.get()), H5Sclose);
        const hsize_t start[2] = {row, 0};
        const hsize_t count[2] = {1, dims[1]};
        check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
              "cannot select a row of " + object_path(values.get()));
        Handle memory(H5Screate_simple(2, count, nullptr), H5Sclose);
        EdgeVector edges(static_cast<Eigen::Index>(dims[1]));
        check(H5Dread(values.get(), H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), H5P_DEFAULT, edges.data()),
              "cannot read row " + subject + " of " + object_path(values.get()));
        return edges;
    }

    /// How many of `run`'s edge tables start a new chunk row (32 subjects) when it is committed.
    std::size_t edge_rows_started(const RunRecord& run) const {
        std::size_t started = 0;
        for (const auto& entry : run.measures) {
            const std::string group_path = "edges/" + entry.first + "/" + run.session;
            if (!exists(file.get(), group_path + "/values")) {
                ++started;
                continue;
            }
            Handle group = open_group(file.get(), group_path, false);
            Handle values = open_dataset(group.get(), "values");
            const auto dims = dataset_dims(values.get());
            if (dims.empty() || dims[0] % kEdgeChunkRows == 0)
                ++started;
        }
        return started;
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
    if (!impl_ || !impl_->file.valid())
        throw InvalidInput("cohort store is closed");
    return *impl_;
}

namespace {
/// Runs a reading `body` with HDF5's error printing off; an error that does not name the store yet gets
/// its path in front and, for damaged bytes (IoError), a pointer to `rewire check`.
template <typename Body>
auto reading(const std::string& path, Body&& body) -> decltype(body()) {
    QuietErrors quiet;
    try {
        return body();
    } catch (IoError& error) {
        const std::string message = error.what();
        if (message.rfind(path, 0) != 0)
            error.add_context(path);
        if (message.find("rewire check") == std::string::npos && message.find("no room") == std::string::npos)
            throw IoError(std::string(error.what()) + "; " + damage_hint(path));
        throw;
    } catch (Error& error) {
        if (std::string(error.what()).rfind(path, 0) != 0)
            error.add_context(path);
        throw;
    }
}
}  // namespace

void CohortStore::close() {
    impl_.reset();
}

std::unique_ptr<CohortStore::Impl> CohortStore::open_impl(const std::string& path, bool writable) {
    QuietErrors quiet;
    if (!std::filesystem::exists(path))
        throw IoError(path + ": no such cohort store");
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw IoError(path + ": not an HDF5 file (corrupt or not a rewire cohort store)");
    }
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->open_name = path;
    impl->writable = writable;
    // Readers take no file lock, so that a study can be read while `rewire run` adds to it (and a notebook
    // holding the store open never blocks the writer); a reader sees the runs committed when it opened
    // the file. Writers lock the file, so two never write at once.
    Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!writable)
        H5Pset_file_locking(access.get(), false, true);
    else  // objects a writer adds use the checksummed format
        check(H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST),
              path + ": cannot choose the checksummed file format");
    impl->file =
        Handle(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, access.get()), H5Fclose);
    if (!impl->file.valid()) {
        const std::string reason = library_reason();
        throw IoError(path +
                      (writable ? ": cannot open the HDF5 file for writing (corrupt, or another process is "
                                  "writing it)"
                                : ": cannot open the HDF5 file (corrupt or truncated)") +
                      (reason.empty() ? "" : ": " + reason));
    }
    try {
        const hid_t root = impl->file.get();
        if (!has_attribute(root, "format") || read_attribute(root, "format") != "rewire-cohort")
            throw InvalidInput(path + ": not a rewire cohort store (no format attribute 'rewire-cohort')");
        impl->format_version = read_attribute_number<std::int64_t>(root, "format_version", H5T_NATIVE_INT64);
        if (impl->format_version > kFormatVersion) {
            throw InvalidInput(path + ": store format version " + std::to_string(impl->format_version) +
                               " is newer than this rewire reads (" + std::to_string(kFormatVersion) +
                               "); upgrade rewire");
        }
        if (impl->format_version < kOldestFormatVersion) {
            throw InvalidInput(path + ": store format version " + std::to_string(impl->format_version) +
                               " was made by an older rewire that this one no longer reads");
        }
        impl->validate_layout();
    } catch (Error& error) {  // the header itself is damaged: rewire check could not list runs either
        if (std::string(error.what()).rfind(path, 0) != 0)
            error.add_context(path);
        throw;
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
    if (std::filesystem::exists(path)) {
        CohortStore existing(open_impl(path, true));
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
        Impl& impl = existing.self();
        impl.writing("resume", kMetadataBytes, [&] {
            // Remove runs an interrupted writer left uncommitted.
            if (exists(impl.file.get(), "runs")) {
                Handle runs = open_group(impl.file.get(), "runs", false);
                for (const auto& subject : children(runs.get())) {
                    Handle subject_group = open_group(runs.get(), subject, false);
                    for (const auto& session : children(subject_group.get())) {
                        if (!impl.committed(subject, session))
                            check(H5Ldelete(subject_group.get(), session.c_str(), H5P_DEFAULT),
                                  "cannot remove the unfinished run " + subject + "/" + session);
                    }
                }
            }
            impl.write_provenance(command_line);
        });
        return existing;
    }
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent))
        throw IoError(path + ": folder " + parent.string() + " does not exist");
    // A new store is written under NAME.part-<pid> and linked to NAME once its header is complete: a
    // writer killed before that leaves no file at NAME, and link() fails when NAME exists, so of two
    // processes creating the same store exactly one succeeds (rename() would replace the other's file,
    // whose writer would go on committing runs into a file that no longer has a name).
    remove_abandoned_parts(path);
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->open_name = path + ".part-" + std::to_string(::getpid());
    impl->writable = true;
    Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    check(H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST),
          path + ": cannot choose the checksummed file format");
    impl->file = Handle(H5Fcreate(impl->open_name.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()), H5Fclose);
    if (!impl->file.valid())
        throw failure(path + ": cannot create the HDF5 file " + impl->open_name);
    const std::string created = impl->open_name;
    try {
        const std::uint64_t names = std::accumulate(
            header.names.begin(), header.names.end(), std::uint64_t{0},
            [](std::uint64_t sum, const std::string& name) { return sum + name.size() + 16; });
        const std::uint64_t bytes = kMetadataBytes + 64 * header.values.size() + 2 * names +
                                    2 * (header.atlas.size() + header.options.size() + command_line.size());
        impl->writing("create the store", bytes, [&] {
            impl->write_header(header);
            impl->write_provenance(command_line);
        });
        if (::link(created.c_str(), path.c_str()) != 0) {
            const int error = errno;
            if (error == EEXIST) {
                throw IoError(path + ": another process created this store at the same time and is writing "
                                     "it; run again once it has finished (its runs are kept)");
            }
            // A file system without hard links: move into place unless a store appeared meanwhile.
            if (std::filesystem::exists(path))
                throw IoError(path + ": another process created this store at the same time");
            std::filesystem::rename(created, path);
        }
        impl->open_name = path;
    } catch (...) {
        impl->file.reset();
        ::unlink(created.c_str());
        throw;
    }
    ::unlink(created.c_str());  // the open file keeps working under its name NAME
    return CohortStore(std::move(impl));
}

StoreHeader CohortStore::header() const {
    return reading(self().path, [&] { return self().read_header(); });
}

std::vector<std::pair<std::string, std::string>> CohortStore::runs() const {
    return reading(self().path, [&] {
        std::vector<std::pair<std::string, std::string>> result;
        for (auto& run : self().committed_runs()) {
            if (run.reason.empty())
                result.emplace_back(std::move(run.subject), std::move(run.session));
        }
        return result;
    });
}

std::vector<ExcludedRun> CohortStore::excluded_runs() const {
    return reading(self().path, [&] {
        std::vector<ExcludedRun> result = self().committed_runs();
        result.erase(std::remove_if(result.begin(), result.end(),
                                    [](const ExcludedRun& r) { return r.reason.empty(); }),
                     result.end());
        return result;
    });
}

std::optional<RunQc> CohortStore::qc(const std::string& subject, const std::string& session) const {
    return reading(self().path, [&]() -> std::optional<RunQc> {
        if (!self().committed(subject, session))
            return std::nullopt;
        Handle group = open_group(self().file.get(), run_path(subject, session), false);
        RunQc qc;
        qc.mean_fd = read_attribute_number<double>(group.get(), "mean_fd", H5T_NATIVE_DOUBLE);
        qc.frames_total = read_attribute_number<std::int64_t>(group.get(), "frames_total", H5T_NATIVE_INT64);
        qc.frames_censored =
            read_attribute_number<std::int64_t>(group.get(), "frames_censored", H5T_NATIVE_INT64);
        return qc;
    });
}

void CohortStore::set_exclusion(const std::string& subject, const std::string& session,
                                const std::string& reason) {
    Impl& impl = self();
    if (!impl.writable)
        throw InvalidInput(impl.path + ": store is open read-only");
    QuietErrors quiet;
    if (!reading(impl.path, [&] { return impl.committed(subject, session); })) {
        throw InvalidInput(impl.where("no committed run for subject " + subject + ", session " + session));
    }
    impl.writing("mark " + subject + "/" + session, kMetadataBytes + 2 * reason.size(), [&] {
        Handle group = open_group(impl.file.get(), run_path(subject, session), false);
        if (reason.empty()) {
            if (has_attribute(group.get(), "excluded"))
                check(H5Adelete(group.get(), "excluded"), "cannot include " + subject + "/" + session);
        } else {
            write_attribute(group.get(), "excluded", reason);
        }
        check(H5Fflush(impl.file.get(), H5F_SCOPE_GLOBAL), "cannot flush");
    });
}

std::optional<std::string> CohortStore::fingerprint(const std::string& subject,
                                                    const std::string& session) const {
    return reading(self().path, [&]() -> std::optional<std::string> {
        if (!self().committed(subject, session))
            return std::nullopt;
        Handle group = open_group(self().file.get(), run_path(subject, session), false);
        return read_attribute(group.get(), "fingerprint");
    });
}

void CohortStore::commit(const RunRecord& run) {
    Impl& impl = self();
    if (!impl.writable)
        throw InvalidInput(impl.path + ": store is open read-only");
    check_name(run.subject, "subject");
    check_name(run.session, "session");
    const Eigen::Index n = static_cast<Eigen::Index>(header().values.size());
    if (run.timeseries.cols() != n || run.coverage.size() != n) {
        throw InvalidInput(impl.where("run " + run.subject + "/" + run.session + " has " +
                                      std::to_string(run.timeseries.cols()) + " regions, the store " +
                                      std::to_string(n)));
    }
    for (const auto& [kind, matrix] : run.measures) {
        check_name(kind, "measure");
        if (matrix.rows() != n || matrix.cols() != n) {
            throw InvalidInput(impl.where("measure " + kind + " of " + run.subject + "/" + run.session +
                                          " is not " + std::to_string(n) + " × " + std::to_string(n)));
        }
    }
    QuietErrors quiet;
    const std::string group_path = run_path(run.subject, run.session);
    const std::uint64_t bytes = reading(impl.path, [&] { return commit_bytes(run, impl.edge_rows_started(run)); });
    impl.writing("commit run " + run.subject + "/" + run.session, bytes, [&] {
        const hid_t root = impl.file.get();
        if (exists(root, group_path))
            check(H5Ldelete(root, group_path.c_str(), H5P_DEFAULT), "cannot replace " + group_path);
        {
            Handle group = open_group(root, group_path, true);
            write_matrix(group.get(), "timeseries", run.timeseries);
            write_integers(group.get(), "sample_mask", run.sample_mask);
            write_vector(group.get(), "coverage", run.coverage.data(),
                         static_cast<hsize_t>(run.coverage.size()));
            Handle measures = open_group(group.get(), "connectivity", true);
            for (const auto& [kind, matrix] : run.measures)
                write_matrix(measures.get(), kind, matrix);
            write_attribute(group.get(), "subject", run.subject);
            write_attribute(group.get(), "session", run.session);
            write_attribute(group.get(), "fingerprint", run.fingerprint);
            write_attribute(group.get(), "inputs", run.inputs);
            write_attribute(group.get(), "checksums", run.checksums);
            hdf5::write_provenance(group.get());  // runs of one store may come from different machines
            write_attribute_number(group.get(), "tr", run.tr, H5T_IEEE_F64LE);
            write_attribute_number(group.get(), "mean_fd", run.mean_fd, H5T_IEEE_F64LE);
            write_attribute_number(group.get(), "mean_dvars", run.mean_dvars, H5T_IEEE_F64LE);
            write_attribute_number<std::int64_t>(group.get(), "frames_total", run.frames_total, H5T_STD_I64LE);
            write_attribute_number<std::int64_t>(group.get(), "frames_censored", run.frames_censored,
                                                 H5T_STD_I64LE);
        }
        for (const auto& [kind, matrix] : run.measures)
            impl.write_edge_row(kind, run.session, run.subject, edge_vector(matrix));
        // The run becomes visible only now: a crash before this line leaves it uncommitted.
        Handle group = open_group(root, group_path, false);
        write_attribute_number<std::int64_t>(group.get(), "committed", 1, H5T_STD_I64LE);
        check(H5Fflush(root, H5F_SCOPE_GLOBAL), "cannot flush");
    });
}

RunRecord CohortStore::read_run(const std::string& subject, const std::string& session) const {
    return reading(self().path, [&] { return self().read_run(subject, session); });
}

EdgeStack CohortStore::edges(const std::string& kind, const std::string& session) const {
    return reading(self().path, [&] {
        const std::string group_path = "edges/" + kind + "/" + session;
        if (!exists(self().file.get(), group_path)) {
            std::string kinds_list;
            for (const auto& k : kinds())
                kinds_list += (kinds_list.empty() ? "" : ", ") + k;
            throw InvalidInput(
                self().where("no " + kind + " edges for session " + session + " (measures: " + kinds_list + ")"));
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
    });
}

std::vector<std::string> CohortStore::kinds() const {
    return reading(self().path, [&]() -> std::vector<std::string> {
        if (!exists(self().file.get(), "edges"))
            return {};
        Handle edges = open_group(self().file.get(), "edges", false);
        return children(edges.get());
    });
}

void CohortStore::set_text(const std::string& name, const std::string& value) {
    Impl& impl = self();
    if (!impl.writable)
        throw InvalidInput(impl.path + ": store is open read-only");
    QuietErrors quiet;
    impl.writing("write " + name, kMetadataBytes + 2 * value.size(), [&] {
        write_attribute(impl.file.get(), name, value);
        check(H5Fflush(impl.file.get(), H5F_SCOPE_GLOBAL), "cannot flush");
    });
}

std::optional<std::string> CohortStore::text(const std::string& name) const {
    return reading(self().path, [&]() -> std::optional<std::string> {
        if (!has_attribute(self().file.get(), name))
            return std::nullopt;
        return read_attribute(self().file.get(), name);
    });
}

int CohortStore::format_version() const {
    return static_cast<int>(self().format_version);
}

StoreCheck CohortStore::verify() const {
    QuietErrors quiet;
    const Impl& impl = self();
    StoreCheck result;
    result.format_version = static_cast<int>(impl.format_version);
    auto problem = [](const std::exception& error) { return std::string(error.what()); };
    try {
        impl.validate_layout();
    } catch (const std::exception& error) {
        result.problems.push_back(problem(error));
    }
    std::vector<std::pair<std::string, std::string>> keys;
    try {
        if (exists(impl.file.get(), "runs")) {
            Handle runs = open_group(impl.file.get(), "runs", false);
            for (const auto& subject : children(runs.get())) {
                try {
                    Handle subject_group = open_group(runs.get(), subject, false);
                    for (const auto& session : children(subject_group.get()))
                        keys.emplace_back(subject, session);
                } catch (const std::exception& error) {
                    result.problems.push_back(problem(error));
                }
            }
        }
    } catch (const std::exception& error) {
        result.problems.push_back(problem(error));
    }
    std::sort(keys.begin(), keys.end());
    for (const auto& [subject, session] : keys) {
        RunCheck run{subject, session, RunCheck::Status::intact, ""};
        try {
            if (!impl.state(subject, session).committed) {
                run.status = RunCheck::Status::unfinished;
                run.problem = "not committed (an interrupted write; the next `rewire run` redoes it)";
            } else {
                const RunRecord record = impl.read_run(subject, session);
                for (const auto& [kind, matrix] : record.measures) {
                    if (impl.read_edge_row(kind, session, subject) != edge_vector(matrix)) {
                        throw IoError("row " + subject + " of /edges/" + kind + "/" + session +
                                      " differs from /runs/" + subject + "/" + session + "/connectivity/" +
                                      kind);
                    }
                }
            }
        } catch (const std::exception& error) {
            run.status = RunCheck::Status::damaged;
            run.problem = problem(error);
        }
        result.runs.push_back(std::move(run));
    }
    return result;
}

}  // namespace rewire
