#include "runtime/ir/tensor_util.h"


namespace bnfold::ir {

double ReadAsDouble(const Tensor& t, int64_t i) { return t.GetAsDouble(i); }

void WriteFromDouble(Tensor& t, int64_t i, double v) { t.SetFromDouble(i, v); }

std::vector<double> ToDoubleVector(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) out[i] = ReadAsDouble(t, i);
  return out;
}

StatusOr<ConstTensorPtr> MakeConstant(DataType dtype,
                                      const std::vector<int64_t>& shape,
                                      const std::vector<double>& values) {
  StatusOr<Tensor> t = Tensor::Allocate(dtype, shape);
  if (!t.ok()) return t.status();
  if (static_cast<int64_t>(values.size()) != t->num_elements()) {
    return Internal("MakeConstant: " + std::to_string(values.size()) +
                    " values for shape " + ShapeToString(shape));
  }
  for (size_t i = 0; i < values.size(); ++i) WriteFromDouble(*t, i, values[i]);
  return ConstTensorPtr(std::make_shared<const Tensor>(std::move(*t)));
}

StatusOr<std::vector<int64_t>> ToInt64Vector(const Tensor& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.num_elements()));
  const void* p = t.data();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    switch (t.dtype()) {
      case DataType::kInt64: out[i] = static_cast<const int64_t*>(p)[i]; break;
      case DataType::kInt32: out[i] = static_cast<const int32_t*>(p)[i]; break;
      case DataType::kInt16: out[i] = static_cast<const int16_t*>(p)[i]; break;
      case DataType::kInt8: out[i] = static_cast<const int8_t*>(p)[i]; break;
      case DataType::kUint8: out[i] = static_cast<const uint8_t*>(p)[i]; break;
      case DataType::kUint16: out[i] = static_cast<const uint16_t*>(p)[i]; break;
      case DataType::kUint32: out[i] = static_cast<const uint32_t*>(p)[i]; break;
      case DataType::kUint64: out[i] = static_cast<int64_t>(static_cast<const uint64_t*>(p)[i]); break;
      default:
        return InvalidModel(std::string("expected an integer tensor, got ") +
                            DataTypeName(t.dtype()));
    }
  }
  return out;
}

}  // namespace bnfold::ir
