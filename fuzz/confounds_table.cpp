// Fuzz harness: the fMRIPrep confounds TSV reader on arbitrary text, then every preset's column
// selection (nilearn's load_confounds strategies, XCP-D's models) on the table it accepted.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rewire;
    ConfoundsTable table;
    try {
        table = confounds_detail::parse_confounds_table(std::string(reinterpret_cast<const char*>(data), size),
                                                        "fuzz_desc-confounds_timeseries.tsv");
    } catch (const Error&) {
        return 0;
    }
    if (table.frames() < 1 || table.values.cols() != static_cast<Eigen::Index>(table.names.size()) ||
        table.non_numeric.size() != table.names.size()) {
        std::abort();  // an accepted table must be T × K with one name per column
    }
    const ConfoundsMetadata no_sidecar;
    for (const ConfoundsPreset& preset : confounds_presets()) {
        try {
            const Confounds picked = select_confounds(table, no_sidecar, preset.options);
            if (picked.values.rows() != table.frames() && picked.selected_any) {
                std::abort();  // one row per volume
            }
            for (const std::int64_t frame : picked.sample_mask) {
                if (frame < 0 || frame >= table.frames()) {
                    std::abort();  // the sample mask indexes volumes
                }
            }
        } catch (const Error&) {
            // missing or non-numeric columns, every frame censored, ...: reported with the file's name
        }
    }
    return 0;
}
