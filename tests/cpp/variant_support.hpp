// Helpers for the tests that run code in every kernel variant (core/kernel_variant.hpp).
#pragma once

#include <vector>

#include "rewire/core/kernel_variant.hpp"

namespace rewire::test {

/// The kernel variants this build and CPU run, generic first.
inline std::vector<KernelVariant> available_variants() {
    std::vector<KernelVariant> out;
    for (const KernelVariant v : {KernelVariant::generic, KernelVariant::avx2, KernelVariant::avx512}) {
        if (kernel_variant_available(v)) out.push_back(v);
    }
    return out;
}

/// Switches the kernel variant for one scope and restores the one in use.
class ForcedVariant {
public:
    explicit ForcedVariant(KernelVariant variant) : previous_(kernel_variant()) { detail::force_kernel_variant(variant); }
    ~ForcedVariant() { detail::force_kernel_variant(previous_); }
    ForcedVariant(const ForcedVariant&) = delete;
    ForcedVariant& operator=(const ForcedVariant&) = delete;

private:
    KernelVariant previous_;
};

}  // namespace rewire::test
