// rewire — private: the atlas label-table parser over any stream (read_label_table calls it on a file;
// the fuzz harness on memory).
#pragma once

#include <istream>
#include <string>

#include "rewire/io/atlas.hpp"

namespace rewire::detail {

/// read_label_table on the lines of `text`; `path` names it in messages.
LabelTable parse_label_table(std::istream& text, const std::string& path);

}  // namespace rewire::detail
