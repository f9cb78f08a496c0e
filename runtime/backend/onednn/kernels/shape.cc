// Shape: the input's dims (opset 15's start/end), known once the plan is
// compiled for concrete shapes, so a constant of the plan.
#include <algorithm>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Shape (with opset 15's start/end): known once the input dims are, so it is
// a constant of the plan.
class ShapeKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::vector<int64_t>& dims = ctx.input(0).dims;
    const int64_t rank = static_cast<int64_t>(dims.size());
    ASSIGN_OR_RETURN(int64_t start, ctx.node().GetInt("start", 0));
    ASSIGN_OR_RETURN(int64_t end, ctx.node().GetInt("end", rank));
    if (ctx.node().opset() < 15) start = 0, end = rank;
    auto clamp = [rank](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
    start = clamp(start);
    end = std::max(start, clamp(end));
    ctx.AcceptInputLayout(0);  // only the dims are read
    ASSIGN_OR_RETURN(Tensor shape, Tensor::Allocate(DataType::kInt64, {end - start}));
    std::copy(dims.begin() + start, dims.begin() + end, shape.data_as<int64_t>());
    ctx.SetConstantOutput(0, std::move(shape));
    return Status::Ok();
  }
  Status Execute(ExecContext&) const override { return Status::Ok(); }
};

}  // namespace

void RegisterShapeKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kShape, MakeKernel<ShapeKernel>);
}

}  // namespace bnfold::onednn
