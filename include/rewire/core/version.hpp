// rewire — library version.
#pragma once

namespace rewire {

/// Version of the library, as in the Python package (rewire.__version__).
inline constexpr const char* version = "0.1.0";

}  // namespace rewire
