#include "runtime/backend/onednn/feeds.h"

#include <string_view>
#include <unordered_map>

namespace bnfold::onednn {

namespace {

// The feed's element type and dims against what the model declares.
Status CheckFeed(const ir::Value& in, const FeedSpec& feed) {
  const std::string what = "input '" + in.name() + "'";
  if (in.dtype() != DataType::kUndefined && feed.dtype != in.dtype()) {
    return InvalidArgument(what + ": expected element type " +
                           std::string(DataTypeName(in.dtype())) + ", got " +
                           DataTypeName(feed.dtype));
  }
  StatusOr<size_t> bytes = CheckedByteSize(feed.dtype, feed.dims);
  if (!bytes.ok()) return bytes.status().WithContext(what);
  if (in.shape()) {
    const ir::StaticShape& shape = *in.shape();
    bool ok = shape.size() == feed.dims.size();
    for (size_t i = 0; ok && i < shape.size(); ++i) {
      ok = !shape[i].is_fixed() || shape[i].value == feed.dims[i];
    }
    if (!ok) {
      return InvalidArgument(what + ": expected shape " + ir::StaticShapeToString(shape) + ", got " +
                             ShapeToString(feed.dims));
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<int>> CheckFeeds(const ir::Graph& graph,
                                      const std::vector<FeedSpec>& feeds) {
  const std::vector<ir::Value*>& inputs = graph.inputs();
  std::unordered_map<std::string_view, int> input_index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    input_index.emplace(inputs[i]->name(), static_cast<int>(i));
  }
  std::vector<int> feed_of(inputs.size(), -1);
  for (size_t f = 0; f < feeds.size(); ++f) {
    auto it = input_index.find(feeds[f].name);
    if (it == input_index.end() || inputs[it->second]->IsConstant()) {
      return InvalidArgument("'" + feeds[f].name + "' is not an input of the model");
    }
    if (feed_of[it->second] >= 0) {
      return InvalidArgument("input '" + feeds[f].name + "' is fed twice");
    }
    feed_of[it->second] = static_cast<int>(f);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (feed_of[i] < 0) {
      if (inputs[i]->constant_data()) continue;  // the initializer keeps its value
      return InvalidArgument("input '" + inputs[i]->name() + "' is not fed");
    }
    if (Status s = CheckFeed(*inputs[i], feeds[feed_of[i]]); !s.ok()) return s;
  }
  return feed_of;
}

}  // namespace bnfold::onednn
