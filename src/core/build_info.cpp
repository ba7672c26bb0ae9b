// rewire — build provenance (see include/rewire/core/build_info.hpp). REWIRE_BUILD_FLAGS comes from CMake.
#include "rewire/core/build_info.hpp"

#include "rewire/core/kernel_variant.hpp"
#include "rewire/core/version.hpp"

#ifndef REWIRE_BUILD_FLAGS
#define REWIRE_BUILD_FLAGS "unknown"
#endif

namespace rewire {

namespace {

std::string compiler() {
#if defined(__clang__)
    return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    return std::string("gcc ") + __VERSION__;
#else
    return "unknown";
#endif
}

}  // namespace

BuildInfo build_info() {
    return BuildInfo{version, kernel_variant_name(kernel_variant()), compiler(), REWIRE_BUILD_FLAGS};
}

}  // namespace rewire
