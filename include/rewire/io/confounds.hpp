// rewire — fMRIPrep confounds: the TSV and its JSON sidecar, nilearn's load_confounds strategies and
// presets, XCP-D's nuisance models and the scrubbing
// mask (the motion maths is signal/motion.hpp).
//
// Names, parameters, defaults and results follow nilearn 0.14's
// `nilearn.interfaces.fmriprep.load_confounds` / `load_confounds_strategy` (Wang et al. 2024, "Continuous
// evaluation of denoising strategies in resting-state fMRI connectivity using fMRIPrep and Nilearn",
// PLoS Comput Biol 20(3): e1011942), so that the same files give the same columns in the same order,
// the same values and the same sample mask. Where nilearn would crash (KeyError) or silently return NaN,
// rewire throws InvalidInput / IoError naming the file and the column instead.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "rewire/core/error.hpp"
#include "rewire/signal/motion.hpp"

namespace rewire {

// ---------------------------------------------------------------------------------------------------
// Files

/// A confounds table as fMRIPrep writes it (`*_desc-confounds_timeseries.tsv`, before 20.2
/// `*_desc-confounds_regressors.tsv`): a header line of column names, then one tab-separated line per
/// volume. Missing values (`n/a`, and pandas' other markers such as `NaN`, `NA`, empty) are NaN.
struct ConfoundsTable {
    std::string path;                      ///< the file it was read from (for messages)
    std::vector<std::string> names;        ///< K column names, in file order
    Eigen::MatrixXd values;                ///< T × K; NaN for missing and for non-numeric cells
    std::vector<std::string> non_numeric;  ///< per column: "" or where its first non-numeric cell is

    std::int64_t frames() const { return values.rows(); }
    /// Index of the column called `name`, or -1.
    std::int64_t column(const std::string& name) const {
        const auto it = std::find(names.begin(), names.end(), name);
        return it == names.end() ? -1 : static_cast<std::int64_t>(it - names.begin());
    }
};

/// Reads a confounds TSV. Throws IoError when the file cannot be read; InvalidInput when it has no
/// header, a camelCase header (fMRIPrep 1.0/1.1, which nilearn rejects too), duplicate column names or a
/// line with the wrong number of fields. Non-numeric cells are recorded, not fatal: only the columns a
/// strategy uses must be numeric.
ConfoundsTable read_confounds_table(const std::string& path);

/// What the strategies need from the JSON sidecar: its top-level keys and, for those whose value is an
/// object with a string "Mask" member (CompCor components), that mask ("combined", "WM", "CSF", ...).
/// A JSON object has no order: the strategies only count and look up keys, as nilearn does.
struct ConfoundsMetadata {
    std::string path;                ///< the file it was read from
    std::vector<std::string> keys;   ///< top-level keys, sorted (a key given twice: its last value)
    std::vector<std::string> masks;  ///< "Mask" of each key, "" when it has none
    std::vector<bool> has_mask;      ///< whether each key has a string "Mask"
};

/// Reads a confounds JSON sidecar as Python's json module reads it (NaN, Infinity and -Infinity
/// included: json.dump writes them). Throws IoError when the file cannot be read, InvalidInput naming the
/// file and the line when it is not a JSON object.
ConfoundsMetadata read_confounds_metadata(const std::string& path);

/// The JSON sidecar of a confounds TSV: the same path with ".json" for the final ".tsv".
std::string confounds_sidecar(const std::string& tsv_path);

/// The confounds TSV beside an fMRIPrep image, by nilearn's rules: the image name must match
/// `(_space-.*)?_desc-preproc_bold.nii.gz`, `(_space-.*)?_bold.dtseries.nii` or
/// `_hemi-[LR](_space-.*)?_bold.func.gii` (with `full_aroma`: `_desc-smoothAROMAnonaggr_bold`); the
/// candidates are every subset of the image's entities that keeps `desc-confounds`, followed by
/// `_timeseries.tsv` or `_regressors.tsv`, in the image's folder. Exactly one must exist: throws
/// IoError when none does, InvalidInput when the name is not an fMRIPrep image or several match.
std::string find_confounds_file(const std::string& image_path, bool full_aroma = false);

/// The search of find_confounds_file without nilearn's check of the image name, for images already
/// known to be fMRIPrep outputs (BIDS discovery uses it, so that a run's confounds are the file
/// load_confounds reads): the one candidate that exists, "" when none does; InvalidInput when several do.
std::string confounds_file_beside(const std::string& image_path);

// ---------------------------------------------------------------------------------------------------
// Strategies

/// One group of confounds in a strategy (nilearn's `strategy` entries).
enum class ConfoundComponent {
    motion,            ///< head motion: trans_x..rot_z and their expansions (parameter `motion`)
    high_pass,         ///< fMRIPrep's discrete cosine basis: every column whose name contains "cosine"
    wm_csf,            ///< mean white-matter and CSF signals (parameter `wm_csf`)
    global_signal,     ///< mean signal in the brain mask (parameter `global_signal`)
    compcor,           ///< CompCor components (Behzadi 2007; parameters `compcor`, `n_compcor`)
    ica_aroma,         ///< ICA-AROMA noise components (Pruim 2015; parameter `ica_aroma`)
    scrub,             ///< censoring of high-motion frames (Power 2014; `scrub`, thresholds)
    non_steady_state,  ///< always applied; accepted in a strategy for nilearn compatibility
};

/// Expansion of a base regressor, nilearn's `motion` / `wm_csf` / `global_signal` values:
/// basic = x; power2 = x, x²; derivatives = x, x′; full = x, x′, x², x′² (Satterthwaite 2013).
enum class ConfoundModel { basic, power2, derivatives, full };

/// Which CompCor components (nilearn's `compcor`): anatomical from the combined WM+CSF mask, from WM
/// and CSF separately (n_compcor each), temporal, or temporal together with either anatomical set.
enum class CompCorType {
    anat_combined,
    anat_separated,
    temporal,
    temporal_anat_combined,
    temporal_anat_separated
};

/// ICA-AROMA: `full` uses fMRIPrep's non-aggressively denoised image (no regressors needed here);
/// `basic` regresses the noise components (`aroma_motion_*` columns).
enum class IcaAromaType { full, basic };

/// nilearn's load_confounds parameters, with nilearn 0.14's defaults.
struct ConfoundsOptions {
    /// The groups of confounds to load, in any order (the output columns are sorted, as nilearn's).
    std::vector<ConfoundComponent> strategy = {ConfoundComponent::motion, ConfoundComponent::high_pass,
                                               ConfoundComponent::wm_csf};
    ConfoundModel motion = ConfoundModel::full;  ///< expansion of the six motion parameters
    /// Minimal segment length for scrubbing: runs of kept frames shorter than this, between censored
    /// frames or at either end, are censored too (Power 2014's "full scrubbing" is 5); 0 censors only
    /// the frames above the thresholds.
    std::int64_t scrub = 5;
    double fd_threshold = 0.5;         ///< censor frames whose framewise displacement exceeds this (mm)
    double std_dvars_threshold = 1.5;  ///< censor frames whose standardized DVARS exceeds this
    ConfoundModel wm_csf = ConfoundModel::basic;         ///< expansion of csf and white_matter
    ConfoundModel global_signal = ConfoundModel::basic;  ///< expansion of global_signal
    CompCorType compcor = CompCorType::anat_combined;    ///< which CompCor components
    std::int64_t n_compcor = -1;  ///< components kept (per mask when separated); -1 keeps all ("all")
    IcaAromaType ica_aroma = IcaAromaType::full;  ///< which ICA-AROMA variant
    /// Subtract each column's mean (over the kept frames when frames are censored), as nilearn.
    bool demean = true;

    bool uses(ConfoundComponent c) const {
        return std::find(strategy.begin(), strategy.end(), c) != strategy.end();
    }

    /// Throws InvalidInput on a negative `scrub`, NaN thresholds, `n_compcor` neither -1 nor ≥ 1, or
    /// compcor without high_pass (fMRIPrep computes CompCor on high-pass filtered data, so nilearn
    /// requires the cosine regressors alongside).
    void validate() const {
        if (scrub < 0) {
            throw InvalidInput("confounds: scrub must be >= 0 (minimal segment length), got " +
                               std::to_string(scrub));
        }
        if (std::isnan(fd_threshold) || std::isnan(std_dvars_threshold)) {
            throw InvalidInput("confounds: fd_threshold and std_dvars_threshold must be numbers, not NaN");
        }
        if (n_compcor != -1 && n_compcor < 1) {
            throw InvalidInput("confounds: n_compcor must be 'all' (-1) or a positive count, got " +
                               std::to_string(n_compcor));
        }
        if (uses(ConfoundComponent::compcor) && !uses(ConfoundComponent::high_pass)) {
            throw InvalidInput(
                "confounds: when using compcor, high_pass must be included in the strategy "
                "(fMRIPrep's CompCor components are computed on high-pass filtered data)");
        }
    }
};

/// The confounds of one run, as nilearn's load_confounds returns them.
struct Confounds {
    std::string source;              ///< the confounds TSV
    std::vector<std::string> names;  ///< K column names, sorted (nilearn sorts them)
    Eigen::MatrixXd values;          ///< T × K regressors, first-row n/a filled, demeaned if asked
    std::vector<std::string>
        outliers;  ///< one-hot columns behind the sample mask (non_steady_state*, motion_outlier_k)
    std::vector<std::int64_t> sample_mask;  ///< kept frames, ascending (all frames when not censored)
    /// Whether any outlier column exists; nilearn returns sample_mask=None when not.
    bool censored = false;
    /// Whether the strategy selected any column at all (outliers included); nilearn returns an empty
    /// 0 × 0 DataFrame when not, a T × 0 one when only outlier columns were selected.
    bool selected_any = false;
    std::int64_t frames = 0;  ///< T, volumes in the run
};

/// Applies a strategy to a table: selects the columns, derives the sample mask from the non-steady-state
/// columns and (with scrub) from framewise displacement and standardized DVARS, fills the first row's
/// n/a from the second row (derivatives have no value at the first frame), and demeans. `metadata` is
/// used by compcor only. Throws InvalidInput naming the file and the columns when columns the strategy
/// needs are missing or non-numeric, when a selected column has n/a beyond the first row, or when
/// every frame would be censored.
Confounds select_confounds(const ConfoundsTable& table, const ConfoundsMetadata& metadata,
                           const ConfoundsOptions& options = {});

/// load_confounds on one run. `path` is the confounds TSV itself, or an fMRIPrep image beside which it
/// is found (find_confounds_file; with ica_aroma=full the image must be the desc-smoothAROMAnonaggr one).
/// The JSON sidecar is read when compcor is in the strategy (IoError when it is missing).
Confounds load_confounds(const std::string& path, const ConfoundsOptions& options = {});

// ---------------------------------------------------------------------------------------------------
// Presets

/// A named denoising strategy: nilearn's load_confounds_strategy presets and XCP-D's nuisance models.
struct ConfoundsPreset {
    std::string name;
    std::string description;
    ConfoundsOptions options;          ///< the preset's strategy and defaults
    std::vector<std::string> tunable;  ///< parameters a caller may override (nilearn's rule)
};

/// Every preset, nilearn's first:
///  - simple     high_pass + motion full + wm_csf basic (Fox 2005); global_signal tunable
///  - scrubbing  high_pass + motion full + wm_csf full + scrub 5, FD 0.5 mm, std DVARS 1.5 (Power 2012)
///  - compcor    high_pass + motion full + compcor anat_combined, all components (Behzadi 2007)
///  - ica_aroma  high_pass + wm_csf basic + ica_aroma full (Pruim 2015)
/// and XCP-D's nuisance models (xcp_d/data/nuisance/*.yml; Ciric 2017, Satterthwaite 2013), mapped:
///  - 24P          motion full (6 parameters, derivatives, squares of both)
///  - 27P          motion full + wm_csf basic + global_signal basic
///  - 36P          motion full + wm_csf full + global_signal full
///  - acompcor     high_pass + motion derivatives + compcor anat_separated with n_compcor 5
///                 (5 WM + 5 CSF components; XCP-D includes the cosines because fMRIPrep's CompCor was
///                 computed on high-pass filtered data)
///  - acompcor_gsr acompcor + wm_csf basic + global_signal basic (XCP-D's yml lists csf and
///                 white_matter alongside global_signal)
/// XCP-D presets tune only `demean`; for other variants spell the strategy out.
const std::vector<ConfoundsPreset>& confounds_presets();

/// The preset called `name`; throws InvalidInput listing the valid names.
const ConfoundsPreset& confounds_preset(const std::string& name);

// ---------------------------------------------------------------------------------------------------
// Names

/// nilearn's name of each enum value ("motion", "full", "anat_combined", ...).
const char* to_string(ConfoundComponent component);
const char* to_string(ConfoundModel model);
const char* to_string(CompCorType type);
const char* to_string(IcaAromaType type);

/// Parses nilearn's names; `parameter` names the option in the message, which lists the valid values.
ConfoundComponent parse_confound_component(const std::string& name);
ConfoundModel parse_confound_model(const std::string& name, const std::string& parameter);
CompCorType parse_compcor_type(const std::string& name);
IcaAromaType parse_ica_aroma_type(const std::string& name);

/// The columns of a model over base names, in nilearn's order: each base, then for each base its
/// suffixed columns (`_derivative1`, `_power2`, `_derivative1_power2`).
inline std::vector<std::string> model_columns(const std::vector<std::string>& bases, ConfoundModel model) {
    std::vector<std::string> columns = bases;
    std::vector<std::string> suffixes;
    if (model == ConfoundModel::derivatives || model == ConfoundModel::full)
        suffixes.push_back("_derivative1");
    if (model == ConfoundModel::power2 || model == ConfoundModel::full)
        suffixes.push_back("_power2");
    if (model == ConfoundModel::full)
        suffixes.push_back("_derivative1_power2");
    for (const auto& base : bases) {
        for (const auto& suffix : suffixes)
            columns.push_back(base + suffix);
    }
    return columns;
}

}  // namespace rewire
