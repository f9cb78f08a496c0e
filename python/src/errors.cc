#include "python/src/errors.h"

#include <array>
#include <utility>

namespace py = pybind11;

namespace bnfold::python {

namespace {

// Indexed by StatusCode; kOk has none. Created once at import and never
// freed (the module lives as long as the interpreter).
std::array<PyObject*, static_cast<size_t>(StatusCode::kInternal) + 1> exception_types{};

PyObject* MakeType(py::module_& m, const char* name, py::handle bases, const char* doc) {
  const std::string qualified = std::string("bnfold.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.attr(name) = py::handle(type);
  return type;
}

}  // namespace

void RegisterErrors(py::module_& m) {
  PyObject* base = MakeType(m, "Error", PyExc_RuntimeError,
                            "Any error bnfold reports; its message names the file, node and reason.");
  auto with = [base](PyObject* builtin) {
    return py::make_tuple(py::handle(base), py::handle(builtin));
  };
  auto set = [](StatusCode code, PyObject* type) {
    exception_types[static_cast<size_t>(code)] = type;
  };
  set(StatusCode::kInvalidArgument,
      MakeType(m, "InvalidArgument", with(PyExc_ValueError),
               "Bad usage or a bad fed input (unknown name, wrong dtype or shape)."));
  set(StatusCode::kInvalidModel,
      MakeType(m, "InvalidModel", py::handle(base), "The model file or graph is malformed."));
  set(StatusCode::kUnsupported,
      MakeType(m, "Unsupported", with(PyExc_NotImplementedError),
               "Valid ONNX that bnfold does not run (an op, dtype or opset)."));
  set(StatusCode::kNotFound,
      MakeType(m, "NotFound", with(PyExc_LookupError),
               "A named file, input or output does not exist."));
  set(StatusCode::kIoError,
      MakeType(m, "IoError", with(PyExc_OSError), "Reading or writing a file failed."));
  set(StatusCode::kInternal,
      MakeType(m, "InternalError", py::handle(base), "A bug in bnfold or a backend failure."));
}

void ThrowStatus(const Status& status) {
  PyObject* type = exception_types[static_cast<size_t>(status.code())];
  if (type == nullptr) type = PyExc_RuntimeError;
  PyErr_SetString(type, status.message().c_str());
  throw py::error_already_set();
}

}  // namespace bnfold::python
