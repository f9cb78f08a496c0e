// Conv on oneDNN's convolution_forward and ConvTranspose on
// deconvolution_forward: 1D/2D/3D, groups incl. depthwise, dilations,
// strides, pads, auto_pad, optional bias; ConvTranspose also output_padding
// and output_shape. Constant weights take the layout oneDNN prefers,
// reordered once at compile time (see PlaceWeights). Activations stay
// blocked between primitives; which layout, in order of preference (see
// Variants; the first oneDNN runs fast wins):
//  - a 2-D Conv with at most 8 output channels and constant weights runs
//    on NarrowOutputConv (narrow_conv.h), nChw16c in, nhwc out: oneDNN
//    computes 16 channels for them (fcn's last layer 3x faster);
//  - a dense 3x3 stride-1 2-D Conv runs oneDNN's Winograd algorithm in
//    nChw16c: 2-4x faster than direct on AVX-512 and as accurate here
//    (ResNet-50's logits sit 1.8e-5 of their scale from ONNX Runtime's,
//    1.5e-5 with direct);
//  - 2-D convolutions use nChw16c, which oneDNN's direct, 1x1 and depthwise
//    kernels share. oneDNN itself picks nhwc and its brgemm kernels
//    (brgconv, brgconv_1x1, brdgmm_dw); on this AVX-512 machine those lose:
//    MobileNetV2 at batch 8 13% slower; at batch 1 1% (1 thread, idle
//    machine; 4% when the other cores are busy) slower, the same with 2
//    threads; fcn at batch 1 20% slower. Per layer: the 112x112 and 56x56
//    1x1 convolutions run 20-45% faster in jit_1x1 and the depthwise ones
//    5-30% faster in jit_dw, only the 7x7 1x1 ones are 5-10% faster in
//    brgconv_1x1 (switching layout there for them gained nothing: the
//    reorder and brdgmm_dw eat it). The first convolution then reads the
//    plain image (no reorder step), and a 1x1 can take the depthwise
//    convolution after it as a post-op (fusion.h);
//  - a blocked input is read in the layout it arrives in (no reorder);
//  - at batch 2 or more a Winograd convolution runs image by image (see
//    SplitsImages and image_split.h);
//  - else the layouts oneDNN prefers (format any).
// Fused followers (fusion.h) become post-ops of the primitive, a depthwise
// 3x3 after a 1x1 included.
// float16/bfloat16/float64 run through F32Bridge.
#include <type_traits>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/conv_geometry.h"
#include "runtime/backend/onednn/kernels/support/conv_weights.h"
#include "runtime/backend/onednn/kernels/support/f32_bridge.h"
#include "runtime/backend/onednn/kernels/support/image_split.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/post_ops.h"
#include "runtime/backend/onednn/kernels/x86/narrow_conv.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// What differs between Conv and ConvTranspose.
struct ConvOp {
  using Primitive = dnnl::convolution_forward;
  static constexpr dnnl::algorithm kAlgorithm = dnnl::algorithm::convolution_direct;
  static constexpr bool kHasWinograd = true;
  static constexpr auto Geometry = ComputeConvGeometry;
  static constexpr auto Weights = ConvWeightsMapping;
};

struct ConvTransposeOp {
  using Primitive = dnnl::deconvolution_forward;
  static constexpr dnnl::algorithm kAlgorithm = dnnl::algorithm::deconvolution_direct;
  static constexpr bool kHasWinograd = false;
  static constexpr auto Geometry = ComputeConvTransposeGeometry;
  static constexpr auto Weights = ConvTransposeWeightsMapping;
};

template <typename Op>
class ConvFamilyKernel : public Kernel {
 public:
  explicit ConvFamilyKernel(bool plain_only) : plain_only_(plain_only) {}

  Status Compile(CompileContext& ctx) override {
    if (ctx.num_inputs() < 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
      return InvalidModel(ctx.Describe() + ": needs inputs X and W");
    }
    const bool has_bias = ctx.num_inputs() > 2 && ctx.has_input(2);
    for (int i = 0; i < (has_bias ? 3 : 2); ++i) {
      if (ctx.input(i).dtype != DataType::kFloat) {
        return UnsupportedType(ctx, i, "float, float16, bfloat16, double (all alike)");
      }
    }
    ASSIGN_OR_RETURN(ConvGeometry g, Op::Geometry(ctx, ctx.input(0).dims, ctx.input(1).dims));
    if (has_bias && ctx.input(2).dims != std::vector<int64_t>{g.out_channels}) {
      return InvalidModel(ctx.Describe() + ": bias B has shape " +
                          ShapeToString(ctx.input(2).dims) + ", expected [" +
                          std::to_string(g.out_channels) + "]");
    }
    for (int64_t d : g.output_dims) empty_ = empty_ || d == 0;
    if (empty_) {  // oneDNN refuses zero-sized tensors; nothing to compute
      ctx.SetOutput(0, DataType::kFloat, g.output_dims);
      return Status::Ok();
    }
    if (g.in_channels == 0) return Unsupported(ctx.Describe() + ": X has no channels");
    return CompileWithPostOps(ctx, [&](size_t fused) { Build(ctx, g, has_bias, fused); });
  }

  const char* Implementation() const override {
    return narrow_ ? "bnfold narrow_conv:avx512" : nullptr;
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    if (empty_ || narrow_) return nullptr;
    return split_ ? per_image_.CreateState(engine) : runner_.CreateState(engine);
  }

  Status Execute(ExecContext& ctx) const override {
    if (empty_) return Status::Ok();
    if (narrow_) {
      narrow_->Run(ctx.input_as<float>(0), narrow_bias_ ? ctx.input_as<float>(2) : nullptr,
                   ctx.output_as<float>(0), threads_);
    } else if (split_) {
      per_image_.Execute(ctx);
    } else {
      runner_.Execute(ctx);
    }
    return Status::Ok();
  }

 private:
  using PrimitiveDesc = typename Op::Primitive::primitive_desc;

  // One way to build the primitive: its algorithm and activation layouts
  // (format any: oneDNN chooses).
  struct Variant {
    dnnl::algorithm algorithm;
    dnnl::memory::desc src;
    dnnl::memory::desc dst;
  };

  // Winograd trades multiplications for transforms of every input tile;
  // with few input channels the transforms dominate (Keras' first conv on a
  // 1-channel 28x28 image: 20 GFLOP/s under Winograd), so it needs a full
  // vector's worth of input channels.
  static bool IsWinogradShape(const ConvGeometry& g) {
    const std::vector<int64_t> ones = {1, 1};
    return g.group == 1 && g.in_channels >= 16 && g.kernel == std::vector<int64_t>{3, 3} &&
           g.strides == ones && g.dilations == ones;
  }

  // In order of preference (see the file comment). `fixed_dst`, when not
  // zero, is the dst layout post-ops require.
  std::vector<Variant> Variants(const TensorDesc& x, const ConvGeometry& g,
                                const dnnl::memory::dims& out_dims,
                                const dnnl::memory::desc& fixed_dst) const {
    using tag = dnnl::memory::format_tag;
    const auto f32 = dnnl::memory::data_type::f32;
    auto dst = [&](tag t) {
      return fixed_dst.is_zero() ? dnnl::memory::desc(out_dims, f32, t) : fixed_dst;
    };
    if (plain_only_) {
      const tag plain = PlainTag(x.dims.size());
      return {{Op::kAlgorithm, dnnl::memory::desc(x.dims, f32, plain), dst(plain)}};
    }
    std::vector<Variant> variants;
    if (Op::kHasWinograd && IsWinogradShape(g)) {
      variants.push_back({dnnl::algorithm::convolution_winograd,
                          dnnl::memory::desc(x.dims, f32, tag::nChw16c), dst(tag::nChw16c)});
    }
    if (x.dims.size() == 4) {
      // A narrow input (an image's 3 channels) is read as it is rather than
      // padded to 16 channels.
      const bool narrow = g.group == 1 && g.in_channels < 16;
      variants.push_back({Op::kAlgorithm,
                          dnnl::memory::desc(x.dims, f32, narrow ? tag::any : tag::nChw16c),
                          dst(tag::nChw16c)});
    }
    if (!x.is_plain()) variants.push_back({Op::kAlgorithm, x.layout, dst(tag::any)});
    variants.push_back({Op::kAlgorithm, dnnl::memory::desc(x.dims, f32, tag::any), dst(tag::any)});
    return variants;
  }

  // With the first `fused` post-ops offered by the planner, in the first
  // variant oneDNN builds fast. May run more than once (see
  // CompileWithPostOps).
  void Build(CompileContext& ctx, const ConvGeometry& g, bool has_bias, size_t fused) {
    if constexpr (Op::kHasWinograd) {  // Conv, not ConvTranspose
      if (!plain_only_ && BuildNarrow(ctx, g, has_bias, fused)) return;
    }
    const dnnl::memory::dims out_dims(g.output_dims.begin(), g.output_dims.end());
    dnnl::primitive_attr attr = DefaultPrimitiveAttr();
    std::vector<PostOpOperand> operands;
    dnnl::memory::desc fixed_dst;
    if (fused > 0) {
      dnnl::post_ops ops;
      AppendPostOps(*ctx.post_ops(), fused, out_dims, &ops, &operands);
      attr.set_post_ops(ops);
      fixed_dst = PostOpDstDesc(*ctx.post_ops(), fused, out_dims);
    }
    const bool depthwise = fused > 0 && HasDepthwisePostOp(*ctx.post_ops(), fused);
    const std::vector<Variant> variants = Variants(ctx.input(0), g, out_dims, fixed_dst);
    for (size_t i = 0; i < variants.size(); ++i) {
      const bool last = i + 1 == variants.size();
      try {
        // A preferred variant must be fast; the last one only when it
        // carries post-ops (the followers could run apart instead).
        const bool refuse_slow = !last || fused > 0;
        if (operands.empty() && !depthwise && SplitsImages(g, variants[i])) {
          try {
            BuildVariant(ctx, g, has_bias, variants[i], attr, fused, depthwise, refuse_slow,
                         /*split=*/true);
            return;
          } catch (const dnnl::error&) {
            // No fast batch-1 primitive: run the batch as a whole.
          }
        }
        BuildVariant(ctx, g, has_bias, variants[i], attr, fused, depthwise, refuse_slow,
                     /*split=*/false);
        BindPostOpOperands(operands, &runner_);
        return;
      } catch (const dnnl::error&) {
        if (last) throw;
      }
    }
  }

  // NarrowOutputConv when it applies (constant weights, few output
  // channels): true when built. Throws dnnl::error when it would apply but
  // not with the first `fused` post-ops (at most one Relu/LeakyRelu or
  // Clip), so that CompileWithPostOps offers fewer.
  bool BuildNarrow(CompileContext& ctx, const ConvGeometry& g, bool has_bias, size_t fused) {
    narrow_.reset();
    const Tensor* weights = ctx.constant_input(1);
    if (weights == nullptr || !NarrowOutputConv::Applies(g, ctx.input(0).dims)) return false;
    if (fused > 1) throw dnnl::error(dnnl_unimplemented, "narrow conv: one activation at most");
    std::optional<VectorActivation> activation;
    if (fused == 1) {
      activation = VectorActivationOf(ctx.post_ops()->ops[0]);
      if (!activation) throw dnnl::error(dnnl_unimplemented, "narrow conv: not this post-op");
    }
    narrow_ = NarrowOutputConv::Create(g, ctx.input(0).dims, weights->data_as<float>(), activation);
    if (!narrow_) return false;  // out of memory: oneDNN's way
    narrow_bias_ = has_bias;
    threads_ = ctx.threads();
    ctx.RequireInputLayout(0, NarrowOutputConv::InputLayout(ctx.input(0).dims));
    ctx.SetOutput(0, DataType::kFloat, g.output_dims,
                  NarrowOutputConv::OutputLayout(g.output_dims));
    return true;
  }

  // `depthwise`: the first `fused` post-ops hold a `dw`.
  void BuildVariant(CompileContext& ctx, const ConvGeometry& g, bool has_bias,
                    const Variant& variant, const dnnl::primitive_attr& attr, size_t fused,
                    bool depthwise, bool refuse_slow, bool split) {
    const auto f32 = dnnl::memory::data_type::f32;
    runner_ = PrimitiveRunner();
    split_ = false;
    per_image_ = PerImageRunner();
    const int64_t images = g.output_dims[0];
    // Split: the primitive sees one image.
    const dnnl::memory::desc src = split ? OneImageDesc(variant.src) : variant.src;
    const dnnl::memory::desc dst = split ? OneImageDesc(variant.dst) : variant.dst;
    if (src.is_zero() || dst.is_zero()) {
      throw dnnl::error(dnnl_unimplemented, "images are not contiguous");
    }
    const dnnl::memory::desc bias_md =
        has_bias ? dnnl::memory::desc({g.out_channels}, f32, dnnl::memory::format_tag::a)
                 : dnnl::memory::desc();
    const std::function<PrimitiveDesc(const dnnl::memory::desc&)> make_pd =
        [&](const dnnl::memory::desc& weights_md) {
          typename Op::Primitive::desc desc(dnnl::prop_kind::forward_inference,
                                            variant.algorithm, src, weights_md, bias_md,
                                            dst, g.strides, g.DnnlDilations(),
                                            g.pads_begin, g.pads_end);
          PrimitiveDesc pd(desc, attr, ctx.engine());
          if (refuse_slow) RefuseSlowImplementation(pd, /*gemm_is_slow=*/true);
          return pd;
        };
    PrimitiveDesc pd;
    PlaceWeights<PrimitiveDesc>(ctx, 1, DNNL_ARG_WEIGHTS, Op::Weights(ctx.input(1).dims, g.group),
                                plain_only_, make_pd, &pd, &runner_);
    // A fused depthwise post-op (fusion.h) makes the dst its output.
    std::vector<int64_t> output_dims = g.output_dims;
    if (depthwise) {
      const dnnl::memory::dims want = PostOpOutputDims(
          *ctx.post_ops(), fused, dnnl::memory::dims(output_dims.begin(), output_dims.end()));
      if (pd.dst_desc().dims() != want) {
        throw dnnl::error(dnnl_unimplemented, "depthwise post-op output differs from ONNX's");
      }
      output_dims.assign(want.begin(), want.end());
      BindDepthwiseOperands(*ctx.post_ops(), fused, pd, ctx.engine(), &runner_);
    }
    // The layouts of the whole batch.
    const dnnl::memory::desc all_src =
        split ? AllImagesDesc(pd.src_desc(), images) : pd.src_desc();
    const dnnl::memory::desc all_dst =
        split ? AllImagesDesc(pd.dst_desc(), images) : pd.dst_desc();
    if (all_src.is_zero() || all_dst.is_zero()) {
      throw dnnl::error(dnnl_unimplemented, "images are not contiguous");
    }
    // The planner reorders the input unless it already has the chosen layout.
    ctx.RequireInputLayout(0, all_src);
    runner_.set_primitive(typename Op::Primitive(pd));
    runner_.BindInput(DNNL_ARG_SRC, 0, pd.src_desc());
    if (has_bias) runner_.BindInput(DNNL_ARG_BIAS, 2, bias_md);
    runner_.BindOutput(DNNL_ARG_DST, 0, pd.dst_desc());
    runner_.BindScratchpad(pd.scratchpad_desc());
    ctx.RequestScratchpad(ScratchpadBytes(pd));
    ctx.SetOutput(0, DataType::kFloat, output_dims,
                  LayoutOrPlain(all_dst, DataType::kFloat, output_dims));
    if (split) {
      std::vector<size_t> input_strides(ctx.num_inputs(), 0);
      input_strides[0] = pd.src_desc().get_size();
      per_image_ = PerImageRunner(std::move(runner_), images, RunsImagesReversed(ctx.convolution_depth()),
                                  std::move(input_strides), {pd.dst_desc().get_size()});
      runner_ = PrimitiveRunner();
      split_ = true;
    }
  }

  // Whether to run the batch image by image (image_split.h): Winograd at
  // batch 2 or more with an output of at most 14x14. oneDNN's fused
  // Winograd kernel (jit_fp32_wino_2x3) exists for one image only; for a
  // batch it runs jit_wino_4x3, whose output the next layer reads back from
  // memory. Per layer, batched -> split (summed over the model's layers of
  // that shape, ms): ResNet-50 at batch 8, 1 thread: 7x7x512 16.7 -> 13.4,
  // 14x14x256 25.2 -> 22.4, but 28x28x128 13.3 -> 12.8 (4x3 again) and
  // 56x56x64 12.3 -> 16.0 (2 threads alike); keras_cnn at batch 32 (14x14,
  // 32->64 channels): conv 0.58 -> 0.55 and the MaxPool after it 0.098 ->
  // 0.027, the model 1.00 -> 0.88 ms (2 threads: 0.74 -> 0.68 ms). Direct
  // convolutions gain little so (MobileNetV2 at batch 8: 1%) and stay
  // batched.
  static bool SplitsImages(const ConvGeometry& g, const Variant& variant) {
    constexpr int64_t kMaxSplitPixels = 14 * 14;
    return variant.algorithm == dnnl::algorithm::convolution_winograd &&
           g.output_dims.size() == 4 && g.output_dims[0] >= 2 &&
           g.output_dims[2] * g.output_dims[3] <= kMaxSplitPixels;
  }

  bool plain_only_;
  bool empty_ = false;
  PrimitiveRunner runner_;
  bool split_ = false;  // runs per_image_ instead of runner_
  PerImageRunner per_image_;
  std::shared_ptr<const NarrowOutputConv> narrow_;  // instead of either
  bool narrow_bias_ = false;
  int threads_ = 1;
};

}  // namespace

void RegisterConvKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kConv, MakeFloatKernel<ConvFamilyKernel<ConvOp>>);
  registry.Register(ir::OpKind::kConvTranspose, MakeFloatKernel<ConvFamilyKernel<ConvTransposeOp>>);
}

}  // namespace bnfold::onednn
