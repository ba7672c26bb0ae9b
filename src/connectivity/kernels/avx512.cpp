// The estimator kernels with AVX-512 F/DQ/VL/BW (x86-64-v4), compiled with those flags (see
// kernels_impl.inc); core/kernel_variant.cpp calls them only where the build and the CPU have them.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized on _mm512_undefined_pd (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#define REWIRE_KERNEL_VARIANT avx512
#include "kernels_impl.inc"
