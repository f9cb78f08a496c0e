#include "runtime/backend/onednn/kernels/image_split.h"

#include <algorithm>
#include <utility>

namespace bnfold::onednn {

const void* ImageContext::input(int i) const {
  const void* p = base_.input(i);
  const size_t stride = static_cast<size_t>(i) < input_strides_.size() ? input_strides_[i] : 0;
  return p == nullptr ? p : static_cast<const char*>(p) + stride * image_;
}

void* ImageContext::output(int i) const {
  void* p = base_.output(i);
  const size_t stride = static_cast<size_t>(i) < output_strides_.size() ? output_strides_[i] : 0;
  return p == nullptr ? p : static_cast<char*>(p) + stride * image_;
}

namespace {

// One runner state per image: each keeps the data handles of its image, so
// replays set no handle (and zero-fill no padding) again.
struct PerImageState : KernelState {
  std::vector<std::unique_ptr<KernelState>> images;
};

// Whether the dims[0] entries of `md` (a buffer of `bytes`) lie one after
// the other, with nothing before, after or between them.
bool IsOuterAxis(const dnnl_memory_desc_t& md, size_t bytes) {
  if (md.format_kind != dnnl_blocked || md.ndims < 2 || md.offset0 != 0 || md.dims[0] < 1 ||
      md.padded_dims[0] != md.dims[0] || md.padded_offsets[0] != 0) {
    return false;
  }
  const size_t element =
      dnnl::memory::data_type_size(static_cast<dnnl::memory::data_type>(md.data_type));
  return static_cast<size_t>(md.format_desc.blocking.strides[0]) * element *
             static_cast<size_t>(md.dims[0]) == bytes;
}

}  // namespace

dnnl::memory::desc OneImageDesc(const dnnl::memory::desc& md) {
  dnnl_memory_desc_t one = md.data;
  if (one.format_kind == dnnl_format_kind_any) {
    one.dims[0] = 1;
    one.padded_dims[0] = 1;
    return dnnl::memory::desc(one);
  }
  if (!IsOuterAxis(one, md.get_size())) return {};
  one.dims[0] = 1;
  one.padded_dims[0] = 1;
  return dnnl::memory::desc(one);
}

dnnl::memory::desc AllImagesDesc(const dnnl::memory::desc& one_image, int64_t images) {
  if (one_image.data.dims[0] != 1 || !IsOuterAxis(one_image.data, one_image.get_size())) {
    return {};
  }
  dnnl_memory_desc_t all = one_image.data;
  all.dims[0] = images;
  all.padded_dims[0] = images;
  return dnnl::memory::desc(all);
}

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
