#include "runtime/backend/onednn/kernels/support/shape_operand.h"

#include <type_traits>

#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/half.h"
#include "runtime/ir/tensor_util.h"

namespace bnfold::onednn {

namespace {

bool IsIntType(DataType t) { return t == DataType::kInt32 || t == DataType::kInt64; }
bool IsRealType(DataType t) {
  return t == DataType::kFloat || t == DataType::kDouble || t == DataType::kFloat16 ||
         t == DataType::kBfloat16;
}

template <typename V>
V ReadElement(const void* data, DataType dtype, size_t i) {
  switch (dtype) {
    case DataType::kInt32: return static_cast<V>(static_cast<const int32_t*>(data)[i]);
    case DataType::kInt64: return static_cast<V>(static_cast<const int64_t*>(data)[i]);
    case DataType::kFloat: return static_cast<V>(static_cast<const float*>(data)[i]);
    case DataType::kDouble: return static_cast<V>(static_cast<const double*>(data)[i]);
    case DataType::kFloat16:
      return static_cast<V>(HalfToFloat(static_cast<const uint16_t*>(data)[i]));
    case DataType::kBfloat16:
      return static_cast<V>(Bfloat16ToFloat(static_cast<const uint16_t*>(data)[i]));
    default: return V{};
  }
}

}  // namespace

template <typename V>
StatusOr<Operand<V>> Operand<V>::FromInput(const CompileContext& ctx, int i,
                                           const std::string& what) {
  const TensorDesc& desc = ctx.input(i);
  constexpr bool kInt = std::is_integral_v<V>;
  if (kInt ? !IsIntType(desc.dtype) : !IsRealType(desc.dtype)) {
    return UnsupportedType(ctx, i, kInt ? "int32, int64" : "float, double, float16, bfloat16")
        .WithContext(what);
  }
  if (desc.dims.size() > 1) {
    return InvalidModel(ctx.Describe() + ": " + what + " must be 1-D, got shape " +
                        ShapeToString(desc.dims));
  }
  Operand operand;
  operand.length_ = static_cast<size_t>(desc.num_elements());
  operand.dtype_ = desc.dtype;
  if (const Tensor* constant = ctx.constant_input(i)) {
    for (size_t k = 0; k < operand.length_; ++k) {
      operand.values_.push_back(ReadElement<V>(constant->data(), desc.dtype, k));
    }
    return operand;
  }
  if (operand.length_ > kMaxOperandLength) {
    return Unsupported(ctx.Describe() + ": " + what + " has " + std::to_string(operand.length_) +
                       " elements; run-time operands are limited to " +
                       std::to_string(kMaxOperandLength));
  }
  operand.input_ = i;
  return operand;
}

template <typename V>
std::span<const V> Operand<V>::Read(const ExecContext& ctx, V* buffer) const {
  if (is_constant()) return std::span<const V>(values_);
  const void* data = ctx.input(input_);
  for (size_t k = 0; k < length_; ++k) buffer[k] = ReadElement<V>(data, dtype_, k);
  return std::span<const V>(buffer, length_);
}

template class Operand<int64_t>;
template class Operand<double>;

StatusOr<std::vector<int64_t>> DeclaredOutputDims(const CompileContext& ctx, int i,
                                                  const std::string& operand) {
  const ir::Value* out = ctx.node().output(i);
  // bnfold's shape when it is fully known, else the model's declaration.
  auto fixed_dims = [](const std::optional<ir::StaticShape>& shape, std::vector<int64_t>* dims) {
    if (!shape) return false;
    dims->clear();
    for (const ir::Dim& d : *shape) {
      if (!d.is_fixed()) return false;
      dims->push_back(d.value);
    }
    return true;
  };
  std::vector<int64_t> dims;
  const bool fixed = out != nullptr &&
                     (fixed_dims(out->shape(), &dims) ||
                      (out->declared_type() && fixed_dims(out->declared_type()->shape, &dims)));
  if (!fixed) {
    return Unsupported(ctx.Describe() + ": " + operand +
                       " must be known when the model is compiled (a constant, or computed "
                       "from constants and input shapes), or the model must declare the "
                       "output's full shape");
  }
  return dims;
}

Status NormalizeAxisAt(int64_t axis, int64_t rank, int64_t* normalized) {
  if (axis < -rank || axis >= rank) {
    return InvalidModel("axis " + std::to_string(axis) + " is out of range for rank " +
                        std::to_string(rank));
  }
  *normalized = axis < 0 ? axis + rank : axis;
  return Status::Ok();
}

Status AsInputError(const Status& status) {
  return status.ok() ? status : InvalidArgument(status.message());
}

Status OperandMismatch(const std::string& operand, std::span<const int64_t> got,
                       std::span<const int64_t> planned) {
  return InvalidArgument(
      operand + " yields shape " + ShapeToString({got.begin(), got.end()}) +
      " but the model declares " + ShapeToString({planned.begin(), planned.end()}));
}

}  // namespace bnfold::onednn
