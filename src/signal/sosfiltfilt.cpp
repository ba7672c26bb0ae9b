// rewire — the recursion of zero-phase filtering (see include/rewire/signal/sosfiltfilt.hpp), compiled
// once per kernel variant (core/kernel_variant.hpp chooses): the AVX2 build runs four interleaved
// series in one register. No FMA in any variant (-ffp-contract=off), so the roundings are those of
// the generic loop, and of scipy's.
#include "rewire/signal/sosfiltfilt.hpp"

#include "rewire/core/kernel_variant.hpp"

namespace rewire::detail {
namespace {

/// detail::sos_pass for L series. Coefficients and states live in local arrays so that the compiler keeps them apart from the data
/// and vectorises across the series (pass picks the version for the number of sections).
template <int L, int S>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void
sos_pass_fixed(const double* sos, const double* zi, int sections, double* y, Eigen::Index total, int step) {
    // S > 0: exactly S sections known at compile time, so the states stay in registers (no
    // store-to-load round trip in the recursion); S = 0: any number up to max_sections.
    constexpr int capacity = S > 0 ? S : max_sections;
    const int count = S > 0 ? S : sections;
    double b0[capacity], b1[capacity], b2[capacity], a1[capacity], a2[capacity];
    alignas(32) double z0[capacity][L];
    alignas(32) double z1[capacity][L];
    const double* first = y + (step > 0 ? 0 : total - 1) * L;
    for (int s = 0; s < count; ++s) {
        b0[s] = sos[6 * s + 0];
        b1[s] = sos[6 * s + 1];
        b2[s] = sos[6 * s + 2];
        a1[s] = sos[6 * s + 4];
        a2[s] = sos[6 * s + 5];
        for (int l = 0; l < L; ++l) {
            z0[s][l] = zi[s] * first[l];
            z1[s][l] = zi[sections + s] * first[l];
        }
    }
    const Eigen::Index stride = step > 0 ? L : -L;
    double* sample = y + (step > 0 ? 0 : total - 1) * L;
    for (Eigen::Index i = 0; i < total; ++i, sample += stride) {
        alignas(32) double cur[L];
        for (int l = 0; l < L; ++l)
            cur[l] = sample[l];
        for (int s = 0; s < count; ++s) {
            for (int l = 0; l < L; ++l) {
                const double next = b0[s] * cur[l] + z0[s][l];
                z0[s][l] = b1[s] * cur[l] - a1[s] * next + z1[s][l];
                z1[s][l] = b2[s] * cur[l] - a2[s] * next;
                cur[l] = next;
            }
        }
        for (int l = 0; l < L; ++l)
            sample[l] = cur[l];
    }
}

template <int L>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void
pass(const double* sos, const double* zi, int sections, double* y, Eigen::Index total, int step) {
    switch (sections) {  // the section counts of Butterworth orders 1 to 8 (low/high-pass and band-pass)
        case 1:
            return sos_pass_fixed<L, 1>(sos, zi, sections, y, total, step);
        case 2:
            return sos_pass_fixed<L, 2>(sos, zi, sections, y, total, step);
        case 3:
            return sos_pass_fixed<L, 3>(sos, zi, sections, y, total, step);
        case 4:
            return sos_pass_fixed<L, 4>(sos, zi, sections, y, total, step);
        case 5:
            return sos_pass_fixed<L, 5>(sos, zi, sections, y, total, step);
        case 6:
            return sos_pass_fixed<L, 6>(sos, zi, sections, y, total, step);
        case 7:
            return sos_pass_fixed<L, 7>(sos, zi, sections, y, total, step);
        case 8:
            return sos_pass_fixed<L, 8>(sos, zi, sections, y, total, step);
        default:
            return sos_pass_fixed<L, 0>(sos, zi, sections, y, total, step);
    }
}

/// pass<1> or pass<4>, compiled for the including function's instruction set.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
inline void
pass_lanes(int lanes, const double* sos, const double* zi, int sections, double* y, Eigen::Index total, int step) {
    if (lanes == 4) {
        pass<4>(sos, zi, sections, y, total, step);
    } else {
        pass<1>(sos, zi, sections, y, total, step);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define REWIRE_SOS_AVX2 1
__attribute__((target("avx2"))) void sos_pass_avx2(int lanes, const double* sos, const double* zi, int sections,
                                                   double* y, Eigen::Index total, int step) {
    pass_lanes(lanes, sos, zi, sections, y, total, step);
}
#else
#define REWIRE_SOS_AVX2 0
#endif

}  // namespace

void sos_pass(int lanes, const double* sos, const double* zi, int sections, double* y, Eigen::Index total, int step) {
#if REWIRE_SOS_AVX2
    // AVX-512 brings nothing to four lanes: that variant runs the AVX2 build too.
    if (kernel_variant() != KernelVariant::generic) return sos_pass_avx2(lanes, sos, zi, sections, y, total, step);
#endif
    pass_lanes(lanes, sos, zi, sections, y, total, step);
}

}  // namespace rewire::detail
