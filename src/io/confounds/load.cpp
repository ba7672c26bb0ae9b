// load_confounds: nilearn's load_confounds on one run — find the TSV, read it (and the JSON sidecar
// for CompCor), select the strategy's columns.
#include <filesystem>

#include "internal.hpp"

namespace rewire {

Confounds load_confounds(const std::string& path, const ConfoundsOptions& options) {
    options.validate();
    std::string tsv = path;
    const bool is_tsv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".tsv") == 0;
    if (!is_tsv) {
        const bool full_aroma =
            options.uses(ConfoundComponent::ica_aroma) && options.ica_aroma == IcaAromaType::full;
        tsv = find_confounds_file(path, full_aroma);
    }
    const ConfoundsTable table = read_confounds_table(tsv);
    ConfoundsMetadata metadata;
    if (options.uses(ConfoundComponent::compcor)) {
        const std::string json = confounds_sidecar(tsv);
        if (!std::filesystem::exists(json)) {
            throw IoError(json + ": no JSON sidecar beside " + tsv +
                          "; CompCor needs it to find and tell apart "
                          "its components (fMRIPrep >= 1.4.0 writes it)");
        }
        metadata = read_confounds_metadata(json);
    }
    return select_confounds(table, metadata, options);
}

}  // namespace rewire
