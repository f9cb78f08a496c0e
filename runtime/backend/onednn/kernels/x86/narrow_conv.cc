#include "runtime/backend/onednn/kernels/x86/narrow_conv.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "runtime/backend/onednn/kernels/x86/cpu_features.h"
#include "runtime/common/buffer.h"

namespace bnfold::onednn {

namespace {

constexpr int kLanes = 16;

// Where a block of output pixels reads its input, and which input
// channels the last channel block really has.
struct BlockGeometry {
  int64_t height, width, blocks, kernel_w, stride_w, dilation_w, pad_left;
  __mmask16 last_block_mask;
};

// Lane i of the result = the sum of acc[i]'s 16 lanes: halves added, then
// two 8-way transposing reductions (hadd trees).
__attribute__((target("avx512f"))) inline __m512 SumEachAccumulator(const __m512* acc) {
  __m256 half[kLanes];
  for (int i = 0; i < kLanes; ++i) {
    // (Masked extracts: GCC 12 warns about the undefined source of the
    // unmasked ones, as for max and min.)
    const __m512d v = _mm512_castps_pd(acc[i]);
    half[i] = _mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, v, 0)),
                            _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, v, 1)));
  }
  __m256 sums[2];
  for (int g = 0; g < 2; ++g) {
    const __m256* v = half + 8 * g;
    const __m256 a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    const __m256 b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    sums[g] = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
  }
  const __m512d low = _mm512_castpd256_pd512(_mm256_castps_pd(sums[0]));
  return _mm512_castpd_ps(_mm512_mask_insertf64x4(low, 0xFF, low, _mm256_castps_pd(sums[1]), 1));
}

// The accumulators of output pixels ow0 .. ow0 + 16/M - 1 (those < `count`)
// of one output row, M channels each: acc[p * M + m]. `rows[b][kh]` is the
// input row tap kh reads in channel block b (null when it is padding).
// kInterior: every tap of every pixel lies inside the input row.
template <int M, bool kInterior>
__attribute__((target("avx512f"), always_inline)) inline void AccumulateBlock(
    const BlockGeometry& g, const float* const* rows, int64_t kernel_h, const float* weights,
    int64_t ow0, int64_t count, __m512* acc) {
  constexpr int P = kLanes / M;
  const int64_t tap_stride = g.blocks * M * kLanes;  // floats between kw taps
  for (int64_t kh = 0; kh < kernel_h; ++kh) {
    for (int64_t b = 0; b < g.blocks; ++b) {
      const float* row = rows[b * kernel_h + kh];
      if (row == nullptr) continue;
      const __mmask16 mask = b + 1 == g.blocks ? g.last_block_mask : __mmask16(0xffff);
      const float* w = weights + (kh * g.kernel_w * g.blocks + b) * M * kLanes;
      if (kInterior && g.kernel_w == 3 && g.stride_w == 1 && g.dilation_w == 1) {
        // The three taps share the pixels' input vectors.
        const float* base = row + (ow0 - g.pad_left) * kLanes;
        __m512 in[P + 2];
#pragma GCC unroll 18
        for (int j = 0; j < P + 2; ++j) in[j] = _mm512_maskz_loadu_ps(mask, base + j * kLanes);
#pragma GCC unroll 3
        for (int kw = 0; kw < 3; ++kw) {
          __m512 wv[M];
#pragma GCC unroll 8
          for (int m = 0; m < M; ++m) wv[m] = _mm512_load_ps(w + kw * tap_stride + m * kLanes);
#pragma GCC unroll 16
          for (int p = 0; p < P; ++p) {
#pragma GCC unroll 8
            for (int m = 0; m < M; ++m) acc[p * M + m] = _mm512_fmadd_ps(in[p + kw], wv[m], acc[p * M + m]);
          }
        }
        continue;
      }
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        __m512 wv[M];
#pragma GCC unroll 8
        for (int m = 0; m < M; ++m) wv[m] = _mm512_load_ps(w + kw * tap_stride + m * kLanes);
#pragma GCC unroll 16
        for (int p = 0; p < P; ++p) {
          const int64_t iw = (ow0 + p) * g.stride_w - g.pad_left + kw * g.dilation_w;
          __m512 in;
          if (kInterior || (p < count && iw >= 0 && iw < g.width)) {
            in = _mm512_maskz_loadu_ps(mask, row + iw * kLanes);
          } else {
            in = _mm512_setzero_ps();
          }
#pragma GCC unroll 8
          for (int m = 0; m < M; ++m) acc[p * M + m] = _mm512_fmadd_ps(in, wv[m], acc[p * M + m]);
        }
      }
    }
  }
}

}  // namespace

// What every output row of one Run shares.
struct NarrowOutputConv::RowJob {
  const NarrowOutputConv* conv = nullptr;
  const float* x = nullptr;
  float* y = nullptr;
  BlockGeometry geometry{};
  int64_t first_inside = 0, last_inside = -1;
  alignas(64) float bias_lanes[kLanes] = {};
};

bool NarrowOutputConv::Applies(const ConvGeometry& g, const std::vector<int64_t>& x_dims) {
  return CpuHasAvx512() && x_dims.size() == 4 && g.group == 1 && g.out_channels >= 1 &&
         g.out_channels <= kMaxOutputChannels && g.kernel.size() == 2 &&
         g.output_dims.size() == 4 && g.output_dims[2] > 0 && g.output_dims[3] > 0;
}

std::shared_ptr<const NarrowOutputConv> NarrowOutputConv::Create(
    const ConvGeometry& g, const std::vector<int64_t>& x_dims, const float* weights,
    std::optional<VectorActivation> activation) {
  auto conv = std::shared_ptr<NarrowOutputConv>(new NarrowOutputConv());
  conv->images_ = x_dims[0];
  conv->in_channels_ = x_dims[1];
  conv->blocks_ = (x_dims[1] + kLanes - 1) / kLanes;
  conv->height_ = x_dims[2];
  conv->width_ = x_dims[3];
  conv->out_h_ = g.output_dims[2];
  conv->out_w_ = g.output_dims[3];
  conv->kernel_h_ = g.kernel[0];
  conv->kernel_w_ = g.kernel[1];
  conv->stride_h_ = g.strides[0];
  conv->stride_w_ = g.strides[1];
  conv->dilation_h_ = g.dilations[0];
  conv->dilation_w_ = g.dilations[1];
  conv->pad_top_ = g.pads_begin[0];
  conv->pad_left_ = g.pads_begin[1];
  conv->out_channels_ = static_cast<int>(g.out_channels);
  conv->activation_ = activation;
  const int64_t m_count = g.out_channels, c_count = x_dims[1];
  const int64_t kh_count = conv->kernel_h_, kw_count = conv->kernel_w_;
  const size_t floats = static_cast<size_t>(kh_count * kw_count * conv->blocks_ * m_count * kLanes);
  conv->packed_ = std::static_pointer_cast<float>(
      AllocateHeapBuffer(floats * sizeof(float), /*zeroed=*/true));
  if (!conv->packed_) return nullptr;
  float* packed = conv->packed_.get();
  for (int64_t m = 0; m < m_count; ++m) {
    for (int64_t c = 0; c < c_count; ++c) {
      for (int64_t kh = 0; kh < kh_count; ++kh) {
        for (int64_t kw = 0; kw < kw_count; ++kw) {
          const int64_t block = c / kLanes, lane = c % kLanes;
          packed[(((kh * kw_count + kw) * conv->blocks_ + block) * m_count + m) * kLanes + lane] =
              weights[((m * c_count + c) * kh_count + kh) * kw_count + kw];
        }
      }
    }
  }
  return conv;
}

dnnl::memory::desc NarrowOutputConv::InputLayout(const std::vector<int64_t>& x_dims) {
  return dnnl::memory::desc(dnnl::memory::dims(x_dims.begin(), x_dims.end()),
                            dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw16c);
}

dnnl::memory::desc NarrowOutputConv::OutputLayout(const std::vector<int64_t>& y_dims) {
  return dnnl::memory::desc(dnnl::memory::dims(y_dims.begin(), y_dims.end()),
                            dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc);
}

void NarrowOutputConv::Run(const float* x, const float* bias, float* y, int threads) const {
  switch (out_channels_) {
    case 1: return RunRows<1>(x, bias, y, threads);
    case 2: return RunRows<2>(x, bias, y, threads);
    case 3: return RunRows<3>(x, bias, y, threads);
    case 4: return RunRows<4>(x, bias, y, threads);
    case 5: return RunRows<5>(x, bias, y, threads);
    case 6: return RunRows<6>(x, bias, y, threads);
    case 7: return RunRows<7>(x, bias, y, threads);
    default: return RunRows<8>(x, bias, y, threads);
  }
}

template <int M>
void NarrowOutputConv::RunRows(const float* x, const float* bias, float* y, int threads) const {
  constexpr int P = kLanes / M;
  RowJob job;
  // Lane i of a result holds channel i % M of a pixel.
  for (int i = 0; i < P * M; ++i) job.bias_lanes[i] = bias ? bias[i % M] : 0.0f;
  const int64_t remainder = in_channels_ % kLanes;
  job.geometry = {height_, width_, blocks_, kernel_w_, stride_w_, dilation_w_, pad_left_,
                  remainder ? __mmask16((1u << remainder) - 1) : __mmask16(0xffff)};
  // The first and last output columns whose taps all lie inside the row.
  job.first_inside = std::min(out_w_, (pad_left_ + stride_w_ - 1) / stride_w_);
  const int64_t reach = (kernel_w_ - 1) * dilation_w_ - pad_left_;  // last tap's offset
  job.last_inside = width_ - 1 - reach >= 0 ? (width_ - 1 - reach) / stride_w_ : -1;
  job.conv = this;
  job.x = x;
  job.y = y;
  const int64_t rows = images_ * out_h_;
  const size_t row_pointers = static_cast<size_t>(blocks_ * kernel_h_);

#pragma omp parallel num_threads(std::max(1, threads))
  {
    // Up to 64 channel blocks x 16 taps on the stack; more on the heap.
    constexpr size_t kStackRows = 1024;
    const float* stack_rows[kStackRows];
    std::vector<const float*> heap_rows(row_pointers > kStackRows ? row_pointers : 0);
    const float** tap_rows = row_pointers > kStackRows ? heap_rows.data() : stack_rows;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) ComputeRow<M>(job, r, tap_rows);
  }
}

template <int M>
__attribute__((target("avx512f"))) void NarrowOutputConv::ComputeRow(const RowJob& job,
                                                                     int64_t r,
                                                                     const float** tap_rows) {
  constexpr int P = kLanes / M;
  const NarrowOutputConv& c = *job.conv;
  const int64_t image = r / c.out_h_, oh = r % c.out_h_;
  const float* x_image = job.x + image * c.blocks_ * c.height_ * c.width_ * kLanes;
  for (int64_t kh = 0; kh < c.kernel_h_; ++kh) {
    const int64_t ih = oh * c.stride_h_ - c.pad_top_ + kh * c.dilation_h_;
    const bool inside = ih >= 0 && ih < c.height_;
    for (int64_t b = 0; b < c.blocks_; ++b) {
      tap_rows[b * c.kernel_h_ + kh] =
          inside ? x_image + (b * c.height_ + ih) * c.width_ * kLanes : nullptr;
    }
  }
  // The input row the next output row adds (in channel block 0; block b
  // is b planes further), the one it alone reads from memory.
  const int64_t plane = c.height_ * c.width_ * kLanes;
  const int64_t next_ih = (oh + 1) * c.stride_h_ - c.pad_top_ + (c.kernel_h_ - 1) * c.dilation_h_;
  const float* next_row = oh + 1 < c.out_h_ && next_ih >= 0 && next_ih < c.height_
                              ? x_image + next_ih * c.width_ * kLanes
                              : nullptr;
  const __m512 bias = _mm512_loadu_ps(job.bias_lanes);
  float* y_row = job.y + r * c.out_w_ * M;
  for (int64_t ow0 = 0; ow0 < c.out_w_; ow0 += P) {
    const int64_t count = std::min<int64_t>(P, c.out_w_ - ow0);
    // Fetched a row ahead into L2: without it the loads of that row wait
    // on memory (fcn's 512x512 layer: 9.8 -> 2.8 ms); the rows the taps
    // share with the row before are still in cache.
    if (next_row != nullptr) {
      for (int64_t b = 0; b < c.blocks_; ++b) {
        for (int p = 0; p < P; ++p) {
          _mm_prefetch(reinterpret_cast<const char*>(next_row + b * plane + (ow0 + p) * kLanes),
                       _MM_HINT_T1);
        }
      }
    }
    __m512 acc[kLanes];
    for (int i = 0; i < kLanes; ++i) acc[i] = _mm512_setzero_ps();
    if (count == P && ow0 >= job.first_inside && ow0 + P - 1 <= job.last_inside) {
      AccumulateBlock<M, true>(job.geometry, tap_rows, c.kernel_h_, c.packed_.get(), ow0, count,
                               acc);
    } else {
      AccumulateBlock<M, false>(job.geometry, tap_rows, c.kernel_h_, c.packed_.get(), ow0, count,
                                acc);
    }
    __m512 v = _mm512_add_ps(SumEachAccumulator(acc), bias);
    if (c.activation_) v = Activate(v, *c.activation_);
    _mm512_mask_storeu_ps(y_row + ow0 * M, __mmask16((1u << (count * M)) - 1), v);
  }
}

}  // namespace bnfold::onednn
