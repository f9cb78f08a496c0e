#include "tools/serve/protocol.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "tools/serve/tensor_codec.h"

namespace bnfold::serve {

using Json = nlohmann::json;

// ------------------------------------------------------------------ body

RequestBody::RequestBody(size_t header_length, size_t expected) {
  // Pad the front so that data() + header_length is 64-byte aligned.
  pad_ = (64 - header_length % 64) % 64;
  Grow(expected);
}

void RequestBody::Grow(size_t needed) {
  if (needed <= capacity_ && buffer_) return;
  size_t capacity = std::max<size_t>({needed, capacity_ * 2, 4096});
  const size_t bytes = (pad_ + capacity + 63) / 64 * 64;
  char* fresh = static_cast<char*>(std::aligned_alloc(64, bytes));
  if (fresh == nullptr) throw std::bad_alloc();
  if (size_) std::memcpy(fresh + pad_, buffer_.get() + pad_, size_);
  buffer_ = std::shared_ptr<char>(fresh, [](char* p) { std::free(p); });
  capacity_ = capacity;
}

bool RequestBody::Append(const char* data, size_t n, size_t limit) {
  if (size_ + n > limit) return false;
  Grow(size_ + n);
  std::memcpy(buffer_.get() + pad_ + size_, data, n);
  size_ += n;
  return true;
}

// ------------------------------------------------------------------ request

namespace {

constexpr int kMaxDataDepth = 32;

Status TooManyElements(int64_t max_elements) {
  return InvalidArgument("the request holds more than " + std::to_string(max_elements) +
                         " tensor elements (the server's --max-tensor-elements)");
}

struct PendingInput {
  std::string name;
  std::optional<std::string> datatype;
  std::optional<std::vector<int64_t>> shape;
  std::optional<uint64_t> binary_size;
  std::vector<JsonScalar> data;
  bool has_data = false;
};

// Streams the request JSON into PendingInputs and the other fields. Each
// callback returns false to stop the parse, with `error` set.
class RequestReader final : public nlohmann::json_sax<Json> {
 public:
  explicit RequestReader(int64_t max_elements) : max_elements_(max_elements) {}

  bool null() override { return Value(Token{Token::kNull}); }
  bool boolean(bool v) override {
    Token t{Token::kBool};
    t.number.kind = JsonScalar::Kind::kBool;
    t.number.b = v;
    return Value(t);
  }
  bool number_integer(number_integer_t v) override {
    Token t{Token::kNumber};
    t.number.kind = JsonScalar::Kind::kInt;
    t.number.i = v;
    return Value(t);
  }
  bool number_unsigned(number_unsigned_t v) override {
    Token t{Token::kNumber};
    t.number.kind = JsonScalar::Kind::kUint;
    t.number.u = v;
    return Value(t);
  }
  bool number_float(number_float_t v, const string_t&) override {
    Token t{Token::kNumber};
    t.number.kind = JsonScalar::Kind::kFloat;
    t.number.d = v;
    return Value(t);
  }
  bool string(string_t& v) override {
    Token t{Token::kString};
    t.text = &v;
    return Value(t);
  }
  bool binary(binary_t&) override { return Fail("binary JSON values are not accepted"); }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }

  bool start_object(std::size_t) override {
    if (frames_.empty()) return Push(Frame::kTop);
    switch (frames_.back()) {
      case Frame::kTop:
        if (key_ == "parameters") return Push(Frame::kTopParams);
        if (key_ == "inputs" || key_ == "outputs" || key_ == "id") return WrongType();
        return Push(Frame::kSkip);
      case Frame::kInputs:
        inputs_.emplace_back();
        return Push(Frame::kInput);
      case Frame::kOutputs:
        outputs_.emplace_back();
        return Push(Frame::kOutput);
      case Frame::kInput:
        if (key_ == "parameters") return Push(Frame::kInputParams);
        if (key_ == "name" || key_ == "datatype" || key_ == "shape" || key_ == "data") return WrongType();
        return Push(Frame::kSkip);
      case Frame::kOutput:
        if (key_ == "parameters") return Push(Frame::kOutputParams);
        if (key_ == "name") return WrongType();
        return Push(Frame::kSkip);
      case Frame::kData:
        return Fail(InputName() + ": \"data\" must hold numbers or booleans, not objects");
      case Frame::kShape:
        return Fail(InputName() + ": \"shape\" must hold non-negative integers");
      default:
        return Push(Frame::kSkip);
    }
  }

  bool start_array(std::size_t) override {
    if (frames_.empty()) return Fail("the request must be a JSON object");
    switch (frames_.back()) {
      case Frame::kTop:
        if (key_ == "inputs") return Push(Frame::kInputs);
        if (key_ == "outputs") return Push(Frame::kOutputs);
        if (key_ == "id" || key_ == "parameters") return WrongType();
        return Push(Frame::kSkip);
      case Frame::kInput:
        if (key_ == "shape") {
          inputs_.back().shape.emplace();
          return Push(Frame::kShape);
        }
        if (key_ == "data") {
          inputs_.back().data.clear();
          inputs_.back().has_data = true;
          data_depth_ = 1;
          return Push(Frame::kData);
        }
        if (key_ == "name" || key_ == "datatype" || key_ == "parameters") return WrongType();
        return Push(Frame::kSkip);
      case Frame::kData:
        if (++data_depth_ > kMaxDataDepth) {
          return Fail(InputName() + ": \"data\" is nested deeper than " +
                      std::to_string(kMaxDataDepth) + " levels");
        }
        return Push(Frame::kData);
      case Frame::kShape:
        return Fail(InputName() + ": \"shape\" must hold non-negative integers");
      case Frame::kInputs:
      case Frame::kOutputs:
        return Fail(std::string("\"") + (frames_.back() == Frame::kInputs ? "inputs" : "outputs") +
                    "\" must hold objects");
      case Frame::kOutput:
        if (key_ == "name" || key_ == "parameters") return WrongType();
        return Push(Frame::kSkip);
      default:
        return Push(Frame::kSkip);
    }
  }

  bool end_object() override { return Pop(); }
  bool end_array() override {
    if (frames_.back() == Frame::kData) --data_depth_;
    return Pop();
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    if (error_.ok()) {
      error_ = InvalidArgument("malformed JSON at byte " + std::to_string(position) + ": " + e.what());
    }
    return false;
  }

  const Status& error() const { return error_; }
  bool saw_object() const { return saw_object_; }
  std::vector<PendingInput>& inputs() { return inputs_; }
  bool has_inputs() const { return has_inputs_; }
  InferRequest& request() { return request_; }
  std::vector<RequestedOutput>& outputs() { return outputs_; }

 private:
  enum class Frame {
    kTop, kTopParams, kInputs, kInput, kShape, kInputParams, kData,
    kOutputs, kOutput, kOutputParams, kSkip,
  };
  struct Token {
    enum Kind { kNull, kBool, kNumber, kString } kind;
    JsonScalar number;
    std::string* text = nullptr;
  };

  bool Push(Frame f) {
    if (f == Frame::kTop) saw_object_ = true;
    if (f == Frame::kInputs) has_inputs_ = true;
    frames_.push_back(f);
    return true;
  }
  bool Pop() {
    frames_.pop_back();
    return true;
  }
  bool Fail(const std::string& message) {
    if (error_.ok()) error_ = InvalidArgument(message);
    return false;
  }
  bool WrongType() {
    static const char* kExpected[][2] = {
        {"inputs", "an array"}, {"outputs", "an array"}, {"id", "a string"},
        {"parameters", "an object"}, {"name", "a string"}, {"datatype", "a string"},
        {"shape", "an array of integers"}, {"data", "an array"}};
    for (const auto& e : kExpected) {
      if (key_ == e[0]) {
        const std::string where = frames_.back() == Frame::kInput    ? InputName() + ": "
                                  : frames_.back() == Frame::kOutput ? "requested output: "
                                                                     : "";
        return Fail(where + "\"" + key_ + "\" must be " + e[1]);
      }
    }
    return Fail("\"" + key_ + "\" has the wrong type");
  }
  std::string InputName() const {
    if (inputs_.empty()) return "input";
    const std::string& n = inputs_.back().name;
    return n.empty() ? "input #" + std::to_string(inputs_.size() - 1) : "input '" + n + "'";
  }

  bool Value(const Token& t) {
    if (frames_.empty()) return Fail("the request must be a JSON object");
    switch (frames_.back()) {
      case Frame::kTop:
        if (key_ == "id") {
          if (t.kind != Token::kString) return WrongType();
          request_.id = *t.text;
          return true;
        }
        if (key_ == "inputs" || key_ == "outputs" || key_ == "parameters") return WrongType();
        return true;  // model_name, model_version, ...: not ours to check
      case Frame::kTopParams:
        if (key_ == "binary_data_output") {
          if (t.kind != Token::kBool) return Fail("\"binary_data_output\" must be true or false");
          request_.binary_output = t.number.b;
        }
        return true;
      case Frame::kInput:
        if (key_ == "name" || key_ == "datatype") {
          if (t.kind != Token::kString) return WrongType();
          if (key_ == "name") {
            inputs_.back().name = *t.text;
          } else {
            inputs_.back().datatype = *t.text;
          }
          return true;
        }
        if (key_ == "shape" || key_ == "data" || key_ == "parameters") return WrongType();
        return true;
      case Frame::kShape: {
        int64_t dim = -1;
        if (t.kind == Token::kNumber && t.number.kind == JsonScalar::Kind::kInt) dim = t.number.i;
        if (t.kind == Token::kNumber && t.number.kind == JsonScalar::Kind::kUint &&
            t.number.u <= static_cast<uint64_t>(INT64_MAX)) {
          dim = static_cast<int64_t>(t.number.u);
        }
        if (dim < 0) return Fail(InputName() + ": \"shape\" must hold non-negative integers");
        inputs_.back().shape->push_back(dim);
        return true;
      }
      case Frame::kInputParams:
        if (key_ == "binary_data_size") {
          const JsonScalar& n = t.number;
          const bool ok = t.kind == Token::kNumber &&
                          (n.kind == JsonScalar::Kind::kUint ||
                           (n.kind == JsonScalar::Kind::kInt && n.i >= 0));
          if (!ok) return Fail(InputName() + ": \"binary_data_size\" must be a non-negative integer");
          inputs_.back().binary_size = n.kind == JsonScalar::Kind::kUint ? n.u : static_cast<uint64_t>(n.i);
        }
        return true;
      case Frame::kData:
        if (t.kind != Token::kNumber && t.kind != Token::kBool) {
          return Fail(InputName() + ": \"data\" must hold numbers or booleans (BYTES is not supported)");
        }
        if (++elements_ > max_elements_) return Fail(TooManyElements(max_elements_).message());
        inputs_.back().data.push_back(t.number);
        return true;
      case Frame::kOutput:
        if (key_ == "name") {
          if (t.kind != Token::kString) return WrongType();
          outputs_.back().name = *t.text;
        } else if (key_ == "parameters") {
          return WrongType();
        }
        return true;
      case Frame::kOutputParams:
        if (key_ == "binary_data") {
          if (t.kind != Token::kBool) return Fail("requested output: \"binary_data\" must be true or false");
          outputs_.back().binary = t.number.b;
        }
        return true;
      case Frame::kInputs:
      case Frame::kOutputs:
        return Fail(std::string("\"") + (frames_.back() == Frame::kInputs ? "inputs" : "outputs") +
                    "\" must hold objects");
      case Frame::kSkip:
        return true;
    }
    return true;
  }

  const int64_t max_elements_;
  int64_t elements_ = 0;
  std::vector<Frame> frames_;
  int data_depth_ = 0;
  std::string key_;
  Status error_;
  bool saw_object_ = false;
  bool has_inputs_ = false;
  std::vector<PendingInput> inputs_;
  std::vector<RequestedOutput> outputs_;
  InferRequest request_;
};

std::string Quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

StatusOr<InferRequest> ParseInferRequest(const RequestBody& body,
                                         std::optional<size_t> header_length,
                                         int64_t max_elements) {
  const size_t json_length = header_length.value_or(body.size());
  if (json_length > body.size()) {
    return InvalidArgument("Inference-Header-Content-Length (" + std::to_string(json_length) +
                           ") is larger than the body (" + std::to_string(body.size()) + " bytes)");
  }
  RequestReader reader(max_elements);
  const char* json = body.data();
  const bool parsed = Json::sax_parse(json, json + json_length, &reader);
  if (!reader.error().ok()) return reader.error();
  if (!parsed) return InvalidArgument("malformed JSON");
  if (!reader.saw_object()) return InvalidArgument("the request must be a JSON object");
  if (!reader.has_inputs()) return InvalidArgument("the request has no \"inputs\"");

  InferRequest request = std::move(reader.request());
  request.outputs = std::move(reader.outputs());
  for (const RequestedOutput& o : request.outputs) {
    if (o.name.empty()) return InvalidArgument("a requested output has no \"name\"");
  }
  const char* binary = body.data() + json_length;
  const size_t binary_size = body.size() - json_length;
  size_t offset = 0;
  int64_t elements = 0;
  for (size_t i = 0; i < reader.inputs().size(); ++i) {
    PendingInput& p = reader.inputs()[i];
    if (p.name.empty()) return InvalidArgument("input #" + std::to_string(i) + " has no \"name\"");
    const std::string what = "input " + Quote(p.name);
    if (!p.datatype) return InvalidArgument(what + " has no \"datatype\"");
    if (!p.shape) return InvalidArgument(what + " has no \"shape\"");
    std::optional<DataType> type = ParseDatatype(*p.datatype);
    if (!type) {
      return InvalidArgument(what + ": datatype '" + *p.datatype +
                             "' is not supported (BOOL, UINT8, UINT16, UINT32, UINT64, INT8, "
                             "INT16, INT32, INT64, FP16, FP32, FP64)");
    }
    StatusOr<int64_t> count = CheckedElementCount(*p.shape);
    if (!count.ok()) return InvalidArgument(what + ": " + count.status().message());
    elements += *count;
    if (*count > max_elements || elements > max_elements) return TooManyElements(max_elements);
    InferInput in{p.name, *type, *p.shape, Tensor(), false};
    if (p.binary_size) {
      if (p.has_data) return InvalidArgument(what + " has both \"data\" and binary_data_size");
      if (!header_length) {
        return InvalidArgument(what + " has binary_data_size but the request has no "
                               "Inference-Header-Content-Length header");
      }
      const size_t bytes = static_cast<size_t>(*count) * DataTypeSize(*type);
      if (*p.binary_size != bytes) {
        return InvalidArgument(what + ": binary_data_size is " + std::to_string(*p.binary_size) +
                               " but shape " + ShapeToString(*p.shape) + " of " + *p.datatype +
                               " takes " + std::to_string(bytes) + " bytes");
      }
      if (bytes > binary_size - offset) {
        return InvalidArgument(what + ": its " + std::to_string(bytes) + " bytes of binary data run "
                               "past the end of the body");
      }
      const char* data = binary + offset;
      offset += bytes;
      if (reinterpret_cast<uintptr_t>(data) % DataTypeSize(*type) == 0) {
        in.tensor = Tensor::Adopt(*type, *p.shape, body.owner(), const_cast<char*>(data));
        in.in_place = true;
      } else {
        StatusOr<Tensor> copy = Tensor::Allocate(*type, *p.shape);
        if (!copy.ok()) return copy.status().WithContext(what);
        if (bytes) std::memcpy(copy->data(), data, bytes);
        in.tensor = std::move(*copy);
      }
    } else if (p.has_data) {
      StatusOr<Tensor> t = TensorFromJson(*type, *p.shape, p.data, what);
      if (!t.ok()) return t.status();
      in.tensor = std::move(*t);
      std::vector<JsonScalar>().swap(p.data);  // free as we go
    } else {
      return InvalidArgument(what + " has neither \"data\" nor a binary_data_size parameter");
    }
    request.inputs.push_back(std::move(in));
  }
  if (offset != binary_size) {
    return InvalidArgument("the body has " + std::to_string(binary_size) +
                           " bytes of binary data after the JSON header; the inputs' "
                           "binary_data_size account for " + std::to_string(offset));
  }
  return request;
}

// ------------------------------------------------------------------ response

std::string JsonString(const std::string& text) {
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string ErrorJson(const std::string& message) {
  return "{\"error\":" + JsonString(message) + "}";
}

EncodedResponse EncodeInferResponse(const std::string& model, const std::string& version,
                                    const std::optional<std::string>& id,
                                    const std::vector<NamedTensor>& outputs,
                                    const std::vector<bool>& binary) {
  EncodedResponse r;
  std::string& out = r.body;
  out = "{\"model_name\":" + JsonString(model) + ",\"model_version\":" + JsonString(version);
  if (id) out += ",\"id\":" + JsonString(*id);
  out += ",\"outputs\":[";
  size_t binary_bytes = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& t = outputs[i].tensor;
    if (i) out += ',';
    out += "{\"name\":" + JsonString(outputs[i].name) + ",\"datatype\":\"" +
           DatatypeName(t.dtype()) + "\",\"shape\":[";
    for (size_t d = 0; d < t.shape().size(); ++d) {
      if (d) out += ',';
      out += std::to_string(t.shape()[d]);
    }
    out += "]";
    if (binary[i]) {
      out += ",\"parameters\":{\"binary_data_size\":" + std::to_string(t.byte_size()) + "}}";
      binary_bytes += t.byte_size();
    } else {
      out += ",\"data\":";
      AppendJsonData(t, &out);
      out += "}";
    }
  }
  out += "]}";
  r.header_length = out.size();
  if (binary_bytes > 0 || std::find(binary.begin(), binary.end(), true) != binary.end()) {
    r.has_binary = true;
    out.reserve(out.size() + binary_bytes);
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (!binary[i]) continue;
      const Tensor& t = outputs[i].tensor;
      out.append(static_cast<const char*>(t.data()), t.byte_size());
    }
  }
  return r;
}

}  // namespace bnfold::serve
