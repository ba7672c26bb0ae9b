// rewire — provenance of the numbers: which build of rewire, on which kernel variant, computed them.
// Written into every cohort store (root and each run) and every result file, so that a study re-run on
// another machine, or spread over mixed nodes, can be checked for what ran where.
#pragma once

#include <string>

namespace rewire {

struct BuildInfo {
    std::string version;   ///< rewire's version
    std::string kernels;   ///< kernel variant in use (core/kernel_variant.hpp): generic, avx2 or avx512
    std::string compiler;  ///< compiler and its version
    std::string flags;     ///< build type and the floating-point flags the library was compiled with
};

/// This build's provenance, with the kernel variant in use now.
BuildInfo build_info();

}  // namespace rewire
