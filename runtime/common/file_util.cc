#include "runtime/common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "runtime/common/status_macros.h"

namespace bnfold {

StatusOr<ReadOnlyFile> ReadOnlyFile::Open(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK: opening a fifo for reading would otherwise wait for a
  // writer; it has no effect on regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path + ": no such file");
    return IoError(path + ": cannot open: " + std::strerror(errno));
  }
  ReadOnlyFile file(fd, 0);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return IoError(path + (S_ISDIR(st.st_mode) ? ": is a directory, not a file"
                                              : ": not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return InvalidArgument(path + ": file is " + std::to_string(st.st_size) +
                           " bytes, more than the limit of " +
                           std::to_string(max_bytes));
  }
  file.size_ = static_cast<size_t>(st.st_size);
  return file;
}

ReadOnlyFile::ReadOnlyFile(ReadOnlyFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}

ReadOnlyFile& ReadOnlyFile::operator=(ReadOnlyFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<std::string> ReadFileToString(const std::string& path,
                                       size_t max_bytes) {
  StatusOr<ReadOnlyFile> file = ReadOnlyFile::Open(path, max_bytes);
  if (!file.ok()) return file.status();
  std::string data(file->size(), '\0');
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(file->fd(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return IoError(path + ": read failed after " + std::to_string(done) +
                     " bytes");
    }
    done += static_cast<size_t>(n);
  }
  return data;
}

PendingFile::~PendingFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_path_.empty() && !committed_) ::unlink(tmp_path_.c_str());
}

Status PendingFile::Open() {
  fd_ = ::open(DirName(final_path_).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd_ >= 0) {
    anonymous_ = true;
    return Status::Ok();
  }
  // No O_TMPFILE on this file system: a named temporary file.
  tmp_path_ = final_path_ + ".tmp-XXXXXX";
  fd_ = ::mkstemp(tmp_path_.data());
  if (fd_ < 0) {
    const std::string err = std::strerror(errno);
    tmp_path_.clear();
    return IoError(final_path_ + ": cannot create a temporary file next to it: " + err);
  }
  return Status::Ok();
}

Status PendingFile::Write(const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError(final_path_ + ": write failed: " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  written_ += size;
  return Status::Ok();
}

Status PendingFile::Align(size_t alignment) {
  static const char kZeros[4096] = {};
  while (written_ % alignment != 0) {
    RETURN_IF_ERROR(Write(kZeros, std::min(sizeof kZeros, alignment - written_ % alignment)));
  }
  return Status::Ok();
}

Status PendingFile::Finish() {
  ::fchmod(fd_, 0644);
  const bool ok = ::fsync(fd_) == 0;
  if (anonymous_) {
    // Kept open: Commit gives it a name through the descriptor.
    if (!ok) return IoError(final_path_ + ": cannot flush the temporary file");
    return Status::Ok();
  }
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!ok || !closed) return IoError(final_path_ + ": cannot flush the temporary file");
  return Status::Ok();
}

Status PendingFile::Commit() {
  if (anonymous_) {
    // A name next to the final path (link() cannot replace a file), then the
    // atomic rename over it: only between the two is a named copy visible.
    const std::string proc_path = "/proc/self/fd/" + std::to_string(fd_);
    for (int attempt = 0;; ++attempt) {
      tmp_path_ = final_path_ + ".tmp-" + std::to_string(::getpid()) + "-" +
                  std::to_string(attempt);
      if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, tmp_path_.c_str(),
                   AT_SYMLINK_FOLLOW) == 0) {
        break;
      }
      if (errno != EEXIST || attempt == 100) {
        const std::string err = std::strerror(errno);
        tmp_path_.clear();
        return IoError(final_path_ + ": cannot name the temporary file: " + err);
      }
    }
    ::close(fd_);
    fd_ = -1;
  }
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    return IoError(final_path_ + ": cannot rename the temporary file into place: " +
                   std::strerror(errno));
  }
  committed_ = true;
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  PendingFile file(path);
  RETURN_IF_ERROR(file.Open());
  RETURN_IF_ERROR(file.Write(bytes.data(), bytes.size()));
  RETURN_IF_ERROR(file.Finish());
  return file.Commit();
}

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace bnfold
