#include "runtime/onnx/external_data.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "bnfold/tensor.h"
#include "onnx/onnx_pb.h"

namespace bnfold::onnx_io {

namespace {

StatusOr<std::string> RealPath(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) {
    return NotFound("cannot resolve '" + path + "'");
  }
  return std::string(buffer);
}

StatusOr<uint64_t> ParseUint(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidModel(what + " '" + text + "' is not a non-negative integer");
  }
  return std::stoull(text);
}

}  // namespace

Status InlineExternalData(const std::string& base_dir, onnx::TensorProto* tensor,
                          ExternalDataBudget* budget) {
  const std::string what = "initializer '" + tensor->name() + "'";
  std::string location;
  uint64_t offset = 0;
  bool has_length = false;
  uint64_t length = 0;
  for (const auto& entry : tensor->external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      StatusOr<uint64_t> v = ParseUint(entry.value(), what + ": offset");
      if (!v.ok()) return v.status();
      offset = *v;
    } else if (entry.key() == "length") {
      StatusOr<uint64_t> v = ParseUint(entry.value(), what + ": length");
      if (!v.ok()) return v.status();
      length = *v;
      has_length = true;
    }
  }
  if (location.empty()) {
    return InvalidModel(what + " has external data without a location");
  }
  if (base_dir.empty()) {
    return InvalidModel(what + " has external data '" + location +
                        "' but the model was given as bytes without a folder");
  }
  if (location[0] == '/' || location == ".." ||
      location.rfind("../", 0) == 0 ||
      location.find("/../") != std::string::npos ||
      (location.size() >= 3 && location.compare(location.size() - 3, 3, "/..") == 0)) {
    return InvalidModel(what + ": external data location '" + location +
                        "' escapes the model's folder");
  }
  // The size the shape needs, known before touching the file: a huge
  // length or file is refused instead of read.
  const DataType dtype = static_cast<DataType>(tensor->data_type());
  std::vector<int64_t> dims(tensor->dims().begin(), tensor->dims().end());
  StatusOr<size_t> expected = CheckedByteSize(dtype, dims);
  if (!expected.ok()) {
    return Status(expected.status().code() == StatusCode::kUnsupported
                      ? StatusCode::kUnsupported
                      : StatusCode::kInvalidModel,
                  what + ": " + expected.status().message());
  }
  if (has_length && length != *expected) {
    return InvalidModel(what + ": external data length " + std::to_string(length) +
                        " but shape " + ShapeToString(dims) + " of " + DataTypeName(dtype) +
                        " needs " + std::to_string(*expected) + " bytes");
  }
  length = *expected;

  StatusOr<std::string> root = RealPath(base_dir);
  if (!root.ok()) return root.status();
  StatusOr<std::string> file = RealPath(base_dir + "/" + location);
  if (!file.ok()) {
    return InvalidModel(what + ": external data file '" + location +
                        "' not found next to the model");
  }
  if (file->rfind(*root + "/", 0) != 0) {
    return InvalidModel(what + ": external data location '" + location +
                        "' resolves outside the model's folder (symlink?)");
  }
  // O_NONBLOCK: a fifo must not block the load; no effect on regular files.
  const int fd = ::open(file->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return IoError(what + ": cannot open external data '" + location + "'");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidModel(what + ": external data '" + location + "' is not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (offset > file_size) {
    ::close(fd);
    return InvalidModel(what + ": external data offset " + std::to_string(offset) +
                        " is past the end of '" + location + "' (" +
                        std::to_string(file_size) + " bytes)");
  }
  if (length > file_size - offset) {
    ::close(fd);
    return InvalidModel(what + ": external data of " + std::to_string(length) +
                        " bytes at offset " + std::to_string(offset) +
                        " runs past the end of '" + location + "' (" +
                        std::to_string(file_size) + " bytes)");
  }
  budget->file_sizes[*file] = file_size;
  uint64_t budget_bytes = 0;
  for (const auto& [path, size] : budget->file_sizes) budget_bytes += size;
  if (budget->bytes_read + length > budget_bytes) {
    ::close(fd);
    return InvalidModel(what + ": external data adds up to " +
                        std::to_string(budget->bytes_read + length) +
                        " bytes, more than the model's external files hold (" +
                        std::to_string(budget_bytes) + "): tensors overlap");
  }
  budget->bytes_read += length;
  std::string data(length, '\0');
  uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, data.data() + done, length - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return IoError(what + ": reading external data '" + location + "' failed after " +
                     std::to_string(done) + " bytes");
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  tensor->clear_external_data();
  tensor->set_data_location(onnx::TensorProto::DEFAULT);
  tensor->set_raw_data(std::move(data));
  return Status::Ok();
}

}  // namespace bnfold::onnx_io
