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

}  // namespace
}  // namespace bnfold
