// rewire._core — group statistics: GLM, FDR, shuffles and permutation tests (max-T, NBS, TFNBS).
//
// Data arrive as numpy float64 (subjects, edges) in C order and are read in place (no transposing
// copy); every test runs with the GIL released, and the progress callback takes it back briefly.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "rewire/stats/all.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using DataArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IndexMatrix = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>;
using Progress = std::function<bool(std::int64_t, std::int64_t)>;

Eigen::Map<const RowMatrix> as_matrix(const DataArray& data) {
    if (data.ndim() != 2) {
        throw InvalidInput("data: expected a 2-D array (subjects, edges), got " +
                           std::to_string(data.ndim()) + " dimension(s)");
    }
    return {data.data(), data.shape(0), data.shape(1)};
}

/// The options with a progress callback that takes the GIL back briefly and stops on Ctrl-C.
stats::PermutationOptions with_progress(stats::PermutationOptions options, const Progress& progress) {
    if (progress) {
        options.progress = [progress](std::int64_t done, std::int64_t total) {
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) {
                PyErr_Clear();
                return false;  // Ctrl-C: stop the test; the caller raises KeyboardInterrupt
            }
            return progress(done, total);
        };
    }
    return options;
}

/// Runs `test` on the data without the GIL, turning a cancellation into KeyboardInterrupt.
template <typename F>
auto run_released(const DataArray& data, F&& test) {
    const auto y = as_matrix(data);
    try {
        py::gil_scoped_release release;
        return test(y);
    } catch (const stats::Cancelled&) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
}

}  // namespace

void bind_stats(py::module_& m) {
    bind_enum<stats::Statistic>(m, "Statistic", "The test statistic of a contrast.",
                                {{"t", stats::Statistic::t, "t"}, {"f", stats::Statistic::f, "f"}});
    bind_enum<stats::Tail>(m, "Tail", "Which effects a test looks for.",
                           {{"two_sided", stats::Tail::two_sided, "two-sided"},
                            {"greater", stats::Tail::greater, "greater"},
                            {"less", stats::Tail::less, "less"}});
    bind_enum<stats::ShuffleKind>(m, "ShuffleKind", "How random shuffles move the subjects.",
                                  {{"sign_flip", stats::ShuffleKind::sign_flip, "signflip"},
                                   {"permutation", stats::ShuffleKind::permutation, "permute"},
                                   {"both", stats::ShuffleKind::both, "both"}});
    bind_enum<stats::Convention>(m, "Convention", "How permutation p-values count the null (compat).",
                                 {{"rewire", stats::Convention::rewire, "rewire"},
                                  {"bctpy", stats::Convention::bctpy, "bctpy"},
                                  {"mrtrix", stats::Convention::mrtrix, "mrtrix"}});
    bind_enum<stats::NbsMeasure>(m, "NbsMeasure", "What NBS measures of a component.",
                                 {{"extent", stats::NbsMeasure::extent, "extent"},
                                  {"intensity", stats::NbsMeasure::intensity, "intensity"}});
    bind_enum<stats::ThresholdScale>(
        m, "ThresholdScale", "Units of the NBS primary threshold.",
        {{"statistic", stats::ThresholdScale::statistic, "statistic"}, {"z", stats::ThresholdScale::z, "z"}});

    OptionsClass<stats::ShuffleOptions>(m, "ShuffleOptions", "How random shuffles are drawn.")
        .field("kind", &stats::ShuffleOptions::kind, "sign flips, permutations or both")
        .field("count", &stats::ShuffleOptions::count, "number of shuffles besides the unpermuted data")
        .field("seed", &stats::ShuffleOptions::seed, "key of the generator: same seed, same shuffles")
        .field("blocks", &stats::ShuffleOptions::blocks, "exchangeability block of each subject (empty: one)")
        .field("whole_blocks", &stats::ShuffleOptions::whole_blocks, "blocks move as wholes")
        .field("exhaustive", &stats::ShuffleOptions::exhaustive, "enumerate every shuffle when they all fit")
        .field("include_identity", &stats::ShuffleOptions::include_identity,
               "shuffle 0 is the unpermuted data (MRtrix3)")
        .finish()
        .def(
            "validate", [](const stats::ShuffleOptions& o, Eigen::Index subjects) { o.validate(subjects); },
            "subjects"_a,
            "Raises ValueError naming the first option that cannot work for this many subjects.");
    OptionsClass<stats::PermutationOptions>(m, "PermutationOptions", "Options every permutation test shares.")
        .field("convention", &stats::PermutationOptions::convention, "p-value convention")
        .field("threads", &stats::PermutationOptions::threads,
               "threads (0: automatic); results do not depend on it")
        .field("z_statistic", &stats::PermutationOptions::z_statistic,
               "enhance Z values instead of the statistic (MRtrix3 3.0)")
        .finish()
        .def(
            "validate",
            [](const stats::PermutationOptions& o) {
                if (o.threads < 0)
                    throw InvalidInput("threads: must be >= 0, got " + std::to_string(o.threads));
            },
            "Raises ValueError on a negative thread count.");
    OptionsClass<stats::NbsOptions>(m, "NbsOptions", "Network-based statistic (Zalesky et al. 2010).")
        .field("threshold", &stats::NbsOptions::threshold, "primary threshold (no default: NaN)")
        .field("scale", &stats::NbsOptions::scale, "units of the threshold")
        .field("measure", &stats::NbsOptions::measure, "component measure")
        .field("tail", &stats::NbsOptions::tail, "which effects")
        .field("strict", &stats::NbsOptions::strict, "statistic > threshold (else >=, MRtrix3)")
        .field("mixed_signs", &stats::NbsOptions::mixed_signs,
               "two-sided: one set of components from |t| (bctpy)")
        .validate()
        .finish();
    OptionsClass<stats::TfnbsOptions>(m, "TfnbsOptions",
                                      "Threshold-free NBS (Baggio et al. 2018), MRtrix3's.")
        .field("dh", &stats::TfnbsOptions::dh, "height step")
        .field("e", &stats::TfnbsOptions::e, "extent exponent")
        .field("h", &stats::TfnbsOptions::h, "height exponent")
        .field("tail", &stats::TfnbsOptions::tail, "which effects")
        .validate()
        .finish();

    py::class_<stats::Model>(m, "Model", "A validated design and contrast.")
        .def_readonly("interest", &stats::Model::interest,
                      "(S, q) orthonormal basis of the effect of interest")
        .def_readonly("nuisance", &stats::Model::nuisance, "(S, P - q) orthonormal basis of the nuisance")
        .def_readonly("dof", &stats::Model::dof, "residual degrees of freedom")
        .def_readonly("statistic", &stats::Model::statistic)
        .def_property_readonly("subjects", &stats::Model::subjects)
        .def_property_readonly("nuisance_has_intercept", &stats::Model::nuisance_has_intercept);

    m.def(
        "stats_model",
        [](const Eigen::MatrixXd& design, const Eigen::MatrixXd& contrast, stats::Statistic statistic) {
            return stats::make_model(design, contrast, statistic);
        },
        "design"_a, "contrast"_a, "statistic"_a = stats::Statistic::t,
        "Validated model split (design.hpp): interest and nuisance bases.");

    py::class_<stats::GlmResult> glm(m, "GlmResult", "Edge-wise GLM.");
    glm.def_readonly("statistic", &stats::GlmResult::statistic)
        .def_readonly("df1", &stats::GlmResult::df1)
        .def_readonly("df2", &stats::GlmResult::df2)
        .def_readonly("degenerate", &stats::GlmResult::degenerate, "edges with zero residual variance");
    array_field(glm, "value", &stats::GlmResult::value, "(E,) t or F");
    array_field(glm, "p", &stats::GlmResult::p, "(E,) two-sided p for t, upper tail for F");
    array_field(glm, "effect", &stats::GlmResult::effect, "(E,) C beta for a t contrast (empty for F)");
    array_field(glm, "se", &stats::GlmResult::se, "(E,) standard error of C beta (empty for F)");
    array_field(glm, "beta", &stats::GlmResult::beta, "(P, E) regression coefficients");
    array_field(glm, "sigma2", &stats::GlmResult::sigma2, "(E,) residual variance");

    m.def(
        "stats_glm",
        [](const DataArray& data, const stats::Model& model) {
            return run_released(data, [&](const auto& y) { return stats::detail::glm_impl(y, model); });
        },
        "data"_a, "model"_a, "Edge-wise GLM of (subjects, edges) data (GlmResult).");

    m.def(
        "stats_fdr",
        [](const Eigen::VectorXd& p, const std::string& method) {
            if (method != "bh" && method != "by")
                throw InvalidInput("method: expected 'bh' or 'by', got '" + method + "'");
            return stats::fdr(p, method == "bh" ? stats::FdrMethod::bh : stats::FdrMethod::by);
        },
        "p"_a, "method"_a = "bh", py::call_guard<py::gil_scoped_release>());

    py::class_<stats::Shuffles>(m, "Shuffles", "The shuffles a permutation test runs.")
        .def_static("random", &stats::Shuffles::random, "subjects"_a, "options"_a = stats::ShuffleOptions{},
                    "Random shuffles (all of them when few enough exist).")
        .def_static("from_sign_flips", &stats::Shuffles::from_sign_flips, "signflips"_a,
                    "Explicit sign flips, (subjects, K) of +-1.")
        .def_static(
            "from_permutations",
            [](const IndexMatrix& perms) { return stats::Shuffles::from_permutations(perms); },
            "permutations"_a, "Explicit permutations, (K, subjects) of row indices.")
        .def_property_readonly("size", &stats::Shuffles::size)
        .def_property_readonly("subjects", &stats::Shuffles::subjects)
        .def_property_readonly("exhaustive", &stats::Shuffles::exhaustive)
        .def(
            "arrays",
            [](const stats::Shuffles& shuffles) {
                const Eigen::Index subjects = shuffles.subjects();
                IndexMatrix perm(shuffles.size(), subjects);
                Eigen::MatrixXd sign(subjects, shuffles.size());
                std::vector<std::int64_t> p(static_cast<std::size_t>(subjects));
                std::vector<double> s(static_cast<std::size_t>(subjects));
                for (std::int64_t k = 0; k < shuffles.size(); ++k) {
                    shuffles.get(k, p.data(), s.data());
                    for (Eigen::Index i = 0; i < subjects; ++i) {
                        perm(k, i) = p[i];
                        sign(i, k) = s[i];
                    }
                }
                return py::make_tuple(perm, sign);
            },
            "The tuple (permutations (K, subjects), signflips (subjects, K)).");

    py::class_<stats::Component>(m, "Component", "A connected set of supra-threshold edges.")
        .def_property_readonly("nodes",
                               [](const stats::Component& c) {
                                   return py::array_t<std::int64_t>(
                                       static_cast<py::ssize_t>(c.nodes.size()),
                                       reinterpret_cast<const std::int64_t*>(c.nodes.data()));
                               })
        .def_property_readonly("edges",
                               [](const stats::Component& c) {
                                   return py::array_t<std::int64_t>(
                                       static_cast<py::ssize_t>(c.edges.size()),
                                       reinterpret_cast<const std::int64_t*>(c.edges.data()));
                               })
        .def_readonly("extent", &stats::Component::extent)
        .def_readonly("intensity", &stats::Component::intensity)
        .def_readonly("sign", &stats::Component::sign)
        .def_readonly("p", &stats::Component::p);

    py::class_<stats::PermutationResult> result(m, "PermutationResult", "Results of one permutation test.");
    result.def_readonly("statistic_kind", &stats::PermutationResult::statistic_kind)
        .def_readonly("shuffles", &stats::PermutationResult::shuffles)
        .def_readonly("exhaustive", &stats::PermutationResult::exhaustive)
        .def_readonly("df1", &stats::PermutationResult::df1)
        .def_readonly("df2", &stats::PermutationResult::df2)
        .def_readonly("degenerate", &stats::PermutationResult::degenerate);
    array_field(result, "statistic", &stats::PermutationResult::statistic, "(E,) observed t or F");
    array_field(result, "enhanced", &stats::PermutationResult::enhanced, "(E,) observed enhanced value");
    array_field(result, "null", &stats::PermutationResult::null,
                "(K,) largest enhanced value of each shuffle");
    array_field(result, "p_fwe", &stats::PermutationResult::p_fwe, "(E,) family-wise error corrected p");
    array_field(result, "p_uncorrected", &stats::PermutationResult::p_uncorrected,
                "(E,) per-edge permutation p (max-T only; else empty)");

    py::class_<stats::NbsResult>(m, "NbsResult", "NBS: the test and its components.")
        .def_readonly("test", &stats::NbsResult::test)
        .def_readonly("components", &stats::NbsResult::components, "largest first")
        .def_readonly("threshold", &stats::NbsResult::threshold, "the primary threshold in statistic units");

    m.def(
        "stats_maxt",
        [](const DataArray& data, const stats::Model& model, const stats::Shuffles& shuffles,
           stats::Tail tail, const stats::PermutationOptions& options, const Progress& progress) {
            const auto run = with_progress(options, progress);
            return run_released(
                data, [&](const auto& y) { return stats::detail::maxt_impl(y, model, shuffles, tail, run); });
        },
        "data"_a, "model"_a, "shuffles"_a, "tail"_a = stats::Tail::two_sided,
        "options"_a = stats::PermutationOptions{}, "progress"_a = nullptr,
        "Max-T permutation test of (subjects, edges) data (PermutationResult).");
    m.def(
        "stats_nbs",
        [](const DataArray& data, const stats::Model& model, const stats::Shuffles& shuffles,
           const stats::NbsOptions& nbs, const stats::PermutationOptions& options, const Progress& progress) {
            const auto run = with_progress(options, progress);
            return run_released(
                data, [&](const auto& y) { return stats::detail::nbs_impl(y, model, shuffles, nbs, run); });
        },
        "data"_a, "model"_a, "shuffles"_a, "nbs"_a, "options"_a = stats::PermutationOptions{},
        "progress"_a = nullptr, "Network-based statistic (NbsResult).");
    m.def(
        "stats_tfnbs",
        [](const DataArray& data, const stats::Model& model, const stats::Shuffles& shuffles,
           const stats::TfnbsOptions& tfnbs, const stats::PermutationOptions& options,
           const Progress& progress) {
            const auto run = with_progress(options, progress);
            return run_released(data, [&](const auto& y) {
                return stats::detail::tfnbs_impl(y, model, shuffles, tfnbs, run).test;
            });
        },
        "data"_a, "model"_a, "shuffles"_a, "tfnbs"_a, "options"_a = stats::PermutationOptions{},
        "progress"_a = nullptr, "Threshold-free NBS (PermutationResult; enhanced is the TFNBS score).");

    m.def(
        "stats_components",
        [](Eigen::Index nodes, const std::vector<bool>& mask, const Eigen::VectorXd& statistic) {
            if (static_cast<Eigen::Index>(mask.size()) != nodes * (nodes - 1) / 2 ||
                statistic.size() != static_cast<Eigen::Index>(mask.size())) {
                throw InvalidInput("components: mask and statistic need N(N-1)/2 entries for N = " +
                                   std::to_string(nodes));
            }
            std::vector<char> m8(mask.begin(), mask.end());
            return stats::edge_components(nodes, m8, statistic);
        },
        "nodes"_a, "mask"_a, "statistic"_a, "Connected sets of the masked edges (list of Component).");

    m.def(
        "philox4x64",
        [](std::array<std::uint64_t, 4> counter, std::uint64_t key0, std::uint64_t key1) {
            return stats::Philox4x64::generate(counter, key0, key1);
        },
        "counter"_a, "key0"_a, "key1"_a, "Philox4x64-10 block (for tests against numpy.random.Philox).");

    m.def("stats_t_to_z", &stats::t_to_z, "t"_a, "df"_a);
    m.def("stats_z_to_t", &stats::z_to_t, "z"_a, "df"_a);
    m.def("stats_t_sf", &stats::t_sf, "t"_a, "df"_a);
    m.def("stats_f_sf", &stats::f_sf, "f"_a, "df1"_a, "df2"_a);
}

}  // namespace rewire::python
