// libFuzzer target: model bytes -> load (checks, import, shape inference) ->
// graph passes -> compile -> run on small inputs drawn from the bytes, and
// the optimizer's export. Any crash, sanitizer report, leak, or run over the
// time/memory limits (scripts/fuzz.sh) is a finding; errors are expected.
// Caps keep one input cheap: models up to 256 KiB, a plan may hold 64 MiB,
// fed tensors at most 4096 elements, dims of unknown size 1 or 2.
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "bnfold/optimizer.h"
#include "bnfold/session.h"

namespace {

constexpr size_t kMaxModelBytes = 256 << 10;
constexpr int64_t kMaxFeedElements = 4096;

// Small values of the input's type: floats in [-2, 2], integers in [0, 3]
// (valid as indices and shapes of small tensors), booleans.
void Fill(bnfold::Tensor* t, std::mt19937* rng) {
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  std::uniform_int_distribution<int> small(0, 3);
  auto fill = [&]<typename T>(auto& distribution) {
    for (int64_t i = 0; i < t->num_elements(); ++i) {
      t->data_as<T>()[i] = static_cast<T>(distribution(*rng));
    }
  };
  switch (t->dtype()) {
    case bnfold::DataType::kFloat: fill.template operator()<float>(real); break;
    case bnfold::DataType::kDouble: fill.template operator()<double>(real); break;
    case bnfold::DataType::kInt64: fill.template operator()<int64_t>(small); break;
    case bnfold::DataType::kInt32: fill.template operator()<int32_t>(small); break;
    default: {
      // Other types: bytes of 0 or 1 (for float16 and bfloat16 tiny
      // subnormals or zero, never NaN).
      auto* bytes = static_cast<uint8_t*>(t->data());
      for (size_t i = 0; i < t->byte_size(); ++i) bytes[i] = static_cast<uint8_t>(small(*rng) & 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxModelBytes) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  bnfold::SessionOptions options;
  options.threads = 1;
  options.max_memory_bytes = 64 << 20;
  auto session = bnfold::Session::OpenFromBytes(bytes, options);
  if (session.ok()) {
    std::mt19937 rng(static_cast<uint32_t>(size));
    for (int batch : {1, 2}) {
      std::vector<bnfold::NamedTensor> feeds;
      bool feedable = true;
      for (const bnfold::TensorInfo& in : (*session)->inputs()) {
        std::vector<int64_t> dims = in.shape;
        int64_t elements = 1;
        for (int64_t& d : dims) {
          if (d < 0) d = batch;
          elements = d > 0 && elements > kMaxFeedElements / d ? kMaxFeedElements + 1 : elements * d;
        }
        if (elements > kMaxFeedElements) {
          feedable = false;
          break;
        }
        auto t = bnfold::Tensor::Allocate(in.dtype, dims);
        if (!t.ok()) {
          feedable = false;
          break;
        }
        Fill(&*t, &rng);
        feeds.push_back({in.name, std::move(*t)});
      }
      if (!feedable) break;
      std::vector<bnfold::NamedTensor> outputs;
      (void)(*session)->Run(feeds, &outputs);
    }
  }
  // The optimizer's path: load, passes, export (to memory).
  std::string optimized;
  (void)bnfold::OptimizeModelBytes(bytes, "", &optimized);
  return 0;
}
