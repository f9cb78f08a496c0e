// A subgraph (If's branch, Loop's or Scan's body) compiled as nested plans:
// compiled once per signature of its inputs' shapes while the owning node
// compiles, then run per iteration with an ExecState per execution context.
// Inputs follow the body's input order (formal inputs, then the outer
// references, fed by the node's implicit inputs); an input known at compile
// time (a constant of the outer plan) specialises the body's plan on it,
// so what the body computes from constants is folded once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "runtime/backend/onednn/executor.h"
#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

struct BodyInput {
  DataType dtype = DataType::kUndefined;
  std::vector<int64_t> dims;
  const Tensor* constant = nullptr;  // known at compile time
};

// One compiled signature of a body.
struct BodyPlan {
  std::vector<std::vector<int64_t>> input_dims;  // the signature
  int64_t key = -1;  // the caller's: e.g. the Loop iteration it is specialised on
  std::shared_ptr<const Plan> plan;
  std::vector<int> feed_of_plan_input;  // plan input j <- body input
  std::vector<TensorDesc> outputs;      // plain
};

class SubgraphPlans {
 public:
  // `body` must outlive this object (it is owned by the node).
  SubgraphPlans(const ir::Graph& body, std::string label, int threads);
  const ir::Graph& body() const { return body_; }
  // The plan for these inputs and `key`, compiled on first use (compile
  // time only). When compiling fails for want of a fed input's value,
  // `wanted` (if given) receives the body inputs' names.
  StatusOr<const BodyPlan*> Compile(const std::vector<BodyInput>& inputs, int64_t key = -1,
                                    std::vector<std::string>* wanted = nullptr);
  // Index of the compiled plan for these input dims and key, or -1.
  int Find(const std::vector<std::vector<int64_t>>& dims, int64_t key = -1) const;
  const BodyPlan& plan(int index) const { return *plans_[index]; }
  int num_plans() const { return static_cast<int>(plans_.size()); }

  // Per execution context: one ExecState per compiled plan, made on first use.
  class State {
   public:
    std::vector<std::unique_ptr<ExecState>> states;
  };
  // Runs compiled plan `index` on `inputs` (one pointer per body input, in
  // body order); output i is then at `outputs[i]`, valid until the next run
  // of the same plan in `state`.
  Status Run(int index, State* state, const std::vector<const void*>& inputs,
             std::vector<const void*>* outputs) const;

 private:
  const ir::Graph& body_;
  std::string label_;
  int threads_;
  std::vector<std::unique_ptr<BodyPlan>> plans_;
};

// Copies `bytes` of plain data; the one memcpy the loops share.
void CopyBytes(void* dst, const void* src, size_t bytes);

}  // namespace bnfold::onednn
