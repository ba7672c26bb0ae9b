// Which columns each component of a strategy takes from a confounds table: nilearn 0.14's
// load_confounds_components (motion, high_pass, wm_csf, global_signal, compcor, ica_aroma) and
// load_confounds_scrub (the one-hot motion_outlier_k columns of scrubbing).
#include <map>

#include "internal.hpp"

namespace rewire {
namespace confounds_detail {
namespace {

class Picker {
public:
    Picker(const ConfoundsTable& table, const ConfoundsMetadata& meta, const ConfoundsOptions& options)
        : table_(table), meta_(meta), options_(options) {}

    Picks picks;

    void non_steady_state() {
        for (auto j : containing("non_steady_state"))
            take(j);
    }
    void motion() {
        take_all(model_columns({"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"}, options_.motion),
                 std::string("motion (") + to_string(options_.motion) + ")");
    }
    void high_pass() {
        for (auto j : containing("cosine"))
            take(j);
    }
    void wm_csf() {
        take_all(model_columns({"csf", "white_matter"}, options_.wm_csf),
                 std::string("wm_csf (") + to_string(options_.wm_csf) + ")");
    }
    void global_signal() {
        take_all(model_columns({"global_signal"}, options_.global_signal),
                 std::string("global_signal (") + to_string(options_.global_signal) + ")");
    }
    void ica_aroma() {
        if (options_.ica_aroma == IcaAromaType::full)
            return;  // already removed from the aroma image
        const auto found = containing("aroma");
        if (found.empty())
            missing("ica_aroma (basic)", "no column containing 'aroma'");
        for (auto j : found)
            take(j);
    }
    void compcor();
    void scrub();

private:
    void missing(const std::string& component, const std::string& what) {
        picks.missing.push_back(component + ": " + what);
    }

    void take(std::int64_t column) {
        require_numeric(column);
        picks.columns.push_back({table_.names[static_cast<std::size_t>(column)], table_.values.col(column)});
    }

    void require_numeric(std::int64_t column) const {
        const auto& bad = table_.non_numeric[static_cast<std::size_t>(column)];
        if (!bad.empty()) {
            throw InvalidInput(table_.path + ": column '" + table_.names[static_cast<std::size_t>(column)] +
                               "' is not numeric (" + bad + "); confound columns must hold numbers or n/a");
        }
    }

    /// Columns whose name contains `keyword`, in file order (nilearn's find_confounds).
    std::vector<std::int64_t> containing(const std::string& keyword) const {
        std::vector<std::int64_t> found;
        for (std::size_t j = 0; j < table_.names.size(); ++j) {
            if (contains(table_.names[j], keyword))
                found.push_back(static_cast<std::int64_t>(j));
        }
        return found;
    }

    /// Takes every one of `columns`, or records the missing ones under `component`.
    void take_all(const std::vector<std::string>& columns, const std::string& component) {
        std::vector<std::string> absent;
        for (const auto& name : columns) {
            if (table_.column(name) < 0)
                absent.push_back(name);
        }
        if (!absent.empty()) {
            missing(component, absent.size() == columns.size() && absent.size() > 1
                                   ? "none of " + join(columns, ", ")
                                   : join(absent, ", "));
            return;
        }
        for (const auto& name : columns)
            take(table_.column(name));
    }

    const ConfoundsTable& table_;
    const ConfoundsMetadata& meta_;
    const ConfoundsOptions& options_;
};

/// nilearn's find_compcor: for each prefix, the component names are re-numbered from the count of
/// sidecar keys that contain "<prefix>_comp_cor"; anatomical ones are split by their "Mask".
void Picker::compcor() {
    const std::string label = std::string("compcor (") + to_string(options_.compcor) + ")";
    std::vector<std::string> prefixes;
    std::vector<std::string> masks;
    switch (options_.compcor) {
        case CompCorType::anat_combined:
            prefixes = {"a"};
            masks = {"combined"};
            break;
        case CompCorType::anat_separated:
            prefixes = {"a", "w", "c"};
            masks = {"WM", "CSF"};
            break;
        case CompCorType::temporal:
            prefixes = {"t"};
            break;
        case CompCorType::temporal_anat_combined:
            prefixes = {"t", "a"};
            masks = {"combined"};
            break;
        case CompCorType::temporal_anat_separated:
            prefixes = {"t", "a", "w", "c"};
            masks = {"WM", "CSF"};
            break;
    }
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < meta_.keys.size(); ++i)
        index.emplace(meta_.keys[i], i);
    auto first_n = [&](std::vector<std::string> names) {
        if (options_.n_compcor >= 0 && static_cast<std::size_t>(options_.n_compcor) < names.size()) {
            names.resize(static_cast<std::size_t>(options_.n_compcor));
        }
        return names;
    };
    std::vector<std::string> columns;
    for (const auto& prefix : prefixes) {
        const std::string stem = prefix + "_comp_cor";
        std::size_t count = 0;
        for (const auto& key : meta_.keys)
            count += contains(key, stem) ? 1 : 0;
        std::vector<std::string> names;
        for (std::size_t n = 0; n < count; ++n) {
            std::string number = std::to_string(n);
            if (number.size() < 2)
                number.insert(0, 2 - number.size(), '0');
            names.push_back(stem + "_" + number);
        }
        if (prefix != "a") {
            for (auto& name : first_n(names))
                columns.push_back(name);
            continue;
        }
        for (const auto& mask : masks) {
            std::vector<std::string> in_mask;
            for (const auto& name : names) {
                const auto it = index.find(name);
                if (it == index.end()) {
                    throw InvalidInput(meta_.path + ": no entry '" + name + "', although the sidecar has " +
                                       std::to_string(count) + " keys containing '" + stem +
                                       "' (numbered from _00)");
                }
                if (!meta_.has_mask[it->second]) {
                    throw InvalidInput(meta_.path + ": entry '" + name +
                                       "' has no \"Mask\" string; anatomical "
                                       "CompCor needs it to tell combined, WM and CSF components apart");
                }
                // nilearn tests `Mask in mask` on strings: a substring match.
                if (contains(mask, meta_.masks[it->second]))
                    in_mask.push_back(name);
            }
            for (auto& name : first_n(in_mask))
                columns.push_back(name);
        }
    }
    if (columns.empty()) {
        missing(label, "the sidecar " + meta_.path + " lists no such components");
        return;
    }
    take_all(columns, label);
}

/// Scrubbing: one-hot motion_outlier_k columns for the frames to censor.
void Picker::scrub() {
    const std::int64_t frames = table_.frames();
    Eigen::VectorXd fd;
    const std::int64_t fd_column = table_.column("framewise_displacement");
    if (fd_column >= 0) {
        require_numeric(fd_column);
        fd = table_.values.col(fd_column);
    } else {
        // Older or hand-made tables: derive FD from the six motion parameters as fMRIPrep does.
        const std::vector<std::string> six = {"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"};
        Eigen::MatrixXd motion(frames, 6);
        std::vector<std::string> absent;
        for (int j = 0; j < 6; ++j) {
            const auto c = table_.column(six[static_cast<std::size_t>(j)]);
            if (c < 0) {
                absent.push_back(six[static_cast<std::size_t>(j)]);
                continue;
            }
            require_numeric(c);
            motion.col(j) = table_.values.col(c);
        }
        if (!absent.empty()) {
            missing("scrub", "framewise_displacement, or the motion parameters to compute it (" +
                                 join(absent, ", ") + ")");
            return;
        }
        fd = framewise_displacement(motion);
    }
    const std::int64_t dvars_column = table_.column("std_dvars");
    if (dvars_column < 0) {
        missing("scrub", "std_dvars");
        return;
    }
    require_numeric(dvars_column);
    const auto censored = motion_outliers(fd, table_.values.col(dvars_column), options_.fd_threshold,
                                          options_.std_dvars_threshold, options_.scrub);
    for (std::size_t k = 0; k < censored.size(); ++k) {
        Eigen::VectorXd one_hot = Eigen::VectorXd::Zero(frames);
        one_hot[censored[k]] = 1.0;
        picks.columns.push_back({"motion_outlier_" + std::to_string(k), one_hot});
    }
}

}  // namespace

Picks pick_columns(const ConfoundsTable& table, const ConfoundsMetadata& metadata,
                   const ConfoundsOptions& options) {
    Picker pick(table, metadata, options);
    pick.non_steady_state();  // always: nilearn drops non-steady-state volumes whatever the strategy
    for (const auto component : options.strategy) {
        switch (component) {
            case ConfoundComponent::motion:
                pick.motion();
                break;
            case ConfoundComponent::high_pass:
                pick.high_pass();
                break;
            case ConfoundComponent::wm_csf:
                pick.wm_csf();
                break;
            case ConfoundComponent::global_signal:
                pick.global_signal();
                break;
            case ConfoundComponent::compcor:
                pick.compcor();
                break;
            case ConfoundComponent::ica_aroma:
                pick.ica_aroma();
                break;
            case ConfoundComponent::scrub:
                pick.scrub();
                break;
            case ConfoundComponent::non_steady_state:
                break;
        }
    }
    return std::move(pick.picks);
}

}  // namespace confounds_detail
}  // namespace rewire
