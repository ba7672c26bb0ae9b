// Fuzz harness: the NIfTI-1 / NIfTI-2 header parser on arbitrary bytes, plain or gzip-compressed (the
// same ByteSource as for files). A header it accepts must satisfy what the rest of rewire relies on.
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "memory_file.hpp"
#include "nifti_header.hpp"
#include "rewire/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rewire;
    try {
        auto source = detail::ByteSource::from_file(memory_file(data, size), "fuzz.nii");
        const NiftiHeader h = detail::parse_nifti_header(*source, "fuzz.nii");
        const std::int64_t header_size = h.version == 1 ? 348 : 540;
        bool valid = (h.version == 1 || h.version == 2) && h.dim[0] >= 1 && h.dim[0] <= 7 &&
                     h.vox_offset >= header_size && bytes_per_voxel(h.datatype) > 0 &&
                     std::isfinite(h.scl_slope) && h.scl_slope != 0.0 && std::isfinite(h.scl_inter) &&
                     h.geometry.affine.allFinite() && h.geometry.volumes >= 1;
        for (int axis = 0; axis < 3; ++axis) {
            valid = valid && h.geometry.dims[axis] >= 1;
        }
        if (!valid) {
            std::abort();  // accepted a header that breaks the parser's own promises
        }
    } catch (const Error&) {
        // InvalidInput / IoError naming the file: the expected outcome for bad bytes
    }
    return 0;
}
