// select_confounds: a strategy's columns turned into what nilearn's load_confounds returns
// (load_confounds_utils.prepare_output): regressors sorted by name with the first row's n/a filled and
// demeaned, and the sample mask from the outlier columns.
#include <sstream>

#include "internal.hpp"

namespace rewire {
namespace {

using confounds_detail::contains;
using confounds_detail::join;
using confounds_detail::Picked;

/// The kept frames (no outlier column flags them; pandas' sum skips n/a) into out.sample_mask; throws
/// InvalidInput when no frame is left.
void sample_mask(const std::vector<const Picked*>& outliers, const std::string& path,
                 const ConfoundsOptions& options, Confounds& out) {
    out.censored = !outliers.empty();
    std::int64_t non_steady = 0;  // frames flagged by each kind, for the message below
    std::int64_t scrubbed = 0;
    for (std::int64_t t = 0; t < out.frames; ++t) {
        bool by_non_steady = false;
        bool by_scrub = false;
        for (const auto* p : outliers) {
            const double v = p->values[t];
            if (!std::isnan(v) && v != 0.0) {
                (contains(p->name, "non_steady_state") ? by_non_steady : by_scrub) = true;
            }
        }
        non_steady += by_non_steady ? 1 : 0;
        scrubbed += by_scrub ? 1 : 0;
        if (!by_non_steady && !by_scrub)
            out.sample_mask.push_back(t);
    }
    for (const auto* p : outliers)
        out.outliers.push_back(p->name);
    if (out.sample_mask.empty()) {
        std::ostringstream detail;
        detail << "non-steady-state: " << non_steady << "; scrubbing (fd_threshold=" << options.fd_threshold
               << ", std_dvars_threshold=" << options.std_dvars_threshold << ", scrub=" << options.scrub
               << "): " << scrubbed;
        throw InvalidInput(path + ": every one of the " + std::to_string(out.frames) +
                           " frames would be censored (" + detail.str() +
                           "); raise the thresholds or exclude this run");
    }
}

/// The regressors into out.names / out.values, the first row's n/a copied from the second (derivatives
/// have no value at the first frame); throws InvalidInput on n/a anywhere else, and on an infinity
/// anywhere (pandas reads "inf" as a number; regressing on it would make every cleaned signal NaN).
void regressors(const std::vector<const Picked*>& columns, const std::string& path, Confounds& out) {
    const auto k = static_cast<Eigen::Index>(columns.size());
    out.values.resize(out.frames, k);
    for (Eigen::Index j = 0; j < k; ++j) {
        const Picked& p = *columns[static_cast<std::size_t>(j)];
        out.names.push_back(p.name);
        out.values.col(j) = p.values;
        if (out.frames > 1 && std::isnan(out.values(0, j)))
            out.values(0, j) = out.values(1, j);
        for (std::int64_t t = 0; t < out.frames; ++t) {
            const double value = out.values(t, j);
            if (std::isnan(value)) {
                throw InvalidInput(path + ": column '" + p.name + "' is n/a at frame " + std::to_string(t) +
                                   " (0-based); only the first frame of a derivative column may be n/a");
            }
            if (std::isinf(value)) {
                throw InvalidInput(path + ": column '" + p.name + "' is " + (value > 0 ? "inf" : "-inf") +
                                   " at frame " + std::to_string(t) + " (0-based row of the table); confounds must be "
                                   "finite");
            }
        }
    }
}

/// Subtracts each column's mean: over the kept frames when censored (nilearn:
/// confounds.iloc[sample_mask].mean()), else as sklearn.preprocessing.scale(with_std=False) does.
void demean(Confounds& out) {
    const Eigen::Index k = out.values.cols();
    if (out.censored) {
        Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(k);
        for (auto t : out.sample_mask)
            mean += out.values.row(t);
        mean /= static_cast<double>(out.sample_mask.size());
        out.values.rowwise() -= mean;
        return;
    }
    // scikit-learn subtracts the mean, and once more when the first pass left a mean further than 1e-8
    // from zero (large values).
    auto column_means = [&]() {
        Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(k);
        for (std::int64_t t = 0; t < out.frames; ++t)
            mean += out.values.row(t);
        return Eigen::RowVectorXd(mean / static_cast<double>(out.frames));
    };
    out.values.rowwise() -= column_means();
    const Eigen::RowVectorXd residual = column_means();
    if ((residual.array().abs() > 1e-8).any())
        out.values.rowwise() -= residual;
}

}  // namespace

Confounds select_confounds(const ConfoundsTable& table, const ConfoundsMetadata& metadata,
                           const ConfoundsOptions& options) {
    options.validate();
    const confounds_detail::Picks picks = confounds_detail::pick_columns(table, metadata, options);
    if (!picks.missing.empty()) {
        throw InvalidInput(table.path + ": the strategy needs columns the file does not have:\n  " +
                           join(picks.missing, "\n  ") +
                           "\nYou may want to try a different denoising strategy.");
    }
    Confounds out;
    out.source = table.path;
    out.frames = table.frames();
    out.selected_any = !picks.columns.empty();
    // nilearn separates the one-hot outlier columns by name, then returns the rest sorted by name.
    std::vector<const Picked*> columns;
    std::vector<const Picked*> outliers;
    for (const auto& p : picks.columns) {
        (contains(p.name, "motion_outlier") || contains(p.name, "non_steady_state") ? outliers : columns)
            .push_back(&p);
    }
    std::stable_sort(columns.begin(), columns.end(),
                     [](const Picked* a, const Picked* b) { return a->name < b->name; });
    std::sort(outliers.begin(), outliers.end(),
              [](const Picked* a, const Picked* b) { return a->name < b->name; });
    outliers.erase(std::unique(outliers.begin(), outliers.end(),
                               [](const Picked* a, const Picked* b) { return a->name == b->name; }),
                   outliers.end());
    sample_mask(outliers, table.path, options, out);
    regressors(columns, table.path, out);
    if (options.demean && out.values.cols() > 0)
        demean(out);
    return out;
}

}  // namespace rewire
