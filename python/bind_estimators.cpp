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
#include "rewire/core/kernel_variant.hpp"
#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/covariance.hpp"
#include "rewire/connectivity/edge_zscores.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/connectivity/estimate.hpp"
#include "rewire/connectivity/tangent.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {
namespace {

/// Runs f(view) on a 2D float64 array without copying it when it is C- or F-contiguous (numpy's arrays
/// are row-major; pybind11's Eigen::Ref would copy them into column-major first). `f` runs without the
/// GIL.
template <typename F>
auto with_signals(const py::array& array, F&& f) {
    if (array.ndim() != 2) {
        throw InvalidInput("signals: expected a 2D (T, N) array, got " + std::to_string(array.ndim()) +
                           " dimensions");
    }
    const auto rows = static_cast<Eigen::Index>(array.shape(0)),
               cols = static_cast<Eigen::Index>(array.shape(1));
    const bool f64 = array.dtype().is(py::dtype::of<double>());
    if (f64 && (array.flags() & py::array::f_style) && !(array.flags() & py::array::c_style)) {
        Eigen::Map<const Eigen::MatrixXd> view(static_cast<const double*>(array.data()), rows, cols);
        py::gil_scoped_release release;
        return f(Eigen::Ref<const Eigen::MatrixXd>(view));
    }
    const auto c = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(array);
    if (!c)
        throw py::error_already_set();
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
        if (!c)
            throw py::error_already_set();
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
py::array_t<double> tangent_vectors(const TangentSpace& space,
                                    const std::vector<Eigen::MatrixXd>& covariances) {
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
        "(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix (lower triangle read), by "
        "the "
        "solver behind the tangent space's matrix functions (bisection and Rayleigh-quotient iteration on "
        "the "
        "tridiagonal form; Eigen's QR when eigenvalues cluster). For tests and benchmarks.");
    m.def(
        "kernel_variant", [] { return std::string(kernel_variant_name(kernel_variant())); },
        "Instruction-set variant of the compiled kernels in use: 'avx512', 'avx2' or 'generic' (REWIRE_KERNELS "
        "forces one). Every variant computes the same bits.");
    bind_enum<CovarianceEstimator>(m, "CovarianceEstimator", "How a covariance matrix is estimated.",
                                   {{"empirical", CovarianceEstimator::empirical, "empirical"},
                                    {"ledoit_wolf", CovarianceEstimator::ledoit_wolf, "ledoit_wolf"},
                                    {"oas", CovarianceEstimator::oas, "oas"}},
                                   parse_covariance_estimator);
    {
        using K = ConnectivityKind;
        bind_enum<K>(m, "ConnectivityKind", "What a connectivity matrix measures (nilearn's kind).",
                     {{"covariance", K::covariance, "covariance"},
                      {"correlation", K::correlation, "correlation"},
                      {"partial_correlation", K::partial_correlation, "partial correlation"},
                      {"precision", K::precision, "precision"},
                      {"tangent", K::tangent, "tangent"}},
                     parse_connectivity_kind);
    }
    bind_enum<ZVariance>(m, "ZVariance", "How the variance of an edge's Fisher z is obtained.",
                         {{"naive", ZVariance::naive, "naive"},
                          {"bartlett", ZVariance::bartlett, "bartlett"},
                          {"xdf", ZVariance::xdf, "xdf"}},
                         parse_z_variance);

    OptionsClass<CovarianceOptions>(m, "CovarianceOptions", "Options of covariance().")
        .field("estimator", &CovarianceOptions::estimator, "which estimator")
        .field("threads", &CovarianceOptions::threads, "threads (0: automatic); results do not depend on it")
        .validate()
        .finish();
    OptionsClass<EstimateOptions>(m, "EstimateOptions", "Options of estimate().")
        .field("kind", &EstimateOptions::kind, "what to compute")
        .field("estimator", &EstimateOptions::estimator, "how the covariance is estimated")
        .field("standardize", &EstimateOptions::standardize,
               "nilearn's standardize=True: z-score the columns first (correlation only)")
        .field("threads", &EstimateOptions::threads, "threads (0: automatic); results do not depend on it")
        .validate()
        .finish();
    OptionsClass<EdgeZOptions>(m, "EdgeZOptions", "Options of edge_zscores().")
        .field("method", &EdgeZOptions::method, "how var(z) is obtained")
        .field("max_lag", &EdgeZOptions::max_lag, "last lag of the correlation sums (-1: floor(sqrt(T)))")
        .field("threads", &EdgeZOptions::threads, "threads (0: automatic); results do not depend on it")
        .validate()
        .finish();
    OptionsClass<GeometricMeanOptions>(
        m, "GeometricMeanOptions", "Options of geometric_mean(): those nilearn's ConnectivityMeasure passes.")
        .field("max_iter", &GeometricMeanOptions::max_iter, "gradient steps at most")
        .field("tol", &GeometricMeanOptions::tol, "convergence tolerance on the gradient norm / N^2")
        .field("threads", &GeometricMeanOptions::threads,
               "threads (0: automatic); results do not depend on it")
        .validate()
        .finish();
    OptionsClass<TangentOptions>(m, "TangentOptions", "Options of TangentSpace.")
        .field("estimator", &TangentOptions::estimator, "covariance estimator of each subject")
        .field("mean", &TangentOptions::mean, "geometric mean settings and the thread count")
        .validate()
        .finish();

    py::class_<CovarianceEstimate> covariance_estimate(m, "CovarianceEstimate", "A covariance estimate.");
    array_field(covariance_estimate, "covariance", &CovarianceEstimate::covariance, "(N, N), divided by T");
    array_field(covariance_estimate, "location", &CovarianceEstimate::location, "(N,) column means removed");
    covariance_estimate
        .def_readonly("shrinkage", &CovarianceEstimate::shrinkage, "weight of mu I (0: empirical)")
        .def_readonly("estimator", &CovarianceEstimate::estimator);

    py::class_<Estimate> estimate_result(m, "Estimate", "A connectivity matrix and how it was made.");
    array_field(estimate_result, "matrix", &Estimate::matrix, "(N, N), symmetric");
    estimate_result.def_readonly("kind", &Estimate::kind)
        .def_readonly("estimator", &Estimate::estimator)
        .def_readonly("shrinkage", &Estimate::shrinkage, "the covariance estimator's (0 for empirical)")
        .def_readonly("standardized", &Estimate::standardized, "whether the columns were z-scored first");

    py::class_<EdgeZScores> zscores(m, "EdgeZScores",
                                    "Fisher z of every edge and its autocorrelation-corrected z.");
    array_field(zscores, "zscore", &EdgeZScores::zscore, "(N, N): fisher_z * sqrt(dof - 3), diagonal 0");
    array_field(zscores, "fisher_z", &EdgeZScores::fisher_z, "(N, N): arctanh(r), diagonal 0");
    array_field(zscores, "dof", &EdgeZScores::dof, "(N, N) effective number of time points");
    zscores.def_readonly("max_lag", &EdgeZScores::max_lag, "the lag window used (0 for naive)");

    py::class_<GeometricMean> mean_result(m, "GeometricMean", "A geometric mean and how the descent ended.");
    array_field(mean_result, "mean", &GeometricMean::mean, "(N, N) SPD");
    mean_result.def_readonly("iterations", &GeometricMean::iterations)
        .def_readonly("gradient_norm", &GeometricMean::gradient_norm)
        .def_readonly("converged", &GeometricMean::converged);

    m.def(
        "covariance",
        [](const py::array& signals, const CovarianceOptions& options) {
            options.validate();
            return with_signals(signals,
                                [&](const auto& view) { return estimate_covariance(view, options); });
        },
        "signals"_a, "options"_a = CovarianceOptions{},
        "Covariance of (T, N) signals as scikit-learn's estimators (a CovarianceEstimate).");

    m.def(
        "estimate",
        [](const py::array& signals, const EstimateOptions& options) {
            options.validate();
            return with_signals(signals, [&](const auto& view) { return rewire::estimate(view, options); });
        },
        "signals"_a, "options"_a = EstimateOptions{}, "Connectivity of one subject (an Estimate).");

    m.def(
        "estimate_group",
        [](const py::sequence& subjects, const EstimateOptions& options) {
            options.validate();
            return with_group(subjects, [&](const auto& views) { return estimate_group(views, options); });
        },
        "subjects"_a, "options"_a = EstimateOptions{}, "estimate() of each subject, one subject per thread.");

    m.def(
        "correlation",
        [](const py::array& signals) {
            return with_signals(signals, [](const auto& view) { return correlation(view); });
        },
        "signals"_a, "Pearson correlation of (T, N) float64 signals, read in place: (N, N).");
    m.def(
        "covariance_to_correlation",
        [](const Eigen::Ref<const Eigen::MatrixXd>& c) { return covariance_to_correlation(c); },
        "covariance"_a, py::call_guard<py::gil_scoped_release>());
    m.def(
        "precision_to_partial_correlation",
        [](const Eigen::Ref<const Eigen::MatrixXd>& p) { return precision_to_partial_correlation(p); },
        "precision"_a, py::call_guard<py::gil_scoped_release>());
    m.def(
        "sym_matrix_to_vec",
        [](const Eigen::Ref<const Eigen::MatrixXd>& s, bool discard) {
            return sym_matrix_to_vec(s, discard);
        },
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
        [](const Eigen::Ref<const Eigen::MatrixXd>& signals, const EdgeZOptions& options) {
            py::gil_scoped_release release;
            return edge_zscores(signals, options);
        },
        "signals"_a, "options"_a = EdgeZOptions{},
        "Autocorrelation-corrected z-scores of every edge (EdgeZScores).");

    m.def(
        "geometric_mean",
        [](const std::vector<Eigen::MatrixXd>& matrices, const GeometricMeanOptions& options) {
            py::gil_scoped_release release;
            return geometric_mean(matrices, options);
        },
        "matrices"_a, "options"_a = GeometricMeanOptions{},
        "Geometric mean of SPD matrices (GeometricMean).");

    py::class_<TangentSpace>(m, "TangentSpace")
        .def(py::init<TangentOptions>(), "options"_a = TangentOptions{})
        .def_static("from_reference", &TangentSpace::from_reference, "mean"_a, "whitening"_a,
                    "options"_a = TangentOptions{})
        .def(
            "fit",
            [](TangentSpace& s, const py::sequence& subjects) {
                with_group(subjects, [&](const auto& views) { s.fit(views); });
            },
            "subjects"_a)
        .def(
            "fit_covariances",
            [](TangentSpace& s, const std::vector<Eigen::MatrixXd>& covariances) {
                s.fit_covariances(covariances);
            },
            "covariances"_a, py::call_guard<py::gil_scoped_release>())
        .def(
            "transform",
            [](const TangentSpace& s, const py::sequence& subjects) {
                return tangent_vectors(
                    s, with_group(subjects, [&](const auto& views) { return s.covariances(views); }));
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
            "subjects"_a,
            "fit() then transform() on the same group, each covariance estimated once: (S, N, N).")
        .def(
            "covariances",
            [](const TangentSpace& s, const py::sequence& subjects) {
                return with_group(subjects, [&](const auto& views) { return s.covariances(views); });
            },
            "subjects"_a)
        .def_property_readonly("fitted", &TangentSpace::fitted)
        .def_property_readonly("mean", [](const TangentSpace& s) { return Eigen::MatrixXd(s.mean()); })
        .def_property_readonly("whitening",
                               [](const TangentSpace& s) { return Eigen::MatrixXd(s.whitening()); })
        .def_property_readonly(
            "options", [](const TangentSpace& s) { return s.options(); }, "a copy")
        .def_property_readonly("iterations", [](const TangentSpace& s) { return s.summary().iterations; })
        .def_property_readonly("gradient_norm",
                               [](const TangentSpace& s) { return s.summary().gradient_norm; })
        .def_property_readonly("converged", [](const TangentSpace& s) { return s.summary().converged; });
}

}  // namespace rewire::python
