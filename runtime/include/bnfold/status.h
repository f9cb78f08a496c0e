// Status and StatusOr: how every layer of bnfold reports failure.
//
// Bad model data, bad input and unsupported features are always a Status,
// never an assert or an exception escaping the library.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace bnfold {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad usage or a bad fed input
  kInvalidModel,     // the model file or graph is malformed
  kUnsupported,      // valid ONNX we do not implement (op, dtype, opset)
  kNotFound,         // a named file, input or output does not exist
  kIoError,          // reading or writing a file failed
  kInternal,         // a bug in bnfold or a backend failure
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code>: <message>", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgument(std::string message);
Status InvalidModel(std::string message);
Status Unsupported(std::string message);
Status NotFound(std::string message);
Status IoError(std::string message);
Status Internal(std::string message);

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {}  // NOLINT: implicit
  StatusOr(Status&& status) : status_(std::move(status)) {}  // NOLINT
  StatusOr(const T& value) : value_(value) {}  // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // Precondition: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace bnfold
