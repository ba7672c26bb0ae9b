// Fuzz harness: the ISA-L gzip stream that .nii.gz voxel data goes through (ByteSource), on arbitrary
// bytes. Whatever it returns without an error must equal zlib's inflation of the same members.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <zlib.h>

#include "byte_source.hpp"
#include "memory_file.hpp"
#include "rewire/core/error.hpp"

namespace {

constexpr std::size_t kLimit = std::size_t{1} << 24;  // stop at 16 MiB of output: keeps runs fast

/// zlib's inflation of every concatenated gzip member; false when zlib reports an error.
bool zlib_inflate(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& out) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        std::abort();
    }
    z.next_in = const_cast<std::uint8_t*>(data);
    z.avail_in = static_cast<uInt>(size);
    std::uint8_t chunk[1 << 14];
    bool ok = true;
    while (ok) {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        const int status = inflate(&z, Z_NO_FLUSH);
        out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
        if (status == Z_STREAM_END) {
            if (z.avail_in == 0) {
                break;
            }
            inflateReset(&z);  // another member follows
        } else if (status != Z_OK || out.size() > kLimit) {
            ok = status == Z_OK;
            break;
        }
    }
    inflateEnd(&z);
    return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rewire;
    const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    std::vector<std::uint8_t> ours;
    try {
        auto source = detail::ByteSource::from_file(memory_file(data, size), "fuzz.nii.gz");
        std::uint8_t chunk[4099];  // odd size: reads end in the middle of blocks and members
        while (ours.size() <= kLimit) {
            const std::size_t got = source->read(chunk, sizeof chunk);
            ours.insert(ours.end(), chunk, chunk + got);
            if (got < sizeof chunk) {
                source->finish();
                break;
            }
        }
    } catch (const Error&) {
        return 0;  // a corrupt or truncated stream reported as such
    }
    if (!gzip) {
        if (ours.size() != size || (size > 0 && std::memcmp(ours.data(), data, size) != 0)) {
            std::abort();  // a plain file must come back unchanged
        }
        return 0;
    }
    std::vector<std::uint8_t> reference;
    if (ours.size() <= kLimit && zlib_inflate(data, size, reference) && reference != ours) {
        std::abort();  // both accepted the stream but disagree on its bytes
    }
    return 0;
}
