// The activations our own AVX-512 kernels (gemv.h, narrow_conv.h) apply to
// a result in registers, with oneDNN's semantics, so a fused follower gives
// the same values whichever kernel runs it: Relu/LeakyRelu as eltwise_relu
// (NaN stays NaN) and Clip as eltwise_clip_v2 (NaN becomes the lower
// bound). VectorActivationOf (post_ops.h) maps a fused post-op to one.
#pragma once

#include <immintrin.h>

namespace bnfold::onednn {

struct VectorActivation {
  enum class Kind {
    kRelu,  // v < 0 ? a * v : v
    kClip,  // min(max(v, a), b)
  };
  Kind kind = Kind::kRelu;
  float a = 0.0f;
  float b = 0.0f;
};

// vmaxps/vminps: on NaN the second operand wins. (The masked forms: GCC 12
// warns about the undefined source of the unmasked intrinsics.)
__attribute__((target("avx512f"))) inline __m512 VectorMax(__m512 a, __m512 b) {
  return _mm512_mask_max_ps(b, 0xFFFF, a, b);
}
__attribute__((target("avx512f"))) inline __m512 VectorMin(__m512 a, __m512 b) {
  return _mm512_mask_min_ps(b, 0xFFFF, a, b);
}

__attribute__((target("avx512f"))) inline __m512 Activate(__m512 v,
                                                         const VectorActivation& activation) {
  if (activation.kind == VectorActivation::Kind::kClip) {
    return VectorMin(VectorMax(v, _mm512_set1_ps(activation.a)), _mm512_set1_ps(activation.b));
  }
  const __m512 zero = _mm512_setzero_ps();
  if (activation.a == 0.0f) return VectorMax(zero, v);  // v, the second operand, wins on NaN
  const __mmask16 negative = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
  return _mm512_mask_mul_ps(v, negative, v, _mm512_set1_ps(activation.a));
}

}  // namespace bnfold::onednn
