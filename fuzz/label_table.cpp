// Fuzz harness: the atlas label-table reader (BIDS dseg.tsv or mricron .txt) on arbitrary text.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "label_table.hpp"
#include "rewire/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rewire;
    std::istringstream text(std::string(reinterpret_cast<const char*>(data), size));
    try {
        const LabelTable table = detail::parse_label_table(text, "fuzz_dseg.tsv");
        bool valid = !table.values.empty() && table.values.size() == table.names.size();
        for (std::size_t i = 0; i < table.values.size(); ++i) {
            valid = valid && table.values[i] != 0 && (i == 0 || table.values[i - 1] < table.values[i]);
        }
        if (!valid) {
            std::abort();  // regions must be non-zero, unique and in ascending value order
        }
    } catch (const Error&) {
        // a malformed line reported with the file's name and line number
    }
    return 0;
}
