// The estimator kernels for any CPU (see kernels_impl.inc), and the QR fallback of eigh_lower that
// every variant calls.
#define REWIRE_KERNEL_VARIANT generic
#include "kernels_impl.inc"

// Eigen's own namespace, renamed so that its template instances here (built for the x86-64 baseline,
// SSE2) stay this file's: the QR fallback gives the same bits whichever variant calls it (Eigen's own
// threading is off library-wide: EIGEN_DONT_PARALLELIZE in CMakeLists.txt).
#define Eigen rewire_eigen_generic
#include <Eigen/Core>
#include <Eigen/Eigenvalues>

bool rewire::detail::kernels::generic::eigh_qr(std::int64_t n, const double* a, std::int64_t lda, double* values,
                                               double* vectors, std::int64_t ldv) {
    using Matrix = Eigen::MatrixXd;
    // Eigen's blocked products size their blocks from the CPU's caches, which would change the bits
    // from one machine to the next: fixed sizes instead (those of a common x86-64 core).
    static const bool fixed_blocking = [] {
        Eigen::setCpuCacheSizes(32 * 1024, 1024 * 1024, 8 * 1024 * 1024);
        return true;
    }();
    (void)fixed_blocking;
    const Eigen::Map<const Matrix, Eigen::Unaligned, Eigen::OuterStride<>> am(a, n, n, Eigen::OuterStride<>(lda));
    Eigen::SelfAdjointEigenSolver<Matrix> solver(am);
    if (solver.info() != Eigen::Success) return false;
    Eigen::Map<Eigen::VectorXd>(values, n) = solver.eigenvalues();
    Eigen::Map<Matrix, Eigen::Unaligned, Eigen::OuterStride<>>(vectors, n, n, Eigen::OuterStride<>(ldv)) =
        solver.eigenvectors();
    return true;
}
