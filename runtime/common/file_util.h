// File reading and atomic writing shared by the loader, exporter and CLI.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

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

// A file written next to its final path (a temporary file in the same
// directory) and renamed into place only by Commit, so readers never see a
// half-written file; removed if never committed. Where the file system
// allows (Linux O_TMPFILE) the file has no name until Commit, so a process
// killed while writing leaves nothing behind either. Written as a stream, so
// the weights of a large model need not be held in memory a second time.
class PendingFile {
 public:
  explicit PendingFile(std::string final_path) : final_path_(std::move(final_path)) {}
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  ~PendingFile();

  Status Open();
  Status Write(const char* data, size_t size);
  // Zero bytes up to the next multiple of `alignment`.
  Status Align(size_t alignment);
  size_t written() const { return written_; }
  // Flushes it; the file is complete but not yet in place.
  Status Finish();
  // Renames it over the final path.
  Status Commit();

  const std::string& final_path() const { return final_path_; }

 private:
  std::string final_path_;
  std::string tmp_path_;
  int fd_ = -1;
  bool anonymous_ = false;  // O_TMPFILE: named only by Commit
  size_t written_ = 0;
  bool committed_ = false;
};

// Writes `bytes` through a PendingFile: all of it at `path`, or nothing.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

// Directory part of `path` ("." when none).
std::string DirName(const std::string& path);

}  // namespace bnfold
