// Constant (the value the importer attached, a constant of the plan) and
// ConstantOfShape (a tensor of a given shape filled with one value).
#include <algorithm>
#include <cstring>
#include <span>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Constant: the importer already attached the value to the output.
class ConstantKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const ir::Value* out = ctx.node().output(0);
    if (out == nullptr || out->constant_data() == nullptr) {
      return InvalidModel(ctx.Describe() + ": has no value");
    }
    const Tensor& value = *out->constant_data();
    if (value.owns_data()) {
      ctx.SetConstantOutput(0, value);  // shares the buffer
      return Status::Ok();
    }
    // A view: copy so the plan does not depend on the view's owner.
    ASSIGN_OR_RETURN(Tensor copy, Tensor::Allocate(value.dtype(), value.shape()));
    if (value.byte_size()) std::memcpy(copy.data(), value.data(), value.byte_size());
    ctx.SetConstantOutput(0, std::move(copy));
    return Status::Ok();
  }
  Status Execute(ExecContext&) const override { return Status::Ok(); }
};

// ConstantOfShape: a tensor of the given shape filled with `value` (default
// float 0).
class ConstantOfShapeKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(shape_, IntOperand::FromInput(ctx, 0, "the shape input"));
    if (shape_.is_constant()) {
      dims_ = shape_.values();
    } else {
      ASSIGN_OR_RETURN(dims_, DeclaredOutputDims(ctx, 0, "the shape input"));
    }
    for (int64_t d : dims_) {
      if (d < 0) {
        return InvalidModel(ctx.Describe() + ": shape " + ShapeToString(dims_) +
                            " has a negative dim");
      }
    }
    DataType dtype = DataType::kFloat;
    if (const ir::Attribute* value = ctx.node().FindAttribute("value")) {
      if (value->type != ir::AttrType::kTensor || value->t == nullptr ||
          value->t->num_elements() != 1) {
        return InvalidModel(ctx.Describe() + ": value must be a one-element tensor");
      }
      dtype = value->t->dtype();
      element_size_ = DataTypeSize(dtype);
      if (element_size_ == 0 || element_size_ > sizeof(value_)) {
        return Unsupported(ctx.Describe() + ": value of type " + DataTypeName(dtype));
      }
      std::memcpy(value_, value->t->data(), element_size_);
    }
    RETURN_IF_ERROR(CheckOutputSize(ctx, dtype, dims_));
    ASSIGN_OR_RETURN(count_, ElementCount(ctx, dims_));
    ctx.SetOutput(0, dtype, dims_);
    return Status::Ok();
  }
  Status Execute(ExecContext& ctx) const override {
    if (!shape_.is_constant()) {
      int64_t buffer[kMaxOperandLength];
      const std::span<const int64_t> shape = shape_.Read(ctx, buffer);
      if (!std::equal(shape.begin(), shape.end(), dims_.begin(), dims_.end())) {
        return OperandMismatch("the shape input", shape, dims_);
      }
    }
    FillElements(ctx.output(0), count_, value_, element_size_);
    return Status::Ok();
  }

 private:
  IntOperand shape_;
  std::vector<int64_t> dims_;
  alignas(16) unsigned char value_[16] = {};
  size_t element_size_ = sizeof(float);
  int64_t count_ = 0;
};

}  // namespace

void RegisterConstantKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kConstant, MakeKernel<ConstantKernel>);
  registry.Register(ir::OpKind::kConstantOfShape, MakeKernel<ConstantOfShapeKernel>);
}

}  // namespace bnfold::onednn
