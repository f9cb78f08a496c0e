#include "python/src/numpy_tensor.h"

#include "python/src/errors.h"

namespace py = pybind11;

namespace bnfold::python {

py::dtype NumpyDtype(DataType type) {
  switch (type) {
    case DataType::kFloat: return py::dtype("float32");
    case DataType::kDouble: return py::dtype("float64");
    case DataType::kFloat16: return py::dtype("float16");
    case DataType::kInt8: return py::dtype("int8");
    case DataType::kInt16: return py::dtype("int16");
    case DataType::kInt32: return py::dtype("int32");
    case DataType::kInt64: return py::dtype("int64");
    case DataType::kUint8: return py::dtype("uint8");
    case DataType::kUint16: return py::dtype("uint16");
    case DataType::kUint32: return py::dtype("uint32");
    case DataType::kUint64: return py::dtype("uint64");
    case DataType::kBool: return py::dtype("bool");
    default:
      ThrowStatus(Unsupported(std::string("tensor(") + DataTypeName(type) +
                              ") has no numpy dtype"));
  }
}

DataType TypeOfNumpy(const py::dtype& dtype) {
  const char kind = dtype.kind();
  const py::ssize_t size = dtype.itemsize();
  switch (kind) {
    case 'f':
      return size == 4 ? DataType::kFloat
             : size == 8 ? DataType::kDouble
             : size == 2 ? DataType::kFloat16
                         : DataType::kUndefined;
    case 'i':
      return size == 1 ? DataType::kInt8
             : size == 2 ? DataType::kInt16
             : size == 4 ? DataType::kInt32
             : size == 8 ? DataType::kInt64
                         : DataType::kUndefined;
    case 'u':
      return size == 1 ? DataType::kUint8
             : size == 2 ? DataType::kUint16
             : size == 4 ? DataType::kUint32
             : size == 8 ? DataType::kUint64
                         : DataType::kUndefined;
    case 'b': return size == 1 ? DataType::kBool : DataType::kUndefined;
    default: return DataType::kUndefined;
  }
}

namespace {

std::string DtypeName(const py::dtype& dtype) {
  return py::str(static_cast<const py::handle&>(dtype)).cast<std::string>();
}

std::string TypeString(DataType type) { return std::string("tensor(") + DataTypeName(type) + ")"; }

}  // namespace

Feed MakeFeed(const std::string& name, py::handle value, DataType expected) {
  py::module_ np = py::module_::import("numpy");
  py::object array = py::reinterpret_borrow<py::object>(value);
  const bool converted = !py::isinstance<py::array>(array);
  if (converted) {
    // Lists, scalars, anything numpy turns into an array; with the model's
    // dtype when it has one, as onnxruntime does.
    array = expected == DataType::kUndefined ? np.attr("asarray")(array)
                                             : np.attr("asarray")(array, NumpyDtype(expected));
  }
  py::array arr = py::reinterpret_borrow<py::array>(array);
  const py::dtype own = arr.dtype();
  const DataType own_type = TypeOfNumpy(own);
  const DataType target = expected == DataType::kUndefined ? own_type : expected;
  if (target == DataType::kUndefined) {
    ThrowStatus(InvalidArgument("input '" + name + "': numpy dtype " +
                                DtypeName(own) + " has no ONNX tensor type"));
  }
  Feed feed;
  feed.copied = converted;
  const int flags = arr.flags();
  const bool in_place = own_type == target && own.attr("isnative").cast<bool>() &&
                        (flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) != 0 &&
                        (flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0;
  if (!in_place) {
    const py::dtype want = NumpyDtype(target);
    if (own_type != target &&
        !np.attr("can_cast")(own, want, py::arg("casting") = "same_kind").cast<bool>()) {
      ThrowStatus(InvalidArgument("input '" + name + "' is numpy " +
                                  DtypeName(own) + " but the model expects " +
                                  TypeString(target) + ", and numpy does not cast " +
                                  DtypeName(own) + " to " +
                                  DtypeName(want) + " safely ('same_kind')"));
    }
    arr = np.attr("ascontiguousarray")(arr, want);
    feed.copied = true;
  }
  std::vector<int64_t> shape(arr.shape(), arr.shape() + arr.ndim());
  // Read only: a read-only array is fed in place too.
  feed.tensor = {name, Tensor::Wrap(target, std::move(shape), const_cast<void*>(arr.data()))};
  feed.owner = std::move(arr);
  return feed;
}

py::array ToNumpy(Tensor tensor) {
  const py::dtype dtype = NumpyDtype(tensor.dtype());
  std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  auto* owned = new Tensor(std::move(tensor));
  py::capsule owner(owned, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dtype, shape, owned->data(), owner);
}

}  // namespace bnfold::python
