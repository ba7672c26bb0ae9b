// rewire — raw voxel values widened to doubles inside the buffer that holds them (private to src/io;
// no Eigen, so that the ITK bridge can include it too).
#pragma once

#include <cstddef>
#include <cstring>
#include <vector>

namespace rewire::detail {

/// The first `buffer.size()` raw values (`bytes` <= 8 each) stored at the start of `buffer` become its
/// doubles, in place, so that an image never needs a second copy: `convert(raw, count, out)` turns
/// `count` raw values into doubles. Blocks go from the end: value i's raw bytes lie below byte 8 i, so
/// no raw value is overwritten before it is converted.
template <typename Convert>
void widen_in_place(std::vector<double>& buffer, std::size_t bytes, Convert convert) {
    constexpr std::size_t block = std::size_t{1} << 14;
    std::vector<unsigned char> scratch(block * bytes);
    auto* raw = reinterpret_cast<unsigned char*>(buffer.data());
    std::size_t end = buffer.size();
    while (end > 0) {
        const std::size_t begin = end > block ? end - block : 0;
        std::memcpy(scratch.data(), raw + begin * bytes, (end - begin) * bytes);
        convert(scratch.data(), end - begin, buffer.data() + begin);
        end = begin;
    }
}

}  // namespace rewire::detail
