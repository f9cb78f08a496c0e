// The Open Inference Protocol's inference request and response (KServe V2
// REST, with Triton's binary tensor data extension):
//
//   request  = JSON {"id", "parameters": {"binary_data_output"}, "inputs": [{"name",
//              "shape", "datatype", "parameters": {"binary_data_size"}, "data"}],
//              "outputs": [{"name", "parameters": {"binary_data"}}]}
//              [+ the binary inputs' bytes, in input order, after
//              Inference-Header-Content-Length bytes of JSON]
//   response = JSON {"model_name", "model_version", "id", "outputs": [{"name",
//              "shape", "datatype", "data" | "parameters": {"binary_data_size"}}]}
//              [+ binary outputs' bytes]
//
// The request is parsed as a stream (nlohmann::json's SAX interface) into
// typed values, with the element budget checked as values arrive: no JSON
// document is built, so memory stays proportional to the tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold::serve {

// A request body held so that its binary section starts 64-byte aligned:
// binary inputs whose offsets suit their element type are read in place.
class RequestBody {
 public:
  // `header_length`: the length of the JSON part (0 when the body is all
  // JSON); `expected`: the announced body size, reserved up front.
  RequestBody(size_t header_length, size_t expected);
  // Appends `n` bytes unless the body would exceed `limit`; returns false
  // (and keeps nothing more) once it has.
  bool Append(const char* data, size_t n, size_t limit);
  const char* data() const { return buffer_.get() + pad_; }
  size_t size() const { return size_; }
  // Keeps the bytes alive for tensors that point into them.
  std::shared_ptr<char> owner() const { return buffer_; }

 private:
  void Grow(size_t needed);
  std::shared_ptr<char> buffer_;
  size_t pad_ = 0;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

struct InferInput {
  std::string name;
  DataType dtype = DataType::kUndefined;
  std::vector<int64_t> shape;
  Tensor tensor;
  bool in_place = false;  // a view of the request body, not a copy
};

struct RequestedOutput {
  std::string name;
  std::optional<bool> binary;  // "binary_data"; unset: the request's default
};

struct InferRequest {
  std::optional<std::string> id;
  std::vector<InferInput> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output
  bool binary_output = false;            // "binary_data_output"
};

// Parses `body`; `header_length` is Inference-Header-Content-Length (unset:
// the whole body is JSON). At most `max_elements` elements over all inputs.
// Every error is kInvalidArgument, with a message for the client.
StatusOr<InferRequest> ParseInferRequest(const RequestBody& body,
                                         std::optional<size_t> header_length,
                                         int64_t max_elements);

struct EncodedResponse {
  std::string body;
  size_t header_length = 0;  // of the JSON part
  bool has_binary = false;   // then Inference-Header-Content-Length is due
};

// `binary[i]`: whether outputs[i] goes as binary data.
EncodedResponse EncodeInferResponse(const std::string& model, const std::string& version,
                                    const std::optional<std::string>& id,
                                    const std::vector<NamedTensor>& outputs,
                                    const std::vector<bool>& binary);

// {"error": message}
std::string ErrorJson(const std::string& message);
// A JSON string literal for `text` (invalid UTF-8 replaced).
std::string JsonString(const std::string& text);

}  // namespace bnfold::serve
