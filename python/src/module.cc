// bnfold._bnfold: the C++ side of the `bnfold` Python package. The package
// (python/bnfold/) gives it onnxruntime's names; see python/bnfold/__init__.py.
#include <pybind11/pybind11.h>

#include "bnfold/version.h"
#include "python/src/bindings.h"
#include "python/src/errors.h"

PYBIND11_MODULE(_bnfold, m) {
  m.doc() = "bnfold's C++ runtime; use the `bnfold` package, not this module.";
  m.attr("__version__") = bnfold::Version();
  bnfold::python::RegisterErrors(m);
  bnfold::python::BindSession(m);
  bnfold::python::BindToolkit(m);
}
