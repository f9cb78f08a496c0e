// The image loop (plan.h, ImageLoop): at batch 2 or more, the chain of
// per-image nodes from the first Conv on a graph input runs image by image,
// so the chain's activations stay in cache instead of streaming the batch
// through memory layer by layer.
//
// It opens at the first convolution reading a batched graph input and
// closes at the first node that does not compute per image from one
// image's values (ComputesPerImage, kMinImageLoopPixels). Inside, kernels
// compile for one image: a batched graph input is read through a
// one-image view, and a value the loop computes ("loop value") has a
// one-image desc. A loop value read after the loop (or a graph output) is
// "exported": it holds every image, one after the other, and later steps
// see it through a whole-batch view; any other loop value holds one image,
// reused by each image in turn.
//
// Also here: the one-image view of a step's context (ImageContext), used by
// the executor for the loop and by kernels that split a batch themselves
// (kernels/support/image_split.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "bnfold/status.h"
#include "runtime/backend/onednn/kernel.h"
#include "runtime/backend/onednn/memory.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

// `md` (a batch of images, the batch axis first) for one image: format any
// stays any; a blocked layout keeps its strides. Zero when one image is not
// a contiguous slice of the buffer.
dnnl::memory::desc OneImageDesc(const dnnl::memory::desc& md);
// The inverse: `one_image` (a blocked batch-1 desc) for `images` images
// stored one after the other; zero when `one_image` does not describe them
// so (its batch stride is not its size).
dnnl::memory::desc AllImagesDesc(const dnnl::memory::desc& one_image, int64_t images);

// A step's context seen for image `image` of its batch: input / output i
// offset by image * strides[i] bytes (strides missing or 0: the same buffer
// for every image), with `state` as its kernel state.
class ImageContext : public ExecContext {
 public:
  ImageContext(ExecContext& base, int64_t image, const std::vector<size_t>& input_strides,
               const std::vector<size_t>& output_strides, KernelState* state)
      : base_(base),
        image_(image),
        input_strides_(input_strides),
        output_strides_(output_strides),
        state_(state) {}

  const void* input(int i) const override;
  void* output(int i) const override;
  void* scratchpad() const override { return base_.scratchpad(); }
  dnnl::stream& stream() const override { return base_.stream(); }
  KernelState* state() const override { return state_; }

 private:
  ExecContext& base_;
  int64_t image_;
  const std::vector<size_t>& input_strides_;
  const std::vector<size_t>& output_strides_;
  KernelState* state_;
};

// IR value -> its plan value, as the planner keeps them.
using ValueIds = std::unordered_map<const ir::Value*, int>;

// The planner's side of the image loop: decides which steps run in it and
// makes the one-image and whole-batch views its steps read.
class ImageLoopBuilder {
 public:
  ImageLoopBuilder(Plan& plan, const ValueIds& value_ids) : plan_(plan), value_ids_(value_ids) {}

  // Called before compiling each node: opens the loop at its first
  // convolution, closes it at the first node that cannot run in it.
  void Update(const ir::Node& node);
  void Close();

  bool open() const { return state_ == State::kOpen; }
  bool closed() const { return state_ == State::kClosed; }
  // Images the open loop runs (its steps see one).
  int64_t images() const { return images_; }

  // A value computed inside the loop (one image in its desc).
  bool IsLoopValue(int id) const;
  // A constant operand of shape `dims` broadcasts the same values to every
  // image of a rank-4 tensor.
  static bool SameForEveryImage(const std::vector<int64_t>& dims);

  // The value a step compiled now reads for value `id`: inside the loop a
  // batched input's one-image view, after it a loop value's whole-batch
  // view, else `id`.
  StatusOr<int> ForThisStep(int id, const std::string& label);

  // Once every step is planned: the bytes between images of each loop
  // step's inputs and outputs (PlanStep::input_image_strides...).
  Status SetImageStrides();
  // Arena needs of the loop values: every one lives from the loop's first
  // step (image 1 runs the loop's first steps after image 0 ran its last
  // ones); an exported one holds every image, any other one image until the
  // loop ends.
  void ExtendLifetimes(ValueLifetimes& lifetimes) const;

 private:
  enum class State { kNotStarted, kOpen, kClosed };

  bool IsConstant(int id) const {
    return plan_.values[id].storage == PlanValue::Storage::kConstant;
  }
  bool RunsInLoop(const ir::Node& node) const;
  bool ReadsOnlyConstants(const ir::Node& node) const;
  bool IsBatchedInput(int id) const;
  StatusOr<size_t> ImageStride(int id, const std::string& label) const;
  int AddValue(PlanValue value) {
    plan_.values.push_back(std::move(value));
    return static_cast<int>(plan_.values.size()) - 1;
  }

  Plan& plan_;
  const ValueIds& value_ids_;
  State state_ = State::kNotStarted;
  int64_t images_ = 1;
  size_t first_value_ = 0;  // values [first, end) were created inside it
  size_t end_value_ = 0;
  std::unordered_map<int, int> one_image_views_;    // batched input -> its one-image view (memo)
  std::unordered_map<int, int> whole_batch_views_;  // exported loop value -> its batch view
};

}  // namespace bnfold::onednn
