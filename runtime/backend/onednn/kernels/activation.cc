// Element-wise activations on oneDNN's eltwise primitive (float32, any
// layout: the output keeps the input's layout, so blocked activations stay
// blocked between convolutions).
#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/kernel_util.h"

namespace bnfold::onednn {

namespace {

class EltwiseKernel : public Kernel {
 public:
  explicit EltwiseKernel(dnnl::algorithm algorithm, float alpha = 0.0f, float beta = 0.0f)
      : algorithm_(algorithm), alpha_(alpha), beta_(beta) {}

  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    if (x.dtype != DataType::kFloat) return UnsupportedType(ctx, 0, "float");
    ctx.AcceptInputLayout(0);
    const dnnl::memory::desc md = x.ToMemoryDesc();
    return CatchDnnl(ctx.Describe(), [&] {
      dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm_, md,
                                       alpha_, beta_);
      dnnl::eltwise_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
      runner_ = PrimitiveRunner(dnnl::eltwise_forward(pd));
      runner_.BindInput(DNNL_ARG_SRC, 0, md);
      runner_.BindOutput(DNNL_ARG_DST, 0, pd.dst_desc());
      runner_.BindScratchpad(pd.scratchpad_desc());
      ctx.SetOutput(0, x.dtype, x.dims, x.is_plain() ? dnnl::memory::desc() : pd.dst_desc());
      ctx.RequestScratchpad(ScratchpadBytes(pd));
    });
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return runner_.CreateState(engine);
  }

  Status Execute(ExecContext& ctx) const override {
    runner_.Execute(ctx);
    return Status::Ok();
  }

 private:
  dnnl::algorithm algorithm_;
  float alpha_, beta_;
  PrimitiveRunner runner_;
};

std::unique_ptr<Kernel> MakeRelu() {
  return std::make_unique<EltwiseKernel>(dnnl::algorithm::eltwise_relu);
}

}  // namespace

void RegisterActivationKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kRelu, MakeRelu);
}

}  // namespace bnfold::onednn
