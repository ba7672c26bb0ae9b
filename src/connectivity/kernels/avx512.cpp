// The estimator kernels with AVX-512 F/DQ/VL/BW (x86-64-v4), when CMake compiles this file with those
// flags (see estimator_kernels_impl.inc); otherwise compiled() says so and estimator_kernels.cpp never calls them.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized on _mm512_undefined_pd (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define EIGEN_DONT_PARALLELIZE
#define Eigen rewire_eigen_avx512
#define REWIRE_KERNEL_VARIANT avx512
#include "kernels_impl.inc"

bool rewire::detail::kernels::avx512::compiled() {
#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__AVX512BW__)
    return true;
#else
    return false;
#endif
}
