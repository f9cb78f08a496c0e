// Tensors in the Open Inference Protocol (KServe V2): datatype names, JSON
// element values into typed tensors and back, raw little-endian bytes (the
// binary tensor data extension).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold::serve {

// "FP32" <-> DataType::kFloat, ... (BOOL, UINT8-64, INT8-64, FP16, FP32,
// FP64). Other names (BYTES, BF16) have no mapping.
std::optional<DataType> ParseDatatype(std::string_view name);
// The protocol's name, or "" for a type it has no name for.
std::string DatatypeName(DataType type);

// One JSON element value as the parser saw it, before the tensor's type is
// known (a request may give "data" before "datatype").
struct JsonScalar {
  enum class Kind : uint8_t { kInt, kUint, kFloat, kBool } kind = Kind::kInt;
  union {
    int64_t i;
    uint64_t u;
    double d;
    bool b;
  };
  JsonScalar() : i(0) {}
};

// A tensor of `type` and `shape` from its JSON values (row-major). Each value
// must fit the type exactly: integers in range, no fractions for integer
// types, true/false (or 0/1) for BOOL. `what` names the tensor in errors.
StatusOr<Tensor> TensorFromJson(DataType type, const std::vector<int64_t>& shape,
                                const std::vector<JsonScalar>& values, const std::string& what);

// Appends the tensor's elements as a flat JSON array ("[1,2.5,true]").
// Floats are written in their shortest round-trip form; NaN and infinities,
// which JSON cannot hold, as null (the binary extension keeps them).
void AppendJsonData(const Tensor& tensor, std::string* out);

}  // namespace bnfold::serve
