#include "bindings.hpp"

namespace rewire::python {

void bind_confounds(pybind11::module_& m) { (void)m; }

}  // namespace rewire::python
