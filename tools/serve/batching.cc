#include "tools/serve/batching.h"

#include <cstring>
#include <memory>

namespace bnfold::serve {

bool BatchMajor(const Session& session) {
  for (const auto* infos : {&session.inputs(), &session.outputs()}) {
    for (const TensorInfo& t : *infos) {
      if (t.shape.empty() || t.shape[0] >= 0) return false;
    }
  }
  return !session.inputs().empty();
}

std::string BatchKey(const std::vector<NamedTensor>& feeds,
                     const std::vector<NamedTensor>& requested_outputs, int64_t* rows) {
  std::string key;
  *rows = -1;
  for (const NamedTensor& f : feeds) {
    const std::vector<int64_t>& dims = f.tensor.shape();
    if (dims.empty() || (*rows >= 0 && dims[0] != *rows)) return "";
    *rows = dims[0];
    key += f.name + ':' + std::to_string(static_cast<int>(f.tensor.dtype()));
    for (size_t d = 1; d < dims.size(); ++d) key += ',' + std::to_string(dims[d]);
    key += ';';
  }
  if (*rows < 0) return "";
  key += "->";
  for (const NamedTensor& o : requested_outputs) key += o.name + ';';
  return key;
}

StatusOr<std::vector<NamedTensor>> ConcatenateRows(
    const std::vector<const std::vector<NamedTensor>*>& requests) {
  std::vector<NamedTensor> batch;
  const std::vector<NamedTensor>& first = *requests.front();
  for (size_t i = 0; i < first.size(); ++i) {
    std::vector<int64_t> dims = first[i].tensor.shape();
    dims[0] = 0;
    for (const auto* r : requests) dims[0] += (*r)[i].tensor.shape()[0];
    StatusOr<Tensor> t = Tensor::Allocate(first[i].tensor.dtype(), dims);
    if (!t.ok()) return t.status();
    char* out = static_cast<char*>(t->data());
    for (const auto* r : requests) {
      const Tensor& part = (*r)[i].tensor;
      if (part.byte_size()) std::memcpy(out, part.data(), part.byte_size());
      out += part.byte_size();
    }
    batch.push_back({first[i].name, std::move(*t)});
  }
  return batch;
}

StatusOr<std::vector<std::vector<NamedTensor>>> SplitRows(std::vector<NamedTensor> outputs,
                                                          const std::vector<int64_t>& rows) {
  int64_t total = 0;
  for (int64_t r : rows) total += r;
  std::vector<std::vector<NamedTensor>> split(rows.size());
  for (NamedTensor& out : outputs) {
    const std::vector<int64_t>& dims = out.tensor.shape();
    if (dims.empty() || dims[0] != total) {
      return InvalidArgument("output '" + out.name + "' has shape " + ShapeToString(dims) +
                             ", not the batch's " + std::to_string(total) + " rows first");
    }
    const size_t row_bytes = total ? out.tensor.byte_size() / static_cast<size_t>(total) : 0;
    auto owner = std::make_shared<Tensor>(std::move(out.tensor));
    char* data = static_cast<char*>(owner->data());
    for (size_t j = 0; j < rows.size(); ++j) {
      std::vector<int64_t> part = owner->shape();
      part[0] = rows[j];
      split[j].push_back({out.name, Tensor::Adopt(owner->dtype(), part, owner, data)});
      data += row_bytes * static_cast<size_t>(rows[j]);
    }
  }
  return split;
}

}  // namespace bnfold::serve
