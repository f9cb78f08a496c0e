// File reading and atomic writing shared by the loader, exporter and CLI.
#pragma once

#include <cstddef>
#include <string>

#include "bnfold/status.h"

namespace bnfold {

// Tensor files fed on the command line are refused beyond this size.
inline constexpr size_t kMaxTensorFileBytes = size_t{8} << 30;

// A regular file open for reading; the descriptor closes with the object.
class ReadOnlyFile {
 public:
  // Opens `path`; refuses files larger than `max_bytes` and anything that is
  // not a regular file (directories, fifos).
  static StatusOr<ReadOnlyFile> Open(const std::string& path, size_t max_bytes);

  ReadOnlyFile(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile& operator=(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  int fd() const { return fd_; }
  size_t size() const { return size_; }  // when opened

 private:
  ReadOnlyFile(int fd, size_t size) : fd_(fd), size_(size) {}
  int fd_ = -1;
  size_t size_ = 0;
};

// Reads a whole regular file, with ReadOnlyFile::Open's refusals.
StatusOr<std::string> ReadFileToString(const std::string& path,
                                       size_t max_bytes);

// Writes `bytes` to a temporary file next to `path`, flushes it and renames
// it over `path`, so readers never see a half-written file.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

// Directory part of `path` ("." when none).
std::string DirName(const std::string& path);

}  // namespace bnfold
