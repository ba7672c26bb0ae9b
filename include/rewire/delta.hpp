// Each subject's change in connectivity between two sessions of a cohort store (post − pre).
//
// Rows are paired by subject ID, never by position in the store's edge stacks (they hold subjects in
// commit order); subjects with only one of the two sessions are listed and left out. Correlation
// kinds are Fisher z-transformed (arctanh) before subtracting unless asked otherwise; tangent-space
// deltas are differences in the one fixed tangent space the store was built in.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rewire/cohort_store.hpp"
#include "rewire/error.hpp"

namespace rewire {

struct DeltaOptions {
    std::string post = "post";
    std::string pre = "pre";
    std::string kind = "correlation";
    bool fisher_z = true;  ///< arctanh of correlation kinds before subtracting
};

struct Deltas {
    std::vector<std::string> subjects;  ///< sorted; row s of `values` is subjects[s]
    Eigen::MatrixXd values;             ///< subjects × edges, rewire's edge order
    std::vector<std::string> unpaired;  ///< subjects with only one of the two sessions, left out
};

/// True for the kinds whose values are correlations (Fisher z applies).
inline bool is_correlation_kind(const std::string& kind) {
    return kind == "correlation" || kind == "partial correlation";
}

/// post − pre of `options.kind` for every subject that has both sessions (see the file comment).
inline Deltas delta(const CohortStore& store, const DeltaOptions& options = {}) {
    const std::vector<std::string> kinds = store.kinds();
    if (std::find(kinds.begin(), kinds.end(), options.kind) == kinds.end()) {
        std::string stored;
        for (const auto& k : kinds)
            stored += (stored.empty() ? "" : ", ") + k;
        throw InvalidInput(store.path() + ": no '" + options.kind + "' measure stored (measures: " + stored +
                           ")");
    }
    std::set<std::string> sessions;
    for (const auto& run : store.runs())
        sessions.insert(run.second);
    for (const auto& session : {options.pre, options.post}) {
        if (!sessions.count(session)) {
            std::string stored;
            for (const auto& s : sessions)
                stored += (stored.empty() ? "" : ", ") + s;
            throw InvalidInput(store.path() + ": no session '" + session + "' (sessions: " + stored + ")");
        }
    }
    const EdgeStack before = store.edges(options.kind, options.pre);
    const EdgeStack after = store.edges(options.kind, options.post);
    std::map<std::string, Eigen::Index> row_before, row_after;
    for (std::size_t r = 0; r < before.subjects.size(); ++r)
        row_before[before.subjects[r]] = static_cast<Eigen::Index>(r);
    for (std::size_t r = 0; r < after.subjects.size(); ++r)
        row_after[after.subjects[r]] = static_cast<Eigen::Index>(r);

    Deltas out;
    for (const auto& [subject, row] : row_before) {  // std::map: sorted by subject
        (row_after.count(subject) ? out.subjects : out.unpaired).push_back(subject);
    }
    for (const auto& [subject, row] : row_after) {
        if (!row_before.count(subject))
            out.unpaired.push_back(subject);
    }
    std::sort(out.unpaired.begin(), out.unpaired.end());
    const bool transform = options.fisher_z && is_correlation_kind(options.kind);
    out.values.resize(static_cast<Eigen::Index>(out.subjects.size()), before.values.cols());
    for (std::size_t s = 0; s < out.subjects.size(); ++s) {
        auto z = [transform](double r) { return transform ? std::atanh(r) : r; };
        out.values.row(static_cast<Eigen::Index>(s)) =
            after.values.row(row_after.at(out.subjects[s])).unaryExpr(z) -
            before.values.row(row_before.at(out.subjects[s])).unaryExpr(z);
    }
    return out;
}

}  // namespace rewire
