#include "runtime/backend/onednn/planner.h"

#include <omp.h>

#include <algorithm>

#include "runtime/backend/onednn/compile_context.h"
#include "runtime/backend/onednn/executor.h"
#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/reorder.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/work_counter.h"

namespace bnfold::onednn {

namespace {

// A random generator (op_kind.h's BNFOLD_OPS_RANDOM) draws new values on
// every run, so it is never folded into a constant of the plan, even with
// only constant inputs (or none).
bool DrawsRandomValues(ir::OpKind kind) {
  switch (kind) {
#define BNFOLD_RANDOM_CASE(name) case ir::OpKind::k##name:
    BNFOLD_OPS_RANDOM(BNFOLD_RANDOM_CASE)
#undef BNFOLD_RANDOM_CASE
    return true;
    default: return false;
  }
}

}  // namespace

Planner::Planner(const ir::Graph& graph, const CompileOptions& options)
    : graph_(graph),
      options_(options),
      budget_(options.max_memory_bytes),
      stream_(CpuEngine()),
      plan_(std::make_shared<Plan>()),
      loop_(*plan_, value_ids_) {
  plan_->threads = options.threads;
}

StatusOr<std::shared_ptr<const Plan>> Planner::Build(const std::vector<FeedSpec>& feeds,
                                                     const PlanSegment* segment) {
  RETURN_IF_ERROR(BindGraphInputs(feeds));
  if (segment) RETURN_IF_ERROR(BindSegmentInputs(*segment));
  std::vector<ir::Node*> nodes = graph_.nodes();
  const size_t offset = segment ? std::min(segment->begin, nodes.size()) : 0;
  if (segment) {
    nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(
                                    std::clamp(segment->end, offset, nodes.size())),
                nodes.end());
    nodes.erase(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  for (size_t i = 0; i < nodes.size(); ++i) positions_[nodes[i]] = i;
  CountConvolutionDepths(nodes);
  if (options_.fuse) fusion_candidates_ = FindFusionCandidates(nodes, positions_);
  for (const ir::Node* node : nodes) {
    if (absorbed_.count(node)) continue;  // runs inside its anchor's step
    if (options_.image_loop) loop_.Update(*node);
    bool asked = false;
    Status compiled = CompileNode(*node, &asked);
    if (!compiled.ok()) {
      if (asked) split_at_ = static_cast<int64_t>(offset + positions_[node]);
      return compiled;
    }
  }
  loop_.Close();
  RETURN_IF_ERROR(BindGraphOutputs(segment));
  RETURN_IF_ERROR(loop_.SetImageStrides());
  ValueLifetimes lifetimes = StepLifetimes(*plan_);
  loop_.ExtendLifetimes(lifetimes);
  RETURN_IF_ERROR(PlaceArena(*plan_, lifetimes));
  RETURN_IF_ERROR(budget_.CheckPlan(*plan_));
  return std::shared_ptr<const Plan>(plan_);
}

// CompileContext::convolution_depth of every node, in one pass over the
// nodes in topological order.
void Planner::CountConvolutionDepths(const std::vector<ir::Node*>& nodes) {
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

int Planner::AddValue(PlanValue value) {
  plan_->values.push_back(std::move(value));
  return static_cast<int>(plan_->values.size()) - 1;
}

int Planner::AddConstant(const std::string& name, ir::ConstTensorPtr data) {
  PlanValue v;
  v.name = name;
  v.desc = TensorDesc{data->dtype(), data->shape(), {}};
  v.storage = PlanValue::Storage::kConstant;
  budget_.CountConstant("constant '" + name + "'", data->byte_size());
  v.constant = std::move(data);
  return AddValue(std::move(v));
}

Status Planner::BindGraphInputs(const std::vector<FeedSpec>& feeds) {
  ASSIGN_OR_RETURN(const std::vector<int> feed_of, CheckFeeds(graph_, feeds));
  const std::vector<ir::Value*>& inputs = graph_.inputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (feed_of[i] < 0) continue;  // an initializer keeps its value
    const ir::Value* in = inputs[i];
    BindFed(in, feeds[feed_of[i]]);
  }
  return Status::Ok();
}

// A value fed to the plan: a constant when its value is given, else the
// next plan input.
void Planner::BindFed(const ir::Value* value, const FeedSpec& feed) {
  if (feed.value) {
    value_ids_[value] = AddConstant(value->name(), feed.value);
    return;
  }
  PlanValue v;
  v.name = value->name();
  v.desc = TensorDesc{feed.dtype, feed.dims, {}};
  v.storage = PlanValue::Storage::kExternal;
  v.input_slot = static_cast<int>(plan_->inputs.size());
  const int id = AddValue(std::move(v));
  plan_->inputs.push_back(PlanInput{value->name(), id, plan_->values[id].desc});
  value_ids_[value] = id;
}

// Plan value for an IR value, creating constants on first use.
StatusOr<int> Planner::ValueId(const ir::Value* value, const ir::Node& consumer) {
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

bool Planner::IsConstant(int id) const {
  return plan_->values[id].storage == PlanValue::Storage::kConstant;
}

// Whether an IR value is a constant of this plan (initializer not fed, or
// a feed the plan is specialised on).
bool Planner::IsConstantValue(const ir::Value* value) const {
  auto it = value_ids_.find(value);
  return it != value_ids_.end() && IsConstant(it->second);
}

// Delivers value `id` in `layout`: a reordered constant now, or a reorder
// step at run time. Memoised per (value, layout).
StatusOr<int> Planner::Convert(int id, const dnnl::memory::desc& layout, const std::string& label) {
  std::vector<std::pair<dnnl::memory::desc, int>>& known = conversions_[id];
  AddCompileWork(known.size());
  for (const auto& [known_layout, converted] : known) {
    if (known_layout == layout) return converted;
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
        known.push_back({layout, result});
        return result;
      }
    }
    const size_t bytes = dst.desc.byte_size();
    RETURN_IF_ERROR(budget_.ReserveConstant(label + " weight '" + src.name + "' reordered", bytes));
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
  known.push_back({layout, result});
  return result;
}

// A value seeing `source`'s bytes as `desc`: an alias of the value that
// owns them (so lifetimes extend, see PlaceArena in memory.h), or, for a constant, a
// constant sharing its buffer -- delivered plain now when `desc` is not,
// so that kernels can read it at compile time.
StatusOr<int> Planner::AddView(const std::string& name, TensorDesc desc, int source,
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

// The values earlier stages computed, fed after the graph inputs (or
// constants when their values are given).
Status Planner::BindSegmentInputs(const PlanSegment& segment) {
  for (const auto& [value, feed] : segment.fed) BindFed(value, feed);
  return Status::Ok();
}

Status Planner::CompileNode(const ir::Node& node, bool* asked_for_runtime_value) {
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
    ASSIGN_OR_RETURN(id, loop_.ForThisStep(id, label));
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
    if (asked_for_runtime_value) *asked_for_runtime_value = ctx.asked_for_runtime_value();
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
                             ShapeToString(desc.dims) + " would need " +
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
  RETURN_IF_ERROR(budget_.CheckConstants());  // outputs the kernel made at compile time
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

  if (all_constant && !DrawsRandomValues(node.kind())) {
    return FoldNow(node, std::move(kernel), input_ids, output_ids, ctx.scratchpad());
  }

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

// Runs a node whose inputs are all constants now; its outputs become
// constants of the plan.
Status Planner::FoldNow(const ir::Node& node, std::unique_ptr<Kernel> kernel,
               const std::vector<int>& input_ids, const std::vector<int>& output_ids,
               size_t scratchpad_bytes) {
  std::vector<const void*> inputs;
  for (int id : input_ids) inputs.push_back(id >= 0 ? plan_->values[id].constant_data() : nullptr);
  std::vector<std::shared_ptr<void>> buffers(output_ids.size());
  std::vector<void*> outputs(output_ids.size(), nullptr);
  for (size_t i = 0; i < output_ids.size(); ++i) {
    if (output_ids[i] < 0 || IsConstant(output_ids[i])) continue;
    const PlanValue& v = plan_->values[output_ids[i]];
    RETURN_IF_ERROR(budget_.ReserveConstant(
        node.Describe() + " output '" + v.name + "' folded", v.desc.byte_size()));
    buffers[i] = AllocateAligned(v.desc.byte_size());
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
Status Planner::CheckAgainstStaticShape(const ir::Value& out, const TensorDesc& desc,
                               const std::string& label) const {
  if (out.dtype() != DataType::kUndefined && out.dtype() != desc.dtype) {
    return Internal(label + ": computes output '" + out.name() + "' as " +
                    DataTypeName(desc.dtype) + " but the model says " +
                    DataTypeName(out.dtype()));
  }
  std::vector<int64_t> dims = desc.dims;
  if (loop_.open() && !dims.empty()) dims[0] *= loop_.images();
  if (!out.shape()) return Status::Ok();
  const ir::StaticShape& shape = *out.shape();
  bool ok = shape.size() == dims.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) {
    ok = !shape[i].is_fixed() || shape[i].value == dims[i];
  }
  if (!ok) {
    return InvalidModel(label + ": output '" + out.name() + "' computes to shape " +
                        ShapeToString(dims) + " but the model says " +
                        ir::StaticShapeToString(shape));
  }
  return Status::Ok();
}

Status Planner::BindGraphOutputs(const PlanSegment* segment) {
  const std::vector<const ir::Value*> outputs =
      segment && !segment->outputs.empty()
          ? segment->outputs
          : std::vector<const ir::Value*>(graph_.outputs().begin(), graph_.outputs().end());
  for (const ir::Value* out : outputs) {
    auto it = value_ids_.find(out);
    int id;
    if (it != value_ids_.end()) {
      ASSIGN_OR_RETURN(id, loop_.ForThisStep(it->second, "graph output '" + out->name() + "'"));
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
                                                  std::vector<std::string>* wanted_values,
                                                  const PlanSegment* segment,
                                                  size_t* split_at) {
  // oneDNN sizes its kernels' work split by the thread count at creation.
  omp_set_num_threads(std::max(1, options.threads));
  try {
    Planner planner(graph, options);
    StatusOr<std::shared_ptr<const Plan>> plan = planner.Build(feeds, segment);
    if (!plan.ok() && wanted_values) *wanted_values = planner.wanted_values();
    if (!plan.ok() && split_at && planner.split_at() >= 0) {
      *split_at = static_cast<size_t>(planner.split_at());
    }
    return plan;
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN error while compiling: ") + e.what());
  }
}

}  // namespace bnfold::onednn
