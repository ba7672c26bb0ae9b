// rewire — the one place that decides which instruction-set variant of the compiled kernels runs.
//
// Every kernel with per-CPU code (the estimators' dense kernels, the permutation engine's panel
// product, the zero-phase filter) is compiled once per variant in its own translation unit and asks
// kernel_variant() which one to call. All variants compute the same bits: each output is the same
// sequence of IEEE operations whatever the vector width, so a study gives identical numbers on any
// x86-64 CPU. REWIRE_KERNELS=generic|avx2|avx512 forces a variant (tests compare them; it must be
// one this build and CPU can run, else the widest available is used).
#pragma once

namespace rewire {

enum class KernelVariant { generic = 0, avx2 = 1, avx512 = 2 };

/// Name as REWIRE_KERNELS spells it: "generic", "avx2" or "avx512".
const char* kernel_variant_name(KernelVariant variant);

/// Whether this build has the variant and this CPU can run it (generic: always).
bool kernel_variant_available(KernelVariant variant);

/// The variant in use: REWIRE_KERNELS if set and available, else the widest available one. Read
/// once, on first use.
KernelVariant kernel_variant();

namespace detail {
/// Switch the variant in use for the rest of the process (tests compare the variants in one process);
/// throws InvalidInput when it is not available.
void force_kernel_variant(KernelVariant variant);
}  // namespace detail

}  // namespace rewire
