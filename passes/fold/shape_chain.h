// Proving how channels travel through shape-only ops, so that a
// BatchNormalization separated from its linear op by Reshape / Flatten /
// Transpose can still be folded, exactly:
//
//   MatMul -> Reshape/Transpose... -> BatchNormalization       (output side)
//   BatchNormalization -> Flatten/Reshape... -> Gemm/MatMul    (input side)
//
// These ops only move elements. The fold is exact when every element of one
// end's channel c comes from (or goes to) channels of the other end that
// map to c through one function g. g is computed, not assumed: a tensor of
// the start's shape holding each element's channel index is pushed through
// the chain (Reshape/Flatten keep the row-major order, Transpose permutes)
// and every element of the result is checked against g.
//
// Shapes come from the IR (bnfold's static shapes) and the ops' own
// constants: the Reshape target from its shape constant (0 copies, -1
// infers), Flatten from its axis, Transpose from its perm. Every dim must be
// fixed, except that axis 0 may be unknown (a symbolic batch B) when every
// op provably keeps the unknown factor in axis 0 and one batch item (the
// start's dims 1.. : `item` elements) is a whole number of rows of every
// tensor: Transpose perm[0] = 0; Reshape copies axis 0 (target 0) or infers
// it (-1) with rows that tile an item; Flatten axis >= 1. Each op then acts
// on every item alike ([B, T, C] -> [B*T, C] included), so one item proves
// the map.
#pragma once

#include <cstdint>
#include <vector>

#include "passes/fold/fold_util.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes {

// Static dims; -1 where a dim is not fixed.
using Dims = std::vector<int64_t>;

// Reshape, Flatten or Transpose: the ops a fold may look through.
bool IsShapeOnlyKind(ir::OpKind kind);

// `value`'s static dims (-1 for a symbolic or unknown dim); NoMatch when
// its rank is unknown.
MatchOr<Dims> StaticDims(const ir::Value& value);

// The dims of the chain's values: dims[0] = `start`, dims[i + 1] = the
// output of chain[i]. NoMatch with the reason when a dim the proof needs is
// not fixed, an op moves the batch axis, or an op's constants are not
// constants.
MatchOr<std::vector<Dims>> ChainDims(const std::vector<ir::Node*>& chain, const Dims& start);

enum class MapDirection {
  kStartToEnd,  // for each start channel, the one end channel it reaches
  kEndToStart,  // for each end channel, the one start channel feeding it
};

// Pushes channel indices along `start_axis` of dims.front() through `chain`
// to `end_axis` of dims.back() (dims from ChainDims) and returns the map in
// `direction`: g[i] for every i of the domain. NoMatch when some channel
// meets two channels of the other end, or the one-item tensor is too large
// to check.
MatchOr<std::vector<int64_t>> ProveChannelMap(const std::vector<ir::Node*>& chain,
                                              const std::vector<Dims>& dims, int start_axis,
                                              int end_axis, MapDirection direction);

// "Reshape 'r' -> Transpose 't'" for reasons.
std::string DescribeChain(const std::vector<ir::Node*>& chain);

}  // namespace bnfold::passes
