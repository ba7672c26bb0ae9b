// The confounds TSV: fMRIPrep's table of one regressor per column and one volume per line, read as
// pandas.read_csv(sep="\t") reads it (nilearn's load_confounds_file_as_dataframe).
#include <charconv>
#include <limits>
#include <set>

#include "internal.hpp"

namespace rewire {
namespace {

using confounds_detail::contains;
using confounds_detail::split;

std::string trim(const std::string& text) {
    const auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos)
        return "";
    const auto end = text.find_last_not_of(" \t\r\n");
    return text.substr(begin, end - begin + 1);
}

// pandas.read_csv's default missing-value markers: these cells are NaN, not an error.
bool is_missing_marker(const std::string& cell) {
    static const std::set<std::string> markers = {
        "",    "n/a",  "N/A", "NA",   "<NA>", "#N/A",   "#N/A N/A", "#NA",     "NULL",    "null",
        "NaN", "-NaN", "nan", "-nan", "None", "1.#IND", "-1.#IND",  "1.#QNAN", "-1.#QNAN"};
    return markers.count(cell) > 0;
}

/// A decimal number as pandas reads one (optional sign, digits, exponent, inf); false otherwise.
bool parse_number(const std::string& cell, double& value) {
    const char* begin = cell.data();
    const char* end = begin + cell.size();
    if (begin != end && *begin == '+')
        ++begin;  // from_chars rejects a leading '+', pandas accepts it
    if (begin == end)
        return false;
    const auto result = std::from_chars(begin, end, value);
    return result.ec == std::errc() && result.ptr == end;
}

// nilearn's test for fMRIPrep 1.0/1.1 headers: mixed case and no underscore.
bool is_camel_case(const std::string& name) {
    bool lower = false;
    bool upper = false;
    for (unsigned char c : name) {
        lower = lower || (c >= 'a' && c <= 'z');
        upper = upper || (c >= 'A' && c <= 'Z');
    }
    return lower && upper && !contains(name, "_");
}

/// The non-blank lines of `text` (pandas skips blank ones) and their 1-based line numbers, without a
/// UTF-8 byte order mark or carriage returns.
void non_blank_lines(const std::string& text, std::vector<std::string>& rows,
                     std::vector<std::size_t>& numbers) {
    std::size_t begin = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    for (std::size_t number = 1; begin < text.size(); ++number) {
        std::size_t end = text.find('\n', begin);
        if (end == std::string::npos)
            end = text.size();
        std::string line = text.substr(begin, end - begin);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (!line.empty()) {
            rows.push_back(std::move(line));
            numbers.push_back(number);
        }
        begin = end + 1;
    }
}

/// The header's column names; throws InvalidInput when it is a row of numbers (no header), in camel
/// case (fMRIPrep < 1.2) or names a column twice.
std::vector<std::string> read_header(const std::string& line, const std::string& path) {
    std::vector<std::string> names;
    for (const auto& raw : split(line, '\t'))
        names.push_back(trim(raw));
    double number = 0.0;
    if (parse_number(names[0], number) || names[0] == "nan" || names[0] == "inf") {
        throw InvalidInput(path + ": the confounds file has no header line (first field '" + names[0] +
                           "' is a number); is it from a pre-1.2 fMRIPrep?");
    }
    std::set<std::string> seen;
    for (const auto& name : names) {
        if (is_camel_case(name)) {
            throw InvalidInput(path + ": column '" + name +
                               "' is in camel case, as fMRIPrep 1.0.x/1.1.x wrote "
                               "them; only fMRIPrep >= 1.2.0 confounds are supported");
        }
        if (!seen.insert(name).second)
            throw InvalidInput(path + ": column '" + name + "' appears twice in the header");
    }
    return names;
}

}  // namespace

ConfoundsTable read_confounds_table(const std::string& path) {
    return confounds_detail::parse_confounds_table(confounds_detail::read_text(path, "confounds file"), path);
}

ConfoundsTable confounds_detail::parse_confounds_table(const std::string& text, const std::string& path) {
    std::vector<std::string> rows;
    std::vector<std::size_t> line_numbers;
    non_blank_lines(text, rows, line_numbers);
    if (rows.empty())
        throw InvalidInput(path + ": the confounds file is empty (expected a header line)");
    ConfoundsTable table;
    table.path = path;
    table.names = read_header(rows[0], path);
    const std::size_t k = table.names.size();
    const auto t = static_cast<Eigen::Index>(rows.size() - 1);
    if (t == 0)
        throw InvalidInput(path + ": the confounds file has a header but no rows (expected one per volume)");
    table.values.resize(t, static_cast<Eigen::Index>(k));
    table.non_numeric.assign(k, "");
    for (Eigen::Index r = 0; r < t; ++r) {
        const auto fields = split(rows[static_cast<std::size_t>(r) + 1], '\t');
        const std::size_t line = line_numbers[static_cast<std::size_t>(r) + 1];
        if (fields.size() != k) {
            throw InvalidInput(path + ": line " + std::to_string(line) + " has " +
                               std::to_string(fields.size()) + " tab-separated fields, expected " +
                               std::to_string(k) + " (one per column)");
        }
        for (std::size_t j = 0; j < k; ++j) {
            const std::string cell = trim(fields[j]);
            double value = std::numeric_limits<double>::quiet_NaN();
            if (!is_missing_marker(cell) && !parse_number(cell, value)) {
                value = std::numeric_limits<double>::quiet_NaN();
                if (table.non_numeric[j].empty()) {
                    table.non_numeric[j] =
                        "frame " + std::to_string(r) + ", line " + std::to_string(line) + ": '" + cell + "'";
                }
            }
            table.values(r, static_cast<Eigen::Index>(j)) = value;
        }
    }
    return table;
}

}  // namespace rewire
