// The kernels' view of one node while the planner compiles it
// (CompileContext, kernel.h): the node's input descs and constants, and
// what the kernel declares back -- outputs, views, layout wishes, scratch
// bytes, accepted post-ops -- for the planner to read.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

// Kernel-facing view of one node during planning.
class NodeCompileContext : public CompileContext {
 public:
  // inputs[i]: input i's desc, null when omitted; constants[i]: its data
  // when known now; fed[i]: it is a graph input fed at run time.
  NodeCompileContext(const ir::Node& node, int threads, int convolution_depth,
                     std::vector<const TensorDesc*> inputs,
                     std::vector<const Tensor*> constants, std::vector<bool> fed);

  const ir::Node& node() const override { return node_; }
  const dnnl::engine& engine() const override { return CpuEngine(); }
  int threads() const override { return threads_; }
  int convolution_depth() const override { return convolution_depth_; }
  bool HasSlot(int i) const { return i >= 0 && static_cast<size_t>(i) < inputs_.size(); }
  // An input past the node's last reads as omitted: kernels index inputs
  // by the op's schema, which a malformed node may not follow.
  const TensorDesc& input(int i) const override {
    static const TensorDesc kNone;
    return HasSlot(i) && inputs_[i] ? *inputs_[i] : kNone;
  }
  const Tensor* constant_input(int i) const override;
  void AcceptInputLayout(int i) override {
    if (HasSlot(i)) accept_any_[i] = true;
  }
  void RequireInputLayout(int i, const dnnl::memory::desc& layout) override {
    if (!HasSlot(i)) return;
    required_[i] = layout;
  }
  void SetOutput(int i, DataType dtype, std::vector<int64_t> dims,
                 dnnl::memory::desc layout) override;
  void SetConstantOutput(int i, Tensor value) override;
  bool SetOutputView(int i, int input, std::vector<int64_t> dims,
                     dnnl::memory::desc layout) override;
  void RequestScratchpad(size_t bytes) override {
    scratchpad_ = std::max(scratchpad_, bytes);
  }
  const PostOpChain* post_ops() const override { return post_ops_; }
  void AcceptPostOps(size_t count) override { accepted_post_ops_ = count; }

  void OfferPostOps(const PostOpChain* chain) { post_ops_ = chain; }
  size_t accepted_post_ops() const { return post_ops_ ? accepted_post_ops_ : 0; }

  // The layout input `i` must arrive in: a required one, its current one
  // when any is accepted, else plain.
  dnnl::memory::desc WantedLayout(int i) const;
  // Whether input `i` arrives in another layout than WantedLayout(i).
  bool NeedsConversion(int i) const;

  const TensorDesc& output(int i) const { return outputs_[i]; }
  bool output_set(int i) const { return output_set_[i]; }
  const ir::ConstTensorPtr& constant_output(int i) const { return constant_outputs_[i]; }
  // The input output `i` views, or -1.
  int view_input(int i) const { return view_inputs_[i]; }
  bool is_viewed(int input) const;
  size_t scratchpad() const { return scratchpad_; }
  // Inputs fed at run time whose value the kernel asked for.
  const std::vector<int>& asked_for_fed_value() const { return asked_for_fed_value_; }
  // Whether the kernel asked for the value of an input known only at run
  // time (fed, or computed from fed values).
  bool asked_for_runtime_value() const { return asked_for_runtime_value_; }

 private:
  const ir::Node& node_;
  int threads_;
  int convolution_depth_;
  std::vector<const TensorDesc*> inputs_;
  std::vector<const Tensor*> constants_;
  std::vector<bool> fed_;  // input is a graph input fed at run time
  mutable std::vector<int> asked_for_fed_value_;
  mutable bool asked_for_runtime_value_ = false;
  std::vector<bool> accept_any_;
  std::vector<dnnl::memory::desc> required_;
  std::vector<TensorDesc> outputs_;
  std::vector<bool> output_set_;
  std::vector<ir::ConstTensorPtr> constant_outputs_;
  std::vector<int> view_inputs_;
  size_t scratchpad_ = 0;
  const PostOpChain* post_ops_ = nullptr;
  size_t accepted_post_ops_ = 0;
};

}  // namespace bnfold::onednn
