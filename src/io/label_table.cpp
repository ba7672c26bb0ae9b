// Atlas label tables: BIDS dseg.tsv and mricron .txt.
#include "label_table.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "rewire/core/error.hpp"

namespace rewire {
namespace {

std::vector<std::string> split(const std::string& line, char separator) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream stream(line);
    while (std::getline(stream, field, separator)) {
        fields.push_back(field);
    }
    return fields;
}

std::string trim(const std::string& text) {
    const auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) {
        return "";
    }
    const auto end = text.find_last_not_of(" \t\r\n");
    return text.substr(begin, end - begin + 1);
}

bool parse_integer(const std::string& text, std::int64_t& value) {
    try {
        std::size_t used = 0;
        value = std::stoll(text, &used);
        return used == text.size();
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

LabelTable read_label_table(const std::string& path) {
    std::ifstream file(path);
    if (!file) {
        throw IoError(path + ": cannot open label table");
    }
    return detail::parse_label_table(file, path);
}

LabelTable detail::parse_label_table(std::istream& file, const std::string& path) {
    std::map<std::int64_t, std::string> table;
    std::string line;
    int line_number = 0;
    int index_column = -1;
    int name_column = -1;
    bool first = true;
    while (std::getline(file, line)) {
        ++line_number;
        if (trim(line).empty() || trim(line)[0] == '#') {
            continue;
        }
        if (first) {
            first = false;
            const auto header = split(trim(line), '\t');
            for (std::size_t c = 0; c < header.size(); ++c) {
                if (trim(header[c]) == "index") index_column = static_cast<int>(c);
                if (trim(header[c]) == "name") name_column = static_cast<int>(c);
            }
            if (index_column >= 0 || name_column >= 0) {
                if (index_column < 0 || name_column < 0) {
                    throw InvalidInput(path + ": a TSV label table needs both 'index' and 'name' columns");
                }
                continue;  // BIDS dseg.tsv header
            }
        }
        std::vector<std::string> fields;
        if (index_column >= 0) {
            fields = split(line, '\t');
            const auto needed = static_cast<std::size_t>(std::max(index_column, name_column));
            if (fields.size() <= needed) {
                throw InvalidInput(path + ":" + std::to_string(line_number) + ": too few columns");
            }
            fields = {trim(fields[static_cast<std::size_t>(index_column)]),
                      trim(fields[static_cast<std::size_t>(name_column)])};
        } else {
            std::istringstream words(line);
            std::string word;
            while (words >> word) fields.push_back(word);
        }
        std::int64_t value = 0;
        if (fields.size() < 2 || !parse_integer(fields[0], value)) {
            throw InvalidInput(path + ":" + std::to_string(line_number) +
                               ": expected an integer label value followed by a name");
        }
        if (value == 0) {
            continue;  // background
        }
        if (!table.emplace(value, fields[1]).second) {
            throw InvalidInput(path + ":" + std::to_string(line_number) + ": label " + std::to_string(value) +
                               " appears twice");
        }
    }
    LabelTable result;
    for (const auto& [value, name] : table) {
        result.values.push_back(value);
        result.names.push_back(name);
    }
    if (result.values.empty()) {
        throw InvalidInput(path + ": label table lists no regions");
    }
    return result;
}

}  // namespace rewire
