// bnfold Status -> Python exceptions. Each StatusCode has its own class under
// bnfold.Error (a RuntimeError), which also derives from the builtin a Python
// user would catch for it (ValueError for bad input, NotImplementedError for
// what bnfold does not run, ...). The message is the one the CLI prints:
// the file, the node and the reason.
#pragma once

#include <pybind11/pybind11.h>

#include "bnfold/status.h"

namespace bnfold::python {

// Creates the exception classes as attributes of `m`.
void RegisterErrors(pybind11::module_& m);

// Raises the Python exception for `status` (which must not be ok).
[[noreturn]] void ThrowStatus(const Status& status);

inline void ThrowIfError(const Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

template <typename T>
T ValueOrThrow(StatusOr<T>&& value) {
  if (!value.ok()) ThrowStatus(value.status());
  return std::move(value).value();
}

}  // namespace bnfold::python
