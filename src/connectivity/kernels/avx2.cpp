// The estimator kernels with AVX2 + FMA (x86-64-v3), when CMake compiles this file with -mavx2 -mfma
// (see estimator_kernels_impl.inc); otherwise compiled() says so and estimator_kernels.cpp never calls them.
#define EIGEN_DONT_PARALLELIZE
#define Eigen rewire_eigen_avx2
#define REWIRE_KERNEL_VARIANT avx2
#include "kernels_impl.inc"

bool rewire::detail::kernels::avx2::compiled() {
#if defined(__AVX2__) && defined(__FMA__)
    return true;
#else
    return false;
#endif
}
