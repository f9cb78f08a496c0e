#include "runtime/common/npy.h"

#include <cstring>

#include "runtime/common/file_util.h"

namespace bnfold {

namespace {

struct NpyType {
  const char* descr;
  DataType dtype;
};

constexpr NpyType kNpyTypes[] = {
    {"<f4", DataType::kFloat},   {"<f8", DataType::kDouble},
    {"<f2", DataType::kFloat16}, {"|i1", DataType::kInt8},
    {"<i1", DataType::kInt8},    {"<i2", DataType::kInt16},
    {"<i4", DataType::kInt32},   {"<i8", DataType::kInt64},
    {"|u1", DataType::kUint8},   {"<u1", DataType::kUint8},
    {"<u2", DataType::kUint16},  {"<u4", DataType::kUint32},
    {"<u8", DataType::kUint64},  {"|b1", DataType::kBool},
};

// Value of `key` in the header dict: the text after "'key':" up to the next
// top-level comma or closing brace/paren.
std::string HeaderField(const std::string& header, const std::string& key) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return "";
  size_t p = header.find(':', at);
  if (p == std::string::npos) return "";
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p < header.size() && header[p] == '(') {
    const size_t close = header.find(')', p);
    return close == std::string::npos ? "" : header.substr(p, close - p + 1);
  }
  size_t end = p;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  std::string v = header.substr(p, end - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

}  // namespace

StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    return InvalidArgument(what + ": not a NumPy .npy file");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) |
                 (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return InvalidArgument(what + ": truncated .npy header");
    for (int i = 0; i < 4; ++i) {
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    }
    header_start = 12;
  } else {
    return InvalidArgument(what + ": unsupported .npy version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size()) {
    return InvalidArgument(what + ": truncated .npy header");
  }
  const std::string header = bytes.substr(header_start, header_len);
  std::string descr = HeaderField(header, "descr");
  if (descr.size() >= 2) descr = descr.substr(1, descr.size() - 2);  // quotes
  DataType dtype = DataType::kUndefined;
  for (const NpyType& t : kNpyTypes) {
    if (descr == t.descr) dtype = t.dtype;
  }
  if (dtype == DataType::kUndefined) {
    return Unsupported(what + ": .npy element type '" + descr +
                       "' (need little-endian numeric)");
  }
  const std::string fortran_order = HeaderField(header, "fortran_order");
  if (fortran_order.empty()) {
    return InvalidArgument(what + ": .npy header has no fortran_order");
  }
  if (fortran_order != "False") {
    return Unsupported(what + ": Fortran-ordered .npy arrays are not supported");
  }
  const std::string shape_text = HeaderField(header, "shape");
  if (shape_text.size() < 2 || shape_text.front() != '(') {
    return InvalidArgument(what + ": .npy header has no shape");
  }
  std::vector<int64_t> shape;
  const std::string inner = shape_text.substr(1, shape_text.size() - 2);
  size_t p = 0;
  while (p < inner.size()) {
    while (p < inner.size() && (inner[p] == ' ' || inner[p] == ',')) ++p;
    if (p >= inner.size()) break;
    size_t end = p;
    while (end < inner.size() && inner[end] >= '0' && inner[end] <= '9') ++end;
    if (end == p || end - p > 18) {
      return InvalidArgument(what + ": bad .npy shape " + shape_text);
    }
    shape.push_back(std::stoll(inner.substr(p, end - p)));
    p = end;
  }
  StatusOr<size_t> size = CheckedByteSize(dtype, shape);
  if (!size.ok()) return size.status().WithContext(what);
  const size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != *size) {
    return InvalidArgument(what + ": .npy data has " +
                           std::to_string(bytes.size() - data_start) +
                           " bytes, shape " + ShapeToString(shape) + " needs " +
                           std::to_string(*size));
  }
  StatusOr<Tensor> t = Tensor::Allocate(dtype, shape);
  if (!t.ok()) return t.status();
  std::memcpy(t->data(), bytes.data() + data_start, *size);
  return t;
}

StatusOr<Tensor> ReadNpyFile(const std::string& path) {
  StatusOr<std::string> bytes = ReadFileToString(path, kMaxTensorFileBytes);
  if (!bytes.ok()) return bytes.status();
  return ParseNpy(*bytes, path);
}

StatusOr<std::string> SerializeNpy(const Tensor& tensor) {
  const char* descr = nullptr;
  for (const NpyType& t : kNpyTypes) {
    if (t.dtype == tensor.dtype()) {
      descr = t.descr;
      break;
    }
  }
  if (descr == nullptr) {
    return Unsupported(std::string("NumPy has no element type for ") +
                       DataTypeName(tensor.dtype()));
  }
  std::string shape = "(";
  for (int64_t d : tensor.shape()) shape += std::to_string(d) + ", ";
  if (tensor.shape().size() > 1) shape.resize(shape.size() - 2);
  if (tensor.shape().size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Version 1.0 stores the header length in 2 bytes; 2.0 in 4 (only
  // needed for shapes of thousands of dimensions).
  const bool v2 = header.size() + 1 + 10 + 64 > 0xffff;  // 64: padding
  const size_t prefix = v2 ? 12 : 10;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out(v2 ? "\x93NUMPY\x02\x00" : "\x93NUMPY\x01\x00", 8);
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) {
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  out += header;
  out.append(static_cast<const char*>(tensor.data()), tensor.byte_size());
  return out;
}

}  // namespace bnfold
