// A compiled plan: the steps to run a graph for one set of input shapes. A
// Plan is immutable once built (planner.h) and shared by every concurrent
// run; each run uses its own ExecState (executor.h).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "runtime/backend/onednn/feeds.h"
#include "runtime/backend/onednn/kernel.h"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

// The biggest single tensor a plan may hold; larger shapes are refused
// instead of attempted.
inline constexpr size_t kMaxTensorBytes = size_t{16} << 30;

struct PlanValue {
  // kAlias: a view of another value's bytes (Reshape, a Transpose as a
  // permuted desc, ...), never written by a step.
  enum class Storage { kExternal, kConstant, kArena, kAlias };

  std::string name;
  TensorDesc desc;
  Storage storage = Storage::kArena;
  size_t arena_offset = 0;      // kArena
  int input_slot = -1;          // kExternal: index into the fed inputs
  ir::ConstTensorPtr constant;  // kConstant in plain layout
  std::shared_ptr<void> blob;   // kConstant in a oneDNN layout
  int alias_of = -1;            // kAlias: the viewed value (never itself an alias)

  const void* constant_data() const {
    return constant ? constant->data() : blob.get();
  }
};

struct PlanStep {
  std::unique_ptr<Kernel> kernel;
  std::vector<int> inputs;   // value ids; -1 for omitted
  std::vector<int> outputs;  // value ids; -1 for omitted
  std::string label;         // "Conv 'conv1'", for errors and profiles
  // Inside the plan's image loop: bytes between images of each input /
  // output (0: the same buffer for every image, e.g. weights, or a
  // one-image intermediate reused by each image in turn). Empty outside.
  std::vector<size_t> input_image_strides;
  std::vector<size_t> output_image_strides;
};

// Steps [begin, end) run image by image: image 0 through all of them, then
// image 1, ... Their kernels were compiled for one image. A batch's early
// layers then keep one image's activations in cache from one layer to the
// next instead of streaming the whole batch through memory per layer.
struct ImageLoop {
  size_t begin = 0;
  size_t end = 0;
  int64_t images = 1;
  bool active() const { return end > begin && images > 1; }
};

// A graph input the caller feeds, with the desc it was compiled for.
struct PlanInput {
  std::string name;
  int value = -1;
  TensorDesc desc;
};

struct Plan {
  // A deque: compile contexts hold pointers to descs while values are added.
  std::deque<PlanValue> values;
  std::vector<PlanStep> steps;
  std::vector<PlanInput> inputs;
  std::vector<int> outputs;  // graph outputs in order; always plain layout
  std::vector<std::string> output_names;
  ImageLoop image_loop;
  size_t arena_bytes = 0;
  size_t scratchpad_bytes = 0;
  int threads = 1;
};

class ReorderedConstantCache;  // memory.h

struct CompileOptions {
  int threads = 1;
  // Run activations, residual adds and other followers as oneDNN post-ops of
  // the Conv/Gemm/MatMul before them (fusion.h). Off: one step per node.
  bool fuse = true;
  // At batch 2 or more, run the early convolutions image by image (see
  // ImageLoop and image_loop.h). Off: every step sees the
  // whole batch.
  bool image_loop = true;
  // Null: this plan's reordered constants are its own.
  std::shared_ptr<ReorderedConstantCache> constant_cache;
  // Larger outputs are refused before anything is allocated for them.
  size_t max_tensor_bytes = kMaxTensorBytes;
  // The bytes the plan may hold: constants, arena and scratchpad together
  // (memory_budget.h). 0: no cap.
  size_t max_memory_bytes = 0;
};

// A run-time stage of the graph (staged runs, plan_cache.h): the nodes at
// positions [begin, end) of graph.nodes(), fed the values earlier stages
// computed (`fed`: each value with its type and shape; with FeedSpec::value
// set it is a constant of the plan) after the graph inputs, and returning
// `outputs` (the graph outputs when empty).
struct PlanSegment {
  size_t begin = 0;
  size_t end = 0;
  std::vector<std::pair<const ir::Value*, FeedSpec>> fed;
  std::vector<const ir::Value*> outputs;
};

// Builds a plan for `graph` (topologically sorted) given the fed inputs'
// types and shapes, checked by CheckFeeds (feeds.h): every required graph
// input must be fed; overridable initializers not fed keep their stored
// value.
//
// When compiling fails and a kernel had asked for the value of a fed input
// (e.g. a Reshape whose shape is a graph input), `wanted_values` receives
// those inputs' names: compiling again with their values set in the
// FeedSpecs may succeed. When it fails at a node whose kernel asked for the
// value of an input not known now (a Range limit or NonMaxSuppression boxes
// computed from fed data), `split_at` receives the node's position in
// graph.nodes(): the graph runs in stages around it (plan_cache.h).
// `segment`: compile only that stage (PlanSegment).
StatusOr<std::shared_ptr<const Plan>> CompilePlan(
    const ir::Graph& graph, const std::vector<FeedSpec>& feeds, const CompileOptions& options,
    std::vector<std::string>* wanted_values = nullptr, const PlanSegment* segment = nullptr,
    size_t* split_at = nullptr);

// Unsupported (naming op, node, domain and opset) when no kernel runs `node`.
Status CheckKernelExists(const ir::Node& node);

}  // namespace bnfold::onednn
