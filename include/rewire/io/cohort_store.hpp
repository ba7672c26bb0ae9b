// rewire — CohortStore: one HDF5 file per study and parcellation.
//
// Layout (format_version 2: every array chunked with a Fletcher-32 checksum, metadata in HDF5's
// checksummed 1.8 format; every array row-major, so h5py sees the shapes written here, and MATLAB's
// h5read sees them transposed):
//   /                         attributes: format "rewire-cohort", format_version, rewire_version, atlas,
//                             atlas_checksum, options (JSON), command_line, edge_order,
//                             participants (the study's participants.tsv, as text)
//   /nodes/values             N int64 label values          /nodes/names  N strings
//   /nodes/coordinates        N × 3 region centroids (mm)
//   /runs/<subject>/<session> one group per scan; attribute committed = 1 is written last
//       timeseries            T × N cleaned signals          sample_mask  kept frame indices
//       coverage              N                              connectivity/<kind>  N × N
//       attributes            fingerprint, inputs, checksums (JSON), mean_fd, mean_dvars,
//                             frames_total, frames_censored, tr
//   /edges/<kind>/<session>/values    S × E edge vectors (chunked for rows and for columns)
//   /edges/<kind>/<session>/subjects  S subject IDs, row order of values
// Edge e of an N-node matrix is (i, j), i < j, with e = i·N − i(i+1)/2 + (j − i − 1).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rewire/core/types.hpp"

namespace rewire {

/// What every run in a store shares: the parcellation and the options that shaped the results.
struct StoreHeader {
    std::string atlas;                 ///< atlas file (or description)
    std::string atlas_checksum;        ///< checksum of the atlas file
    std::vector<std::int64_t> values;  ///< N region label values
    std::vector<std::string> names;    ///< N region names
    Eigen::MatrixXd coordinates;       ///< N × 3 centroids in mm (may be empty)
    std::string options;  ///< cleaning / estimator options as JSON; runs with other options are refused
};

/// Everything stored for one scan (subject × session).
struct RunRecord {
    std::string subject;
    std::string session;
    std::string fingerprint;  ///< identifies inputs + options; a re-run with the same one is skipped
    std::string inputs;       ///< JSON: the input files
    std::string checksums;    ///< JSON: checksums of the input files
    TimeSeries timeseries;    ///< T × N cleaned signals
    std::vector<std::int64_t> sample_mask;  ///< kept frame indices (all frames when nothing was censored)
    Eigen::VectorXd coverage;               ///< N
    double tr = 0.0;
    double mean_fd = 0.0;
    double mean_dvars = 0.0;
    std::int64_t frames_total = 0;
    std::int64_t frames_censored = 0;
    std::map<std::string, Connectome> measures;  ///< kind → N × N
};

/// The quality-control figures of a committed run that exclusion rules look at.
struct RunQc {
    double mean_fd = 0.0;
    std::int64_t frames_total = 0;
    std::int64_t frames_censored = 0;
};

/// A committed run left out of the analysis by a quality-control rule.
struct ExcludedRun {
    std::string subject;
    std::string session;
    std::string reason;
};

/// What `CohortStore::verify` found for one run group.
struct RunCheck {
    enum class Status { intact, unfinished, damaged };
    std::string subject;
    std::string session;
    Status status = Status::intact;
    std::string problem;  ///< why a run is damaged or unfinished; empty when intact
};

/// What `CohortStore::verify` found: problems of the store as a whole (its header), then each run.
struct StoreCheck {
    int format_version = 0;
    std::vector<std::string> problems;
    std::vector<RunCheck> runs;
    bool intact() const {
        return problems.empty() && std::none_of(runs.begin(), runs.end(), [](const RunCheck& run) {
                   return run.status == RunCheck::Status::damaged;
               });
    }
};

/// An HDF5 cohort store. Writes go through one object (one writer); each run becomes visible only
/// when complete, so an interrupted write never leaves a run that looks finished.
class CohortStore {
public:
    /// Opens an existing store read-only. Throws IoError / InvalidInput naming the file.
    static CohortStore open(const std::string& path);

    /// Opens `path` for writing, creating it with `header` when it does not exist. An existing store
    /// must have been made with the same atlas, regions and options, else InvalidInput says how they
    /// differ. Runs left uncommitted by an interrupted writer are removed.
    static CohortStore open_for_writing(const std::string& path, const StoreHeader& header,
                                        const std::string& command_line);

    CohortStore(CohortStore&&) noexcept;
    CohortStore& operator=(CohortStore&&) noexcept;
    ~CohortStore();

    const std::string& path() const;
    StoreHeader header() const;

    /// Committed runs that are not excluded, as (subject, session), sorted.
    std::vector<std::pair<std::string, std::string>> runs() const;

    /// Fingerprint of a committed run (excluded or not), if there is one.
    std::optional<std::string> fingerprint(const std::string& subject, const std::string& session) const;

    /// QC figures of a committed run (excluded or not), if there is one.
    std::optional<RunQc> qc(const std::string& subject, const std::string& session) const;

    /// Marks a committed run as excluded by a quality-control rule (`reason`), or includes it again
    /// (empty `reason`). An excluded run keeps its data in the file but leaves runs() and edges(), and
    /// so every delta and statistic, until a re-run includes it again or commits it anew.
    void set_exclusion(const std::string& subject, const std::string& session, const std::string& reason);

    /// Committed runs that are excluded, sorted, with their reasons.
    std::vector<ExcludedRun> excluded_runs() const;

    /// Writes a run (replacing an earlier one of the same subject and session) and flushes the file.
    void commit(const RunRecord& run);

    /// Reads a committed run.
    RunRecord read_run(const std::string& subject, const std::string& session) const;

    /// Subjects × edges of `kind` in `session` (committed runs that are not excluded).
    EdgeStack edges(const std::string& kind, const std::string& session) const;

    /// Measures (kinds) present in the store.
    std::vector<std::string> kinds() const;

    /// Stores a text attribute on the root (e.g. "participants": the study's participants.tsv).
    void set_text(const std::string& name, const std::string& value);

    /// A text attribute of the root, if present.
    std::optional<std::string> text(const std::string& name) const;

    /// The store's format version (2: checksummed; 1: made by an older rewire, without checksums).
    int format_version() const;

    /// Reads every run in full (each array's checksum is verified on the way) and compares each run's
    /// edge rows with its matrices: intact, damaged (and why, naming the object) or unfinished.
    StoreCheck verify() const;

    /// Closes the file; any later call throws InvalidInput.
    void close();

private:
    struct Impl;
    explicit CohortStore(std::unique_ptr<Impl> impl);
    static std::unique_ptr<Impl> open_impl(const std::string& path, bool writable);
    Impl& self() const;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rewire
