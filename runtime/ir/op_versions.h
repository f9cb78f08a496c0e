// Which version of an op's ONNX schema a node follows, given the model's
// opset import: the newest since-version not above the opset.
#pragma once

#include <cstdint>
#include <vector>

#include "bnfold/status.h"
#include "runtime/ir/op_kind.h"

namespace bnfold::ir {

// The newest default-domain opset whose op changes bnfold knows. Newer
// opsets are refused: we cannot tell whether an op's semantics changed.
inline constexpr int64_t kMaxKnownOpset = 23;

// Since-versions of `kind` in the default domain, ascending (empty for
// kUnknown).
const std::vector<int64_t>& OpSinceVersions(OpKind kind);

// The since-version a node of `kind` follows at `opset`; an error when the op
// does not exist yet at that opset or when the opset is newer than
// kMaxKnownOpset.
StatusOr<int64_t> ResolveOpVersion(OpKind kind, int64_t opset);

}  // namespace bnfold::ir
