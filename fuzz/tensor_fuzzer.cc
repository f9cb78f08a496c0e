// libFuzzer target: the tensor file readers (`--input NAME=FILE`): a
// serialized TensorProto (.pb) or a NumPy array (.npy), chosen by the first
// byte. A tensor read is written back and read again: it must come back
// identical (dtype, shape, bytes).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "onnx/onnx_pb.h"
#include "runtime/common/npy.h"
#include "runtime/onnx/tensor_proto.h"

namespace {

bool Same(const bnfold::Tensor& a, const bnfold::Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.byte_size() == b.byte_size() &&
         (a.byte_size() == 0 || std::memcmp(a.data(), b.data(), a.byte_size()) == 0);
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tensor_fuzzer: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1 << 20)) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    auto t = bnfold::ParseNpy(bytes, "fuzz.npy");
    if (!t.ok()) return 0;
    auto written = bnfold::SerializeNpy(*t);
    if (!written.ok()) return 0;  // a type .npy cannot hold
    auto again = bnfold::ParseNpy(*written, "rewritten.npy");
    Check(again.ok(), "a written .npy does not read back");
    Check(Same(*t, *again), ".npy round trip changed the tensor");
  } else {
    onnx::TensorProto proto;
    if (!proto.ParseFromString(bytes)) return 0;
    auto t = bnfold::onnx_io::TensorFromProto(proto, "fuzz.pb");
    if (!t.ok()) return 0;
    onnx::TensorProto written;
    bnfold::onnx_io::TensorToProto(*t, proto.name(), &written);
    auto again = bnfold::onnx_io::TensorFromProto(written, "rewritten.pb");
    Check(again.ok(), "a written .pb does not read back");
    Check(Same(*t, *again), ".pb round trip changed the tensor");
  }
  return 0;
}
