// rewire._core — covariance estimators, connectivity kinds, the tangent space, nilearn's vectorisation
// and autocorrelation-corrected edge z-scores (covariance.hpp, estimate.hpp, tangent.hpp,
// connectivity.hpp). Names cross as strings (nilearn's spelling) and are parsed here; time series are
// (T, N) float64; results come back as Fortran-ordered arrays (Eigen's layout, no copy). Every call
// that does real work releases the GIL after its arguments are converted.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/edge_zscores.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/connectivity/covariance.hpp"
#include "rewire/connectivity/estimate.hpp"
#include "rewire/connectivity/tangent.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {
namespace {

py::dict estimate_dict(Estimate&& e) {
    py::dict d;
    d["matrix"] = std::move(e.matrix);
    d["kind"] = to_string(e.kind);
    d["estimator"] = to_string(e.estimator);
    d["shrinkage"] = e.shrinkage;
    d["standardize"] = e.standardized;
    return d;
}

EstimateOptions estimate_options(const std::string& kind, const std::string& estimator, bool standardize,
                                 int threads) {
    EstimateOptions o;
    o.kind = parse_connectivity_kind(kind);
    o.estimator = parse_covariance_estimator(estimator);
    o.standardize = standardize;
    o.threads = threads;
    o.validate();
    return o;
}

TangentOptions tangent_options(const std::string& estimator, int max_iter, double tol, int threads) {
    TangentOptions o;
    o.estimator = parse_covariance_estimator(estimator);
    o.mean.max_iter = max_iter;
    o.mean.tol = tol;
    o.mean.threads = threads;
    o.validate();
    return o;
}

/// Runs f(view) on a 2D float64 array without copying it when it is C- or F-contiguous (numpy's arrays
/// are row-major; pybind11's Eigen::Ref would copy them into column-major first). `f` runs without the
/// GIL.
template <typename F>
auto with_signals(const py::array& array, F&& f) {
    if (array.ndim() != 2) {
        throw InvalidInput("signals: expected a 2D (T, N) array, got " + std::to_string(array.ndim()) + " dimensions");
    }
    const auto rows = static_cast<Eigen::Index>(array.shape(0)), cols = static_cast<Eigen::Index>(array.shape(1));
    const bool f64 = array.dtype().is(py::dtype::of<double>());
    if (f64 && (array.flags() & py::array::f_style) && !(array.flags() & py::array::c_style)) {
        Eigen::Map<const Eigen::MatrixXd> view(static_cast<const double*>(array.data()), rows, cols);
        py::gil_scoped_release release;
        return f(Eigen::Ref<const Eigen::MatrixXd>(view));
    }
    const auto c = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(array);
    if (!c) throw py::error_already_set();
    RowMajorSignals view(c.data(), rows, cols, Eigen::OuterStride<>(cols));
    py::gil_scoped_release release;
    return f(view);
}

/// A group of (T_k, N) float64 arrays as row-major views, read in place (an array that is not
/// C-contiguous float64 is converted once and kept in `keep`, which must outlive the views).
std::vector<RowMajorSignals> group_views(const py::sequence& subjects,
                                         std::vector<py::array_t<double, py::array::c_style>>& keep) {
    std::vector<RowMajorSignals> views;
    keep.reserve(subjects.size());
    views.reserve(subjects.size());
    for (std::size_t k = 0; k < subjects.size(); ++k) {
        auto c = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(subjects[k]);
        if (!c) throw py::error_already_set();
        if (c.ndim() != 2) {
            throw InvalidInput("subject " + std::to_string(k) + ": expected a 2D (T, N) array, got " +
                               std::to_string(c.ndim()) + " dimensions");
        }
        const auto rows = static_cast<Eigen::Index>(c.shape(0)), cols = static_cast<Eigen::Index>(c.shape(1));
        views.emplace_back(c.data(), rows, cols, Eigen::OuterStride<>(cols));
        keep.push_back(std::move(c));
    }
    return views;
}

/// Tangent vectors of `covariances` as one (S, N, N) array, written in place without the GIL (no
/// intermediate matrices).
py::array_t<double> tangent_vectors(const TangentSpace& space, const std::vector<Eigen::MatrixXd>& covariances) {
    const auto count = static_cast<py::ssize_t>(covariances.size());
    const auto n = static_cast<py::ssize_t>(space.nodes());
    py::array_t<double> out({count, n, n});
    double* data = out.mutable_data();
    py::gil_scoped_release release;
    space.transform_covariances_into(covariances, data);
    return out;
}

/// f(views) on a group of arrays (group_views), without the GIL.
template <typename F>
auto with_group(const py::sequence& subjects, F&& f) {
    std::vector<py::array_t<double, py::array::c_style>> keep;
    const std::vector<RowMajorSignals> views = group_views(subjects, keep);
    py::gil_scoped_release release;
    return f(views);
}

}  // namespace

void bind_estimators(py::module_& m) {
    m.def(
        "eigh",
        [](const Eigen::MatrixXd& symmetric) {
            detail::Eigh e;
            {
                py::gil_scoped_release release;
                e = detail::eigh(symmetric, "eigh");
            }
            return py::make_tuple(std::move(e.values), std::move(e.vectors));
        },
        "symmetric"_a,
        "(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix (lower triangle read), by the "
        "solver behind the tangent space's matrix functions (bisection and Rayleigh-quotient iteration on the "
        "tridiagonal form; Eigen's QR when eigenvalues cluster). For tests and benchmarks.");
    m.def("kernel_variant", &detail::kernels::variant,
          "Instruction set of the estimator kernels in use: 'avx512', 'avx2' or 'generic' (REWIRE_KERNELS "
          "forces one).");
    m.def(
        "covariance",
        [](const py::array& signals, const std::string& estimator, int threads) {
            CovarianceOptions o;
            o.estimator = parse_covariance_estimator(estimator);
            o.threads = threads;
            CovarianceEstimate e = with_signals(signals, [&](const auto& view) { return estimate_covariance(view, o); });
            py::dict d;
            d["covariance"] = std::move(e.covariance);
            d["location"] = std::move(e.location);
            d["shrinkage"] = e.shrinkage;
            d["estimator"] = to_string(e.estimator);
            return d;
        },
        "signals"_a, "estimator"_a = "empirical", "threads"_a = 0,
        "Covariance of (T, N) signals: dict(covariance, location, shrinkage, estimator), as scikit-learn.");

    m.def(
        "estimate",
        [](const py::array& signals, const std::string& kind, const std::string& estimator, bool standardize,
           int threads) {
            const EstimateOptions o = estimate_options(kind, estimator, standardize, threads);
            return estimate_dict(with_signals(signals, [&](const auto& view) { return rewire::estimate(view, o); }));
        },
        "signals"_a, "kind"_a = "correlation", "estimator"_a = "empirical", "standardize"_a = true, "threads"_a = 0,
        "Connectivity of one subject: dict(matrix, kind, estimator, shrinkage, standardize).");

    m.def(
        "estimate_group",
        [](const py::sequence& subjects, const std::string& kind, const std::string& estimator, bool standardize,
           int threads) {
            const EstimateOptions o = estimate_options(kind, estimator, standardize, threads);
            std::vector<Estimate> all = with_group(subjects, [&](const auto& views) { return estimate_group(views, o); });
            py::list out;
            for (auto& e : all) out.append(estimate_dict(std::move(e)));
            return out;
        },
        "subjects"_a, "kind"_a = "correlation", "estimator"_a = "empirical", "standardize"_a = true,
        "threads"_a = 0, "estimate() of each subject, one subject per thread: a list of dicts.");

    m.def(
        "correlation",
        [](const py::array& signals) {
            return with_signals(signals, [](const auto& view) { return correlation(view); });
        },
        "signals"_a, "Pearson correlation of (T, N) float64 signals, read in place: (N, N).");
    m.def(
        "covariance_to_correlation",
        [](const Eigen::Ref<const Eigen::MatrixXd>& c) { return covariance_to_correlation(c); }, "covariance"_a,
        py::call_guard<py::gil_scoped_release>());
    m.def(
        "precision_to_partial_correlation",
        [](const Eigen::Ref<const Eigen::MatrixXd>& p) { return precision_to_partial_correlation(p); },
        "precision"_a, py::call_guard<py::gil_scoped_release>());
    m.def(
        "sym_matrix_to_vec",
        [](const Eigen::Ref<const Eigen::MatrixXd>& s, bool discard) { return sym_matrix_to_vec(s, discard); },
        "symmetric"_a, "discard_diagonal"_a = false, py::call_guard<py::gil_scoped_release>());
    m.def(
        "vec_to_sym_matrix",
        [](const Eigen::Ref<const Eigen::VectorXd>& v, const std::optional<Eigen::VectorXd>& diagonal) {
            py::gil_scoped_release release;
            return diagonal ? vec_to_sym_matrix(v, *diagonal) : vec_to_sym_matrix(v);
        },
        "vec"_a, "diagonal"_a = py::none());

    m.def(
        "edge_zscores",
        [](const Eigen::Ref<const Eigen::MatrixXd>& signals, const std::string& method, std::int64_t max_lag,
           int threads) {
            EdgeZOptions o;
            o.method = parse_z_variance(method);
            o.max_lag = max_lag;
            o.threads = threads;
            EdgeZScores z;
            {
                py::gil_scoped_release release;
                z = edge_zscores(signals, o);
            }
            py::dict d;
            d["zscore"] = std::move(z.zscore);
            d["fisher_z"] = std::move(z.fisher_z);
            d["dof"] = std::move(z.dof);
            d["max_lag"] = z.max_lag;
            return d;
        },
        "signals"_a, "method"_a = "bartlett", "max_lag"_a = -1, "threads"_a = 0);

    m.def(
        "geometric_mean",
        [](const std::vector<Eigen::MatrixXd>& matrices, int max_iter, double tol, int threads) {
            GeometricMeanOptions o;
            o.max_iter = max_iter;
            o.tol = tol;
            o.threads = threads;
            GeometricMean g;
            {
                py::gil_scoped_release release;
                g = geometric_mean(matrices, o);
            }
            py::dict d;
            d["mean"] = std::move(g.mean);
            d["iterations"] = g.iterations;
            d["gradient_norm"] = g.gradient_norm;
            d["converged"] = g.converged;
            return d;
        },
        "matrices"_a, "max_iter"_a = 30, "tol"_a = 1e-7, "threads"_a = 0);

    py::class_<TangentSpace>(m, "TangentSpace")
        .def(py::init([](const std::string& estimator, int max_iter, double tol, int threads) {
                 return TangentSpace(tangent_options(estimator, max_iter, tol, threads));
             }),
             "estimator"_a = "ledoit_wolf", "max_iter"_a = 30, "tol"_a = 1e-7, "threads"_a = 0)
        .def_static(
            "from_reference",
            [](Eigen::MatrixXd mean, Eigen::MatrixXd whitening, const std::string& estimator, int max_iter, double tol,
               int threads) {
                return TangentSpace::from_reference(std::move(mean), std::move(whitening),
                                                    tangent_options(estimator, max_iter, tol, threads));
            },
            "mean"_a, "whitening"_a, "estimator"_a = "ledoit_wolf", "max_iter"_a = 30, "tol"_a = 1e-7,
            "threads"_a = 0)
        .def(
            "fit",
            [](TangentSpace& s, const py::sequence& subjects) {
                with_group(subjects, [&](const auto& views) { s.fit(views); });
            },
            "subjects"_a)
        .def(
            "fit_covariances",
            [](TangentSpace& s, const std::vector<Eigen::MatrixXd>& covariances) { s.fit_covariances(covariances); },
            "covariances"_a, py::call_guard<py::gil_scoped_release>())
        .def(
            "transform",
            [](const TangentSpace& s, const py::sequence& subjects) {
                return tangent_vectors(s, with_group(subjects, [&](const auto& views) { return s.covariances(views); }));
            },
            "subjects"_a, "Tangent vectors, (S, N, N).")
        .def("transform_covariances", &TangentSpace::transform_covariances, "covariances"_a,
             py::call_guard<py::gil_scoped_release>())
        .def(
            "fit_transform",
            [](TangentSpace& s, const py::sequence& subjects) {
                const auto covariances = with_group(subjects, [&](const auto& views) {
                    auto c = s.covariances(views);
                    s.fit_covariances(c);
                    return c;
                });
                return tangent_vectors(s, covariances);
            },
            "subjects"_a, "fit() then transform() on the same group, each covariance estimated once: (S, N, N).")
        .def(
            "covariances",
            [](const TangentSpace& s, const py::sequence& subjects) {
                return with_group(subjects, [&](const auto& views) { return s.covariances(views); });
            },
            "subjects"_a)
        .def_property_readonly("fitted", &TangentSpace::fitted)
        .def_property_readonly("mean", [](const TangentSpace& s) { return Eigen::MatrixXd(s.mean()); })
        .def_property_readonly("whitening", [](const TangentSpace& s) { return Eigen::MatrixXd(s.whitening()); })
        .def_property_readonly("estimator", [](const TangentSpace& s) { return to_string(s.options().estimator); })
        .def_property_readonly("max_iter", [](const TangentSpace& s) { return s.options().mean.max_iter; })
        .def_property_readonly("tol", [](const TangentSpace& s) { return s.options().mean.tol; })
        .def_property_readonly("iterations", [](const TangentSpace& s) { return s.summary().iterations; })
        .def_property_readonly("gradient_norm", [](const TangentSpace& s) { return s.summary().gradient_norm; })
        .def_property_readonly("converged", [](const TangentSpace& s) { return s.summary().converged; });
}

}  // namespace rewire::python
