// parallel_for / parallel_for_ordered: every index once, errors of the lowest index with their type and
// context, in-order consumption, and no nested regions.
#include <atomic>
#include <catch2/catch.hpp>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "rewire/core/parallel.hpp"

using namespace rewire;

TEST_CASE("parallel_for runs every index exactly once on at most the threads asked for", "[parallel]") {
    for (int threads : {1, 2, 4}) {
        for (std::int64_t grain : {1, 3, 1000}) {
            std::vector<std::atomic<int>> seen(257);
            std::atomic<int> highest_thread{0};
            parallel_for(257, {threads, grain}, [&](std::int64_t i, int thread) {
                ++seen[static_cast<std::size_t>(i)];
                int h = highest_thread.load();
                while (thread > h && !highest_thread.compare_exchange_weak(h, thread)) {
                }
            });
            for (const auto& s : seen)
                REQUIRE(s.load() == 1);
            REQUIRE(highest_thread.load() < parallel_threads(257, {threads, grain}));
        }
    }
    REQUIRE(parallel_threads(5, {4, 10}) == 1);  // one block: serial
}

TEST_CASE("parallel_for rethrows the lowest failing index with its type and context", "[parallel]") {
    for (int threads : {1, 2, 3}) {
        const auto run = [&] {
            parallel_for(
                100, {threads, 1},
                [](std::int64_t i) {
                    if (i == 17)
                        throw IoError("file-17.nii: truncated");
                    if (i == 60)
                        throw InvalidInput("file-60: bad");
                },
                [](std::int64_t i) { return "subject " + std::to_string(i); });
        };
        REQUIRE_THROWS_AS(run(), IoError);
        REQUIRE_THROWS_WITH(run(), "subject 17: file-17.nii: truncated");
    }
    // Exceptions that are not rewire's keep their type and message.
    REQUIRE_THROWS_AS(parallel_for(10, {2, 1},
                                   [](std::int64_t i) {
                                       if (i == 3)
                                           throw std::bad_alloc();
                                   }),
                      std::bad_alloc);
}

TEST_CASE("parallel_for_ordered consumes in index order for any thread count", "[parallel]") {
    for (int threads : {1, 2, 4}) {
        std::vector<double> produced(50);
        std::vector<std::int64_t> order;
        parallel_for_ordered(
            50, threads,
            [&](std::int64_t i) {
                produced[static_cast<std::size_t>(i)] = 1.0 / (1.0 + static_cast<double>(i));
            },
            [&](std::int64_t i) { order.push_back(i); });
        std::vector<std::int64_t> expected(50);
        std::iota(expected.begin(), expected.end(), 0);
        REQUIRE(order == expected);
    }
    std::vector<std::int64_t> consumed;
    REQUIRE_THROWS_AS(parallel_for_ordered(
                          20, 2,
                          [](std::int64_t i) {
                              if (i == 5)
                                  throw NumericalError("diverged");
                          },
                          [&](std::int64_t i) { consumed.push_back(i); }),
                      NumericalError);
    REQUIRE(consumed == std::vector<std::int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("parallel_for inside a parallel_for runs serially", "[parallel]") {
    std::atomic<int> inner_threads_above_one{0};
    parallel_for(4, {2, 1}, [&](std::int64_t) {
        if (parallel_threads(100, {4, 1}) != 1)
            ++inner_threads_above_one;
        std::atomic<int> count{0};
        parallel_for(100, {4, 1}, [&](std::int64_t) { ++count; });
        REQUIRE(count.load() == 100);
    });
    REQUIRE(inner_threads_above_one.load() == 0);
}
