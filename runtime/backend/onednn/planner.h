// The planner: walks the sorted graph, compiles one kernel per node
// (through NodeCompileContext, compile_context.h), folds nodes whose inputs
// are all known at compile time, delivers each input in the layout its
// kernel wants (a reorder step, or a constant reordered now), and turns
// declared views into aliases. Followers of a Conv/Gemm/MatMul that oneDNN
// can apply as post-ops run inside its step (fusion.h; the planner's side in
// planner_fusion.cc). The image loop (image_loop.h) and the arena placement
// (memory.h) are its helpers; CompilePlan (plan.h) is its entry point.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bnfold/status.h"
#include "runtime/backend/onednn/fusion.h"
#include "runtime/backend/onednn/image_loop.h"
#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/memory.h"
#include "runtime/backend/onednn/memory_budget.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

class Planner : public FusionPlanner {
 public:
  Planner(const ir::Graph& graph, const CompileOptions& options);

  // Fed inputs whose values a kernel asked for (see CompilePlan).
  const std::vector<std::string>& wanted_values() const { return wanted_values_; }

  // The plan for `feeds`: every node compiled (or folded now), the graph
  // outputs bound plain, the image loop's strides set, the arena placed.
  // With `segment`, only that stage (PlanSegment, plan.h).
  StatusOr<std::shared_ptr<const Plan>> Build(const std::vector<FeedSpec>& feeds,
                                              const PlanSegment* segment = nullptr);
  // The position of the node that failed to compile for want of an input's
  // value known only at run time, or -1.
  int64_t split_at() const { return split_at_; }

 private:
  // CompileContext::convolution_depth of every node, in one pass over the
  // nodes in topological order.
  void CountConvolutionDepths(const std::vector<ir::Node*>& nodes);

  int AddValue(PlanValue value);
  int AddConstant(const std::string& name, ir::ConstTensorPtr data);

  Status BindGraphInputs(const std::vector<FeedSpec>& feeds);

  // Plan value for an IR value, creating constants on first use.
  StatusOr<int> ValueId(const ir::Value* value, const ir::Node& consumer);

  // Whether plan value `id` is known now (a constant of the plan).
  bool IsConstant(int id) const;

  // Whether an IR value is a constant of this plan (initializer not fed, or
  // a feed the plan is specialised on).
  bool IsConstantValue(const ir::Value* value) const;

  // Delivers value `id` in `layout`: a reordered constant now, or a reorder
  // step at run time. Memoised per (value, layout).
  StatusOr<int> Convert(int id, const dnnl::memory::desc& layout, const std::string& label);

  // A value seeing `source`'s bytes as `desc`: an alias of the value that
  // owns them (so lifetimes extend, see PlaceArena in memory.h), or, for a constant, a
  // constant sharing its buffer -- delivered plain now when `desc` is not,
  // so that kernels can read it at compile time.
  StatusOr<int> AddView(const std::string& name, TensorDesc desc, int source,
                        const std::string& label);

  // `asked_for_runtime_value`: set when compiling fails after the kernel
  // asked for the value of an input known only at run time.
  Status CompileNode(const ir::Node& node, bool* asked_for_runtime_value = nullptr);

  // ---- fusion (fusion.h): the planner's side, in planner_fusion.cc

  // The post-ops `node` may absorb in this plan (none when it anchors none).
  ResolvedChain ResolveFusion(const ir::Node& node);

  // The value a fused `sum` among the first `fused` post-ops accumulates
  // into (the step's output), or -1.
  static int FusedSumTarget(const ResolvedChain& fusion, size_t fused);

  // The first `fused` followers run in the anchor's step: their outputs are
  // its output `output_id`, their binary operands extra step inputs.
  Status MapFusedFollowers(const ResolvedChain& fusion, size_t fused, int output_id,
                           std::vector<int>* step_inputs, std::string* label);

  // FusionPlanner
  int ValueId(const ir::Value* value) override;
  const TensorDesc& Desc(int id) const override { return plan_->values[id].desc; }
  const Tensor* ConstantData(const ir::Value* value) const override;
  bool CanOverwrite(const ir::Value* value, const ir::Node& anchor,
                    const ir::Node& follower) const override;

  // Runs a node whose inputs are all constants now; its outputs become
  // constants of the plan.
  Status FoldNow(const ir::Node& node, std::unique_ptr<Kernel> kernel,
                 const std::vector<int>& input_ids, const std::vector<int>& output_ids,
                 size_t scratchpad_bytes);

  // `desc` is what the plan computes for `out`: one image of it inside the
  // image loop.
  Status CheckAgainstStaticShape(const ir::Value& out, const TensorDesc& desc,
                                 const std::string& label) const;

  Status BindGraphOutputs(const PlanSegment* segment);
  Status BindSegmentInputs(const PlanSegment& segment);
  void BindFed(const ir::Value* value, const FeedSpec& feed);

  const ir::Graph& graph_;
  CompileOptions options_;
  MemoryBudget budget_;  // the plan's constants against options_.max_memory_bytes
  dnnl::stream stream_;  // runs the kernels folded at compile time
  std::shared_ptr<Plan> plan_;
  ValueIds value_ids_;
  // Convert's memo: value id -> (layout, the value converted to it), one
  // entry per layout asked for.
  std::unordered_map<int, std::vector<std::pair<dnnl::memory::desc, int>>> conversions_;
  ConstantArena constant_arena_;
  std::vector<std::string> wanted_values_;
  int64_t split_at_ = -1;
  NodePositions positions_;  // in graph_.nodes()
  std::unordered_map<const ir::Node*, int> convolution_depths_;
  FusionCandidates fusion_candidates_;
  std::unordered_set<const ir::Node*> absorbed_;  // followers run by their anchor
  ImageLoopBuilder loop_;
};

}  // namespace bnfold::onednn
