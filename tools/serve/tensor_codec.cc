#include "tools/serve/tensor_codec.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace bnfold::serve {

namespace {

struct NamedType {
  const char* name;
  DataType type;
};

constexpr NamedType kTypes[] = {
    {"BOOL", DataType::kBool},     {"UINT8", DataType::kUint8},   {"UINT16", DataType::kUint16},
    {"UINT32", DataType::kUint32}, {"UINT64", DataType::kUint64}, {"INT8", DataType::kInt8},
    {"INT16", DataType::kInt16},   {"INT32", DataType::kInt32},   {"INT64", DataType::kInt64},
    {"FP16", DataType::kFloat16},  {"FP32", DataType::kFloat},    {"FP64", DataType::kDouble},
};

std::string Describe(const JsonScalar& v) {
  switch (v.kind) {
    case JsonScalar::Kind::kInt: return std::to_string(v.i);
    case JsonScalar::Kind::kUint: return std::to_string(v.u);
    case JsonScalar::Kind::kBool: return v.b ? "true" : "false";
    case JsonScalar::Kind::kFloat: break;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.d);
  return std::string(buf, ec == std::errc() ? end : buf);
}

// The value as an integer of type T, when it is one exactly.
template <typename T>
bool ToInteger(const JsonScalar& v, T* out) {
  using Limits = std::numeric_limits<T>;
  switch (v.kind) {
    case JsonScalar::Kind::kInt:
      if constexpr (std::is_signed_v<T>) {
        if (v.i < static_cast<int64_t>(Limits::min()) || v.i > static_cast<int64_t>(Limits::max())) return false;
      } else {
        if (v.i < 0 || static_cast<uint64_t>(v.i) > static_cast<uint64_t>(Limits::max())) return false;
      }
      *out = static_cast<T>(v.i);
      return true;
    case JsonScalar::Kind::kUint:
      if (v.u > static_cast<uint64_t>(Limits::max())) return false;
      *out = static_cast<T>(v.u);
      return true;
    case JsonScalar::Kind::kFloat:
      // 3.0 is the integer 3, as JSON writers may print it.
      if (!(v.d == std::floor(v.d)) || v.d < static_cast<double>(Limits::min()) ||
          v.d >= std::ldexp(1.0, Limits::digits)) {
        return false;
      }
      *out = static_cast<T>(v.d);
      return true;
    case JsonScalar::Kind::kBool:
      return false;
  }
  return false;
}

double ToDouble(const JsonScalar& v) {
  switch (v.kind) {
    case JsonScalar::Kind::kInt: return static_cast<double>(v.i);
    case JsonScalar::Kind::kUint: return static_cast<double>(v.u);
    case JsonScalar::Kind::kFloat: return v.d;
    case JsonScalar::Kind::kBool: return v.b ? 1.0 : 0.0;
  }
  return 0.0;
}

template <typename T>
Status FillIntegers(const std::vector<JsonScalar>& values, Tensor* t, const std::string& what) {
  T* data = t->data_as<T>();
  for (size_t i = 0; i < values.size(); ++i) {
    if (!ToInteger(values[i], &data[i])) {
      return InvalidArgument(what + ": element " + std::to_string(i) + " (" + Describe(values[i]) +
                             ") is not a " + DatatypeName(t->dtype()) + " value");
    }
  }
  return Status::Ok();
}

template <typename T>
void AppendNumber(T value, std::string* out) {
  char buf[64];
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) {
      out->append("null");
      return;
    }
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out->append(buf, end);
}

template <typename T>
void AppendAll(const Tensor& t, std::string* out) {
  const T* data = t.data_as<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (i) out->push_back(',');
    AppendNumber(data[i], out);
  }
}

}  // namespace

std::optional<DataType> ParseDatatype(std::string_view name) {
  for (const NamedType& t : kTypes) {
    if (name == t.name) return t.type;
  }
  return std::nullopt;
}

std::string DatatypeName(DataType type) {
  for (const NamedType& t : kTypes) {
    if (type == t.type) return t.name;
  }
  return "";
}

StatusOr<Tensor> TensorFromJson(DataType type, const std::vector<int64_t>& shape,
                                const std::vector<JsonScalar>& values, const std::string& what) {
  StatusOr<int64_t> count = CheckedElementCount(shape);
  if (!count.ok()) return count.status().WithContext(what);
  if (static_cast<uint64_t>(*count) != values.size()) {
    return InvalidArgument(what + ": shape " + ShapeToString(shape) + " holds " +
                           std::to_string(*count) + " elements but \"data\" has " +
                           std::to_string(values.size()));
  }
  StatusOr<Tensor> tensor = Tensor::Allocate(type, shape);
  if (!tensor.ok()) return tensor.status().WithContext(what);
  Tensor& t = *tensor;
  Status status;
  switch (type) {
    case DataType::kFloat:
      for (size_t i = 0; i < values.size(); ++i) t.data_as<float>()[i] = static_cast<float>(ToDouble(values[i]));
      break;
    case DataType::kDouble:
      for (size_t i = 0; i < values.size(); ++i) t.data_as<double>()[i] = ToDouble(values[i]);
      break;
    case DataType::kFloat16:
      for (size_t i = 0; i < values.size(); ++i) t.SetFromDouble(static_cast<int64_t>(i), ToDouble(values[i]));
      break;
    case DataType::kBool:
      for (size_t i = 0; i < values.size(); ++i) {
        const JsonScalar& v = values[i];
        uint8_t bit = 0;
        if (v.kind == JsonScalar::Kind::kBool) {
          bit = v.b ? 1 : 0;
        } else if (!ToInteger(v, &bit) || bit > 1) {
          return InvalidArgument(what + ": element " + std::to_string(i) + " (" + Describe(v) +
                                 ") is not a BOOL value (true, false, 1 or 0)");
        }
        t.data_as<uint8_t>()[i] = bit;
      }
      break;
    case DataType::kInt8: status = FillIntegers<int8_t>(values, &t, what); break;
    case DataType::kInt16: status = FillIntegers<int16_t>(values, &t, what); break;
    case DataType::kInt32: status = FillIntegers<int32_t>(values, &t, what); break;
    case DataType::kInt64: status = FillIntegers<int64_t>(values, &t, what); break;
    case DataType::kUint8: status = FillIntegers<uint8_t>(values, &t, what); break;
    case DataType::kUint16: status = FillIntegers<uint16_t>(values, &t, what); break;
    case DataType::kUint32: status = FillIntegers<uint32_t>(values, &t, what); break;
    case DataType::kUint64: status = FillIntegers<uint64_t>(values, &t, what); break;
    default:
      return InvalidArgument(what + ": " + DataTypeName(type) + " has no JSON form");
  }
  if (!status.ok()) return status;
  return tensor;
}

void AppendJsonData(const Tensor& t, std::string* out) {
  out->push_back('[');
  switch (t.dtype()) {
    case DataType::kFloat: AppendAll<float>(t, out); break;
    case DataType::kDouble: AppendAll<double>(t, out); break;
    case DataType::kInt8: AppendAll<int8_t>(t, out); break;
    case DataType::kInt16: AppendAll<int16_t>(t, out); break;
    case DataType::kInt32: AppendAll<int32_t>(t, out); break;
    case DataType::kInt64: AppendAll<int64_t>(t, out); break;
    case DataType::kUint8: AppendAll<uint8_t>(t, out); break;
    case DataType::kUint16: AppendAll<uint16_t>(t, out); break;
    case DataType::kUint32: AppendAll<uint32_t>(t, out); break;
    case DataType::kUint64: AppendAll<uint64_t>(t, out); break;
    case DataType::kBool:
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        if (i) out->push_back(',');
        out->append(t.data_as<uint8_t>()[i] ? "true" : "false");
      }
      break;
    default:  // FP16 (and anything GetAsDouble reads): as float
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        if (i) out->push_back(',');
        AppendNumber(static_cast<float>(t.GetAsDouble(i)), out);
      }
      break;
  }
  out->push_back(']');
}

}  // namespace bnfold::serve
