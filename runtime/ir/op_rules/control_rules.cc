// Types and shapes of the control flow, sequences and optionals (the BNFOLD_OPS_* family in
// op_kind.h that names this file). One row per op whose kernel is
// registered; a kind without a row keeps the types the model declares.
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

std::vector<OpSchemaRow> ControlRules() { return {}; }

}  // namespace bnfold::ir
