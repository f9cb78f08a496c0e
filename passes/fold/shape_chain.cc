#include "passes/fold/shape_chain.h"

#include <numeric>

#include "runtime/ir/attrs.h"

namespace bnfold::passes {

namespace {

// The largest one-item tensor ProveChannelMap pushes through a chain.
constexpr int64_t kMaxProofElements = int64_t{1} << 24;

int64_t Product(const Dims& dims, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= dims[i];
  return p;
}

bool AllFixed(const Dims& dims, size_t from) {
  for (size_t i = from; i < dims.size(); ++i) {
    if (dims[i] < 0) return false;
  }
  return true;
}

// Transpose's perm (default: the axes reversed), checked to be a permutation.
MatchOr<std::vector<int64_t>> TransposePerm(const ir::Node& node, size_t rank) {
  std::vector<int64_t> perm(rank);
  if (const auto& given = node.attrs<ir::TransposeAttrs>().perm) {
    perm = *given;
  } else {
    std::iota(perm.rbegin(), perm.rend(), 0);
  }
  std::vector<bool> seen(rank, false);
  bool ok = perm.size() == rank;
  for (int64_t p : perm) {
    ok = ok && p >= 0 && p < static_cast<int64_t>(rank) && !seen[p];
    if (ok) seen[p] = true;
  }
  if (!ok) {
    return NoMatch{node.Describe() + " has perm " + ShapeString(perm) +
                   ", not a permutation of its input's " + std::to_string(rank) + " axes"};
  }
  return perm;
}

// The Reshape's requested shape: the opset < 5 attribute or the constant
// input 1.
MatchOr<std::vector<int64_t>> ReshapeTarget(const ir::Node& node) {
  if (const auto& attr = node.attrs<ir::ReshapeAttrs>().shape) return *attr;
  const ir::Value* shape = node.input(1);
  if (std::string why = NotConstantReason(shape, "shape"); !why.empty()) {
    return NoMatch{node.Describe() + ": " + why};
  }
  const Tensor& t = *shape->constant_data();
  if (t.dtype() != DataType::kInt64 || t.shape().size() != 1) {
    return NoMatch{node.Describe() + ": shape '" + shape->name() + "' is not a 1-D int64 tensor"};
  }
  return std::vector<int64_t>(t.data_as<int64_t>(), t.data_as<int64_t>() + t.num_elements());
}

// Output dims of a Reshape of `in`. An unknown dim 0 of `in` is the batch:
// `item` elements per batch item, a whole number of rows of every tensor.
MatchOr<Dims> ReshapeDims(const ir::Node& node, const Dims& in, int64_t item) {
  MATCH_OR_RETURN(std::vector<int64_t> target, ReshapeTarget(node));
  const bool allowzero = node.attrs<ir::ReshapeAttrs>().allowzero;
  const std::string prefix = node.Describe() + " (shape " + ShapeString(target) + "): ";
  Dims out(target.size());
  int infer = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t s = target[i];
    if (s == -1 && infer < 0) {
      infer = static_cast<int>(i);
    } else if (s == 0 && !allowzero) {
      if (i >= in.size()) return NoMatch{prefix + "copies a dim its input does not have"};
      out[i] = in[i];
    } else if (s > 0) {
      out[i] = s;
    } else {
      return NoMatch{prefix + "not a shape that keeps every element"};
    }
  }
  if (out.empty()) return NoMatch{prefix + "a scalar has no channels"};
  const bool batch = in[0] < 0;
  // The product every dim but the unknown ones must reach.
  const int64_t in_known = Product(in, batch ? 1 : 0, in.size());
  if (batch) {
    // The unknown batch stays in out[0]: copied (the rows are kept, so the
    // other dims hold in[1:]'s elements) or inferred (every other dim given,
    // and a batch item is a whole number of output rows).
    const bool copied = target[0] == 0 && !allowzero;
    if (!copied && infer != 0) {
      return NoMatch{prefix + "does not keep the unknown axis 0 outermost"};
    }
    out[0] = -1;
    int64_t rest = 1;
    for (size_t i = 1; i < out.size(); ++i) {
      if (static_cast<int>(i) != infer) rest *= out[i];
    }
    if (infer > 0) {
      if (rest == 0 || in_known % rest != 0) return NoMatch{prefix + "does not divide evenly"};
      out[infer] = in_known / rest;
      rest = in_known;
    }
    if (copied ? rest != in_known : (rest == 0 || item % rest != 0)) {
      return NoMatch{prefix + "rows of " + std::to_string(rest) + " elements do not tile a "
                     "batch item of " + std::to_string(item) + " elements"};
    }
    return out;
  }
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<int>(i) != infer) known *= out[i];
  }
  if (infer >= 0) {
    if (known == 0 || in_known % known != 0) return NoMatch{prefix + "does not divide evenly"};
    out[infer] = in_known / known;
    known = in_known;
  }
  if (known != in_known) {
    return NoMatch{prefix + "has " + std::to_string(known) + " elements, its input " +
                   std::to_string(in_known)};
  }
  return out;
}

MatchOr<Dims> FlattenDims(const ir::Node& node, const Dims& in) {
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = node.attrs<ir::FlattenAttrs>().axis;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) {
    return NoMatch{node.Describe() + " has axis " + std::to_string(axis) + " for rank " +
                   std::to_string(rank)};
  }
  const size_t a = static_cast<size_t>(axis);
  if (in[0] < 0) {
    // [?, d1.., d_axis..] -> [? * d1.., d_axis..]: the unknown stays in axis 0.
    if (a == 0) {
      return NoMatch{node.Describe() + " (axis 0) moves the unknown axis 0 inward"};
    }
    return Dims{-1, Product(in, a, in.size())};
  }
  return Dims{Product(in, 0, a), Product(in, a, in.size())};
}

// Row-major strides.
std::vector<int64_t> Strides(const Dims& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return strides;
}

// out = transpose(in, perm) for a row-major buffer of dims `in_dims`.
std::vector<int32_t> TransposeBuffer(const std::vector<int32_t>& in, const Dims& in_dims,
                                     const std::vector<int64_t>& perm) {
  const size_t rank = in_dims.size();
  const std::vector<int64_t> in_strides = Strides(in_dims);
  Dims out_dims(rank);
  std::vector<int64_t> step(rank);  // input stride of each output axis
  for (size_t i = 0; i < rank; ++i) {
    out_dims[i] = in_dims[perm[i]];
    step[i] = in_strides[perm[i]];
  }
  std::vector<int32_t> out(in.size());
  std::vector<int64_t> index(rank, 0);
  int64_t src = 0;
  for (size_t o = 0; o < out.size(); ++o) {
    out[o] = in[src];
    for (size_t i = rank; i-- > 0;) {  // odometer over the output index
      src += step[i];
      if (++index[i] < out_dims[i]) break;
      src -= step[i] * out_dims[i];
      index[i] = 0;
    }
  }
  return out;
}

}  // namespace

bool IsShapeOnlyKind(ir::OpKind kind) {
  return kind == ir::OpKind::kReshape || kind == ir::OpKind::kFlatten ||
         kind == ir::OpKind::kTranspose;
}

MatchOr<Dims> StaticDims(const ir::Value& value) {
  if (value.constant_data()) return value.constant_data()->shape();
  if (!value.shape()) return NoMatch{"the shape of '" + value.name() + "' is unknown"};
  Dims dims;
  for (const ir::Dim& d : *value.shape()) dims.push_back(d.is_fixed() ? d.value : -1);
  return dims;
}

MatchOr<std::vector<Dims>> ChainDims(const std::vector<ir::Node*>& chain, const Dims& start) {
  if (start.empty()) return NoMatch{"a scalar has no channels"};
  for (size_t i = 1; i < start.size(); ++i) {
    if (start[i] < 0) {
      return NoMatch{"dim " + std::to_string(i) + " of the shape " + ShapeString(start) +
                     " before " + DescribeChain(chain) +
                     " is not fixed: the channel map cannot be proved"};
    }
  }
  const int64_t item = Product(start, 1, start.size());  // elements per batch item
  std::vector<Dims> dims{start};
  for (ir::Node* node : chain) {
    const Dims& in = dims.back();
    Dims out;
    switch (node->kind()) {
      case ir::OpKind::kReshape: {
        MATCH_OR_RETURN(out, ReshapeDims(*node, in, item));
        break;
      }
      case ir::OpKind::kFlatten: {
        MATCH_OR_RETURN(out, FlattenDims(*node, in));
        break;
      }
      case ir::OpKind::kTranspose: {
        MATCH_OR_RETURN(std::vector<int64_t> perm, TransposePerm(*node, in.size()));
        if (in[0] < 0 && perm[0] != 0) {
          return NoMatch{node->Describe() + " moves the unknown axis 0 (perm " +
                         ShapeString(perm) + ")"};
        }
        for (int64_t p : perm) out.push_back(in[p]);
        break;
      }
      default:
        return NoMatch{node->Describe() + " is not a Reshape, Flatten or Transpose"};
    }
    if (out.empty() || !AllFixed(out, 1)) {
      return NoMatch{node->Describe() + " gives shape " + ShapeString(out) +
                     ": its channel axis cannot be proved"};
    }
    dims.push_back(std::move(out));
  }
  return dims;
}

MatchOr<std::vector<int64_t>> ProveChannelMap(const std::vector<ir::Node*>& chain,
                                              const std::vector<Dims>& dims, int start_axis,
                                              int end_axis, MapDirection direction) {
  // One batch item: the unknown axis 0 stays outermost through every op and
  // an item is a whole number of rows of each tensor (ChainDims).
  const int64_t item_elements = Product(dims.front(), 1, dims.front().size());
  auto item = [item_elements](Dims d) {
    if (d[0] < 0) d[0] = item_elements / Product(d, 1, d.size());
    return d;
  };
  const Dims start = item(dims.front());
  const Dims end = item(dims.back());
  const int64_t n = Product(start, 0, start.size());
  if (n > kMaxProofElements) {
    return NoMatch{"the shape " + ShapeString(start) + " has more than " +
                   std::to_string(kMaxProofElements) + " elements per item: too large to prove "
                   "the channel map through " + DescribeChain(chain)};
  }
  if (n == 0) return NoMatch{"the shape " + ShapeString(start) + " has no elements"};
  const std::vector<int64_t> start_strides = Strides(start);
  std::vector<int32_t> buffer(static_cast<size_t>(n));
  for (int64_t f = 0; f < n; ++f) {
    buffer[f] = static_cast<int32_t>((f / start_strides[start_axis]) % start[start_axis]);
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i]->kind() != ir::OpKind::kTranspose) continue;  // row-major order kept
    MATCH_OR_RETURN(std::vector<int64_t> perm, TransposePerm(*chain[i], dims[i].size()));
    buffer = TransposeBuffer(buffer, item(dims[i]), perm);
  }
  const bool forward = direction == MapDirection::kStartToEnd;
  const int64_t domain = forward ? start[start_axis] : end[end_axis];
  std::vector<int64_t> g(static_cast<size_t>(domain), -1);
  const int64_t end_stride = Strides(end)[end_axis];
  for (int64_t f = 0; f < n; ++f) {
    const int64_t from = buffer[f];
    const int64_t to = (f / end_stride) % end[end_axis];
    const int64_t key = forward ? from : to;
    const int64_t value = forward ? to : from;
    if (g[key] < 0) {
      g[key] = value;
    } else if (g[key] != value) {
      return NoMatch{
          "through " + DescribeChain(chain) + ", " +
          (forward ? "channel " + std::to_string(key) + " of axis " + std::to_string(start_axis) +
                         " of " + ShapeString(dims.front()) + " reaches channels " +
                         std::to_string(g[key]) + " and " + std::to_string(value) + " of axis " +
                         std::to_string(end_axis) + " of " + ShapeString(dims.back())
                   : "channel " + std::to_string(key) + " of axis " + std::to_string(end_axis) +
                         " of " + ShapeString(dims.back()) + " gets channels " +
                         std::to_string(g[key]) + " and " + std::to_string(value) + " of axis " +
                         std::to_string(start_axis) + " of " + ShapeString(dims.front())) +
              ": no per-channel map"};
    }
  }
  return g;  // every entry set: the chain moves every element once
}

std::string DescribeChain(const std::vector<ir::Node*>& chain) {
  std::string text;
  for (const ir::Node* node : chain) {
    if (!text.empty()) text += " -> ";
    text += node->Describe();
  }
  return text;
}

}  // namespace bnfold::passes
