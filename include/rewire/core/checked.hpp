// rewire — sizes computed from untrusted numbers (file headers) without overflow: a product that does
// not fit is refused, before anything is allocated, instead of wrapping round to a small number.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>

namespace rewire {

/// The product of non-negative `factors`, or nothing when a factor is negative or the product exceeds
/// std::int64_t.
inline std::optional<std::int64_t> checked_product(std::initializer_list<std::int64_t> factors) {
    std::int64_t product = 1;
    for (const std::int64_t factor : factors) {
        if (factor < 0 || __builtin_mul_overflow(product, factor, &product))
            return std::nullopt;
    }
    return product;
}

/// a + b for non-negative a and b, or nothing when the sum exceeds std::int64_t.
inline std::optional<std::int64_t> checked_sum(std::int64_t a, std::int64_t b) {
    std::int64_t sum = 0;
    if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &sum))
        return std::nullopt;
    return sum;
}

}  // namespace rewire
