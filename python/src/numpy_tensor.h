// numpy arrays <-> bnfold tensors, without copies where the layouts allow.
//
// Inputs: an array that is C-contiguous, aligned, in native byte order and of
// the model's dtype is read in place (the Tensor wraps its buffer and the
// Feed keeps the array alive); anything else is converted with numpy first
// (a copy), when numpy's 'same_kind' casting allows it, and refused
// otherwise. Outputs: the array owns the Tensor's buffer (no copy).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bnfold/tensor.h"

namespace bnfold::python {

// The numpy dtype of `type`; raises bnfold.Unsupported for types numpy has
// no native dtype for (bfloat16, string, complex).
pybind11::dtype NumpyDtype(DataType type);
// The bnfold type of a numpy dtype (kUndefined when none).
DataType TypeOfNumpy(const pybind11::dtype& dtype);

struct Feed {
  NamedTensor tensor;
  pybind11::object owner;  // the array whose buffer `tensor` points into
  bool copied = false;
};

// `expected` is the model's dtype for the input (kUndefined: take the
// array's own). Call with the GIL held.
Feed MakeFeed(const std::string& name, pybind11::handle value, DataType expected);

// Hands `tensor`'s buffer to a numpy array.
pybind11::array ToNumpy(Tensor tensor);

}  // namespace bnfold::python
