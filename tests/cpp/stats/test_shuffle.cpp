// rewire::stats — the counter-based shuffle generator: Philox known answers, (seed, index) streams,
// exchangeability blocks and exhaustive enumeration.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <set>

#include "rewire/core/error.hpp"
#include "rewire/stats/shuffle.hpp"
#include "test_support.hpp"

using namespace rewire;
using namespace rewire::stats;

TEST_CASE("Philox4x64-10 known answers (Random123 kat_vectors)", "[stats][shuffle]") {
    const auto zero = Philox4x64::generate({0, 0, 0, 0}, 0, 0);
    CHECK(zero[0] == 0x16554d9eca36314cULL);
    CHECK(zero[1] == 0xdb20fe9d672d0fdcULL);
    CHECK(zero[2] == 0xd7e772cee186176bULL);
    CHECK(zero[3] == 0x7e68b68aec7ba23bULL);
    const auto pi = Philox4x64::generate(
        {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL},
        0x452821e638d01377ULL, 0xbe5466cf34e90c6cULL);
    CHECK(pi[0] == 0xa528f45403e61d95ULL);
    CHECK(pi[1] == 0x38c72dbd566e9788ULL);
    CHECK(pi[2] == 0xa5a1610e72fd18b5ULL);
    CHECK(pi[3] == 0x57bd43b5e52b7fe6ULL);
}

TEST_CASE("shuffles are a function of (seed, index) and respect exchangeability blocks", "[stats][shuffle]") {
    ShuffleOptions options;
    options.kind = ShuffleKind::both;
    options.count = 50;
    options.seed = 42;
    options.blocks = {3, 3, 3, 7, 7, 7, 1, 1};
    const Shuffles a = Shuffles::random(8, options);
    std::vector<std::int64_t> perm(8), perm2(8);
    std::vector<double> sign(8), sign2(8);
    std::set<std::vector<std::int64_t>> distinct;
    for (std::int64_t k = 0; k < a.size(); ++k) {
        a.get(k, perm.data(), sign.data());
        a.get(k, perm2.data(), sign2.data());  // same again: stateless
        CHECK(perm == perm2);
        CHECK(sign == sign2);
        for (int i = 0; i < 8; ++i)
            CHECK(options.blocks[perm[i]] == options.blocks[i]);  // within blocks
        std::vector<std::int64_t> sorted = perm;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
        distinct.insert(perm);
    }
    CHECK(distinct.size() > 30);
    options.seed = 43;
    const Shuffles b = Shuffles::random(8, options);
    b.get(0, perm2.data(), sign2.data());
    a.get(0, perm.data(), sign.data());
    CHECK((perm != perm2 || sign != sign2));

    // Whole blocks move as units and flip signs as units.
    ShuffleOptions whole;
    whole.kind = ShuffleKind::both;
    whole.count = 20;
    whole.blocks = {0, 0, 1, 1, 2, 2};
    whole.whole_blocks = true;
    whole.exhaustive = false;
    const Shuffles w = Shuffles::random(6, whole);
    for (std::int64_t k = 0; k < w.size(); ++k) {
        w.get(k, perm.data(), sign.data());
        for (int blk = 0; blk < 3; ++blk) {
            CHECK(perm[2 * blk + 1] == perm[2 * blk] + 1);
            CHECK(perm[2 * blk] % 2 == 0);
            CHECK(sign[2 * blk] == sign[2 * blk + 1]);
        }
    }
    whole.blocks = {0, 0, 1, 1, 1, 2};
    CHECK_THAT(test::message_of<InvalidInput>([&] { Shuffles::random(6, whole); }),
               Catch::Contains("equal size"));
    ShuffleOptions zero;
    zero.count = 0;
    CHECK_THAT(test::message_of<InvalidInput>([&] { Shuffles::random(6, zero); }),
               Catch::Contains("at least 1"));
}

TEST_CASE("exhaustive enumeration: every shuffle once, identity excluded", "[stats][shuffle]") {
    ShuffleOptions options;
    options.count = 5000;
    const Shuffles flips = Shuffles::random(5, options);  // 2^5 = 32 ≤ 5001
    REQUIRE(flips.exhaustive());
    REQUIRE(flips.size() == 31);
    std::set<std::vector<double>> seen;
    std::vector<std::int64_t> perm(5);
    std::vector<double> sign(5);
    for (std::int64_t k = 0; k < flips.size(); ++k) {
        flips.get(k, perm.data(), sign.data());
        seen.insert(sign);
    }
    CHECK(seen.size() == 31);
    CHECK(seen.count(std::vector<double>(5, 1.0)) == 0);

    options.kind = ShuffleKind::permutation;
    const Shuffles perms = Shuffles::random(5, options);  // 5! = 120
    REQUIRE(perms.size() == 119);
    std::set<std::vector<std::int64_t>> all;
    for (std::int64_t k = 0; k < perms.size(); ++k) {
        perms.get(k, perm.data(), sign.data());
        all.insert(perm);
    }
    CHECK(all.size() == 119);
    options.include_identity = true;  // MRtrix3 counts the identity among its shuffles
    const Shuffles with_identity = Shuffles::random(5, options);
    CHECK(with_identity.size() == 120);
    with_identity.get(0, perm.data(), sign.data());
    CHECK(perm == std::vector<std::int64_t>{0, 1, 2, 3, 4});
    options.count = 100;  // fewer requested than exist: random
    CHECK_FALSE(Shuffles::random(5, options).exhaustive());
}
