// rewire._core — fMRIPrep confounds and nilearn's load_confounds strategies (confounds.hpp). Options cross
// as the bound ConfoundsOptions; its enums take nilearn's strings.
#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "rewire/io/confounds.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {
void bind_confounds(py::module_& m) {
    {
        using C = ConfoundComponent;
        bind_enum<C>(m, "ConfoundComponent",
                     "A group of confounds in a strategy (nilearn's strategy entries).",
                     {{"motion", C::motion, "motion"},
                      {"high_pass", C::high_pass, "high_pass"},
                      {"wm_csf", C::wm_csf, "wm_csf"},
                      {"global_signal", C::global_signal, "global_signal"},
                      {"compcor", C::compcor, "compcor"},
                      {"ica_aroma", C::ica_aroma, "ica_aroma"},
                      {"scrub", C::scrub, "scrub"},
                      {"non_steady_state", C::non_steady_state, "non_steady_state"}},
                     parse_confound_component);
        using M = ConfoundModel;
        bind_enum<M>(m, "ConfoundModel", "Expansion of a base regressor: x; x, x^2; x, x'; x, x', x^2, x'^2.",
                     {{"basic", M::basic, "basic"},
                      {"power2", M::power2, "power2"},
                      {"derivatives", M::derivatives, "derivatives"},
                      {"full", M::full, "full"}});
        using K = CompCorType;
        bind_enum<K>(m, "CompCorType", "Which CompCor components (nilearn's compcor).",
                     {{"anat_combined", K::anat_combined, "anat_combined"},
                      {"anat_separated", K::anat_separated, "anat_separated"},
                      {"temporal", K::temporal, "temporal"},
                      {"temporal_anat_combined", K::temporal_anat_combined, "temporal_anat_combined"},
                      {"temporal_anat_separated", K::temporal_anat_separated, "temporal_anat_separated"}},
                     parse_compcor_type);
        using A = IcaAromaType;
        bind_enum<A>(m, "IcaAromaType", "ICA-AROMA variant (nilearn's ica_aroma).",
                     {{"full", A::full, "full"}, {"basic", A::basic, "basic"}}, parse_ica_aroma_type);
    }

    OptionsClass<ConfoundsOptions>(
        m, "ConfoundsOptions",
        "nilearn's load_confounds parameters with nilearn 0.14's defaults (n_compcor -1: "
        "'all').")
        .field("strategy", &ConfoundsOptions::strategy, "the groups of confounds to load")
        .field("motion", &ConfoundsOptions::motion, "expansion of the six motion parameters")
        .field("scrub", &ConfoundsOptions::scrub, "minimal segment length for scrubbing (0: thresholds only)")
        .field("fd_threshold", &ConfoundsOptions::fd_threshold, "framewise displacement threshold (mm)")
        .field("std_dvars_threshold", &ConfoundsOptions::std_dvars_threshold, "standardized DVARS threshold")
        .field("wm_csf", &ConfoundsOptions::wm_csf, "expansion of csf and white_matter")
        .field("global_signal", &ConfoundsOptions::global_signal, "expansion of global_signal")
        .field("compcor", &ConfoundsOptions::compcor, "which CompCor components")
        .field("n_compcor", &ConfoundsOptions::n_compcor,
               "components kept (per mask when separated); -1: all")
        .field("ica_aroma", &ConfoundsOptions::ica_aroma, "which ICA-AROMA variant")
        .field("demean", &ConfoundsOptions::demean, "subtract each column's mean (over the kept frames)")
        .validate()
        .finish();

    py::class_<Confounds> confounds(m, "Confounds", "The confounds of one run, as nilearn's load_confounds.");
    confounds.def_readonly("source", &Confounds::source, "the confounds TSV")
        .def_readonly("names", &Confounds::names, "K column names, sorted")
        .def_readonly("outliers", &Confounds::outliers, "one-hot columns behind the sample mask")
        .def_readonly("sample_mask", &Confounds::sample_mask, "kept frames, ascending")
        .def_readonly("censored", &Confounds::censored, "whether any outlier column exists")
        .def_readonly("selected_any", &Confounds::selected_any, "whether the strategy selected any column")
        .def_readonly("frames", &Confounds::frames, "T, volumes in the run");
    array_field(confounds, "values", &Confounds::values, "(T, K) regressors");

    m.def(
        "load_confounds",
        [](const std::string& path, const ConfoundsOptions& options) {
            py::gil_scoped_release release;
            return load_confounds(path, options);
        },
        "path"_a, "options"_a = ConfoundsOptions{},
        "Confounds of one run (path: the TSV or an fMRIPrep image beside it).");

    py::class_<ConfoundsPreset>(m, "ConfoundsPreset", "A named denoising strategy.")
        .def_readonly("name", &ConfoundsPreset::name)
        .def_readonly("description", &ConfoundsPreset::description)
        .def_readonly("options", &ConfoundsPreset::options, "the preset's strategy and defaults")
        .def_readonly("tunable", &ConfoundsPreset::tunable, "parameters a caller may override");

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
        "confounds_preset", [](const std::string& name) { return confounds_preset(name); }, "name"_a,
        "A preset (a copy): its options and the parameters a caller may override.");

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

    py::class_<ConfoundsTable> table(m, "ConfoundsTable", "A confounds TSV as fMRIPrep writes it.");
    table.def_readonly("path", &ConfoundsTable::path)
        .def_readonly("names", &ConfoundsTable::names, "K column names, in file order")
        .def_readonly("non_numeric", &ConfoundsTable::non_numeric,
                      "per column: '' or its first non-numeric cell");
    array_field(table, "values", &ConfoundsTable::values, "(T, K); NaN for n/a and non-numeric cells");

    m.def(
        "read_confounds_table",
        [](const std::string& path) {
            py::gil_scoped_release release;
            return read_confounds_table(path);
        },
        "path"_a, "The TSV as a ConfoundsTable.");

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
