#include "runtime/backend/onednn/winograd_weights.h"

#include <cstddef>
#include <cstdint>

#include "runtime/common/target_clones.h"

namespace bnfold::onednn {

namespace {

// The output-channel block every f32 Winograd convolution of oneDNN 2.6
// uses (one AVX-512 vector); other blocks are left to oneDNN's reorder.
constexpr int kBlock = 16;
constexpr int kKernel = 3;
constexpr int kMaxAlpha = 6;

// oneDNN's weight transforms: its Winograd kernels' input and output
// transforms are scaled to match these exact values.
constexpr float kG2x3[4][kKernel] = {
    {1.0f, 0.0f, 0.0f}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0.0f, 0.0f, 1.0f}};
constexpr float kG4x3[6][kKernel] = {
    {1.13777777777778f, 0.f, 0.f},
    {-0.688403361344538f, -0.430252100840336f, -0.26890756302521f},
    {-0.688403361344538f, 0.430252100840336f, -0.26890756302521f},
    {0.119514472455649f, 0.179271708683473f, 0.26890756302521f},
    {0.119514472455649f, -0.179271708683473f, 0.26890756302521f},
    {0.f, 0.f, 1.f}};

// Where element (u, v, oc, ic) of the transformed weights lives:
// (u * alpha + v) * uv_stride + BlockOffset(oc / block, ic) + oc % block.
struct WinoLayout {
  explicit WinoLayout(const dnnl_wino_desc_t& d)
      : format(d.wino_format), alpha(d.alpha), ic(d.ic), oc(d.oc), ic_block(d.ic_block),
        ic2_block(d.wino_format == dnnl_wino_wei_OBaaIBOIio ? d.ic2_block : 1),
        oc2_block(d.oc2_block) {}

  size_t uv_stride() const {
    // OBaaIBOIio: [oc chunk][u][v][the chunk's ic x oc2_block x block].
    // aaOio: [u][v][oc block][ic][block]; aaOBiOo: [u][v][oc chunk][ic
    // block][ic in block][oc2_block][block].
    return format == dnnl_wino_wei_OBaaIBOIio ? size_t(ic) * oc2_block * kBlock
                                              : size_t(ic) * oc;
  }

  size_t BlockOffset(int oc_block_index, int in_channel) const {
    if (format == dnnl_wino_wei_aaOio) {
      return (size_t(oc_block_index) * ic + in_channel) * kBlock;
    }
    const size_t chunk = oc_block_index / oc2_block;  // oc2_block blocks of kBlock
    const size_t in_chunk = oc_block_index % oc2_block;
    const size_t i = in_channel % ic_block;
    if (format == dnnl_wino_wei_aaOBiOo) {
      const size_t ib = in_channel / ic_block;
      return ((chunk * (ic / ic_block) + ib) * oc2_block * ic_block + i * oc2_block + in_chunk) *
             kBlock;
    }
    const size_t ib = (in_channel / ic_block) % ic2_block;
    const size_t icc = in_channel / (ic_block * ic2_block);
    return chunk * alpha * alpha * uv_stride() +
           (((icc * oc2_block + in_chunk) * ic2_block + ib) * ic_block + i) * kBlock;
  }

  dnnl_wino_memory_format_t format;
  int alpha, ic, oc, ic_block, ic2_block, oc2_block;
};

// Transforms output channels [block * kBlock, +kBlock) for every input
// channel. Built for AVX-512 too (a block is one vector), without fused
// multiply-adds so that the sums round as oneDNN's do.
BNFOLD_TARGET_CLONES("avx512f", "default") __attribute__((optimize("fp-contract=off")))
void TransformBlock(const float* weights, int out_channels, int in_channels,
                    const WinoLayout& layout, const float (*g)[kKernel], int block, float* out) {
  const int alpha = layout.alpha;
  const size_t uv_stride = layout.uv_stride();
  for (int ic = 0; ic < layout.ic; ++ic) {
    float w[kKernel][kKernel][kBlock];
    for (int o = 0; o < kBlock; ++o) {
      const int oc = block * kBlock + o;
      const bool real = oc < out_channels && ic < in_channels;
      const float* src = weights + (size_t(oc) * in_channels + ic) * kKernel * kKernel;
      for (int k = 0; k < kKernel; ++k) {
        for (int l = 0; l < kKernel; ++l) w[k][l][o] = real ? src[k * kKernel + l] : 0.0f;
      }
    }
    // Rows first, then columns, each sum from zero in kernel order.
    float rows[kKernel][kMaxAlpha][kBlock];
    for (int k = 0; k < kKernel; ++k) {
      for (int v = 0; v < alpha; ++v) {
        for (int o = 0; o < kBlock; ++o) {
          float sum = 0.0f;
          for (int l = 0; l < kKernel; ++l) sum += w[k][l][o] * g[v][l];
          rows[k][v][o] = sum;
        }
      }
    }
    float* base = out + layout.BlockOffset(block, ic);
    for (int u = 0; u < alpha; ++u) {
      for (int v = 0; v < alpha; ++v) {
        float* dst = base + (u * alpha + v) * uv_stride;
        for (int o = 0; o < kBlock; ++o) {
          float sum = 0.0f;
          for (int k = 0; k < kKernel; ++k) sum += g[u][k] * rows[k][v][o];
          dst[o] = sum;
        }
      }
    }
  }
}

}  // namespace

bool CanTransformWinogradWeights(const dnnl::memory::desc& src, const dnnl::memory::desc& dst) {
  using dt = dnnl::memory::data_type;
  if (dst.data.format_kind != dnnl_format_kind_wino || dst.data_type() != dt::f32) return false;
  const dnnl::memory::dims dims = src.dims();
  if (dims.size() != 4 || dims[2] != kKernel || dims[3] != kKernel || dst.dims() != dims) {
    return false;
  }
  if (src != dnnl::memory::desc(dims, dt::f32, dnnl::memory::format_tag::oihw)) return false;
  const dnnl_wino_desc_t& d = dst.data.format_desc.wino_desc;
  const bool known = ((d.wino_format == dnnl_wino_wei_aaOio ||
                       d.wino_format == dnnl_wino_wei_aaOBiOo) && d.alpha == 4) ||
                     (d.wino_format == dnnl_wino_wei_OBaaIBOIio && d.alpha == 6);
  if (!known || d.r != kKernel || d.oc_block != kBlock || d.ic_block <= 0 || d.oc2_block <= 0) {
    return false;
  }
  const WinoLayout layout(d);
  const int oc_chunk = kBlock * (d.wino_format == dnnl_wino_wei_aaOio ? 1 : d.oc2_block);
  return layout.ic2_block > 0 && d.oc % oc_chunk == 0 &&
         d.ic % (d.ic_block * layout.ic2_block) == 0 && d.oc >= dims[0] && d.ic >= dims[1] &&
         d.size == size_t(d.alpha) * d.alpha * d.oc * d.ic * sizeof(float) &&
         dst.get_size() == d.size;
}

void TransformWinogradWeights(const float* weights, const dnnl::memory::desc& src,
                              const dnnl::memory::desc& dst, void* out) {
  const dnnl_wino_desc_t& d = dst.data.format_desc.wino_desc;
  const WinoLayout layout(d);
  const float(*g)[kKernel] = d.alpha == 4 ? kG2x3 : kG4x3;
  const int out_channels = static_cast<int>(src.dims()[0]);
  const int in_channels = static_cast<int>(src.dims()[1]);
  const int blocks = d.oc / kBlock;
  float* dst_data = static_cast<float*>(out);
  // Blocks write disjoint parts of the output.
#pragma omp parallel for schedule(static)
  for (int block = 0; block < blocks; ++block) {
    TransformBlock(weights, out_channels, in_channels, layout, g, block, dst_data);
  }
}

}  // namespace bnfold::onednn
