#include "passes/cancel_transposes.h"

#include <cstring>

namespace bnfold::passes {

namespace {

using End = CancelTransposesMatch::End;

bool IsUnaryElementwise(ir::OpKind kind) {
  switch (kind) {
    case ir::OpKind::kAbs: case ir::OpKind::kCast: case ir::OpKind::kCeil:
    case ir::OpKind::kClip: case ir::OpKind::kElu: case ir::OpKind::kErf:
    case ir::OpKind::kExp: case ir::OpKind::kFloor: case ir::OpKind::kHardSigmoid:
    case ir::OpKind::kHardSwish: case ir::OpKind::kIdentity: case ir::OpKind::kLeakyRelu:
    case ir::OpKind::kLog: case ir::OpKind::kNeg: case ir::OpKind::kReciprocal:
    case ir::OpKind::kRelu: case ir::OpKind::kSelu: case ir::OpKind::kSigmoid:
    case ir::OpKind::kSoftplus: case ir::OpKind::kSoftsign: case ir::OpKind::kSqrt:
    case ir::OpKind::kTanh:
      return true;
    default:
      return false;
  }
}

// The opset from which a binary op broadcasts numpy-style; 0 when `kind`
// is not one this pass moves a Transpose through.
int64_t BroadcastingSince(ir::OpKind kind) {
  switch (kind) {
    case ir::OpKind::kAdd: case ir::OpKind::kSub: case ir::OpKind::kMul:
    case ir::OpKind::kDiv: case ir::OpKind::kPow: case ir::OpKind::kPRelu:
      return 7;
    case ir::OpKind::kMax: case ir::OpKind::kMin:
      return 8;
    default:
      return 0;
  }
}

// The explicit perm of a Transpose (ONNX's default reverses the axes).
MatchOr<std::vector<int64_t>> PermOf(const ir::Node& transpose, int rank) {
  std::vector<int64_t> perm;
  if (const auto& explicit_perm = transpose.attrs<ir::TransposeAttrs>().perm) {
    perm = *explicit_perm;
  } else {
    if (rank < 0) return NoMatch{transpose.Describe() + " has no perm and an unknown rank"};
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p]) {
      return NoMatch{transpose.Describe() + " has an invalid perm " + ShapeString(perm)};
    }
    seen[p] = true;
  }
  if (rank >= 0 && static_cast<int>(perm.size()) != rank) {
    return NoMatch{transpose.Describe() + ": perm " + ShapeString(perm) + " does not have rank " +
                   std::to_string(rank)};
  }
  return perm;
}

// "" when constant `k` broadcasts against `value` (rank `rank`) without
// widening it; else why not.
std::string BroadcastReason(const ir::Value& k, const ir::Value& value, int rank) {
  const std::vector<int64_t>& dims = k.constant_data()->shape();
  if (static_cast<int>(dims.size()) > rank) {
    return "constant '" + k.name() + "' has a higher rank than '" + value.name() + "'";
  }
  const size_t offset = rank - dims.size();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    const bool known = value.shape() && value.shape()->size() == static_cast<size_t>(rank) &&
                       (*value.shape())[offset + i].is_fixed();
    if (!known || (*value.shape())[offset + i].value != dims[i]) {
      return "constant '" + k.name() + "' may widen '" + value.name() + "'";
    }
  }
  return "";
}

// "" when `op` maps `value` (its input `index`) element-wise, so that a
// Transpose can move past it; else why not.
std::string ElementwiseReason(const ir::Node& op, int index, const ir::Value& value, int rank) {
  if (op.num_outputs() != 1 || op.output(0) == nullptr) {
    return op.Describe() + " does not have exactly one output";
  }
  if (IsUnaryElementwise(op.kind())) {
    if (index != 0) return op.Describe() + " reads '" + value.name() + "' as a parameter";
    for (int i = 1; i < op.num_inputs(); ++i) {  // Clip's bounds are scalars
      const ir::Value* bound = op.input(i);
      if (bound != nullptr && (op.kind() != ir::OpKind::kClip || KnownRank(*bound) != 0)) {
        return op.Describe() + " input " + std::to_string(i) + " is not a scalar";
      }
    }
    return "";
  }
  const int64_t since = BroadcastingSince(op.kind());
  if (since == 0) return op.Describe() + " is not element-wise";
  if (op.opset() < since) return op.Describe() + " predates numpy broadcasting";
  if (op.num_inputs() != 2) return op.Describe() + " does not have two inputs";
  if (op.kind() == ir::OpKind::kPRelu && index != 0) {
    return op.Describe() + " reads '" + value.name() + "' as its slope";
  }
  const ir::Value* k = op.input(1 - index);
  if (std::string why = NotConstantReason(k, "its other operand"); !why.empty()) {
    return op.Describe() + ": " + why;
  }
  if (std::string why = BroadcastReason(*k, value, rank); !why.empty()) {
    return op.Describe() + ": " + why;
  }
  return "";
}

// numpy.transpose(data aligned to `rank` with leading 1s, perm).
StatusOr<ir::ConstTensorPtr> TransposeConstant(const Tensor& data, int rank,
                                               const std::vector<int64_t>& perm) {
  std::vector<int64_t> dims(rank - data.shape().size(), 1);
  dims.insert(dims.end(), data.shape().begin(), data.shape().end());
  std::vector<int64_t> strides(rank, 1), out_dims(rank);
  for (int i = rank - 1; i > 0; --i) strides[i - 1] = strides[i] * dims[i];
  for (int i = 0; i < rank; ++i) out_dims[i] = dims[perm[i]];
  StatusOr<Tensor> out = Tensor::Allocate(data.dtype(), out_dims);
  if (!out.ok()) return out.status();
  const size_t element = DataTypeSize(data.dtype());
  const char* src = static_cast<const char*>(data.data());
  char* dst = static_cast<char*>(out->data());
  std::vector<int64_t> index(rank, 0);
  for (int64_t flat = 0; flat < out->num_elements(); ++flat) {
    int64_t offset = 0;
    for (int i = 0; i < rank; ++i) offset += index[i] * strides[perm[i]];
    std::memcpy(dst + flat * element, src + offset * element, element);
    for (int i = rank - 1; i >= 0; --i) {
      if (++index[i] < out_dims[i]) break;
      index[i] = 0;
    }
  }
  return ir::ConstTensorPtr(std::make_shared<const Tensor>(std::move(*out)));
}

// `value`'s static shape once the Transpose(perm) in front of it is gone.
void UntransposeShape(ir::Value& value, const std::vector<int64_t>& perm) {
  if (!value.shape() || value.shape()->size() != perm.size()) return;
  ir::StaticShape shape(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) shape[perm[i]] = (*value.shape())[i];
  value.set_shape(std::move(shape));
}

void SetPerm(ir::Node& transpose, const std::vector<int64_t>& perm) {
  ir::Attribute a;
  a.name = "perm";
  a.type = ir::AttrType::kInts;
  a.ints = perm;
  transpose.SetAttribute(std::move(a));
}

}  // namespace

namespace {

// Preconditions 1-5: the chain from Transpose `node` to where it ends.
MatchOr<CancelTransposesMatch> MatchChain(const ir::Node& node) {
  if (node.kind() != ir::OpKind::kTranspose) return NoMatch{node.Describe() + " is not a Transpose"};
  if (node.input(0) == nullptr || node.output(0) == nullptr) {
    return NoMatch{node.Describe() + " has no input or output"};
  }
  CancelTransposesMatch m;
  m.first = const_cast<ir::Node*>(&node);
  MATCH_OR_RETURN(m.perm, PermOf(node, KnownRank(*node.input(0))));  // 1
  const int rank = static_cast<int>(m.perm.size());
  const ir::Value* current = node.output(0);
  for (;;) {
    if (current->is_graph_output()) {  // 3, 4
      if (!current->uses().empty() || m.chain.empty()) {
        return NoMatch{"'" + current->name() + "' is a graph output"};
      }
      m.end = End::kGraphOutput;
      return m;
    }
    if (current->uses().size() != 1) {  // 3
      return NoMatch{"'" + current->name() + "' has " + std::to_string(current->uses().size()) +
                     " readers"};
    }
    const ir::Use use = current->uses()[0];
    const ir::Node& next = *use.node;
    if (next.kind() == ir::OpKind::kTranspose) {  // 4
      MATCH_OR_RETURN(const std::vector<int64_t> closing, PermOf(next, rank));
      m.last = const_cast<ir::Node*>(&next);
      bool identity = true;
      for (int i = 0; i < rank; ++i) {
        m.merged_perm.push_back(m.perm[closing[i]]);
        identity = identity && m.merged_perm[i] == i;
      }
      m.end = identity ? End::kCancel : End::kMerge;
      if (identity && m.chain.empty() && next.output(0) != nullptr &&
          next.output(0)->is_graph_output()) {  // 5
        return NoMatch{"removing the pair would rename graph output '" + next.output(0)->name() +
                       "'"};
      }
      return m;
    }
    if (std::string why = ElementwiseReason(next, use.input_index, *current, rank);  // 2
        !why.empty()) {
      return NoMatch{why};
    }
    m.chain.push_back(const_cast<ir::Node*>(&next));
    m.data_index.push_back(use.input_index);
    current = next.output(0);
  }
}

// The chain's constant operands, permuted back: k' = transpose(k aligned, p^-1).
MatchOr<std::vector<ir::ConstTensorPtr>> UntransposedConstants(const CancelTransposesMatch& m) {
  const int rank = static_cast<int>(m.perm.size());
  std::vector<int64_t> inverse(rank);
  for (int i = 0; i < rank; ++i) inverse[m.perm[i]] = i;
  std::vector<ir::ConstTensorPtr> constants(m.chain.size());
  for (size_t c = 0; c < m.chain.size(); ++c) {
    const ir::Node& op = *m.chain[c];
    if (IsUnaryElementwise(op.kind())) continue;
    const Tensor& k = *op.input(1 - m.data_index[c])->constant_data();
    if (k.shape().empty()) continue;  // a scalar broadcasts in any layout
    StatusOr<ir::ConstTensorPtr> permuted = TransposeConstant(k, rank, inverse);
    if (!permuted.ok()) return NoMatch{op.Describe() + ": " + permuted.status().message()};
    constants[c] = *permuted;
  }
  return constants;
}

}  // namespace

MatchOr<CancelTransposesMatch> MatchCancelTransposes(const ir::Node& node) {
  MATCH_OR_RETURN(CancelTransposesMatch m, MatchChain(node));
  MATCH_OR_RETURN(m.constants, UntransposedConstants(m));
  return m;
}

StatusOr<PreparedCancelTransposes> PrepareCancelTransposes(ir::Graph& graph,
                                                           const CancelTransposesMatch& m) {
  PreparedCancelTransposes p;
  p.constants.assign(m.chain.size(), nullptr);
  std::vector<ir::Value*> created;
  auto undo = [&](Status status) {
    for (ir::Value* v : created) RemoveIfDead(graph, v);
    return status;
  };
  for (size_t c = 0; c < m.chain.size(); ++c) {
    if (!m.constants[c]) continue;
    const ir::Value& old = *m.chain[c]->input(1 - m.data_index[c]);
    StatusOr<ir::Value*> fresh =
        AddFreshInitializer(graph, old.name() + "_untransposed", m.constants[c]);
    if (!fresh.ok()) return undo(fresh.status());
    created.push_back(p.constants[c] = *fresh);
  }
  if (m.end != End::kGraphOutput) return p;
  // The graph output keeps its name and layout: the chain's last op writes a
  // new value, which a Transpose made now (on a placeholder output) turns
  // into the graph output.
  const ir::Value& out = *m.chain.back()->output(0);
  StatusOr<ir::Value*> inner = AddFreshValueLike(graph, out, "_untransposed");
  if (!inner.ok()) return undo(inner.status());
  created.push_back(p.inner = *inner);
  StatusOr<ir::Value*> placeholder = AddFreshValueLike(graph, out, "_moved");
  if (!placeholder.ok()) return undo(placeholder.status());
  created.push_back(p.placeholder = *placeholder);
  StatusOr<ir::Node*> moved =
      graph.AddNode(ir::OpKind::kTranspose, "Transpose", m.first->domain(), m.first->name(),
                    m.first->opset(), {p.inner}, {p.placeholder});
  if (!moved.ok()) return undo(moved.status());
  p.moved = *moved;
  SetPerm(*p.moved, m.perm);
  return p;
}

void CommitCancelTransposes(ir::Graph& graph, const CancelTransposesMatch& m,
                            const PreparedCancelTransposes& p) {
  ir::Value* x = m.first->input(0);
  ir::Value* first_out = m.first->output(0);
  ir::Value* last_value = x;  // the chain's result in the untransposed layout
  for (size_t c = 0; c < m.chain.size(); ++c) {
    ir::Node* op = m.chain[c];
    if (c == 0) graph.SetNodeInput(op, m.data_index[0], x);
    if (p.constants[c] != nullptr) {
      ir::Value* old = op->input(1 - m.data_index[c]);
      graph.SetNodeInput(op, 1 - m.data_index[c], p.constants[c]);
      RemoveIfDead(graph, old);
    }
    if (p.inner != nullptr && c + 1 == m.chain.size()) {
      ir::Value* graph_output = op->output(0);
      graph.SetNodeOutput(op, 0, p.inner);
      graph.SetNodeOutput(p.moved, 0, graph_output);
      RemoveIfDead(graph, p.placeholder);
    }
    UntransposeShape(*op->output(0), m.perm);
    last_value = op->output(0);
  }
  if (m.chain.empty()) graph.SetNodeInput(m.last, 0, x);
  graph.RemoveNode(m.first);
  RemoveIfDead(graph, first_out);

  if (m.end == End::kMerge) {
    SetPerm(*m.last, m.merged_perm);
  } else if (m.end == End::kCancel) {
    ir::Value* closed = m.last->output(0);
    graph.RemoveNode(m.last);
    if (closed != nullptr && closed->is_graph_output()) {
      // Precondition 5: the chain has an op; it now produces the output
      // (and its own output value, now unread, goes).
      MoveOutput(graph, m.chain.back(), 0, closed);
    } else if (closed != nullptr) {
      graph.ReplaceAllUsesWith(closed, last_value);
      RemoveIfDead(graph, closed);
    }
  }
}

Status RewriteCancelTransposes(ir::Graph& graph, const CancelTransposesMatch& match) {
  StatusOr<PreparedCancelTransposes> prepared = PrepareCancelTransposes(graph, match);
  if (!prepared.ok()) return prepared.status();
  CommitCancelTransposes(graph, match, *prepared);
  return Status::Ok();
}

Status CancelTransposesPass::Run(ir::Graph& graph, PassReport& report) const {
  Status sorted = graph.TopologicalSort();
  if (!sorted.ok()) return sorted;
  return VisitLiveNodes(graph, /*reverse=*/false, [&](ir::Node* node) -> StatusOr<bool> {
    if (node->kind() != ir::OpKind::kTranspose) return false;
    MatchOr<CancelTransposesMatch> match = MatchCancelTransposes(*node);
    if (!match.ok()) {
      report.nodes.push_back({DecisionName(*node), node->op_type(), false, match.reason()});
      return false;
    }
    std::string note = node->Describe();
    switch (match->end) {
      case End::kCancel: note = "cancelled " + note + " against " + match->last->Describe(); break;
      case End::kMerge: note = "merged " + note + " into " + match->last->Describe(); break;
      case End::kGraphOutput: note = "moved " + note + " to graph output '" +
                                     match->chain.back()->output(0)->name() + "'"; break;
    }
    note += " across " + std::to_string(match->chain.size()) + " element-wise op(s)";
    report.nodes.push_back({DecisionName(*node), node->op_type(), true, note});
    if (match->last != nullptr) {
      // The closing Transpose goes (kCancel) or takes the merged perm (kMerge).
      const bool cancelled = match->end == End::kCancel;
      report.nodes.push_back({DecisionName(*match->last), match->last->op_type(), true,
                              (cancelled ? "cancelled against " : "took the perm of ") +
                                  node->Describe() + (cancelled ? "" : " merged into it")});
    }
    Status status = RewriteCancelTransposes(graph, *match);
    if (!status.ok()) return status.WithContext(note);
    report.notes.push_back(note);
    ++report.rewrites;
    return true;
  });
}

std::shared_ptr<const Pass> MakeCancelTransposesPass() {
  return std::make_shared<CancelTransposesPass>();
}

}  // namespace bnfold::passes
