// A compiled plan: the steps to run a graph for one set of input shapes, and
// the per-execution-context state that runs it. A Plan is immutable once
// built and shared by every concurrent run; each run uses its own ExecState.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bnfold/status.h"
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

// Constants the planner reordered into a oneDNN layout, shared by the
// plans compiled with this cache (a session's plans for batch 1 and batch 8
// use the same blocked 1x1 Conv weights: ResNet-50 has 38 of them). An entry
// keeps neither its source nor its result alive, so it never outlives the
// plans using it, and a source is known by its tensor object, not by an
// address a new tensor could reuse. Thread-safe.
class ReorderedConstantCache {
 public:
  // `source` in `layout` if a live plan holds it, else null.
  std::shared_ptr<void> Find(const ir::ConstTensorPtr& source, const dnnl::memory::desc& layout);
  void Insert(const ir::ConstTensorPtr& source, const dnnl::memory::desc& layout,
              const std::shared_ptr<void>& data);

 private:
  struct Entry {
    std::weak_ptr<const Tensor> source;
    dnnl::memory::desc layout;
    std::weak_ptr<void> data;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
};

struct CompileOptions {
  int threads = 1;
  // Run activations, residual adds and other followers as oneDNN post-ops of
  // the Conv/Gemm/MatMul before them (fusion.h). Off: one step per node.
  bool fuse = true;
  // At batch 2 or more, run the early convolutions image by image (see
  // ImageLoop and the image loop section of compiler.cc). Off: every step sees the
  // whole batch.
  bool image_loop = true;
  // Null: this plan's reordered constants are its own.
  std::shared_ptr<ReorderedConstantCache> constant_cache;
  // Larger outputs are refused before anything is allocated for them.
  size_t max_tensor_bytes = kMaxTensorBytes;
};

// Builds a plan for `graph` (topologically sorted) given the fed inputs'
// types and shapes. Every required graph input must be fed; overridable
// initializers not fed keep their stored value.
//
// When compiling fails and a kernel had asked for the value of a fed input
// (e.g. a Reshape whose shape is a graph input), `wanted_values` receives
// those inputs' names: compiling again with their values set in the
// FeedSpecs may succeed.
StatusOr<std::shared_ptr<const Plan>> CompilePlan(
    const ir::Graph& graph, const std::vector<FeedSpec>& feeds, const CompileOptions& options,
    std::vector<std::string>* wanted_values = nullptr);

// The memory and kernel states one run needs. Not thread-safe: one per
// concurrent run.
class ExecState {
 public:
  explicit ExecState(std::shared_ptr<const Plan> plan);
  ~ExecState();
  ExecState(const ExecState&) = delete;
  ExecState& operator=(const ExecState&) = delete;

  const Plan& plan() const { return *plan_; }
  // `inputs[i]` points at the data of plan().inputs[i] (plain layout).
  Status Run(const std::vector<const void*>& inputs);
  // Data of graph output `i` after Run (plain layout).
  const void* output(size_t i) const;

  // Profiling: from now on each Run times every step (two clock reads per
  // step) and the first such run records what ran each step.
  void EnableProfiling();
  // Milliseconds each step of plan().steps took in the last Run, the image
  // loop's images summed. Empty unless profiling.
  const std::vector<double>& step_ms() const { return step_ms_; }
  // What ran each step: the oneDNN primitives' kinds and implementations
  // ("convolution jit_1x1:avx512_core"), joined by ", " when several, or
  // "bnfold" for the runtime's own code. Known after the first profiled run.
  const std::vector<std::string>& step_implementations() const { return step_implementations_; }

 private:
  struct StepPointers {
    std::vector<const void*> inputs;
    std::vector<void*> outputs;
  };
  // Step `step`'s input `index` is fed input `slot`.
  struct InputPatch {
    size_t step;
    size_t index;
    int slot;
  };

  std::shared_ptr<const Plan> plan_;
  std::shared_ptr<void> arena_;
  std::shared_ptr<void> scratchpad_;
  std::vector<StepPointers> step_pointers_;
  std::vector<InputPatch> input_patches_;
  std::vector<const void*> output_pointers_;
  std::vector<int> output_slots_;  // fed input a graph output aliases, or -1
  std::vector<std::unique_ptr<KernelState>> states_;  // per step
  dnnl::stream stream_;
  bool profiling_ = false;
  bool named_ = false;  // step_implementations_ filled
  std::vector<double> step_ms_;
  std::vector<std::string> step_implementations_;

  Status RunStep(size_t step, int64_t image);
  // RunStep, timed into step_ms_; the first time also names what ran it.
  Status RunStepProfiled(size_t step, int64_t image);
};

// Unsupported (naming op, node, domain and opset) when no kernel runs `node`.
Status CheckKernelExists(const ir::Node& node);

// The process-wide oneDNN CPU engine.
const dnnl::engine& CpuEngine();

}  // namespace bnfold::onednn
