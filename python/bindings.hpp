// rewire._core — one registration function per area; each lives in its own bind_*.cpp.
#pragma once

#include <pybind11/pybind11.h>

namespace rewire::python {

void bind_signal(pybind11::module_& m);       // bind_signal.cpp: detrend, filters, clean()
void bind_confounds(pybind11::module_& m);    // bind_confounds.cpp: fMRIPrep confounds, strategies
void bind_estimators(pybind11::module_& m);   // bind_estimators.cpp: covariance estimators, tangent
void bind_cohort(pybind11::module_& m);       // bind_cohort.cpp: the HDF5 cohort store
void bind_stats(pybind11::module_& m);        // bind_stats.cpp: GLM, FDR, permutation tests (max-T, NBS, TFNBS)

}  // namespace rewire::python
