#include "byte_source.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <isa-l/igzip_lib.h>

#include "rewire/core/error.hpp"

namespace rewire::detail {
namespace {

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

class PlainSource final : public ByteSource {
public:
    explicit PlainSource(File file) : file_(std::move(file)) {}
    std::size_t read(void* destination, std::size_t count) override {
        return std::fread(destination, 1, count, file_.get());
    }

private:
    File file_;
};

/// Streams gzip members with ISA-L. Concatenated members are inflated one after another, as gzip does.
class GzipSource final : public ByteSource {
public:
    GzipSource(File file, std::string path) : file_(std::move(file)), path_(std::move(path)) {
        input_.resize(1 << 20);
        isal_inflate_init(&state_);
        state_.crc_flag = ISAL_GZIP;
    }

    std::size_t read(void* destination, std::size_t count) override {
        auto* out = static_cast<std::uint8_t*>(destination);
        std::size_t produced = 0;
        while (produced < count) {
            if (state_.block_state == ISAL_BLOCK_FINISH) {
                // End of a gzip member: another member may follow (concatenated gzip).
                if (state_.avail_in == 0 && !refill()) {
                    break;
                }
                const std::uint8_t* next = state_.next_in;
                const std::uint32_t avail = state_.avail_in;
                isal_inflate_reset(&state_);
                state_.crc_flag = ISAL_GZIP;
                state_.next_in = const_cast<std::uint8_t*>(next);
                state_.avail_in = avail;
                continue;
            }
            produced += step(out + produced, count - produced);
        }
        return produced;
    }

    void finish() override {
        // The member's trailer (CRC-32 and length) follows the last byte the caller needs: inflate up
        // to it, so that corrupt bytes are reported instead of returned as voxels. Data after the
        // image is ignored, as nibabel does.
        std::array<std::uint8_t, 4096> scratch{};
        while (state_.block_state != ISAL_BLOCK_FINISH) {
            step(scratch.data(), scratch.size());
        }
    }

private:
    /// One isal_inflate call into `out`; returns the bytes produced. Throws on a corrupt stream, and
    /// on a stream that ends inside a member (a truncated file).
    std::size_t step(std::uint8_t* out, std::size_t count) {
        if (state_.avail_in == 0) {
            refill();  // at the end of the file ISA-L may still hold decoded bytes: call it anyway
        }
        state_.next_out = out;
        state_.avail_out = static_cast<std::uint32_t>(std::min<std::size_t>(count, 1u << 30));
        const std::uint32_t before = state_.avail_out;
        const int status = isal_inflate(&state_);
        if (status < 0 || status == ISAL_NEED_DICT) {
            throw IoError(path_ + ": corrupt gzip stream (" + describe(status) + ") after " +
                          std::to_string(state_.total_out) + " uncompressed bytes");
        }
        const std::size_t produced = before - state_.avail_out;
        if (produced == 0 && state_.avail_in == 0 && eof_ && state_.block_state != ISAL_BLOCK_FINISH) {
            throw IoError(path_ + ": compressed data ends early (truncated .gz file?) after " +
                          std::to_string(state_.total_out) + " uncompressed bytes");
        }
        return produced;
    }

    bool refill() {
        if (eof_) {
            return false;
        }
        const std::size_t got = std::fread(input_.data(), 1, input_.size(), file_.get());
        if (got < input_.size()) {
            if (std::ferror(file_.get())) {
                throw IoError(path_ + ": read error: " + std::strerror(errno));
            }
            eof_ = true;
        }
        state_.next_in = input_.data();
        state_.avail_in = static_cast<std::uint32_t>(got);
        return got > 0;
    }

    static std::string describe(int status) {
        switch (status) {
            case ISAL_INVALID_BLOCK: return "invalid deflate block";
            case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
            case ISAL_INVALID_LOOKBACK: return "invalid lookback distance";
            case ISAL_INVALID_WRAPPER: return "invalid gzip header";
            case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
            case ISAL_INCORRECT_CHECKSUM: return "CRC mismatch";
            case ISAL_NEED_DICT: return "preset dictionary required";
            default: return "isal_inflate error " + std::to_string(status);
        }
    }

    File file_;
    std::string path_;
    std::vector<std::uint8_t> input_;
    inflate_state state_{};
    bool eof_ = false;
};

}  // namespace

std::size_t ByteSource::skip(std::size_t count) {
    std::array<std::uint8_t, 4096> scratch{};
    std::size_t skipped = 0;
    while (skipped < count) {
        const std::size_t step = std::min(scratch.size(), count - skipped);
        const std::size_t got = read(scratch.data(), step);
        skipped += got;
        if (got < step) {
            break;
        }
    }
    return skipped;
}

std::unique_ptr<ByteSource> ByteSource::open(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        throw IoError(path + ": cannot open: " + std::strerror(errno));
    }
    return from_file(file, path);
}

std::unique_ptr<ByteSource> ByteSource::from_file(std::FILE* opened, const std::string& path) {
    File file(opened);
    unsigned char magic[2] = {0, 0};
    const std::size_t got = std::fread(magic, 1, 2, file.get());
    std::rewind(file.get());
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        return std::make_unique<GzipSource>(std::move(file), path);
    }
    return std::make_unique<PlainSource>(std::move(file));
}

}  // namespace rewire::detail
