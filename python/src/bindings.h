// The parts of the bnfold._bnfold extension module (python/src/module.cc).
#pragma once

#include <pybind11/pybind11.h>

namespace bnfold::python {

void BindSession(pybind11::module_& m);  // session_binding.cc
void BindToolkit(pybind11::module_& m);  // toolkit_binding.cc

}  // namespace bnfold::python
