#include "runtime/backend/onednn/reorder.h"

#include "runtime/backend/onednn/winograd_weights.h"
#include "runtime/backend/onednn/plan.h"

namespace bnfold::onednn {

void ReorderConstantInto(const void* data, const dnnl::memory::desc& plain,
                         const dnnl::memory::desc& target, void* out,
                         const dnnl::engine& engine) {
  if (CanTransformWinogradWeights(plain, target)) {
    TransformWinogradWeights(static_cast<const float*>(data), plain, target, out);
    return;
  }
  dnnl::memory src(plain, engine, const_cast<void*>(data));
  dnnl::memory dst(target, engine, out);
  dnnl::stream stream(engine);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
}

dnnl::memory ReorderConstant(const Tensor& data, const dnnl::memory::desc& plain,
                             const dnnl::memory::desc& target, const dnnl::engine& engine) {
  dnnl::memory dst(target, engine);
  ReorderConstantInto(data.data(), plain, target, dst.get_data_handle(), engine);
  return dst;
}

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
