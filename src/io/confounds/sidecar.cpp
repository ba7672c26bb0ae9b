// The confounds JSON sidecar (fMRIPrep >= 1.4): one entry per regressor; CompCor entries say which mask
// ("combined", "WM", "CSF") their component comes from. Parsed with JsonCpp, set to read what Python's
// json module reads: strict JSON plus NaN / Infinity / -Infinity, which json.dump writes for float
// values that are not finite, and duplicate keys (the last one counts). (JsonCpp also skips comments
// inside objects, which Python refuses; fMRIPrep writes none.)
#include <json/json.h>

#include <memory>

#include "internal.hpp"

namespace rewire {
namespace {

/// JsonCpp's messages ("* Line 3, Column 12\n  Syntax error: ...\n") on one line.
std::string one_line(std::string errors) {
    for (char& c : errors) {
        if (c == '\n')
            c = ' ';
    }
    while (!errors.empty() && errors.back() == ' ')
        errors.pop_back();
    return errors.size() > 2 && errors.compare(0, 2, "* ") == 0 ? errors.substr(2) : errors;
}

Json::Value parse_json(const std::string& text, const std::string& path) {
    Json::CharReaderBuilder builder;
    Json::CharReaderBuilder::strictMode(&builder.settings_);
    builder["allowSpecialFloats"] = true;
    builder["rejectDupKeys"] = false;
    builder["strictRoot"] = false;  // any value parses; not an object is refused below, in our words
    const std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
    Json::Value root;
    std::string errors;
    if (!reader->parse(text.data(), text.data() + text.size(), &root, &errors))
        throw InvalidInput(path + ": not valid JSON: " + one_line(errors));
    if (!root.isObject())
        throw InvalidInput(path +
                           ": not valid JSON for a confounds sidecar: expected an object at the top level");
    return root;
}

}  // namespace

ConfoundsMetadata read_confounds_metadata(const std::string& path) {
    return confounds_detail::parse_confounds_metadata(confounds_detail::read_text(path, "confounds JSON sidecar"),
                                                      path);
}

ConfoundsMetadata confounds_detail::parse_confounds_metadata(const std::string& text, const std::string& path) {
    const Json::Value root = parse_json(text, path);
    ConfoundsMetadata meta;
    meta.path = path;
    for (const std::string& key : root.getMemberNames()) {
        const Json::Value& entry = root[key];
        const bool has_mask = entry.isObject() && entry["Mask"].isString();
        meta.keys.push_back(key);
        meta.masks.push_back(has_mask ? entry["Mask"].asString() : "");
        meta.has_mask.push_back(has_mask);
    }
    return meta;
}

std::string confounds_sidecar(const std::string& tsv_path) {
    const std::string ext = ".tsv";
    if (tsv_path.size() >= ext.size() &&
        tsv_path.compare(tsv_path.size() - ext.size(), ext.size(), ext) == 0) {
        return tsv_path.substr(0, tsv_path.size() - ext.size()) + ".json";
    }
    return tsv_path + ".json";
}

}  // namespace rewire
