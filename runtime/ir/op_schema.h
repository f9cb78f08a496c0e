// The op-schema table: for every op bnfold runs, how its outputs' element
// types (always) and static shapes (as far as they follow) come from its
// inputs, attributes and constant inputs. type_inference.cc runs these rules
// over a graph; nothing else decides a value's type.
//
// Adding an op: one row in the table of its family (op_rules/*.cc), pointing
// at its rule (most reuse a shared one: SameAsInput, Broadcast, ...). The
// table test fails for an OpKind without a row.
//
// A rule reads only what the context offers and sets what it can: the dtype
// first (so it survives a shape error), then the shape. A shape may be
// partial (ir::Dim unknown or symbolic); a rank that cannot be known leaves
// the shape unset. An inconsistent node (shapes that cannot broadcast, an
// axis out of range) is an error Status naming the reason; the kernels
// report it again when the model is compiled.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "runtime/ir/graph.h"

namespace bnfold::ir {

// One element of an integer tensor known before the model runs (a shape, an
// axis list): a number, a symbolic dim's name, or unknown.
struct SymInt {
  std::optional<int64_t> value;
  std::string param;

  static SymInt Known(int64_t v) { return SymInt{v, ""}; }
  static SymInt FromDim(const Dim& d) {
    return d.is_fixed() ? Known(d.value) : SymInt{std::nullopt, d.param};
  }
  bool known() const { return value.has_value(); }
  Dim ToDim() const { return value && *value >= 0 ? Dim{*value, ""} : Dim{-1, param}; }
  bool operator==(const SymInt& o) const {
    return value ? o.value == value : (!o.value && !param.empty() && o.param == param);
  }
};
// The elements of a rank-0 or rank-1 integer tensor, with its rank.
struct SymInts {
  std::vector<SymInt> elements;
  bool scalar = false;
};

// Integer tensors at most this long have their elements propagated.
inline constexpr int64_t kMaxPropagatedInts = 64;

class InferContext {
 public:
  struct Input {
    const Value* value = nullptr;  // null when omitted
    DataType dtype = DataType::kUndefined;
    const std::optional<StaticShape>* shape = nullptr;
    const SymInts* ints = nullptr;  // elements known before the run, if any
  };
  struct Output {
    DataType dtype = DataType::kUndefined;
    std::optional<StaticShape> shape;
    std::optional<SymInts> ints;
  };

  InferContext(const Node& node, std::vector<Input> inputs);

  const Node& node() const { return node_; }
  int64_t opset() const { return node_.opset(); }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  bool has_input(int i) const;
  bool has_output(int i) const { return node_.output(i) != nullptr; }
  DataType dtype(int i) const { return has_input(i) ? inputs_[i].dtype : DataType::kUndefined; }
  // The static shape of input i; nullopt when its rank is unknown (or the
  // input is omitted).
  const std::optional<StaticShape>& shape(int i) const;
  // Rank of input i, -1 when unknown.
  int rank(int i) const;
  // Data of input i when it is fixed at load time (Value::IsConstant()).
  const Tensor* constant(int i) const;
  // Elements of integer input i known before the run: its constant data, or
  // what data propagation computed (Shape -> Gather -> Concat ...).
  const SymInts* ints(int i) const;
  // ints(i) when every element is a number.
  std::optional<std::vector<int64_t>> known_ints(int i) const;

  void SetType(int i, DataType dtype);
  void SetShape(int i, StaticShape shape);
  // Both: the most common case.
  void SetOutput(int i, DataType dtype, std::optional<StaticShape> shape);
  void SetInts(int i, SymInts ints);
  const std::vector<Output>& outputs() const { return outputs_; }

  // "<node>: <message>" as an InvalidModel status.
  Status Error(const std::string& message) const;

 private:
  const Node& node_;
  std::vector<Input> inputs_;
  std::vector<Output> outputs_;
};

using TypeRule = Status (*)(InferContext& ctx);

struct OpSchemaRow {
  OpKind kind;
  TypeRule rule;
};

// The rule for `kind`; null for kUnknown (and for an op with no row, which
// the table test forbids).
TypeRule FindTypeRule(OpKind kind);

// The family tables (op_rules/*.cc), assembled by FindTypeRule.
std::vector<OpSchemaRow> ElementwiseRules();
std::vector<OpSchemaRow> NnRules();
std::vector<OpSchemaRow> ShapeRules();
std::vector<OpSchemaRow> LogicRules();  // op_rules/logic_rules.cc
std::vector<OpSchemaRow> MathRules();  // op_rules/math_rules.cc
std::vector<OpSchemaRow> IndexingRules();  // op_rules/indexing_rules.cc
std::vector<OpSchemaRow> LossSignalRules();  // op_rules/loss_signal_rules.cc
std::vector<OpSchemaRow> VisionRules();  // op_rules/vision_rules.cc
std::vector<OpSchemaRow> QuantRules();  // op_rules/quant_rules.cc
std::vector<OpSchemaRow> RecurrentRules();  // op_rules/recurrent_rules.cc
std::vector<OpSchemaRow> ControlRules();  // op_rules/control_rules.cc
std::vector<OpSchemaRow> SubgraphRules();  // op_rules/subgraph_rules.cc: If, Loop, Scan
std::vector<OpSchemaRow> RandomRules();  // op_rules/random_rules.cc

// ---- helpers shared by the rules (op_schema.cc)

// Numpy broadcasting of two static shapes: a dim of 1 stretches, equal
// dims (fixed or the same symbol) stay, a fixed dim > 1 wins over an unknown
// one; otherwise the result dim is unknown. Error when two fixed dims differ
// and neither is 1.
StatusOr<StaticShape> BroadcastShapes(const StaticShape& a, const StaticShape& b);
// Output 0's shape: inputs [begin, end) broadcast together; left unset when
// one of them has no shape, an error naming the node when they cannot.
Status BroadcastInputsToOutput(InferContext& ctx, int begin, int end);
// Product of dims: fixed when all are, the one symbol when the others are 1.
Dim DimProduct(const StaticShape& dims, size_t begin, size_t end);
// Axis in [-rank, rank) normalized to [0, rank); error naming `what` otherwise.
StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what);
StaticShape UnknownDims(size_t rank);
Dim FixedDim(int64_t value);
// A dim computed in 128 bits (sizes from attributes and dims can overflow
// 64): fixed when it fits in [0, 2^62], else unknown (the kernels refuse
// such a node with a message; a rule must only not crash or lie).
Dim CheckedDim(__int128 value);
// The element type of the first of `inputs` that has one: ops whose inputs
// share a type constraint know it from any of them.
DataType FirstKnownType(const InferContext& ctx, std::initializer_list<int> inputs);
// int32 or int64: the element types data propagation follows.
bool IsIndexType(DataType type);
// The elements of an integer constant (rank <= 1).
SymInts ConstantInts(const Tensor& tensor);

}  // namespace bnfold::ir
