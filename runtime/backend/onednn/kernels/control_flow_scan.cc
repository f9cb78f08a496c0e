// Scan: opset 8 (a leading batch axis, optional sequence_lens, `directions`)
// and 9+ (scan_input_axes / _directions, scan_output_axes / _directions).
// The body is compiled once as a nested plan (support/subgraph_plan.h) for
// one slice of each scan input and run once per position; its state
// outputs must keep their shapes. Opset 8 runs the scan once per batch
// element; positions past an element's sequence length are zero in the
// scan outputs and its state stops there.
#include <cstring>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/subgraph_plan.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

int64_t Product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < dims.size(); ++i) p *= dims[i];
  return p;
}

// One scanned tensor (input or output): its dims (one batch element's in
// opset 8), the scanned axis and direction.
struct Scanned {
  std::vector<int64_t> dims;
  int64_t axis = 0;
  bool reverse = false;
  size_t element = 0;  // bytes
  // Bytes of one slice; the blocks around the axis.
  size_t slice_bytes() const { return static_cast<size_t>(Product(dims, 0, dims.size()) / std::max<int64_t>(1, dims[axis])) * element; }
  size_t outer() const { return static_cast<size_t>(Product(dims, 0, axis)); }
  size_t inner_bytes() const { return static_cast<size_t>(Product(dims, axis + 1, dims.size())) * element; }
  int64_t position(int64_t step, int64_t length) const { return reverse ? length - 1 - step : step; }
};

void TakeSlice(const Scanned& s, const char* full, int64_t index, char* slice) {
  const size_t inner = s.inner_bytes();
  const int64_t n = s.dims[s.axis];
  for (size_t o = 0; o < s.outer(); ++o) CopyBytes(slice + o * inner, full + (o * n + index) * inner, inner);
}

void PutSlice(const Scanned& s, char* full, int64_t index, const char* slice) {
  const size_t inner = s.inner_bytes();
  const int64_t n = s.dims[s.axis];
  for (size_t o = 0; o < s.outer(); ++o) CopyBytes(full + (o * n + index) * inner, slice + o * inner, inner);
}

class ScanState : public KernelState {
 public:
  SubgraphPlans::State body;
  std::vector<std::vector<char>> slices;
  std::vector<std::vector<char>> carried;
};

class ScanKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    node_ = &ctx.node();
    const ir::Graph* body = node_->subgraph("body");
    if (!body) return InvalidModel(ctx.Describe() + ": needs graph attribute body");
    v8_ = node_->opset() < 9;
    first_ = v8_ ? 1 : 0;
    ASSIGN_OR_RETURN(const int64_t m, node_->GetInt("num_scan_inputs", -1));
    const int inputs = node_->num_explicit_inputs() - first_;
    if (m < 1 || m > inputs) {
      return InvalidModel(ctx.Describe() + ": num_scan_inputs must be between 1 and " +
                          std::to_string(inputs));
    }
    scan_inputs_ = static_cast<int>(m);
    states_ = inputs - scan_inputs_;
    scan_outputs_ = ctx.num_outputs() - states_;
    if (scan_outputs_ < 0 || static_cast<int>(body->outputs().size()) != ctx.num_outputs()) {
      return InvalidModel(ctx.Describe() + ": its body returns " + std::to_string(body->outputs().size()) +
                          " values for " + std::to_string(ctx.num_outputs()) + " outputs");
    }
    const char* in_dirs_name = v8_ ? "directions" : "scan_input_directions";
    ASSIGN_OR_RETURN(std::vector<int64_t> in_axes,
                     node_->GetInts("scan_input_axes", std::vector<int64_t>(scan_inputs_, 0)));
    ASSIGN_OR_RETURN(std::vector<int64_t> in_dirs,
                     node_->GetInts(in_dirs_name, std::vector<int64_t>(scan_inputs_, 0)));
    ASSIGN_OR_RETURN(std::vector<int64_t> out_axes,
                     node_->GetInts("scan_output_axes", std::vector<int64_t>(scan_outputs_, 0)));
    ASSIGN_OR_RETURN(std::vector<int64_t> out_dirs,
                     node_->GetInts("scan_output_directions", std::vector<int64_t>(scan_outputs_, 0)));
    if (in_axes.size() != static_cast<size_t>(scan_inputs_) ||
        in_dirs.size() != static_cast<size_t>(scan_inputs_) ||
        out_axes.size() != static_cast<size_t>(scan_outputs_) ||
        out_dirs.size() != static_cast<size_t>(scan_outputs_)) {
      return InvalidModel(ctx.Describe() + ": scan axes/directions attributes need one entry per "
                          "scan input (" + std::to_string(scan_inputs_) + ") or scan output (" +
                          std::to_string(scan_outputs_) + ")");
    }
    if (v8_ && (node_->FindAttribute("scan_input_axes") || node_->FindAttribute("scan_output_axes"))) {
      return InvalidModel(ctx.Describe() + ": opset 8 Scan has no scan axes attributes");
    }

    // Batch (opset 8) and sequence length.
    batch_ = 1;
    if (v8_) {
      if (ctx.input(first_ + states_).dims.empty()) return InvalidModel(ctx.Describe() + ": scan inputs need a batch axis");
      batch_ = ctx.input(first_ + states_).dims[0];
      if (ctx.has_input(0) && (ctx.input(0).dtype != DataType::kInt32 ||
                               ctx.input(0).dims != std::vector<int64_t>{batch_})) {
        return InvalidModel(ctx.Describe() + ": sequence_lens must be int32[" + std::to_string(batch_) + "]");
      }
    }
    std::vector<BodyInput> body_inputs;
    for (int i = 0; i < states_; ++i) {
      const TensorDesc& d = ctx.input(first_ + i);
      std::vector<int64_t> dims = d.dims;
      if (v8_) {
        if (dims.empty() || dims[0] != batch_) {
          return InvalidModel(ctx.Describe() + ": state " + std::to_string(i) + " must lead with the batch axis");
        }
        dims.erase(dims.begin());
      }
      body_inputs.push_back(BodyInput{d.dtype, dims, nullptr});
    }
    length_ = -1;
    for (int j = 0; j < scan_inputs_; ++j) {
      const TensorDesc& d = ctx.input(first_ + states_ + j);
      Scanned s;
      s.dims = d.dims;
      s.element = DataTypeSize(d.dtype);
      if (v8_) {
        if (s.dims.size() < 2 || s.dims[0] != batch_) {
          return InvalidModel(ctx.Describe() + ": scan input " + std::to_string(j) + " must be [batch, sequence, ...]");
        }
        s.dims.erase(s.dims.begin());
      }
      const int64_t rank = static_cast<int64_t>(s.dims.size());
      s.axis = v8_ ? 0 : (in_axes[j] < 0 ? in_axes[j] + rank : in_axes[j]);
      if (s.axis < 0 || s.axis >= rank) {
        return InvalidModel(ctx.Describe() + ": scan input " + std::to_string(j) + " axis " +
                            std::to_string(in_axes[j]) + " is out of range for rank " + std::to_string(rank));
      }
      s.reverse = in_dirs[j] != 0;
      if (length_ >= 0 && s.dims[s.axis] != length_) {
        return InvalidModel(ctx.Describe() + ": scan inputs have different lengths (" +
                            std::to_string(length_) + " and " + std::to_string(s.dims[s.axis]) + ")");
      }
      length_ = s.dims[s.axis];
      std::vector<int64_t> slice = s.dims;
      slice.erase(slice.begin() + s.axis);
      body_inputs.push_back(BodyInput{d.dtype, slice, nullptr});
      ins_.push_back(std::move(s));
    }
    for (int i = node_->num_explicit_inputs(); i < ctx.num_inputs(); ++i) {
      body_inputs.push_back(BodyInput{ctx.input(i).dtype, ctx.input(i).dims, ctx.constant_input(i)});
    }
    body_ = std::make_unique<SubgraphPlans>(*body, ctx.Describe() + ", subgraph 'body'", ctx.threads());
    ASSIGN_OR_RETURN(const BodyPlan* plan, body_->Compile(body_inputs));
    for (int i = 0; i < states_; ++i) {
      const TensorDesc& out = plan->outputs[i];
      if (out.dtype != body_inputs[i].dtype || out.dims != body_inputs[i].dims) {
        return Unsupported(ctx.Describe() + ": state " + std::to_string(i) + " is " +
                           DataTypeName(body_inputs[i].dtype) + ShapeToString(body_inputs[i].dims) +
                           " but the body returns " + DataTypeName(out.dtype) + ShapeToString(out.dims));
      }
      std::vector<int64_t> dims = out.dims;
      if (v8_) dims.insert(dims.begin(), batch_);
      if (ctx.has_output(i)) ctx.SetOutput(i, out.dtype, dims);
    }
    for (int k = 0; k < scan_outputs_; ++k) {
      const TensorDesc& out = plan->outputs[states_ + k];
      Scanned s;
      s.dims = out.dims;
      s.element = DataTypeSize(out.dtype);
      const int64_t rank = static_cast<int64_t>(s.dims.size()) + 1;
      s.axis = v8_ ? 0 : (out_axes[k] < 0 ? out_axes[k] + rank : out_axes[k]);
      if (s.axis < 0 || s.axis >= rank) {
        return InvalidModel(ctx.Describe() + ": scan output " + std::to_string(k) + " axis " +
                            std::to_string(out_axes[k]) + " is out of range for rank " + std::to_string(rank));
      }
      s.dims.insert(s.dims.begin() + s.axis, length_);
      s.reverse = !v8_ && out_dirs[k] != 0;
      std::vector<int64_t> dims = s.dims;
      if (v8_) dims.insert(dims.begin(), batch_);
      if (ctx.has_output(states_ + k)) ctx.SetOutput(states_ + k, out.dtype, dims);
      outs_.push_back(std::move(s));
    }
    for (int i = 0; i < states_; ++i) state_bytes_.push_back(plan->outputs[i].byte_size());
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine&) const override {
    auto state = std::make_unique<ScanState>();
    for (const Scanned& s : ins_) state->slices.emplace_back(s.slice_bytes());
    for (size_t b : state_bytes_) state->carried.emplace_back(b);
    return state;
  }

  Status Execute(ExecContext& ctx) const override {
    auto* state = static_cast<ScanState*>(ctx.state());
    const int explicit_inputs = node_->num_explicit_inputs();
    const int outer = node_->num_inputs() - explicit_inputs;
    std::vector<const void*> inputs(states_ + scan_inputs_ + outer);
    for (int j = 0; j < outer; ++j) inputs[states_ + scan_inputs_ + j] = ctx.input(explicit_inputs + j);
    std::vector<const void*> outputs;
    for (int64_t b = 0; b < batch_; ++b) {
      int64_t length = length_;
      if (v8_ && ctx.input(0)) {
        length = ctx.input_as<int32_t>(0)[b];
        if (length < 0 || length > length_) {
          return InvalidModel(node_->Describe() + ": sequence_lens[" + std::to_string(b) + "] = " +
                              std::to_string(length) + " is not in [0, " + std::to_string(length_) + "]");
        }
      }
      for (int i = 0; i < states_; ++i) {
        inputs[i] = static_cast<const char*>(ctx.input(first_ + i)) + b * state_bytes_[i];
      }
      for (int k = 0; k < scan_outputs_; ++k) {
        const Scanned& s = outs_[k];
        char* out = static_cast<char*>(ctx.output(states_ + k));
        if (out && length < length_) {
          std::memset(out + b * s.slice_bytes() * length_, 0, s.slice_bytes() * length_);
        }
      }
      for (int64_t t = 0; t < length; ++t) {
        for (int j = 0; j < scan_inputs_; ++j) {
          const Scanned& s = ins_[j];
          const char* full = static_cast<const char*>(ctx.input(first_ + states_ + j)) +
                             b * s.slice_bytes() * length_;
          TakeSlice(s, full, s.position(t, length), state->slices[j].data());
          inputs[states_ + j] = state->slices[j].data();
        }
        RETURN_IF_ERROR(body_->Run(0, &state->body, inputs, &outputs));
        for (int i = 0; i < states_; ++i) {
          CopyBytes(state->carried[i].data(), outputs[i], state_bytes_[i]);
          inputs[i] = state->carried[i].data();
        }
        for (int k = 0; k < scan_outputs_; ++k) {
          const Scanned& s = outs_[k];
          char* out = static_cast<char*>(ctx.output(states_ + k));
          if (!out) continue;
          PutSlice(s, out + b * s.slice_bytes() * length_, s.position(t, length),
                   static_cast<const char*>(outputs[states_ + k]));
        }
      }
      for (int i = 0; i < states_; ++i) {
        if (ctx.output(i)) {
          CopyBytes(static_cast<char*>(ctx.output(i)) + b * state_bytes_[i], inputs[i], state_bytes_[i]);
        }
      }
    }
    return Status::Ok();
  }

 private:
  const ir::Node* node_ = nullptr;
  bool v8_ = false;
  int first_ = 0;
  int states_ = 0;
  int scan_inputs_ = 0;
  int scan_outputs_ = 0;
  int64_t batch_ = 1;
  int64_t length_ = 0;
  std::vector<Scanned> ins_;
  std::vector<Scanned> outs_;
  std::vector<size_t> state_bytes_;
  std::unique_ptr<SubgraphPlans> body_;
};

}  // namespace

void RegisterScanKernel(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kScan, MakeKernel<ScanKernel>);
}

}  // namespace bnfold::onednn
