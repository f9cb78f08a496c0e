// The executor: runs a compiled Plan. One ExecState per concurrent run
// holds the activation arena, the scratchpad, each step's pointer arrays
// and kernel states; a run patches in the fed inputs' pointers and replays
// the steps (the image loop's image by image).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/plan.h"

namespace bnfold::onednn {

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

// ExecContext over arrays of pointers owned by the caller: used by
// ExecState (arrays prepared once per context) and to run a single kernel at
// compile time.
class PointerExecContext : public ExecContext {
 public:
  PointerExecContext(const void* const* inputs, size_t num_inputs, void* const* outputs,
                     size_t num_outputs, void* scratchpad, dnnl::stream* stream,
                     KernelState* state)
      : inputs_(inputs),
        num_inputs_(num_inputs),
        outputs_(outputs),
        num_outputs_(num_outputs),
        scratchpad_(scratchpad),
        stream_(stream),
        state_(state) {}
  const void* input(int i) const override {
    return static_cast<size_t>(i) < num_inputs_ ? inputs_[i] : nullptr;
  }
  void* output(int i) const override {
    return static_cast<size_t>(i) < num_outputs_ ? outputs_[i] : nullptr;
  }
  void* scratchpad() const override { return scratchpad_; }
  dnnl::stream& stream() const override { return *stream_; }
  KernelState* state() const override { return state_; }

 private:
  const void* const* inputs_;
  size_t num_inputs_;
  void* const* outputs_;
  size_t num_outputs_;
  void* scratchpad_;
  dnnl::stream* stream_;
  KernelState* state_;
};

}  // namespace bnfold::onednn
