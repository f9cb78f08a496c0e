// Building blocks shared by the folding passes: the match-or-reason result
// type, constants as double tensors, the "sole use" and "constant" checks
// every fold starts with, and graph edits that keep names and drop the
// constants a rewrite left unused.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bnfold/status.h"
#include "runtime/ir/graph.h"

namespace bnfold::passes {

// Why a pattern does not apply. Not an error: the graph is fine as it is.
struct NoMatch {
  std::string reason;
  // The same in a few words for a table column ("after Concat", "training
  // mode"), where the common reasons set one; empty otherwise.
  std::string brief = {};
};

// The outcome of a pure match(): the matched pattern, or the reason it does
// not apply (what `bnfold inspect` shows the user).
template <typename T>
class MatchOr {
 public:
  MatchOr(T value) : state_(std::move(value)) {}     // NOLINT: implicit
  MatchOr(NoMatch no) : state_(std::move(no)) {}     // NOLINT: implicit
  bool ok() const { return std::holds_alternative<T>(state_); }
  // Precondition: !ok().
  const std::string& reason() const { return std::get<NoMatch>(state_).reason; }
  const std::string& brief() const { return std::get<NoMatch>(state_).brief; }
  NoMatch no_match() const { return std::get<NoMatch>(state_); }
  // Precondition: ok().
  T& operator*() { return std::get<T>(state_); }
  const T& operator*() const { return std::get<T>(state_); }
  T* operator->() { return &std::get<T>(state_); }
  const T* operator->() const { return &std::get<T>(state_); }

 private:
  std::variant<T, NoMatch> state_;
};

#define BNFOLD_MATCH_CONCAT_INNER(a, b) a##b
#define BNFOLD_MATCH_CONCAT(a, b) BNFOLD_MATCH_CONCAT_INNER(a, b)
// `MATCH_OR_RETURN(auto x, MatchX());` declares x or returns its NoMatch.
#define MATCH_OR_RETURN(lhs, expr) \
  MATCH_OR_RETURN_IMPL(BNFOLD_MATCH_CONCAT(_bnfold_match_, __LINE__), lhs, expr)
#define MATCH_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                         \
  if (!tmp.ok()) return tmp.no_match();      \
  lhs = std::move(*tmp)

// A constant's elements in double, with its shape.
struct DoubleTensor {
  std::vector<int64_t> shape;
  std::vector<double> values;
};

DoubleTensor ToDoubleTensor(const Tensor& tensor);
// The data of a constant value (precondition: value.constant_data()).
DoubleTensor ConstantAsDouble(const ir::Value& value);
// Rounds `values` to `dtype`. NoMatch when an element is (or rounds to) a
// non-finite number: a fold must never turn finite weights into inf.
MatchOr<ir::ConstTensorPtr> RoundToDtype(DataType dtype,
                                         const DoubleTensor& values,
                                         const std::string& what);

// "" when `value` can be folded as a constant; else why not, naming it as
// `role` ("scale", "weight", ...). An initializer that is also a graph input
// (IR >= 4) is refused: the caller may feed another value at run time.
std::string NotConstantReason(const ir::Value* value, const std::string& role);
// "" when `value` has a floating-point element type; else why not, naming
// it as `role` ("input", ...) and, when its type is unknown, the op that
// left it so.
std::string NotFloatingReason(const ir::Value& value, const std::string& role);

// "" when `value`'s only use is `consumer` and it is not a graph output;
// else why not. Folding rewrites the producer, so any other reader of
// `value` would see the folded result.
std::string SoleUseReason(const ir::Value& value, const ir::Node& consumer);
// The single node reading `value` (and its input index), or NoMatch.
MatchOr<ir::Use> SoleUse(const ir::Value& value);

// Attribute getters for match(): a malformed attribute is a reason to leave
// the node alone (the backend reports it), not a pass failure.
MatchOr<int64_t> IntAttr(const ir::Node& node, const std::string& name, int64_t fallback);
MatchOr<float> FloatAttr(const ir::Node& node, const std::string& name, float fallback);
MatchOr<std::vector<int64_t>> IntsAttr(const ir::Node& node, const std::string& name);
MatchOr<std::string> StringAttr(const ir::Node& node, const std::string& name,
                                const std::string& fallback);

std::string ShapeString(const std::vector<int64_t>& shape);
std::string NumberString(double value);
// The static rank of `value`, or -1 when unknown.
int KnownRank(const ir::Value& value);

// ---- graph edits used by rewrite(); none of them can fail halfway.

// A new initializer under a fresh name derived from `base`.
StatusOr<ir::Value*> AddFreshInitializer(ir::Graph& graph, const std::string& base,
                                         ir::ConstTensorPtr data);
// A new value (no producer) with the dtype and shape of `like`, named after
// it with `suffix`.
StatusOr<ir::Value*> AddFreshValueLike(ir::Graph& graph, const ir::Value& like,
                                       const std::string& suffix);
// Deletes `value` when nothing reads it any more: an initializer that is not
// a graph input, the output of a Constant node (the node goes too), or an
// orphan. Anything still used or part of the graph interface stays.
void RemoveIfDead(ir::Graph& graph, ir::Value* value);
// Removes `node` and then every input it read that became dead.
void RemoveNodeAndDeadInputs(ir::Graph& graph, ir::Node* node);
// Makes `node` produce `target` (a value whose producer was just removed) at
// output `index`, deleting the value it produced before, which must be
// unused.
void MoveOutput(ir::Graph& graph, ir::Node* node, int index, ir::Value* target);
// Adds `attr` as an int (or float) attribute, replacing any existing one.
void SetIntAttr(ir::Node& node, const std::string& name, int64_t value);
void SetFloatAttr(ir::Node& node, const std::string& name, float value);

// Calls `visit` on every node in the order given (forward or reverse of the
// current node order) that no earlier visit removed. `visit` returns whether
// it changed the graph.
Status VisitLiveNodes(ir::Graph& graph, bool reverse,
                      const std::function<StatusOr<bool>(ir::Node*)>& visit);

// "node name" for a BatchNormDecision: the name, or the description.
std::string DecisionName(const ir::Node& node);

}  // namespace bnfold::passes
