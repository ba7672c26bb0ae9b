// Fuzz harness support: the fuzzer's bytes as a read-only FILE*, so that a reader's own stream code
// (ByteSource) runs on them exactly as on a file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

inline std::FILE* memory_file(const std::uint8_t* data, std::size_t size) {
    // Opened "rb", fmemopen() never writes to the buffer (glibc accepts a size of 0).
    static std::uint8_t empty = 0;
    std::FILE* file = fmemopen(const_cast<std::uint8_t*>(size == 0 ? &empty : data), size, "rb");
    if (file == nullptr) {
        std::abort();  // the harness itself failed, not the library
    }
    return file;
}
