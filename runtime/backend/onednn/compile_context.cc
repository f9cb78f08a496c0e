#include "runtime/backend/onednn/compile_context.h"

#include <algorithm>
#include <utility>

namespace bnfold::onednn {

namespace {

bool SameLayout(const TensorDesc& desc, const dnnl::memory::desc& wanted) {
  if (desc.is_plain()) {
    return wanted == PlainDesc(desc.dtype, desc.dims);
  }
  return desc.layout == wanted;
}

}  // namespace

NodeCompileContext::NodeCompileContext(const ir::Node& node, int threads, int convolution_depth,
                                       std::vector<const TensorDesc*> inputs,
                                       std::vector<const Tensor*> constants,
                                       std::vector<bool> fed)
    : node_(node),
      threads_(threads),
      convolution_depth_(convolution_depth),
      inputs_(std::move(inputs)),
      constants_(std::move(constants)),
      fed_(std::move(fed)),
      accept_any_(inputs_.size(), false),
      required_(inputs_.size()),
      outputs_(node.num_outputs()),
      output_set_(node.num_outputs(), false),
      constant_outputs_(node.num_outputs()),
      view_inputs_(node.num_outputs(), -1) {}

const Tensor* NodeCompileContext::constant_input(int i) const {
  if (!HasSlot(i)) return nullptr;
  if (constants_[i] == nullptr && fed_[i]) asked_for_fed_value_.push_back(i);
  if (constants_[i] == nullptr && inputs_[i] != nullptr) asked_for_runtime_value_ = true;
  return constants_[i];
}

void NodeCompileContext::SetOutput(int i, DataType dtype, std::vector<int64_t> dims,
                                   dnnl::memory::desc layout) {
  outputs_[i] = TensorDesc{dtype, std::move(dims), layout};
  output_set_[i] = true;
  view_inputs_[i] = -1;
}

void NodeCompileContext::SetConstantOutput(int i, Tensor value) {
  outputs_[i] = TensorDesc{value.dtype(), value.shape(), {}};
  output_set_[i] = true;
  constant_outputs_[i] = std::make_shared<const Tensor>(std::move(value));
  view_inputs_[i] = -1;
}

bool NodeCompileContext::SetOutputView(int i, int input, std::vector<int64_t> dims,
                                       dnnl::memory::desc layout) {
  if (input < 0 || static_cast<size_t>(input) >= inputs_.size() || inputs_[input] == nullptr) {
    return false;
  }
  outputs_[i] = TensorDesc{inputs_[input]->dtype, std::move(dims), layout};
  output_set_[i] = true;
  constant_outputs_[i] = nullptr;
  view_inputs_[i] = input;
  return true;
}

dnnl::memory::desc NodeCompileContext::WantedLayout(int i) const {
  if (!required_[i].is_zero()) return required_[i];
  if (accept_any_[i]) return inputs_[i]->ToMemoryDesc();
  return PlainDesc(inputs_[i]->dtype, inputs_[i]->dims);
}

bool NodeCompileContext::NeedsConversion(int i) const {
  if (inputs_[i] == nullptr) return false;
  if (ToDnnlType(inputs_[i]->dtype) == dnnl::memory::data_type::undef) return false;
  if (accept_any_[i] && required_[i].is_zero()) return false;
  return !SameLayout(*inputs_[i], WantedLayout(i));
}

bool NodeCompileContext::is_viewed(int input) const {
  return std::find(view_inputs_.begin(), view_inputs_.end(), input) != view_inputs_.end();
}

}  // namespace bnfold::onednn
