#include "runtime/ir/op_kind.h"

#include <string>
#include <unordered_map>

namespace bnfold::ir {

namespace {

const std::unordered_map<std::string_view, OpKind>& KindsByName() {
  static const auto* const kinds = [] {
    auto* map = new std::unordered_map<std::string_view, OpKind>();
#define BNFOLD_OP_ENTRY(name) (*map)[#name] = OpKind::k##name;
    BNFOLD_OP_KINDS(BNFOLD_OP_ENTRY)
#undef BNFOLD_OP_ENTRY
    return map;
  }();
  return *kinds;
}

}  // namespace

OpKind OpKindFromName(std::string_view domain, std::string_view op_type) {
  if (!domain.empty() && domain != "ai.onnx") return OpKind::kUnknown;
  auto it = KindsByName().find(op_type);
  return it == KindsByName().end() ? OpKind::kUnknown : it->second;
}

const char* OpKindName(OpKind kind) {
  switch (kind) {
#define BNFOLD_OP_CASE(name) \
  case OpKind::k##name:      \
    return #name;
    BNFOLD_OP_KINDS(BNFOLD_OP_CASE)
#undef BNFOLD_OP_CASE
    case OpKind::kUnknown:
    case OpKind::kCount:
      break;
  }
  return "Unknown";
}

}  // namespace bnfold::ir
