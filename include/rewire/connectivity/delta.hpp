// rewire — each subject's change in connectivity between two sessions (post − pre), on edge stacks.
//
// Rows are paired by subject ID, never by position (stacks hold subjects in any order); subjects with
// only one of the two sessions are listed and left out. Correlation kinds are Fisher z-transformed
// (arctanh) before subtracting unless asked otherwise; tangent-space deltas are differences in the one
// fixed tangent space both stacks were embedded in. Reading the stacks out of a cohort store is
// io/store_delta.hpp.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "rewire/core/error.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

/// Each subject's post − pre change.
struct Deltas {
    std::vector<std::string> subjects;  ///< sorted; row s of `values` is subjects[s]
    Eigen::MatrixXd values;             ///< subjects × edges, rewire's edge order
    std::vector<std::string> unpaired;  ///< subjects with only one of the two sessions, left out
};

/// True for the kinds whose values are correlations (Fisher z applies).
inline bool is_correlation_kind(const std::string& kind) {
    return kind == "correlation" || kind == "partial correlation";
}

/// post − pre for every subject in both stacks, paired by subject ID (see the file comment);
/// `fisher_z` takes arctanh of both before subtracting. Throws InvalidInput when the stacks have
/// different numbers of edges.
inline Deltas paired_delta(const EdgeStack& pre, const EdgeStack& post, bool fisher_z) {
    if (pre.values.cols() != post.values.cols()) {
        throw InvalidInput("delta: the sessions have different numbers of edges (" +
                           std::to_string(pre.values.cols()) + " and " + std::to_string(post.values.cols()) +
                           ")");
    }
    std::map<std::string, Eigen::Index> row_before, row_after;
    for (std::size_t r = 0; r < pre.subjects.size(); ++r)
        row_before[pre.subjects[r]] = static_cast<Eigen::Index>(r);
    for (std::size_t r = 0; r < post.subjects.size(); ++r)
        row_after[post.subjects[r]] = static_cast<Eigen::Index>(r);

    Deltas out;
    for (const auto& [subject, row] : row_before) {  // std::map: sorted by subject
        (row_after.count(subject) ? out.subjects : out.unpaired).push_back(subject);
    }
    for (const auto& [subject, row] : row_after) {
        if (!row_before.count(subject))
            out.unpaired.push_back(subject);
    }
    std::sort(out.unpaired.begin(), out.unpaired.end());
    out.values.resize(static_cast<Eigen::Index>(out.subjects.size()), pre.values.cols());
    const auto z = [fisher_z](double r) { return fisher_z ? std::atanh(r) : r; };
    for (std::size_t s = 0; s < out.subjects.size(); ++s) {
        out.values.row(static_cast<Eigen::Index>(s)) =
            post.values.row(row_after.at(out.subjects[s])).unaryExpr(z) -
            pre.values.row(row_before.at(out.subjects[s])).unaryExpr(z);
    }
    return out;
}

}  // namespace rewire
