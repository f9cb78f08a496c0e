#include "runtime/backend/onednn/kernels/x86/gemv.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "runtime/backend/onednn/kernels/x86/cpu_features.h"
#include "runtime/common/buffer.h"

namespace bnfold::onednn {

namespace {

constexpr int kLanes = 16;
constexpr int64_t kPanelColumns = 128;  // 8 vectors: the widest panel kernel

// Vectors holding `columns` floats (the last one zero-padded).
constexpr int64_t VectorsFor(int64_t columns) { return (columns + kLanes - 1) / kLanes; }

// B that stays in the 1 MiB per-core L2 of the issue-4 machine (AMD EPYC,
// Zen 5). Measured against oneDNN's matmul (+bias+relu), 1 thread, in a
// loop: [1024,128] (512 KiB) 2.3 vs 3.9 us; [784,300] (931 KiB) 6.6 vs
// 8.6 us; [2048,128] (1 MiB) 7.5 vs 7.5 us.
constexpr size_t kL2Bytes = size_t{960} << 10;

// Larger B streams from L3; the kernel then prefetches kPrefetchBytes
// ahead. In a loop oneDNN stays ahead ([3136,128], 1.5 MiB: 11.5 vs 14.2
// us with the prefetch, 15.3 without), but inside keras_cnn at batch 1
// (where that layer follows two convolutions and pools) the prefetching
// GEMV makes the whole run 47.4 -> 42.7 us (5 interleaved rounds against
// oneDNN; without the prefetch 48.4 -> 47.7 us). Beyond 2 MiB nothing was measured in a model
// (and oneDNN wins in a loop: [2048,1000] 69 vs 76 us): oneDNN keeps it.
constexpr size_t kMaxPackedBytes = size_t{2} << 20;
constexpr int kPrefetchBytes = 2048;  // 1024 and 4096: the same

// The kernel runs on one thread while oneDNN splits B over the team; at 2
// threads: [784,100] 2.0 vs 2.5 us, [1024,128] 2.3 vs 2.9 us, [784,300]
// 6.3 vs 6.1 us; keras_cnn's [3136,128] runs in 8.9 us on oneDNN's 2
// threads. So above 1 thread only B in L2, shrinking beyond 2 threads as
// oneDNN's share per thread does.
size_t MaxPackedBytes(int threads) {
  if (threads <= 1) return kMaxPackedBytes;
  if (threads == 2) return kL2Bytes;
  return 2 * kL2Bytes / static_cast<size_t>(threads);
}

// Rows of B consumed per step: U * NV independent accumulators hide the FMA
// latency; U * NV <= 24 leaves registers for the broadcast and the loads.
// (NV = 7: U = 1 3.2 us, U = 2 3.0 us, U = 3 or 4 2.0 us for [784,100].)
template <int NV>
constexpr int RowsPerStep() {
  return NV <= 3 ? 8 : NV == 4 ? 6 : NV <= 6 ? 4 : 3;
}

// dots[0 .. NV*16) = x . panel, the panel being k rows of NV vectors.
template <int NV, bool kPrefetch>
__attribute__((target("avx512f"))) void PanelDot(const float* x, const float* panel, int64_t k,
                                                 float* dots) {
  constexpr int U = RowsPerStep<NV>();
  constexpr int64_t kRow = NV * kLanes;
  __m512 acc[U][NV];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[u][j] = _mm512_setzero_ps();
  }
  int64_t r = 0;
  for (; r + U <= k; r += U) {
    const float* rows = panel + r * kRow;
    if constexpr (kPrefetch) {
      // Past the panel's end this touches the next panel or nothing (a
      // prefetch never faults); the address is formed as an integer.
      const uintptr_t ahead = reinterpret_cast<uintptr_t>(rows) + kPrefetchBytes;
#pragma GCC unroll 8
      for (int line = 0; line < U * NV; ++line) {
        _mm_prefetch(reinterpret_cast<const char*>(ahead + line * 64), _MM_HINT_T0);
      }
    }
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const __m512 xv = _mm512_set1_ps(x[r + u]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        acc[u][j] = _mm512_fmadd_ps(xv, _mm512_load_ps(rows + u * kRow + j * kLanes), acc[u][j]);
      }
    }
  }
  for (; r < k; ++r) {
    const __m512 xv = _mm512_set1_ps(x[r]);
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      acc[0][j] = _mm512_fmadd_ps(xv, _mm512_load_ps(panel + r * kRow + j * kLanes), acc[0][j]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NV; ++j) {
    __m512 sum = acc[0][j];
#pragma GCC unroll 8
    for (int u = 1; u < U; ++u) sum = _mm512_add_ps(sum, acc[u][j]);
    _mm512_store_ps(dots + j * kLanes, sum);
  }
}

using PanelFn = void (*)(const float*, const float*, int64_t, float*);
// [prefetch][vectors per row]
constexpr PanelFn kPanelFns[2][9] = {
    {nullptr, PanelDot<1, false>, PanelDot<2, false>, PanelDot<3, false>, PanelDot<4, false>,
     PanelDot<5, false>, PanelDot<6, false>, PanelDot<7, false>, PanelDot<8, false>},
    {nullptr, PanelDot<1, true>, PanelDot<2, true>, PanelDot<3, true>, PanelDot<4, true>,
     PanelDot<5, true>, PanelDot<6, true>, PanelDot<7, true>, PanelDot<8, true>}};

// y[column .. column + width) = ops(dots[0 .. width)).
__attribute__((target("avx512f"))) void ApplyEpilogue(const float* dots, int64_t column,
                                                      int64_t width, const GemvOp* ops,
                                                      size_t num_ops,
                                                      const float* const* operands, float* y) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t j = 0; j < width; j += kLanes) {
    const int64_t lanes = std::min<int64_t>(kLanes, width - j);
    const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1);
    const int64_t col = column + j;
    __m512 v = _mm512_load_ps(dots + j);
    for (size_t i = 0; i < num_ops; ++i) {
      const GemvOp& op = ops[i];
      __m512 operand = zero;
      if (op.kind >= GemvOp::Kind::kAdd && op.kind <= GemvOp::Kind::kDiv) {
        // Masked-off lanes read nothing (they may lie past the operand).
        operand = op.per_column ? _mm512_maskz_loadu_ps(mask, operands[i] + col)
                                : _mm512_set1_ps(operands[i][0]);
      }
      switch (op.kind) {
        case GemvOp::Kind::kScale: v = _mm512_mul_ps(v, _mm512_set1_ps(op.a)); break;
        case GemvOp::Kind::kAdd:
          v = op.a == 1.0f ? _mm512_add_ps(v, operand)
                           : _mm512_fmadd_ps(operand, _mm512_set1_ps(op.a), v);
          break;
        case GemvOp::Kind::kSub: v = _mm512_sub_ps(v, operand); break;
        case GemvOp::Kind::kMul: v = _mm512_mul_ps(v, operand); break;
        case GemvOp::Kind::kDiv: v = _mm512_div_ps(v, operand); break;
        case GemvOp::Kind::kAccumulate:
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, y + col));
          break;
        case GemvOp::Kind::kActivation: v = Activate(v, op.activation); break;
      }
    }
    _mm512_mask_storeu_ps(y + col, mask, v);
  }
}

}  // namespace

bool PackedGemv::Worthwhile(int64_t k, int64_t n, int threads) {
  if (!CpuHasAvx512() || k <= 0 || n <= 0) return false;
  const int64_t padded = VectorsFor(n) * kLanes;
  return static_cast<uint64_t>(k) * static_cast<uint64_t>(padded) * sizeof(float) <=
         MaxPackedBytes(threads);
}

std::shared_ptr<const PackedGemv> PackedGemv::Create(const float* b, int64_t k, int64_t n,
                                                     bool transposed, std::vector<GemvOp> ops) {
  std::shared_ptr<PackedGemv> gemv(new PackedGemv());
  gemv->k_ = k;
  gemv->ops_ = std::move(ops);
  size_t total = 0;
  for (int64_t column = 0; column < n; column += kPanelColumns) {
    const int64_t width = std::min(kPanelColumns, n - column);
    gemv->panels_.push_back({column, width, total});
    total += static_cast<size_t>(k) * static_cast<size_t>(VectorsFor(width) * kLanes);
  }
  gemv->prefetch_ = total * sizeof(float) > kL2Bytes;
  // Zeroed: the padding columns of each panel's last vector stay zero.
  gemv->packed_ = std::static_pointer_cast<float>(
      AllocateHeapBuffer(total * sizeof(float), /*zeroed=*/true));
  if (!gemv->packed_) return nullptr;
  float* packed = gemv->packed_.get();
  for (const Panel& p : gemv->panels_) {
    const int64_t row = VectorsFor(p.width) * kLanes;
    for (int64_t r = 0; r < k; ++r) {
      float* dst = packed + p.offset + r * row;
      for (int64_t c = 0; c < p.width; ++c) {
        const int64_t col = p.column + c;
        dst[c] = transposed ? b[col * k + r] : b[r * n + col];
      }
    }
  }
  return gemv;
}

void PackedGemv::Run(const float* x, const float* const* operands, float* y) const {
  alignas(64) float dots[kPanelColumns];
  for (const Panel& p : panels_) {
    kPanelFns[prefetch_][VectorsFor(p.width)](x, packed_.get() + p.offset, k_, dots);
    ApplyEpilogue(dots, p.column, p.width, ops_.data(), ops_.size(), operands, y);
  }
}

}  // namespace bnfold::onednn
