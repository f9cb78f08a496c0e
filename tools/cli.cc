#include "tools/cli.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include "bnfold/tensor_io.h"

namespace bnfold::cli {

StatusOr<Args> Args::Parse(const std::vector<std::string>& argv,
                           const std::vector<std::string>& value_flags,
                           const std::vector<std::string>& bool_flags) {
  Args args;
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      args.positional_.push_back(a);
      continue;
    }
    std::string flag = a, value;
    const size_t eq = a.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (contains(value_flags, flag)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) return InvalidArgument(flag + " needs a value");
        value = argv[++i];
      }
      args.values_.emplace(flag, value);
    } else if (contains(bool_flags, flag) && !inline_value) {
      args.values_.emplace(flag, "1");
    } else {
      return InvalidArgument("unknown option " + flag);
    }
  }
  return args;
}

std::string Args::Get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> Args::GetAll(const std::string& flag) const {
  std::vector<std::string> out;
  auto range = values_.equal_range(flag);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

StatusOr<int64_t> Args::GetInt(const std::string& flag, int64_t fallback) const {
  if (!Has(flag)) return fallback;
  const std::string v = Get(flag);
  try {
    size_t used = 0;
    const long long parsed = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return static_cast<int64_t>(parsed);
  } catch (const std::exception&) {
    return InvalidArgument(flag + " expects an integer, got '" + v + "'");
  }
}

StatusOr<uint64_t> Args::GetBytes(const std::string& flag, uint64_t fallback) const {
  if (!Has(flag)) return fallback;
  const std::string v = Get(flag);
  if (v == "none") return uint64_t{0};
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  const std::string suffix = v.substr(digits);
  int shift = -1;
  if (suffix.empty() || suffix == "B") shift = 0;
  if (suffix == "K" || suffix == "KiB") shift = 10;
  if (suffix == "M" || suffix == "MiB") shift = 20;
  if (suffix == "G" || suffix == "GiB") shift = 30;
  if (suffix == "T" || suffix == "TiB") shift = 40;
  if (digits == 0 || digits > 15 || shift < 0) {
    return InvalidArgument(flag + " expects a size such as 512M, 8G or 1073741824, or 'none', "
                           "got '" + v + "'");
  }
  const uint64_t count = std::stoull(v.substr(0, digits));
  if (count > (UINT64_MAX >> shift)) return InvalidArgument(flag + ": '" + v + "' is too large");
  return count << shift;
}

Status ApplyMaxMemory(const Args& args, SessionOptions* options) {
  StatusOr<uint64_t> bytes = args.GetBytes("--max-memory", options->max_memory_bytes);
  if (!bytes.ok()) return bytes.status();
  options->max_memory_bytes = *bytes;
  return Status::Ok();
}

StatusOr<double> Args::GetDouble(const std::string& flag, double fallback) const {
  if (!Has(flag)) return fallback;
  const std::string v = Get(flag);
  try {
    size_t used = 0;
    const double parsed = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return parsed;
  } catch (const std::exception&) {
    return InvalidArgument(flag + " expects a number, got '" + v + "'");
  }
}

std::optional<int> StopForUsage(const Args& args, size_t positional, const char* usage) {
  if (args.Has("--help")) {
    std::cout << usage;
    return kExitOk;
  }
  if (args.positional().size() != positional) {
    std::cerr << usage;
    return kExitBadInput;
  }
  return std::nullopt;
}

void PrintWarnings(const std::string& command, const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) std::cerr << "bnfold " << command << ": warning: " << w << "\n";
}

int ReportError(const std::string& command, const Status& status) {
  std::cerr << "bnfold " << command << ": " << status.message() << "\n";
  return kExitBadInput;
}

// ---------------------------------------------------------------- Json

void Json::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ",";
    first_.back() = false;
  }
}

Json& Json::BeginObject() {
  Separate();
  out_ += "{";
  first_.push_back(true);
  return *this;
}
Json& Json::EndObject() {
  out_ += "}";
  first_.pop_back();
  return *this;
}
Json& Json::BeginArray() {
  Separate();
  out_ += "[";
  first_.push_back(true);
  return *this;
}
Json& Json::EndArray() {
  out_ += "]";
  first_.pop_back();
  return *this;
}
Json& Json::Key(const std::string& key) {
  String(key);
  out_ += ":";
  after_key_ = true;
  return *this;
}
Json& Json::String(const std::string& value) {
  Separate();
  out_ += "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\t': out_ += "\\t"; break;
      case '\r': out_ += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out_ += buf;
        } else {
          out_ += static_cast<char>(c);
        }
    }
  }
  out_ += "\"";
  return *this;
}
Json& Json::Number(double value) {
  if (!std::isfinite(value)) return Null();
  Separate();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  out_ += buf;
  return *this;
}
Json& Json::Int(int64_t value) {
  Separate();
  out_ += std::to_string(value);
  return *this;
}
Json& Json::Bool(bool value) {
  Separate();
  out_ += value ? "true" : "false";
  return *this;
}
Json& Json::Null() {
  Separate();
  out_ += "null";
  return *this;
}

// ---------------------------------------------------------------- inputs

namespace {

// Integers in [0, 10): valid indices, counts and ids for most models.
template <typename T>
void FillDigits(std::mt19937_64& rng, Tensor* t) {
  for (int64_t i = 0; i < t->num_elements(); ++i) t->data_as<T>()[i] = static_cast<T>(rng() % 10);
}

}  // namespace

StatusOr<std::vector<NamedTensor>> RandomInputs(const Session& session, int64_t batch,
                                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<NamedTensor> inputs;
  for (const TensorInfo& info : session.inputs()) {
    std::vector<int64_t> shape;
    for (int64_t d : info.shape) shape.push_back(d < 0 ? batch : d);
    StatusOr<Tensor> t = Tensor::Allocate(info.dtype, shape);
    if (!t.ok()) return t.status().WithContext("input '" + info.name + "'");
    const int64_t n = t->num_elements();
    switch (info.dtype) {
      case DataType::kFloat:
        for (int64_t i = 0; i < n; ++i) t->data_as<float>()[i] = uniform(rng);
        break;
      case DataType::kDouble:
        for (int64_t i = 0; i < n; ++i) t->data_as<double>()[i] = uniform(rng);
        break;
      case DataType::kFloat16:
      case DataType::kBfloat16:
        // Rounded from the float once, as the public Tensor API does.
        for (int64_t i = 0; i < n; ++i) t->SetFromDouble(i, uniform(rng));
        break;
      case DataType::kInt64: FillDigits<int64_t>(rng, &*t); break;
      case DataType::kInt32: FillDigits<int32_t>(rng, &*t); break;
      case DataType::kInt16: FillDigits<int16_t>(rng, &*t); break;
      case DataType::kInt8: FillDigits<int8_t>(rng, &*t); break;
      case DataType::kUint64: FillDigits<uint64_t>(rng, &*t); break;
      case DataType::kUint32: FillDigits<uint32_t>(rng, &*t); break;
      case DataType::kUint16: FillDigits<uint16_t>(rng, &*t); break;
      case DataType::kBool:
      case DataType::kUint8:
        for (int64_t i = 0; i < n; ++i) t->data_as<uint8_t>()[i] = static_cast<uint8_t>(rng() % 2);
        break;
      default:
        return Unsupported("input '" + info.name + "': cannot make random " +
                           DataTypeName(info.dtype) + " data");
    }
    inputs.push_back({info.name, std::move(*t)});
  }
  return inputs;
}

StatusOr<std::vector<NamedTensor>> InputsFromFlags(const std::vector<std::string>& specs) {
  std::vector<NamedTensor> inputs;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--input expects NAME=FILE, got '" + spec + "'");
    }
    StatusOr<NamedTensor> t = ReadTensorFile(spec.substr(eq + 1));
    if (!t.ok()) return t.status();
    inputs.push_back({spec.substr(0, eq), std::move(t->tensor)});
  }
  return inputs;
}

}  // namespace bnfold::cli
