// The bnfold IR: a Graph owns Nodes and Values; a Value knows its producer and
// its uses. Constants (initializers and Constant-node outputs) are shared,
// immutable tensors: a pass makes new ones, it never edits them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bnfold/status.h"
#include "bnfold/tensor.h"
#include "runtime/ir/attrs.h"
#include "runtime/ir/op_kind.h"

namespace bnfold::ir {

using ConstTensorPtr = std::shared_ptr<const Tensor>;

// One dimension of a static shape: a fixed size, a symbol, or unknown.
struct Dim {
  int64_t value = -1;  // -1 when not fixed
  std::string param;   // symbolic name, e.g. "batch"
  bool is_fixed() const { return value >= 0; }
};
using StaticShape = std::vector<Dim>;
// "[N,3,224,224]": symbols by name, unknown dims as "?".
std::string StaticShapeToString(const StaticShape& shape);

// An element type and a static shape (nullopt: rank unknown).
struct ValueType {
  DataType dtype = DataType::kUndefined;
  std::optional<StaticShape> shape;
};

class Graph;

enum class AttrType {
  kFloat,
  kInt,
  kString,
  kTensor,
  kFloats,
  kInts,
  kStrings,
  // A subgraph (If's branches, Loop's and Scan's body), owned by the node:
  // Graph::Clone copies it, never shares it.
  kGraph,
  // A kind bnfold never interprets (graph, sparse tensor, type proto): kept
  // as the serialized AttributeProto so export is lossless.
  kOpaque,
};

struct Attribute {
  std::string name;
  AttrType type = AttrType::kInt;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;  // kString, or the serialized proto for kOpaque
  ConstTensorPtr t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::shared_ptr<Graph> g;  // kGraph
};

class Node;
class Graph;

struct Use {
  Node* node;
  int input_index;
};

class Value {
 public:
  const std::string& name() const { return name_; }
  // bnfold's type of the value (type_inference.h): a constant's data, a
  // graph input's declaration, else what its producer's rule computes.
  DataType dtype() const { return dtype_; }
  void set_dtype(DataType dtype) { dtype_ = dtype; }
  const std::optional<StaticShape>& shape() const { return shape_; }
  void set_shape(std::optional<StaticShape> shape) { shape_ = std::move(shape); }
  // What the model file declares (graph input/output, value_info), if
  // anything: checked against bnfold's type, used only where bnfold knows
  // nothing (an op it does not know) or as a kernel's stated contract.
  const std::optional<ValueType>& declared_type() const { return declared_type_; }
  void set_declared_type(std::optional<ValueType> type) { declared_type_ = std::move(type); }
  // Why dtype() is unknown (which op left it so), set by type inference.
  const std::string& unknown_type_reason() const { return unknown_type_reason_; }
  void set_unknown_type_reason(std::string why) { unknown_type_reason_ = std::move(why); }

  Node* producer() const { return producer_; }
  int producer_output() const { return producer_output_; }
  const std::vector<Use>& uses() const { return uses_; }

  // Data of an initializer or of a Constant node's output; null otherwise.
  const ConstTensorPtr& constant_data() const { return constant_data_; }
  bool is_initializer() const { return is_initializer_; }
  // An initializer also listed as a graph input (IR >= 4): the caller may
  // feed a different value at run time.
  bool is_overridable() const { return overridable_; }
  bool is_graph_input() const { return is_graph_input_; }
  bool is_graph_output() const { return is_graph_output_; }
  // In a subgraph: an input standing for the value of that name in an
  // enclosing graph (captured by name), fed by the owning node's implicit
  // input of the same position (see Graph::AddOuterRef).
  bool is_outer_ref() const { return is_outer_ref_; }
  // Data fixed at load time that no caller can override: safe to fold.
  bool IsConstant() const { return constant_data_ && !is_overridable(); }

 private:
  friend class Graph;
  explicit Value(std::string name) : name_(std::move(name)) {}

  std::string name_;
  DataType dtype_ = DataType::kUndefined;
  std::optional<StaticShape> shape_;
  std::optional<ValueType> declared_type_;
  std::string unknown_type_reason_;
  Node* producer_ = nullptr;
  int producer_output_ = -1;
  std::vector<Use> uses_;
  ConstTensorPtr constant_data_;
  bool is_initializer_ = false;
  bool overridable_ = false;
  bool is_graph_input_ = false;
  bool is_graph_output_ = false;
  bool is_outer_ref_ = false;
};

class Node {
 public:
  OpKind kind() const { return kind_; }
  const std::string& op_type() const { return op_type_; }
  const std::string& domain() const { return domain_; }
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& doc_string() const { return doc_string_; }
  void set_doc_string(std::string doc) { doc_string_ = std::move(doc); }
  // The model's opset import for this node's domain.
  int64_t opset() const { return opset_; }
  // Position at creation (the file order for imported nodes); stable.
  size_t id() const { return id_; }

  // Omitted optional inputs/outputs are nullptr.
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // A node with subgraphs: inputs [num_explicit_inputs(), num_inputs()) are
  // implicit -- the outer values its subgraphs read, in the order of each
  // subgraph's outer references. They order the node after their producers
  // and reach its kernel like any input; the exporter writes only the
  // explicit ones.
  int num_explicit_inputs() const { return num_inputs() - implicit_inputs_; }
  int num_implicit_inputs() const { return implicit_inputs_; }
  // The subgraphs of kGraph attributes, in attribute order.
  std::vector<Graph*> subgraphs() const;
  Graph* subgraph(const std::string& attribute) const;
  int num_outputs() const { return static_cast<int>(outputs_.size()); }

  const std::vector<Attribute>& attributes() const { return attributes_; }
  const Attribute* FindAttribute(const std::string& name) const;
  // Adds or replaces by name (or removes), and parses the typed attributes
  // again (a value of the wrong type leaves them as they were: the importer
  // reports it through ParseTypedAttributes).
  void SetAttribute(Attribute attribute);
  void RemoveAttribute(const std::string& name);
  // Parses the typed attributes from the raw ones; an error names the node
  // and the attribute.
  Status ParseTypedAttributes();
  // The typed attributes (attrs.h) of an op that has them, ONNX defaults
  // applied. Precondition: the node's kind uses T (e.g. BatchNormAttrs for
  // a BatchNormalization).
  template <typename T>
  const T& attrs() const {
    return std::get<T>(typed_attrs_);
  }

  // Typed getters returning `fallback` when the attribute is absent. A
  // present attribute of the wrong type is an error (not a silent default).
  StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  StatusOr<float> GetFloat(const std::string& name, float fallback) const;
  StatusOr<std::string> GetString(const std::string& name,
                                  const std::string& fallback) const;
  StatusOr<std::vector<int64_t>> GetInts(
      const std::string& name, const std::vector<int64_t>& fallback) const;
  StatusOr<std::vector<float>> GetFloats(
      const std::string& name, const std::vector<float>& fallback) const;

  // "Conv 'conv1'" (or "Conv #12" when unnamed): the prefix of every error
  // about this node.
  std::string Describe() const;

 private:
  friend class Graph;
  Node() = default;

  OpKind kind_ = OpKind::kUnknown;
  std::string op_type_;
  std::string domain_;
  std::string name_;
  std::string doc_string_;
  int64_t opset_ = 0;
  size_t id_ = 0;  // creation order, for stable descriptions
  size_t slot_ = 0;  // index in Graph::nodes_
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<Attribute> attributes_;
  TypedAttrs typed_attrs_;
  int implicit_inputs_ = 0;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // --- values ---
  // Creates a value; error when the name is already used.
  StatusOr<Value*> AddValue(const std::string& name);
  Value* FindValue(const std::string& name) const;
  // A name not yet used in the graph, derived from `base`.
  std::string UniqueName(const std::string& base);
  // Creates an initializer value holding `data`.
  StatusOr<Value*> AddInitializer(const std::string& name, ConstTensorPtr data);
  // Makes `value` an initializer (or replaces its data).
  void SetInitializer(Value* value, ConstTensorPtr data);
  // Marks an initializer that is also a graph input as overridable at run
  // time (IR >= 4 semantics).
  void SetOverridable(Value* value, bool overridable) { value->overridable_ = overridable; }
  // Attaches the constant produced by a Constant node to its output value.
  void SetConstantOutput(Value* value, ConstTensorPtr data);
  // Removes a value that has no producer and no uses and is not a graph
  // input/output.
  Status RemoveValue(Value* value);
  const std::vector<std::unique_ptr<Value>>& values() const { return values_; }
  // Initializers in creation order.
  std::vector<Value*> Initializers() const;

  // --- graph inputs/outputs ---
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  // A subgraph's inputs: the formal ones (what the op feeds, e.g. Loop's
  // iteration number, condition and carried values) come first, then the
  // outer references.
  int num_formal_inputs() const;
  // Adds an outer reference `name` (an input after the formal ones).
  StatusOr<Value*> AddOuterRef(const std::string& name);
  // Makes the outer references exactly `names`, in this order (adding the
  // missing ones): the branches of one If then share the node's implicit
  // inputs position by position.
  Status SetOuterRefs(const std::vector<std::string>& names);
  void AddGraphInput(Value* value);
  void AddGraphOutput(Value* value);
  // Replaces graph output `index` with `value`.
  void SetGraphOutput(size_t index, Value* value);

  // --- nodes ---
  // Creates a node with the given inputs (nullptr = omitted) and outputs; each
  // output must not already have a producer.
  StatusOr<Node*> AddNode(OpKind kind, const std::string& op_type,
                          const std::string& domain, const std::string& name,
                          int64_t opset, const std::vector<Value*>& inputs,
                          const std::vector<Value*>& outputs);
  void SetNodeInput(Node* node, int index, Value* value);
  // Appends an implicit input (see Node::num_explicit_inputs).
  void AddImplicitInput(Node* node, Value* value);
  // Drops the implicit inputs of `node` (a node of this graph) that none of
  // its subgraphs reads any more, with their outer references.
  void PruneImplicitInputs(Node* node);
  // Replaces output `index` of `node` with `value` (which must have no
  // producer); the old output value loses its producer.
  void SetNodeOutput(Node* node, int index, Value* value);
  // Detaches and deletes `node`; its output values stay, without producer.
  // O(its inputs' uses): the slot it leaves is reclaimed later, in bulk.
  void RemoveNode(Node* node);
  // Redirects every use of `from` (including graph outputs) to `to`.
  void ReplaceAllUsesWith(Value* from, Value* to);
  // Nodes in their current order (topological after TopologicalSort()).
  std::vector<Node*> nodes() const;
  size_t num_nodes() const { return nodes_.size() - removed_nodes_; }
  // The live node with Node::id() `id`, or nullptr once it is removed.
  Node* FindNode(size_t id) const;

  // Orders nodes so each comes after the producers of its inputs, keeping the
  // file order where it is already valid. Errors on a cycle or on an input
  // that nothing produces. O(nodes + edges); returns at once when nothing
  // changed the graph since the last successful sort (every mutator below
  // marks it unsorted).
  Status TopologicalSort();
  // How many sorts did the work (not returned at once): lets a test check
  // that a pipeline sorts a bounded number of times, whatever the size.
  size_t sort_count() const { return sort_count_; }

  // Deep copy of structure, subgraphs included; constant tensors are shared.
  std::unique_ptr<Graph> Clone() const;

 private:
  std::string name_;
  std::vector<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> values_by_name_;
  // Null where a node was removed (removed_nodes_ of them) until the next
  // CompactNodes.
  std::vector<std::unique_ptr<Node>> nodes_;
  size_t removed_nodes_ = 0;
  void CompactNodes();
  // Node::id() -> node: lets a pass that removes nodes while it walks a
  // saved order ask whether a node is still there in O(1) (VisitLiveNodes).
  std::unordered_map<size_t, Node*> nodes_by_id_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  // The error for a graph TopologicalSort could not order; names the nodes
  // of one cycle. `pending` counts each node's unsorted producers.
  Status CycleError(const std::vector<int>& pending) const;

  size_t next_node_id_ = 0;
  size_t unique_name_counter_ = 0;
  bool sorted_ = false;  // nodes_ is in topological order, nothing changed since
  size_t sort_count_ = 0;
};

// Counts nodes of `kind` in `graph`.
int CountNodes(const Graph& graph, OpKind kind);

}  // namespace bnfold::ir
