// File reading and atomic writing shared by the loader, exporter and CLI.
#pragma once

#include <cstddef>
#include <string>

#include "bnfold/status.h"

namespace bnfold {

// Tensor files fed on the command line are refused beyond this size.
inline constexpr size_t kMaxTensorFileBytes = size_t{8} << 30;

// Reads a whole regular file; refuses files larger than `max_bytes` and
// anything that is not a regular file (directories, fifos).
StatusOr<std::string> ReadFileToString(const std::string& path,
                                       size_t max_bytes);

// Writes `bytes` to a temporary file next to `path`, flushes it and renames
// it over `path`, so readers never see a half-written file.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

// Directory part of `path` ("." when none).
std::string DirName(const std::string& path);

}  // namespace bnfold
