// ModelProto -> IR. Validates names, attributes and tensor data on the way;
// every error names the node and the reason.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bnfold/status.h"
#include "runtime/ir/model.h"

namespace onnx {
class ModelProto;
class GraphProto;
class TypeProto;
class ValueInfoProto;
}

namespace bnfold::onnx_io {

// `text` (names and messages from a model file) on one line: newlines
// become spaces, other control characters \xNN escapes.
std::string OneLineText(std::string_view text);

// Initializers whose IR tensors view the raw_data of the ModelProto they
// were imported from: the weights are not copied, and ONNX's checker and
// shape inference can still read them in the proto. Take() then moves each
// raw_data string into the holder its tensor keeps alive (a heap-allocated
// string keeps its buffer when moved). Until then the proto must outlive
// the model and leave those strings alone.
class BorrowedInitializers {
 public:
  // raw_data smaller than this is copied: not worth the bookkeeping.
  static constexpr size_t kMinBytes = 4096;

  void Add(int initializer_index, std::shared_ptr<std::string> holder, const void* data);
  // Moves the borrowed strings out of `graph`, the GraphProto the model was
  // imported from (their raw_data is left empty there).
  Status Take(onnx::GraphProto* graph);

 private:
  struct Entry {
    int initializer_index;
    std::shared_ptr<std::string> holder;
    const void* data;
  };
  std::vector<Entry> entries_;
};

// External data must already be inlined. The graph is imported in file order
// (not sorted): the caller sorts it. With `borrowed`, large raw_data
// initializers are viewed, not copied (see BorrowedInitializers). With
// `warnings`, what ONNX Runtime accepts and whose meaning is unambiguous (a
// graph output listed twice) is recorded there instead of refused.
StatusOr<ir::Model> ImportModel(const onnx::ModelProto& proto,
                                BorrowedInitializers* borrowed = nullptr,
                                std::vector<std::string>* warnings = nullptr);

// The element type and shape `info` states (nullopt for types bnfold does
// not track: sequences, maps...).
std::optional<ir::ValueType> ValueInfoType(const onnx::ValueInfoProto& info);

}  // namespace bnfold::onnx_io
