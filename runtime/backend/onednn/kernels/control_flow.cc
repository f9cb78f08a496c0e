// If and Loop (Scan is in control_flow_scan.cc): each body is compiled as
// nested plans (support/subgraph_plan.h) while the node compiles, and run
// per iteration. Plans have static shapes, so the node's output shapes must
// follow at compile time: If's from its condition when known, else from
// branches that agree; Loop's from its iteration count when known (a trip
// count and a condition known at compile time -- constants, or graph inputs
// the plan is specialised on -- and a body whose condition output stays
// true), or from carried values whose shapes do not change. A carried
// value whose shape changes between iterations is followed by compiling the
// body once per shape; a body that needs its iteration number at compile
// time (ONNX's test_loop11 slices at [i, i+1)) is compiled once per
// iteration when the count is known (at most kMaxBodyShapes). A Loop with neither a trip count nor a condition
// that turns false stops at kMaxLoopIterations with an error.
#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/subgraph_plan.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

// Iterations a Loop without a trip count may run before it is stopped with
// an error (its condition never turned false): bounds a run that would
// otherwise never end.
inline constexpr int64_t kMaxLoopIterations = int64_t{1} << 24;
// Distinct carried shapes a Loop's body is compiled for.
inline constexpr int kMaxBodyShapes = 256;

namespace {

std::vector<BodyInput> OuterInputs(const CompileContext& ctx) {
  std::vector<BodyInput> inputs;
  for (int i = ctx.node().num_explicit_inputs(); i < ctx.num_inputs(); ++i) {
    inputs.push_back(BodyInput{ctx.input(i).dtype, ctx.input(i).dims, ctx.constant_input(i)});
  }
  return inputs;
}

std::vector<const void*> OuterPointers(const ExecContext& ctx, const ir::Node& node) {
  std::vector<const void*> ptrs;
  for (int i = node.num_explicit_inputs(); i < node.num_inputs(); ++i) ptrs.push_back(ctx.input(i));
  return ptrs;
}

class SubgraphState : public KernelState {
 public:
  std::vector<SubgraphPlans::State> bodies;
  // Loop-carried values between iterations (two sets, swapped).
  std::vector<std::vector<unsigned char>> carried[2];
};

// ---------------------------------------------------------------- If

class IfKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    node_ = &ctx.node();
    const ir::Graph* then_branch = node_->subgraph("then_branch");
    const ir::Graph* else_branch = node_->subgraph("else_branch");
    if (!then_branch || !else_branch) {
      return InvalidModel(ctx.Describe() + ": needs graph attributes then_branch and else_branch");
    }
    if (ctx.input(0).dtype != DataType::kBool || ctx.input(0).num_elements() != 1) {
      return InvalidModel(ctx.Describe() + ": cond must be one bool");
    }
    branches_.emplace_back(*then_branch, ctx.Describe() + ", subgraph 'then_branch'", ctx.threads());
    branches_.emplace_back(*else_branch, ctx.Describe() + ", subgraph 'else_branch'", ctx.threads());
    const std::vector<BodyInput> outer = OuterInputs(ctx);
    const Tensor* cond = ctx.constant_input(0);
    const BodyPlan* plans[2] = {nullptr, nullptr};
    for (int b = 0; b < 2; ++b) {
      if (cond && (*cond->data_as<bool>() ? 1 : 0) == b) continue;  // never taken
      ASSIGN_OR_RETURN(plans[b], branches_[b].Compile(outer));
      if (static_cast<int>(plans[b]->outputs.size()) != ctx.num_outputs()) {
        return InvalidModel(ctx.Describe() + ": has " + std::to_string(ctx.num_outputs()) +
                            " outputs, a branch returns " + std::to_string(plans[b]->outputs.size()));
      }
    }
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      const TensorDesc* a = plans[0] ? &plans[0]->outputs[i] : nullptr;
      const TensorDesc* b = plans[1] ? &plans[1]->outputs[i] : nullptr;
      if (a && b && (a->dtype != b->dtype || a->dims != b->dims)) {
        return Unsupported(ctx.Describe() + ": output " + std::to_string(i) + " is " +
                           DataTypeName(a->dtype) + ShapeToString(a->dims) + " in then_branch but " +
                           DataTypeName(b->dtype) + ShapeToString(b->dims) +
                           " in else_branch, and the condition is known only at run time "
                           "(bnfold's plans have static shapes)");
      }
      const TensorDesc& d = a ? *a : *b;
      if (ctx.has_output(i)) ctx.SetOutput(i, d.dtype, d.dims);
    }
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine&) const override {
    auto state = std::make_unique<SubgraphState>();
    state->bodies.resize(2);
    return state;
  }

  Status Execute(ExecContext& ctx) const override {
    auto* state = static_cast<SubgraphState*>(ctx.state());
    const int b = *ctx.input_as<bool>(0) ? 0 : 1;
    const SubgraphPlans& branch = branches_[b];
    std::vector<const void*> outputs;
    RETURN_IF_ERROR(branch.Run(0, &state->bodies[b], OuterPointers(ctx, *node_), &outputs));
    const BodyPlan& plan = branch.plan(0);
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (ctx.output(static_cast<int>(i))) {
        CopyBytes(ctx.output(static_cast<int>(i)), outputs[i], plan.outputs[i].byte_size());
      }
    }
    return Status::Ok();
  }

 private:
  const ir::Node* node_ = nullptr;
  std::vector<SubgraphPlans> branches_;
};

// ---------------------------------------------------------------- Loop

bool IsTrue(const Tensor* t) {
  return t && t->dtype() == DataType::kBool && t->num_elements() == 1 && *t->data_as<bool>();
}

// Whether the body's condition output is always true given a true
// condition input: the input itself (through Identity), or a constant true
// (the body's own, or an outer one, as PyTorch exports write it).
bool BodyKeepsGoing(const ir::Graph& body, const CompileContext& ctx) {
  if (body.outputs().empty() || body.num_formal_inputs() < 2) return false;
  const ir::Value* v = body.outputs()[0];
  while (v->producer() && v->producer()->kind() == ir::OpKind::kIdentity) {
    v = v->producer()->input(0);
  }
  if (v == body.inputs()[1]) return true;
  if (v->is_outer_ref()) {
    int k = ctx.node().num_explicit_inputs();
    for (const ir::Value* in : body.inputs()) {
      if (in == v) return IsTrue(ctx.constant_input(k));
      k += in->is_outer_ref();
    }
  }
  return v->IsConstant() && IsTrue(v->constant_data().get());
}

class LoopKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    node_ = &ctx.node();
    const ir::Graph* body = node_->subgraph("body");
    if (!body) return InvalidModel(ctx.Describe() + ": needs graph attribute body");
    carried_ = node_->num_explicit_inputs() - 2;
    if (carried_ < 0) return InvalidModel(ctx.Describe() + ": needs inputs M and cond (either may be empty)");
    scans_ = ctx.num_outputs() - carried_;
    if (scans_ < 0 || static_cast<int>(body->outputs().size()) != 1 + ctx.num_outputs()) {
      return InvalidModel(ctx.Describe() + ": its body returns " +
                          std::to_string(body->outputs().size()) + " values; the node has " +
                          std::to_string(carried_) + " carried inputs and " +
                          std::to_string(ctx.num_outputs()) + " outputs");
    }
    for (int i : {0, 1}) {
      if (ctx.has_input(i) && ctx.input(i).num_elements() != 1) {
        return InvalidModel(ctx.Describe() + (i ? ": cond" : ": M") + " must hold one element");
      }
    }
    body_ = std::make_unique<SubgraphPlans>(*body, ctx.Describe() + ", subgraph 'body'", ctx.threads());

    // The iteration count, when compile time knows it.
    int64_t count = -1;
    const Tensor* m = ctx.has_input(0) ? ctx.constant_input(0) : nullptr;
    const Tensor* cond = ctx.has_input(1) ? ctx.constant_input(1) : nullptr;
    const bool cond_true = !ctx.has_input(1) || (cond && *cond->data_as<bool>());
    if (cond && !*cond->data_as<bool>()) {
      count = 0;
    } else if (cond_true && (!ctx.has_input(1) || BodyKeepsGoing(*body, ctx))) {
      if (m) {
        count = std::max<int64_t>(0, *m->data_as<int64_t>());
      } else if (!ctx.has_input(0)) {
        return InvalidModel(ctx.Describe() + ": has no trip count and its condition never "
                            "turns false: it would never end");
      }
    }

    // Follow the carried shapes through the iterations.
    outer_ = OuterInputs(ctx);
    std::vector<BodyInput> inputs = {BodyInput{DataType::kInt64, {}, nullptr},
                                     BodyInput{DataType::kBool, {}, nullptr}};
    for (int i = 0; i < carried_; ++i) {
      inputs.push_back(BodyInput{ctx.input(2 + i).dtype, ctx.input(2 + i).dims, nullptr});
    }
    inputs.insert(inputs.end(), outer_.begin(), outer_.end());
    std::vector<std::string> wanted;
    StatusOr<const BodyPlan*> compiled = body_->Compile(inputs, -1, &wanted);
    if (!compiled.ok()) {
      // A body that needs its iteration number at compile time (a Slice at
      // [i, i+1)) is compiled once per iteration when the count is known.
      const bool wants_iteration =
          std::find(wanted.begin(), wanted.end(), body->inputs()[0]->name()) != wanted.end();
      if (!wants_iteration || count < 0 || count > kMaxBodyShapes) return compiled.status();
      per_iteration_ = true;
      iteration_values_.resize(std::max<int64_t>(count, 1));
      for (int64_t it = 0; it < static_cast<int64_t>(iteration_values_.size()); ++it) {
        ASSIGN_OR_RETURN(iteration_values_[it], Tensor::Allocate(DataType::kInt64, {}));
        *iteration_values_[it].data_as<int64_t>() = it;
      }
      inputs[0].constant = &iteration_values_[0];
      ASSIGN_OR_RETURN(compiled, body_->Compile(inputs, 0));
    }
    const BodyPlan* first = *compiled;
    const BodyPlan* plan = first;
    std::vector<std::vector<int64_t>> scan_dims;
    for (int k = 0; k < scans_; ++k) scan_dims.push_back(first->outputs[1 + carried_ + k].dims);
    bool stable = true;
    for (int64_t it = 0; count < 0 ? false : it < count; ++it) {
      bool changed = false;
      for (int i = 0; i < carried_; ++i) {
        const TensorDesc& out = plan->outputs[1 + i];
        if (out.dtype != inputs[2 + i].dtype) {
          return InvalidModel(ctx.Describe() + ": carried value " + std::to_string(i) + " is " +
                              DataTypeName(inputs[2 + i].dtype) + " but the body returns " +
                              DataTypeName(out.dtype));
        }
        changed |= out.dims != inputs[2 + i].dims;
        inputs[2 + i].dims = out.dims;
      }
      for (int k = 0; k < scans_; ++k) {
        if (plan->outputs[1 + carried_ + k].dims != scan_dims[k]) {
          return Unsupported(ctx.Describe() + ": scan output " + std::to_string(k) +
                             " changes shape between iterations (" + ShapeToString(scan_dims[k]) +
                             " then " + ShapeToString(plan->outputs[1 + carried_ + k].dims) + ")");
        }
      }
      if (!changed && stable && !per_iteration_) break;  // the same plan for every iteration
      stable = false;
      if (it + 1 == count) break;
      if (body_->num_plans() >= kMaxBodyShapes) {
        return Unsupported(ctx.Describe() + ": carried values change shape in more than " +
                           std::to_string(kMaxBodyShapes) + " iterations");
      }
      if (per_iteration_) inputs[0].constant = &iteration_values_[it + 1];
      ASSIGN_OR_RETURN(plan, body_->Compile(inputs, per_iteration_ ? it + 1 : -1));
    }
    if (count < 0) {
      // Unknown count: only shapes that stay the same can be declared.
      for (int i = 0; i < carried_; ++i) {
        if (first->outputs[1 + i].dims != inputs[2 + i].dims) {
          return Unsupported(ctx.Describe() + ": carried value " + std::to_string(i) +
                             " changes shape between iterations and the number of iterations "
                             "is known only at run time (bnfold's plans have static shapes)");
        }
      }
      if (scans_ > 0) {
        return Unsupported(ctx.Describe() + ": has scan outputs and its number of iterations is "
                           "known only at run time (bnfold's plans have static shapes)");
      }
    }
    count_ = count;
    for (int i = 0; i < carried_; ++i) {
      final_.push_back(TensorDesc{inputs[2 + i].dtype, inputs[2 + i].dims, {}});
      if (ctx.has_output(i)) ctx.SetOutput(i, inputs[2 + i].dtype, inputs[2 + i].dims);
    }
    for (int k = 0; k < scans_; ++k) {
      std::vector<int64_t> dims = {count};
      dims.insert(dims.end(), scan_dims[k].begin(), scan_dims[k].end());
      if (ctx.has_output(carried_ + k)) {
        ctx.SetOutput(carried_ + k, first->outputs[1 + carried_ + k].dtype, dims);
      }
    }
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine&) const override {
    auto state = std::make_unique<SubgraphState>();
    state->bodies.resize(1);
    return state;
  }

  Status Execute(ExecContext& ctx) const override {
    auto* state = static_cast<SubgraphState*>(ctx.state());
    const int64_t trip = ctx.input(0) ? *ctx.input_as<int64_t>(0)
                                      : std::numeric_limits<int64_t>::max();
    bool cond = ctx.input(1) ? *ctx.input_as<bool>(1) : true;
    const std::vector<const void*> outer = OuterPointers(ctx, *node_);
    const BodyPlan& first = body_->plan(0);
    std::vector<std::vector<int64_t>> dims;
    std::vector<const void*> current;
    for (int i = 0; i < carried_; ++i) {
      dims.push_back(first.input_dims[2 + i]);
      current.push_back(ctx.input(2 + i));
    }
    int64_t iter = 0;
    bool cond_in = cond;
    std::vector<const void*> inputs(2 + carried_ + outer.size());
    std::vector<const void*> outputs;
    int side = 0;
    for (; iter < trip && cond; ++iter) {
      if (ctx.input(0) == nullptr && iter >= kMaxLoopIterations) {
        return Unsupported(node_->Describe() + ": ran " + std::to_string(kMaxLoopIterations) +
                           " iterations without a trip count and its condition never turned "
                           "false; stopped");
      }
      std::vector<std::vector<int64_t>> signature = {{}, {}};
      signature.insert(signature.end(), dims.begin(), dims.end());
      for (const BodyInput& o : outer_) signature.push_back(o.dims);
      const int index = body_->Find(signature, per_iteration_ ? iter : -1);
      if (index < 0) {
        return Unsupported(node_->Describe() + ": iteration " + std::to_string(iter) +
                           " feeds the body shapes it was not compiled for");
      }
      if (scans_ > 0 && iter >= count_) {
        return Unsupported(node_->Describe() + ": runs more iterations than the " +
                           std::to_string(count_) + " its scan outputs were sized for");
      }
      inputs[0] = &iter;
      inputs[1] = &cond_in;
      for (int i = 0; i < carried_; ++i) inputs[2 + i] = current[i];
      for (size_t j = 0; j < outer.size(); ++j) inputs[2 + carried_ + j] = outer[j];
      RETURN_IF_ERROR(body_->Run(index, &state->bodies[0], inputs, &outputs));
      const BodyPlan& plan = body_->plan(index);
      cond = *static_cast<const bool*>(outputs[0]);
      cond_in = cond;
      // Keep the carried values: the next run overwrites the body's memory.
      auto& next = state->carried[side];
      next.resize(carried_);
      for (int i = 0; i < carried_; ++i) {
        const TensorDesc& d = plan.outputs[1 + i];
        next[i].resize(d.byte_size());
        CopyBytes(next[i].data(), outputs[1 + i], d.byte_size());
        current[i] = next[i].data();
        dims[i] = d.dims;
      }
      side ^= 1;
      for (int k = 0; k < scans_; ++k) {
        void* out = ctx.output(carried_ + k);
        const TensorDesc& d = plan.outputs[1 + carried_ + k];
        if (out) CopyBytes(static_cast<char*>(out) + iter * d.byte_size(), outputs[1 + carried_ + k], d.byte_size());
      }
    }
    if (scans_ > 0 && iter != count_) {
      return Unsupported(node_->Describe() + ": ran " + std::to_string(iter) +
                         " iterations; its scan outputs were sized for " + std::to_string(count_));
    }
    for (int i = 0; i < carried_; ++i) {
      if (!ctx.output(i)) continue;
      if (dims[i] != final_[i].dims) {
        return Unsupported(node_->Describe() + ": carried value " + std::to_string(i) + " ends as " +
                           ShapeToString(dims[i]) + ", compiled for " + ShapeToString(final_[i].dims));
      }
      CopyBytes(ctx.output(i), current[i], final_[i].byte_size());
    }
    return Status::Ok();
  }

 private:
  const ir::Node* node_ = nullptr;
  int carried_ = 0;
  int scans_ = 0;
  int64_t count_ = -1;
  // The body is compiled once per iteration, on its iteration number.
  bool per_iteration_ = false;
  std::vector<Tensor> iteration_values_;
  std::vector<TensorDesc> final_;  // carried outputs as compiled
  std::vector<BodyInput> outer_;
  std::unique_ptr<SubgraphPlans> body_;
};

}  // namespace

void RegisterScanKernel(KernelRegistry& registry);  // control_flow_scan.cc

void RegisterControlFlowKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kIf, MakeKernel<IfKernel>);
  registry.Register(ir::OpKind::kLoop, MakeKernel<LoopKernel>);
  RegisterScanKernel(registry);
}

}  // namespace bnfold::onednn
