// Types and shapes of the network ops: convolutions, pooling, Gemm/MatMul,
// reductions, Resize/Upsample, DepthToSpace/SpaceToDepth. The arithmetic is
// the kernels' (runtime/backend/onednn/kernels): the planner checks every
// shape it computes against these.
#include <cmath>

#include "runtime/common/status_macros.h"
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

namespace {

// Input i's shape, or `rank` unknown dims when only the rank is known.
StaticShape ShapeOrUnknown(const InferContext& ctx, int i, int rank) {
  return ctx.shape(i) ? *ctx.shape(i) : UnknownDims(static_cast<size_t>(rank));
}

using Wide = __int128;

Wide EffectiveKernel(int64_t kernel, int64_t dilation) {
  return (Wide{kernel} - 1) * dilation + 1;
}

// ---------------------------------------------------------------- Conv

Status ConvRule(InferContext& ctx) {
  const bool transpose = ctx.node().kind() == OpKind::kConvTranspose;
  ctx.SetType(0, FirstKnownType(ctx, {0, 1, 2}));
  const int rank = ctx.rank(0) >= 0 ? ctx.rank(0) : ctx.rank(1);
  if (rank < 0) return Status::Ok();
  if (rank < 3) return ctx.Error("X must have rank >= 3 (N x C x D1 ...), got " + std::to_string(rank));
  if (ctx.rank(1) >= 0 && ctx.rank(1) != rank) {
    return ctx.Error("W has rank " + std::to_string(ctx.rank(1)) + ", X rank " +
                     std::to_string(rank));
  }
  const StaticShape x = ShapeOrUnknown(ctx, 0, rank);
  const StaticShape w = ShapeOrUnknown(ctx, 1, rank);
  const ConvAttrs& a = ctx.node().attrs<ConvAttrs>();
  const size_t spatial = static_cast<size_t>(rank - 2);
  StaticShape out = {x[0]};
  if (!transpose) {
    out.push_back(w[0]);
  } else {
    out.push_back(w[1].is_fixed() ? CheckedDim(Wide{w[1].value} * a.group) : Dim{});
  }
  std::vector<int64_t> output_shape = a.output_shape;
  if (output_shape.size() == spatial + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  for (size_t i = 0; i < spatial; ++i) {
    const Dim& in = x[i + 2];
    const int64_t s = a.stride(i);
    const Dim k = i < a.kernel_shape.size() ? FixedDim(a.kernel_shape[i]) : w[i + 2];
    if (s < 1 || a.dilation(i) < 1) return ctx.Error("strides and dilations must be positive");
    if (transpose && output_shape.size() == spatial) {
      out.push_back(FixedDim(output_shape[i]));
      continue;
    }
    if (!in.is_fixed()) {
      out.push_back(Dim{});
      continue;
    }
    const bool same = a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower;
    if (same) {
      out.push_back(CheckedDim(transpose ? Wide{in.value} * s : (Wide{in.value} + s - 1) / s));
      continue;
    }
    if (!k.is_fixed()) {
      out.push_back(Dim{});
      continue;
    }
    const Wide eff = EffectiveKernel(k.value, a.dilation(i));
    const Wide pads = Wide{a.pad_begin(i)} + a.pad_end(i, spatial);
    if (transpose) {
      const int64_t padding = i < a.output_padding.size() ? a.output_padding[i] : 0;
      const Wide size = Wide{s} * (in.value - 1) + padding + eff - pads;
      if (size < 1) return ctx.Error("pads leave no output on spatial axis " + std::to_string(i));
      out.push_back(CheckedDim(size));
    } else {
      const Wide padded = in.value + pads;
      if (padded < eff) {
        return ctx.Error("spatial axis " + std::to_string(i) +
                         " (padded) is smaller than the dilated kernel");
      }
      out.push_back(CheckedDim((padded - eff) / s + 1));
    }
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// ---------------------------------------------------------------- pooling

// MaxPool and AveragePool: [N, C, out...] with ONNX's output size; a last
// window that would start in the end padding (ceil_mode) is dropped, as
// the kernels, PyTorch and ONNX Runtime do. MaxPool's Indices are int64.
Status PoolRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  ctx.SetType(1, DataType::kInt64);
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  if (rank < 3) return ctx.Error("X must have rank >= 3, got " + std::to_string(rank));
  const size_t n = static_cast<size_t>(rank - 2);
  const Node& node = ctx.node();
  ASSIGN_OR_RETURN(const std::vector<int64_t> kernel, node.GetInts("kernel_shape", {}));
  ASSIGN_OR_RETURN(const std::vector<int64_t> strides,
                   node.GetInts("strides", std::vector<int64_t>(n, 1)));
  ASSIGN_OR_RETURN(const std::vector<int64_t> dilations,
                   node.GetInts("dilations", std::vector<int64_t>(n, 1)));
  ASSIGN_OR_RETURN(const std::vector<int64_t> pads,
                   node.GetInts("pads", std::vector<int64_t>(2 * n, 0)));
  ASSIGN_OR_RETURN(const std::string auto_pad, node.GetString("auto_pad", "NOTSET"));
  ASSIGN_OR_RETURN(const int64_t ceil_mode, node.GetInt("ceil_mode", 0));
  if (kernel.size() != n || strides.size() != n || dilations.size() != n || pads.size() != 2 * n) {
    return ctx.Error("kernel_shape, strides, dilations and pads do not fit " +
                     std::to_string(n) + " spatial dims");
  }
  const StaticShape& x = *ctx.shape(0);
  StaticShape out = {x[0], x[1]};
  for (size_t d = 0; d < n; ++d) {
    const Dim& in = x[d + 2];
    const int64_t s = strides[d];
    if (s < 1 || kernel[d] < 1 || dilations[d] < 1) {
      return ctx.Error("kernel_shape, strides and dilations must be positive");
    }
    if (!in.is_fixed()) {
      out.push_back(Dim{});
      continue;
    }
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out.push_back(CheckedDim((Wide{in.value} + s - 1) / s));
      continue;
    }
    const Wide begin = auto_pad == "VALID" ? 0 : pads[d];
    const Wide end = auto_pad == "VALID" ? 0 : pads[d + n];
    const Wide span = in.value + begin + end - EffectiveKernel(kernel[d], dilations[d]);
    if (span < 0) return ctx.Error("the pooling window is larger than the padded input");
    Wide size = span / s + 1;
    if (ceil_mode && span % s != 0) {
      ++size;
      if ((size - 1) * s >= in.value + begin) --size;
    }
    out.push_back(CheckedDim(size));
  }
  ctx.SetShape(0, out);
  ctx.SetShape(1, std::move(out));
  return Status::Ok();
}

Status GlobalPoolRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  if (rank < 2) return ctx.Error("X must have rank >= 2, got " + std::to_string(rank));
  StaticShape out = *ctx.shape(0);
  for (size_t d = 2; d < out.size(); ++d) out[d] = FixedDim(1);
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// ---------------------------------------------------------------- Gemm, MatMul

Status GemmRule(InferContext& ctx) {
  ctx.SetType(0, FirstKnownType(ctx, {0, 1, 2}));
  if ((ctx.rank(0) >= 0 && ctx.rank(0) != 2) || (ctx.rank(1) >= 0 && ctx.rank(1) != 2)) {
    return ctx.Error("A and B must be matrices");
  }
  const GemmAttrs& a = ctx.node().attrs<GemmAttrs>();
  const StaticShape sa = ShapeOrUnknown(ctx, 0, 2), sb = ShapeOrUnknown(ctx, 1, 2);
  const Dim& ka = a.trans_a ? sa[0] : sa[1];
  const Dim& kb = a.trans_b ? sb[1] : sb[0];
  if (ka.is_fixed() && kb.is_fixed() && ka.value != kb.value) {
    return ctx.Error("A and B do not share the inner dimension (" + std::to_string(ka.value) +
                     " vs " + std::to_string(kb.value) + ")");
  }
  ctx.SetShape(0, {a.trans_a ? sa[1] : sa[0], a.trans_b ? sb[0] : sb[1]});
  return Status::Ok();
}

// numpy.matmul: 1-D operands gain (and lose) a unit dim; batch dims broadcast.
Status MatMulRule(InferContext& ctx) {
  ctx.SetType(0, FirstKnownType(ctx, {0, 1}));
  if (!ctx.shape(0) || !ctx.shape(1)) return Status::Ok();
  StaticShape a = *ctx.shape(0), b = *ctx.shape(1);
  if (a.empty() || b.empty()) return ctx.Error("MatMul operands must have rank >= 1");
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), FixedDim(1));
  if (b_vector) b.push_back(FixedDim(1));
  const Dim& ka = a.back();
  const Dim& kb = b[b.size() - 2];
  if (ka.is_fixed() && kb.is_fixed() && ka.value != kb.value) {
    return ctx.Error("A and B do not share the inner dimension (" + std::to_string(ka.value) +
                     " vs " + std::to_string(kb.value) + ")");
  }
  StatusOr<StaticShape> batch = BroadcastShapes(StaticShape(a.begin(), a.end() - 2),
                                                StaticShape(b.begin(), b.end() - 2));
  if (!batch.ok()) return ctx.Error("batch dims: " + batch.status().message());
  StaticShape out = std::move(*batch);
  if (!a_vector) out.push_back(a[a.size() - 2]);
  if (!b_vector) out.push_back(b.back());
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// ---------------------------------------------------------------- Reduce*

// Axes are an attribute until ReduceSum-13 / the others' opset 18, an
// optional input after; empty axes reduce everything (or, with
// noop_with_empty_axes, nothing).
Status ReduceRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const Node& node = ctx.node();
  const bool axes_input = node.opset() >= (node.kind() == OpKind::kReduceSum ? 13 : 18);
  ASSIGN_OR_RETURN(const int64_t keepdims, node.GetInt("keepdims", 1));
  const int rank = ctx.rank(0);
  std::optional<std::vector<int64_t>> axes;
  int64_t noop = 0;
  if (!axes_input) {
    ASSIGN_OR_RETURN(axes, node.GetInts("axes", {}));
  } else {
    ASSIGN_OR_RETURN(noop, node.GetInt("noop_with_empty_axes", 0));
    axes = ctx.has_input(1) ? ctx.known_ints(1) : std::vector<int64_t>{};
  }
  if (rank < 0) return Status::Ok();
  if (!axes) {
    if (keepdims) ctx.SetShape(0, UnknownDims(static_cast<size_t>(rank)));
    return Status::Ok();
  }
  const StaticShape& x = *ctx.shape(0);
  if (axes->empty() && noop) {
    ctx.SetShape(0, x);
    return Status::Ok();
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), axes->empty());
  for (int64_t axis : *axes) {
    StatusOr<int64_t> a = NormalizeAxis(axis, rank, "axis");
    if (!a.ok()) return ctx.Error(a.status().message());
    if (reduced[*a] && !axes->empty()) return ctx.Error("axis " + std::to_string(axis) + " is repeated");
    reduced[*a] = true;
  }
  StaticShape out;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[d]) out.push_back(x[d]);
    else if (keepdims) out.push_back(FixedDim(1));
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// ---------------------------------------------------------------- Resize

// The float elements of constant input i, or nullopt.
std::optional<std::vector<double>> ConstantReals(const InferContext& ctx, int i) {
  const Tensor* t = ctx.constant(i);
  if (t == nullptr || !IsFloatingPoint(t->dtype())) return std::nullopt;
  std::vector<double> v(static_cast<size_t>(t->num_elements()));
  for (size_t k = 0; k < v.size(); ++k) v[k] = t->GetAsDouble(static_cast<int64_t>(k));
  return v;
}

// Whether input i is present and not an empty tensor (Resize-11+ marks an
// unused scales/sizes with an empty one).
bool NonEmpty(const InferContext& ctx, int i) {
  if (!ctx.has_input(i)) return false;
  const std::optional<StaticShape>& s = ctx.shape(i);
  return !(s && s->size() == 1 && (*s)[0].is_fixed() && (*s)[0].value == 0);
}

// Resize and Upsample: the input's rank; each resized dim floor(in * scale)
// or the given size (keep_aspect_ratio_policy scales every axis alike).
Status ResizeRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  const Node& node = ctx.node();
  const bool upsample = node.kind() == OpKind::kUpsample;
  const bool legacy = upsample || node.opset() < 11;
  std::optional<std::vector<double>> scales;
  const SymInts* sizes = nullptr;
  bool operands_known = true;
  if (upsample && node.opset() < 9) {
    ASSIGN_OR_RETURN(const std::vector<float> s, node.GetFloats("scales", {}));
    scales = std::vector<double>(s.begin(), s.end());
  } else if (legacy) {
    scales = ConstantReals(ctx, 1);
    operands_known = scales.has_value();
  } else if (NonEmpty(ctx, 2)) {
    scales = ConstantReals(ctx, 2);
    operands_known = scales.has_value();
  } else if (NonEmpty(ctx, 3)) {
    sizes = ctx.ints(3);
    operands_known = sizes != nullptr;
  } else {
    return ctx.Error("exactly one of scales and sizes must be given");
  }
  const StaticShape x = *ctx.shape(0);
  if (!operands_known) {
    ctx.SetShape(0, UnknownDims(x.size()));
    return Status::Ok();
  }
  std::vector<int64_t> axes;
  if (!legacy && node.opset() >= 18) {
    ASSIGN_OR_RETURN(axes, node.GetInts("axes", {}));
  }
  if (axes.empty()) {
    for (int d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (int64_t& axis : axes) {
    StatusOr<int64_t> a = NormalizeAxis(axis, rank, "axis");
    if (!a.ok()) return ctx.Error(a.status().message());
    axis = *a;
  }
  StaticShape out = x;
  if (scales) {
    if (scales->size() != axes.size()) {
      return ctx.Error(std::to_string(scales->size()) + " scales for " +
                       std::to_string(axes.size()) + " axes");
    }
    for (size_t j = 0; j < axes.size(); ++j) {
      const Dim& in = x[axes[j]];
      if (!((*scales)[j] > 0.0)) return ctx.Error("a scale is not positive");
      const double size = std::floor(static_cast<double>(in.value) * (*scales)[j]);
      out[axes[j]] = !in.is_fixed() ? ((*scales)[j] == 1.0 ? in : Dim{})
                     : size < 9.0e15 ? FixedDim(static_cast<int64_t>(size))
                                     : Dim{};
    }
    ctx.SetShape(0, std::move(out));
    return Status::Ok();
  }
  if (sizes->elements.size() != axes.size()) {
    return ctx.Error(std::to_string(sizes->elements.size()) + " sizes for " +
                     std::to_string(axes.size()) + " axes");
  }
  ASSIGN_OR_RETURN(const std::string policy, node.GetString("keep_aspect_ratio_policy", "stretch"));
  if (policy == "stretch" || node.opset() < 18) {
    for (size_t j = 0; j < axes.size(); ++j) out[axes[j]] = sizes->elements[j].ToDim();
    ctx.SetShape(0, std::move(out));
    return Status::Ok();
  }
  // not_larger / not_smaller: one scale for every axis, from all of them.
  double common = policy == "not_larger" ? HUGE_VAL : 0.0;
  for (size_t j = 0; j < axes.size(); ++j) {
    const Dim& in = x[axes[j]];
    if (!in.is_fixed() || !sizes->elements[j].known() || in.value == 0) {
      for (int64_t axis : axes) out[axis] = Dim{};
      ctx.SetShape(0, std::move(out));
      return Status::Ok();
    }
    const double s = static_cast<double>(*sizes->elements[j].value) / static_cast<double>(in.value);
    common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
  }
  for (int64_t axis : axes) {
    const double size = std::nearbyint(common * static_cast<double>(x[axis].value));
    out[axis] = size >= 0.0 && size < 9.0e15 ? FixedDim(static_cast<int64_t>(size)) : Dim{};
  }
  ctx.SetShape(0, std::move(out));
  return Status::Ok();
}

// DepthToSpace [N, C, H, W] -> [N, C / b^2, H * b, W * b]; SpaceToDepth the
// inverse.
Status BlockRearrangeRule(InferContext& ctx) {
  ctx.SetType(0, ctx.dtype(0));
  const int rank = ctx.rank(0);
  if (rank < 0) return Status::Ok();
  if (rank != 4) return ctx.Error("input must be 4-D, got rank " + std::to_string(rank));
  ASSIGN_OR_RETURN(const int64_t b, ctx.node().GetInt("blocksize", 0));
  if (b <= 0) return ctx.Error("blocksize must be positive");
  const StaticShape& x = *ctx.shape(0);
  const bool to_space = ctx.node().kind() == OpKind::kDepthToSpace;
  const Wide b2 = Wide{b} * b;
  auto scale = [](const Dim& d, Wide mul, Wide div) {
    if (!d.is_fixed() || d.value % div != 0) return Dim{};
    return CheckedDim(d.value / div * mul);
  };
  if (to_space) {
    ctx.SetShape(0, {x[0], scale(x[1], 1, b2), scale(x[2], b, 1), scale(x[3], b, 1)});
  } else {
    ctx.SetShape(0, {x[0], scale(x[1], b2, 1), scale(x[2], 1, b), scale(x[3], 1, b)});
  }
  return Status::Ok();
}

}  // namespace

std::vector<OpSchemaRow> NnRules() {
  return {
      {OpKind::kConv, ConvRule},
      {OpKind::kConvTranspose, ConvRule},
      {OpKind::kMaxPool, PoolRule},
      {OpKind::kAveragePool, PoolRule},
      {OpKind::kGlobalAveragePool, GlobalPoolRule},
      {OpKind::kGlobalMaxPool, GlobalPoolRule},
      {OpKind::kGemm, GemmRule},
      {OpKind::kMatMul, MatMulRule},
      {OpKind::kReduceMax, ReduceRule},
      {OpKind::kReduceMean, ReduceRule},
      {OpKind::kReduceMin, ReduceRule},
      {OpKind::kReduceSum, ReduceRule},
      {OpKind::kReduceProd, ReduceRule},
      {OpKind::kReduceL1, ReduceRule},
      {OpKind::kReduceL2, ReduceRule},
      {OpKind::kReduceSumSquare, ReduceRule},
      {OpKind::kReduceLogSum, ReduceRule},
      {OpKind::kReduceLogSumExp, ReduceRule},
      {OpKind::kResize, ResizeRule},
      {OpKind::kUpsample, ResizeRule},
      {OpKind::kDepthToSpace, BlockRearrangeRule},
      {OpKind::kSpaceToDepth, BlockRearrangeRule},
  };
}

}  // namespace bnfold::ir
