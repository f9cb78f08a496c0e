#include "runtime/constant_evaluator.h"

#include <omp.h>

#include <cstring>

#include "runtime/backend/onednn/executor.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/common/status_macros.h"

namespace bnfold {

namespace {

class KernelConstantEvaluator : public passes::ConstantEvaluator {
 public:
  StatusOr<std::vector<ir::ConstTensorPtr>> Evaluate(const ir::Node& node,
                                                     const std::vector<ir::ConstTensorPtr>& inputs,
                                                     int64_t max_output_bytes) const override {
    // The node alone, its inputs initializers and its outputs graph outputs:
    // the planner runs a node of constants at compile time (FoldNow), with
    // the kernel the node would run with.
    ir::Graph graph;
    std::vector<ir::Value*> in_values;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == nullptr || i >= static_cast<size_t>(node.num_inputs()) ||
          node.input(i) == nullptr) {
        in_values.push_back(nullptr);
        continue;
      }
      ASSIGN_OR_RETURN(ir::Value * v,
                       graph.AddInitializer(graph.UniqueName(node.input(i)->name()), inputs[i]));
      in_values.push_back(v);
    }
    std::vector<ir::Value*> out_values;
    for (const ir::Value* out : node.outputs()) {
      if (out == nullptr) {
        out_values.push_back(nullptr);
        continue;
      }
      ASSIGN_OR_RETURN(ir::Value * v, graph.AddValue(graph.UniqueName(out->name())));
      v->set_dtype(out->dtype());
      v->set_shape(out->shape());
      out_values.push_back(v);
    }
    ASSIGN_OR_RETURN(ir::Node * copy, graph.AddNode(node.kind(), node.op_type(), node.domain(),
                                                    node.name(), node.opset(), in_values,
                                                    out_values));
    for (const ir::Attribute& a : node.attributes()) copy->SetAttribute(a);
    for (ir::Value* v : out_values) {
      if (v != nullptr) graph.AddGraphOutput(v);
    }

    onednn::CompileOptions options;
    options.threads = 1;
    options.fuse = false;
    options.image_loop = false;
    options.max_tensor_bytes = static_cast<size_t>(max_output_bytes);
    const int threads = omp_get_max_threads();  // CompilePlan sets the caller's
    StatusOr<std::shared_ptr<const onednn::Plan>> plan = onednn::CompilePlan(graph, {}, options);
    omp_set_num_threads(threads);
    if (!plan.ok()) return plan.status();
    onednn::ExecState state(*plan);
    RETURN_IF_ERROR(state.Run({}));

    std::vector<ir::ConstTensorPtr> results(node.num_outputs());
    size_t k = 0;
    for (size_t i = 0; i < out_values.size(); ++i) {
      if (out_values[i] == nullptr) continue;
      const onednn::TensorDesc& desc = (*plan)->values[(*plan)->outputs[k]].desc;
      const void* data = state.output(k++);
      // An output that is one of the inputs (Identity, a no-op Reshape of
      // the same dims) shares its tensor.
      for (const ir::ConstTensorPtr& in : inputs) {
        if (in && in->data() == data && in->dtype() == desc.dtype && in->shape() == desc.dims) {
          results[i] = in;
        }
      }
      if (results[i]) continue;
      ASSIGN_OR_RETURN(Tensor copy, Tensor::Allocate(desc.dtype, desc.dims));
      if (copy.byte_size() > 0) std::memcpy(copy.data(), data, copy.byte_size());
      results[i] = std::make_shared<const Tensor>(std::move(copy));
    }
    return results;
  }
};

}  // namespace

std::shared_ptr<const passes::ConstantEvaluator> MakeKernelConstantEvaluator() {
  return std::make_shared<KernelConstantEvaluator>();
}

passes::PassOptions RuntimePassOptions(bool fold_large_constants) {
  passes::PassOptions options;
  options.evaluator = MakeKernelConstantEvaluator();
  options.fold_large_constants = fold_large_constants;
  return options;
}

}  // namespace bnfold
