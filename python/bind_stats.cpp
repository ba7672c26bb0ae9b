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

Eigen::Map<const RowMatrix> as_matrix(const DataArray& data) {
    if (data.ndim() != 2) {
        throw InvalidInput("data: expected a 2-D array (subjects, edges), got " + std::to_string(data.ndim()) +
                           " dimension(s)");
    }
    return {data.data(), data.shape(0), data.shape(1)};
}

stats::Tail tail_from(const std::string& name) {
    if (name == "two-sided") return stats::Tail::two_sided;
    if (name == "greater") return stats::Tail::greater;
    if (name == "less") return stats::Tail::less;
    throw InvalidInput("tail: expected 'two-sided', 'greater' or 'less', got '" + name + "'");
}

stats::ShuffleKind kind_from(const std::string& name) {
    if (name == "signflip") return stats::ShuffleKind::sign_flip;
    if (name == "permute") return stats::ShuffleKind::permutation;
    if (name == "both") return stats::ShuffleKind::both;
    throw InvalidInput("shuffle: expected 'signflip', 'permute' or 'both', got '" + name + "'");
}

stats::Convention convention_from(const std::string& name) {
    if (name == "rewire") return stats::Convention::rewire;
    if (name == "bctpy") return stats::Convention::bctpy;
    if (name == "mrtrix") return stats::Convention::mrtrix;
    throw InvalidInput("compat: expected None, 'bctpy' or 'mrtrix', got '" + name + "'");
}

py::list components_list(const std::vector<stats::Component>& components) {
    py::list out;
    for (const auto& c : components) {
        py::dict d;
        d["nodes"] = py::array_t<std::int64_t>(static_cast<py::ssize_t>(c.nodes.size()),
                                               reinterpret_cast<const std::int64_t*>(c.nodes.data()));
        d["edges"] = py::array_t<std::int64_t>(static_cast<py::ssize_t>(c.edges.size()),
                                               reinterpret_cast<const std::int64_t*>(c.edges.data()));
        d["extent"] = c.extent;
        d["intensity"] = c.intensity;
        d["sign"] = c.sign;
        d["p"] = c.p;
        out.append(d);
    }
    return out;
}

py::dict result_dict(const stats::PermutationResult& r) {
    py::dict d;
    d["statistic"] = r.statistic;
    d["enhanced"] = r.enhanced;
    d["null"] = r.null;
    d["p_fwe"] = r.p_fwe;
    if (r.p_uncorrected.size() > 0) d["p_uncorrected"] = r.p_uncorrected;
    d["shuffles"] = r.shuffles;
    d["exhaustive"] = r.exhaustive;
    d["df1"] = r.df1;
    d["df2"] = r.df2;
    d["degenerate"] = r.degenerate;
    d["kind"] = r.statistic_kind == stats::Statistic::t ? "t" : "f";
    return d;
}

/// Keyword arguments shared by every permutation test (one place for their defaults: python/rewire/stats.py).
struct ShuffleArgs {
    std::string kind;
    std::int64_t count;
    std::uint64_t seed;
    std::vector<std::int64_t> blocks;
    bool whole_blocks;
    bool exhaustive;
    bool include_identity;
    std::optional<Eigen::MatrixXd> signflips;
    std::optional<IndexMatrix> permutations;

    stats::Shuffles make(Eigen::Index subjects) const {
        if (signflips && permutations) {
            throw InvalidInput("signflips and permutations: give one of them (for both at once use random shuffles "
                               "with shuffle='both')");
        }
        if (signflips) return stats::Shuffles::from_sign_flips(*signflips);
        if (permutations) return stats::Shuffles::from_permutations(*permutations);
        stats::ShuffleOptions options;
        options.kind = kind_from(kind);
        options.count = count;
        options.seed = seed;
        options.blocks = blocks;
        options.whole_blocks = whole_blocks;
        options.exhaustive = exhaustive;
        options.include_identity = include_identity;
        return stats::Shuffles::random(subjects, options);
    }
};

stats::PermutationOptions permutation_options(const std::string& convention, int threads, bool z_statistic,
                                              const std::function<bool(std::int64_t, std::int64_t)>& progress) {
    stats::PermutationOptions options;
    options.z_statistic = z_statistic;
    options.convention = convention_from(convention);
    options.threads = threads;
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

/// Runs `test` without the GIL, turning a cancellation into KeyboardInterrupt.
template <typename F>
auto run_released(F&& test) {
    try {
        py::gil_scoped_release release;
        return test();
    } catch (const stats::Cancelled&) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
}

}  // namespace

void bind_stats(py::module_& m) {
    m.def("stats_model", [](const Eigen::MatrixXd& design, const Eigen::MatrixXd& contrast, bool ftest) {
        const stats::Model model = stats::make_model(design, contrast, ftest ? stats::Statistic::f : stats::Statistic::t);
        py::dict d;
        d["interest"] = model.interest;
        d["nuisance"] = model.nuisance;
        d["dof"] = model.dof;
        d["nuisance_has_intercept"] = model.nuisance_has_intercept();
        return d;
    }, "design"_a, "contrast"_a, "ftest"_a = false, "Validated model split (design.hpp): interest and nuisance bases.");

    m.def("stats_glm", [](const DataArray& data, const Eigen::MatrixXd& design, const Eigen::MatrixXd& contrast,
                          bool ftest) {
        const auto y = as_matrix(data);
        stats::GlmResult r;
        {
            py::gil_scoped_release release;
            r = stats::detail::glm_impl(y, stats::make_model(design, contrast,
                                                             ftest ? stats::Statistic::f : stats::Statistic::t));
        }
        py::dict d;
        d["value"] = r.value;
        d["p"] = r.p;
        d["effect"] = r.effect;
        d["se"] = r.se;
        d["beta"] = r.beta;
        d["sigma2"] = r.sigma2;
        d["df1"] = r.df1;
        d["df2"] = r.df2;
        d["degenerate"] = r.degenerate;
        return d;
    }, "data"_a, "design"_a, "contrast"_a, "ftest"_a = false);

    m.def("stats_fdr", [](const Eigen::VectorXd& p, const std::string& method) {
        if (method != "bh" && method != "by") throw InvalidInput("method: expected 'bh' or 'by', got '" + method + "'");
        return stats::fdr(p, method == "bh" ? stats::FdrMethod::bh : stats::FdrMethod::by);
    }, "p"_a, "method"_a = "bh", py::call_guard<py::gil_scoped_release>());

    m.def("stats_test", [](const DataArray& data, const Eigen::MatrixXd& design, const Eigen::MatrixXd& contrast,
                           bool ftest, const std::string& method, const std::string& tail,
                           // NBS
                           double threshold, bool threshold_z, const std::string& measure, bool strict,
                           bool mixed_signs,
                           // TFNBS
                           double dh, double e, double h, bool enhance_z,
                           // shuffles
                           const std::string& shuffle, std::int64_t shuffles, std::uint64_t seed,
                           std::vector<std::int64_t> blocks, bool whole_blocks, bool exhaustive,
                           bool include_identity, std::optional<Eigen::MatrixXd> signflips,
                           std::optional<IndexMatrix> permutations,
                           const std::string& convention, int threads,
                           const std::function<bool(std::int64_t, std::int64_t)>& progress) {
        const auto y = as_matrix(data);
        const ShuffleArgs shuffle_args{shuffle, shuffles, seed, std::move(blocks), whole_blocks, exhaustive,
                                       include_identity, std::move(signflips), std::move(permutations)};
        const stats::PermutationOptions options = permutation_options(convention, threads, enhance_z, progress);
        const stats::Tail tail_value = tail_from(tail);
        const stats::Statistic statistic = ftest ? stats::Statistic::f : stats::Statistic::t;
        if (method == "maxt") {
            const auto r = run_released([&] {
                const stats::Model model = stats::make_model(design, contrast, statistic);
                return stats::detail::maxt_impl(y, model, shuffle_args.make(model.subjects()), tail_value, options);
            });
            return result_dict(r);
        }
        if (method == "nbs") {
            stats::NbsOptions nbs;
            nbs.threshold = threshold;
            nbs.scale = threshold_z ? stats::ThresholdScale::z : stats::ThresholdScale::statistic;
            if (measure != "extent" && measure != "intensity") {
                throw InvalidInput("measure: expected 'extent' or 'intensity', got '" + measure + "'");
            }
            nbs.measure = measure == "extent" ? stats::NbsMeasure::extent : stats::NbsMeasure::intensity;
            nbs.tail = tail_value;
            nbs.strict = strict;
            nbs.mixed_signs = mixed_signs;
            const auto r = run_released([&] {
                const stats::Model model = stats::make_model(design, contrast, statistic);
                return stats::detail::nbs_impl(y, model, shuffle_args.make(model.subjects()), nbs, options);
            });
            py::dict d = result_dict(r.test);
            d["components"] = components_list(r.components);
            d["threshold"] = r.threshold;
            return d;
        }
        if (method == "tfnbs") {
            stats::TfnbsOptions tfnbs;
            tfnbs.dh = dh;
            tfnbs.e = e;
            tfnbs.h = h;
            tfnbs.tail = tail_value;
            const auto r = run_released([&] {
                const stats::Model model = stats::make_model(design, contrast, statistic);
                return stats::detail::tfnbs_impl(y, model, shuffle_args.make(model.subjects()), tfnbs, options);
            });
            return result_dict(r.test);
        }
        throw InvalidInput("method: expected 'maxt', 'nbs' or 'tfnbs', got '" + method + "'");
    }, "data"_a, "design"_a, "contrast"_a, "ftest"_a, "method"_a, "tail"_a, "threshold"_a, "threshold_z"_a,
       "measure"_a, "strict"_a, "mixed_signs"_a, "dh"_a, "e"_a, "h"_a, "enhance_z"_a, "shuffle"_a, "shuffles"_a, "seed"_a,
       "blocks"_a, "whole_blocks"_a, "exhaustive"_a, "include_identity"_a, "signflips"_a, "permutations"_a,
       "convention"_a, "threads"_a, "progress"_a);

    m.def("stats_shuffles", [](Eigen::Index subjects, const std::string& kind, std::int64_t count, std::uint64_t seed,
                               std::vector<std::int64_t> blocks, bool whole_blocks, bool exhaustive,
                               bool include_identity) {
        const ShuffleArgs args{kind, count, seed, std::move(blocks), whole_blocks, exhaustive, include_identity,
                               std::nullopt, std::nullopt};
        const stats::Shuffles shuffles = args.make(subjects);
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
        py::dict d;
        d["permutations"] = perm;
        d["signflips"] = sign;
        d["exhaustive"] = shuffles.exhaustive();
        return d;
    }, "subjects"_a, "kind"_a = "signflip", "count"_a = 5000, "seed"_a = 0, "blocks"_a = std::vector<std::int64_t>{},
       "whole_blocks"_a = false, "exhaustive"_a = true, "include_identity"_a = false,
       "The shuffles a test with these options uses: permutations (K, S) and signflips (S, K).");

    m.def("stats_components", [](Eigen::Index nodes, const std::vector<bool>& mask, const Eigen::VectorXd& statistic) {
        if (static_cast<Eigen::Index>(mask.size()) != nodes * (nodes - 1) / 2 || statistic.size() != static_cast<Eigen::Index>(mask.size())) {
            throw InvalidInput("components: mask and statistic need N(N-1)/2 entries for N = " + std::to_string(nodes));
        }
        std::vector<char> m8(mask.begin(), mask.end());
        return components_list(stats::edge_components(nodes, m8, statistic));
    }, "nodes"_a, "mask"_a, "statistic"_a);

    m.def("philox4x64", [](std::array<std::uint64_t, 4> counter, std::uint64_t key0, std::uint64_t key1) {
        return stats::Philox4x64::generate(counter, key0, key1);
    }, "counter"_a, "key0"_a, "key1"_a, "Philox4x64-10 block (for tests against numpy.random.Philox).");

    m.def("stats_t_to_z", &stats::t_to_z, "t"_a, "df"_a);
    m.def("stats_z_to_t", &stats::z_to_t, "z"_a, "df"_a);
    m.def("stats_t_sf", &stats::t_sf, "t"_a, "df"_a);
    m.def("stats_f_sf", &stats::f_sf, "f"_a, "df1"_a, "df2"_a);
}

}  // namespace rewire::python
