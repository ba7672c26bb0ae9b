// The estimator kernels for any x86-64 / any CPU (see estimator_kernels_impl.inc).
#define EIGEN_DONT_PARALLELIZE
#define Eigen rewire_eigen_generic
#define REWIRE_KERNEL_VARIANT generic
#include "kernels_impl.inc"

bool rewire::detail::kernels::generic::compiled() { return true; }
