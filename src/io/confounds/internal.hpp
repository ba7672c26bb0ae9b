// rewire — private to src/io/confounds/: text helpers the readers share, and the columns a strategy picks
// (columns.cpp) for select_confounds (select.cpp) to turn into regressors and a sample mask.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include "rewire/io/confounds.hpp"

namespace rewire::confounds_detail {

/// The whole file; throws IoError naming `path` and `what` ("confounds file", ...) when it cannot be read.
std::string read_text(const std::string& path, const char* what);

/// read_confounds_table and read_confounds_metadata on text already read from `path` (the fuzz
/// harnesses call these on memory).
ConfoundsTable parse_confounds_table(const std::string& text, const std::string& path);
ConfoundsMetadata parse_confounds_metadata(const std::string& text, const std::string& path);

/// The fields of `line` between `separator`s (an empty line is one empty field).
std::vector<std::string> split(const std::string& line, char separator);

/// `items` joined by `separator`.
std::string join(const std::vector<std::string>& items, const std::string& separator);

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A column chosen by a strategy: its name and its T values.
struct Picked {
    std::string name;
    Eigen::VectorXd values;
};

/// What a strategy takes from a table: the columns in the order its components ask for them (the
/// non-steady-state columns first, scrubbing's one-hot motion_outlier_k columns where scrub comes), and
/// one line per component whose columns the table lacks.
struct Picks {
    std::vector<Picked> columns;
    std::vector<std::string> missing;
};

/// nilearn's load_confounds_components over `table` (and `metadata` for compcor). Throws InvalidInput
/// when a picked column is not numeric or the sidecar contradicts itself; missing columns are listed
/// in Picks::missing instead, for one message covering every component.
Picks pick_columns(const ConfoundsTable& table, const ConfoundsMetadata& metadata,
                   const ConfoundsOptions& options);

}  // namespace rewire::confounds_detail
