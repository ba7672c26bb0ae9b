// rewire — each subject's post − pre change of one measure, read out of a cohort store.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "rewire/connectivity/delta.hpp"
#include "rewire/core/error.hpp"
#include "rewire/io/cohort_store.hpp"

namespace rewire {

/// Which change delta() computes.
struct DeltaOptions {
    std::string post = "post";         ///< the later session
    std::string pre = "pre";           ///< the earlier session
    std::string kind = "correlation";  ///< the stored measure
    bool fisher_z = true;              ///< arctanh of correlation kinds before subtracting

    /// Throws InvalidInput when a name is empty or both sessions are the same.
    void validate() const {
        if (post.empty() || pre.empty() || kind.empty())
            throw InvalidInput("delta: post, pre and kind must be non-empty names");
        if (post == pre)
            throw InvalidInput("delta: post and pre are the same session '" + pre + "'");
    }
};

/// post − pre of `options.kind` for every subject of `store` with both sessions (committed runs that are
/// not excluded), paired by subject (paired_delta). Throws InvalidInput naming the store when the
/// measure or a session is not in it.
inline Deltas delta(const CohortStore& store, const DeltaOptions& options = {}) {
    options.validate();
    const auto list = [](const auto& names) {
        std::string text;
        for (const auto& name : names)
            text += (text.empty() ? "" : ", ") + name;
        return text;
    };
    const std::vector<std::string> kinds = store.kinds();
    if (std::find(kinds.begin(), kinds.end(), options.kind) == kinds.end()) {
        throw InvalidInput(store.path() + ": no '" + options.kind +
                           "' measure stored (measures: " + list(kinds) + ")");
    }
    std::set<std::string> sessions;
    for (const auto& run : store.runs())
        sessions.insert(run.second);
    for (const auto& session : {options.pre, options.post}) {
        if (!sessions.count(session)) {
            throw InvalidInput(store.path() + ": no session '" + session + "' (sessions: " + list(sessions) +
                               ")");
        }
    }
    return paired_delta(store.edges(options.kind, options.pre), store.edges(options.kind, options.post),
                        options.fisher_z && is_correlation_kind(options.kind));
}

}  // namespace rewire
