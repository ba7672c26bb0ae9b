// rewire — small HDF5 files written whole: edge files (subjects × edges, e.g. pre/post deltas) and
// result files (e.g. of `rewire stats`). Each is written under a temporary name and moved into place.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rewire/core/types.hpp"

namespace rewire {

/// Writes a subjects × edges table (e.g. pre/post deltas) to its own HDF5 file: /values (S × E),
/// /subjects (S), /nodes/names (N) and `attributes` plus edge_order on the root. Written to a temporary
/// name and moved into place when complete.
void write_edge_file(const std::string& path, const EdgeStack& stack,
                     const std::vector<std::string>& node_names,
                     const std::map<std::string, std::string>& attributes);

/// Named 1-D datasets and root attributes of a results file (e.g. of `rewire stats`).
struct ResultFile {
    std::map<std::string, Eigen::VectorXd> vectors;             ///< float64 datasets
    std::map<std::string, std::vector<std::int64_t>> integers;  ///< int64 datasets
    std::map<std::string, std::vector<std::string>> strings;    ///< string datasets
    std::map<std::string, double> numbers;                      ///< float64 root attributes
    std::map<std::string, std::string> texts;                   ///< string root attributes
};

/// Writes `contents` to a new HDF5 file (rewire_version added as an attribute), under a temporary name
/// moved into place when complete.
void write_result_file(const std::string& path, const ResultFile& contents);

/// What write_edge_file wrote: the subjects × edges stack, the node names and the root's text attributes.
struct EdgeFile {
    EdgeStack stack;
    std::vector<std::string> node_names;
    std::map<std::string, std::string> attributes;
};

/// Reads an edge file (write_edge_file); errors name the file and what is missing or inconsistent.
EdgeFile read_edge_file(const std::string& path);

}  // namespace rewire
