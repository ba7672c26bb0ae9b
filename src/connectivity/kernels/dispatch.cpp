// rewire — the estimator kernels' entry points: each forwards to the instruction-set variant that
// core/kernel_variant.hpp chose (REWIRE_KERNELS forces one; tests compare them; benchmarks record it).

#include "rewire/connectivity/dense_kernels.hpp"
#include "rewire/core/kernel_variant.hpp"

namespace rewire::detail::kernels {

#define REWIRE_DECLARE_KERNELS(variant)                                                                      \
    namespace variant {                                                                                      \
    void syrk_lower(std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, bool a_transposed,     \
                    double alpha, double* c, std::int64_t ldc);                                              \
    void gemm_tn(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,          \
                 const double* b, std::int64_t ldb, double* c, std::int64_t ldc);                            \
    void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,          \
                 const double* b, std::int64_t ldb, double* c, std::int64_t ldc);                            \
    bool eigh_lower(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors,       \
                    std::int64_t ldv);                                                                       \
    bool eigh_lower_fast(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors,  \
                         std::int64_t ldv);                                                                  \
    void whiten(std::int64_t n, const double* w, std::int64_t ldw, const double* m, std::int64_t ldm,         \
                double* out, std::int64_t ldo);                                                              \
    void recompose(std::int64_t n, const double* vectors, std::int64_t ldv, const double* values, double* out, \
                   std::int64_t ldo);                                                                        \
    void triangular_congruence(std::int64_t n, const double* l, std::int64_t ldl, const double* m,           \
                               std::int64_t ldm, double* out, std::int64_t ldo);                             \
    bool is_positive_definite(std::int64_t n, const double* a, std::int64_t lda);                           \
    double cholesky(std::int64_t n, const double* a, std::int64_t lda, double* l, std::int64_t ldl);        \
    void lower_inverse_block(std::int64_t n, const double* l, std::int64_t ldl, std::int64_t first,          \
                             std::int64_t cols, double* x, std::int64_t ldx);                                \
    }

REWIRE_DECLARE_KERNELS(generic)
REWIRE_DECLARE_KERNELS(avx2)
REWIRE_DECLARE_KERNELS(avx512)
#undef REWIRE_DECLARE_KERNELS

namespace {

struct Table {
    const char* name;
    decltype(&generic::syrk_lower) syrk;
    decltype(&generic::gemm_tn) gemm_tn;
    decltype(&generic::gemm_nt) gemm_nt;
    decltype(&generic::eigh_lower) eigh;
    decltype(&generic::eigh_lower_fast) eigh_fast;
    decltype(&generic::whiten) whiten;
    decltype(&generic::recompose) recompose;
    decltype(&generic::triangular_congruence) triangular_congruence;
    decltype(&generic::is_positive_definite) positive_definite;
    decltype(&generic::cholesky) cholesky;
    decltype(&generic::lower_inverse_block) lower_inverse_block;
};

#define REWIRE_KERNEL_TABLE(variant)                                                                      \
    Table {                                                                                               \
        #variant, &variant::syrk_lower, &variant::gemm_tn, &variant::gemm_nt, &variant::eigh_lower,          \
            &variant::eigh_lower_fast,                                                                    \
            &variant::whiten, &variant::recompose, &variant::triangular_congruence,                         \
            &variant::is_positive_definite, &variant::cholesky, &variant::lower_inverse_block               \
    }

/// The table of the variant core/kernel_variant.hpp chose (looked up on every call, so that tests can
/// switch variants in one process).
const Table& table() {
    static const Table all[] = {REWIRE_KERNEL_TABLE(generic), REWIRE_KERNEL_TABLE(avx2), REWIRE_KERNEL_TABLE(avx512)};
    return all[static_cast<int>(kernel_variant())];
}

}  // namespace

void syrk_lower(std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, bool a_transposed, double alpha,
                double* c, std::int64_t ldc) {
    if (n > 0 && k > 0) table().syrk(n, k, a, lda, a_transposed, alpha, c, ldc);
}

void gemm_tn(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, const double* b,
             std::int64_t ldb, double* c, std::int64_t ldc) {
    table().gemm_tn(m, n, k, a, lda, b, ldb, c, ldc);
}

void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda, const double* b,
             std::int64_t ldb, double* c, std::int64_t ldc) {
    table().gemm_nt(m, n, k, a, lda, b, ldb, c, ldc);
}

bool eigh_lower(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors, std::int64_t ldv) {
    return table().eigh(n, a, lda, values, vectors, ldv);
}

bool eigh_lower_fast(std::int64_t n, const double* a, std::int64_t lda, double* values, double* vectors,
                     std::int64_t ldv) {
    return table().eigh_fast(n, a, lda, values, vectors, ldv);
}

void whiten(std::int64_t n, const double* w, std::int64_t ldw, const double* m, std::int64_t ldm, double* out,
            std::int64_t ldo) {
    table().whiten(n, w, ldw, m, ldm, out, ldo);
}

void recompose(std::int64_t n, const double* vectors, std::int64_t ldv, const double* values, double* out,
               std::int64_t ldo) {
    table().recompose(n, vectors, ldv, values, out, ldo);
}

void triangular_congruence(std::int64_t n, const double* l, std::int64_t ldl, const double* m, std::int64_t ldm,
                           double* out, std::int64_t ldo) {
    table().triangular_congruence(n, l, ldl, m, ldm, out, ldo);
}

bool is_positive_definite(std::int64_t n, const double* a, std::int64_t lda) {
    return table().positive_definite(n, a, lda);
}

double cholesky(std::int64_t n, const double* a, std::int64_t lda, double* l, std::int64_t ldl) {
    return table().cholesky(n, a, lda, l, ldl);
}

void lower_inverse_block(std::int64_t n, const double* l, std::int64_t ldl, std::int64_t first, std::int64_t cols,
                         double* x, std::int64_t ldx) {
    table().lower_inverse_block(n, l, ldl, first, cols, x, ldx);
}

const char* variant() { return table().name; }

}  // namespace rewire::detail::kernels
