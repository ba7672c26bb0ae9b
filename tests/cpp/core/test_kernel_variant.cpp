// Tests include/rewire/core/kernel_variant.hpp and core/build_info.hpp: the variant in use can be
// forced to each one this machine runs, and the provenance names it.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

#include "rewire/core/build_info.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/kernel_variant.hpp"
#include "rewire/core/version.hpp"

using rewire::KernelVariant;

TEST_CASE("the kernel variant in use is the forced one, else the widest available", "[kernel_variant]") {
    const KernelVariant initial = rewire::kernel_variant();
    REQUIRE(rewire::kernel_variant_available(KernelVariant::generic));
    REQUIRE(rewire::kernel_variant_available(initial));
    const char* forced = std::getenv("REWIRE_KERNELS");
    if (forced != nullptr && std::strcmp(forced, rewire::kernel_variant_name(initial)) != 0) {
        // Forced to a variant this build or CPU lacks: the widest available one runs instead.
        for (const KernelVariant v : {KernelVariant::generic, KernelVariant::avx2, KernelVariant::avx512}) {
            if (std::strcmp(forced, rewire::kernel_variant_name(v)) == 0) CHECK_FALSE(rewire::kernel_variant_available(v));
        }
    }
    if (forced == nullptr) {
        for (const KernelVariant v : {KernelVariant::avx2, KernelVariant::avx512}) {
            if (rewire::kernel_variant_available(v)) CHECK(static_cast<int>(initial) >= static_cast<int>(v));
        }
    }
    for (const KernelVariant v : {KernelVariant::generic, KernelVariant::avx2, KernelVariant::avx512}) {
        if (!rewire::kernel_variant_available(v)) {
            CHECK_THROWS_AS(rewire::detail::force_kernel_variant(v), rewire::InvalidInput);
            continue;
        }
        rewire::detail::force_kernel_variant(v);
        CHECK(rewire::kernel_variant() == v);
        // The provenance written into stores and result files names the variant that runs now.
        const rewire::BuildInfo info = rewire::build_info();
        CHECK(info.kernels == rewire::kernel_variant_name(v));
        CHECK(info.version == rewire::version);
        CHECK(info.flags.find("-ffp-contract=off") != std::string::npos);
        CHECK((info.compiler.rfind("gcc ", 0) == 0 || info.compiler.rfind("clang ", 0) == 0));
    }
    rewire::detail::force_kernel_variant(initial);
}

TEST_CASE("kernel variants are named as REWIRE_KERNELS spells them", "[kernel_variant]") {
    CHECK(std::string(rewire::kernel_variant_name(KernelVariant::generic)) == "generic");
    CHECK(std::string(rewire::kernel_variant_name(KernelVariant::avx2)) == "avx2");
    CHECK(std::string(rewire::kernel_variant_name(KernelVariant::avx512)) == "avx512");
}
