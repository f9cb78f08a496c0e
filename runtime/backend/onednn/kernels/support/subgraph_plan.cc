#include "runtime/backend/onednn/kernels/support/subgraph_plan.h"

#include <cstring>

#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

SubgraphPlans::SubgraphPlans(const ir::Graph& body, std::string label, int threads)
    : body_(body), label_(std::move(label)), threads_(threads) {}

int SubgraphPlans::Find(const std::vector<std::vector<int64_t>>& dims, int64_t key) const {
  for (size_t i = 0; i < plans_.size(); ++i) {
    if (plans_[i]->key == key && plans_[i]->input_dims == dims) return static_cast<int>(i);
  }
  return -1;
}

StatusOr<const BodyPlan*> SubgraphPlans::Compile(const std::vector<BodyInput>& inputs,
                                                 int64_t key, std::vector<std::string>* wanted) {
  const auto& body_inputs = body_.inputs();
  if (inputs.size() != body_inputs.size()) {
    return Internal(label_ + ": fed " + std::to_string(inputs.size()) + " inputs, the body has " +
                    std::to_string(body_inputs.size()));
  }
  std::vector<std::vector<int64_t>> dims;
  for (const BodyInput& in : inputs) dims.push_back(in.dims);
  if (int found = Find(dims, key); found >= 0) return plans_[found].get();

  std::vector<FeedSpec> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    FeedSpec spec;
    spec.name = body_inputs[i]->name();
    spec.dtype = inputs[i].dtype;
    spec.dims = inputs[i].dims;
    if (inputs[i].constant) {
      // Shares the outer plan's constant: it outlives every run of the node.
      spec.value = std::shared_ptr<const Tensor>(std::shared_ptr<const Tensor>(), inputs[i].constant);
    }
    feeds.push_back(std::move(spec));
  }
  CompileOptions options;
  options.threads = threads_;
  options.image_loop = false;
  StatusOr<std::shared_ptr<const Plan>> plan = CompilePlan(body_, feeds, options, wanted);
  if (!plan.ok()) return plan.status().WithContext(label_);
  auto compiled = std::make_unique<BodyPlan>();
  compiled->input_dims = std::move(dims);
  compiled->key = key;
  compiled->plan = *plan;
  for (const PlanInput& in : (*plan)->inputs) {
    int index = -1;
    for (size_t i = 0; i < body_inputs.size(); ++i) {
      if (body_inputs[i]->name() == in.name) index = static_cast<int>(i);
    }
    if (index < 0) return Internal(label_ + ": plan input '" + in.name + "' is not a body input");
    compiled->feed_of_plan_input.push_back(index);
  }
  for (int id : (*plan)->outputs) compiled->outputs.push_back((*plan)->values[id].desc);
  plans_.push_back(std::move(compiled));
  return plans_.back().get();
}

Status SubgraphPlans::Run(int index, State* state, const std::vector<const void*>& inputs,
                          std::vector<const void*>* outputs) const {
  if (index < 0 || index >= num_plans()) return Internal(label_ + ": no such body plan");
  if (state->states.size() < plans_.size()) state->states.resize(plans_.size());
  const BodyPlan& p = *plans_[index];
  std::unique_ptr<ExecState>& exec = state->states[index];
  if (!exec) exec = std::make_unique<ExecState>(p.plan);
  std::vector<const void*> fed;
  fed.reserve(p.feed_of_plan_input.size());
  for (int i : p.feed_of_plan_input) fed.push_back(inputs[i]);
  RETURN_IF_ERROR(exec->Run(fed).WithContext(label_));
  outputs->resize(p.outputs.size());
  for (size_t i = 0; i < p.outputs.size(); ++i) (*outputs)[i] = exec->output(i);
  return Status::Ok();
}

void CopyBytes(void* dst, const void* src, size_t bytes) {
  if (bytes > 0 && dst != src) std::memmove(dst, src, bytes);
}

}  // namespace bnfold::onednn
