// The estimator kernels with AVX2 + FMA (x86-64-v3), compiled with -mavx2 -mfma (see kernels_impl.inc);
// core/kernel_variant.cpp calls them only where the build and the CPU have both.
#define REWIRE_KERNEL_VARIANT avx2
#include "kernels_impl.inc"
