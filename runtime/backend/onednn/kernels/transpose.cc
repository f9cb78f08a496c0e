// Ops that permute axes: Transpose (a view under a permuted oneDNN desc
// where it can be, else a copy), DepthToSpace and SpaceToDepth (a 6-D
// transpose). Copies read the input through per-axis offset tables
// (support/axis_map.h); every dtype with a fixed size moves as raw bytes.
#include <limits>
#include <string>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/axis_map_kernel.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// ---------------------------------------------------------------- Transpose

// Whether `layout` is channels-last (nwc, nhwc, ndhwc) for `dims`: what
// NHWC data transposed to NCHW looks like, and what oneDNN's pooling and
// normalization take as well as plain.
bool IsChannelsLast(const dnnl::memory::desc& layout, DataType dtype,
                    const std::vector<int64_t>& dims) {
  using tag = dnnl::memory::format_tag;
  tag channels_last = tag::undef;
  switch (dims.size()) {
    case 3: channels_last = tag::acb; break;
    case 4: channels_last = tag::acdb; break;
    case 5: channels_last = tag::acdeb; break;
    default: return false;
  }
  return layout == dnnl::memory::desc(dnnl::memory::dims(dims.begin(), dims.end()),
                                      ToDnnlType(dtype), channels_last);
}

// Whether a reader of `value` is a pooling or normalization op: they take
// any layout and then may find only oneDNN's slow reference code for an
// unusual one.
bool ReadByLayoutSensitiveOp(const ir::Value& value) {
  for (const ir::Use& use : value.uses()) {
    switch (use.node->kind()) {
      case ir::OpKind::kAveragePool: case ir::OpKind::kMaxPool:
      case ir::OpKind::kGlobalAveragePool: case ir::OpKind::kGlobalMaxPool:
      case ir::OpKind::kBatchNormalization: case ir::OpKind::kInstanceNormalization:
      case ir::OpKind::kLRN:
        return true;
      default:
        break;
    }
  }
  return false;
}

// A Transpose is a view: the input's bytes under a permuted oneDNN desc
// (NHWC data transposed to NCHW is an nhwc-strided NCHW tensor). A consumer
// that takes any layout reads it as is (a Conv whose chosen layout is nhwc
// needs no data movement); the planner reorders it once for the others.
// Copied through the offset tables instead when oneDNN has no type for it,
// would reorder it only with its slow generic code, or when the permuted
// layout is neither plain nor channels-last and a pooling or normalization
// op reads it.
class TransposeKernel : public AxisMapKernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(const std::vector<int64_t> dims, OutputDims(ctx));
    if (TryView(ctx, dims)) return Status::Ok();
    return AxisMapKernel::Compile(ctx);
  }

 private:
  bool TryView(CompileContext& ctx, const std::vector<int64_t>& dims) {
    const TensorDesc& x = ctx.input(0);
    bool identity = true;
    for (size_t i = 0; i < perm_.size(); ++i) identity = identity && perm_[i] == static_cast<int64_t>(i);
    if (identity && x.is_plain()) return ctx.SetOutputView(0, 0, dims);
    if (ToDnnlType(x.dtype) == dnnl::memory::data_type::undef || x.dims.empty() ||
        x.dims.size() > DNNL_MAX_NDIMS || x.num_elements() == 0) {
      return false;
    }
    // oneDNN's permutation maps each input axis to its output position.
    std::vector<int> positions(perm_.size());
    for (size_t j = 0; j < perm_.size(); ++j) positions[perm_[j]] = static_cast<int>(j);
    try {
      dnnl::memory::desc layout = x.ToMemoryDesc().permute_axes(positions);
      if (layout == PlainDesc(x.dtype, dims)) {
        layout = dnnl::memory::desc();
      } else {
        if (!IsChannelsLast(layout, x.dtype, dims) && ctx.node().output(0) != nullptr &&
            ReadByLayoutSensitiveOp(*ctx.node().output(0))) {
          return false;
        }
        const dnnl::reorder::primitive_desc to_plain(ctx.engine(), layout, ctx.engine(),
                                                     PlainDesc(x.dtype, dims));
        const std::string impl = to_plain.impl_info_str();
        if (IsReferenceImpl(to_plain) || impl.rfind("simple", 0) == 0) return false;
      }
      if (!ctx.SetOutputView(0, 0, dims, layout)) return false;
    } catch (const dnnl::error&) {
      return false;
    }
    ctx.AcceptInputLayout(0);
    return true;
  }

  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const std::vector<int64_t>& in = ctx.input(0).dims;
    const int64_t rank = static_cast<int64_t>(in.size());
    std::vector<int64_t> reversed(rank);
    for (int64_t i = 0; i < rank; ++i) reversed[i] = rank - 1 - i;
    ASSIGN_OR_RETURN(perm_, ctx.node().GetInts("perm", reversed));
    std::vector<bool> seen(rank, false);
    bool valid = static_cast<int64_t>(perm_.size()) == rank;
    for (int64_t& p : perm_) {
      if (p < 0) p += rank;  // tolerated, as numpy does
      valid = valid && p >= 0 && p < rank && !seen[p];
      if (valid) seen[p] = true;
    }
    if (!valid) {
      return InvalidModel(ctx.Describe() + ": perm " + ShapeToString(perm_) +
                          " is not a permutation of the " + std::to_string(rank) + " axes");
    }
    std::vector<int64_t> dims(rank);
    for (int64_t i = 0; i < rank; ++i) dims[i] = in[perm_[i]];
    return dims;
  }
  Status BuildTables(CompileContext& ctx, int64_t* const* tables) override {
    TransposeTables(ctx.input(0).dims, perm_, tables);
    return Status::Ok();
  }
  std::vector<int64_t> perm_;
};

// ------------------------------------------------ DepthToSpace/SpaceToDepth

// Both are a reshape to 6-D, a transpose and a reshape back: the tables read
// the 6-D view transposed.
class BlockRearrangeKernel : public AxisMapKernel {
 public:
  explicit BlockRearrangeKernel(bool depth_to_space) : depth_to_space_(depth_to_space) {}

 private:
  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const std::vector<int64_t>& in = ctx.input(0).dims;
    ASSIGN_OR_RETURN(const int64_t b, ctx.node().GetInt("blocksize", 0));
    ASSIGN_OR_RETURN(const std::string mode, ctx.node().GetString("mode", "DCR"));
    if (in.size() != 4) {
      return InvalidModel(ctx.Describe() + ": input must be 4-D, got " + ShapeToString(in));
    }
    if (b <= 0) return InvalidModel(ctx.Describe() + ": blocksize must be positive");
    const int64_t n = in[0], c = in[1], h = in[2], w = in[3];
    // Divisions only: b * b and the output dims overflow for a blocksize
    // near 2^63 (the output holds as many elements as the input, but an
    // empty input bounds nothing).
    constexpr int64_t kMaxDim = std::numeric_limits<int64_t>::max();
    if (depth_to_space_) {
      if (mode != "DCR" && mode != "CRD") {
        return InvalidModel(ctx.Describe() + ": unknown mode '" + mode + "'");
      }
      if (c % b != 0 || (c / b) % b != 0) {
        return InvalidModel(ctx.Describe() + ": channels " + std::to_string(c) +
                            " are not divisible by blocksize^2 (blocksize " + std::to_string(b) +
                            ")");
      }
      if (h > kMaxDim / b || w > kMaxDim / b) {
        return InvalidModel(ctx.Describe() + ": blocksize " + std::to_string(b) +
                            " times the spatial dims " + ShapeToString(in) +
                            " does not fit in 64 bits");
      }
      const int64_t c_out = c / b / b;
      if (mode == "DCR") {
        view_ = {n, b, b, c_out, h, w};
        perm_ = {0, 3, 4, 1, 5, 2};
      } else {
        view_ = {n, c_out, b, b, h, w};
        perm_ = {0, 1, 4, 2, 5, 3};
      }
      table_dims_ = {n, c_out, h, b, w, b};
      return std::vector<int64_t>{n, c_out, h * b, w * b};
    }
    if (h % b != 0 || w % b != 0) {
      return InvalidModel(ctx.Describe() + ": spatial dims " + ShapeToString(in) +
                          " are not divisible by the blocksize");
    }
    if (c > kMaxDim / b / b) {
      return InvalidModel(ctx.Describe() + ": channels " + std::to_string(c) + " times blocksize^2 (" +
                          std::to_string(b) + "^2) does not fit in 64 bits");
    }
    view_ = {n, c, h / b, b, w / b, b};
    perm_ = {0, 3, 5, 1, 2, 4};
    table_dims_ = {n, b, b, c, h / b, w / b};
    return std::vector<int64_t>{n, c * b * b, h / b, w / b};
  }
  Status BuildTables(CompileContext&, int64_t* const* tables) override {
    TransposeTables(view_, perm_, tables);
    return Status::Ok();
  }

  bool depth_to_space_;
  std::vector<int64_t> view_, perm_;
};

std::unique_ptr<Kernel> MakeDepthToSpace() {
  return std::make_unique<BlockRearrangeKernel>(/*depth_to_space=*/true);
}
std::unique_ptr<Kernel> MakeSpaceToDepth() {
  return std::make_unique<BlockRearrangeKernel>(/*depth_to_space=*/false);
}

}  // namespace

void RegisterTransposeKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kTranspose, MakeKernel<TransposeKernel>);
  registry.Register(ir::OpKind::kDepthToSpace, MakeDepthToSpace);
  registry.Register(ir::OpKind::kSpaceToDepth, MakeSpaceToDepth);
}

}  // namespace bnfold::onednn
