// rewire — private: a forward-only byte source over a plain or gzip-compressed file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace rewire::detail {

/// Reads the uncompressed bytes of a file in order. `.gz` files (detected by their magic bytes, not
/// their name) are inflated with ISA-L; other files are read as they are.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    /// Reads up to `count` bytes; returns how many were read (fewer only at the end of the data).
    virtual std::size_t read(void* destination, std::size_t count) = 0;
    /// Called after the last byte the caller needs: checks what follows it (for gzip, the CRC-32 of
    /// the member). Throws IoError when the data is corrupt.
    virtual void finish() {}
    /// Skips `count` bytes; returns how many were skipped.
    std::size_t skip(std::size_t count);
    /// Opens `path`; throws IoError when it cannot be opened.
    static std::unique_ptr<ByteSource> open(const std::string& path);
    /// Reads an open stream (taking ownership of `file`, closed by the source) as open() reads a file;
    /// `path` names it in messages. The fuzz harnesses pass memory through fmemopen().
    static std::unique_ptr<ByteSource> from_file(std::FILE* file, const std::string& path);
};

}  // namespace rewire::detail
