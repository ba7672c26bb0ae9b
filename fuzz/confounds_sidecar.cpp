// Fuzz harness: the confounds JSON sidecar reader (JsonCpp) on arbitrary text, then CompCor's column
// selection, which is what reads the sidecar, against a fixed fMRIPrep-like table.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "internal.hpp"

namespace {

/// Four volumes of the columns CompCor and its preset need (values: any numbers).
rewire::ConfoundsTable compcor_table() {
    rewire::ConfoundsTable table;
    table.path = "fuzz_desc-confounds_timeseries.tsv";
    table.names = {"a_comp_cor_00", "a_comp_cor_01", "a_comp_cor_02", "t_comp_cor_00", "c_comp_cor_00",
                   "w_comp_cor_00", "cosine00",      "trans_x",       "trans_y",       "trans_z",
                   "rot_x",         "rot_y",         "rot_z"};
    const auto columns = static_cast<Eigen::Index>(table.names.size());
    table.values.resize(4, columns);
    for (Eigen::Index r = 0; r < 4; ++r) {
        for (Eigen::Index c = 0; c < columns; ++c) {
            table.values(r, c) = static_cast<double>((r + 1) * (c + 3) % 7) - 3.0;
        }
    }
    table.non_numeric.assign(table.names.size(), "");
    return table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rewire;
    static const ConfoundsTable table = compcor_table();
    ConfoundsMetadata metadata;
    try {
        metadata = confounds_detail::parse_confounds_metadata(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz_desc-confounds_timeseries.json");
    } catch (const Error&) {
        return 0;
    }
    if (metadata.masks.size() != metadata.keys.size() || metadata.has_mask.size() != metadata.keys.size()) {
        std::abort();  // one mask entry per key
    }
    for (const CompCorType type : {CompCorType::anat_combined, CompCorType::anat_separated,
                                   CompCorType::temporal, CompCorType::temporal_anat_combined,
                                   CompCorType::temporal_anat_separated}) {
        ConfoundsOptions options;
        options.strategy = {ConfoundComponent::high_pass, ConfoundComponent::compcor};
        options.compcor = type;
        try {
            select_confounds(table, metadata, options);
        } catch (const Error&) {
            // a sidecar that contradicts the table or itself: reported with the file's name
        }
    }
    return 0;
}
