// rewire — the thread count every parallel step resolves its `threads` option with.
#include "rewire/core/parallel.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace rewire {

int resolve_threads(int requested, int reserved) {
    if (requested > 0) {
        return requested;
    }
    for (const char* name : {"REWIRE_NUM_THREADS", "OMP_NUM_THREADS"}) {
        if (const char* value = std::getenv(name)) {
            const int parsed = std::atoi(value);
            if (parsed > 0) {
                return parsed;
            }
        }
    }
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::max(1, cores - reserved);
}

}  // namespace rewire
