#include "bindings.hpp"

namespace rewire::python {

void bind_signal(pybind11::module_& m) { (void)m; }

}  // namespace rewire::python
