// rewire::stats — shuffles for permutation inference, from a counter-based generator.
//
// Shuffle k of a test is a pure function of (seed, k): its random draws come from Philox4x64-10
// (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3", SC'11) keyed by the seed, with
// the shuffle index and a draw counter as the counter. Results are therefore identical for any number
// of threads, any split of the shuffles into chunks, and on any machine.
//
// A shuffle is a pair (perm, sign): shuffled row i of the data is sign[i] · row perm[i], i.e.
// numpy's sign[:, None] * data[perm] (MRtrix3's shuffling matrix P with P(i, perm[i]) = sign[i]).
// Kinds (Winkler et al. 2014, NeuroImage 92:381):
//   sign_flip    independent and symmetric errors (ISE): one-sample and paired designs
//   permutation  exchangeable errors (EE): designs whose nuisance includes the intercept
//   both         EE and ISE together
// Exchangeability blocks restrict them: within-block (subjects move only inside their block; signs
// flip per subject) or whole-block (blocks of equal size move as units, order kept inside; signs
// flip per block).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "rewire/core/error.hpp"

namespace rewire::stats {

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 uint128_t;  // __extension__: no -Wpedantic noise
#endif

/// Philox4x64-10: 256-bit counter, 128-bit key, 4 × 64 random bits per call. The same bits as
/// numpy.random.Philox (which increments its counter before each block).
class Philox4x64 {
public:
    using Block = std::array<std::uint64_t, 4>;

    static Block generate(Block counter, std::uint64_t key0, std::uint64_t key1) {
        for (int round = 0; round < 10; ++round) {
            if (round > 0) {
                key0 += 0x9E3779B97F4A7C15ULL;
                key1 += 0xBB67AE8584CAA73BULL;
            }
            std::uint64_t hi0, lo0, hi1, lo1;
            mulhilo(0xD2E7470EE14C6C93ULL, counter[0], hi0, lo0);
            mulhilo(0xCA5A826395121157ULL, counter[2], hi1, lo1);
            counter = {hi1 ^ counter[1] ^ key0, lo1, hi0 ^ counter[3] ^ key1, lo0};
        }
        return counter;
    }

private:
    static void mulhilo(std::uint64_t a, std::uint64_t b, std::uint64_t& hi, std::uint64_t& lo) {
#if defined(__SIZEOF_INT128__)
        const uint128_t product = static_cast<uint128_t>(a) * b;
        hi = static_cast<std::uint64_t>(product >> 64);
        lo = static_cast<std::uint64_t>(product);
#else
        const std::uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
        const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
        const std::uint64_t middle = (ll >> 32) + (lh & 0xFFFFFFFFULL) + (hl & 0xFFFFFFFFULL);
        lo = (middle << 32) | (ll & 0xFFFFFFFFULL);
        hi = hh + (lh >> 32) + (hl >> 32) + (middle >> 32);
#endif
    }
};

/// The random draws of one shuffle: Philox keyed by (seed, "rewire") with counter
/// (shuffle index, block number, 0, 0).
class ShuffleStream {
public:
    ShuffleStream(std::uint64_t seed, std::uint64_t shuffle) : seed_(seed), shuffle_(shuffle) {}

    std::uint64_t next() {
        if (position_ == 4) {
            buffer_ = Philox4x64::generate({shuffle_, block_++, 0, 0}, seed_, 0x7265776972650000ULL);
            position_ = 0;
        }
        return buffer_[position_++];
    }

    /// Uniform integer in [0, n), n ≥ 1, without bias (Lemire 2019, "Fast random integer generation
    /// in an interval").
    std::uint64_t below(std::uint64_t n) {
#if defined(__SIZEOF_INT128__)
        uint128_t product = static_cast<uint128_t>(next()) * n;
        auto low = static_cast<std::uint64_t>(product);
        if (low < n) {
            const std::uint64_t threshold = (0 - n) % n;
            while (low < threshold) {
                product = static_cast<uint128_t>(next()) * n;
                low = static_cast<std::uint64_t>(product);
            }
        }
        return static_cast<std::uint64_t>(product >> 64);
#else
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
        std::uint64_t x;
        do {
            x = next();
        } while (x >= limit);
        return x % n;
#endif
    }

    bool bit() {
        if (bits_left_ == 0) {
            bits_ = next();
            bits_left_ = 64;
        }
        const bool value = bits_ & 1ULL;
        bits_ >>= 1;
        --bits_left_;
        return value;
    }

private:
    std::uint64_t seed_;
    std::uint64_t shuffle_;
    std::uint64_t block_ = 0;
    Philox4x64::Block buffer_{};
    int position_ = 4;
    std::uint64_t bits_ = 0;
    int bits_left_ = 0;
};

enum class ShuffleKind {
    sign_flip,    ///< independent and symmetric errors
    permutation,  ///< exchangeable errors
    both,         ///< permutation and sign flip together
};

/// How random shuffles are drawn.
struct ShuffleOptions {
    ShuffleKind kind = ShuffleKind::sign_flip;
    /// Number of shuffles besides the unpermuted data (≥ 1).
    std::int64_t count = 5000;
    /// Key of the generator: same seed, same shuffles.
    std::uint64_t seed = 0;
    /// Exchangeability block of each subject (any integer labels); empty: all subjects one block.
    std::vector<std::int64_t> blocks;
    /// Blocks move as wholes (and flip signs as wholes) instead of shuffling within each block.
    bool whole_blocks = false;
    /// When every distinct shuffle fits in `count` (e.g. 2^S sign flips for small S), enumerate them
    /// all instead of sampling (exact test).
    bool exhaustive = true;
    /// Make shuffle 0 the unpermuted data (MRtrix3 counts it among its shuffles).
    bool include_identity = false;

    void validate(Eigen::Index subjects) const {
        if (count < 1) {
            throw InvalidInput("shuffles: the number of shuffles must be at least 1, got " + std::to_string(count));
        }
        if (!blocks.empty() && static_cast<Eigen::Index>(blocks.size()) != subjects) {
            throw InvalidInput("blocks: expected one exchangeability block label per subject (" +
                               std::to_string(subjects) + "), got " + std::to_string(blocks.size()));
        }
        if (whole_blocks && blocks.empty()) {
            throw InvalidInput("whole_blocks: needs exchangeability blocks (one label per subject)");
        }
    }
};

/// A set of shuffles for S subjects: drawn from (seed, index), enumerated exhaustively, or given
/// explicitly.
class Shuffles {
public:
    /// Random (or, when few enough exist, all) shuffles of `subjects` rows.
    static Shuffles random(Eigen::Index subjects, const ShuffleOptions& options) {
        options.validate(subjects);
        Shuffles s;
        s.subjects_ = subjects;
        s.kind_ = options.kind;
        s.seed_ = options.seed;
        s.include_identity_ = options.include_identity;
        s.whole_ = options.whole_blocks;
        s.set_blocks(options.blocks);
        const std::uint64_t possible = s.possible();
        // Exhaustive when all possible shuffles (the identity among them) number no more than the
        // requested shuffles plus the identity.
        const std::uint64_t requested = static_cast<std::uint64_t>(options.count) + (options.include_identity ? 0 : 1);
        if (options.exhaustive && possible != kTooMany && possible <= requested) {
            s.exhaustive_ = true;
            s.size_ = static_cast<std::int64_t>(possible) - (options.include_identity ? 0 : 1);
        } else {
            s.size_ = options.count;
        }
        if (s.size_ < 1) {
            throw InvalidInput("shuffles: " + std::to_string(subjects) +
                               " subject(s) under these exchangeability restrictions allow no shuffle besides the "
                               "unpermuted data");
        }
        return s;
    }

    /// Explicit sign flips, S × K of ±1 (column k is shuffle k).
    static Shuffles from_sign_flips(const Eigen::Ref<const Eigen::MatrixXd>& flips) {
        if (flips.rows() < 1 || flips.cols() < 1) {
            throw InvalidInput("signflips: expected a subjects × shuffles matrix of ±1, got " +
                               std::to_string(flips.rows()) + " × " + std::to_string(flips.cols()));
        }
        for (Eigen::Index k = 0; k < flips.cols(); ++k) {
            for (Eigen::Index i = 0; i < flips.rows(); ++i) {
                if (flips(i, k) != 1.0 && flips(i, k) != -1.0) {
                    throw InvalidInput("signflips: entry (" + std::to_string(i) + ", " + std::to_string(k) +
                                       ") is " + std::to_string(flips(i, k)) + ", expected +1 or -1");
                }
            }
        }
        Shuffles s;
        s.subjects_ = flips.rows();
        s.kind_ = ShuffleKind::sign_flip;
        s.size_ = flips.cols();
        s.explicit_signs_ = flips;
        return s;
    }

    /// Explicit permutations, K × S of row indices (row k is shuffle k: data[perm]).
    static Shuffles from_permutations(
        const Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>>& perms) {
        if (perms.rows() < 1 || perms.cols() < 1) {
            throw InvalidInput("permutations: expected a shuffles × subjects matrix of row indices, got " +
                               std::to_string(perms.rows()) + " × " + std::to_string(perms.cols()));
        }
        const Eigen::Index n = perms.cols();
        std::vector<char> seen(static_cast<std::size_t>(n));
        for (Eigen::Index k = 0; k < perms.rows(); ++k) {
            std::fill(seen.begin(), seen.end(), 0);
            for (Eigen::Index i = 0; i < n; ++i) {
                const std::int64_t v = perms(k, i);
                if (v < 0 || v >= n || seen[static_cast<std::size_t>(v)]) {
                    throw InvalidInput("permutations: row " + std::to_string(k) +
                                       " is not a permutation of 0.." + std::to_string(n - 1) + " (entry " +
                                       std::to_string(i) + " = " + std::to_string(v) + ")");
                }
                seen[static_cast<std::size_t>(v)] = 1;
            }
        }
        Shuffles s;
        s.subjects_ = n;
        s.kind_ = ShuffleKind::permutation;
        s.size_ = perms.rows();
        s.explicit_perms_ = perms;
        return s;
    }

    Eigen::Index subjects() const { return subjects_; }
    std::int64_t size() const { return size_; }
    ShuffleKind kind() const { return kind_; }
    bool exhaustive() const { return exhaustive_; }
    bool is_explicit() const { return explicit_signs_.size() > 0 || explicit_perms_.size() > 0; }
    bool flips_signs() const { return kind_ != ShuffleKind::permutation; }
    bool permutes() const { return kind_ != ShuffleKind::sign_flip; }
    bool whole_blocks() const { return whole_; }
    /// Block index (0-based, dense) of each subject; all zeros without blocks.
    const std::vector<std::int64_t>& block_of() const { return block_of_; }

    /// Writes shuffle k (0 ≤ k < size()) into perm[0..S) and sign[0..S).
    void get(std::int64_t k, std::int64_t* perm, double* sign) const {
        const Eigen::Index n = subjects_;
        if (explicit_signs_.size() > 0) {
            for (Eigen::Index i = 0; i < n; ++i) {
                perm[i] = i;
                sign[i] = explicit_signs_(i, k);
            }
            return;
        }
        if (explicit_perms_.size() > 0) {
            for (Eigen::Index i = 0; i < n; ++i) {
                perm[i] = explicit_perms_(k, i);
                sign[i] = 1.0;
            }
            return;
        }
        for (Eigen::Index i = 0; i < n; ++i) {
            perm[i] = i;
            sign[i] = 1.0;
        }
        if (exhaustive_) {
            unrank(static_cast<std::uint64_t>(k) + (include_identity_ ? 0 : 1), perm, sign);
            return;
        }
        if (include_identity_ && k == 0) return;
        ShuffleStream stream(seed_, static_cast<std::uint64_t>(k));
        if (permutes()) draw_permutation(stream, perm);
        if (flips_signs()) draw_signs(stream, sign);
    }

    /// Number of distinct shuffles, the identity included (kTooMany when it exceeds 2^63).
    std::uint64_t possible() const {
        std::uint64_t total = 1;
        if (permutes()) {
            if (whole_) {
                total = factorial(static_cast<std::uint64_t>(members_.size()));
            } else {
                for (const auto& m : members_) total = multiply(total, factorial(m.size()));
            }
        }
        if (flips_signs()) {
            const std::uint64_t units = whole_ ? members_.size() : static_cast<std::uint64_t>(subjects_);
            total = multiply(total, units >= 63 ? kTooMany : (std::uint64_t{1} << units));
        }
        return total;
    }

    static constexpr std::uint64_t kTooMany = std::numeric_limits<std::uint64_t>::max();

private:
    static std::uint64_t multiply(std::uint64_t a, std::uint64_t b) {
        if (a == kTooMany || b == kTooMany) return kTooMany;
        if (a != 0 && b > (std::uint64_t{1} << 62) / a) return kTooMany;
        return a * b;
    }
    static std::uint64_t factorial(std::uint64_t n) {
        std::uint64_t f = 1;
        for (std::uint64_t i = 2; i <= n; ++i) f = multiply(f, i);
        return f;
    }

    void set_blocks(const std::vector<std::int64_t>& labels) {
        block_of_.assign(static_cast<std::size_t>(subjects_), 0);
        members_.clear();
        if (labels.empty()) {
            members_.emplace_back();
            for (Eigen::Index i = 0; i < subjects_; ++i) members_[0].push_back(i);
            return;
        }
        std::map<std::int64_t, std::int64_t> dense;  // labels in ascending order → 0, 1, ...
        for (auto label : labels) dense.emplace(label, 0);
        std::int64_t next = 0;
        for (auto& entry : dense) entry.second = next++;
        members_.resize(dense.size());
        for (Eigen::Index i = 0; i < subjects_; ++i) {
            block_of_[i] = dense[labels[i]];
            members_[block_of_[i]].push_back(i);
        }
        if (whole_) {
            for (const auto& m : members_) {
                if (m.size() != members_[0].size()) {
                    throw InvalidInput("blocks: whole-block exchange needs blocks of equal size; block sizes " +
                                       std::to_string(members_[0].size()) + " and " + std::to_string(m.size()) +
                                       " differ");
                }
            }
        }
    }

    void draw_permutation(ShuffleStream& stream, std::int64_t* perm) const {
        if (whole_) {
            // Fisher–Yates over block order; block b takes the place of block order[b].
            std::vector<std::int64_t> order(members_.size());
            for (std::size_t b = 0; b < order.size(); ++b) order[b] = static_cast<std::int64_t>(b);
            for (std::size_t b = order.size(); b > 1; --b) std::swap(order[b - 1], order[stream.below(b)]);
            place_blocks(order, perm);
            return;
        }
        for (const auto& m : members_) {
            std::vector<std::int64_t> values(m.begin(), m.end());
            for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[stream.below(i)]);
            for (std::size_t i = 0; i < m.size(); ++i) perm[m[i]] = values[i];
        }
    }

    void draw_signs(ShuffleStream& stream, double* sign) const {
        if (whole_) {
            for (const auto& m : members_) {
                const double s = stream.bit() ? -1.0 : 1.0;
                for (auto i : m) sign[i] = s;
            }
            return;
        }
        for (Eigen::Index i = 0; i < subjects_; ++i) sign[i] = stream.bit() ? -1.0 : 1.0;
    }

    void place_blocks(const std::vector<std::int64_t>& order, std::int64_t* perm) const {
        for (std::size_t b = 0; b < members_.size(); ++b) {
            const auto& target = members_[b];
            const auto& source = members_[static_cast<std::size_t>(order[b])];
            for (std::size_t i = 0; i < target.size(); ++i) perm[target[i]] = source[i];
        }
    }

    /// Lexicographic permutation number `rank` of `values` (rank < n!), in place.
    static void unrank_permutation(std::uint64_t rank, std::vector<std::int64_t>& values) {
        const std::size_t n = values.size();
        std::vector<std::int64_t> pool(values);
        std::sort(pool.begin(), pool.end());
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t f = factorial(n - 1 - i);
            const std::uint64_t index = rank / f;
            rank %= f;
            values[i] = pool[static_cast<std::size_t>(index)];
            pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(index));
        }
    }

    /// Shuffle number `rank` of the exhaustive enumeration (rank 0: identity): permutation part
    /// first (mixed radix over blocks), then sign bits.
    void unrank(std::uint64_t rank, std::int64_t* perm, double* sign) const {
        if (permutes()) {
            std::uint64_t perm_count = 1;
            if (whole_) {
                perm_count = factorial(members_.size());
            } else {
                for (const auto& m : members_) perm_count *= factorial(m.size());
            }
            std::uint64_t p_rank = rank % perm_count;
            rank /= perm_count;
            if (whole_) {
                std::vector<std::int64_t> order(members_.size());
                for (std::size_t b = 0; b < order.size(); ++b) order[b] = static_cast<std::int64_t>(b);
                unrank_permutation(p_rank, order);
                place_blocks(order, perm);
            } else {
                for (const auto& m : members_) {
                    const std::uint64_t f = factorial(m.size());
                    std::vector<std::int64_t> values(m.begin(), m.end());
                    unrank_permutation(p_rank % f, values);
                    p_rank /= f;
                    for (std::size_t i = 0; i < m.size(); ++i) perm[m[i]] = values[i];
                }
            }
        }
        if (flips_signs()) {
            if (whole_) {
                for (std::size_t b = 0; b < members_.size(); ++b) {
                    const double s = (rank >> b) & 1ULL ? -1.0 : 1.0;
                    for (auto i : members_[b]) sign[i] = s;
                }
            } else {
                for (Eigen::Index i = 0; i < subjects_; ++i) sign[i] = (rank >> i) & 1ULL ? -1.0 : 1.0;
            }
        }
    }

    Eigen::Index subjects_ = 0;
    std::int64_t size_ = 0;
    ShuffleKind kind_ = ShuffleKind::sign_flip;
    std::uint64_t seed_ = 0;
    bool exhaustive_ = false;
    bool include_identity_ = false;
    bool whole_ = false;
    std::vector<std::int64_t> block_of_;
    std::vector<std::vector<std::int64_t>> members_;
    Eigen::MatrixXd explicit_signs_;
    Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic> explicit_perms_;
};

}  // namespace rewire::stats
