// The linear ops a per-channel affine map can be folded into, described by
// one table (kLinearOps in linear_op.cc: a row per op, so adding a producer
// or consumer to the folds is adding a row), their validated constant
// weights, and the constant replacements a fold makes.
//
// Weight layouts (ONNX), as WeightAxes sees them:
//   Conv           W [M, C/g, k...]   out channel m, in channel (m / (M/g)) * (C/g) + c
//   ConvTranspose  W [C, M/g, k...]   in channel c, out channel (c / (C/g)) * (M/g) + j
//   Gemm           B [K, N] (transB = 0) or [N, K] (transB = 1); C broadcasts to [M, N]
//   MatMul         B [K, N]
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "passes/fold/channel_affine.h"
#include "passes/fold/fold_util.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes {

// A linear op's weight viewed as [a, b, run]: `run` contiguous elements
// (a kernel; 1 for a matrix) per block (i, j). With output_first, i is the
// output channel and j the input channel within i's group; otherwise i is
// the input channel and j the output channel within its group. `group`
// groups split both channel axes alike.
struct WeightAxes {
  bool output_first = true;
  int64_t group = 1;
  int64_t a = 0;
  int64_t b = 0;
  int64_t run = 1;

  // The first channel of the other axis for row i: (i / (a / group)) * b.
  int64_t GroupBase(int64_t i) const { return (i / (a / group)) * b; }
};

// Where a linear op's bias lives, which decides how a fold rewrites it.
enum class BiasForm {
  kVector,    // input 2, one value per output channel (Conv, ConvTranspose)
  kGemmC,     // input 2 scaled by beta, broadcast to the output (Gemm's C)
  kAddAfter,  // none of its own: an Add of a constant after it (MatMul)
};

struct LinearOpSpec;

struct LinearOpInfo {
  ir::Node* node = nullptr;
  const LinearOpSpec* spec = nullptr;
  ir::Value* weight = nullptr;  // W, or Gemm/MatMul's B
  ir::Value* bias = nullptr;    // Conv/ConvTranspose B or Gemm C; null when absent
  WeightAxes axes;
  bool trans_a = false;
  bool trans_b = false;
  float alpha = 1.0f;
  float beta = 1.0f;
  int64_t out_channels = 0;  // M (conv) or N (Gemm/MatMul)
  int64_t in_channels = 0;   // C (conv) or K (Gemm/MatMul)
};

// One linear op the folds know.
struct LinearOpSpec {
  ir::OpKind kind;
  BiasForm bias;
  // Reads the op's attributes and the weight shape `w` into `info`
  // (channels, axes, Gemm's alpha/beta/transposes); "" or why it does not
  // fold. The weight is known to be a floating-point constant.
  std::string (*read)(const ir::Node& node, const std::vector<int64_t>& w, LinearOpInfo* info);
  // Where the channels of its output `y` are.
  MatchOr<ChannelLayout> (*output_layout)(const LinearOpInfo& op, const ir::Value& y);
  // Where the channels of its data input `x` are.
  MatchOr<ChannelLayout> (*input_layout)(const LinearOpInfo& op, const ir::Value& x);
  // "" when a per-channel shift of its data input folds exactly; else why
  // not (padding, a transposed convolution's uneven borders).
  MatchOr<std::string> (*input_shift_reason)(const LinearOpInfo& op);
};

// The row for `kind`, or null: the ops the folds know.
const LinearOpSpec* FindLinearOp(ir::OpKind kind);
// Whether `kind` has a row.
bool IsLinearKind(ir::OpKind kind);

// A linear op whose weights (and bias/C) are constants no caller can
// override, of floating-point types, with consistent shapes.
MatchOr<LinearOpInfo> MatchLinearOp(ir::Node& node);

// Whether a rewrite may write a constant's new contents into its own
// buffer: it feeds exactly one node input, is no graph input or output, and
// no other value or tensor shares its tensor or buffer.
bool CanRewriteInPlace(const ir::Value& value);

// Replacing input `input` of `node` with a new constant.
struct ConstantRewrite {
  ir::Node* node = nullptr;
  int input = 0;
  ir::ConstTensorPtr data;
  std::string base_name;  // the new initializer is named after it
  // Set instead of `data` (only when CanRewriteInPlace held at match): the
  // new constant is the old one rewritten by rescale(old) in its own
  // buffer, by the commit once the old initializer is gone.
  std::function<void(Tensor& w)> rescale;
};

// Everything a fold changes on the linear side, computed by a pure plan
// before the graph is touched.
struct LinearRewrite {
  std::vector<ConstantRewrite> constants;
  // Gemm whose C now carries beta * C: its beta becomes 1.
  ir::Node* gemm_beta_to_one = nullptr;
  // MatMul without a bias Add: insert `Add(matmul_output, append_bias)`.
  ir::Node* append_bias_after = nullptr;
  ir::ConstTensorPtr append_bias;
};

// Elements of `c` broadcast so that its last axis has `n` entries (a scalar
// becomes [n]); NoMatch when its last dimension is neither 1 nor n.
MatchOr<DoubleTensor> ExpandLastAxis(const DoubleTensor& c, int64_t n, const std::string& what);

// The dtype a new bias takes: the old bias's, else the weight's.
DataType BiasDtype(const LinearOpInfo& info);

// The new initializers of a rewrite, created before anything is rewired.
struct PreparedRewrite {
  std::vector<ir::Value*> constants;   // parallel to LinearRewrite::constants
  ir::Value* append_bias = nullptr;
};

// Creates the new initializers: the only step of a fold that can fail, and
// it leaves the graph's wiring untouched.
StatusOr<PreparedRewrite> PrepareLinearRewrite(ir::Graph& graph, const LinearRewrite& rewrite);
// Swaps the prepared constants in, deletes the ones nobody reads any more and
// updates Gemm's beta. Cannot fail. (The Add of `append_bias` is inserted by
// the caller, which knows which value it must produce.)
void CommitLinearRewrite(ir::Graph& graph, const LinearRewrite& rewrite,
                         const PreparedRewrite& prepared);

// Inserts `Add(node's output 0, bias)` producing `target`, which must have no
// producer (e.g. the output of the node a fold just removed).
Status AppendBiasAdd(ir::Graph& graph, ir::Node* node, ir::Value* bias, ir::Value* target);

}  // namespace bnfold::passes
