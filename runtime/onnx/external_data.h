// External tensor data (data_location: EXTERNAL): read relative to the
// model's folder, never outside it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bnfold/status.h"

namespace onnx {
class TensorProto;
}

namespace bnfold::onnx_io {

// What one model has read from its external files so far. Tensors may not
// read more bytes in total than the files they use hold: a small model
// naming one big file from many tensors cannot make the loader allocate
// more than its files' size.
struct ExternalDataBudget {
  std::map<std::string, uint64_t> file_sizes;  // by resolved path
  uint64_t bytes_read = 0;
};

// Reads the external bytes of `tensor` into its raw_data and marks it inline.
// Refuses locations that are absolute, contain "..", or resolve (through
// symlinks) outside `base_dir`; offsets/lengths past the end of the file; a
// length that disagrees with the tensor's shape (checked before reading);
// and reads beyond `budget`.
Status InlineExternalData(const std::string& base_dir, onnx::TensorProto* tensor,
                          ExternalDataBudget* budget);

}  // namespace bnfold::onnx_io
