#include "runtime/backend/onednn/image_loop.h"

#include <algorithm>

#include "runtime/backend/onednn/fusion.h"
#include "runtime/common/status_macros.h"
#include "runtime/ir/attrs.h"

namespace bnfold::onednn {

const void* ImageContext::input(int i) const {
  const void* p = base_.input(i);
  const size_t stride = static_cast<size_t>(i) < input_strides_.size() ? input_strides_[i] : 0;
  return p == nullptr ? p : static_cast<const char*>(p) + stride * image_;
}

void* ImageContext::output(int i) const {
  void* p = base_.output(i);
  const size_t stride = static_cast<size_t>(i) < output_strides_.size() ? output_strides_[i] : 0;
  return p == nullptr ? p : static_cast<char*>(p) + stride * image_;
}

namespace {

// Whether the dims[0] entries of `md` (a buffer of `bytes`) lie one after
// the other, with nothing before, after or between them.
bool IsOuterAxis(const dnnl_memory_desc_t& md, size_t bytes) {
  if (md.format_kind != dnnl_blocked || md.ndims < 2 || md.offset0 != 0 || md.dims[0] < 1 ||
      md.padded_dims[0] != md.dims[0] || md.padded_offsets[0] != 0) {
    return false;
  }
  const size_t element =
      dnnl::memory::data_type_size(static_cast<dnnl::memory::data_type>(md.data_type));
  return static_cast<size_t>(md.format_desc.blocking.strides[0]) * element *
             static_cast<size_t>(md.dims[0]) == bytes;
}

// The smallest input (height x width) a node of the image loop reads. At
// batch 8, one thread, MobileNetV2's layers at 112x112 and 56x56 take
// 15-40% longer per image than at batch 1: each layer streams the whole
// batch's activations (8 x 1.6-4.8 MB) through memory before the next one
// reads them back. Run image by image they stay in cache (its first eight
// convolutions: 7.59 ms at batch 8 vs 8 x 0.664 ms at batch 1). From 28x28
// on, a batch's activations fit the cache and weights shared by the batch
// matter more.
constexpr int64_t kMinImageLoopPixels = 56 * 56;

// Whether `node` computes each image from that image alone, in a way the
// image loop can run (its inputs are checked by the planner): convolutions,
// pooling, activations, inference BatchNormalization, binary arithmetic.
bool ComputesPerImage(const ir::Node& node) {
  using ir::OpKind;
  for (int i = 1; i < node.num_outputs(); ++i) {
    if (node.output(i) != nullptr) return false;  // MaxPool's indices, BN's training outputs
  }
  switch (node.kind()) {
    case OpKind::kConv:
    case OpKind::kMaxPool:
    case OpKind::kAveragePool:
    case OpKind::kAdd:
    case OpKind::kSub:
    case OpKind::kMul:
    case OpKind::kDiv:
      return true;
    case OpKind::kBatchNormalization:
      // Training mode normalizes with the batch's own statistics.
      return !ir::GetBatchNormMode(node).training;
    default:
      return IsEltwiseFollower(node.kind());
  }
}

}  // namespace

dnnl::memory::desc OneImageDesc(const dnnl::memory::desc& md) {
  dnnl_memory_desc_t one = md.data;
  if (one.format_kind == dnnl_format_kind_any) {
    one.dims[0] = 1;
    one.padded_dims[0] = 1;
    return dnnl::memory::desc(one);
  }
  if (!IsOuterAxis(one, md.get_size())) return {};
  one.dims[0] = 1;
  one.padded_dims[0] = 1;
  return dnnl::memory::desc(one);
}

dnnl::memory::desc AllImagesDesc(const dnnl::memory::desc& one_image, int64_t images) {
  if (one_image.data.dims[0] != 1 || !IsOuterAxis(one_image.data, one_image.get_size())) {
    return {};
  }
  dnnl_memory_desc_t all = one_image.data;
  all.dims[0] = images;
  all.padded_dims[0] = images;
  return dnnl::memory::desc(all);
}

void ImageLoopBuilder::Update(const ir::Node& node) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kOpen) {
    // A node of constants is folded now and runs no step.
    if (!ReadsOnlyConstants(node) && !RunsInLoop(node)) Close();
    return;
  }
  if (node.kind() != ir::OpKind::kConv || node.num_inputs() < 1 || node.input(0) == nullptr) {
    return;
  }
  auto it = value_ids_.find(node.input(0));
  if (it == value_ids_.end()) return;
  const PlanValue& x = plan_.values[it->second];
  if (x.storage != PlanValue::Storage::kExternal || x.desc.dims.size() != 4 ||
      x.desc.dims[0] < 2 || x.desc.dtype != DataType::kFloat) {
    return;
  }
  images_ = x.desc.dims[0];
  first_value_ = plan_.values.size();
  plan_.image_loop.begin = plan_.steps.size();
  state_ = State::kOpen;
  if (!RunsInLoop(node)) Close();
}

void ImageLoopBuilder::Close() {
  if (state_ != State::kOpen) return;
  state_ = State::kClosed;
  end_value_ = plan_.values.size();
  plan_.image_loop.end = plan_.steps.size();
  plan_.image_loop.images = images_;
}

// Whether `node` can run in the open loop: it computes per image, its
// image input is big enough, and it reads loop values, the batched graph
// input, or constants the same for every image.
bool ImageLoopBuilder::RunsInLoop(const ir::Node& node) const {
  if (!ComputesPerImage(node) || node.num_inputs() < 1 || node.input(0) == nullptr) return false;
  const bool conv = node.kind() == ir::OpKind::kConv;
  for (int i = 0; i < node.num_inputs(); ++i) {
    const ir::Value* in = node.input(i);
    if (in == nullptr) continue;
    auto it = value_ids_.find(in);
    const bool constant = it == value_ids_.end() ? in->constant_data() != nullptr
                                                 : IsConstant(it->second);
    if (constant) {
      if (i == 0) return false;  // nothing to run per image
      // A Conv's weights and bias; any other constant must be the same
      // for every image.
      const std::vector<int64_t>& dims = it == value_ids_.end()
                                             ? in->constant_data()->shape()
                                             : plan_.values[it->second].desc.dims;
      if (!conv && !SameForEveryImage(dims)) return false;
      continue;
    }
    if (it == value_ids_.end()) return false;
    const int id = it->second;
    const TensorDesc& desc = plan_.values[id].desc;
    if (!IsLoopValue(id) && !IsBatchedInput(id)) return false;
    if (i == 0) {
      if (desc.dims.size() != 4 || desc.dims[2] * desc.dims[3] < kMinImageLoopPixels) {
        return false;
      }
    } else if (conv) {
      return false;  // run-time weights
    }
  }
  return true;
}

bool ImageLoopBuilder::ReadsOnlyConstants(const ir::Node& node) const {
  for (const ir::Value* in : node.inputs()) {
    if (in == nullptr) continue;
    auto it = value_ids_.find(in);
    if (it == value_ids_.end() ? !in->constant_data() : !IsConstant(it->second)) return false;
  }
  return true;
}

bool ImageLoopBuilder::SameForEveryImage(const std::vector<int64_t>& dims) {
  return dims.size() < 4 || (dims.size() == 4 && dims[0] == 1);
}

bool ImageLoopBuilder::IsLoopValue(int id) const {
  if (state_ == State::kNotStarted || id < static_cast<int>(first_value_)) return false;
  if (state_ == State::kClosed && id >= static_cast<int>(end_value_)) return false;
  return plan_.values[id].storage == PlanValue::Storage::kArena;
}

// A graph input holding the loop's images.
bool ImageLoopBuilder::IsBatchedInput(int id) const {
  const PlanValue& v = plan_.values[id];
  return v.storage == PlanValue::Storage::kExternal && !v.desc.dims.empty() &&
         v.desc.dims[0] == images_;
}

StatusOr<int> ImageLoopBuilder::ForThisStep(int id, const std::string& label) {
  if (state_ == State::kOpen && IsBatchedInput(id)) {
    auto [it, added] = one_image_views_.try_emplace(id, -1);
    if (added) {
      PlanValue view;
      view.name = plan_.values[id].name;
      view.desc = plan_.values[id].desc;
      view.desc.dims[0] = 1;
      view.storage = PlanValue::Storage::kAlias;
      view.alias_of = id;
      it->second = AddValue(std::move(view));
    }
    return it->second;
  }
  if (state_ == State::kClosed && IsLoopValue(id)) {
    auto [it, added] = whole_batch_views_.try_emplace(id, -1);
    if (added) {
      const PlanValue& one = plan_.values[id];
      PlanValue view;
      view.name = one.name;
      view.desc = one.desc;
      view.desc.dims[0] = images_;
      if (!one.desc.is_plain()) {
        view.desc.layout = AllImagesDesc(one.desc.layout, images_);
        if (view.desc.layout.is_zero()) {
          return Internal(label + ": '" + one.name + "' cannot hold its images one after the other");
        }
      }
      view.storage = PlanValue::Storage::kAlias;
      view.alias_of = id;
      it->second = AddValue(std::move(view));
    }
    return it->second;
  }
  return id;
}

// Bytes between images for value `id` read or written by a loop step.
StatusOr<size_t> ImageLoopBuilder::ImageStride(int id, const std::string& label) const {
  if (id < 0) return size_t{0};
  const PlanValue& v = plan_.values[id];
  // A loop step sees a batched input only through its one-image view.
  if (v.storage == PlanValue::Storage::kAlias && IsBatchedInput(v.alias_of)) {
    return v.desc.byte_size();
  }
  if (IsLoopValue(id)) return whole_batch_views_.count(id) ? v.desc.byte_size() : size_t{0};
  if (IsConstant(id)) return size_t{0};
  return Internal(label + ": runs image by image but reads the whole batch of '" + v.name + "'");
}

Status ImageLoopBuilder::SetImageStrides() {
  const ImageLoop& loop = plan_.image_loop;
  for (size_t s = loop.begin; s < loop.end; ++s) {
    PlanStep& step = plan_.steps[s];
    for (int id : step.inputs) {
      ASSIGN_OR_RETURN(size_t stride, ImageStride(id, step.label));
      step.input_image_strides.push_back(stride);
    }
    for (int id : step.outputs) {
      ASSIGN_OR_RETURN(size_t stride, ImageStride(id, step.label));
      step.output_image_strides.push_back(stride);
    }
  }
  return Status::Ok();
}

void ImageLoopBuilder::ExtendLifetimes(ValueLifetimes& lifetimes) const {
  const ImageLoop& loop = plan_.image_loop;
  if (!loop.active()) return;
  for (size_t id = first_value_; id < end_value_; ++id) {
    if (!IsLoopValue(static_cast<int>(id)) || lifetimes.first[id] < 0) continue;
    lifetimes.first[id] = static_cast<int>(loop.begin);
    if (whole_batch_views_.count(static_cast<int>(id))) {
      lifetimes.images[id] = static_cast<size_t>(loop.images);
    } else {
      lifetimes.last[id] = std::max(lifetimes.last[id], static_cast<int>(loop.end) - 1);
    }
  }
}

}  // namespace bnfold::onednn
