// Ops whose output is their input's bytes under other dims: Reshape,
// Flatten, Squeeze, Unsqueeze, Identity and Dropout (inference). Each is a
// view of its input (no copy, no step) unless its dims come from a run-time
// operand, which it then checks and copies. Shape-like operands (Reshape's
// shape, Squeeze's axes, ...) are folded by the planner when exporters
// compute them (Shape -> Gather -> Concat -> Reshape).
#include <algorithm>
#include <cstring>
#include <span>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/half.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Output 0 holds input 0's bytes unchanged under the dims OutputDims picks:
// a view of the (plain) input, no copy and no step. When those dims come
// from a run-time operand, the node runs to check it (CheckAtRunTime) and
// copies.
class ViewKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    ASSIGN_OR_RETURN(const size_t element_size, MovableElementSize(ctx, 0));
    ASSIGN_OR_RETURN(dims_, OutputDims(ctx));
    ASSIGN_OR_RETURN(const int64_t count, ElementCount(ctx, dims_));
    if (count != x.num_elements()) {
      return InvalidModel(ctx.Describe() + ": cannot view " + ShapeToString(x.dims) +
                          " (" + std::to_string(x.num_elements()) + " elements) as " +
                          ShapeToString(dims_));
    }
    bytes_ = static_cast<size_t>(count) * element_size;
    if (!NeedsRunTimeCheck() && ctx.SetOutputView(0, 0, dims_)) return Status::Ok();
    ctx.SetOutput(0, x.dtype, dims_);
    return Status::Ok();
  }
  Status Execute(ExecContext& ctx) const override {
    RETURN_IF_ERROR(CheckAtRunTime(ctx));
    if (bytes_) std::memcpy(ctx.output(0), ctx.input(0), bytes_);
    return Status::Ok();
  }

 protected:
  virtual StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) = 0;
  virtual bool NeedsRunTimeCheck() const { return false; }
  virtual Status CheckAtRunTime(const ExecContext& ctx) const {
    (void)ctx;
    return Status::Ok();
  }

  std::vector<int64_t> dims_;

 private:
  size_t bytes_ = 0;
};

class IdentityKernel : public ViewKernel {
  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    return ctx.input(0).dims;
  }
};

// A view whose dims follow from the input dims and one integer operand by
// Resolve (shared by the compile-time and the run-time paths).
class OperandViewKernel : public ViewKernel {
 protected:
  // Writes the output dims to `out` (room for kMaxOperandLength) and their
  // count to `rank`. Bare errors; no allocation unless failing.
  virtual Status Resolve(std::span<const int64_t> operand, int64_t* out, size_t* rank) const = 0;
  // The operand (may set attributes Resolve uses).
  virtual StatusOr<IntOperand> GetOperand(CompileContext& ctx) = 0;
  virtual const char* operand_name() const = 0;

 private:
  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    input_dims_ = ctx.input(0).dims;
    if (input_dims_.size() > kMaxOperandLength) {
      return Unsupported(ctx.Describe() + ": rank " + std::to_string(input_dims_.size()) +
                         " is above " + std::to_string(kMaxOperandLength));
    }
    ASSIGN_OR_RETURN(operand_, GetOperand(ctx));
    if (operand_.is_constant()) {
      int64_t out[kMaxOperandLength];
      size_t rank = 0;
      RETURN_IF_ERROR(Resolve(operand_.values(), out, &rank).WithContext(ctx.Describe()));
      return std::vector<int64_t>(out, out + rank);
    }
    return DeclaredOutputDims(ctx, 0, operand_name());
  }

  bool NeedsRunTimeCheck() const override { return !operand_.is_constant(); }
  Status CheckAtRunTime(const ExecContext& ctx) const override {
    if (operand_.is_constant()) return Status::Ok();
    int64_t buffer[kMaxOperandLength], out[kMaxOperandLength];
    size_t rank = 0;
    RETURN_IF_ERROR(AsInputError(Resolve(operand_.Read(ctx, buffer), out, &rank)));
    if (!std::equal(dims_.begin(), dims_.end(), out, out + rank)) {
      return OperandMismatch(operand_name(), {out, rank}, dims_);
    }
    return Status::Ok();
  }

 protected:
  std::vector<int64_t> input_dims_;

 private:
  IntOperand operand_;
};

// Reshape: 0 copies the input dim (unless allowzero), -1 takes what is left.
class ReshapeKernel : public OperandViewKernel {
  StatusOr<IntOperand> GetOperand(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(const int64_t allowzero, ctx.node().GetInt("allowzero", 0));
    allowzero_ = allowzero != 0;
    if (ctx.node().opset() < 5) {
      ASSIGN_OR_RETURN(std::vector<int64_t> shape, ctx.node().GetInts("shape", {}));
      return IntOperand(std::move(shape));
    }
    return IntOperand::FromInput(ctx, 1, "the shape input");
  }
  const char* operand_name() const override { return "the shape input"; }

  Status Resolve(std::span<const int64_t> shape, int64_t* out, size_t* rank) const override {
    const std::vector<int64_t>& in = input_dims_;
    auto fail = [&](const std::string& why) {
      return InvalidModel("cannot reshape " + ShapeToString(in) + " to " +
                          ShapeToString({shape.begin(), shape.end()}) + ": " + why);
    };
    if (shape.size() > kMaxOperandLength) return fail("too many dims");
    int64_t inferred = -1, known = 1;
    bool has_zero = false;
    for (size_t i = 0; i < shape.size(); ++i) {
      int64_t d = shape[i];
      if (d == 0 && !allowzero_) {
        if (i >= in.size()) return fail("0 copies a dim the input does not have");
        d = in[i];
      } else if (d == -1) {
        if (inferred >= 0) return fail("more than one -1");
        inferred = static_cast<int64_t>(i);
        out[i] = -1;
        continue;
      } else if (d < -1) {
        return fail("negative dim");
      }
      has_zero = has_zero || d == 0;
      if (__builtin_mul_overflow(known, d, &known)) return fail("the element count overflows");
      out[i] = d;
    }
    int64_t total = 1;
    for (int64_t d : in) total *= d;
    if (inferred >= 0) {
      if (allowzero_ && has_zero) return fail("with allowzero, 0 and -1 cannot be mixed");
      if (known == 0 || total % known != 0) return fail("no size fits the -1");
      out[inferred] = total / known;
    } else if (known != total) {
      return fail("the element counts differ");
    }
    *rank = shape.size();
    return Status::Ok();
  }

  bool allowzero_ = false;
};

// Flatten: 2-D [prod(dims[:axis]), prod(dims[axis:])].
class FlattenKernel : public ViewKernel {
  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const std::vector<int64_t>& in = ctx.input(0).dims;
    const int64_t rank = static_cast<int64_t>(in.size());
    ASSIGN_OR_RETURN(int64_t axis, ctx.node().GetInt("axis", 1));
    if (axis < -rank || axis > rank) {
      return InvalidModel(ctx.Describe() + ": axis " + std::to_string(axis) +
                          " is out of range for rank " + std::to_string(rank));
    }
    if (axis < 0) axis += rank;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[i];
    return std::vector<int64_t>{outer, inner};
  }
};

// Squeeze/Unsqueeze axes: an attribute before opset 13, an input after.
StatusOr<IntOperand> AxesOperand(CompileContext& ctx, bool required) {
  if (ctx.node().opset() < 13) {
    if (required && ctx.node().FindAttribute("axes") == nullptr) {
      return InvalidModel(ctx.Describe() + ": the axes attribute is required");
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.node().GetInts("axes", {}));
    return IntOperand(std::move(axes));
  }
  if (!ctx.has_input(1)) {
    if (required) return InvalidModel(ctx.Describe() + ": the axes input is required");
    return IntOperand(std::vector<int64_t>{});
  }
  return IntOperand::FromInput(ctx, 1, "the axes input");
}

// Marks `axes` (normalised against `rank` <= kMaxOperandLength) in `mask`;
// error on out-of-range or repeated axes.
Status MarkAxes(std::span<const int64_t> axes, int64_t rank, bool* mask) {
  std::fill(mask, mask + rank, false);
  for (int64_t axis : axes) {
    int64_t a = 0;
    RETURN_IF_ERROR(NormalizeAxisAt(axis, rank, &a));
    if (mask[a]) return InvalidModel("axis " + std::to_string(axis) + " is repeated");
    mask[a] = true;
  }
  return Status::Ok();
}

class SqueezeKernel : public OperandViewKernel {
  StatusOr<IntOperand> GetOperand(CompileContext& ctx) override {
    return AxesOperand(ctx, /*required=*/false);
  }
  const char* operand_name() const override { return "the axes input"; }

  Status Resolve(std::span<const int64_t> axes, int64_t* out, size_t* rank) const override {
    const std::vector<int64_t>& in = input_dims_;
    bool squeezed[kMaxOperandLength];
    if (axes.empty()) {
      for (size_t i = 0; i < in.size(); ++i) squeezed[i] = in[i] == 1;
    } else {
      RETURN_IF_ERROR(MarkAxes(axes, static_cast<int64_t>(in.size()), squeezed));
    }
    *rank = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!squeezed[i]) {
        out[(*rank)++] = in[i];
      } else if (in[i] != 1) {
        return InvalidModel("cannot squeeze axis " + std::to_string(i) + " of size " +
                            std::to_string(in[i]));
      }
    }
    return Status::Ok();
  }
};

class UnsqueezeKernel : public OperandViewKernel {
  StatusOr<IntOperand> GetOperand(CompileContext& ctx) override {
    return AxesOperand(ctx, /*required=*/true);
  }
  const char* operand_name() const override { return "the axes input"; }

  Status Resolve(std::span<const int64_t> axes, int64_t* out, size_t* rank) const override {
    const std::vector<int64_t>& in = input_dims_;
    const size_t out_rank = in.size() + axes.size();
    if (out_rank > kMaxOperandLength) return Unsupported("output rank is too large");
    bool inserted[kMaxOperandLength];
    RETURN_IF_ERROR(MarkAxes(axes, static_cast<int64_t>(out_rank), inserted));
    size_t next = 0;
    for (size_t i = 0; i < out_rank; ++i) out[i] = inserted[i] ? 1 : in[next++];
    *rank = out_rank;
    return Status::Ok();
  }
};

// A scalar input read at run time as double (Dropout's ratio).
double ReadScalar(const void* data, DataType dtype) {
  switch (dtype) {
    case DataType::kFloat: return *static_cast<const float*>(data);
    case DataType::kDouble: return *static_cast<const double*>(data);
    case DataType::kFloat16: return HalfToFloat(*static_cast<const uint16_t*>(data));
    case DataType::kBfloat16: return Bfloat16ToFloat(*static_cast<const uint16_t*>(data));
    default: return 0.0;
  }
}

// Dropout at inference is the identity (a view of the input); its mask
// output is all true. Opset 12 made training a run-time input: random
// masking is refused, training with ratio 0 is the identity too (then the
// node runs to check and copies).
class DropoutKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    ASSIGN_OR_RETURN(const size_t element_size, MovableElementSize(ctx, 0));
    bytes_ = static_cast<size_t>(x.num_elements()) * element_size;
    if (ctx.node().opset() >= 12) RETURN_IF_ERROR(CheckTrainingMode(ctx));
    if (check_at_run_time_ || !ctx.SetOutputView(0, 0, x.dims)) ctx.SetOutput(0, x.dtype, x.dims);
    if (ctx.has_output(1)) {
      // Before opset 10 the mask has the data's type, since then bool.
      const DataType mask_type = ctx.node().opset() < 10 ? x.dtype : DataType::kBool;
      StatusOr<Tensor> mask = Tensor::Allocate(mask_type, x.dims);
      if (!mask.ok()) return mask.status().WithContext(ctx.Describe() + ": mask");
      for (int64_t i = 0; i < mask->num_elements(); ++i) mask->SetFromDouble(i, 1.0);
      ctx.SetConstantOutput(1, std::move(*mask));
    }
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    if (check_at_run_time_) {
      const double ratio = ctx.input(1) ? ReadScalar(ctx.input(1), ratio_type_) : kDefaultRatio;
      const bool training = ctx.input(2) && *ctx.input_as<uint8_t>(2) != 0;
      if (training && ratio != 0.0) return RandomDropoutRefused(ratio);
    }
    if (bytes_) std::memcpy(ctx.output(0), ctx.input(0), bytes_);
    return Status::Ok();
  }

 private:
  static constexpr double kDefaultRatio = 0.5;

  static Status RandomDropoutRefused(double ratio) {
    return Unsupported("training_mode is true with ratio " + std::to_string(ratio) +
                       ": random dropout is not supported (bnfold runs inference)");
  }

  Status CheckTrainingMode(CompileContext& ctx) {
    if (!ctx.has_input(2)) return Status::Ok();
    if (ctx.has_input(1)) {
      ratio_type_ = ctx.input(1).dtype;
      if (!IsFloatingPoint(ratio_type_)) return UnsupportedType(ctx, 1, "a floating-point type");
    }
    if (ctx.input(2).dtype != DataType::kBool) return UnsupportedType(ctx, 2, "bool");
    const Tensor* training = ctx.constant_input(2);
    const Tensor* ratio = ctx.has_input(1) ? ctx.constant_input(1) : nullptr;
    if (training == nullptr || (ctx.has_input(1) && ratio == nullptr)) {
      check_at_run_time_ = true;
      return Status::Ok();
    }
    if (training->num_elements() != 1 || (ratio && ratio->num_elements() != 1)) {
      return InvalidModel(ctx.Describe() + ": ratio and training_mode must be scalars");
    }
    const double r = ratio ? ratio->GetAsDouble(0) : kDefaultRatio;
    if (*training->data_as<uint8_t>() != 0 && r != 0.0) {
      return RandomDropoutRefused(r).WithContext(ctx.Describe());
    }
    return Status::Ok();
  }

  size_t bytes_ = 0;
  bool check_at_run_time_ = false;
  DataType ratio_type_ = DataType::kFloat;
};

}  // namespace

void RegisterReshapeKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kReshape, MakeKernel<ReshapeKernel>);
  registry.Register(ir::OpKind::kFlatten, MakeKernel<FlattenKernel>);
  registry.Register(ir::OpKind::kSqueeze, MakeKernel<SqueezeKernel>);
  registry.Register(ir::OpKind::kUnsqueeze, MakeKernel<UnsqueezeKernel>);
  registry.Register(ir::OpKind::kIdentity, MakeKernel<IdentityKernel>);
  registry.Register(ir::OpKind::kDropout, MakeKernel<DropoutKernel>);
}

}  // namespace bnfold::onednn
