// The confounds TSV beside an fMRIPrep image, by nilearn's rules (load_confounds_utils: _check_images,
// _generate_confounds_file_candidates, _get_file_name). BIDS discovery (python/rewire/study/bids.py)
// finds a run's confounds with the same search, so one run never reads two different files.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <regex>
#include <utility>

#include "internal.hpp"

namespace rewire {
namespace {

using confounds_detail::join;
using confounds_detail::split;

/// nilearn's image-name rules (load_confounds_utils._check_images).
void check_image_name(const std::string& image, bool full_aroma) {
    if (full_aroma) {
        if (!std::regex_search(image, std::regex("_desc-smoothAROMAnonaggr_bold"))) {
            throw InvalidInput(image +
                               ": input must be desc-smoothAROMAnonaggr_bold for full ICA-AROMA strategy");
        }
        return;
    }
    const auto parts = split(image, '.');
    std::string ext = parts.size() >= 2 ? parts[parts.size() - 2] + "." + parts.back() : image;
    static const std::map<std::string, std::pair<std::string, std::string>> rules = {
        {"nii.gz",
         {"(_space-.*)?_desc-preproc_bold.nii.gz", "invalid file type for the selected 'nii.gz' method"}},
        {"dtseries.nii",
         {"(_space-.*)?_bold.dtseries.nii", "invalid file type for the selected 'dtseries.nii' method"}},
        {"func.gii",
         {"_hemi-[LR](_space-.*)?_bold.func.gii", "need fMRIprep output with extension func.gii"}},
    };
    const auto rule = rules.find(ext);
    if (rule == rules.end()) {
        throw InvalidInput(image +
                           ": unsupported input; expected an fMRIPrep *_desc-preproc_bold.nii.gz, "
                           "*_bold.dtseries.nii or *_bold.func.gii (or the confounds .tsv itself)");
    }
    if (!std::regex_search(image, std::regex(rule->second.first))) {
        throw InvalidInput(image + ": " + rule->second.second);
    }
}

/// nilearn's parse_bids_filename: the "key-label" parts before the final "suffix.extension" part, in
/// order; a repeated key keeps its first position and its last label; a part without '-' has label
/// "None" (Python's str(None)).
std::vector<std::pair<std::string, std::string>> bids_entities(const std::string& file_name) {
    auto parts = split(file_name, '_');
    parts.pop_back();
    std::vector<std::pair<std::string, std::string>> entities;
    for (const auto& part : parts) {
        const auto pieces = split(part, '-');
        const std::string label = pieces.size() > 1 ? pieces[1] : "None";
        auto it = std::find_if(entities.begin(), entities.end(),
                               [&](const auto& e) { return e.first == pieces[0]; });
        if (it == entities.end()) {
            entities.emplace_back(pieces[0], label);
        } else {
            it->second = label;
        }
    }
    return entities;
}

/// Every subset of the image's entities, with desc set to "confounds", that keeps desc, followed by
/// `_timeseries.tsv` (fMRIPrep >= 20.2) or `_regressors.tsv`; longest first (the candidate keeping the
/// most entities is the best match).
std::vector<std::string> candidate_names(const std::string& image_path) {
    auto entities = bids_entities(std::filesystem::path(image_path).filename().string());
    auto desc =
        std::find_if(entities.begin(), entities.end(), [](const auto& e) { return e.first == "desc"; });
    if (desc == entities.end()) {
        entities.emplace_back("desc", "confounds");
    } else {
        desc->second = "confounds";
    }
    if (entities.size() > 20)
        throw InvalidInput(image_path + ": too many BIDS entities in the file name");
    std::vector<std::string> candidates;
    const std::size_t n = entities.size();
    for (std::uint64_t subset = 1; subset < (std::uint64_t{1} << n); ++subset) {
        std::vector<std::string> pieces;
        bool has_desc = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (subset & (std::uint64_t{1} << i)) {
                pieces.push_back(entities[i].first + "-" + entities[i].second);
                has_desc = has_desc || entities[i].first == "desc";
            }
        }
        if (!has_desc)
            continue;
        const std::string stem = join(pieces, "_");
        candidates.push_back(stem + "_timeseries.tsv");
        candidates.push_back(stem + "_regressors.tsv");
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return candidates;
}

}  // namespace

std::string confounds_file_beside(const std::string& image_path) {
    namespace fs = std::filesystem;
    const fs::path folder = fs::path(image_path).parent_path();
    std::vector<std::string> found;
    for (const auto& name : candidate_names(image_path)) {
        const fs::path candidate = folder / name;
        std::error_code error;
        if (fs::is_regular_file(candidate, error))
            found.push_back(candidate.string());
    }
    if (found.size() > 1) {
        throw InvalidInput(image_path + ": more than one confounds file matches:\n\t" + join(found, "\n\t"));
    }
    return found.empty() ? std::string() : found[0];
}

std::string find_confounds_file(const std::string& image_path, bool full_aroma) {
    check_image_name(image_path, full_aroma);
    std::string found = confounds_file_beside(image_path);
    if (found.empty()) {
        throw IoError(image_path +
                      ": no confounds file beside it (looked for *_desc-confounds_timeseries.tsv "
                      "or *_desc-confounds_regressors.tsv sharing its entities, in the same folder)");
    }
    return found;
}

}  // namespace rewire
