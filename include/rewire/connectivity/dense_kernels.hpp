// rewire — the dense kernels under the estimators: raw column-major pointers, compiled once per
// instruction set in src/connectivity/kernels/ and chosen at run time. None of them threads; callers
// share work out in blocks. Internal to the library (namespace detail); C++ users call the estimators.
#pragma once

#include <cstdint>

namespace rewire::detail {

/// Dense kernels compiled once per instruction set in src/connectivity/kernels/ and chosen by core/kernel_variant.hpp
/// (the library is built for baseline x86-64; AVX2+FMA and AVX-512 make these several times faster); every
/// variant gives the same bits. Column-major raw pointers; none of them threads.
namespace kernels {
/// C (n × n, lower triangle) += alpha · A Aᵀ for A n × k, or alpha · Aᵀ A for A k × n (`a_transposed`);
/// k may be 0.
void syrk_lower(std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, bool a_transposed,
                double alpha, double* c, std::int64_t ldc);
/// C (m × n) = Aᵀ B for A k × m and B k × n.
void gemm_tn(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
             const double* b, std::int64_t ldb, double* c, std::int64_t ldc);
/// C (m × n) = A Bᵀ for A m × k and B n × k.
void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
             const double* b, std::int64_t ldb, double* c, std::int64_t ldc);
/// Eigendecomposition of symmetric A (lower triangle read): ascending `values` (n), orthonormal
/// `vectors` (n × n). False when the solver did not converge.
bool eigh_lower(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors,
                std::int64_t ldv);
/// eigh_lower's fast path alone (tridiagonalization, bisection and Rayleigh-quotient iteration by
/// twisted factorizations; src/connectivity/kernels/symmetric_eigensolver.inc): false when it does not apply — n < 24, a
/// (nearly) split tridiagonal form, eigenvalues closer than 1e-6·‖A‖ — and eigh_lower would fall back
/// to Eigen's QR solver (the generic variant's, whichever variant runs). For tests and benchmarks.
bool eigh_lower_fast(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors,
                     std::int64_t ldv);
/// W M W (n × n into `out`, exactly symmetric) for symmetric W and M (both triangles read, as nilearn's
/// whitening W·M·W).
void whiten(std::int64_t n, const double* w, std::int64_t ldw, const double* m, std::int64_t ldm, double* out,
            std::int64_t ldo);
/// V diag(f) Vᵀ (n × n into `out`, exactly symmetric) for n × n `vectors` V and n `values` f.
void recompose(std::int64_t n, const double* vectors, std::int64_t ldv, const double* values, double* out,
               std::int64_t ldo);
/// L M Lᵀ (n × n into `out`, exactly symmetric) for lower triangular L, stored with zeros above its
/// diagonal (as cholesky() and lower_inverse_block() leave it), and symmetric M (both triangles read).
void triangular_congruence(std::int64_t n, const double* l, std::int64_t ldl, const double* m,
                           std::int64_t ldm, double* out, std::int64_t ldo);
/// Whether symmetric A (lower triangle read) has a Cholesky factor, i.e. is positive definite.
bool is_positive_definite(std::int64_t n, const double* a, std::int64_t lda);
/// Cholesky factor L (n × n, lower; upper triangle zero) of SPD A (lower triangle read); returns the
/// reciprocal condition estimate of A, or −1 when A is not positive definite.
double cholesky(std::int64_t n, const double* a, std::int64_t lda, double* l, std::int64_t ldl);
/// Columns first .. first+cols−1 of L⁻¹ (n × cols into x) for lower triangular L (n × n), using only
/// the trailing triangle below `first` (those columns vanish above it).
void lower_inverse_block(std::int64_t n, const double* l, std::int64_t ldl, std::int64_t first,
                         std::int64_t cols, double* x, std::int64_t ldx);
/// The variant in use: "avx512", "avx2" or "generic".
const char* variant();
}  // namespace kernels

}  // namespace rewire::detail
