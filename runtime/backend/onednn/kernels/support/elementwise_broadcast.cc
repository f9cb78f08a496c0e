#include "runtime/backend/onednn/kernels/support/elementwise_broadcast.h"

#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

BroadcastLoop MakeBroadcastLoop(const std::vector<int64_t>& out_dims,
                                const std::vector<int64_t>& strides_a,
                                const std::vector<int64_t>& strides_b) {
  BroadcastLoop loop;
  loop.total = 1;
  for (int64_t d : out_dims) loop.total *= d;
  if (loop.total == 0) return loop;

  // Size-1 dims do not move any operand; drop them. Then merge a dim into
  // the one below it whenever both operands step through the pair as one
  // run (this also merges two broadcast dims: 0 == 0 * d).
  std::vector<int64_t> dims;
  std::vector<int64_t> strides[2];
  const std::vector<int64_t>* given[2] = {&strides_a, &strides_b};
  for (size_t i = 0; i < out_dims.size(); ++i) {
    if (out_dims[i] == 1) continue;
    const bool merge = !dims.empty() &&
                       (*given[0])[i] * out_dims[i] == strides[0].back() &&
                       (*given[1])[i] * out_dims[i] == strides[1].back();
    if (merge) {
      dims.back() *= out_dims[i];
      strides[0].back() = (*given[0])[i];
      strides[1].back() = (*given[1])[i];
    } else {
      dims.push_back(out_dims[i]);
      strides[0].push_back((*given[0])[i]);
      strides[1].push_back((*given[1])[i]);
    }
  }
  if (dims.empty()) return loop;  // a single element: inner = 1, strides 0
  loop.inner = dims.back();
  for (int k = 0; k < 2; ++k) {
    loop.inner_stride[k] = strides[k].back();
    loop.outer_strides[k].assign(strides[k].begin(), strides[k].end() - 1);
  }
  loop.outer_dims.assign(dims.begin(), dims.end() - 1);
  return loop;
}

std::vector<int64_t> AlignRight(const std::vector<int64_t>& dims, size_t rank) {
  std::vector<int64_t> aligned(rank - dims.size(), 1);
  aligned.insert(aligned.end(), dims.begin(), dims.end());
  return aligned;
}

namespace {

Status AlignLegacy(const CompileContext& ctx, std::vector<std::vector<int64_t>>* aligned,
                   std::vector<int64_t>* out_dims) {
  const std::vector<int64_t>& a = ctx.input(0).dims;
  const std::vector<int64_t>& b = ctx.input(1).dims;
  ASSIGN_OR_RETURN(int64_t broadcast, ctx.node().GetInt("broadcast", 0));
  *out_dims = a;
  if (broadcast == 0) {
    if (a != b) {
      return InvalidModel(ctx.Describe() + ": shapes " + ShapeToString(a) + " and " +
                          ShapeToString(b) + " differ and broadcast is not set");
    }
    *aligned = {a, b};
    return Status::Ok();
  }
  const int64_t rank_a = static_cast<int64_t>(a.size());
  const int64_t rank_b = static_cast<int64_t>(b.size());
  if (rank_b > rank_a) {
    return InvalidModel(ctx.Describe() + ": B of shape " + ShapeToString(b) +
                        " has more dims than A of shape " + ShapeToString(a));
  }
  int64_t axis = rank_a - rank_b;
  if (ctx.node().FindAttribute("axis") != nullptr) {
    ASSIGN_OR_RETURN(int64_t raw_axis, ctx.node().GetInt("axis", 0));
    ASSIGN_OR_RETURN(axis, NormalizeAxis(ctx, raw_axis, rank_a));
  }
  if (axis + rank_b > rank_a) {
    return InvalidModel(ctx.Describe() + ": B of shape " + ShapeToString(b) +
                        " does not fit into A of shape " + ShapeToString(a) + " at axis " +
                        std::to_string(axis));
  }
  std::vector<int64_t> b_aligned(a.size(), 1);
  for (int64_t i = 0; i < rank_b; ++i) {
    if (b[i] != 1 && b[i] != a[axis + i]) {
      return InvalidModel(ctx.Describe() + ": B of shape " + ShapeToString(b) +
                          " does not match A of shape " + ShapeToString(a) + " at axis " +
                          std::to_string(axis));
    }
    b_aligned[axis + i] = b[i];
  }
  *aligned = {a, b_aligned};
  return Status::Ok();
}

}  // namespace

Status AlignBinaryOperands(const CompileContext& ctx, bool legacy,
                           std::vector<std::vector<int64_t>>* aligned,
                           std::vector<int64_t>* out_dims) {
  if (legacy) return AlignLegacy(ctx, aligned, out_dims);
  ASSIGN_OR_RETURN(*out_dims, BroadcastShapes(ctx, ctx.input(0).dims, ctx.input(1).dims));
  *aligned = {AlignRight(ctx.input(0).dims, out_dims->size()),
              AlignRight(ctx.input(1).dims, out_dims->size())};
  return Status::Ok();
}

}  // namespace bnfold::onednn
