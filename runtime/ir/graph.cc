#include "runtime/ir/graph.h"

#include <algorithm>
#include <deque>
#include <unordered_set>

#include "runtime/common/work_counter.h"

namespace bnfold::ir {

// ---------------------------------------------------------------- Node

const Attribute* Node::FindAttribute(const std::string& name) const {
  for (const Attribute& a : attributes_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void Node::SetAttribute(Attribute attribute) {
  bool replaced = false;
  for (Attribute& a : attributes_) {
    if (a.name == attribute.name) {
      a = std::move(attribute);
      replaced = true;
      break;
    }
  }
  if (!replaced) attributes_.push_back(std::move(attribute));
  (void)ParseTypedAttributes();
}

void Node::RemoveAttribute(const std::string& name) {
  attributes_.erase(std::remove_if(attributes_.begin(), attributes_.end(),
                                   [&](const Attribute& a) { return a.name == name; }),
                    attributes_.end());
  (void)ParseTypedAttributes();
}

Status Node::ParseTypedAttributes() {
  StatusOr<TypedAttrs> parsed = ParseTypedAttrs(*this);
  if (!parsed.ok()) return parsed.status();
  typed_attrs_ = std::move(*parsed);
  return Status::Ok();
}

namespace {

Status WrongAttrType(const Node& node, const std::string& name,
                     const char* expected) {
  return InvalidModel(node.Describe() + ": attribute '" + name +
                      "' is not of type " + expected);
}

}  // namespace

StatusOr<int64_t> Node::GetInt(const std::string& name, int64_t fallback) const {
  const Attribute* a = FindAttribute(name);
  if (a == nullptr) return fallback;
  if (a->type != AttrType::kInt) return WrongAttrType(*this, name, "int");
  return a->i;
}

StatusOr<float> Node::GetFloat(const std::string& name, float fallback) const {
  const Attribute* a = FindAttribute(name);
  if (a == nullptr) return fallback;
  if (a->type != AttrType::kFloat) return WrongAttrType(*this, name, "float");
  return a->f;
}

StatusOr<std::string> Node::GetString(const std::string& name,
                                      const std::string& fallback) const {
  const Attribute* a = FindAttribute(name);
  if (a == nullptr) return fallback;
  if (a->type != AttrType::kString) return WrongAttrType(*this, name, "string");
  return a->s;
}

StatusOr<std::vector<int64_t>> Node::GetInts(
    const std::string& name, const std::vector<int64_t>& fallback) const {
  const Attribute* a = FindAttribute(name);
  if (a == nullptr) return fallback;
  if (a->type != AttrType::kInts) return WrongAttrType(*this, name, "ints");
  return a->ints;
}

StatusOr<std::vector<float>> Node::GetFloats(
    const std::string& name, const std::vector<float>& fallback) const {
  const Attribute* a = FindAttribute(name);
  if (a == nullptr) return fallback;
  if (a->type != AttrType::kFloats) return WrongAttrType(*this, name, "floats");
  return a->floats;
}

std::vector<Graph*> Node::subgraphs() const {
  std::vector<Graph*> result;
  for (const Attribute& a : attributes_) {
    if (a.type == AttrType::kGraph && a.g) result.push_back(a.g.get());
  }
  return result;
}

Graph* Node::subgraph(const std::string& attribute) const {
  const Attribute* a = FindAttribute(attribute);
  return a && a->type == AttrType::kGraph ? a->g.get() : nullptr;
}

std::string Node::Describe() const {
  if (!name_.empty()) return op_type_ + " '" + name_ + "'";
  return op_type_ + " #" + std::to_string(id_);
}

// ---------------------------------------------------------------- Graph

StatusOr<Value*> Graph::AddValue(const std::string& name) {
  if (name.empty()) return InvalidModel("a value has an empty name");
  if (values_by_name_.count(name)) {
    return InvalidModel("value name '" + name + "' is defined twice");
  }
  values_.push_back(std::unique_ptr<Value>(new Value(name)));
  Value* v = values_.back().get();
  values_by_name_[name] = v;
  return v;
}

Value* Graph::FindValue(const std::string& name) const {
  auto it = values_by_name_.find(name);
  return it == values_by_name_.end() ? nullptr : it->second;
}

std::string Graph::UniqueName(const std::string& base) {
  if (!values_by_name_.count(base)) return base;
  while (true) {
    std::string candidate = base + "__" + std::to_string(++unique_name_counter_);
    if (!values_by_name_.count(candidate)) return candidate;
  }
}

StatusOr<Value*> Graph::AddInitializer(const std::string& name,
                                       ConstTensorPtr data) {
  StatusOr<Value*> v = AddValue(name);
  if (!v.ok()) return v;
  SetInitializer(*v, std::move(data));
  return v;
}

void Graph::SetInitializer(Value* value, ConstTensorPtr data) {
  sorted_ = false;
  value->dtype_ = data->dtype();
  StaticShape shape;
  for (int64_t d : data->shape()) shape.push_back(Dim{d, ""});
  value->shape_ = std::move(shape);
  value->constant_data_ = std::move(data);
  value->is_initializer_ = true;
}

void Graph::SetConstantOutput(Value* value, ConstTensorPtr data) {
  sorted_ = false;
  value->dtype_ = data->dtype();
  StaticShape shape;
  for (int64_t d : data->shape()) shape.push_back(Dim{d, ""});
  value->shape_ = std::move(shape);
  value->constant_data_ = std::move(data);
  value->is_initializer_ = false;
}

Status Graph::RemoveValue(Value* value) {
  if (value->producer_ || !value->uses_.empty() || value->is_graph_input_ ||
      value->is_graph_output_) {
    return Internal("value '" + value->name() + "' is still in use");
  }
  values_by_name_.erase(value->name_);
  values_.erase(std::find_if(values_.begin(), values_.end(),
                             [&](const auto& p) { return p.get() == value; }));
  return Status::Ok();
}

std::vector<Value*> Graph::Initializers() const {
  std::vector<Value*> result;
  for (const auto& v : values_) {
    if (v->is_initializer_) result.push_back(v.get());
  }
  return result;
}

int Graph::num_formal_inputs() const {
  int n = 0;
  for (const Value* v : inputs_) n += !v->is_outer_ref_;
  return n;
}

StatusOr<Value*> Graph::AddOuterRef(const std::string& name) {
  StatusOr<Value*> v = AddValue(name);
  if (!v.ok()) return v;
  (*v)->is_outer_ref_ = true;
  AddGraphInput(*v);
  return v;
}

Status Graph::SetOuterRefs(const std::vector<std::string>& names) {
  std::vector<Value*> inputs;
  for (Value* v : inputs_) {
    if (!v->is_outer_ref_) inputs.push_back(v);
  }
  for (const std::string& name : names) {
    Value* v = FindValue(name);
    if (v == nullptr) {
      StatusOr<Value*> added = AddValue(name);
      if (!added.ok()) return added.status();
      v = *added;
      v->is_outer_ref_ = true;
      v->is_graph_input_ = true;
    }
    if (!v->is_outer_ref_) return Internal("'" + name + "' is not an outer reference");
    inputs.push_back(v);
  }
  inputs_ = std::move(inputs);
  return Status::Ok();
}

void Graph::AddGraphInput(Value* value) {
  sorted_ = false;
  value->is_graph_input_ = true;
  inputs_.push_back(value);
}

void Graph::AddGraphOutput(Value* value) {
  value->is_graph_output_ = true;
  outputs_.push_back(value);
}

void Graph::SetGraphOutput(size_t index, Value* value) {
  Value* old = outputs_[index];
  outputs_[index] = value;
  old->is_graph_output_ =
      std::find(outputs_.begin(), outputs_.end(), old) != outputs_.end();
  value->is_graph_output_ = true;
}

StatusOr<Node*> Graph::AddNode(OpKind kind, const std::string& op_type,
                               const std::string& domain,
                               const std::string& name, int64_t opset,
                               const std::vector<Value*>& inputs,
                               const std::vector<Value*>& outputs) {
  for (Value* out : outputs) {
    if (out && out->producer_) {
      return InvalidModel(op_type + " '" + name + "': output '" + out->name() +
                          "' is already produced by " +
                          out->producer_->Describe());
    }
  }
  auto node = std::unique_ptr<Node>(new Node());
  node->kind_ = kind;
  node->op_type_ = op_type;
  node->domain_ = domain;
  node->name_ = name;
  node->opset_ = opset;
  node->id_ = next_node_id_++;
  sorted_ = false;
  (void)node->ParseTypedAttributes();  // no attributes yet: the defaults
  Node* n = node.get();
  nodes_by_id_[n->id_] = n;
  n->slot_ = nodes_.size();
  nodes_.push_back(std::move(node));
  n->inputs_.resize(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) SetNodeInput(n, static_cast<int>(i), inputs[i]);
  n->outputs_ = outputs;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i]) {
      outputs[i]->producer_ = n;
      outputs[i]->producer_output_ = static_cast<int>(i);
    }
  }
  return n;
}

void Graph::SetNodeInput(Node* node, int index, Value* value) {
  sorted_ = false;
  if (static_cast<size_t>(index) >= node->inputs_.size()) {
    node->inputs_.resize(index + 1, nullptr);
  }
  Value* old = node->inputs_[index];
  if (old) {
    auto& uses = old->uses_;
    uses.erase(std::find_if(uses.begin(), uses.end(), [&](const Use& u) {
      return u.node == node && u.input_index == index;
    }));
  }
  node->inputs_[index] = value;
  if (value) value->uses_.push_back(Use{node, index});
}

void Graph::AddImplicitInput(Node* node, Value* value) {
  SetNodeInput(node, node->num_inputs(), value);
  ++node->implicit_inputs_;
}

void Graph::PruneImplicitInputs(Node* node) {
  const std::vector<Graph*> subs = node->subgraphs();
  const int first = node->num_explicit_inputs();
  std::vector<std::vector<Value*>> refs;  // per subgraph, in order
  for (Graph* g : subs) {
    refs.emplace_back();
    for (Value* v : g->inputs_) {
      if (v->is_outer_ref_) refs.back().push_back(v);
    }
    if (static_cast<int>(refs.back().size()) != node->implicit_inputs_) return;  // not ours
  }
  std::vector<Value*> kept;
  for (int k = 0; k < node->implicit_inputs_; ++k) {
    bool used = false;
    for (const auto& r : refs) used |= !r[k]->uses_.empty() || r[k]->is_graph_output_;
    if (used) {
      kept.push_back(node->inputs_[first + k]);
      continue;
    }
    for (size_t g = 0; g < subs.size(); ++g) {
      Graph* sub = subs[g];
      Value* ref = refs[g][k];
      sub->inputs_.erase(std::find(sub->inputs_.begin(), sub->inputs_.end(), ref));
      ref->is_graph_input_ = false;
      (void)sub->RemoveValue(ref);
    }
  }
  for (int i = node->num_inputs() - 1; i >= first; --i) SetNodeInput(node, i, nullptr);
  node->inputs_.resize(first);
  node->implicit_inputs_ = 0;
  for (Value* v : kept) AddImplicitInput(node, v);
}

void Graph::SetNodeOutput(Node* node, int index, Value* value) {
  sorted_ = false;
  Value* old = node->outputs_[index];
  if (old) {
    old->producer_ = nullptr;
    old->producer_output_ = -1;
  }
  node->outputs_[index] = value;
  if (value) {
    value->producer_ = node;
    value->producer_output_ = index;
  }
}

void Graph::RemoveNode(Node* node) {
  sorted_ = false;
  for (int i = 0; i < node->num_inputs(); ++i) SetNodeInput(node, i, nullptr);
  for (Value* out : node->outputs_) {
    if (out) {
      out->producer_ = nullptr;
      out->producer_output_ = -1;
    }
  }
  nodes_by_id_.erase(node->id_);
  nodes_[node->slot_].reset();
  ++removed_nodes_;
  if (removed_nodes_ > nodes_.size() / 2) CompactNodes();
}

void Graph::CompactNodes() {
  if (removed_nodes_ == 0) return;
  size_t kept = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]) continue;
    nodes_[i]->slot_ = kept;
    nodes_[kept++] = std::move(nodes_[i]);
  }
  nodes_.resize(kept);
  removed_nodes_ = 0;
}

Node* Graph::FindNode(size_t id) const {
  auto it = nodes_by_id_.find(id);
  return it == nodes_by_id_.end() ? nullptr : it->second;
}

void Graph::ReplaceAllUsesWith(Value* from, Value* to) {
  const std::vector<Use> uses = from->uses_;
  for (const Use& use : uses) SetNodeInput(use.node, use.input_index, to);
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (outputs_[i] == from) SetGraphOutput(i, to);
  }
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> result;
  result.reserve(num_nodes());
  for (const auto& n : nodes_) {
    if (n) result.push_back(n.get());
  }
  return result;
}

Status Graph::TopologicalSort() {
  if (sorted_) return Status::Ok();
  ++sort_count_;
  CompactNodes();
  // Kahn's algorithm; ready nodes are taken in file order so an already
  // sorted graph keeps its order. O(nodes + edges): positions and "already
  // counted" marks are arrays indexed by node id and position.
  std::vector<size_t> position(next_node_id_, 0);
  for (size_t i = 0; i < nodes_.size(); ++i) position[nodes_[i]->id_] = i;
  std::vector<int> pending(nodes_.size(), 0);
  // mark[j] == i + 1: node j was already counted for node i.
  std::vector<size_t> mark(nodes_.size(), 0);
  uint64_t visits = nodes_.size();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    visits += nodes_[i]->inputs_.size();
    for (Value* in : nodes_[i]->inputs_) {
      if (in == nullptr) continue;
      if (in->producer_ == nullptr && !in->constant_data_ && !in->is_graph_input_) {
        return InvalidModel(nodes_[i]->Describe() + ": input '" + in->name() +
                            "' is not a graph input, an initializer, or the "
                            "output of any node");
      }
      if (in->producer_ == nullptr) continue;
      const size_t j = position[in->producer_->id_];
      if (mark[j] != i + 1) {
        mark[j] = i + 1;
        ++pending[i];
      }
    }
  }
  std::vector<size_t> ready;  // min-heap on file position
  auto cmp = [](size_t a, size_t b) { return a > b; };
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::make_heap(ready.begin(), ready.end(), cmp);
  std::vector<size_t> order;
  order.reserve(nodes_.size());
  std::fill(mark.begin(), mark.end(), 0);  // mark[j] == i + 1: j released by i
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), cmp);
    const size_t i = ready.back();
    ready.pop_back();
    order.push_back(i);
    for (Value* out : nodes_[i]->outputs_) {
      if (out == nullptr) continue;
      visits += out->uses_.size();
      for (const Use& use : out->uses_) {
        // A consumer counts each distinct producer once.
        const size_t j = position[use.node->id_];
        if (mark[j] == i + 1) continue;
        mark[j] = i + 1;
        if (--pending[j] == 0) {
          ready.push_back(j);
          std::push_heap(ready.begin(), ready.end(), cmp);
        }
      }
    }
  }
  AddCompileWork(visits);
  if (order.size() != nodes_.size()) return CycleError(pending);
  std::vector<std::unique_ptr<Node>> sorted;
  sorted.reserve(nodes_.size());
  for (size_t i : order) {
    nodes_[i]->slot_ = sorted.size();
    sorted.push_back(std::move(nodes_[i]));
  }
  nodes_ = std::move(sorted);
  sorted_ = true;
  return Status::Ok();
}

Status Graph::CycleError(const std::vector<int>& pending) const {
  // Every node left pending has a pending producer, so walking producers
  // from any of them must come back to a node already seen: that loop is a
  // cycle (the start may only lead into it).
  std::unordered_map<const Node*, size_t> index;
  for (size_t i = 0; i < nodes_.size(); ++i) index[nodes_[i].get()] = i;
  size_t start = 0;
  while (start < nodes_.size() && pending[start] == 0) ++start;
  std::vector<size_t> path;
  std::unordered_map<size_t, size_t> seen_at;  // node -> position in path
  size_t current = start;
  while (!seen_at.count(current)) {
    seen_at[current] = path.size();
    path.push_back(current);
    size_t next = current;
    for (Value* in : nodes_[current]->inputs_) {
      if (in && in->producer_ && pending[index[in->producer_]] > 0) {
        next = index[in->producer_];
        break;
      }
    }
    current = next;
  }
  // path[seen_at[current]..] is the cycle, listed consumer -> producer.
  // Print it in data-flow order, from the member that comes first in the
  // graph, so the message does not depend on where the walk started.
  std::vector<size_t> cycle(path.rbegin(), path.rend() - seen_at[current]);
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
  std::string text;
  for (size_t i : cycle) text += nodes_[i]->Describe() + " -> ";
  text += nodes_[cycle.front()]->Describe();
  return InvalidModel("the graph has a cycle: " + text);
}

std::unique_ptr<Graph> Graph::Clone() const {
  auto copy = std::make_unique<Graph>();
  copy->name_ = name_;
  copy->next_node_id_ = next_node_id_;
  copy->unique_name_counter_ = unique_name_counter_;
  std::unordered_map<const Value*, Value*> map;
  for (const auto& v : values_) {
    Value* c = *copy->AddValue(v->name_);
    c->dtype_ = v->dtype_;
    c->shape_ = v->shape_;
    c->declared_type_ = v->declared_type_;
    c->unknown_type_reason_ = v->unknown_type_reason_;
    c->constant_data_ = v->constant_data_;
    c->is_initializer_ = v->is_initializer_;
    c->overridable_ = v->overridable_;
    c->is_outer_ref_ = v->is_outer_ref_;
    map[v.get()] = c;
  }
  for (Value* in : inputs_) copy->AddGraphInput(map[in]);
  for (Value* out : outputs_) copy->AddGraphOutput(map[out]);
  for (const auto& n : nodes_) {
    if (!n) continue;  // removed
    std::vector<Value*> ins, outs;
    for (Value* v : n->inputs_) ins.push_back(v ? map[v] : nullptr);
    for (Value* v : n->outputs_) outs.push_back(v ? map[v] : nullptr);
    Node* c = *copy->AddNode(n->kind_, n->op_type_, n->domain_, n->name_,
                             n->opset_, ins, outs);
    copy->nodes_by_id_.erase(c->id_);
    c->id_ = n->id_;
    copy->nodes_by_id_[c->id_] = c;
    c->doc_string_ = n->doc_string_;
    c->typed_attrs_ = n->typed_attrs_;
    c->attributes_ = n->attributes_;
    c->implicit_inputs_ = n->implicit_inputs_;
    for (Attribute& a : c->attributes_) {
      if (a.type == AttrType::kGraph && a.g) a.g = std::shared_ptr<Graph>(a.g->Clone());
    }
  }
  copy->sorted_ = sorted_;
  return copy;
}

int CountNodes(const Graph& graph, OpKind kind) {
  int count = 0;
  for (const Node* n : graph.nodes()) {
    count += n->kind() == kind;
    for (const Graph* sub : n->subgraphs()) count += CountNodes(*sub, kind);  // bodies too
  }
  return count;
}

std::string StaticShapeToString(const StaticShape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i].is_fixed() ? std::to_string(shape[i].value)
                             : (shape[i].param.empty() ? "?" : shape[i].param);
  }
  return s + "]";
}

}  // namespace bnfold::ir
