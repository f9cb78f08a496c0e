// The planner's side of fusion (fusion.h): which followers a node may
// absorb in this plan, and how absorbed followers map onto its step.
#include "runtime/backend/onednn/planner.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

// The post-ops `node` may absorb in this plan (none when it anchors none).
ResolvedChain Planner::ResolveFusion(const ir::Node& node) {
  auto it = fusion_candidates_.find(&node);
  if (it == fusion_candidates_.end()) return ResolvedChain();
  ResolvedChain chain = ResolvePostOps(node, it->second, *this);
  if (loop_.open()) {
    // Inside the image loop an operand must be one image's or the same
    // for every image.
    for (int id : chain.operand_ids) {
      if (id >= 0 && IsConstant(id) && !ImageLoopBuilder::SameForEveryImage(plan_->values[id].desc.dims)) {
        return ResolvedChain();
      }
    }
  }
  return chain;
}

// The value a fused `sum` among the first `fused` post-ops accumulates
// into (the step's output), or -1.
int Planner::FusedSumTarget(const ResolvedChain& fusion, size_t fused) {
  for (size_t i = 0; i < fused; ++i) {
    if (fusion.chain.ops[i].kind == PostOp::Kind::kSum) return fusion.operand_ids[i];
  }
  return -1;
}

// The first `fused` followers run in the anchor's step: their outputs are
// its output `output_id`, their binary operands extra step inputs.
Status Planner::MapFusedFollowers(const ResolvedChain& fusion, size_t fused, int output_id,
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
      conversions_.erase(output_id);
    }
    value_ids_[out] = output_id;
    absorbed_.insert(&follower);
    *label += " + " + follower.Describe();
  }
  return Status::Ok();
}

// FusionPlanner
int Planner::ValueId(const ir::Value* value) {
  if (value == nullptr) return -1;
  auto it = value_ids_.find(value);
  if (it != value_ids_.end()) {
    StatusOr<int> id = loop_.ForThisStep(it->second, value->name());
    return id.ok() ? *id : -1;
  }
  if (!value->constant_data()) return -1;
  return value_ids_[value] = AddConstant(value->name(), value->constant_data());
}

const Tensor* Planner::ConstantData(const ir::Value* value) const {
  auto it = value_ids_.find(value);
  if (it == value_ids_.end()) return value->constant_data().get();
  return IsConstant(it->second) ? plan_->values[it->second].constant.get() : nullptr;
}

bool Planner::CanOverwrite(const ir::Value* value, const ir::Node& anchor,
                  const ir::Node& follower) const {
  auto it = value_ids_.find(value);
  if (it == value_ids_.end() || value->is_graph_input()) return false;
  const int id = it->second;
  if (plan_->values[id].storage != PlanValue::Storage::kArena) return false;
  // Outside the loop a loop value is seen through its whole-batch view.
  if (loop_.closed() && loop_.IsLoopValue(id)) return false;
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

}  // namespace bnfold::onednn
