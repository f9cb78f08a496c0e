#include "runtime/backend/onednn/kernels/reorder.h"

#include "runtime/backend/onednn/plan.h"

namespace bnfold::onednn {

ReorderKernel::ReorderKernel(const dnnl::memory::desc& src, const dnnl::memory::desc& dst) {
  dnnl::reorder::primitive_desc pd(CpuEngine(), src, CpuEngine(), dst);
  runner_.set_primitive(dnnl::reorder(pd));
  runner_.BindInput(DNNL_ARG_FROM, 0, src);
  runner_.BindOutput(DNNL_ARG_TO, 0, dst);
}

Status ReorderKernel::Compile(CompileContext& ctx) {
  return Internal(ctx.Describe() + ": ReorderKernel is created by the planner only");
}

Status ReorderKernel::Execute(ExecContext& ctx) const {
  runner_.Execute(ctx);
  return Status::Ok();
}

}  // namespace bnfold::onednn
