#include "runtime/backend/onednn/kernels/support/image_split.h"

#include <algorithm>
#include <utility>

namespace bnfold::onednn {

namespace {

// One runner state per image: each keeps the data handles of its image, so
// replays set no handle (and zero-fill no padding) again.
struct PerImageState : KernelState {
  std::vector<std::unique_ptr<KernelState>> images;
};

}  // namespace

PerImageRunner::PerImageRunner(PrimitiveRunner runner, int64_t images, bool reversed,
                               std::vector<size_t> input_strides,
                               std::vector<size_t> output_strides)
    : runner_(std::move(runner)),
      images_(images),
      reversed_(reversed),
      input_strides_(std::move(input_strides)),
      output_strides_(std::move(output_strides)) {}

std::unique_ptr<KernelState> PerImageRunner::CreateState(const dnnl::engine& engine) const {
  auto state = std::make_unique<PerImageState>();
  for (int64_t i = 0; i < images_; ++i) state->images.push_back(runner_.CreateState(engine));
  return state;
}

void PerImageRunner::Execute(ExecContext& ctx) const {
  auto* state = static_cast<PerImageState*>(ctx.state());
  for (int64_t k = 0; k < images_; ++k) {
    const int64_t image = reversed_ ? images_ - 1 - k : k;
    ImageContext image_ctx(ctx, image, input_strides_, output_strides_,
                           state->images[image].get());
    runner_.Execute(image_ctx, image_ctx.state());
  }
}

}  // namespace bnfold::onednn
