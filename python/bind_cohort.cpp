// rewire._core: the HDF5 cohort store. Arrays cross as numpy float64 (time series (T, N)).
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "rewire/io/cohort_store.hpp"
#include "rewire/io/result_files.hpp"
#include "rewire/io/store_delta.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace rewire::python {

void bind_cohort(py::module_& m) {
    py::class_<StoreHeader>(m, "StoreHeader")
        .def(py::init<>())
        .def_readwrite("atlas", &StoreHeader::atlas)
        .def_readwrite("atlas_checksum", &StoreHeader::atlas_checksum)
        .def_readwrite("values", &StoreHeader::values)
        .def_readwrite("names", &StoreHeader::names)
        .def_readwrite("coordinates", &StoreHeader::coordinates)
        .def_readwrite("options", &StoreHeader::options);

    py::class_<RunRecord>(m, "RunRecord")
        .def(py::init<>())
        .def_readwrite("subject", &RunRecord::subject)
        .def_readwrite("session", &RunRecord::session)
        .def_readwrite("fingerprint", &RunRecord::fingerprint)
        .def_readwrite("inputs", &RunRecord::inputs)
        .def_readwrite("checksums", &RunRecord::checksums)
        .def_readwrite("timeseries", &RunRecord::timeseries)
        .def_readwrite("sample_mask", &RunRecord::sample_mask)
        .def_readwrite("coverage", &RunRecord::coverage)
        .def_readwrite("tr", &RunRecord::tr)
        .def_readwrite("mean_fd", &RunRecord::mean_fd)
        .def_readwrite("mean_dvars", &RunRecord::mean_dvars)
        .def_readwrite("frames_total", &RunRecord::frames_total)
        .def_readwrite("frames_censored", &RunRecord::frames_censored)
        .def_readwrite("measures", &RunRecord::measures);

    py::class_<CohortStore>(m, "CohortStore")
        .def_static("open", &CohortStore::open, "path"_a, py::call_guard<py::gil_scoped_release>())
        .def_static("open_for_writing", &CohortStore::open_for_writing, "path"_a, "header"_a,
                    "command_line"_a, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("path", &CohortStore::path)
        .def("header", &CohortStore::header)
        .def("runs", &CohortStore::runs)
        .def("fingerprint", &CohortStore::fingerprint, "subject"_a, "session"_a)
        .def(
            "qc",
            [](const CohortStore& store, const std::string& subject,
               const std::string& session) -> py::object {
                const std::optional<RunQc> qc = store.qc(subject, session);
                if (!qc)
                    return py::none();
                return py::make_tuple(qc->mean_fd, qc->frames_total, qc->frames_censored);
            },
            "subject"_a, "session"_a, "(mean_fd, frames_total, frames_censored) of a committed run, or None.")
        .def("set_exclusion", &CohortStore::set_exclusion, "subject"_a, "session"_a, "reason"_a,
             "Excludes a committed run by a QC rule (reason), or includes it again (empty reason).")
        .def(
            "excluded_runs",
            [](const CohortStore& store) {
                std::vector<std::tuple<std::string, std::string, std::string>> rows;
                for (const auto& run : store.excluded_runs())
                    rows.emplace_back(run.subject, run.session, run.reason);
                return rows;
            },
            "Committed runs excluded by a QC rule, as (subject, session, reason).")
        .def("commit", &CohortStore::commit, "run"_a, py::call_guard<py::gil_scoped_release>())
        .def("read_run", &CohortStore::read_run, "subject"_a, "session"_a,
             py::call_guard<py::gil_scoped_release>())
        .def(
            "edges",
            [](const CohortStore& store, const std::string& kind, const std::string& session) {
                EdgeStack stack;
                {
                    py::gil_scoped_release release;
                    stack = store.edges(kind, session);
                }
                return py::make_tuple(stack.subjects, stack.values);
            },
            "kind"_a, "session"_a)
        .def("kinds", &CohortStore::kinds)
        .def("set_text", &CohortStore::set_text, "name"_a, "value"_a)
        .def("text", &CohortStore::text, "name"_a)
        .def_property_readonly("format_version", &CohortStore::format_version)
        .def(
            "verify",
            [](const CohortStore& store) {
                StoreCheck found;
                {
                    py::gil_scoped_release release;
                    found = store.verify();
                }
                std::vector<std::tuple<std::string, std::string, std::string, std::string>> runs;
                for (const auto& run : found.runs) {
                    const char* status = run.status == RunCheck::Status::intact       ? "intact"
                                         : run.status == RunCheck::Status::unfinished ? "unfinished"
                                                                                      : "damaged";
                    runs.emplace_back(run.subject, run.session, status, run.problem);
                }
                return py::make_tuple(found.problems, runs);
            },
            "Reads every run in full (checksums verified) and compares its edge rows with its matrices: "
            "(store problems, [(subject, session, 'intact' | 'unfinished' | 'damaged', problem)]).")
        .def("close", &CohortStore::close, "Closes the file; later calls raise ValueError.");

    m.def(
        "write_edge_file",
        [](const std::string& path, std::vector<std::string> subjects, const Eigen::MatrixXd& values,
           const std::vector<std::string>& names, const std::map<std::string, std::string>& attributes) {
            EdgeStack stack{std::move(subjects), values};
            py::gil_scoped_release release;
            write_edge_file(path, stack, names, attributes);
        },
        "path"_a, "subjects"_a, "values"_a, "names"_a, "attributes"_a);

    py::class_<ResultFile>(m, "ResultFile",
                           "Contents of a results file: float64, int64 and string 1-D datasets, float64 and "
                           "string root attributes, each a dict by name.")
        .def(py::init<>())
        .def_readwrite("vectors", &ResultFile::vectors)
        .def_readwrite("integers", &ResultFile::integers)
        .def_readwrite("strings", &ResultFile::strings)
        .def_readwrite("numbers", &ResultFile::numbers)
        .def_readwrite("texts", &ResultFile::texts);

    m.def(
        "write_result_file",
        [](const std::string& path, const ResultFile& contents) {
            py::gil_scoped_release release;
            write_result_file(path, contents);
        },
        "path"_a, "contents"_a, "Writes a results file (HDF5) under a temporary name, then renames it.");

    OptionsClass<DeltaOptions>(m, "DeltaOptions", "Which change delta() computes.")
        .field("post", &DeltaOptions::post, "the later session")
        .field("pre", &DeltaOptions::pre, "the earlier session")
        .field("kind", &DeltaOptions::kind, "the stored measure")
        .field("fisher_z", &DeltaOptions::fisher_z, "arctanh of correlation kinds before subtracting")
        .validate()
        .finish();

    py::class_<Deltas> deltas(m, "Deltas", "Each subject's post - pre change.");
    deltas.def_readonly("subjects", &Deltas::subjects, "sorted; row s of values is subjects[s]")
        .def_readonly("unpaired", &Deltas::unpaired, "subjects with only one of the two sessions, left out");
    array_field(deltas, "values", &Deltas::values, "(subjects, edges), rewire's edge order");

    m.def(
        "delta",
        [](const CohortStore& store, const DeltaOptions& options) {
            py::gil_scoped_release release;
            return delta(store, options);
        },
        "store"_a, "options"_a = DeltaOptions{},
        "post - pre of one measure for every paired subject (Deltas).");

    m.def(
        "read_edge_file",
        [](const std::string& path) {
            EdgeFile file;
            {
                py::gil_scoped_release release;
                file = read_edge_file(path);
            }
            return py::make_tuple(file.stack.subjects, file.stack.values, file.node_names, file.attributes);
        },
        "path"_a, "(subjects, values, names, attributes) of a file written by write_edge_file.");
}

}  // namespace rewire::python
