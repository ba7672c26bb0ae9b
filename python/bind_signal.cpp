// rewire._core — signal cleaning: Butterworth design and zero-phase filtering, detrend, cosine drift,
// censored-frame interpolation and clean(). Arrays cross as float64; time series are (T, N); results
// come back as Fortran-ordered arrays (Eigen's layout, no copy).
#include <pybind11/complex.h>
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "rewire/signal/butterworth.hpp"
#include "rewire/signal/clean.hpp"
#include "rewire/signal/interpolate.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {
namespace {

PadType pad_type(const std::optional<std::string>& name) {
    if (!name)
        return PadType::none;
    if (*name == "odd")
        return PadType::odd;
    if (*name == "even")
        return PadType::even;
    if (*name == "constant")
        return PadType::constant;
    throw InvalidInput("padtype must be 'odd', 'even', 'constant' or None, got '" + *name + "'");
}

Sos to_sos(const Eigen::Ref<const Eigen::MatrixXd>& sos) {
    if (sos.cols() != 6 || sos.rows() < 1) {
        throw InvalidInput("sos must be shaped (n_sections, 6), got (" + std::to_string(sos.rows()) + ", " +
                           std::to_string(sos.cols()) + ")");
    }
    return Sos(sos);
}

}  // namespace

void bind_signal(py::module_& m) {
    bind_enum<Standardize>(m, "Standardize",
                           "How clean() scales each cleaned signal (nilearn's standardize).",
                           {{"none", Standardize::none, "none"},
                            {"zscore_sample", Standardize::zscore_sample, "zscore_sample"},
                            {"zscore", Standardize::zscore, "zscore"},
                            {"psc", Standardize::psc, "psc"}});
    bind_enum<TemporalFilter>(m, "TemporalFilter", "Temporal filter of clean() (nilearn's filter).",
                              {{"none", TemporalFilter::none, "none"},
                               {"butterworth", TemporalFilter::butterworth, "butterworth"},
                               {"cosine", TemporalFilter::cosine, "cosine"}});
    bind_enum<PadType>(m, "PadType", "Padding of the zero-phase filter (scipy's padtype).",
                       {{"odd", PadType::odd, "odd"},
                        {"even", PadType::even, "even"},
                        {"constant", PadType::constant, "constant"},
                        {"none", PadType::none, "none"}});

    OptionsClass<CleanOptions>(m, "CleanOptions",
                               "Options of clean(): nilearn.signal.clean's names and defaults.")
        .field("detrend", &CleanOptions::detrend, "remove each column's mean and linear trend")
        .field("standardize", &CleanOptions::standardize, "scaling of the cleaned signals")
        .field("standardize_confounds", &CleanOptions::standardize_confounds,
               "z-score the confounds before regression (else divide by their largest absolute value)")
        .field("filter", &CleanOptions::filter, "temporal filter")
        .field("low_pass", &CleanOptions::low_pass, "low-pass cut-off in Hz (Butterworth), or None")
        .field("high_pass", &CleanOptions::high_pass,
               "high-pass cut-off in Hz (Butterworth or cosine), or None")
        .field("t_r", &CleanOptions::t_r, "repetition time in seconds")
        .field("ensure_finite", &CleanOptions::ensure_finite,
               "replace NaN / infinity in the signals by 0 first")
        .field("extrapolate", &CleanOptions::extrapolate,
               "with Butterworth and a sample mask, extrapolate censored frames at either end")
        .field("butterworth_order", &CleanOptions::butterworth_order,
               "Butterworth order (butterworth__order)")
        .field("padtype", &CleanOptions::padtype, "padding of the zero-phase filter (butterworth__padtype)")
        .field("padlen", &CleanOptions::padlen, "padding length, None: scipy's default (butterworth__padlen)")
        .field("threads", &CleanOptions::threads, "threads (0: automatic); results do not depend on it")
        .validate()
        .finish();

    m.def(
        "clean",
        [](const Eigen::Ref<const Eigen::MatrixXd>& signals, const CleanOptions& options,
           const std::optional<Eigen::MatrixXd>& confounds,
           const std::optional<std::vector<bool>>& sample_mask,
           const std::optional<std::vector<std::int64_t>>& runs) {
            std::vector<std::string> warnings;
            TimeSeries out;
            {
                py::gil_scoped_release release;
                out = clean(signals, options, confounds ? *confounds : Eigen::MatrixXd(),
                            sample_mask ? *sample_mask : std::vector<bool>{},
                            runs ? *runs : std::vector<std::int64_t>{}, &warnings);
            }
            return py::make_tuple(py::cast(std::move(out)), py::cast(warnings));
        },
        "signals"_a, "options"_a = CleanOptions{}, "confounds"_a = py::none(), "sample_mask"_a = py::none(),
        "runs"_a = py::none(),
        "nilearn.signal.clean on (T, N) float64 signals; returns the tuple (cleaned (T', N), warnings: list "
        "of "
        "str). Confounds (T, K) are already an array; sample_mask is T keep-flags; runs T integer labels.");

    m.def(
        "butterworth_sos",
        [](int order, std::optional<double> high_pass, std::optional<double> low_pass, double sampling_rate) {
            return Eigen::MatrixXd(butterworth_sos(order, high_pass, low_pass, sampling_rate));
        },
        "order"_a, "high_pass"_a, "low_pass"_a, "sampling_rate"_a,
        "scipy.signal.butter(order, Wn, btype, output='sos', fs=sampling_rate): (n_sections, 6).");

    m.def(
        "butterworth_zpk",
        [](int order, std::optional<double> high_pass, std::optional<double> low_pass, double sampling_rate) {
            const Zpk zpk = butterworth_zpk(order, high_pass, low_pass, sampling_rate);
            return py::make_tuple(zpk.zeros, zpk.poles, zpk.gain);
        },
        "order"_a, "high_pass"_a, "low_pass"_a, "sampling_rate"_a,
        "scipy.signal.butter(order, Wn, btype, output='zpk', fs=sampling_rate): (zeros, poles, gain).");

    m.def(
        "sosfilt_zi",
        [](const Eigen::Ref<const Eigen::MatrixXd>& sos) { return Eigen::MatrixXd(sosfilt_zi(to_sos(sos))); },
        "sos"_a, "scipy.signal.sosfilt_zi: (n_sections, 2).");

    m.def(
        "sosfiltfilt",
        [](const Eigen::Ref<const Eigen::MatrixXd>& sos, const Eigen::Ref<const Eigen::MatrixXd>& x,
           const std::optional<std::string>& padtype, std::optional<int> padlen) {
            return sosfiltfilt(to_sos(sos), x, pad_type(padtype), padlen ? *padlen : -1);
        },
        "sos"_a, "x"_a, "padtype"_a = "odd", "padlen"_a = py::none(),
        py::call_guard<py::gil_scoped_release>(),
        "scipy.signal.sosfiltfilt(sos, x, axis=0, padtype, padlen) on every column of x (T, N).");

    m.def(
        "detrend", [](const Eigen::Ref<const Eigen::MatrixXd>& x) { return detrend(x); }, "signals"_a,
        py::call_guard<py::gil_scoped_release>(),
        "nilearn's linear _detrend of every column of (T, N) signals.");

    m.def("cosine_drift", &cosine_drift, "high_pass"_a, "frames"_a, "t_r"_a,
          "nilearn's create_cosine_drift(high_pass, arange(frames) * t_r): (frames, order + 1), constant "
          "last.");

    m.def(
        "interpolate_censored",
        [](const Eigen::Ref<const Eigen::MatrixXd>& x, const std::vector<std::int64_t>& kept,
           bool extrapolate) { return interpolate_censored(x, kept, extrapolate); },
        "signals"_a, "kept"_a, "extrapolate"_a = true, py::call_guard<py::gil_scoped_release>(),
        "Censored frames of every column replaced by scipy's CubicSpline through the kept frames.");
}

}  // namespace rewire::python
