// checked_product / checked_sum against 128-bit arithmetic, which holds every product of two int64
// values exactly.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>

#include "rewire/core/checked.hpp"

using rewire::checked_product;
using rewire::checked_sum;

namespace {
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
}

TEST_CASE("checked_product: exact when it fits, nothing when it does not", "[checked]") {
    CHECK(checked_product({}) == 1);
    CHECK(checked_product({6, 5, 4, 10}) == 1200);
    CHECK(checked_product({kMax, 1}) == kMax);
    CHECK(checked_product({0, kMax, kMax}) == 0);
    CHECK(checked_product({std::int64_t{1} << 31, std::int64_t{1} << 31}) == std::int64_t{1} << 62);
    // The NIfTI-2 headers of the issue: 2^62 × 8 bytes, 2^32 × 2^32 voxels, 2^20 cubed × 4 volumes × 8 bytes.
    CHECK_FALSE(checked_product({std::int64_t{1} << 62, 8}));
    CHECK_FALSE(checked_product({std::int64_t{1} << 32, std::int64_t{1} << 32}));
    CHECK_FALSE(checked_product({1 << 20, 1 << 20, 1 << 20, 4, 8}));
    CHECK(checked_product({1 << 20, 1 << 20, 1 << 20, 4}) == std::int64_t{1} << 62);
    CHECK_FALSE(checked_product({-1, 5}));

    std::mt19937_64 random(12);
    for (int trial = 0; trial < 20000; ++trial) {
        const std::int64_t a = static_cast<std::int64_t>(random() >> (1 + random() % 63));
        const std::int64_t b = static_cast<std::int64_t>(random() >> (1 + random() % 63));
        const __int128 exact = static_cast<__int128>(a) * b;
        const auto product = checked_product({a, b});
        if (exact > kMax) {
            CHECK_FALSE(product);
        } else {
            REQUIRE(product);
            CHECK(*product == static_cast<std::int64_t>(exact));
        }
    }
}

TEST_CASE("checked_sum: exact when it fits, nothing when it does not", "[checked]") {
    CHECK(checked_sum(352, 9600) == 9952);
    CHECK(checked_sum(kMax, 0) == kMax);
    CHECK_FALSE(checked_sum(kMax, 1));
    CHECK_FALSE(checked_sum(std::int64_t{1} << 62, std::int64_t{1} << 62));
    CHECK_FALSE(checked_sum(-1, 1));
}
