// Types and shapes of the recurrent layers (the BNFOLD_OPS_* family in
// op_kind.h that names this file). One row per op whose kernel is
// registered; a kind without a row keeps the types the model declares.
#include "runtime/ir/op_schema.h"

namespace bnfold::ir {

std::vector<OpSchemaRow> RecurrentRules() { return {}; }

}  // namespace bnfold::ir
