// rewire._core — fMRIPrep confounds and nilearn's load_confounds strategies (confounds.hpp).
// Options cross as nilearn's strings and are parsed here, only for the components in the strategy
// (nilearn ignores the parameters of components it does not load).
#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "rewire/io/confounds.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {
namespace {

ConfoundsOptions make_options(const std::vector<std::string>& strategy, const std::string& motion,
                              std::int64_t scrub, double fd_threshold, double std_dvars_threshold,
                              const std::string& wm_csf, const std::string& global_signal,
                              const std::string& compcor, std::int64_t n_compcor,
                              const std::string& ica_aroma, bool demean) {
    ConfoundsOptions o;
    o.strategy.clear();
    for (const auto& name : strategy)
        o.strategy.push_back(parse_confound_component(name));
    if (o.uses(ConfoundComponent::motion))
        o.motion = parse_confound_model(motion, "motion");
    if (o.uses(ConfoundComponent::wm_csf))
        o.wm_csf = parse_confound_model(wm_csf, "wm_csf");
    if (o.uses(ConfoundComponent::global_signal)) {
        o.global_signal = parse_confound_model(global_signal, "global_signal");
    }
    if (o.uses(ConfoundComponent::compcor)) {
        o.compcor = parse_compcor_type(compcor);
        o.n_compcor = n_compcor;
    }
    if (o.uses(ConfoundComponent::ica_aroma))
        o.ica_aroma = parse_ica_aroma_type(ica_aroma);
    if (o.uses(ConfoundComponent::scrub)) {
        o.scrub = scrub;
        o.fd_threshold = fd_threshold;
        o.std_dvars_threshold = std_dvars_threshold;
    }
    o.demean = demean;
    return o;
}

py::dict confounds_dict(const Confounds& c) {
    py::dict d;
    d["source"] = c.source;
    d["names"] = c.names;
    d["values"] = c.values;
    d["outliers"] = c.outliers;
    d["sample_mask"] = c.sample_mask;
    d["censored"] = c.censored;
    d["selected_any"] = c.selected_any;
    d["frames"] = c.frames;
    return d;
}

/// The options of a preset as nilearn's keyword values (n_compcor: "all" or an int).
py::dict options_dict(const ConfoundsOptions& o) {
    py::dict d;
    std::vector<std::string> strategy;
    for (auto c : o.strategy)
        strategy.emplace_back(to_string(c));
    d["strategy"] = strategy;
    d["motion"] = to_string(o.motion);
    d["scrub"] = o.scrub;
    d["fd_threshold"] = o.fd_threshold;
    d["std_dvars_threshold"] = o.std_dvars_threshold;
    d["wm_csf"] = to_string(o.wm_csf);
    d["global_signal"] = to_string(o.global_signal);
    d["compcor"] = to_string(o.compcor);
    if (o.n_compcor < 0) {
        d["n_compcor"] = "all";
    } else {
        d["n_compcor"] = o.n_compcor;
    }
    d["ica_aroma"] = to_string(o.ica_aroma);
    d["demean"] = o.demean;
    return d;
}

}  // namespace

void bind_confounds(py::module_& m) {
    m.def(
        "load_confounds",
        [](const std::string& path, const std::vector<std::string>& strategy, const std::string& motion,
           std::int64_t scrub, double fd_threshold, double std_dvars_threshold, const std::string& wm_csf,
           const std::string& global_signal, const std::string& compcor, std::int64_t n_compcor,
           const std::string& ica_aroma, bool demean) {
            const ConfoundsOptions options =
                make_options(strategy, motion, scrub, fd_threshold, std_dvars_threshold, wm_csf,
                             global_signal, compcor, n_compcor, ica_aroma, demean);
            Confounds c;
            {
                py::gil_scoped_release release;
                c = load_confounds(path, options);
            }
            return confounds_dict(c);
        },
        "path"_a, "strategy"_a, "motion"_a, "scrub"_a, "fd_threshold"_a, "std_dvars_threshold"_a, "wm_csf"_a,
        "global_signal"_a, "compcor"_a, "n_compcor"_a, "ica_aroma"_a, "demean"_a,
        "Confounds of one run (path: the TSV or an fMRIPrep image beside it); n_compcor -1 = all. Returns a "
        "dict "
        "with names, values (T, K), outliers, sample_mask, censored, selected_any, frames, source.");

    m.def(
        "default_confounds_options", []() { return options_dict(ConfoundsOptions{}); },
        "ConfoundsOptions' defaults as nilearn keyword values.");

    m.def(
        "confounds_presets",
        []() {
            std::vector<std::string> names;
            for (const auto& p : confounds_presets())
                names.push_back(p.name);
            return names;
        },
        "Names of the presets: nilearn's, then XCP-D's.");

    m.def(
        "confounds_preset",
        [](const std::string& name) {
            const ConfoundsPreset& p = confounds_preset(name);
            py::dict d;
            d["name"] = p.name;
            d["description"] = p.description;
            d["options"] = options_dict(p.options);
            d["tunable"] = p.tunable;
            return d;
        },
        "name"_a, "A preset: its options (nilearn keyword values) and the parameters a caller may override.");

    m.def("find_confounds_file", &find_confounds_file, "image"_a, "full_aroma"_a = false,
          py::call_guard<py::gil_scoped_release>(),
          "The confounds TSV beside an fMRIPrep image, by nilearn's rules.");
    m.def(
        "confounds_file_beside",
        [](const std::string& image) -> std::optional<std::string> {
            std::string found = confounds_file_beside(image);
            if (found.empty())
                return std::nullopt;
            return found;
        },
        "image"_a, py::call_guard<py::gil_scoped_release>(),
        "find_confounds_file's search without nilearn's image-name check: the path, or None when none "
        "exists.");

    m.def(
        "read_confounds_table",
        [](const std::string& path) {
            ConfoundsTable t;
            {
                py::gil_scoped_release release;
                t = read_confounds_table(path);
            }
            py::dict d;
            d["names"] = t.names;
            d["values"] = t.values;
            d["non_numeric"] = t.non_numeric;
            return d;
        },
        "path"_a,
        "The TSV as names, values (T, K; NaN for n/a and non-numeric cells) and non_numeric notes.");

    m.def(
        "framewise_displacement",
        [](const Eigen::Ref<const Eigen::MatrixXd>& motion, double radius) {
            return framewise_displacement(motion, radius);
        },
        "motion"_a, "radius"_a = 50.0, py::call_guard<py::gil_scoped_release>(),
        "Power 2012 framewise displacement of (T, 6) motion parameters (mm, radians); first value NaN.");

    m.def("scrub_segments", &scrub_segments, "censored"_a, "frames"_a, "min_segment"_a,
          "Power 2014 segment rule (nilearn's optimize_scrub): censored frames extended by short segments.");
}

}  // namespace rewire::python
