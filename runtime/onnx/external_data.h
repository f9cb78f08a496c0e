// External tensor data (data_location: EXTERNAL): read relative to the
// model's folder, never outside it.
#pragma once

#include <string>

#include "bnfold/status.h"

namespace onnx {
class TensorProto;
}

namespace bnfold::onnx_io {

// Reads the external bytes of `tensor` into its raw_data and marks it inline.
// Refuses locations that are absolute, contain "..", or resolve (through
// symlinks) outside `base_dir`; offsets/lengths past the end of the file; and
// a length that disagrees with the tensor's shape.
Status InlineExternalData(const std::string& base_dir, onnx::TensorProto* tensor);

}  // namespace bnfold::onnx_io
