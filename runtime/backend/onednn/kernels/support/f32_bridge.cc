#include "runtime/backend/onednn/kernels/support/f32_bridge.h"

#include <algorithm>
#include <array>
#include <string>

#include "runtime/common/half.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

size_t AlignUp(size_t bytes) { return (bytes + 63) / 64 * 64; }

bool IsBridged(DataType t) {
  return t == DataType::kFloat16 || t == DataType::kBfloat16 || t == DataType::kDouble;
}

void ToFloat(DataType from, const void* src, float* dst, int64_t n) {
  switch (from) {
    case DataType::kFloat16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = HalfToFloat(s[i]);
      break;
    }
    case DataType::kBfloat16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Bfloat16ToFloat(s[i]);
      break;
    }
    case DataType::kDouble: {
      const auto* s = static_cast<const double*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      break;
    }
    default: break;
  }
}

void FromFloat(DataType to, const float* src, void* dst, int64_t n) {
  switch (to) {
    case DataType::kFloat16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = FloatToHalf(src[i]);
      break;
    }
    case DataType::kBfloat16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = FloatToBfloat16(src[i]);
      break;
    }
    case DataType::kDouble: {
      auto* d = static_cast<double*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = src[i];
      break;
    }
    default: break;
  }
}

// What the inner kernel sees at compile time: float32 plain tensors.
class InnerCompileContext : public CompileContext {
 public:
  InnerCompileContext(CompileContext& outer, std::vector<TensorDesc> inputs,
                      std::vector<const Tensor*> constants)
      : outer_(outer),
        inputs_(std::move(inputs)),
        constants_(std::move(constants)),
        outputs_(outer.num_outputs()),
        declared_(outer.num_outputs(), false) {}

  const ir::Node& node() const override { return outer_.node(); }
  const dnnl::engine& engine() const override { return outer_.engine(); }
  int threads() const override { return outer_.threads(); }
  int convolution_depth() const override { return outer_.convolution_depth(); }
  const TensorDesc& input(int i) const override { return inputs_[i]; }
  const Tensor* constant_input(int i) const override { return constants_[i]; }
  void AcceptInputLayout(int) override {}
  void RequireInputLayout(int i, const dnnl::memory::desc& layout) override {
    if (layout != inputs_[i].ToMemoryDesc()) misuse_ = "a blocked layout for input " + std::to_string(i);
  }
  void SetOutput(int i, DataType dtype, std::vector<int64_t> dims,
                 dnnl::memory::desc layout) override {
    outputs_[i] = TensorDesc{dtype, std::move(dims), {}};
    declared_[i] = true;
    if (!layout.is_zero() && layout != outputs_[i].ToMemoryDesc()) {
      misuse_ = "a blocked layout for output " + std::to_string(i);
    }
  }
  void SetConstantOutput(int i, Tensor) override {
    misuse_ = "a constant output " + std::to_string(i);
  }
  void RequestScratchpad(size_t bytes) override { scratchpad_ = std::max(scratchpad_, bytes); }

  const std::string& misuse() const { return misuse_; }
  const TensorDesc& output(int i) const { return outputs_[i]; }
  bool declared(int i) const { return declared_[i]; }
  size_t scratchpad() const { return scratchpad_; }

 private:
  CompileContext& outer_;
  std::vector<TensorDesc> inputs_;
  std::vector<const Tensor*> constants_;
  std::vector<TensorDesc> outputs_;
  std::vector<bool> declared_;
  size_t scratchpad_ = 0;
  std::string misuse_;
};

// What the inner kernel sees at run time: pointers into the scratchpad.
class InnerExecContext : public ExecContext {
 public:
  InnerExecContext(const ExecContext& outer, const void* const* inputs, void* const* outputs,
                   KernelState* state)
      : outer_(outer), inputs_(inputs), outputs_(outputs), state_(state) {}
  const void* input(int i) const override { return inputs_[i]; }
  void* output(int i) const override { return outputs_[i]; }
  void* scratchpad() const override { return outer_.scratchpad(); }
  dnnl::stream& stream() const override { return outer_.stream(); }
  KernelState* state() const override { return state_; }

 private:
  const ExecContext& outer_;
  const void* const* inputs_;
  void* const* outputs_;
  KernelState* state_;
};

struct BridgeState : KernelState {
  std::unique_ptr<KernelState> inner;
};

}  // namespace

DataType BridgedType(const CompileContext& ctx) {
  if (ctx.num_inputs() == 0 || !ctx.has_input(0)) return DataType::kUndefined;
  const DataType t = ctx.input(0).dtype;
  return IsBridged(t) ? t : DataType::kUndefined;
}

F32Bridge::F32Bridge(std::unique_ptr<Kernel> inner) : inner_(std::move(inner)) {}
F32Bridge::~F32Bridge() = default;

Status F32Bridge::Compile(CompileContext& ctx) {
  dtype_ = BridgedType(ctx);
  if (dtype_ == DataType::kUndefined) {
    return Internal(ctx.Describe() + ": F32Bridge used for a node that is not float16/bfloat16/float64");
  }
  if (ctx.num_inputs() > kMaxTensors || ctx.num_outputs() > kMaxTensors) {
    return Internal(ctx.Describe() + ": too many inputs/outputs for F32Bridge");
  }
  size_t offset = 0;
  std::vector<TensorDesc> inner_inputs(ctx.num_inputs());
  std::vector<const Tensor*> inner_constants(ctx.num_inputs(), nullptr);
  inputs_.assign(ctx.num_inputs(), Slot{});
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const TensorDesc& in = ctx.input(i);
    inner_inputs[i] = TensorDesc{in.dtype, in.dims, {}};
    inner_constants[i] = ctx.constant_input(i);
    if (in.dtype != dtype_) continue;
    Slot& slot = inputs_[i];
    slot.convert = true;
    slot.elements = in.num_elements();
    inner_inputs[i].dtype = DataType::kFloat;
    if (const Tensor* c = ctx.constant_input(i)) {
      ASSIGN_OR_RETURN(Tensor converted, Tensor::Allocate(DataType::kFloat, in.dims));
      ToFloat(dtype_, c->data(), converted.data_as<float>(), slot.elements);
      slot.constant = std::make_shared<const Tensor>(std::move(converted));
      inner_constants[i] = slot.constant.get();
    } else {
      slot.offset = offset;
      offset += AlignUp(slot.elements * sizeof(float));
    }
  }
  InnerCompileContext inner_ctx(ctx, std::move(inner_inputs), std::move(inner_constants));
  RETURN_IF_ERROR(inner_->Compile(inner_ctx));
  if (!inner_ctx.misuse().empty()) {
    return Internal(ctx.Describe() + ": the float32 kernel behind F32Bridge asked for " +
                    inner_ctx.misuse());
  }
  outputs_.assign(ctx.num_outputs(), Slot{});
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    if (!ctx.has_output(i)) continue;
    if (!inner_ctx.declared(i)) {
      return Internal(ctx.Describe() + ": kernel did not declare output " + std::to_string(i));
    }
    const TensorDesc& out = inner_ctx.output(i);
    Slot& slot = outputs_[i];
    // A float32 output is converted back; any other the inner kernel writes
    // in place.
    slot.convert = out.dtype == DataType::kFloat;
    slot.elements = out.num_elements();
    if (slot.convert) {
      slot.offset = offset;
      offset += AlignUp(slot.elements * sizeof(float));
    }
    ctx.SetOutput(i, slot.convert ? dtype_ : out.dtype, out.dims);
  }
  // Converted tensors follow the inner kernel's own scratchpad.
  inner_scratchpad_ = AlignUp(inner_ctx.scratchpad());
  ctx.RequestScratchpad(inner_scratchpad_ + offset);
  return Status::Ok();
}

std::unique_ptr<KernelState> F32Bridge::CreateState(const dnnl::engine& engine) const {
  auto state = std::make_unique<BridgeState>();
  state->inner = inner_->CreateState(engine);
  return state;
}

Status F32Bridge::Execute(ExecContext& ctx) const {
  char* scratch = static_cast<char*>(ctx.scratchpad()) + inner_scratchpad_;
  std::array<const void*, kMaxTensors> inputs{};
  std::array<void*, kMaxTensors> outputs{};
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const Slot& slot = inputs_[i];
    if (!slot.convert) {
      inputs[i] = ctx.input(static_cast<int>(i));
    } else if (slot.constant) {
      inputs[i] = slot.constant->data();
    } else {
      float* converted = reinterpret_cast<float*>(scratch + slot.offset);
      ToFloat(dtype_, ctx.input(static_cast<int>(i)), converted, slot.elements);
      inputs[i] = converted;
    }
  }
  for (size_t i = 0; i < outputs_.size(); ++i) {
    void* out = ctx.output(static_cast<int>(i));
    if (out == nullptr) continue;
    outputs[i] = outputs_[i].convert ? scratch + outputs_[i].offset : out;
  }
  auto* state = static_cast<BridgeState*>(ctx.state());
  InnerExecContext inner_ctx(ctx, inputs.data(), outputs.data(), state->inner.get());
  RETURN_IF_ERROR(inner_->Execute(inner_ctx));
  ctx.stream().wait();
  for (size_t i = 0; i < outputs_.size(); ++i) {
    void* out = ctx.output(static_cast<int>(i));
    if (out == nullptr) continue;
    const Slot& slot = outputs_[i];
    if (slot.convert) FromFloat(dtype_, static_cast<const float*>(outputs[i]), out, slot.elements);
  }
  return Status::Ok();
}

}  // namespace bnfold::onednn
