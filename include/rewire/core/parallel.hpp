// rewire — the one parallel loop every multi-threaded step goes through, and the thread count it uses.
//
// parallel_for(count, {threads, grain}, body) runs body(i) — or body(i, thread) for per-thread scratch —
// for i in [0, count) on OpenMP threads, in blocks of `grain` consecutive indices handed out in order.
// It is serial when one thread is asked for, when the work is a single block, or inside another parallel
// region (regions never nest: a thread budget is passed down, not taken again from the machine).
// An exception thrown by body(i) stops the indices after i from starting, and after the loop the
// exception of the lowest failing index is rethrown with its own type: the same error, whatever the
// number of threads. `context(i)` (optional) is added in front of a rewire::Error's message, e.g.
// "subject 3", so that a failure says where it happened (MRtrix's exception context, Ceres' ParallelFor).
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "rewire/core/error.hpp"

namespace rewire {

/// Number of threads that `requested` resolves to: the argument when > 0, else REWIRE_NUM_THREADS, else
/// OMP_NUM_THREADS, else all cores but `reserved` (at least 1). The only place rewire reads these.
int resolve_threads(int requested, int reserved = 0);

/// How a parallel_for shares its indices out.
struct Parallelism {
    /// Threads at most (0: resolve_threads(0)).
    int threads = 0;
    /// Consecutive indices run by one thread as one task; fewer indices than this run serially.
    std::int64_t grain = 1;
};

/// Threads a parallel_for over `count` indices with `parallelism` would use: 1 inside a parallel region.
inline int parallel_threads(std::int64_t count, const Parallelism& parallelism) {
#ifdef _OPENMP
    if (omp_in_parallel())
        return 1;
#endif
    const std::int64_t grain = std::max<std::int64_t>(1, parallelism.grain);
    const std::int64_t blocks = (count + grain - 1) / grain;
    const int threads = resolve_threads(parallelism.threads);
    return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, blocks)));
}

namespace detail {

/// Calls body(i, thread) or body(i), whichever it takes.
template <typename Body>
void call_body(Body& body, std::int64_t i, int thread) {
    if constexpr (std::is_invocable_v<Body&, std::int64_t, int>) {
        body(i, thread);
    } else {
        body(i);
    }
}

/// The failure of the lowest index, kept across threads.
class FirstFailure {
public:
    /// Whether index i may still start (no lower index has failed).
    bool allows(std::int64_t i) const {
        std::lock_guard<std::mutex> lock(mutex_);
        return i < index_;
    }

    /// Keeps the exception in flight when i is the lowest failing index so far.
    void record(std::int64_t i) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (i < index_) {
            index_ = i;
            error_ = std::current_exception();
        }
    }

    std::int64_t index() const { return index_; }
    const std::exception_ptr& error() const { return error_; }

private:
    mutable std::mutex mutex_;
    std::int64_t index_ = std::numeric_limits<std::int64_t>::max();
    std::exception_ptr error_;
};

/// Rethrows `error` (from index i) after adding context(i) to a rewire::Error; other exceptions as they are.
template <typename Context>
[[noreturn]] void rethrow_with_context(const std::exception_ptr& error, std::int64_t i, Context& context) {
    if constexpr (std::is_same_v<Context, std::nullptr_t>) {
        std::rethrow_exception(error);
    } else {
        try {
            std::rethrow_exception(error);
        } catch (Error& e) {
            e.add_context(context(i));
            throw;
        }
    }
}

}  // namespace detail

/// Runs body(i) (or body(i, thread), thread < parallel_threads(count, parallelism)) for every i in
/// [0, count); see the file comment for the order of blocks, the errors and `context`.
template <typename Body, typename Context = std::nullptr_t>
void parallel_for(std::int64_t count, const Parallelism& parallelism, Body&& body,
                  Context context = nullptr) {
    if (count <= 0)
        return;
    const std::int64_t grain = std::max<std::int64_t>(1, parallelism.grain);
    const int threads = parallel_threads(count, parallelism);
    if (threads == 1) {
        for (std::int64_t i = 0; i < count; ++i) {
            try {
                detail::call_body(body, i, 0);
            } catch (...) {
                detail::rethrow_with_context(std::current_exception(), i, context);
            }
        }
        return;
    }
    const std::int64_t blocks = (count + grain - 1) / grain;
    detail::FirstFailure failure;
#pragma omp parallel num_threads(threads)
    {
        int thread = 0;
#ifdef _OPENMP
        thread = omp_get_thread_num();
#endif
#pragma omp for schedule(dynamic, 1)
        for (std::int64_t b = 0; b < blocks; ++b) {
            const std::int64_t end = std::min(count, (b + 1) * grain);
            for (std::int64_t i = b * grain; i < end; ++i) {
                if (!failure.allows(i))
                    break;
                try {
                    detail::call_body(body, i, thread);
                } catch (...) {
                    failure.record(i);
                }
            }
        }
    }
    if (failure.error())
        detail::rethrow_with_context(failure.error(), failure.index(), context);
}

/// Like parallel_for with a grain of 1, and then consume(i) (or consume(i, thread)) for every i in
/// ascending order, each as soon as produce(i) and every consume before it are done: a sum over
/// subjects accumulated in subject order gives the same bits for any thread count, while only about one
/// result per thread is held at a time. A failed produce(i) skips consume(i) and every later one.
template <typename Produce, typename Consume, typename Context = std::nullptr_t>
void parallel_for_ordered(std::int64_t count, int threads, Produce&& produce, Consume&& consume,
                          Context context = nullptr) {
    if (count <= 0)
        return;
    const int used = parallel_threads(count, Parallelism{threads, 1});
    if (used == 1) {
        for (std::int64_t i = 0; i < count; ++i) {
            try {
                detail::call_body(produce, i, 0);
                detail::call_body(consume, i, 0);
            } catch (...) {
                detail::rethrow_with_context(std::current_exception(), i, context);
            }
        }
        return;
    }
    detail::FirstFailure failure;
#pragma omp parallel num_threads(used)
    {
        int thread = 0;
#ifdef _OPENMP
        thread = omp_get_thread_num();
#endif
#pragma omp for ordered schedule(dynamic, 1)
        for (std::int64_t i = 0; i < count; ++i) {
            bool produced = false;
            if (failure.allows(i)) {
                try {
                    detail::call_body(produce, i, thread);
                    produced = true;
                } catch (...) {
                    failure.record(i);
                }
            }
#pragma omp ordered
            {
                if (produced && failure.allows(i)) {
                    try {
                        detail::call_body(consume, i, thread);
                    } catch (...) {
                        failure.record(i);
                    }
                }
            }
        }
    }
    if (failure.error())
        detail::rethrow_with_context(failure.error(), failure.index(), context);
}

}  // namespace rewire
