// Every dtype converts to every other; float16/bfloat16 round to nearest even as PyTorch.
#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;

namespace {
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

TEST(DType, HalfRoundsToNearestEven) {
  EXPECT_EQ(Half(1.0f).bits, 0x3C00);
  EXPECT_EQ(Half(-2.0f).bits, 0xC000);
  EXPECT_EQ(Half(65504.0f).bits, 0x7BFF);   // largest finite
  EXPECT_EQ(Half(65520.0f).bits, 0x7C00);   // rounds up to inf
  EXPECT_EQ(Half(65519.0f).bits, 0x7BFF);
  EXPECT_EQ(Half(5.9604645e-8f).bits, 0x0001);  // smallest subnormal
  EXPECT_EQ(Half(2.9802322e-8f).bits, 0x0000);  // exactly half of it: ties to even (0)
  EXPECT_EQ(Half(8.940697e-8f).bits, 0x0002);   // 1.5 ulp: ties to even (2)
  // 1 + 2^-11 is exactly between 1 and 1 + 2^-10: ties to even (1.0)
  EXPECT_EQ(Half(1.0f + std::ldexp(1.0f, -11)).bits, 0x3C00);
  EXPECT_EQ(Half(1.0f + 3 * std::ldexp(1.0f, -11)).bits, 0x3C02);
  EXPECT_TRUE(std::isnan(static_cast<float>(Half(NAN))));
  EXPECT_EQ(static_cast<float>(Half(0.333251953125f)), 0.333251953125f);  // exactly representable
}

TEST(DType, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(BFloat16(1.0f).bits, 0x3F80);
  EXPECT_EQ(BFloat16(from_bits(0x3F808000)).bits, 0x3F80);  // tie, even stays
  EXPECT_EQ(BFloat16(from_bits(0x3F818000)).bits, 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(BFloat16(from_bits(0x3F808001)).bits, 0x3F81);
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(NAN))));
  EXPECT_EQ(static_cast<float>(BFloat16(from_bits(0x7F7F0000))), from_bits(0x7F7F0000));
}

TEST(DType, EveryPairConverts) {
  std::vector<double> source{0, 1, 2, 100, 127};
  for (int from = 0; from < kNumDTypes; ++from) {
    for (int to = 0; to < kNumDTypes; ++to) {
      DType a = static_cast<DType>(from), b = static_cast<DType>(to);
      if (is_complex(a) || is_complex(b)) continue;  // storage-only: DType.ComplexIsStoredViewedAndCopied
      Tensor t = tensor(source, a).to(b);
      ASSERT_EQ(t.dtype(), b);
      std::vector<double> got = t.to_vector<double>();
      for (size_t i = 0; i < source.size(); ++i) {
        double want = source[i];
        // float8 holds 0, 1 and 2 exactly; 100 and 127 round to nearest even: 96 and 128 in both formats.
        const double in_float8[] = {0, 1, 2, 96, 128};
        if (a == kFloat8E4M3FN || a == kFloat8E5M2 || b == kFloat8E4M3FN || b == kFloat8E5M2) want = in_float8[i];
        if (a == kBool || b == kBool) want = want != 0 ? 1 : 0;
        if (b == kInt8 && want > 127) continue;  // 128 (127 through float8) does not fit: not a conversion rule
        EXPECT_EQ(got[i], want) << dtype_name(a) << " -> " << dtype_name(b) << " element " << i;
      }
    }
  }
}

// float8, by the formats' definitions (OCP FP8: e4m3fn has no infinity and saturates to NaN past
// 448's rounding range; e5m2 is IEEE-like): every code decodes and encodes back, and the edges.
TEST(DType, Float8FormatsRoundTripAndRoundToNearestEven) {
  for (int code = 0; code < 256; ++code) {
    Float8E4M3FN a;
    a.bits = static_cast<uint8_t>(code);
    float fa = a;
    if ((code & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(fa)) << code;
    } else {
      EXPECT_EQ(Float8E4M3FN(fa).bits, code) << "e4m3fn code " << code << " = " << fa;
    }
    Float8E5M2 b;
    b.bits = static_cast<uint8_t>(code);
    float fb = b;
    if ((code & 0x7C) == 0x7C && (code & 0x03) != 0) {
      EXPECT_TRUE(std::isnan(fb)) << code;
    } else {
      EXPECT_EQ(Float8E5M2(fb).bits, code) << "e5m2 code " << code << " = " << fb;
    }
  }
  EXPECT_EQ(static_cast<float>(Float8E4M3FN(448.0f)), 448.0f);
  EXPECT_EQ(Float8E4M3FN(448.0f).bits, 0x7E);
  EXPECT_EQ(static_cast<float>(Float8E4M3FN(464.0f)), 448.0f);  // the midpoint rounds to even
  EXPECT_TRUE(std::isnan(static_cast<float>(Float8E4M3FN(465.0f))));
  EXPECT_TRUE(std::isnan(static_cast<float>(Float8E4M3FN(INFINITY))));
  EXPECT_EQ(Float8E4M3FN(-INFINITY).bits, 0xFF);
  EXPECT_EQ(static_cast<float>(Float8E4M3FN(0.001953125f)), 0.001953125f);  // 2^-9, the smallest subnormal
  EXPECT_EQ(static_cast<float>(Float8E4M3FN(0.0009765625f)), 0.0f);         // half of it: ties to even (0)
  EXPECT_EQ(static_cast<float>(Float8E4M3FN(1.0625f)), 1.0f);               // between 1 and 1.125: even
  EXPECT_EQ(static_cast<float>(Float8E4M3FN(1.1875f)), 1.25f);
  EXPECT_EQ(Float8E5M2(57344.0f).bits, 0x7B);
  EXPECT_EQ(static_cast<float>(Float8E5M2(61439.0f)), 57344.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(Float8E5M2(61440.0f))));  // the midpoint rounds to even: infinity
  EXPECT_EQ(Float8E5M2(-INFINITY).bits, 0xFC);
  EXPECT_EQ(static_cast<float>(Float8E5M2(1.52587890625e-05f)), 1.52587890625e-05f);  // 2^-16
  EXPECT_TRUE(std::isnan(static_cast<float>(Float8E5M2(NAN))));
  EXPECT_EQ(Float8E4M3FN(-0.0f).bits, 0x80);
}

TEST(DType, TorchTwoStorageDtypesConvertButDoNotPromote) {
  for (DType t : {kUInt16, kUInt32, kUInt64, kFloat8E4M3FN, kFloat8E5M2}) {
    EXPECT_EQ(parse_dtype(std::string("torch.") + dtype_name(t)), t);
    EXPECT_THROW(promote_types(t, kFloat32), ValueError) << dtype_name(t);
  }
  EXPECT_EQ(element_size(kUInt64), 8u);
  EXPECT_EQ(element_size(kFloat8E5M2), 1u);
  Tensor big = tensor(std::vector<double>{65535, 4294967295.0}, kFloat64);
  EXPECT_EQ(big.to(kUInt32).to_vector<double>(), (std::vector<double>{65535, 4294967295.0}));
  EXPECT_EQ(big.slice(0, 0, 1).to(kUInt16).to_vector<int64_t>(), std::vector<int64_t>{65535});
  EXPECT_THROW(add(ones({2}, kUInt16), ones({2}, kUInt16)), ValueError);  // storage only: no kernels
}

// complex64/complex128: storage and copy only (as the files PyTorch writes need), no math.
TEST(DType, ComplexIsStoredViewedAndCopied) {
  for (DType c : {kComplex64, kComplex128}) {
    EXPECT_EQ(element_size(c), c == kComplex64 ? 8u : 16u);
    Tensor z = tensor({1.0, 2.0, 3.0}, kFloat64).to(c);  // real -> complex: imaginary parts 0
    ASSERT_EQ(z.dtype(), c);
    Tensor parts = z.view_as_real();
    EXPECT_EQ(parts.dtype(), complex_part_dtype(c));
    EXPECT_EQ(parts.sizes(), (Shape{3, 2}));
    EXPECT_EQ(parts.to_vector<double>(), (std::vector<double>{1, 0, 2, 0, 3, 0}));
    parts.select(1, 1).copy_(tensor({-1.0, -2.0, -3.0}, kFloat64));  // writes through the view
    // Copies keep both parts, through non-contiguous views too.
    Tensor m = tensor({0, 1, 2, 3, 4, 5, 6, 7}, kFloat64).to(complex_part_dtype(c)).reshape({2, 2, 2}).view_as_complex();
    Tensor t = m.t().contiguous();
    EXPECT_EQ(t.view_as_real().to_vector<double>(), (std::vector<double>{0, 1, 4, 5, 2, 3, 6, 7}));
    EXPECT_EQ(z.clone().view_as_real().to_vector<double>(), (std::vector<double>{1, -1, 2, -2, 3, -3}));
    EXPECT_EQ(zeros({2}, c).view_as_real().to_vector<double>(), (std::vector<double>{0, 0, 0, 0}));
    EXPECT_EQ(z.slice(0, 1, 3).view_as_real().storage_offset(), 2);
    // No arithmetic, and no silent loss of the imaginary part.
    EXPECT_THROW(add(z, z), ValueError);
    EXPECT_THROW(z.to(kFloat32), ValueError);
    EXPECT_THROW(tensor({1.0}).view_as_real(), ValueError);
  }
}

TEST(DType, NegativeAndFractionalConversions) {
  EXPECT_EQ(tensor({-1.7, 2.9}).to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(tensor({0.0, -0.5, NAN}).to(kBool).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(tensor({1e-50}, kFloat64).to(kBool).item<bool>(), true);
  EXPECT_EQ(tensor({0.1}, kFloat64).to(kFloat16).item(), static_cast<double>(static_cast<float>(Half(0.1f))));
}

TEST(DType, PromotionFollowsPyTorch) {
  EXPECT_EQ(promote_types(kInt64, kFloat32), kFloat32);
  EXPECT_EQ(promote_types(kFloat16, kBFloat16), kFloat32);
  EXPECT_EQ(promote_types(kUInt8, kInt8), kInt16);
  EXPECT_EQ(promote_types(kInt32, kInt64), kInt64);
  EXPECT_EQ(promote_types(kBool, kInt8), kInt8);
  EXPECT_EQ(promote_types(kFloat32, kFloat64), kFloat64);
  EXPECT_EQ(add(arange(3), tensor({0.5f}, kFloat32)).dtype(), kFloat32);
  EXPECT_EQ(div(arange(4), 2.0).dtype(), kFloat32);  // true division
  EXPECT_EQ(mul(arange(4), 2.0).dtype(), kInt64);
  EXPECT_EQ(sum(ones({3}, kBool)).dtype(), kInt64);
}

TEST(DType, NamesParse) {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    EXPECT_EQ(parse_dtype(dtype_name(t)), t);
    EXPECT_EQ(parse_dtype(std::string("torch.") + dtype_name(t)), t);
  }
  EXPECT_EQ(parse_dtype("long"), kInt64);
  EXPECT_EQ(parse_dtype("cfloat"), kComplex64);
  EXPECT_THROW(parse_dtype("complex32"), ValueError);
}

TEST(DType, HalfPrecisionArithmeticComputesInFloat) {
  Tensor a = tensor({1.0, 2.0}, kFloat16), b = tensor({0.5, 0.25}, kFloat16);
  Tensor c = add(a, b);
  EXPECT_EQ(c.dtype(), kFloat16);
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{1.5f, 2.25f}));
  a.mul_(3.0);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{3.0f, 6.0f}));
}
