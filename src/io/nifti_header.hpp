// rewire — private: the NIfTI header parser over any byte source (read_nifti_header and NiftiStream
// call it on files; the fuzz harness on memory).
#pragma once

#include <string>

#include "byte_source.hpp"
#include "rewire/io/nifti.hpp"

namespace rewire::detail {

/// Reads and validates the NIfTI-1 or NIfTI-2 header at the start of `source`; `path` names it in
/// messages. Throws InvalidInput / IoError as read_nifti_header does.
NiftiHeader parse_nifti_header(ByteSource& source, const std::string& path);

}  // namespace rewire::detail
