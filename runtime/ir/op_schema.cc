#include "runtime/ir/op_schema.h"

#include <array>
#include <map>

namespace bnfold::ir {

InferContext::InferContext(const Node& node, std::vector<Input> inputs)
    : node_(node), inputs_(std::move(inputs)), outputs_(node.num_outputs()) {}

bool InferContext::has_input(int i) const {
  return i >= 0 && i < num_inputs() && inputs_[i].value != nullptr;
}

const std::optional<StaticShape>& InferContext::shape(int i) const {
  static const std::optional<StaticShape> kUnknown;
  return has_input(i) && inputs_[i].shape != nullptr ? *inputs_[i].shape : kUnknown;
}

int InferContext::rank(int i) const {
  const std::optional<StaticShape>& s = shape(i);
  return s ? static_cast<int>(s->size()) : -1;
}

const Tensor* InferContext::constant(int i) const {
  if (!has_input(i) || !inputs_[i].value->IsConstant()) return nullptr;
  return inputs_[i].value->constant_data().get();
}

const SymInts* InferContext::ints(int i) const {
  return has_input(i) ? inputs_[i].ints : nullptr;
}

std::optional<std::vector<int64_t>> InferContext::known_ints(int i) const {
  const SymInts* v = ints(i);
  if (v == nullptr) return std::nullopt;
  std::vector<int64_t> out;
  for (const SymInt& e : v->elements) {
    if (!e.known()) return std::nullopt;
    out.push_back(*e.value);
  }
  return out;
}

void InferContext::SetType(int i, DataType dtype) {
  if (i >= 0 && i < num_outputs()) outputs_[i].dtype = dtype;
}

void InferContext::SetShape(int i, StaticShape shape) {
  if (i >= 0 && i < num_outputs()) outputs_[i].shape = std::move(shape);
}

void InferContext::SetOutput(int i, DataType dtype, std::optional<StaticShape> shape) {
  if (i < 0 || i >= num_outputs()) return;
  outputs_[i].dtype = dtype;
  outputs_[i].shape = std::move(shape);
}

void InferContext::SetInts(int i, SymInts ints) {
  if (i >= 0 && i < num_outputs()) outputs_[i].ints = std::move(ints);
}

Status InferContext::Error(const std::string& message) const {
  return InvalidModel(node_.Describe() + ": " + message);
}

TypeRule FindTypeRule(OpKind kind) {
  static const std::array<TypeRule, static_cast<size_t>(OpKind::kCount)>* const table = [] {
    auto* t = new std::array<TypeRule, static_cast<size_t>(OpKind::kCount)>();
    for (auto rows : {ElementwiseRules(), NnRules(), ShapeRules(), LogicRules(), MathRules(),
                      IndexingRules(), LossSignalRules(), VisionRules(), QuantRules(),
                      RecurrentRules(), ControlRules(), SubgraphRules(), RandomRules()}) {
      for (const OpSchemaRow& row : rows) (*t)[static_cast<size_t>(row.kind)] = row.rule;
    }
    return t;
  }();
  const size_t k = static_cast<size_t>(kind);
  return k < table->size() ? (*table)[k] : nullptr;
}

// ---------------------------------------------------------------- helpers

Dim FixedDim(int64_t value) { return Dim{value, ""}; }

DataType FirstKnownType(const InferContext& ctx, std::initializer_list<int> inputs) {
  for (int i : inputs) {
    if (ctx.dtype(i) != DataType::kUndefined) return ctx.dtype(i);
  }
  return DataType::kUndefined;
}

bool IsIndexType(DataType type) { return type == DataType::kInt64 || type == DataType::kInt32; }

Dim CheckedDim(__int128 value) {
  if (value < 0 || value > (__int128{1} << 62)) return Dim{};
  return FixedDim(static_cast<int64_t>(value));
}

StaticShape UnknownDims(size_t rank) { return StaticShape(rank); }

StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank) {
    return InvalidModel(what + " " + std::to_string(axis) + " is out of range for rank " +
                        std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

namespace {

bool SameSymbol(const Dim& a, const Dim& b) {
  return !a.is_fixed() && !b.is_fixed() && !a.param.empty() && a.param == b.param;
}

}  // namespace

Status BroadcastInputsToOutput(InferContext& ctx, int begin, int end) {
  std::optional<StaticShape> shape;
  for (int i = begin; i < end; ++i) {
    if (!ctx.shape(i)) return Status::Ok();
    if (!shape) {
      shape = *ctx.shape(i);
      continue;
    }
    StatusOr<StaticShape> out = BroadcastShapes(*shape, *ctx.shape(i));
    if (!out.ok()) return ctx.Error(out.status().message());
    shape = std::move(*out);
  }
  if (shape) ctx.SetShape(0, std::move(*shape));
  return Status::Ok();
}

StatusOr<StaticShape> BroadcastShapes(const StaticShape& a, const StaticShape& b) {
  const size_t rank = std::max(a.size(), b.size());
  StaticShape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const Dim da = i < rank - a.size() ? FixedDim(1) : a[i - (rank - a.size())];
    const Dim db = i < rank - b.size() ? FixedDim(1) : b[i - (rank - b.size())];
    if (da.is_fixed() && db.is_fixed()) {
      if (da.value != db.value && da.value != 1 && db.value != 1) {
        return InvalidModel("dims " + std::to_string(da.value) + " and " +
                            std::to_string(db.value) + " cannot be broadcast together");
      }
      out[i] = da.value == 1 ? db : da;
    } else if (da.is_fixed() && da.value == 1) {
      out[i] = db;
    } else if (db.is_fixed() && db.value == 1) {
      out[i] = da;
    } else if (da.is_fixed()) {
      out[i] = da;  // the unknown side is 1 or equal
    } else if (db.is_fixed()) {
      out[i] = db;
    } else if (SameSymbol(da, db)) {
      out[i] = da;
    }  // else: unknown
  }
  return out;
}

Dim DimProduct(const StaticShape& dims, size_t begin, size_t end) {
  int64_t product = 1;
  const Dim* symbol = nullptr;
  bool unknown = false;
  for (size_t i = begin; i < end && i < dims.size(); ++i) {
    const Dim& d = dims[i];
    if (d.is_fixed()) {
      if (d.value == 0) return FixedDim(0);
      if (__builtin_mul_overflow(product, d.value, &product)) unknown = true;
    } else if (!d.param.empty() && symbol == nullptr) {
      symbol = &d;
    } else {
      unknown = true;
    }
  }
  if (unknown) return Dim{};
  if (symbol == nullptr) return FixedDim(product);
  return product == 1 ? *symbol : Dim{};
}

}  // namespace bnfold::ir
