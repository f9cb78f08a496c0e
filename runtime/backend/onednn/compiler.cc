// The planner: walks the sorted graph, compiles one kernel per node, folds
// nodes whose inputs are all known at compile time, inserts reorders where a
// kernel wants a different layout, and places activations in one arena by
// lifetime. Followers of a Conv/Gemm/MatMul that oneDNN can apply as
// post-ops run inside its step (fusion.h).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "runtime/backend/onednn/fusion.h"
#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/image_split.h"
#include "runtime/backend/onednn/kernels/reorder.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/common/buffer.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* const engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

namespace {

// Plan constants, arenas and scratchpads: 64-byte aligned heap memory in
// small pages, not the huge-page buffers of AllocateBuffer. A plan's
// buffers are all touched for the first time by its compile and first run,
// and on this VM a fresh huge page costs about 5x what 512 small pages do
// (0.35-0.8 vs 2-2.5 GB/s first touch, unless the host has not yet taken
// back pages another process freed a moment ago): ResNet-50 batch 8's
// first run went from ~1290 to ~710 ms, the steady run unchanged. Heap
// memory freed earlier in the process is also reused without new faults.
// No zeroing needed: every buffer is written before it is read (oneDNN
// zeroes blocked padding).
std::shared_ptr<void> AllocateAligned(size_t bytes) {
  return AllocateHeapBuffer(bytes, /*zeroed=*/false);
}

// Where a plan places its reordered constants (the weights in the layouts
// its primitives read), one after another in the order the planner makes
// them, which is the order the steps read them. The first kHeapBytes go to
// the heap (AllocateAligned: a small model never touches a fresh huge
// page); the next kHugeBytes to 2 MiB-aligned chunks advised MADV_HUGEPAGE
// (AllocateBuffer): weights streamed from L3 or memory every run then miss
// the TLB far less. MobileNetV2 at batch 1, 1 thread (14 MB of weights),
// against heap placement, 140 interleaved pairs in three batches: 85
// faster, paired median ratio 0.984-0.999 per batch (about 1%). First runs
// (10, 10, 6 interleaved): MobileNetV2 b1 39.4 -> 35.9 ms, b8 76.6 -> 71.6
// ms, ResNet-50 b1 142 -> 136 ms. The cap: a huge page's first touch
// costs up to ~5x its small pages on this VM (see AllocateAligned), and
// ResNet-50's 100 MB all in huge pages made its first run 180-275 -> 90-470
// ms; with the cap 120-190 vs 125-230 ms.
class ConstantArena {
 public:
  std::shared_ptr<void> Allocate(size_t bytes) {
    const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    placed_ += rounded;
    if (placed_ <= kHeapBytes || placed_ > kHeapBytes + kHugeBytes) return AllocateAligned(bytes);
    if (!chunk_ || used_ + rounded > chunk_bytes_) {
      const size_t pages = (rounded + kHugePageBytes - 1) / kHugePageBytes;
      chunk_bytes_ = std::max(kChunkBytes, pages * kHugePageBytes);
      chunk_ = AllocateBuffer(chunk_bytes_, /*zeroed=*/false);
      used_ = 0;
      if (!chunk_) return AllocateAligned(bytes);
    }
    // Shares the chunk's ownership: the chunk goes when its last constant does.
    std::shared_ptr<void> buffer(chunk_, static_cast<char*>(chunk_.get()) + used_);
    used_ += rounded;
    return buffer;
  }

 private:
  static constexpr size_t kHeapBytes = kHugePageBytes;
  static constexpr size_t kHugeBytes = size_t{16} << 20;
  static constexpr size_t kChunkBytes = 2 * kHugePageBytes;
  size_t placed_ = 0;  // bytes of all constants so far
  std::shared_ptr<void> chunk_;
  size_t chunk_bytes_ = 0;
  size_t used_ = 0;
};

bool SameLayout(const TensorDesc& desc, const dnnl::memory::desc& wanted) {
  if (desc.is_plain()) {
    return wanted == PlainDesc(desc.dtype, desc.dims);
  }
  return desc.layout == wanted;
}

std::string DimsToString(const std::vector<int64_t>& dims) { return ShapeToString(dims); }

std::string StaticShapeToString(const ir::StaticShape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i].is_fixed() ? std::to_string(shape[i].value)
                             : (shape[i].param.empty() ? "?" : shape[i].param);
  }
  return s + "]";
}

// Kernel-facing view of one node during planning.
class NodeCompileContext : public CompileContext {
 public:
  NodeCompileContext(const ir::Node& node, int threads, int convolution_depth,
                     std::vector<const TensorDesc*> inputs,
                     std::vector<const Tensor*> constants, std::vector<bool> fed)
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
  const Tensor* constant_input(int i) const override {
    if (!HasSlot(i)) return nullptr;
    if (constants_[i] == nullptr && fed_[i]) asked_for_fed_value_.push_back(i);
    return constants_[i];
  }
  void AcceptInputLayout(int i) override {
    if (HasSlot(i)) accept_any_[i] = true;
  }
  void RequireInputLayout(int i, const dnnl::memory::desc& layout) override {
    if (!HasSlot(i)) return;
    required_[i] = layout;
  }
  void SetOutput(int i, DataType dtype, std::vector<int64_t> dims,
                 dnnl::memory::desc layout) override {
    outputs_[i] = TensorDesc{dtype, std::move(dims), layout};
    output_set_[i] = true;
    view_inputs_[i] = -1;
  }
  void SetConstantOutput(int i, Tensor value) override {
    outputs_[i] = TensorDesc{value.dtype(), value.shape(), {}};
    output_set_[i] = true;
    constant_outputs_[i] = std::make_shared<const Tensor>(std::move(value));
    view_inputs_[i] = -1;
  }
  bool SetOutputView(int i, int input, std::vector<int64_t> dims,
                     dnnl::memory::desc layout) override {
    if (input < 0 || static_cast<size_t>(input) >= inputs_.size() || inputs_[input] == nullptr) {
      return false;
    }
    outputs_[i] = TensorDesc{inputs_[input]->dtype, std::move(dims), layout};
    output_set_[i] = true;
    constant_outputs_[i] = nullptr;
    view_inputs_[i] = input;
    return true;
  }
  void RequestScratchpad(size_t bytes) override {
    scratchpad_ = std::max(scratchpad_, bytes);
  }
  const PostOpChain* post_ops() const override { return post_ops_; }
  void AcceptPostOps(size_t count) override { accepted_post_ops_ = count; }

  void OfferPostOps(const PostOpChain* chain) { post_ops_ = chain; }
  size_t accepted_post_ops() const { return post_ops_ ? accepted_post_ops_ : 0; }

  // The layout input `i` must arrive in: a required one, its current one
  // when any is accepted, else plain.
  dnnl::memory::desc WantedLayout(int i) const {
    if (!required_[i].is_zero()) return required_[i];
    if (accept_any_[i]) return inputs_[i]->ToMemoryDesc();
    return PlainDesc(inputs_[i]->dtype, inputs_[i]->dims);
  }
  bool NeedsConversion(int i) const {
    if (inputs_[i] == nullptr) return false;
    if (ToDnnlType(inputs_[i]->dtype) == dnnl::memory::data_type::undef) return false;
    if (accept_any_[i] && required_[i].is_zero()) return false;
    return !SameLayout(*inputs_[i], WantedLayout(i));
  }

  const TensorDesc& output(int i) const { return outputs_[i]; }
  bool output_set(int i) const { return output_set_[i]; }
  const ir::ConstTensorPtr& constant_output(int i) const { return constant_outputs_[i]; }
  // The input output `i` views, or -1.
  int view_input(int i) const { return view_inputs_[i]; }
  bool is_viewed(int input) const {
    return std::find(view_inputs_.begin(), view_inputs_.end(), input) != view_inputs_.end();
  }
  size_t scratchpad() const { return scratchpad_; }
  // Inputs fed at run time whose value the kernel asked for.
  const std::vector<int>& asked_for_fed_value() const { return asked_for_fed_value_; }

 private:
  const ir::Node& node_;
  int threads_;
  int convolution_depth_;
  std::vector<const TensorDesc*> inputs_;
  std::vector<const Tensor*> constants_;
  std::vector<bool> fed_;  // input is a graph input fed at run time
  mutable std::vector<int> asked_for_fed_value_;
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

// ExecContext over arrays of pointers owned by the caller: used by
// ExecState (arrays prepared once per context) and to run a single kernel at
// compile time.
class PointerExecContext : public ExecContext {
 public:
  PointerExecContext(const void* const* inputs, size_t num_inputs, void* const* outputs,
                     size_t num_outputs, void* scratchpad, dnnl::stream* stream,
                     KernelState* state)
      : inputs_(inputs),
        num_inputs_(num_inputs),
        outputs_(outputs),
        num_outputs_(num_outputs),
        scratchpad_(scratchpad),
        stream_(stream),
        state_(state) {}
  const void* input(int i) const override {
    return static_cast<size_t>(i) < num_inputs_ ? inputs_[i] : nullptr;
  }
  void* output(int i) const override {
    return static_cast<size_t>(i) < num_outputs_ ? outputs_[i] : nullptr;
  }
  void* scratchpad() const override { return scratchpad_; }
  dnnl::stream& stream() const override { return *stream_; }
  KernelState* state() const override { return state_; }

 private:
  const void* const* inputs_;
  size_t num_inputs_;
  void* const* outputs_;
  size_t num_outputs_;
  void* scratchpad_;
  dnnl::stream* stream_;
  KernelState* state_;
};

// ---- the image loop (plan.h, ImageLoop)

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
    case OpKind::kBatchNormalization: {
      // Training mode normalizes with the batch's own statistics.
      StatusOr<int64_t> training = node.GetInt("training_mode", 0);
      StatusOr<int64_t> is_test = node.GetInt("is_test", 1);
      return training.ok() && *training == 0 && is_test.ok() && *is_test != 0;
    }
    default:
      return IsEltwiseFollower(node.kind());
  }
}

class Planner : public FusionPlanner {
 public:
  Planner(const ir::Graph& graph, const CompileOptions& options)
      : graph_(graph), options_(options), stream_(CpuEngine()) {
    plan_ = std::make_shared<Plan>();
    plan_->threads = options.threads;
  }

  // Fed inputs whose values a kernel asked for (see CompilePlan).
  const std::vector<std::string>& wanted_values() const { return wanted_values_; }

  StatusOr<std::shared_ptr<const Plan>> Build(const std::vector<FeedSpec>& feeds) {
    RETURN_IF_ERROR(BindGraphInputs(feeds));
    const std::vector<ir::Node*> nodes = graph_.nodes();
    for (size_t i = 0; i < nodes.size(); ++i) positions_[nodes[i]] = i;
    CountConvolutionDepths(nodes);
    if (options_.fuse) fusion_candidates_ = FindFusionCandidates(nodes, positions_);
    for (const ir::Node* node : nodes) {
      if (absorbed_.count(node)) continue;  // runs inside its anchor's step
      if (options_.image_loop) UpdateImageLoop(*node);
      RETURN_IF_ERROR(CompileNode(*node));
    }
    CloseImageLoop();
    RETURN_IF_ERROR(BindGraphOutputs());
    RETURN_IF_ERROR(SetImageStrides());
    RETURN_IF_ERROR(PlaceArena());
    return std::shared_ptr<const Plan>(plan_);
  }

 private:
  // CompileContext::convolution_depth of every node, in one pass over the
  // nodes in topological order.
  void CountConvolutionDepths(const std::vector<ir::Node*>& nodes) {
    for (const ir::Node* node : nodes) {
      int longest = 0;
      for (const ir::Value* input : node->inputs()) {
        if (input != nullptr && input->producer() != nullptr) {
          longest = std::max(longest, convolution_depths_[input->producer()]);
        }
      }
      const bool convolution =
          node->kind() == ir::OpKind::kConv || node->kind() == ir::OpKind::kConvTranspose;
      convolution_depths_[node] = longest + (convolution ? 1 : 0);
    }
  }

  int AddValue(PlanValue value) {
    plan_->values.push_back(std::move(value));
    return static_cast<int>(plan_->values.size()) - 1;
  }

  int AddConstant(const std::string& name, ir::ConstTensorPtr data) {
    PlanValue v;
    v.name = name;
    v.desc = TensorDesc{data->dtype(), data->shape(), {}};
    v.storage = PlanValue::Storage::kConstant;
    v.constant = std::move(data);
    return AddValue(std::move(v));
  }

  Status BindGraphInputs(const std::vector<FeedSpec>& feeds) {
    std::map<std::string, const FeedSpec*> by_name;
    for (const FeedSpec& f : feeds) {
      if (!by_name.emplace(f.name, &f).second) {
        return InvalidArgument("input '" + f.name + "' is fed twice");
      }
    }
    for (const ir::Value* in : graph_.inputs()) {
      auto it = by_name.find(in->name());
      if (it == by_name.end()) {
        if (in->constant_data()) continue;  // initializer keeps its value
        return InvalidArgument("input '" + in->name() + "' is not fed");
      }
      const FeedSpec& feed = *it->second;
      RETURN_IF_ERROR(CheckFeed(*in, feed));
      if (feed.value) {
        value_ids_[in] = AddConstant(in->name(), feed.value);
        by_name.erase(it);
        continue;
      }
      PlanValue v;
      v.name = in->name();
      v.desc = TensorDesc{feed.dtype, feed.dims, {}};
      v.storage = PlanValue::Storage::kExternal;
      v.input_slot = static_cast<int>(plan_->inputs.size());
      const int id = AddValue(std::move(v));
      plan_->inputs.push_back(PlanInput{in->name(), id, plan_->values[id].desc});
      value_ids_[in] = id;
      by_name.erase(it);
    }
    if (!by_name.empty()) {
      return InvalidArgument("'" + by_name.begin()->first +
                             "' is not an input of the model");
    }
    return Status::Ok();
  }

  static Status CheckFeed(const ir::Value& in, const FeedSpec& feed) {
    const std::string what = "input '" + in.name() + "'";
    if (in.dtype() != DataType::kUndefined && feed.dtype != in.dtype()) {
      return InvalidArgument(what + ": expected element type " +
                             std::string(DataTypeName(in.dtype())) + ", got " +
                             DataTypeName(feed.dtype));
    }
    StatusOr<size_t> bytes = CheckedByteSize(feed.dtype, feed.dims);
    if (!bytes.ok()) return bytes.status().WithContext(what);
    if (in.shape()) {
      const ir::StaticShape& shape = *in.shape();
      bool ok = shape.size() == feed.dims.size();
      for (size_t i = 0; ok && i < shape.size(); ++i) {
        ok = !shape[i].is_fixed() || shape[i].value == feed.dims[i];
      }
      if (!ok) {
        return InvalidArgument(what + ": expected shape " + StaticShapeToString(shape) +
                               ", got " + DimsToString(feed.dims));
      }
    }
    return Status::Ok();
  }

  // Plan value for an IR value, creating constants on first use.
  StatusOr<int> ValueId(const ir::Value* value, const ir::Node& consumer) {
    auto it = value_ids_.find(value);
    if (it != value_ids_.end()) return it->second;
    if (value->constant_data()) {
      const int id = AddConstant(value->name(), value->constant_data());
      value_ids_[value] = id;
      return id;
    }
    return Internal(consumer.Describe() + ": input '" + value->name() +
                    "' has not been computed before it");
  }

  bool IsConstant(int id) const {
    return plan_->values[id].storage == PlanValue::Storage::kConstant;
  }

  // Whether an IR value is a constant of this plan (initializer not fed, or
  // a feed the plan is specialised on).
  bool IsConstantValue(const ir::Value* value) const {
    auto it = value_ids_.find(value);
    return it != value_ids_.end() && IsConstant(it->second);
  }

  // Delivers value `id` in `layout`: a reordered constant now, or a reorder
  // step at run time. Memoised per (value, layout).
  StatusOr<int> Convert(int id, const dnnl::memory::desc& layout, const std::string& label) {
    for (const auto& [key, converted] : conversions_) {
      if (key.first == id && key.second == layout) return converted;
    }
    const PlanValue& src = plan_->values[id];
    PlanValue dst;
    dst.name = src.name + "@reorder";
    dst.desc = src.desc;
    const bool plain = layout == PlainDesc(src.desc.dtype, src.desc.dims);
    dst.desc.layout = plain ? dnnl::memory::desc() : layout;
    int result;
    if (IsConstant(id)) {
      dst.storage = PlanValue::Storage::kConstant;
      // Another plan may hold this constant in this layout already.
      const bool shareable = options_.constant_cache && src.constant && !plain;
      if (shareable) {
        if (std::shared_ptr<void> shared = options_.constant_cache->Find(src.constant, layout)) {
          dst.blob = std::move(shared);
          result = AddValue(std::move(dst));
          conversions_.push_back({{id, layout}, result});
          return result;
        }
      }
      const size_t bytes = dst.desc.byte_size();
      std::shared_ptr<void> buffer = constant_arena_.Allocate(bytes);
      if (!buffer) return InvalidArgument(label + ": cannot allocate a reordered constant");
      ReorderConstantInto(src.constant_data(), src.desc.ToMemoryDesc(), layout, buffer.get(),
                          CpuEngine());
      if (plain) {
        Tensor t = Tensor::Wrap(dst.desc.dtype, dst.desc.dims, buffer.get());
        // Keep the buffer alive through an aliasing shared_ptr.
        dst.constant = ir::ConstTensorPtr(
            std::shared_ptr<Tensor>(new Tensor(t), [buffer](Tensor* p) { delete p; }));
      } else {
        dst.blob = buffer;
        if (shareable) options_.constant_cache->Insert(src.constant, layout, buffer);
      }
      result = AddValue(std::move(dst));
    } else {
      result = AddValue(std::move(dst));
      PlanStep step;
      step.kernel = std::make_unique<ReorderKernel>(src.desc.ToMemoryDesc(), layout);
      step.inputs = {id};
      step.outputs = {result};
      step.label = "Reorder(" + src.name + ") for " + label;
      plan_->steps.push_back(std::move(step));
    }
    conversions_.push_back({{id, layout}, result});
    return result;
  }

  // A value seeing `source`'s bytes as `desc`: an alias of the value that
  // owns them (so lifetimes extend, see PlaceArena), or, for a constant, a
  // constant sharing its buffer -- delivered plain now when `desc` is not,
  // so that kernels can read it at compile time.
  StatusOr<int> AddView(const std::string& name, TensorDesc desc, int source,
                        const std::string& label) {
    if (source < 0) return Internal(label + ": view '" + name + "' of an omitted input");
    const PlanValue& src = plan_->values[source];
    if (desc.dtype != src.desc.dtype) {
      return Internal(label + ": view '" + name + "' changes the element type");
    }
    if (!desc.is_plain() && desc.layout == PlainDesc(desc.dtype, desc.dims)) desc.layout = {};
    if (desc.byte_size() > src.desc.byte_size()) {
      return Internal(label + ": view '" + name + "' needs " + std::to_string(desc.byte_size()) +
                      " bytes, its input '" + src.name + "' has " +
                      std::to_string(src.desc.byte_size()));
    }
    const int owner = src.storage == PlanValue::Storage::kAlias ? src.alias_of : source;
    const PlanValue& base = plan_->values[owner];
    PlanValue view;
    view.name = name;
    view.desc = desc;
    if (base.storage != PlanValue::Storage::kConstant) {
      view.storage = PlanValue::Storage::kAlias;
      view.alias_of = owner;
      return AddValue(std::move(view));
    }
    // Keep the base's buffer alive through aliasing shared_ptrs.
    std::shared_ptr<void> keep =
        base.constant ? std::shared_ptr<void>(std::const_pointer_cast<Tensor>(base.constant),
                                              const_cast<void*>(base.constant->data()))
                      : base.blob;
    view.storage = PlanValue::Storage::kConstant;
    if (desc.is_plain()) {
      view.constant = ir::ConstTensorPtr(new Tensor(Tensor::Wrap(desc.dtype, desc.dims, keep.get())),
                                         [keep](const Tensor* p) { delete p; });
      return AddValue(std::move(view));
    }
    view.blob = keep;
    const int id = AddValue(std::move(view));
    return Convert(id, PlainDesc(desc.dtype, desc.dims), label);
  }

  Status CompileNode(const ir::Node& node) {
    const std::string label = node.Describe();
    RETURN_IF_ERROR(CheckKernelExists(node));
    KernelFactory factory = KernelRegistry::Global().Find(node.kind());
    std::vector<int> input_ids;
    std::vector<const TensorDesc*> descs;
    std::vector<const Tensor*> constants;
    std::vector<bool> fed;
    bool all_constant = true;
    for (const ir::Value* in : node.inputs()) {
      fed.push_back(in != nullptr && in->is_graph_input() && !IsConstantValue(in));
      if (in == nullptr) {
        input_ids.push_back(-1);
        descs.push_back(nullptr);
        constants.push_back(nullptr);
        continue;
      }
      ASSIGN_OR_RETURN(int id, ValueId(in, node));
      ASSIGN_OR_RETURN(id, ForThisStep(id, label));
      input_ids.push_back(id);
      descs.push_back(&plan_->values[id].desc);
      const bool constant = IsConstant(id) && plan_->values[id].constant != nullptr;
      constants.push_back(constant ? plan_->values[id].constant.get() : nullptr);
      all_constant = all_constant && constant;
    }
    std::unique_ptr<Kernel> kernel = factory();
    NodeCompileContext ctx(node, options_.threads, convolution_depths_[&node], descs, constants,
                           fed);
    const ResolvedChain fusion = all_constant ? ResolvedChain() : ResolveFusion(node);
    if (!fusion.chain.ops.empty()) ctx.OfferPostOps(&fusion.chain);
    Status compiled = kernel->Compile(ctx);
    if (!compiled.ok()) {
      for (int i : ctx.asked_for_fed_value()) wanted_values_.push_back(node.input(i)->name());
      return compiled;
    }

    // Outputs: check each was declared and is sane.
    std::vector<int> output_ids(node.num_outputs(), -1);
    const int sum_id = FusedSumTarget(fusion, ctx.accepted_post_ops());
    bool needs_execution = false;
    bool has_views = false;
    for (int i = 0; i < node.num_outputs(); ++i) {
      const ir::Value* out = node.output(i);
      if (out == nullptr) continue;
      if (!ctx.output_set(i)) {
        return Internal(label + ": kernel did not declare output " + std::to_string(i));
      }
      const TensorDesc& desc = ctx.output(i);
      StatusOr<size_t> bytes = CheckedByteSize(desc.dtype, desc.dims);
      if (!bytes.ok()) return bytes.status().WithContext(label + ": output '" + out->name() + "'");
      if (desc.byte_size() > options_.max_tensor_bytes) {
        return InvalidArgument(label + ": output '" + out->name() + "' of shape " +
                               DimsToString(desc.dims) + " would need " +
                               std::to_string(desc.byte_size()) +
                               " bytes, more than the limit of " +
                               std::to_string(options_.max_tensor_bytes));
      }
      // With fused followers output 0 is the last one's (which a depthwise
      // post-op gives other dims): MapFusedFollowers checks it.
      if (i != 0 || ctx.accepted_post_ops() == 0) {
        RETURN_IF_ERROR(CheckAgainstStaticShape(*out, desc, label));
      }
      if (ctx.constant_output(i)) {
        output_ids[i] = AddConstant(out->name(), ctx.constant_output(i));
      } else if (ctx.view_input(i) >= 0) {
        has_views = true;  // placed once its input is delivered
        continue;
      } else if (i == 0 && sum_id >= 0) {
        // A fused residual sum accumulates into its operand's buffer.
        if (plan_->values[sum_id].desc.ToMemoryDesc() != desc.ToMemoryDesc()) {
          return Internal(label + ": fused sum output differs from its operand '" +
                          plan_->values[sum_id].name + "'");
        }
        output_ids[i] = sum_id;
        needs_execution = true;
      } else {
        PlanValue v;
        v.name = out->name();
        v.desc = desc;
        output_ids[i] = AddValue(std::move(v));
        needs_execution = true;
      }
      value_ids_[out] = output_ids[i];
    }
    if (!needs_execution && !has_views) return Status::Ok();

    // Deliver each input in the layout the kernel wants (when nothing runs,
    // only the inputs that outputs view).
    for (size_t i = 0; i < input_ids.size(); ++i) {
      const int index = static_cast<int>(i);
      if (input_ids[i] >= 0 && (needs_execution || ctx.is_viewed(index)) &&
          ctx.NeedsConversion(index)) {
        ASSIGN_OR_RETURN(input_ids[i], Convert(input_ids[i], ctx.WantedLayout(index), label));
      }
    }
    for (int i = 0; i < node.num_outputs(); ++i) {
      if (node.output(i) == nullptr || ctx.view_input(i) < 0) continue;
      ASSIGN_OR_RETURN(const int view, AddView(node.output(i)->name(), ctx.output(i),
                                               input_ids[ctx.view_input(i)], label));
      value_ids_[node.output(i)] = view;  // the step (if any) does not write it
    }
    if (!needs_execution) return Status::Ok();

    if (all_constant) return FoldNow(node, std::move(kernel), input_ids, output_ids, ctx.scratchpad());

    std::string step_label = label;
    RETURN_IF_ERROR(MapFusedFollowers(fusion, ctx.accepted_post_ops(), output_ids[0], &input_ids,
                                      &step_label));
    plan_->scratchpad_bytes = std::max(plan_->scratchpad_bytes, ctx.scratchpad());
    PlanStep step;
    step.kernel = std::move(kernel);
    step.inputs = std::move(input_ids);
    step.outputs = std::move(output_ids);
    step.label = std::move(step_label);
    plan_->steps.push_back(std::move(step));
    return Status::Ok();
  }

  // ---- fusion (fusion.h): the planner's side

  // The post-ops `node` may absorb in this plan (none when it anchors none).
  ResolvedChain ResolveFusion(const ir::Node& node) {
    auto it = fusion_candidates_.find(&node);
    if (it == fusion_candidates_.end()) return ResolvedChain();
    ResolvedChain chain = ResolvePostOps(node, it->second, *this);
    if (loop_state_ == LoopState::kOpen) {
      // Inside the image loop an operand must be one image's or the same
      // for every image.
      for (int id : chain.operand_ids) {
        if (id >= 0 && IsConstant(id) && !SameForEveryImage(plan_->values[id].desc.dims)) {
          return ResolvedChain();
        }
      }
    }
    return chain;
  }

  // The value a fused `sum` among the first `fused` post-ops accumulates
  // into (the step's output), or -1.
  static int FusedSumTarget(const ResolvedChain& fusion, size_t fused) {
    for (size_t i = 0; i < fused; ++i) {
      if (fusion.chain.ops[i].kind == PostOp::Kind::kSum) return fusion.operand_ids[i];
    }
    return -1;
  }

  // The first `fused` followers run in the anchor's step: their outputs are
  // its output `output_id`, their binary operands extra step inputs.
  Status MapFusedFollowers(const ResolvedChain& fusion, size_t fused, int output_id,
                           std::vector<int>* step_inputs, std::string* label) {
    for (size_t i = 0; i < fused; ++i) {
      const ir::Node& follower = *fusion.followers[i];
      const ir::Value* out = follower.output(0);
      if (i + 1 == fused) {  // the values before are internal to the step
        RETURN_IF_ERROR(CheckAgainstStaticShape(*out, plan_->values[output_id].desc,
                                                follower.Describe()));
      }
      const PostOp& op = fusion.chain.ops[i];
      if (op.kind == PostOp::Kind::kBinary) {
        if (op.input != static_cast<int>(step_inputs->size())) {
          return Internal(*label + ": fused operand of " + follower.Describe() + " misplaced");
        }
        step_inputs->push_back(fusion.operand_ids[i]);
      }
      if (op.kind == PostOp::Kind::kSum) {
        // Its old content is gone: reorders made from it are stale.
        std::erase_if(conversions_, [&](const auto& c) { return c.first.first == output_id; });
      }
      value_ids_[out] = output_id;
      absorbed_.insert(&follower);
      *label += " + " + follower.Describe();
    }
    return Status::Ok();
  }

  // FusionPlanner
  int ValueId(const ir::Value* value) override {
    if (value == nullptr) return -1;
    auto it = value_ids_.find(value);
    if (it != value_ids_.end()) {
      StatusOr<int> id = ForThisStep(it->second, value->name());
      return id.ok() ? *id : -1;
    }
    if (!value->constant_data()) return -1;
    return value_ids_[value] = AddConstant(value->name(), value->constant_data());
  }
  const TensorDesc& Desc(int id) const override { return plan_->values[id].desc; }
  const Tensor* ConstantData(const ir::Value* value) const override {
    auto it = value_ids_.find(value);
    if (it == value_ids_.end()) return value->constant_data().get();
    return IsConstant(it->second) ? plan_->values[it->second].constant.get() : nullptr;
  }
  bool CanOverwrite(const ir::Value* value, const ir::Node& anchor,
                    const ir::Node& follower) const override {
    auto it = value_ids_.find(value);
    if (it == value_ids_.end() || value->is_graph_input()) return false;
    const int id = it->second;
    if (plan_->values[id].storage != PlanValue::Storage::kArena) return false;
    // Outside the loop a loop value is seen through its whole-batch view.
    if (loop_state_ == LoopState::kClosed && IsLoopValue(id)) return false;
    const size_t anchor_pos = positions_.at(&anchor);
    // Every IR value in this buffer -- the value itself and every view of it
    // -- must be dead once the anchor's step runs.
    for (const auto& [other, other_id] : value_ids_) {
      const PlanValue& other_value = plan_->values[other_id];
      const bool views_it =
          other_value.storage == PlanValue::Storage::kAlias && other_value.alias_of == id;
      if (other_id != id && !views_it) continue;
      if (other->is_graph_output()) return false;
      for (const ir::Use& use : other->uses()) {
        if (other == value && use.node == &follower) continue;
        auto pos = positions_.find(use.node);
        if (pos == positions_.end() || pos->second >= anchor_pos) return false;
      }
    }
    return true;
  }

  // Runs a node whose inputs are all constants now; its outputs become
  // constants of the plan.
  Status FoldNow(const ir::Node& node, std::unique_ptr<Kernel> kernel,
                 const std::vector<int>& input_ids, const std::vector<int>& output_ids,
                 size_t scratchpad_bytes) {
    std::vector<const void*> inputs;
    for (int id : input_ids) inputs.push_back(id >= 0 ? plan_->values[id].constant_data() : nullptr);
    std::vector<std::shared_ptr<void>> buffers(output_ids.size());
    std::vector<void*> outputs(output_ids.size(), nullptr);
    for (size_t i = 0; i < output_ids.size(); ++i) {
      if (output_ids[i] < 0 || IsConstant(output_ids[i])) continue;
      buffers[i] = AllocateAligned(plan_->values[output_ids[i]].desc.byte_size());
      if (!buffers[i]) return InvalidArgument(node.Describe() + ": out of memory folding it");
      outputs[i] = buffers[i].get();
    }
    std::shared_ptr<void> scratch = AllocateAligned(scratchpad_bytes);
    std::unique_ptr<KernelState> state = kernel->CreateState(CpuEngine());
    PointerExecContext ctx(inputs.data(), inputs.size(), outputs.data(), outputs.size(),
                           scratch.get(), &stream_, state.get());
    RETURN_IF_ERROR(kernel->Execute(ctx));
    stream_.wait();
    for (size_t i = 0; i < output_ids.size(); ++i) {
      if (!buffers[i]) continue;
      PlanValue& v = plan_->values[output_ids[i]];
      v.storage = PlanValue::Storage::kConstant;
      if (v.desc.is_plain()) {
        std::shared_ptr<void> owner = buffers[i];
        v.constant = ir::ConstTensorPtr(
            new Tensor(Tensor::Wrap(v.desc.dtype, v.desc.dims, owner.get())),
            [owner](const Tensor* p) { delete p; });
      } else {
        v.blob = buffers[i];
      }
    }
    return Status::Ok();
  }

  // `desc` is what the plan computes for `out`: one image of it inside the
  // image loop.
  Status CheckAgainstStaticShape(const ir::Value& out, const TensorDesc& desc,
                                 const std::string& label) const {
    if (out.dtype() != DataType::kUndefined && out.dtype() != desc.dtype) {
      return Internal(label + ": computes output '" + out.name() + "' as " +
                      DataTypeName(desc.dtype) + " but the model says " +
                      DataTypeName(out.dtype()));
    }
    std::vector<int64_t> dims = desc.dims;
    if (loop_state_ == LoopState::kOpen && !dims.empty()) dims[0] *= loop_images_;
    if (!out.shape()) return Status::Ok();
    const ir::StaticShape& shape = *out.shape();
    bool ok = shape.size() == dims.size();
    for (size_t i = 0; ok && i < shape.size(); ++i) {
      ok = !shape[i].is_fixed() || shape[i].value == dims[i];
    }
    if (!ok) {
      return InvalidModel(label + ": output '" + out.name() + "' computes to shape " +
                          DimsToString(dims) + " but the model says " +
                          StaticShapeToString(shape));
    }
    return Status::Ok();
  }

  Status BindGraphOutputs() {
    for (const ir::Value* out : graph_.outputs()) {
      auto it = value_ids_.find(out);
      int id;
      if (it != value_ids_.end()) {
        ASSIGN_OR_RETURN(id, ForThisStep(it->second, "graph output '" + out->name() + "'"));
      } else if (out->constant_data()) {
        id = AddConstant(out->name(), out->constant_data());
      } else {
        return InvalidModel("graph output '" + out->name() + "' is never computed");
      }
      const TensorDesc& desc = plan_->values[id].desc;
      if (!desc.is_plain()) {
        ASSIGN_OR_RETURN(id, Convert(id, PlainDesc(desc.dtype, desc.dims),
                                     "graph output '" + out->name() + "'"));
      }
      plan_->outputs.push_back(id);
      plan_->output_names.push_back(out->name());
    }
    return Status::Ok();
  }

  // ---- the image loop (plan.h, ImageLoop)
  //
  // It opens at the first convolution reading a batched graph input and
  // closes at the first node that does not compute per image from one
  // image's values (ComputesPerImage, kMinImageLoopPixels). Inside, kernels
  // compile for one image: a batched graph input is read through a
  // one-image view, and a value the loop computes ("loop value") has a
  // one-image desc. A loop value read after the loop (or a graph output) is
  // "exported": it holds every image, one after the other, and later steps
  // see it through a whole-batch view; any other loop value holds one image,
  // reused by each image in turn.

  enum class LoopState { kNotStarted, kOpen, kClosed };

  void UpdateImageLoop(const ir::Node& node) {
    if (loop_state_ == LoopState::kClosed) return;
    if (loop_state_ == LoopState::kOpen) {
      // A node of constants is folded now and runs no step.
      if (!ReadsOnlyConstants(node) && !RunsInImageLoop(node)) CloseImageLoop();
      return;
    }
    if (node.kind() != ir::OpKind::kConv || node.num_inputs() < 1 || node.input(0) == nullptr) {
      return;
    }
    auto it = value_ids_.find(node.input(0));
    if (it == value_ids_.end()) return;
    const PlanValue& x = plan_->values[it->second];
    if (x.storage != PlanValue::Storage::kExternal || x.desc.dims.size() != 4 ||
        x.desc.dims[0] < 2 || x.desc.dtype != DataType::kFloat) {
      return;
    }
    loop_images_ = x.desc.dims[0];
    loop_first_value_ = plan_->values.size();
    plan_->image_loop.begin = plan_->steps.size();
    loop_state_ = LoopState::kOpen;
    if (!RunsInImageLoop(node)) CloseImageLoop();
  }

  void CloseImageLoop() {
    if (loop_state_ != LoopState::kOpen) return;
    loop_state_ = LoopState::kClosed;
    loop_end_value_ = plan_->values.size();
    plan_->image_loop.end = plan_->steps.size();
    plan_->image_loop.images = loop_images_;
  }

  // Whether `node` can run in the open loop: it computes per image, its
  // image input is big enough, and it reads loop values, the batched graph
  // input, or constants the same for every image.
  bool RunsInImageLoop(const ir::Node& node) const {
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
                                               : plan_->values[it->second].desc.dims;
        if (!conv && !SameForEveryImage(dims)) return false;
        continue;
      }
      if (it == value_ids_.end()) return false;
      const int id = it->second;
      const TensorDesc& desc = plan_->values[id].desc;
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

  bool ReadsOnlyConstants(const ir::Node& node) const {
    for (const ir::Value* in : node.inputs()) {
      if (in == nullptr) continue;
      auto it = value_ids_.find(in);
      if (it == value_ids_.end() ? !in->constant_data() : !IsConstant(it->second)) return false;
    }
    return true;
  }

  // A constant operand of shape `dims` broadcasts the same values to every
  // image of a rank-4 tensor.
  static bool SameForEveryImage(const std::vector<int64_t>& dims) {
    return dims.size() < 4 || (dims.size() == 4 && dims[0] == 1);
  }

  // A value computed inside the loop (one image in its desc).
  bool IsLoopValue(int id) const {
    if (loop_state_ == LoopState::kNotStarted || id < static_cast<int>(loop_first_value_)) {
      return false;
    }
    if (loop_state_ == LoopState::kClosed && id >= static_cast<int>(loop_end_value_)) return false;
    return plan_->values[id].storage == PlanValue::Storage::kArena;
  }

  // A graph input holding the loop's images.
  bool IsBatchedInput(int id) const {
    const PlanValue& v = plan_->values[id];
    return v.storage == PlanValue::Storage::kExternal && !v.desc.dims.empty() &&
           v.desc.dims[0] == loop_images_;
  }

  // The value a step compiled now reads for value `id`: inside the loop a
  // batched input's one-image view, after it a loop value's whole-batch
  // view, else `id`.
  StatusOr<int> ForThisStep(int id, const std::string& label) {
    if (loop_state_ == LoopState::kOpen && IsBatchedInput(id)) {
      auto [it, added] = one_image_views_.try_emplace(id, -1);
      if (added) {
        PlanValue view;
        view.name = plan_->values[id].name;
        view.desc = plan_->values[id].desc;
        view.desc.dims[0] = 1;
        view.storage = PlanValue::Storage::kAlias;
        view.alias_of = id;
        it->second = AddValue(std::move(view));
      }
      return it->second;
    }
    if (loop_state_ == LoopState::kClosed && IsLoopValue(id)) {
      auto [it, added] = whole_batch_views_.try_emplace(id, -1);
      if (added) {
        const PlanValue& one = plan_->values[id];
        PlanValue view;
        view.name = one.name;
        view.desc = one.desc;
        view.desc.dims[0] = loop_images_;
        if (!one.desc.is_plain()) {
          view.desc.layout = AllImagesDesc(one.desc.layout, loop_images_);
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
  StatusOr<size_t> ImageStride(int id, const std::string& label) const {
    if (id < 0) return size_t{0};
    const PlanValue& v = plan_->values[id];
    // A loop step sees a batched input only through its one-image view.
    if (v.storage == PlanValue::Storage::kAlias && IsBatchedInput(v.alias_of)) {
      return v.desc.byte_size();
    }
    if (IsLoopValue(id)) return whole_batch_views_.count(id) ? v.desc.byte_size() : size_t{0};
    if (IsConstant(id)) return size_t{0};
    return Internal(label + ": runs image by image but reads the whole batch of '" + v.name + "'");
  }

  Status SetImageStrides() {
    const ImageLoop& loop = plan_->image_loop;
    for (size_t s = loop.begin; s < loop.end; ++s) {
      PlanStep& step = plan_->steps[s];
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

  // Arena needs of a loop value: every one lives from the loop's first step
  // (image 1 runs the loop's first steps after image 0 ran its last ones); an
  // exported one holds every image, any other one image until the loop ends.
  void ExtendLoopLifetimes(std::vector<int>& first, std::vector<int>& last,
                           std::vector<size_t>& images) const {
    const ImageLoop& loop = plan_->image_loop;
    if (!loop.active()) return;
    for (size_t id = loop_first_value_; id < loop_end_value_; ++id) {
      if (!IsLoopValue(static_cast<int>(id)) || first[id] < 0) continue;
      first[id] = static_cast<int>(loop.begin);
      if (whole_batch_views_.count(static_cast<int>(id))) {
        images[id] = static_cast<size_t>(loop.images);
      } else {
        last[id] = std::max(last[id], static_cast<int>(loop.end) - 1);
      }
    }
  }

  // Greedy-by-size placement of arena values by lifetime (first step that
  // writes them to last step that reads them or a view of them).
  Status PlaceArena() {
    const int num_steps = static_cast<int>(plan_->steps.size());
    std::vector<int> first(plan_->values.size(), -1), last(plan_->values.size(), -1);
    for (int s = 0; s < num_steps; ++s) {
      for (int id : plan_->steps[s].outputs) {
        if (id >= 0 && first[id] < 0) first[id] = s;
        if (id >= 0) last[id] = std::max(last[id], s);
      }
      for (int id : plan_->steps[s].inputs) {
        if (id >= 0) last[id] = std::max(last[id], s);
      }
    }
    for (int id : plan_->outputs) last[id] = num_steps;
    for (size_t id = 0; id < plan_->values.size(); ++id) {
      const PlanValue& v = plan_->values[id];
      if (v.storage == PlanValue::Storage::kAlias) {
        last[v.alias_of] = std::max(last[v.alias_of], last[id]);
      }
    }
    std::vector<size_t> images(plan_->values.size(), 1);
    ExtendLoopLifetimes(first, last, images);
    struct Item {
      int id;
      size_t bytes;
    };
    std::vector<Item> items;
    for (size_t id = 0; id < plan_->values.size(); ++id) {
      const PlanValue& v = plan_->values[id];
      if (v.storage != PlanValue::Storage::kArena) continue;
      if (first[id] < 0) {
        return Internal("value '" + v.name + "' is never written");
      }
      const size_t bytes = std::max<size_t>(v.desc.byte_size() * images[id], 1);
      items.push_back({static_cast<int>(id), (bytes + 63) / 64 * 64});
    }
    std::stable_sort(items.begin(), items.end(),
                     [](const Item& a, const Item& b) { return a.bytes > b.bytes; });
    std::vector<Item> placed;
    size_t total = 0;
    for (const Item& item : items) {
      // Intervals of placed, lifetime-overlapping values, by offset.
      std::vector<std::pair<size_t, size_t>> busy;
      for (const Item& p : placed) {
        if (first[p.id] <= last[item.id] && first[item.id] <= last[p.id]) {
          busy.push_back({plan_->values[p.id].arena_offset,
                          plan_->values[p.id].arena_offset + p.bytes});
        }
      }
      std::sort(busy.begin(), busy.end());
      size_t offset = 0;
      for (const auto& [begin, end] : busy) {
        if (offset + item.bytes <= begin) break;
        offset = std::max(offset, end);
      }
      plan_->values[item.id].arena_offset = offset;
      total = std::max(total, offset + item.bytes);
      placed.push_back(item);
    }
    plan_->arena_bytes = total;
    return Status::Ok();
  }

  const ir::Graph& graph_;
  CompileOptions options_;
  dnnl::stream stream_;
  std::shared_ptr<Plan> plan_;
  std::unordered_map<const ir::Value*, int> value_ids_;
  std::vector<std::pair<std::pair<int, dnnl::memory::desc>, int>> conversions_;
  ConstantArena constant_arena_;
  std::vector<std::string> wanted_values_;
  NodePositions positions_;  // in graph_.nodes()
  std::unordered_map<const ir::Node*, int> convolution_depths_;
  FusionCandidates fusion_candidates_;
  std::unordered_set<const ir::Node*> absorbed_;  // followers run by their anchor
  // The image loop.
  LoopState loop_state_ = LoopState::kNotStarted;
  int64_t loop_images_ = 1;
  size_t loop_first_value_ = 0;  // values [first, end) were created inside it
  size_t loop_end_value_ = 0;
  std::unordered_map<int, int> one_image_views_;    // batched input -> its one-image view (memo)
  std::unordered_map<int, int> whole_batch_views_;  // exported loop value -> its batch view
};

}  // namespace

std::shared_ptr<void> ReorderedConstantCache::Find(const ir::ConstTensorPtr& source,
                                                   const dnnl::memory::desc& layout) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Entry& entry : entries_) {
    // A live weak_ptr to the same object: `source` itself, not a new tensor
    // at a freed one's address.
    if (entry.source.lock() == source && entry.layout == layout) {
      if (std::shared_ptr<void> data = entry.data.lock()) return data;
    }
  }
  return nullptr;
}

void ReorderedConstantCache::Insert(const ir::ConstTensorPtr& source,
                                    const dnnl::memory::desc& layout,
                                    const std::shared_ptr<void>& data) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::erase_if(entries_, [](const Entry& e) { return e.source.expired() || e.data.expired(); });
  entries_.push_back({source, layout, data});
}

Status CheckKernelExists(const ir::Node& node) {
  if (node.kind() == ir::OpKind::kUnknown || KernelRegistry::Global().Find(node.kind()) == nullptr) {
    return Unsupported(node.Describe() + ": op '" + node.op_type() + "' (domain '" +
                       (node.domain().empty() ? std::string("ai.onnx") : node.domain()) +
                       "', opset " + std::to_string(node.opset()) +
                       ") is not supported by bnfold");
  }
  return Status::Ok();
}

StatusOr<std::shared_ptr<const Plan>> CompilePlan(const ir::Graph& graph,
                                                  const std::vector<FeedSpec>& feeds,
                                                  const CompileOptions& options,
                                                  std::vector<std::string>* wanted_values) {
  // oneDNN sizes its kernels' work split by the thread count at creation.
  omp_set_num_threads(std::max(1, options.threads));
  try {
    Planner planner(graph, options);
    StatusOr<std::shared_ptr<const Plan>> plan = planner.Build(feeds);
    if (!plan.ok() && wanted_values) *wanted_values = planner.wanted_values();
    return plan;
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN error while compiling: ") + e.what());
  }
}

// ---------------------------------------------------------------- ExecState

ExecState::ExecState(std::shared_ptr<const Plan> plan)
    : plan_(std::move(plan)), stream_(CpuEngine()) {
  arena_ = AllocateAligned(plan_->arena_bytes);
  scratchpad_ = AllocateAligned(plan_->scratchpad_bytes);
  std::vector<void*> pointers(plan_->values.size(), nullptr);
  for (size_t i = 0; i < plan_->values.size(); ++i) {
    const PlanValue& v = plan_->values[i];
    if (v.storage == PlanValue::Storage::kArena) {
      pointers[i] = static_cast<char*>(arena_.get()) + v.arena_offset;
    } else if (v.storage == PlanValue::Storage::kConstant) {
      pointers[i] = const_cast<void*>(v.constant_data());
    } else if (v.storage == PlanValue::Storage::kAlias) {
      pointers[i] = pointers[v.alias_of];  // placed before its views
    }
  }
  // The value whose storage `id` uses: itself, or the one it views.
  auto owner = [this](int id) -> const PlanValue& {
    const PlanValue& v = plan_->values[id];
    return v.storage == PlanValue::Storage::kAlias ? plan_->values[v.alias_of] : v;
  };
  // Each step's pointer arrays are fixed now; only fed inputs are patched
  // per run.
  for (size_t s = 0; s < plan_->steps.size(); ++s) {
    const PlanStep& step = plan_->steps[s];
    StepPointers sp;
    for (int id : step.inputs) {
      if (id >= 0 && owner(id).storage == PlanValue::Storage::kExternal) {
        input_patches_.push_back({s, sp.inputs.size(), owner(id).input_slot});
      }
      sp.inputs.push_back(id >= 0 ? pointers[id] : nullptr);
    }
    for (int id : step.outputs) sp.outputs.push_back(id >= 0 ? pointers[id] : nullptr);
    step_pointers_.push_back(std::move(sp));
    states_.push_back(step.kernel->CreateState(CpuEngine()));
  }
  for (int id : plan_->outputs) {
    const PlanValue& v = owner(id);
    output_pointers_.push_back(pointers[id]);
    output_slots_.push_back(v.storage == PlanValue::Storage::kExternal ? v.input_slot : -1);
  }
}

ExecState::~ExecState() = default;

Status ExecState::Run(const std::vector<const void*>& inputs) {
  if (inputs.size() != plan_->inputs.size()) {
    return Internal("ExecState::Run: wrong number of inputs");
  }
  for (const InputPatch& patch : input_patches_) {
    step_pointers_[patch.step].inputs[patch.index] = inputs[patch.slot];
  }
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    if (output_slots_[i] >= 0) output_pointers_[i] = inputs[output_slots_[i]];
  }
  // The steps before the image loop, the loop image by image, the steps
  // after it (without a loop, all of them on the whole batch).
  const ImageLoop& loop = plan_->image_loop;
  const size_t steps = plan_->steps.size();
  const size_t begin = loop.active() ? loop.begin : steps, end = loop.active() ? loop.end : steps;
  const auto run_step = profiling_ ? &ExecState::RunStepProfiled : &ExecState::RunStep;
  if (profiling_) step_ms_.assign(steps, 0.0);
  for (size_t s = 0; s < begin; ++s) RETURN_IF_ERROR((this->*run_step)(s, 0));
  for (int64_t image = 0; image < loop.images; ++image) {
    for (size_t s = begin; s < end; ++s) RETURN_IF_ERROR((this->*run_step)(s, image));
  }
  for (size_t s = end; s < steps; ++s) RETURN_IF_ERROR((this->*run_step)(s, 0));
  stream_.wait();
  named_ = profiling_;
  return Status::Ok();
}

void ExecState::EnableProfiling() {
  profiling_ = true;
  step_implementations_.assign(plan_->steps.size(), "");
}

Status ExecState::RunStepProfiled(size_t s, int64_t image) {
  const bool name_it = !named_ && image == 0;
  std::vector<std::string> primitives;
  if (name_it) SetPrimitiveNameSink(&primitives);
  const auto start = std::chrono::steady_clock::now();
  Status status = RunStep(s, image);
  step_ms_[s] +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!name_it) return status;
  SetPrimitiveNameSink(nullptr);
  std::string& name = step_implementations_[s];
  name.clear();
  for (const std::string& p : primitives) {
    if (name.find(p) == std::string::npos) name += (name.empty() ? "" : ", ") + p;
  }
  if (name.empty()) {
    const char* own = plan_->steps[s].kernel->Implementation();
    name = own ? own : "bnfold";
  }
  return status;
}

// Runs step `s`; inside the image loop on image `image` of its inputs and
// outputs.
Status ExecState::RunStep(size_t s, int64_t image) {
  const PlanStep& step = plan_->steps[s];
  const StepPointers& sp = step_pointers_[s];
  PointerExecContext whole(sp.inputs.data(), sp.inputs.size(), sp.outputs.data(),
                           sp.outputs.size(), scratchpad_.get(), &stream_, states_[s].get());
  ImageContext one(whole, image, step.input_image_strides, step.output_image_strides,
                   states_[s].get());
  try {
    Status status = step.kernel->Execute(image > 0 ? static_cast<ExecContext&>(one) : whole);
    if (!status.ok()) return status.WithContext(step.label);
  } catch (const dnnl::error& e) {
    return Internal(step.label + ": oneDNN error: " + e.what());
  }
  return Status::Ok();
}

const void* ExecState::output(size_t i) const { return output_pointers_[i]; }

}  // namespace bnfold::onednn
