// Softmax and LogSoftmax.
//
// Before opset 13 the input is flattened to 2-D at `axis` (default 1) and
// normalised over the whole second dim; from opset 13 it is normalised along
// the single dim `axis` (default -1). Both are one view (outer, n, inner)
// normalised along n. float32 runs on oneDNN's softmax/logsoftmax
// primitives; float16, bfloat16 and double in a C++ loop that accumulates in
// double.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// The input viewed as (outer, n, inner), normalised along n.
struct SoftmaxView {
  int64_t outer = 1, n = 1, inner = 1;
  bool log = false;
  int threads = 1;  // the session's thread count
};

template <DataType kType>
void RunSoftmaxLoop(const SoftmaxView& v, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  auto* y = ctx.output_as<typename E::Storage>(0);
  const int64_t rows = v.outer * v.inner;
#pragma omp parallel for schedule(static) num_threads(v.threads) if (rows > 64 && rows * v.n > 32768)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t base = (row / v.inner) * v.n * v.inner + row % v.inner;
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < v.n; ++j) {
      max = std::max(max, static_cast<double>(E::Load(x[base + j * v.inner])));
    }
    double sum = 0.0;
    for (int64_t j = 0; j < v.n; ++j) {
      sum += std::exp(static_cast<double>(E::Load(x[base + j * v.inner])) - max);
    }
    const double log_sum = std::log(sum);
    for (int64_t j = 0; j < v.n; ++j) {
      const double shifted = static_cast<double>(E::Load(x[base + j * v.inner])) - max;
      const double out = v.log ? shifted - log_sum : std::exp(shifted) / sum;
      y[base + j * v.inner] = E::Store(static_cast<typename E::Compute>(out));
    }
  }
}

class SoftmaxKernel : public PrimitiveOrLoopKernel<SoftmaxView> {
 public:
  explicit SoftmaxKernel(bool log) { impl_.loop.log = log; }

  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    const bool bfloat16_allowed = ctx.node().opset() >= 13;
    if ((x.dtype == DataType::kBfloat16 && !bfloat16_allowed) ||
        !DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() {
          impl_.loop_fn = &RunSoftmaxLoop<kType>;
        })) {
      return UnsupportedType(ctx, 0, bfloat16_allowed ? "float16, float, double, bfloat16"
                                                      : "float16, float, double");
    }
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    if (rank == 0) return InvalidModel(ctx.Describe() + ": input must have rank >= 1");
    const bool flatten = ctx.node().opset() < 13;
    ASSIGN_OR_RETURN(int64_t attr_axis, ctx.node().GetInt("axis", flatten ? 1 : -1));
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx, attr_axis, rank));
    impl_.loop.outer = impl_.loop.n = impl_.loop.inner = 1;
    impl_.loop.threads = std::max(1, ctx.threads());
    for (int64_t d = 0; d < rank; ++d) {
      if (d < axis) {
        impl_.loop.outer *= x.dims[d];
      } else if (d == axis || flatten) {
        impl_.loop.n *= x.dims[d];
      } else {
        impl_.loop.inner *= x.dims[d];
      }
    }
    ctx.SetOutput(0, x.dtype, x.dims);
    empty_ = impl_.loop.outer * impl_.loop.n * impl_.loop.inner == 0;
    if (empty_ || x.dtype != DataType::kFloat) return Status::Ok();

    const dnnl::memory::desc md =
        PlainDesc(x.dtype, {impl_.loop.outer, impl_.loop.n, impl_.loop.inner});
    return CatchDnnl(ctx.Describe(), [&] {
      dnnl::primitive primitive;
      dnnl::memory::desc scratchpad;
      if (impl_.loop.log) {
        dnnl::logsoftmax_forward::desc desc(dnnl::prop_kind::forward_inference, md, 1);
        dnnl::logsoftmax_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
        primitive = dnnl::logsoftmax_forward(pd);
        scratchpad = pd.scratchpad_desc();
      } else {
        dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, md, 1);
        dnnl::softmax_forward::primitive_desc pd(desc, DefaultPrimitiveAttr(), ctx.engine());
        primitive = dnnl::softmax_forward(pd);
        scratchpad = pd.scratchpad_desc();
      }
      impl_.runner = PrimitiveRunner(primitive);
      impl_.runner.BindInput(DNNL_ARG_SRC, 0, md);
      impl_.runner.BindOutput(DNNL_ARG_DST, 0, md);
      impl_.runner.BindScratchpad(scratchpad);
      ctx.RequestScratchpad(scratchpad.get_size());
      impl_.use_primitive = true;
    });
  }
};

std::unique_ptr<Kernel> MakeSoftmax() { return std::make_unique<SoftmaxKernel>(false); }
std::unique_ptr<Kernel> MakeLogSoftmax() { return std::make_unique<SoftmaxKernel>(true); }

}  // namespace

void RegisterSoftmaxKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kSoftmax, MakeSoftmax);
  registry.Register(ir::OpKind::kLogSoftmax, MakeLogSoftmax);
}

}  // namespace bnfold::onednn
