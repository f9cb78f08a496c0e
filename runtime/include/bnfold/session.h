// Session: load an ONNX model once, run it many times, from many threads.
//
//   auto session = bnfold::Session::Open("model.onnx", {.threads = 2});
//   if (!session.ok()) { ... session.status().message() ... }
//   std::vector<bnfold::NamedTensor> outputs;
//   bnfold::Status s = (*session)->Run({{"input", input_tensor}}, &outputs);
//
// A compiled plan is built per distinct set of input shapes (e.g. a new
// batch size) on first sight, cached, and shared by all concurrent runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold {

struct SessionOptions {
  // Threads used by one Run (oneDNN's OpenMP team). 0 = all cores.
  int threads = 0;
  // Apply the graph passes (BatchNormalization folding and friends) before
  // compiling. Off runs the graph exactly as written.
  bool optimize = true;
  // Pass names to run when optimize is on; empty = the default pipeline.
  std::vector<std::string> passes;
  // Let the backend run activations, residual adds and per-channel
  // scale/shift as oneDNN post-ops of the Conv/Gemm/MatMul before them (the
  // graph is unchanged; only how it is scheduled). Off: one step per node.
  // The environment variable BNFOLD_FUSE=0, read once per process, turns it
  // off for every session (e.g. `BNFOLD_FUSE=0 bnfold bench MODEL`).
  bool fuse = true;
  // Time every step of every run (two clock reads per step) and keep the
  // times for TakeProfile(). Off by default.
  bool profile = false;
  // Refuse a file for what ONNX Runtime would run anyway (the ONNX
  // checker's complaints, a graph output listed twice, a declared type the
  // graph contradicts ...). Off: such a file opens and warnings() says what
  // was wrong with it.
  bool strict = false;
  // The bytes one compiled plan (one set of input shapes) may hold: the
  // constants it reads or makes (weights, folded values, reordered weights),
  // its activation arena and oneDNN scratchpad (per concurrent run). A plan
  // over the cap is refused, naming its biggest consumers, before anything
  // is allocated for it. The default stops a small file from asking for
  // more than a machine has as a sum of tensors each allowed on its own
  // (one tensor may take 16 GiB). 0: no cap.
  uint64_t max_memory_bytes = kDefaultMaxMemoryBytes;
  static constexpr uint64_t kDefaultMaxMemoryBytes = uint64_t{64} << 30;
};

struct TensorInfo {
  std::string name;
  DataType dtype = DataType::kUndefined;
  // -1 for a dimension that is not fixed by the model.
  std::vector<int64_t> shape;
  // Symbolic name of each dimension ("" when none), e.g. "batch".
  std::vector<std::string> dim_names;
};

// What the model file says about itself: the ModelProto's and its graph's
// descriptive fields, as onnxruntime's ModelMetadata reports them.
struct ModelMetadata {
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string description;        // the model's doc_string
  std::string graph_name;
  std::string graph_description;  // the graph's doc_string
  // metadata_props, in file order.
  std::vector<std::pair<std::string, std::string>> custom;
};

// A snapshot of what a session holds, for a server's metrics.
struct SessionStats {
  // Compiled plans cached: one per distinct set of input shapes seen.
  int64_t plans = 0;
  // Execution contexts (activation memory) kept for reuse across runs.
  int64_t idle_contexts = 0;
};

// One step of a compiled plan over the profiled runs.
struct StepProfile {
  // The nodes the step runs, "OpType 'name'", joined by " + " when followers
  // run fused into it; a step the planner added says what it is for, e.g.
  // "Reorder(x) for Conv 'conv1'".
  std::string label;
  // What ran it: oneDNN's primitive kind and implementation
  // ("convolution jit_1x1:avx512_core"), or "bnfold" for the runtime's own
  // code.
  std::string implementation;
  std::vector<int64_t> output_shape;  // of its first output
  // "plain", or oneDNN's letter notation ("aBcd16b" is nChw16c).
  std::string output_layout;
  double median_ms = 0.0;
  double mean_ms = 0.0;
};

// Where the runs of one compiled plan (one set of input shapes) spent their
// time, step by step in execution order.
struct PlanProfile {
  std::vector<TensorInfo> inputs;  // the shapes the plan was compiled for
  int64_t runs = 0;
  std::vector<StepProfile> steps;
};

class Session {
 public:
  static StatusOr<std::unique_ptr<Session>> Open(
      const std::string& path, const SessionOptions& options = {});
  // `bytes` is a serialized ModelProto. External data, if any, is resolved
  // relative to `base_dir` (refused when base_dir is empty).
  static StatusOr<std::unique_ptr<Session>> OpenFromBytes(
      std::string_view bytes, const SessionOptions& options = {},
      const std::string& base_dir = "");

  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Graph inputs the caller must feed (not backed by an initializer).
  const std::vector<TensorInfo>& inputs() const;
  // Initializers also listed as graph inputs (IR >= 4): may be fed to
  // override the stored value.
  const std::vector<TensorInfo>& overridable_initializers() const;
  const std::vector<TensorInfo>& outputs() const;
  const ModelMetadata& metadata() const;

  // Runs the model. Thread-safe: concurrent calls on one session are allowed.
  //
  // `outputs`: when empty, it is filled with one owned tensor per graph
  // output, in graph order. When the caller pre-fills it with named tensors
  // (e.g. Tensor::Wrap over its own buffers), each named output is written
  // into that buffer, which must have the exact dtype and shape, or, for a
  // tensor without data (Tensor()), into a new owned tensor; outputs not
  // named are not returned.
  //
  // Inputs are read in place, not copied: each buffer must stay alive and
  // unchanged until Run returns, and be aligned for its element type.
  Status Run(const std::vector<NamedTensor>& inputs,
             std::vector<NamedTensor>* outputs) const;

  // With SessionOptions::profile: the step times of the runs since the
  // last call (or since Open), one entry per plan that ran, and starts
  // afresh. Empty when profiling is off.
  std::vector<PlanProfile> TakeProfile() const;

  // What was wrong with the file but did not stop it from opening (see
  // SessionOptions::strict), one line each naming the file.
  const std::vector<std::string>& warnings() const;

  SessionStats stats() const;

  // How many BatchNormalization nodes the graph has before/after the passes.
  int batchnorm_count_before() const;
  int batchnorm_count_after() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bnfold
