// What a caller feeds a plan, and the one check of feeds against a graph's
// inputs. The session checks a run's feeds with it before it looks for a
// plan, and the planner again before it binds them, so both refuse the same
// feeds with the same messages.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "bnfold/tensor.h"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

// What a caller feeds for one graph input (or overridable initializer).
struct FeedSpec {
  std::string name;
  DataType dtype = DataType::kUndefined;
  std::vector<int64_t> dims;
  // When set, the plan is specialised on this value: the input becomes a
  // constant of the plan (for shape-like inputs such as Reshape's shape or
  // Reduce's axes fed at run time) and is not fed to ExecState::Run.
  std::shared_ptr<const Tensor> value;
};

// Checks `feeds` against the inputs of `graph`: each feed names a graph
// input the caller may feed (one without an initializer, or an overridable
// initializer), no input is fed twice, every input without an initializer is
// fed, and each feed has its input's element type, fits its input's static
// shape and has a byte size that fits in memory. Returns, for each graph
// input in order, the index of its feed in `feeds`, or -1 when it is not fed
// (an initializer that keeps its stored value).
StatusOr<std::vector<int>> CheckFeeds(const ir::Graph& graph, const std::vector<FeedSpec>& feeds);

}  // namespace bnfold::onednn
