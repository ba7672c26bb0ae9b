// rewire — choice of the kernel variant (see include/rewire/core/kernel_variant.hpp).
#include "rewire/core/kernel_variant.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rewire/core/error.hpp"

namespace rewire {

namespace {

/// Whether CMake compiled the variant's translation units with its instruction set
/// (REWIRE_KERNELS_AVX2 / REWIRE_KERNELS_AVX512 are set for x86-64 builds with GCC or Clang).
bool built(KernelVariant variant) {
    switch (variant) {
        case KernelVariant::generic: return true;
#if defined(REWIRE_KERNELS_AVX2)
        case KernelVariant::avx2: return true;
#endif
#if defined(REWIRE_KERNELS_AVX512)
        case KernelVariant::avx512: return true;
#endif
        default: return false;
    }
}

bool cpu_runs(KernelVariant variant) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    switch (variant) {
        case KernelVariant::generic: return true;
        case KernelVariant::avx2: return avx2;
        case KernelVariant::avx512:
            return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
    }
    return false;
#else
    return variant == KernelVariant::generic;
#endif
}

KernelVariant choose() {
    constexpr KernelVariant widest_first[] = {KernelVariant::avx512, KernelVariant::avx2, KernelVariant::generic};
    if (const char* forced = std::getenv("REWIRE_KERNELS")) {
        for (const KernelVariant variant : widest_first) {
            if (std::strcmp(forced, kernel_variant_name(variant)) == 0 && kernel_variant_available(variant)) {
                return variant;
            }
        }
    }
    for (const KernelVariant variant : widest_first) {
        if (kernel_variant_available(variant)) return variant;
    }
    return KernelVariant::generic;
}

std::atomic<int>& chosen() {
    static std::atomic<int> variant{static_cast<int>(choose())};
    return variant;
}

}  // namespace

const char* kernel_variant_name(KernelVariant variant) {
    switch (variant) {
        case KernelVariant::avx2: return "avx2";
        case KernelVariant::avx512: return "avx512";
        default: return "generic";
    }
}

bool kernel_variant_available(KernelVariant variant) { return built(variant) && cpu_runs(variant); }

KernelVariant kernel_variant() { return static_cast<KernelVariant>(chosen().load(std::memory_order_relaxed)); }

void detail::force_kernel_variant(KernelVariant variant) {
    if (!kernel_variant_available(variant)) {
        throw InvalidInput(std::string("kernel variant ") + kernel_variant_name(variant) +
                           " is not available in this build on this CPU");
    }
    chosen().store(static_cast<int>(variant), std::memory_order_relaxed);
}

}  // namespace rewire
