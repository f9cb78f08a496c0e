#include "runtime/common/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace bnfold {
namespace {

TEST(HalfTest, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(FloatToHalf(f), h) << "half bits " << h;
  }
}

TEST(HalfTest, RoundsToNearestEvenLikeTheCompiler) {
  // _Float16 conversion is IEEE round-to-nearest-even: an independent oracle.
  uint32_t bits = 12345;
  for (int i = 0; i < 1000000; ++i) {
    bits = bits * 1664525u + 1013904223u;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (std::isnan(f)) continue;
    const _Float16 reference = static_cast<_Float16>(f);
    uint16_t reference_bits;
    std::memcpy(&reference_bits, &reference, sizeof reference_bits);
    ASSERT_EQ(FloatToHalf(f), reference_bits) << "float " << f;
  }
}

TEST(HalfTest, KnownValues) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(1e6f), 0x7c00);  // overflow to +inf
  EXPECT_FLOAT_EQ(HalfToFloat(0x3555), 0.333251953125f);
  EXPECT_FLOAT_EQ(Bfloat16ToFloat(FloatToBfloat16(1.5f)), 1.5f);
}

// Folded float16 weights are computed in double and rounded once: via float
// (two roundings to nearest) a value just above a float16 tie becomes the
// tie and then rounds to even, the wrong way.
TEST(HalfTest, DoubleRoundsOnceNotViaFloat) {
  const double above_tie = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  EXPECT_EQ(FloatToHalf(static_cast<float>(above_tie)), 0x3c00);  // twice: wrong
  EXPECT_EQ(DoubleToHalf(above_tie), 0x3c01);                     // once: 1 + 2^-10
  EXPECT_EQ(DoubleToHalf(-above_tie), 0xbc01);
  EXPECT_EQ(DoubleToHalf(1.0 + std::ldexp(1.0, -11)), 0x3c00);  // an exact tie: even
  const double bf16_above_tie = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
  EXPECT_EQ(FloatToBfloat16(static_cast<float>(bf16_above_tie)), 0x3f80);
  EXPECT_EQ(DoubleToBfloat16(bf16_above_tie), 0x3f81);
  EXPECT_EQ(DoubleToHalf(65519.99), 0x7bff);
  EXPECT_EQ(DoubleToHalf(65520.0), 0x7c00);  // the tie above the largest half: inf
  EXPECT_EQ(DoubleToHalf(1e300), 0x7c00);
  EXPECT_TRUE(std::isnan(HalfToFloat(DoubleToHalf(std::nan("")))));
}

TEST(HalfTest, DoubleRoundsToNearestEvenLikeTheCompiler) {
  // GCC's double -> _Float16 conversion rounds once (libgcc): the oracle.
  uint64_t bits = 987654321;
  for (int i = 0; i < 1000000; ++i) {
    bits = bits * 6364136223846793005ull + 1442695040888963407ull;
    // Doubles in the float16 range and near its ties: exponent in [-30, 17].
    const double d = std::ldexp(1.0 + static_cast<double>(bits >> 12) * 0x1p-52,
                                static_cast<int>((bits >> 4) % 48) - 30) *
                     ((bits & 1) ? -1.0 : 1.0);
    const _Float16 reference = static_cast<_Float16>(d);
    uint16_t reference_bits;
    std::memcpy(&reference_bits, &reference, sizeof reference_bits);
    ASSERT_EQ(DoubleToHalf(d), reference_bits) << "double " << d;
  }
}

}  // namespace
}  // namespace bnfold
