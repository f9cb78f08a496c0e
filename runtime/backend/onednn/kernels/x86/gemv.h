// Batch-1 Gemm/MatMul: a row vector times a constant matrix, y = x B, then a
// short epilogue (Gemm's alpha and beta*C, fused followers), on AVX-512.
//
// Why not oneDNN here: at M = 1 the product is a matrix-vector product
// bound by how fast B streams from L2. Measured on the AMD EPYC (Zen 5) of
// issue 4, 1 thread, x[1,784] . B[784,100]: oneDNN 2.6 matmul brg:avx512_core
// 3.5 us (plain B 4.4 us), dnnl_sgemm 2.8 us, inner_product 3.4 us, this
// kernel 2.0 us; [100,100]: 0.68 / 0.32 / 0.70 / 0.22 us; [100,10]: 0.34 /
// 0.25 / 0.35 / 0.06 us. Larger B: see kMaxPackedBytes in gemv.cc.
//
// B is packed once into panels of up to 128 columns, each K rows of NV
// 16-float vectors (zero-padded), so a panel streams contiguously and every
// load is aligned.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/backend/onednn/kernels/x86/vector_activation.h"

namespace bnfold::onednn {

// One step of the epilogue, applied in order to each output value v.
struct GemvOp {
  enum class Kind {
    kScale,       // v *= a
    kAdd,         // v += a * operand
    kSub,         // v -= operand
    kMul,         // v *= operand
    kDiv,         // v /= operand
    kAccumulate,  // v += the value already in y (oneDNN's `sum`)
    kActivation,  // `activation` (vector_activation.h)
  };
  Kind kind = Kind::kScale;
  float a = 1.0f;
  VectorActivation activation;
  // kAdd..kDiv: the step input holding the operand, and whether it has N
  // values (else one, broadcast).
  int input = -1;
  bool per_column = false;
};

class PackedGemv {
 public:
  // Ops an epilogue may hold.
  static constexpr size_t kMaxOps = 8;

  // Whether the CPU runs this kernel and a [k, n] B is small enough for it
  // to beat oneDNN's matmul on `threads` threads (gemv.cc, MaxPackedBytes:
  // up to 2 MiB on one thread, L2-sized on two).
  static bool Worthwhile(int64_t k, int64_t n, int threads);

  // Packs `b`, [k, n] row-major or [n, k] when `transposed`; null when out
  // of memory. Precondition: ops.size() <= kMaxOps.
  static std::shared_ptr<const PackedGemv> Create(const float* b, int64_t k, int64_t n,
                                                  bool transposed, std::vector<GemvOp> ops);

  const std::vector<GemvOp>& ops() const { return ops_; }

  // y[0..n) = epilogue(x[0..k) . B). operands[i]: the data of ops()[i]'s
  // operand (ignored for ops without one). No allocation.
  void Run(const float* x, const float* const* operands, float* y) const;

 private:
  struct Panel {
    int64_t column = 0;  // first column
    int64_t width = 0;   // columns, <= 128
    size_t offset = 0;   // floats into packed_
  };
  PackedGemv() = default;

  int64_t k_ = 0;
  std::vector<Panel> panels_;
  bool prefetch_ = false;  // B larger than L2
  std::shared_ptr<float> packed_;
  std::vector<GemvOp> ops_;
};

}  // namespace bnfold::onednn
