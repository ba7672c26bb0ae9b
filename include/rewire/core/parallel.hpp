// rewire — how many threads a parallel step uses.
#pragma once

#include <algorithm>
#include <cstdlib>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rewire {

/// Number of threads that `requested` resolves to: the argument when > 0, else REWIRE_NUM_THREADS, else
/// OMP_NUM_THREADS, else all cores but `reserved` (src/core/parallel.cpp).
int resolve_threads(int requested, int reserved = 0);

namespace detail {

/// Thread count: the argument, else REWIRE_NUM_THREADS, else OpenMP's default (OMP_NUM_THREADS).
inline int estimator_threads(int requested) {
    if (requested > 0)
        return requested;
    if (const char* env = std::getenv("REWIRE_NUM_THREADS")) {
        const int value = std::atoi(env);
        if (value > 0)
            return value;
    }
#ifdef _OPENMP
    return std::max(1, omp_get_max_threads());
#else
    return 1;
#endif
}

}  // namespace detail
}  // namespace rewire
