// fMRIPrep confounds: TSV and JSON reading, the confounds file beside an image, strategy selection
// (nilearn's load_confounds) and the presets.
#include "rewire/io/confounds.hpp"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

namespace rewire {
namespace {

std::string read_text(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw IoError(path + ": cannot open the " + what +
                      (std::filesystem::exists(path) ? "" : " (no such file)"));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad())
        throw IoError(path + ": error while reading the " + what);
    return buffer.str();
}

std::vector<std::string> split(const std::string& line, char separator) {
    std::vector<std::string> fields;
    std::size_t begin = 0;
    while (true) {
        const std::size_t end = line.find(separator, begin);
        fields.push_back(line.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
        if (end == std::string::npos)
            break;
        begin = end + 1;
    }
    return fields;
}

std::string trim(const std::string& text) {
    const auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos)
        return "";
    const auto end = text.find_last_not_of(" \t\r\n");
    return text.substr(begin, end - begin + 1);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0)
            out += separator;
        out += items[i];
    }
    return out;
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

// ---------------------------------------------------------------------------------------------------
// A small JSON reader: enough to walk any document and keep the top-level keys and their "Mask".

class JsonReader {
public:
    JsonReader(const std::string& text, const std::string& path) : text_(text), path_(path) {}

    ConfoundsMetadata read_top_level() {
        ConfoundsMetadata meta;
        meta.path = path_;
        skip_space();
        if (!consume('{'))
            fail("expected a JSON object at the top level");
        skip_space();
        if (consume('}'))
            return finish(meta);
        while (true) {
            skip_space();
            std::string key = read_string();
            skip_space();
            if (!consume(':'))
                fail("expected ':' after key \"" + key + "\"");
            skip_space();
            std::string mask;
            bool has_mask = false;
            if (peek() == '{') {
                read_object_mask(mask, has_mask);
            } else {
                skip_value();
            }
            meta.keys.push_back(key);
            meta.masks.push_back(mask);
            meta.has_mask.push_back(has_mask);
            skip_space();
            if (consume(','))
                continue;
            if (consume('}'))
                break;
            fail("expected ',' or '}' after the value of \"" + key + "\"");
        }
        return finish(meta);
    }

private:
    ConfoundsMetadata& finish(ConfoundsMetadata& meta) {
        skip_space();
        if (pos_ != text_.size())
            fail("unexpected text after the top-level object");
        return meta;
    }

    [[noreturn]] void fail(const std::string& what) const {
        std::size_t line = 1;
        for (std::size_t i = 0; i < pos_ && i < text_.size(); ++i)
            line += text_[i] == '\n' ? 1 : 0;
        throw InvalidInput(path_ + ": not valid JSON at line " + std::to_string(line) + ": " + what);
    }
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool consume(char c) {
        if (peek() == c && pos_ < text_.size()) {
            ++pos_;
            return true;
        }
        return false;
    }
    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }
    static void append_utf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }
    unsigned read_hex4() {
        if (pos_ + 4 > text_.size())
            fail("truncated \\u escape");
        unsigned code = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            code <<= 4;
            if (c >= '0' && c <= '9')
                code |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                code |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                code |= static_cast<unsigned>(c - 'A' + 10);
            else
                fail("bad \\u escape");
        }
        return code;
    }
    std::string read_string() {
        if (!consume('"'))
            fail("expected a string");
        std::string out;
        while (true) {
            if (pos_ >= text_.size())
                fail("unterminated string");
            const char c = text_[pos_++];
            if (c == '"')
                return out;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size())
                fail("unterminated string");
            const char e = text_[pos_++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    unsigned code = read_hex4();
                    if (code >= 0xD800 && code < 0xDC00 && text_.compare(pos_, 2, "\\u") == 0) {
                        pos_ += 2;
                        const unsigned low = read_hex4();
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, code);
                    break;
                }
                default:
                    fail(std::string("bad escape \\") + e);
            }
        }
    }
    void read_object_mask(std::string& mask, bool& has_mask) {
        consume('{');
        skip_space();
        if (consume('}'))
            return;
        while (true) {
            skip_space();
            const std::string key = read_string();
            skip_space();
            if (!consume(':'))
                fail("expected ':' after key \"" + key + "\"");
            skip_space();
            if (key == "Mask" && peek() == '"') {
                mask = read_string();
                has_mask = true;
            } else {
                skip_value();
            }
            skip_space();
            if (consume(','))
                continue;
            if (consume('}'))
                return;
            fail("expected ',' or '}' in an object");
        }
    }
    void skip_value() {
        skip_space();
        const char c = peek();
        if (c == '"') {
            read_string();
        } else if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++pos_;
            skip_space();
            if (consume(close))
                return;
            while (true) {
                skip_space();
                if (close == '}') {
                    read_string();
                    skip_space();
                    if (!consume(':'))
                        fail("expected ':' in an object");
                }
                skip_value();
                skip_space();
                if (consume(','))
                    continue;
                if (consume(close))
                    return;
                fail(std::string("expected ',' or '") + close + "'");
            }
        } else if (text_.compare(pos_, 4, "true") == 0 || text_.compare(pos_, 4, "null") == 0) {
            pos_ += 4;
        } else if (text_.compare(pos_, 5, "false") == 0) {
            pos_ += 5;
        } else if (text_.compare(pos_, 3, "NaN") == 0) {  // Python's json writes NaN
            pos_ += 3;
        } else if (text_.compare(pos_, 8, "Infinity") == 0) {
            pos_ += 8;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            const std::size_t start = pos_;
            ++pos_;
            if (text_.compare(pos_, 8, "Infinity") == 0) {
                pos_ += 8;
                return;
            }
            while (pos_ < text_.size() &&
                   (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
                    text_[pos_] == 'e' || text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-')) {
                ++pos_;
            }
            double value = 0.0;
            if (!parse_number(text_.substr(start, pos_ - start), value))
                fail("bad number");
        } else {
            fail("unexpected character");
        }
    }

    const std::string& text_;
    const std::string& path_;
    std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Strategy selection

/// A column chosen by a strategy: its name and its T values.
struct Picked {
    std::string name;
    Eigen::VectorXd values;
};

/// Missing columns, per component, for one combined error message.
struct Missing {
    std::vector<std::string> lines;
    void add(const std::string& component, const std::string& what) {
        lines.push_back(component + ": " + what);
    }
};

class Selector {
public:
    Selector(const ConfoundsTable& table, const ConfoundsMetadata& meta, const ConfoundsOptions& options)
        : table_(table), meta_(meta), options_(options) {}

    std::vector<Picked> picked;
    Missing missing;

    void take(std::int64_t column) {
        require_numeric(column);
        picked.push_back({table_.names[static_cast<std::size_t>(column)], table_.values.col(column)});
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
            missing.add(component, absent.size() == columns.size() && absent.size() > 1
                                       ? "none of " + join(columns, ", ")
                                       : join(absent, ", "));
            return;
        }
        for (const auto& name : columns)
            take(table_.column(name));
    }

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
            missing.add("ica_aroma (basic)", "no column containing 'aroma'");
        for (auto j : found)
            take(j);
    }

    /// nilearn's find_compcor: for each prefix, the component names are re-numbered from the count of
    /// sidecar keys that contain "<prefix>_comp_cor"; anatomical ones are split by their "Mask".
    void compcor() {
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
                        throw InvalidInput(meta_.path + ": no entry '" + name +
                                           "', although the sidecar has " + std::to_string(count) +
                                           " keys containing '" + stem + "' (numbered from _00)");
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
            missing.add(label, "the sidecar " + meta_.path + " lists no such components");
            return;
        }
        take_all(columns, label);
    }

    /// Scrubbing: one-hot motion_outlier_k columns for the frames to censor.
    void scrub() {
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
                missing.add("scrub", "framewise_displacement, or the motion parameters to compute it (" +
                                         join(absent, ", ") + ")");
                return;
            }
            fd = framewise_displacement(motion);
        }
        const std::int64_t dvars_column = table_.column("std_dvars");
        if (dvars_column < 0) {
            missing.add("scrub", "std_dvars");
            return;
        }
        require_numeric(dvars_column);
        const auto censored = motion_outliers(fd, table_.values.col(dvars_column), options_.fd_threshold,
                                              options_.std_dvars_threshold, options_.scrub);
        for (std::size_t k = 0; k < censored.size(); ++k) {
            Eigen::VectorXd one_hot = Eigen::VectorXd::Zero(frames);
            one_hot[censored[k]] = 1.0;
            picked.push_back({"motion_outlier_" + std::to_string(k), one_hot});
        }
    }

private:
    const ConfoundsTable& table_;
    const ConfoundsMetadata& meta_;
    const ConfoundsOptions& options_;
};

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

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Files

ConfoundsTable read_confounds_table(const std::string& path) {
    const std::string text = read_text(path, "confounds file");
    ConfoundsTable table;
    table.path = path;
    std::vector<std::string> lines;
    {
        std::size_t begin = 0;
        if (text.compare(0, 3, "\xEF\xBB\xBF") == 0)
            begin = 3;  // UTF-8 byte order mark
        while (begin < text.size()) {
            std::size_t end = text.find('\n', begin);
            if (end == std::string::npos)
                end = text.size();
            std::string line = text.substr(begin, end - begin);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            lines.push_back(line);
            begin = end + 1;
        }
    }
    std::vector<std::size_t> line_numbers;  // 1-based numbers of the non-blank lines (pandas skips blanks)
    std::vector<std::string> rows;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].empty())
            continue;
        line_numbers.push_back(i + 1);
        rows.push_back(lines[i]);
    }
    if (rows.empty())
        throw InvalidInput(path + ": the confounds file is empty (expected a header line)");
    for (const auto& raw : split(rows[0], '\t'))
        table.names.push_back(trim(raw));
    double number = 0.0;
    if (parse_number(table.names[0], number) || table.names[0] == "nan" || table.names[0] == "inf") {
        throw InvalidInput(path + ": the confounds file has no header line (first field '" + table.names[0] +
                           "' is a number); is it from a pre-1.2 fMRIPrep?");
    }
    std::set<std::string> seen;
    for (const auto& name : table.names) {
        if (is_camel_case(name)) {
            throw InvalidInput(path + ": column '" + name +
                               "' is in camel case, as fMRIPrep 1.0.x/1.1.x wrote "
                               "them; only fMRIPrep >= 1.2.0 confounds are supported");
        }
        if (!seen.insert(name).second)
            throw InvalidInput(path + ": column '" + name + "' appears twice in the header");
    }
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

ConfoundsMetadata read_confounds_metadata(const std::string& path) {
    const std::string text = read_text(path, "confounds JSON sidecar");
    return JsonReader(text, path).read_top_level();
}

std::string confounds_sidecar(const std::string& tsv_path) {
    const std::string ext = ".tsv";
    if (tsv_path.size() >= ext.size() &&
        tsv_path.compare(tsv_path.size() - ext.size(), ext.size(), ext) == 0) {
        return tsv_path.substr(0, tsv_path.size() - ext.size()) + ".json";
    }
    return tsv_path + ".json";
}

std::string find_confounds_file(const std::string& image_path, bool full_aroma) {
    namespace fs = std::filesystem;
    check_image_name(image_path, full_aroma);
    const fs::path image(image_path);
    const std::string base = image.filename().string();
    // nilearn's parse_bids_filename: "key-label" parts before the final "suffix.extension" part; a
    // repeated key keeps its first position and its last label.
    auto parts = split(base, '_');
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
    // Longest first: the candidate that keeps the most entities is the best match.
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    std::vector<std::string> found;
    for (const auto& name : candidates) {
        const fs::path candidate = image.parent_path() / name;
        std::error_code error;
        if (fs::is_regular_file(candidate, error))
            found.push_back(candidate.string());
    }
    if (found.empty()) {
        throw IoError(image_path +
                      ": no confounds file beside it (looked for *_desc-confounds_timeseries.tsv "
                      "or *_desc-confounds_regressors.tsv sharing its entities, in the same folder)");
    }
    if (found.size() > 1) {
        throw InvalidInput(image_path + ": more than one confounds file matches:\n\t" + join(found, "\n\t"));
    }
    return found[0];
}

// ---------------------------------------------------------------------------------------------------
// Strategies

Confounds select_confounds(const ConfoundsTable& table, const ConfoundsMetadata& metadata,
                           const ConfoundsOptions& options) {
    options.validate();
    const std::int64_t frames = table.frames();
    Selector select(table, metadata, options);
    select.non_steady_state();  // always: nilearn drops non-steady-state volumes whatever the strategy
    for (const auto component : options.strategy) {
        switch (component) {
            case ConfoundComponent::motion:
                select.motion();
                break;
            case ConfoundComponent::high_pass:
                select.high_pass();
                break;
            case ConfoundComponent::wm_csf:
                select.wm_csf();
                break;
            case ConfoundComponent::global_signal:
                select.global_signal();
                break;
            case ConfoundComponent::compcor:
                select.compcor();
                break;
            case ConfoundComponent::ica_aroma:
                select.ica_aroma();
                break;
            case ConfoundComponent::scrub:
                select.scrub();
                break;
            case ConfoundComponent::non_steady_state:
                break;
        }
    }
    if (!select.missing.lines.empty()) {
        throw InvalidInput(table.path + ": the strategy needs columns the file does not have:\n  " +
                           join(select.missing.lines, "\n  ") +
                           "\nYou may want to try a different denoising strategy.");
    }

    Confounds out;
    out.source = table.path;
    out.frames = frames;
    out.selected_any = !select.picked.empty();
    // nilearn separates the one-hot outlier columns by name, then returns the rest sorted by name.
    std::vector<const Picked*> regressors;
    std::vector<const Picked*> outliers;
    for (const auto& p : select.picked) {
        (contains(p.name, "motion_outlier") || contains(p.name, "non_steady_state") ? outliers : regressors)
            .push_back(&p);
    }
    std::stable_sort(regressors.begin(), regressors.end(),
                     [](const Picked* a, const Picked* b) { return a->name < b->name; });
    std::sort(outliers.begin(), outliers.end(),
              [](const Picked* a, const Picked* b) { return a->name < b->name; });
    outliers.erase(std::unique(outliers.begin(), outliers.end(),
                               [](const Picked* a, const Picked* b) { return a->name == b->name; }),
                   outliers.end());

    // Sample mask: a frame is kept when no outlier column flags it (pandas' sum skips n/a).
    out.censored = !outliers.empty();
    std::int64_t non_steady = 0;  // frames flagged by each kind, for the message below
    std::int64_t scrubbed = 0;
    for (std::int64_t t = 0; t < frames; ++t) {
        bool by_non_steady = false;
        bool by_scrub = false;
        for (const auto* p : outliers) {
            const double v = p->values[t];
            if (!std::isnan(v) && v != 0.0) {
                (contains(p->name, "non_steady_state") ? by_non_steady : by_scrub) = true;
            }
        }
        non_steady += by_non_steady ? 1 : 0;
        scrubbed += by_scrub ? 1 : 0;
        if (!by_non_steady && !by_scrub)
            out.sample_mask.push_back(t);
    }
    for (const auto* p : outliers)
        out.outliers.push_back(p->name);
    if (out.sample_mask.empty()) {
        std::ostringstream detail;
        detail << "non-steady-state: " << non_steady << "; scrubbing (fd_threshold=" << options.fd_threshold
               << ", std_dvars_threshold=" << options.std_dvars_threshold << ", scrub=" << options.scrub
               << "): " << scrubbed;
        throw InvalidInput(table.path + ": every one of the " + std::to_string(frames) +
                           " frames would be censored (" + detail.str() +
                           "); raise the thresholds or exclude this run");
    }

    const auto k = static_cast<Eigen::Index>(regressors.size());
    out.values.resize(frames, k);
    for (Eigen::Index j = 0; j < k; ++j) {
        const Picked& p = *regressors[static_cast<std::size_t>(j)];
        out.names.push_back(p.name);
        out.values.col(j) = p.values;
        // Derivatives have no value at the first frame: nilearn copies the second frame's.
        if (frames > 1 && std::isnan(out.values(0, j)))
            out.values(0, j) = out.values(1, j);
        for (std::int64_t t = 0; t < frames; ++t) {
            if (std::isnan(out.values(t, j))) {
                throw InvalidInput(table.path + ": column '" + p.name + "' is n/a at frame " +
                                   std::to_string(t) +
                                   " (0-based); only the first frame of a derivative column may be n/a");
            }
        }
    }
    if (options.demean && k > 0) {
        if (out.censored) {
            // The mean over the kept frames (nilearn: confounds.iloc[sample_mask].mean()).
            Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(k);
            for (auto t : out.sample_mask)
                mean += out.values.row(t);
            mean /= static_cast<double>(out.sample_mask.size());
            out.values.rowwise() -= mean;
        } else {
            // sklearn.preprocessing.scale(with_std=False): subtract the mean, and once more when the
            // first pass left a mean further than 1e-8 from zero (large values).
            auto column_means = [&]() {
                Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(k);
                for (std::int64_t t = 0; t < frames; ++t)
                    mean += out.values.row(t);
                return Eigen::RowVectorXd(mean / static_cast<double>(frames));
            };
            out.values.rowwise() -= column_means();
            const Eigen::RowVectorXd residual = column_means();
            if ((residual.array().abs() > 1e-8).any())
                out.values.rowwise() -= residual;
        }
    }
    return out;
}

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

// ---------------------------------------------------------------------------------------------------
// Presets

const std::vector<ConfoundsPreset>& confounds_presets() {
    using C = ConfoundComponent;
    static const std::vector<ConfoundsPreset> presets = [] {
        std::vector<ConfoundsPreset> list;
        auto add = [&](std::string name, std::string description, std::vector<C> strategy,
                       std::vector<std::string> tunable, auto&& configure) {
            ConfoundsPreset p;
            p.name = std::move(name);
            p.description = std::move(description);
            p.options.strategy = std::move(strategy);
            configure(p.options);
            p.tunable = std::move(tunable);
            list.push_back(std::move(p));
        };
        add("simple", "high-pass, 24 motion parameters and mean WM/CSF signals (Fox et al. 2005)",
            {C::high_pass, C::motion, C::wm_csf}, {"motion", "wm_csf", "global_signal", "demean"},
            [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::basic;
            });
        add("scrubbing",
            "high-pass, 24 motion parameters, 8 WM/CSF terms and scrubbing (Power et al. 2012, 2014)",
            {C::high_pass, C::motion, C::wm_csf, C::scrub},
            {"motion", "wm_csf", "scrub", "fd_threshold", "std_dvars_threshold", "global_signal", "demean"},
            [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::full;
                o.scrub = 5;
                o.fd_threshold = 0.5;
                o.std_dvars_threshold = 1.5;
            });
        add("compcor", "high-pass, 24 motion parameters and anatomical CompCor (Behzadi et al. 2007)",
            {C::high_pass, C::motion, C::compcor},
            {"motion", "n_compcor", "compcor", "global_signal", "demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.n_compcor = -1;
                o.compcor = CompCorType::anat_combined;
            });
        add("ica_aroma",
            "high-pass and mean WM/CSF signals on the ICA-AROMA denoised image (Pruim et al. 2015)",
            {C::high_pass, C::wm_csf, C::ica_aroma}, {"wm_csf", "global_signal", "demean"},
            [](ConfoundsOptions& o) {
                o.wm_csf = ConfoundModel::basic;
                o.ica_aroma = IcaAromaType::full;
            });
        add("24P",
            "XCP-D 24P: 6 motion parameters, derivatives and squares of both (Satterthwaite et al. 2013)",
            {C::motion}, {"demean"}, [](ConfoundsOptions& o) { o.motion = ConfoundModel::full; });
        add("27P", "XCP-D 27P: 24P + mean WM, CSF and global signals (Ciric et al. 2017)",
            {C::motion, C::wm_csf, C::global_signal}, {"demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::basic;
                o.global_signal = ConfoundModel::basic;
            });
        add("36P",
            "XCP-D 36P: 24P + WM, CSF and global signals with derivatives and squares (Satterthwaite et "
            "al. 2013; Ciric et al. 2017)",
            {C::motion, C::wm_csf, C::global_signal}, {"demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::full;
                o.global_signal = ConfoundModel::full;
            });
        add("acompcor",
            "XCP-D acompcor: 6 motion parameters + derivatives, top 5 WM and 5 CSF aCompCor "
            "components, cosines (Behzadi et al. 2007; Muschelli et al. 2014)",
            {C::high_pass, C::motion, C::compcor}, {"demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::derivatives;
                o.compcor = CompCorType::anat_separated;
                o.n_compcor = 5;
            });
        add("acompcor_gsr", "XCP-D acompcor_gsr: acompcor + mean WM, CSF and global signals",
            {C::high_pass, C::motion, C::compcor, C::wm_csf, C::global_signal}, {"demean"},
            [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::derivatives;
                o.compcor = CompCorType::anat_separated;
                o.n_compcor = 5;
                o.wm_csf = ConfoundModel::basic;
                o.global_signal = ConfoundModel::basic;
            });
        return list;
    }();
    return presets;
}

const ConfoundsPreset& confounds_preset(const std::string& name) {
    std::vector<std::string> names;
    for (const auto& p : confounds_presets()) {
        if (p.name == name)
            return p;
        names.push_back("'" + p.name + "'");
    }
    throw InvalidInput("confounds: unknown denoising strategy '" + name + "'; valid presets are " +
                       join(names, ", "));
}

// ---------------------------------------------------------------------------------------------------
// Names

const char* to_string(ConfoundComponent component) {
    switch (component) {
        case ConfoundComponent::motion:
            return "motion";
        case ConfoundComponent::high_pass:
            return "high_pass";
        case ConfoundComponent::wm_csf:
            return "wm_csf";
        case ConfoundComponent::global_signal:
            return "global_signal";
        case ConfoundComponent::compcor:
            return "compcor";
        case ConfoundComponent::ica_aroma:
            return "ica_aroma";
        case ConfoundComponent::scrub:
            return "scrub";
        case ConfoundComponent::non_steady_state:
            return "non_steady_state";
    }
    return "?";
}

const char* to_string(ConfoundModel model) {
    switch (model) {
        case ConfoundModel::basic:
            return "basic";
        case ConfoundModel::power2:
            return "power2";
        case ConfoundModel::derivatives:
            return "derivatives";
        case ConfoundModel::full:
            return "full";
    }
    return "?";
}

const char* to_string(CompCorType type) {
    switch (type) {
        case CompCorType::anat_combined:
            return "anat_combined";
        case CompCorType::anat_separated:
            return "anat_separated";
        case CompCorType::temporal:
            return "temporal";
        case CompCorType::temporal_anat_combined:
            return "temporal_anat_combined";
        case CompCorType::temporal_anat_separated:
            return "temporal_anat_separated";
    }
    return "?";
}

const char* to_string(IcaAromaType type) {
    return type == IcaAromaType::full ? "full" : "basic";
}

namespace {
template <typename E>
E parse_name(const std::string& name, const std::vector<E>& values, const std::string& parameter) {
    std::vector<std::string> names;
    for (const E v : values) {
        if (name == to_string(v))
            return v;
        names.push_back(std::string("'") + to_string(v) + "'");
    }
    throw InvalidInput("confounds: '" + parameter + "' must be one of " + join(names, ", ") + "; got '" +
                       name + "'");
}
}  // namespace

ConfoundComponent parse_confound_component(const std::string& name) {
    using C = ConfoundComponent;
    if (name == "tedana") {
        throw InvalidInput(
            "confounds: the 'tedana' strategy is not supported by rewire (it reads tedana's ICA "
            "mixing files, not fMRIPrep confounds); valid strategies are 'motion', 'high_pass', "
            "'wm_csf', 'global_signal', 'compcor', 'ica_aroma', 'scrub', 'non_steady_state'");
    }
    return parse_name<C>(name,
                         {C::motion, C::high_pass, C::wm_csf, C::global_signal, C::compcor, C::ica_aroma,
                          C::scrub, C::non_steady_state},
                         "strategy");
}

ConfoundModel parse_confound_model(const std::string& name, const std::string& parameter) {
    using M = ConfoundModel;
    return parse_name<M>(name, {M::basic, M::power2, M::derivatives, M::full}, parameter);
}

CompCorType parse_compcor_type(const std::string& name) {
    using T = CompCorType;
    return parse_name<T>(name,
                         {T::anat_combined, T::anat_separated, T::temporal, T::temporal_anat_combined,
                          T::temporal_anat_separated},
                         "compcor");
}

IcaAromaType parse_ica_aroma_type(const std::string& name) {
    return parse_name<IcaAromaType>(name, {IcaAromaType::full, IcaAromaType::basic}, "ica_aroma");
}

}  // namespace rewire
