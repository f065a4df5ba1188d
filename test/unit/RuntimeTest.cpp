//===- RuntimeTest.cpp - the runtime library, without the compiler --------===//
//
// f16/bf16 conversions against known bit patterns (round to nearest even, inf, NaN,
// subnormals, overflow), TensorView element access through arbitrary strides,
// safetensors serialise/parse round trips and every parse error (including the JSON
// header's: escapes, duplicate keys, truncation, huge integers, nesting), validateCall's
// messages, the AttentionInterface registry and its built-in "eager" (checked against
// a float64 computation written out in this file), and ThreadPool::parallelFor.
//
//===----------------------------------------------------------------------===//
#include "runtime/AttentionInterface.h"
#include "runtime/Reference.h"
#include "runtime/SafeTensors.h"
#include "runtime/ThreadPool.h"
#include "runtime/Variant.h"
#include "runtime/cpu/PackedRows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace attnc;

namespace {

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint32_t floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Evaluates `haystack` once (it may be a call with its own expectations).
#define EXPECT_CONTAINS(haystack, needle)                                          \
  do {                                                                             \
    std::string haystack_ = (haystack), needle_ = (needle);                        \
    EXPECT_TRUE(contains(haystack_, needle_))                                      \
        << "message: " << haystack_ << "\nexpected to contain: " << needle_;       \
  } while (0)

//===----------------------------------------------------------------------===//
// f16
//===----------------------------------------------------------------------===//

TEST(HalfTest, KnownValuesToHalf) {
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(0.5f), 0x3800);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF); // largest finite
  EXPECT_EQ(floatToHalf(0.333333343f), 0x3555);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
}

TEST(HalfTest, KnownValuesFromHalf) {
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(floatToBits(halfToFloat(0x8000)), 0x80000000u); // -0 keeps its sign
  EXPECT_EQ(halfToFloat(0x3555), std::ldexp(float(0x555), -12)); // 1365 / 4096
}

TEST(HalfTest, Subnormals) {
  // Half subnormals are k * 2^-24, k in [1, 1023].
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x0200), std::ldexp(1.0f, -15));
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(1023.0f, -24)), 0x03FF);
  EXPECT_EQ(floatToHalf(-std::ldexp(5.0f, -24)), 0x8005);
  // Rounding in the subnormal range: ties go to even.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // 0.5 ulp → 0 (even)
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp → 2 (even)
  EXPECT_EQ(floatToHalf(std::ldexp(5.0f, -25)), 0x0002);  // 2.5 ulp → 2 (even)
  EXPECT_EQ(floatToHalf(std::ldexp(1.5f, -25)), 0x0001);  // 0.75 ulp → 1
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -26)), 0x0000);  // 0.25 ulp → 0
  EXPECT_EQ(floatToHalf(-std::ldexp(1.0f, -30)), 0x8000); // underflow keeps sign
  // The largest subnormal plus half an ulp rounds up into the smallest normal.
  EXPECT_EQ(floatToHalf(std::ldexp(2047.0f, -25)), 0x0400);
  // A float subnormal is far below half's range.
  EXPECT_EQ(floatToHalf(bitsToFloat(0x00000001)), 0x0000);
  EXPECT_EQ(floatToHalf(bitsToFloat(0x80400000)), 0x8000);
}

TEST(HalfTest, RoundToNearestEven) {
  const float ulp = std::ldexp(1.0f, -10); // ulp of half at 1.0
  EXPECT_EQ(floatToHalf(1.0f + ulp / 2), 0x3C00);           // tie → even (down)
  EXPECT_EQ(floatToHalf(1.0f + 3 * ulp / 2), 0x3C02);       // tie → even (up)
  EXPECT_EQ(floatToHalf(1.0f + ulp / 2 + ulp / 1024), 0x3C01); // above the tie
  EXPECT_EQ(floatToHalf(1.0f + ulp / 2 - ulp / 1024), 0x3C00); // below the tie
  EXPECT_EQ(floatToHalf(-(1.0f + 3 * ulp / 2)), 0xBC02);
  // Rounding up carries into the exponent: (2 - ulp/2) → 2.0.
  EXPECT_EQ(floatToHalf(2.0f - ulp / 4), 0x4000);
}

TEST(HalfTest, InfinityOverflowAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToHalf(inf), 0x7C00);
  EXPECT_EQ(floatToHalf(-inf), 0xFC00);
  EXPECT_EQ(halfToFloat(0x7C00), inf);
  EXPECT_EQ(halfToFloat(0xFC00), -inf);
  EXPECT_EQ(floatToHalf(65519.0f), 0x7BFF); // below the tie with 65536
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00); // the tie rounds to even: inf
  EXPECT_EQ(floatToHalf(1e6f), 0x7C00);
  EXPECT_EQ(floatToHalf(-1e30f), 0xFC00);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::max()), 0x7C00);

  uint16_t nan = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0) << "NaN must not become inf";
  // A signalling NaN whose payload lives only in the low float bits stays NaN.
  uint16_t snan = floatToHalf(bitsToFloat(0x7F800001));
  EXPECT_EQ(snan & 0x7C00, 0x7C00);
  EXPECT_NE(snan & 0x03FF, 0);
  EXPECT_EQ(floatToHalf(bitsToFloat(0xFFC00000)) & 0x8000, 0x8000);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7C01)));
  EXPECT_TRUE(std::isnan(halfToFloat(0xFFFF)));
}

TEST(HalfTest, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(uint16_t(h));
    bool isNaN = (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0;
    if (isNaN) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      uint16_t back = floatToHalf(f);
      ASSERT_TRUE((back & 0x7C00) == 0x7C00 && (back & 0x03FF) != 0) << std::hex << h;
      continue;
    }
    ASSERT_EQ(floatToHalf(f), h) << "half 0x" << std::hex << h << " → " << f;
  }
}

TEST(HalfTest, MatchesExactRoundingOnRandomFloats) {
  // Exact rounding via the neighbouring representable halves, computed in double.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mant(-1.0f, 1.0f);
  std::uniform_int_distribution<int> expo(-27, 16);
  for (int i = 0; i < 20000; ++i) {
    float f = std::ldexp(mant(rng), expo(rng));
    uint16_t h = floatToHalf(f);
    double got = halfToFloat(h);
    ASSERT_FALSE(std::isnan(got));
    if (std::isinf(got))
      ASSERT_GE(std::fabs(double(f)), 65504.0 + 16.0) << f; // 65520 and beyond
    // The rounding error is at most half an ulp of the result's binade.
    double a = std::fabs(double(f));
    int e = a >= std::ldexp(1.0, -14) ? std::ilogb(a) : -14;
    double halfUlp = std::ldexp(1.0, e - 10) / 2;
    if (!std::isinf(got))
      ASSERT_LE(std::fabs(got - double(f)), halfUlp) << f;
    if (std::fabs(got - double(f)) == halfUlp && !std::isinf(got))
      ASSERT_EQ(h & 1, 0) << "tie not rounded to even for " << f;
  }
}

//===----------------------------------------------------------------------===//
// bf16
//===----------------------------------------------------------------------===//

TEST(BFloat16Test, KnownValues) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3F80);
  EXPECT_EQ(floatToBf16(-2.0f), 0xC000);
  EXPECT_EQ(floatToBf16(0.0f), 0x0000);
  EXPECT_EQ(floatToBf16(-0.0f), 0x8000);
  EXPECT_EQ(floatToBf16(3.140625f), 0x4049);
  EXPECT_EQ(bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0x4049), 3.140625f);
  EXPECT_EQ(bf16ToFloat(0x7F7F), bitsToFloat(0x7F7F0000)); // largest finite
  EXPECT_EQ(floatToBits(bf16ToFloat(0x8000)), 0x80000000u);
}

TEST(BFloat16Test, RoundToNearestEven) {
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3F808000)), 0x3F80); // tie → even (down)
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3F818000)), 0x3F82); // tie → even (up)
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3F808001)), 0x3F81); // above the tie
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3F807FFF)), 0x3F80); // below the tie
  EXPECT_EQ(floatToBf16(bitsToFloat(0xBF818000)), 0xBF82);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3FFFFFFF)), 0x4000); // carries into the exponent
}

TEST(BFloat16Test, InfinityOverflowAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToBf16(inf), 0x7F80);
  EXPECT_EQ(floatToBf16(-inf), 0xFF80);
  EXPECT_EQ(bf16ToFloat(0x7F80), inf);
  EXPECT_EQ(bf16ToFloat(0xFF80), -inf);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7F80); // rounds up
  EXPECT_EQ(floatToBf16(bitsToFloat(0x7F7F7FFF)), 0x7F7F);
  // NaNs stay NaN, including ones whose payload is only in the low 16 bits
  // (plain truncation-with-rounding would turn 0x7F800001 into inf).
  for (uint32_t bits : {0x7FC00000u, 0x7F800001u, 0x7FFFFFFFu, 0xFF800001u, 0x7F80FFFFu}) {
    uint16_t b = floatToBf16(bitsToFloat(bits));
    EXPECT_TRUE(std::isnan(bf16ToFloat(b))) << std::hex << bits << " → " << b;
    EXPECT_EQ(b & 0x8000, (bits >> 16) & 0x8000) << std::hex << bits;
  }
  EXPECT_TRUE(std::isnan(bf16ToFloat(0x7FC0)));
  EXPECT_TRUE(std::isnan(bf16ToFloat(0x7F81)));
}

TEST(BFloat16Test, Subnormals) {
  // bf16 has float's exponent range, so float subnormals keep their top bits.
  EXPECT_EQ(floatToBf16(bitsToFloat(0x00010000)), 0x0001);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x00008000)), 0x0000); // tie → even
  EXPECT_EQ(floatToBf16(bitsToFloat(0x00018000)), 0x0002); // tie → even
  EXPECT_EQ(floatToBf16(bitsToFloat(0x00008001)), 0x0001);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x807F8000)), 0x8080); // into the smallest normal
  EXPECT_EQ(bf16ToFloat(0x0001), bitsToFloat(0x00010000));
  EXPECT_EQ(bf16ToFloat(0x807F), bitsToFloat(0x807F0000));
}

TEST(BFloat16Test, EveryBf16RoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = bf16ToFloat(uint16_t(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16ToFloat(floatToBf16(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(floatToBf16(f), h) << "bf16 0x" << std::hex << h;
  }
}

// The packers' row conversions (runtime/cpu/PackedRows.h: vectorised, F16C where
// the processor has it) agree with the scalar conversions on every 16-bit value,
// contiguous and strided, and on f32 values around every rounding boundary.
TEST(PackedRowsTest, RowConversionsMatchTheScalarOnes) {
  for (DType dtype : {DType::F16, DType::BF16}) {
    auto toFloat = dtype == DType::F16 ? halfToFloat : bf16ToFloat;
    auto fromFloat = dtype == DType::F16 ? floatToHalf : floatToBf16;
    for (int64_t stride : {1, 3}) {
      const int64_t n = 0x10000;
      std::vector<uint16_t> bits(size_t(n * stride), 0xAAAA);
      for (int64_t i = 0; i < n; ++i)
        bits[size_t(i * stride)] = uint16_t(i);
      TensorView view{bits.data(), dtype, {n}, {stride}};
      std::vector<float> row(static_cast<size_t>(n));
      readRow(view, 0, stride, n, row.data());
      for (int64_t i = 0; i < n; ++i) {
        float want = toFloat(uint16_t(i));
        if (std::isnan(want))
          ASSERT_TRUE(std::isnan(row[size_t(i)])) << std::hex << i;
        else
          ASSERT_EQ(std::memcmp(&row[size_t(i)], &want, 4), 0) << std::hex << i;
      }
      // Back: every value; the midpoint between it and the next (a tie, rounded to
      // even); and each of those nudged up and down by an f32 ulp.
      for (int kind = 0; kind < 6; ++kind) {
        std::vector<float> values(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
          float v = row[size_t(i)];
          if (kind >= 3 && i + 1 < n && std::isfinite(v) && std::isfinite(row[size_t(i + 1)]))
            v = float((double(v) + double(row[size_t(i + 1)])) / 2); // exact in f32
          int nudge = kind % 3;
          values[size_t(i)] =
              nudge == 0 ? v
                         : std::nextafter(v, nudge == 1 ? std::numeric_limits<float>::infinity()
                                                        : -std::numeric_limits<float>::infinity());
        }
        std::fill(bits.begin(), bits.end(), 0xAAAA);
        writeRow(view, 0, stride, n, values.data());
        for (int64_t i = 0; i < n; ++i) {
          uint16_t got = bits[size_t(i * stride)], want = fromFloat(values[size_t(i)]);
          if (std::isnan(values[size_t(i)]))
            ASSERT_TRUE(std::isnan(toFloat(got))) << std::hex << i;
          else
            ASSERT_EQ(got, want) << dtypeName(dtype) << " " << values[size_t(i)];
          if (stride > 1)
            ASSERT_EQ(bits[size_t(i * stride + 1)], 0xAAAA) << "wrote between elements";
        }
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Tensors and views
//===----------------------------------------------------------------------===//

TEST(TensorTest, DTypeNamesAndSizes) {
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::F16), 2u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64}) {
    DType parsed = DType::I64;
    ASSERT_TRUE(parseDType(dtypeName(d), parsed)) << dtypeName(d);
    EXPECT_EQ(parsed, d);
  }
  DType unchanged = DType::I32;
  EXPECT_FALSE(parseDType("f64", unchanged));
  EXPECT_FALSE(parseDType("F32", unchanged)); // spec names are lower case
  EXPECT_EQ(unchanged, DType::I32);
}

TEST(TensorTest, ContiguousStridesAndShapeString) {
  EXPECT_EQ(contiguousStrides({2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(contiguousStrides({5}), (std::vector<int64_t>{1}));
  EXPECT_TRUE(contiguousStrides({}).empty());
  // An empty tensor's strides may not fit in int64: they saturate (no overflow).
  EXPECT_EQ(contiguousStrides({0, 3037000500, 3037000500}),
            (std::vector<int64_t>{INT64_MAX, 3037000500, 1}));
  Tensor t(DType::F16, {2, 8, 100, 64});
  EXPECT_EQ(t.view().shapeString(), "[2, 8, 100, 64]");
  EXPECT_EQ(t.numel(), 2 * 8 * 100 * 64);
  EXPECT_EQ(t.byteSize(), size_t(2 * 8 * 100 * 64 * 2));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  Tensor scalar(DType::I64, {});
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.view().shapeString(), "[]");
}

TEST(TensorTest, NewTensorsAreZeroAndPoisonIsAllOnes) {
  Tensor t(DType::F32, {3, 5});
  for (int64_t i = 0; i < t.numel(); ++i)
    ASSERT_EQ(t.as<float>()[i], 0.0f);
  t.poison();
  for (int64_t i = 0; i < t.numel(); ++i)
    ASSERT_TRUE(std::isnan(t.as<float>()[i]));
  Tensor ints(DType::I32, {4});
  ints.poison();
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_EQ(ints.as<int32_t>()[i], -1);
}

TEST(TensorTest, GetSetThroughTransposedView) {
  // Storage [3, 4] row-major; the view is its transpose [4, 3].
  Tensor t(DType::F32, {3, 4});
  for (int i = 0; i < 12; ++i)
    t.as<float>()[i] = float(i);
  TensorView tr{t.data(), DType::F32, {4, 3}, {1, 4}};
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 3; ++c) {
      int64_t idx[2] = {r, c};
      EXPECT_EQ(tr.get(idx), double(c * 4 + r));
      EXPECT_EQ(tr.offsetOf(idx), c * 4 + r);
    }
  int64_t idx[2] = {3, 1};
  tr.set(idx, -7.5);
  EXPECT_EQ(t.as<float>()[1 * 4 + 3], -7.5f);
  EXPECT_EQ(tr.numel(), 12);
}

TEST(TensorTest, GetSetThroughOffsetStridedSubview) {
  // A [2, 3] window at (1, 2) with column step 2 inside [4, 10] storage, for every
  // dtype; elements outside the window must stay untouched.
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64}) {
    SCOPED_TRACE(dtypeName(d));
    Tensor t(d, {4, 10});
    std::memset(t.data(), 0x5A, t.byteSize());
    size_t elt = dtypeSize(d);
    TensorView sub{static_cast<char *>(t.data()) + (1 * 10 + 2) * elt, d, {2, 3}, {10, 2}};
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 3; ++c) {
        int64_t idx[2] = {r, c};
        sub.set(idx, double(r * 3 + c) - 2.0);
      }
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 3; ++c) {
        int64_t idx[2] = {r, c};
        EXPECT_EQ(sub.get(idx), double(r * 3 + c) - 2.0);
        int64_t full[2] = {1 + r, 2 + 2 * c};
        EXPECT_EQ(t.view().get(full), double(r * 3 + c) - 2.0);
      }
    const unsigned char *bytes = static_cast<const unsigned char *>(t.data());
    for (int64_t e = 0; e < 40; ++e) {
      int64_t r = e / 10, c = e % 10;
      bool inside = r >= 1 && r <= 2 && c >= 2 && c <= 6 && (c - 2) % 2 == 0;
      if (inside)
        continue;
      for (size_t byte = 0; byte < elt; ++byte)
        ASSERT_EQ(bytes[size_t(e) * elt + byte], 0x5A) << "element " << e << " was written";
    }
  }
}

TEST(TensorTest, SetRoundsAndTruncates) {
  Tensor h(DType::F16, {1}), b(DType::BF16, {1}), i32(DType::I32, {1}), i64(DType::I64, {1});
  int64_t zero[1] = {0};
  h.view().set(zero, 1.0 + std::ldexp(1.0, -11)); // tie → 1.0
  EXPECT_EQ(h.as<uint16_t>()[0], 0x3C00);
  h.view().set(zero, 1.0 + 3 * std::ldexp(1.0, -11));
  EXPECT_EQ(h.as<uint16_t>()[0], 0x3C02);
  b.view().set(zero, 3.14159);
  EXPECT_EQ(b.as<uint16_t>()[0], 0x4049);
  i32.view().set(zero, -2.75);
  EXPECT_EQ(i32.as<int32_t>()[0], -2);
  i64.view().set(zero, 5e12 + 0.9);
  EXPECT_EQ(i64.as<int64_t>()[0], int64_t(5000000000000));
  i64.as<int64_t>()[0] = -123456789012345;
  EXPECT_EQ(i64.view().get(zero), -123456789012345.0);
}

TEST(TensorTest, ZeroStrideBroadcastView) {
  Tensor t(DType::F32, {3});
  t.as<float>()[0] = 1;
  t.as<float>()[1] = 2;
  t.as<float>()[2] = 3;
  TensorView bc{t.data(), DType::F32, {4, 3}, {0, 1}};
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 3; ++c) {
      int64_t idx[2] = {r, c};
      EXPECT_EQ(bc.get(idx), double(c + 1));
    }
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s += char((v >> (8 * i)) & 0xFF);
  return s;
}

/// A file with `header` as its JSON header and `dataBytes` zero bytes of data.
std::string fileWith(const std::string &header, size_t dataBytes) {
  return le64(header.size()) + header + std::string(dataBytes, '\0');
}

Status parseError(const std::string &bytes) {
  Result<TensorMap> r = parseSafeTensors(bytes, "input.safetensors");
  if (r)
    return Status::ok();
  return r.status();
}

void fillPattern(Tensor &t, double base) {
  TensorView v = t.view();
  std::vector<int64_t> idx(v.shape.size(), 0);
  for (int64_t n = 0; n < t.numel(); ++n) {
    v.set(idx.data(), base + double(n) * 0.25 - double(n % 3));
    for (int64_t d = int64_t(idx.size()) - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < v.shape[size_t(d)])
        break;
      idx[size_t(d)] = 0;
    }
  }
}

/// Compares two views element by element (same shape required).
::testing::AssertionResult sameElements(const TensorView &a, const TensorView &b) {
  if (a.dtype != b.dtype)
    return ::testing::AssertionFailure() << "dtype " << dtypeName(a.dtype) << " vs "
                                         << dtypeName(b.dtype);
  if (a.shape != b.shape)
    return ::testing::AssertionFailure() << "shape " << a.shapeString() << " vs "
                                         << b.shapeString();
  std::vector<int64_t> idx(a.shape.size(), 0);
  for (int64_t n = 0; n < a.numel(); ++n) {
    double x = a.get(idx.data()), y = b.get(idx.data());
    if (!(x == y || (std::isnan(x) && std::isnan(y))))
      return ::testing::AssertionFailure() << "element " << n << ": " << x << " vs " << y;
    for (int64_t d = int64_t(idx.size()) - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < a.shape[size_t(d)])
        break;
      idx[size_t(d)] = 0;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(SafeTensorsTest, RoundTripEveryDtypeStridedAndScalar) {
  Tensor f32(DType::F32, {2, 3}), f16(DType::F16, {5}), bf16(DType::BF16, {2, 2, 2}),
      i32(DType::I32, {3, 1}), i64(DType::I64, {4});
  fillPattern(f32, 0.5);
  fillPattern(f16, -3.0);
  fillPattern(bf16, 10.0);
  fillPattern(i32, -5.0);
  fillPattern(i64, 100.0);
  i64.as<int64_t>()[3] = int64_t(1) << 60; // high bits must survive
  i64.as<int64_t>()[2] = -(int64_t(1) << 53) - 1;
  f32.as<float>()[5] = std::numeric_limits<float>::infinity();
  // A transposed view of [3, 4] f32 storage, written as a contiguous [4, 3] tensor.
  Tensor base(DType::F32, {3, 4});
  fillPattern(base, 1.0);
  TensorView transposed{base.data(), DType::F32, {4, 3}, {1, 4}};
  // 0-d tensors (scalars), as the command line stores them.
  Tensor scalar(DType::I32, {}), scalarF(DType::F32, {});
  scalar.as<int32_t>()[0] = -42;
  scalarF.as<float>()[0] = 0.125f;
  Tensor empty(DType::F32, {0, 3});

  std::map<std::string, TensorView> in{
      {"f32", f32.view()},     {"f16", f16.view()},         {"bf16", bf16.view()},
      {"i32", i32.view()},     {"i64", i64.view()},         {"transposed", transposed},
      {"offset", scalar.view()}, {"scale", scalarF.view()}, {"empty", empty.view()}};
  std::string bytes = serializeSafeTensors(in);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | uint8_t(bytes[size_t(i)]);
  EXPECT_EQ((8 + headerLen) % 8, 0u) << "data should start 8-byte aligned";
  EXPECT_EQ(bytes[8], '{');

  Result<TensorMap> out = parseSafeTensors(bytes, "roundtrip");
  ASSERT_TRUE(out) << out.status().message();
  ASSERT_EQ(out->size(), in.size());
  for (const auto &[name, view] : in) {
    SCOPED_TRACE(name);
    auto it = out->find(name);
    ASSERT_NE(it, out->end());
    EXPECT_EQ(it->second.dtype(), view.dtype);
    EXPECT_EQ(it->second.shape(), view.shape);
    EXPECT_TRUE(sameElements(it->second.view(), view));
  }
  // Exact bits for the things a double comparison could hide.
  EXPECT_EQ(out->at("i64").as<int64_t>()[3], int64_t(1) << 60);
  EXPECT_EQ(out->at("i64").as<int64_t>()[2], -(int64_t(1) << 53) - 1);
  EXPECT_EQ(std::memcmp(out->at("f16").data(), f16.data(), f16.byteSize()), 0);
  EXPECT_EQ(std::memcmp(out->at("bf16").data(), bf16.data(), bf16.byteSize()), 0);
  EXPECT_TRUE(out->at("offset").shape().empty());
  EXPECT_EQ(out->at("offset").as<int32_t>()[0], -42);
  EXPECT_EQ(out->at("scale").as<float>()[0], 0.125f);
  // The transposed view is stored in its logical (row-major) order.
  EXPECT_EQ(out->at("transposed").as<float>()[1], base.as<float>()[4]);
}

TEST(SafeTensorsTest, WriteAndReadFile) {
  Tensor t(DType::BF16, {2, 3});
  fillPattern(t, 2.0);
  std::string path = ::testing::TempDir() + "/attnc_runtime_test.safetensors";
  ASSERT_TRUE(writeSafeTensors(path, {{"x", t.view()}}));
  Result<TensorMap> r = readSafeTensors(path);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_TRUE(sameElements(r->at("x").view(), t.view()));
  std::remove(path.c_str());

  Result<TensorMap> missing = readSafeTensors(path + ".does-not-exist");
  ASSERT_FALSE(missing);
  EXPECT_CONTAINS(missing.status().message(), "does-not-exist");
}

TEST(SafeTensorsTest, MetadataIsIgnoredAndEmptyHeaderIsValid) {
  std::string header =
      R"({"__metadata__":{"format":"pt"},"x":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})";
  std::string bytes = le64(header.size()) + header;
  int32_t values[2] = {7, -9};
  bytes.append(reinterpret_cast<const char *>(values), 8);
  Result<TensorMap> r = parseSafeTensors(bytes, "meta");
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->at("x").as<int32_t>()[0], 7);
  EXPECT_EQ(r->at("x").as<int32_t>()[1], -9);

  Result<TensorMap> empty = parseSafeTensors(fileWith("{}", 0), "empty");
  ASSERT_TRUE(empty) << empty.status().message();
  EXPECT_TRUE(empty->empty());
}

TEST(SafeTensorsTest, ShortFile) {
  for (std::string bytes : {std::string(), std::string("abc"), std::string(7, '\0')}) {
    Status s = parseError(bytes);
    ASSERT_FALSE(s) << "accepted " << bytes.size() << " bytes";
    EXPECT_CONTAINS(s.message(), "input.safetensors");
    EXPECT_CONTAINS(s.message(), "8-byte header length");
  }
}

TEST(SafeTensorsTest, HeaderLengthBeyondFile) {
  Status s = parseError(le64(100) + "{}");
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "input.safetensors");
  EXPECT_CONTAINS(s.message(), "header length 100 exceeds the file size");
  // A length so large that 8 + length overflows must still be rejected.
  Status huge = parseError(le64(~uint64_t(0)) + "{}");
  ASSERT_FALSE(huge);
  EXPECT_CONTAINS(huge.message(), "exceeds the file size");
}

TEST(SafeTensorsTest, HeaderNotJson) {
  for (std::string header : {std::string("{not json"), std::string("[1, 2]"),
                             std::string("\"text\""), std::string("")}) {
    Status s = parseError(fileWith(header, 4));
    ASSERT_FALSE(s) << header;
    EXPECT_CONTAINS(s.message(), "input.safetensors");
    EXPECT_CONTAINS(s.message(), "not a JSON object");
  }
}

TEST(SafeTensorsTest, UnknownDtype) {
  Status s = parseError(
      fileWith(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8));
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "input.safetensors");
  EXPECT_CONTAINS(s.message(), "tensor 'w'");
  EXPECT_CONTAINS(s.message(), "F64");
  Status lower = parseError(
      fileWith(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4));
  ASSERT_FALSE(lower) << "file dtypes are upper case";
  EXPECT_CONTAINS(lower.message(), "dtype");
}

TEST(SafeTensorsTest, DataOffsetsOutsideFile) {
  Status s = parseError(
      fileWith(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 12));
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "input.safetensors");
  EXPECT_CONTAINS(s.message(), "tensor 'w'");
  EXPECT_CONTAINS(s.message(), "data_offsets outside the file");
  Status reversed = parseError(
      fileWith(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 16));
  ASSERT_FALSE(reversed);
  EXPECT_CONTAINS(reversed.message(), "data_offsets");
  Status huge = parseError(fileWith(
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})",
      16));
  ASSERT_FALSE(huge);
  EXPECT_CONTAINS(huge.message(), "data_offsets");
}

TEST(SafeTensorsTest, SizeMismatch) {
  Status s = parseError(
      fileWith(R"({"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,10]}})", 10));
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "input.safetensors");
  EXPECT_CONTAINS(s.message(), "tensor 'w'");
  EXPECT_CONTAINS(s.message(), "10 bytes");
  EXPECT_CONTAINS(s.message(), "12");
}

TEST(SafeTensorsTest, MalformedEntries) {
  struct Case {
    const char *header;
    const char *message;
  } cases[] = {
      {R"({"w":5})", "tensor 'w'"},
      {R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "no dtype"},
      {R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "no shape"},
      {R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[1]}})", "invalid data_offsets"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "invalid data_offsets"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", "invalid data_offsets"},
      {R"({"w":{"dtype":"F32","shape":[1048576,1048576,1048576],"data_offsets":[0,4]}})",
       "tensor 'w'"},
  };
  for (const Case &c : cases) {
    Status s = parseError(fileWith(c.header, 16));
    ASSERT_FALSE(s) << c.header;
    EXPECT_CONTAINS(s.message(), "input.safetensors");
    EXPECT_CONTAINS(s.message(), c.message);
  }
}

TEST(SafeTensorsTest, HeaderWithEscapesAndMetadata) {
  // Escapes in names are decoded (\uXXXX and surrogate pairs to UTF-8); __metadata__
  // may hold any JSON; whitespace may appear between tokens.
  std::string header =
      "{ \"__metadata__\" : {\"format\":\"pt\",\"note\":\"tab\\there \\u00e9\","
      "\"nested\":[1,-2.5e3,true,false,null,{\"k\":[]}]},\n"
      "\t\"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\" : "
      "{\"dtype\":\"I32\",\"shape\":[ 2 ],\"data_offsets\":[0,8]}\r\n}";
  std::string bytes = le64(header.size()) + header;
  int32_t values[2] = {3, -4};
  bytes.append(reinterpret_cast<const char *>(values), 8);
  Result<TensorMap> r = parseSafeTensors(bytes, "escapes");
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  const std::string name = "a\"b\\c/d\n\xC3\xA9\xF0\x9F\x98\x80";
  ASSERT_EQ(r->count(name), 1u) << "decoded name: " << r->begin()->first;
  EXPECT_EQ(r->at(name).as<int32_t>()[1], -4);

  // Error messages show the decoded name.
  Status s = parseError(
      fileWith(R"({"w\u00e9":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8));
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "tensor 'w\xC3\xA9'");
}

TEST(SafeTensorsTest, DuplicateKeysRejected) {
  struct Case {
    const char *header;
    const char *key;
  } cases[] = {
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
       R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "w"},
      // The same key spelled differently is still the same key.
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
       R"("\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "w"},
      {R"({"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}})", "dtype"},
      {R"({"__metadata__":{"a":1,"a":2}})", "a"},
  };
  for (const Case &c : cases) {
    Status s = parseError(fileWith(c.header, 16));
    ASSERT_FALSE(s) << c.header;
    EXPECT_CONTAINS(s.message(), "input.safetensors");
    EXPECT_CONTAINS(s.message(), "the header has duplicate key '" + std::string(c.key) + "'");
  }
}

TEST(SafeTensorsTest, TruncatedOrGarbageHeaderRejected) {
  // Every proper prefix of a valid header is rejected.
  std::string good = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  ASSERT_TRUE(parseError(fileWith(good, 4)));
  for (size_t n = 0; n < good.size(); ++n) {
    Status s = parseError(fileWith(good.substr(0, n), 4));
    ASSERT_FALSE(s) << "accepted prefix " << good.substr(0, n);
    EXPECT_EQ(s.message(), "input.safetensors: the header is not a JSON object");
  }
  for (std::string header : {
           std::string("{} x"), std::string("{}}"), std::string("{},"),
           std::string("{\"w\":1,}"), std::string("{,}"), std::string("{'w':1}"),
           std::string("{w:1}"), std::string("{\"w\" 1}"), std::string("// c\n{}"),
           std::string("{\"w\":[01]}"), std::string("{\"w\":[-]}"), std::string("{\"w\":[1.]}"),
           std::string("{\"w\":[.5]}"), std::string("{\"w\":[1e]}"), std::string("{\"w\":NaN}"),
           std::string("{\"w\":[1e400]}"), std::string("{\"w\":tru}"), std::string("{\"w\":True}"),
           std::string("{\"a\tb\":1}"), std::string("{\"a\nb\":1}"), std::string("{\"\\x\":1}"),
           std::string("{\"\\u12G4\":1}"), std::string("{\"\\ud800\":1}"),
           std::string("{\"\\udc00\":1}"), std::string("{\"\\ud800\\u0041\":1}"),
           std::string("{\"\xC3\":1}"), std::string("{\"\xC0\xAF\":1}"),
           std::string("{\"\xED\xA0\x80\":1}"), std::string("{\"\xFF\":1}"),
           std::string("\xEF\xBB{}"), std::string("{}\x01"), std::string("{\"w\":1} \xC2\xA0")}) {
    Status s = parseError(fileWith(header, 4));
    ASSERT_FALSE(s) << header;
    EXPECT_EQ(s.message(), "input.safetensors: the header is not a JSON object") << header;
  }
}

TEST(SafeTensorsTest, NulPaddingAndByteOrderMarkAccepted) {
  // Kept from the JSON reader used before: some writers pad the header with NULs
  // rather than spaces (a NUL ends the header text), and a leading UTF-8 byte order
  // mark is skipped.
  std::string entry = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  for (std::string header : {entry + std::string(3, '\0'), entry + " \n" + std::string(1, '\0'),
                             std::string("\xEF\xBB\xBF") + entry}) {
    Result<TensorMap> r = parseSafeTensors(fileWith(header, 4), "padded");
    ASSERT_TRUE(r) << r.status().message();
    EXPECT_EQ(r->count("w"), 1u);
  }
  // A NUL inside the JSON text still leaves it incomplete.
  Status s = parseError(fileWith(std::string("{\"w\0\":1}", 8), 4));
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "not a JSON object");
}

TEST(SafeTensorsTest, VeryLargeIntegersRejected) {
  struct Case {
    const char *header;
    const char *message;
  } cases[] = {
      // 2^64 does not fit in 64 bits; 2^64 - 1 and 2^40 + 1 do but are too large a dim.
      {R"({"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}})",
       "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[99999999999999999999999999999],"data_offsets":[0,4]}})",
       "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})",
       "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[1099511627777],"data_offsets":[0,4]}})",
       "invalid shape"},
      // Integers written as floats are not integers here.
      {R"({"w":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}})", "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[-0],"data_offsets":[0,4]}})", "invalid shape"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551620]}})",
       "invalid data_offsets"},
      {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}})", "invalid data_offsets"},
  };
  for (const Case &c : cases) {
    Status s = parseError(fileWith(c.header, 16));
    ASSERT_FALSE(s) << c.header;
    EXPECT_CONTAINS(s.message(), "tensor 'w'");
    EXPECT_CONTAINS(s.message(), c.message);
  }
  // 2^40 itself is a valid dim (of an empty tensor here).
  Result<TensorMap> r = parseSafeTensors(
      fileWith(R"({"w":{"dtype":"F32","shape":[0,1099511627776],"data_offsets":[0,0]}})", 0),
      "edge");
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(r->at("w").shape(), (std::vector<int64_t>{0, int64_t(1) << 40}));
}

TEST(SafeTensorsTest, DeepNestingRejected) {
  // The whole header may nest 64 arrays/objects deep (the header object counts);
  // one more is rejected, and absurd depths are rejected without exhausting the stack.
  auto nested = [](size_t depth) {
    return R"({"__metadata__":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') +
           "}";
  };
  Result<TensorMap> ok = parseSafeTensors(fileWith(nested(64), 0), "deep");
  ASSERT_TRUE(ok) << ok.status().message();
  for (size_t depth : {size_t(65), size_t(1000), size_t(1000000)}) {
    Status s = parseError(fileWith(nested(depth), 0));
    ASSERT_FALSE(s) << depth;
    EXPECT_CONTAINS(s.message(), "not a JSON object");
  }
  Status unclosed = parseError(fileWith("{\"w\":" + std::string(1000000, '['), 0));
  ASSERT_FALSE(unclosed);
  EXPECT_CONTAINS(unclosed.message(), "not a JSON object");
}

TEST(SafeTensorsTest, WriteReadRoundTripOfNamesAndHeader) {
  // The header is compact JSON, each entry's keys in sorted order, padded with spaces
  // so the data starts 8-byte aligned.
  Tensor x(DType::F32, {2});
  std::string bytes = serializeSafeTensors({{"x", x.view()}});
  std::string expected = R"({"x":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})";
  expected += std::string((8 - (8 + expected.size()) % 8) % 8, ' ');
  ASSERT_EQ(bytes.size(), 8 + expected.size() + 8);
  EXPECT_EQ(bytes.substr(0, 8), le64(expected.size()));
  EXPECT_EQ(bytes.substr(8, expected.size()), expected);

  // Names that need escaping survive write -> read, through a file too.
  std::vector<std::string> names = {"",
                                    "plain.name_0",
                                    "quote\"backslash\\slash/",
                                    std::string("ctl\b\f\n\r\t\x01\x1f\x7f", 11),
                                    std::string("nul\0inside", 10),
                                    "utf8 \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
                                    "__metadata__x"};
  std::vector<Tensor> tensors;
  std::map<std::string, TensorView> in;
  for (size_t i = 0; i < names.size(); ++i) {
    tensors.emplace_back(DType::I64, std::vector<int64_t>{int64_t(i % 3)});
    for (int64_t k = 0; k < tensors.back().numel(); ++k)
      tensors.back().as<int64_t>()[k] = int64_t(i * 100 + size_t(k));
    in[names[i]] = tensors.back().view();
  }
  std::string written = serializeSafeTensors(in);
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | uint8_t(written[size_t(i)]);
  EXPECT_EQ((8 + headerLen) % 8, 0u);
  EXPECT_EQ(written.substr(8, headerLen).find('\0'), std::string::npos)
      << "control characters must be escaped";
  std::string path = ::testing::TempDir() + "/attnc_runtime_names.safetensors";
  ASSERT_TRUE(writeSafeTensors(path, in));
  Result<TensorMap> out = readSafeTensors(path);
  std::remove(path.c_str());
  ASSERT_TRUE(out) << out.status().message();
  ASSERT_EQ(out->size(), in.size());
  for (const auto &[name, view] : in) {
    auto it = out->find(name);
    ASSERT_NE(it, out->end()) << "lost name " << name;
    EXPECT_TRUE(sameElements(it->second.view(), view)) << name;
  }
  // Writing what was read gives the same bytes.
  std::map<std::string, TensorView> again;
  for (const auto &[name, tensor] : *out)
    again[name] = tensor.view();
  EXPECT_EQ(serializeSafeTensors(again), written);
}

//===----------------------------------------------------------------------===//
// validateCall
//===----------------------------------------------------------------------===//

/// A variant with GQA, head_dim != head_dim_v, two scalars and two buffers (one with
/// symbolic dims), and a call that satisfies it.
struct ValidationFixture : ::testing::Test {
  VariantDesc variant;
  Tensor q, k, v, out, lse, docs, bias;
  AttentionCall call;
  static constexpr int64_t B = 2, Q = 5, KV = 7, D = 4, DV = 3;

  void SetUp() override {
    variant.name = "checked";
    variant.headsQ = 4;
    variant.headsKV = 2;
    variant.headDim = D;
    variant.headDimV = DV;
    variant.dtype = DType::F16;
    variant.scalars = {{"offset", DType::I32}, {"temperature", DType::F32}};
    variant.buffers = {
        {"bias", DType::F32, {int64_t(SymDim::H), 9}},
        {"docs", DType::I64, {int64_t(SymDim::B), int64_t(SymDim::KV_LEN)}}};
    q = Tensor(DType::F16, {B, 4, Q, D});
    k = Tensor(DType::F16, {B, 2, KV, D});
    v = Tensor(DType::F16, {B, 2, KV, DV});
    out = Tensor(DType::F16, {B, 4, Q, DV});
    lse = Tensor(DType::F32, {B, 4, Q});
    docs = Tensor(DType::I64, {B, KV});
    bias = Tensor(DType::F32, {4, 9});
    call.q = q.view();
    call.k = k.view();
    call.v = v.view();
    call.out = out.view();
    call.lse = lse.view();
    ScalarValue off;
    off.type = DType::I32;
    off.i = 3;
    ScalarValue temp;
    temp.type = DType::F32;
    temp.f = 0.5;
    call.scalars = {{"offset", off}, {"temperature", temp}};
    call.buffers = {{"docs", docs.view()}, {"bias", bias.view()}};
  }

  std::string error() {
    Status s = validateCall(variant, call);
    EXPECT_FALSE(s) << "call was accepted";
    return s.message();
  }
};

TEST_F(ValidationFixture, ValidCallIsAccepted) {
  Status s = validateCall(variant, call);
  EXPECT_TRUE(s) << s.message();
  EXPECT_EQ(call.batch(), B);
  EXPECT_EQ(call.qLen(), Q);
  EXPECT_EQ(call.kvLen(), KV);
  EXPECT_EQ(resolveDim(int64_t(SymDim::KV_LEN), variant, call), KV);
  EXPECT_EQ(resolveDim(int64_t(SymDim::H_KV), variant, call), 2);
  EXPECT_EQ(resolveDim(17, variant, call), 17);
}

TEST_F(ValidationFixture, NonContiguousViewsAreAccepted) {
  // q stored as [B, Q, H, D] and viewed as [B, H, Q, D].
  Tensor storage(DType::F16, {B, Q, 4, D});
  call.q = TensorView{storage.data(), DType::F16, {B, 4, Q, D}, {Q * 4 * D, D, 4 * D, 1}};
  Status s = validateCall(variant, call);
  EXPECT_TRUE(s) << s.message();
}

TEST_F(ValidationFixture, MissingTensor) {
  for (TensorView AttentionCall::*member :
       {&AttentionCall::v, &AttentionCall::out, &AttentionCall::lse}) {
    SetUp();
    call.*member = TensorView();
    std::string name = member == &AttentionCall::v     ? "'v'"
                       : member == &AttentionCall::out ? "'out'"
                                                       : "'lse'";
    std::string msg = error();
    EXPECT_CONTAINS(msg, "missing tensor " + name);
  }
  SetUp();
  call.q = TensorView();
  EXPECT_CONTAINS(error(), "tensor 'q' must have 4 dimensions");
  SetUp();
  call.k = TensorView();
  EXPECT_CONTAINS(error(), "tensor 'k' must have 4 dimensions");
}

TEST_F(ValidationFixture, WrongDtype) {
  Tensor q32(DType::F32, {B, 4, Q, D});
  call.q = q32.view();
  EXPECT_CONTAINS(error(), "tensor 'q' must have dtype f16, got f32");
  SetUp();
  Tensor lse16(DType::F16, {B, 4, Q});
  call.lse = lse16.view();
  EXPECT_CONTAINS(error(), "tensor 'lse' must have dtype f32, got f16");
}

TEST_F(ValidationFixture, WrongShapeNamesExpectedAndActual) {
  Tensor k2(DType::F16, {B, 2, KV, D + 1});
  call.k = k2.view();
  EXPECT_CONTAINS(error(), "tensor 'k' must have shape [2, 2, 7, 4], got [2, 2, 7, 5]");
  SetUp();
  Tensor v2(DType::F16, {B, 2, KV + 1, DV});
  call.v = v2.view();
  EXPECT_CONTAINS(error(), "tensor 'v' must have shape [2, 2, 7, 3], got [2, 2, 8, 3]");
  SetUp();
  Tensor out2(DType::F16, {B, 4, Q, D}); // head_dim instead of head_dim_v
  call.out = out2.view();
  EXPECT_CONTAINS(error(), "tensor 'out' must have shape [2, 4, 5, 3], got [2, 4, 5, 4]");
  SetUp();
  Tensor q2(DType::F16, {B, 3, Q, D}); // head count disagrees with the variant
  call.q = q2.view();
  EXPECT_CONTAINS(error(), "tensor 'q' must have shape [2, 4, 5, 4], got [2, 3, 5, 4]");
  SetUp();
  Tensor k3(DType::F16, {B + 1, 2, KV, D}); // batch disagrees with q
  call.k = k3.view();
  EXPECT_CONTAINS(error(), "tensor 'k' must have shape [2, 2, 7, 4], got [3, 2, 7, 4]");
  SetUp();
  Tensor lse2(DType::F32, {B, 4, Q, 1});
  call.lse = lse2.view();
  EXPECT_CONTAINS(error(), "tensor 'lse' must have shape [2, 4, 5], got [2, 4, 5, 1]");
}

TEST_F(ValidationFixture, EmptyLengthsAreRejected) {
  Tensor q0(DType::F16, {B, 4, 0, D});
  call.q = q0.view();
  EXPECT_CONTAINS(error(), "at least 1");
}

TEST_F(ValidationFixture, BadStrides) {
  call.q.strides = {1, 2, 3};
  EXPECT_CONTAINS(error(), "tensor 'q'");
  SetUp();
  call.k.strides[2] = -4;
  EXPECT_CONTAINS(error(), "tensor 'k' has a negative stride");
}

TEST_F(ValidationFixture, MissingScalar) {
  call.scalars.erase("temperature");
  EXPECT_CONTAINS(error(), "missing scalar 'temperature' (f32)");
}

TEST_F(ValidationFixture, ExtraScalar) {
  ScalarValue extra;
  extra.type = DType::I64;
  call.scalars["window"] = extra;
  std::string msg = error();
  EXPECT_CONTAINS(msg, "unexpected scalar 'window'");
  EXPECT_CONTAINS(msg, "'checked'");
}

TEST_F(ValidationFixture, ScalarOfWrongType) {
  call.scalars["offset"].type = DType::I64;
  EXPECT_CONTAINS(error(), "scalar 'offset' must be i32, got i64");
  SetUp();
  call.scalars["temperature"].type = DType::I32;
  EXPECT_CONTAINS(error(), "scalar 'temperature' must be f32, got i32");
}

TEST_F(ValidationFixture, MissingBuffer) {
  call.buffers.erase("docs");
  EXPECT_CONTAINS(error(), "missing buffer 'docs'");
}

TEST_F(ValidationFixture, ExtraBuffer) {
  Tensor extra(DType::F32, {3});
  call.buffers["slopes"] = extra.view();
  std::string msg = error();
  EXPECT_CONTAINS(msg, "unexpected buffer 'slopes'");
  EXPECT_CONTAINS(msg, "'checked'");
}

TEST_F(ValidationFixture, BufferShapeWithSymbolicDims) {
  // docs is [B, KV_LEN] = [2, 7].
  Tensor wrong(DType::I64, {B, Q});
  call.buffers["docs"] = wrong.view();
  EXPECT_CONTAINS(error(), "tensor 'docs' must have shape [2, 7], got [2, 5]");
  SetUp();
  // bias is [H, 9] = [4, 9]; H_KV rows is wrong.
  Tensor wrongBias(DType::F32, {2, 9});
  call.buffers["bias"] = wrongBias.view();
  EXPECT_CONTAINS(error(), "tensor 'bias' must have shape [4, 9], got [2, 9]");
  SetUp();
  // The symbolic dims follow the call: a longer kv sequence needs a longer buffer.
  Tensor k2(DType::F16, {B, 2, KV + 3, D}), v2(DType::F16, {B, 2, KV + 3, DV});
  call.k = k2.view();
  call.v = v2.view();
  EXPECT_CONTAINS(error(), "tensor 'docs' must have shape [2, 10], got [2, 7]");
  Tensor docs2(DType::I64, {B, KV + 3});
  call.buffers["docs"] = docs2.view();
  Status s = validateCall(variant, call);
  EXPECT_TRUE(s) << s.message();
}

TEST_F(ValidationFixture, BufferOfWrongDtype) {
  Tensor docs32(DType::I32, {B, KV});
  call.buffers["docs"] = docs32.view();
  EXPECT_CONTAINS(error(), "tensor 'docs' must have dtype i64, got i32");
}

//===----------------------------------------------------------------------===//
// AttentionInterface and "eager"
//===----------------------------------------------------------------------===//

TEST(AttentionInterfaceTest, RegisterGetContainsKeys) {
  AttentionInterface registry;
  EXPECT_TRUE(registry.contains("eager"));
  EXPECT_FALSE(registry.contains("zeta"));
  int calls = 0;
  registry.registerFunction("zeta", [&](const AttentionCall &) {
    ++calls;
    return Status::ok();
  });
  registry.registerFunction("alpha", [](const AttentionCall &) {
    return Status::error("alpha ran");
  });
  registry.registerFunction("Mid_1", [](const AttentionCall &) { return Status::ok(); });
  EXPECT_TRUE(registry.contains("zeta"));
  EXPECT_TRUE(registry.contains("alpha"));
  EXPECT_EQ(registry.keys(),
            (std::vector<std::string>{"Mid_1", "alpha", "eager", "zeta"}));

  AttentionFunction zeta = registry.get("zeta");
  ASSERT_TRUE(bool(zeta));
  EXPECT_TRUE(zeta(AttentionCall()));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(registry["zeta"](AttentionCall()));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(registry["alpha"](AttentionCall()).message(), "alpha ran");
  EXPECT_FALSE(bool(registry.get("nope")));
  EXPECT_FALSE(registry.contains("nope"));

  // Re-registering replaces.
  registry.registerFunction("alpha", [](const AttentionCall &) {
    return Status::error("alpha replaced");
  });
  EXPECT_EQ(registry["alpha"](AttentionCall()).message(), "alpha replaced");
  EXPECT_EQ(registry.keys().size(), 4u);
}

TEST(AttentionInterfaceTest, UnknownNameListsRegisteredNames) {
  AttentionInterface registry;
  registry.registerFunction("sliding", [](const AttentionCall &) { return Status::ok(); });
  registry.registerFunction("causal", [](const AttentionCall &) { return Status::ok(); });
  AttentionFunction fn = registry["flash_v9"];
  ASSERT_TRUE(bool(fn)) << "operator[] must never return an empty function";
  Status s = fn(AttentionCall());
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "'flash_v9'");
  EXPECT_CONTAINS(s.message(), "causal, eager, sliding");
  EXPECT_FALSE(registry.contains("flash_v9")) << "lookup must not register";
}

TEST(AttentionInterfaceTest, OneNameDispatchesByTheTensorsDevice) {
  AttentionInterface registry;
  auto says = [](const char *what) {
    return [what](const AttentionCall &) { return Status::error(what); };
  };
  registry.registerFunction("softcap", says("cpu kernel"));
  AttentionCall host, gpu;
  gpu.q.device = Device::Cuda;
  // One implementation takes every call (it checks the devices itself).
  EXPECT_EQ(registry["softcap"](gpu).message(), "cpu kernel");
  registry.registerFunction("softcap", says("gpu kernel"), Device::Cuda);
  EXPECT_EQ(registry["softcap"](host).message(), "cpu kernel");
  EXPECT_EQ(registry["softcap"](gpu).message(), "gpu kernel");
  EXPECT_EQ(registry.devices("softcap"), (std::vector<Device>{Device::Cpu, Device::Cuda}));
  EXPECT_EQ(registry.keys(), (std::vector<std::string>{"eager", "softcap"}));
  // Re-registering a device replaces only that one.
  registry.registerFunction("softcap", says("gpu kernel v2"), Device::Cuda);
  EXPECT_EQ(registry["softcap"](gpu).message(), "gpu kernel v2");
  EXPECT_EQ(registry["softcap"](host).message(), "cpu kernel");
  registry.registerFunction("gpu_only", says("gpu only"), Device::Cuda);
  EXPECT_EQ(registry["gpu_only"](host).message(), "gpu only");
  EXPECT_TRUE(registry.devices("nope").empty());
}

TEST(AttentionInterfaceTest, BackwardPassesBelongToTheirForwardFunction) {
  AttentionInterface registry;
  auto backwardSays = [](const char *what) {
    return [what](const BackwardCall &) { return Status::error(what); };
  };
  auto ok = [](const AttentionCall &) { return Status::ok(); };
  // No forward function, no backward pass; "eager" has none.
  Status s = registry.registerBackward("causal", backwardSays("x"));
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "register its forward function first");
  EXPECT_FALSE(bool(registry.getBackward("causal")));
  EXPECT_FALSE(bool(registry.getBackward("eager")));

  registry.registerFunction("causal", ok);
  EXPECT_FALSE(registry.registerBackward("causal", backwardSays("x"), Device::Cuda));
  ASSERT_TRUE(registry.registerBackward("causal", backwardSays("cpu backward")));
  BackwardCall host, gpu;
  gpu.forward.q.device = Device::Cuda;
  EXPECT_EQ(registry.getBackward("causal")(host).message(), "cpu backward");
  // One backward pass takes every call, as one forward function does.
  EXPECT_EQ(registry.getBackward("causal")(gpu).message(), "cpu backward");
  registry.registerFunction("causal", ok, Device::Cuda);
  ASSERT_TRUE(registry.registerBackward("causal", backwardSays("gpu backward"), Device::Cuda));
  // With two, it dispatches on q's device...
  EXPECT_EQ(registry.getBackward("causal")(gpu).message(), "gpu backward");
  EXPECT_EQ(registry.getBackward("causal")(host).message(), "cpu backward");
  // ... and replacing the forward function of a device drops that device's backward
  // pass only.
  registry.registerFunction("causal", ok);
  EXPECT_EQ(registry.getBackward("causal")(host).message(), "gpu backward");
  registry.registerFunction("mixed", ok);
  registry.registerFunction("mixed", ok, Device::Cuda);
  ASSERT_TRUE(registry.registerBackward("mixed", backwardSays("cpu"), Device::Cpu));
  ASSERT_TRUE(registry.registerBackward("mixed", backwardSays("gpu"), Device::Cuda));
  registry.registerFunction("mixed", ok, Device::Cuda);
  EXPECT_EQ(registry.getBackward("mixed")(gpu).message(), "cpu");
  registry.registerFunction("causal", ok, Device::Cuda);
  EXPECT_FALSE(bool(registry.getBackward("causal")));
}

TEST(AttentionInterfaceTest, RegistriesAreIndependentAndGlobalHasEager) {
  AttentionInterface a, b;
  a.registerFunction("only_in_a", [](const AttentionCall &) { return Status::ok(); });
  EXPECT_TRUE(a.contains("only_in_a"));
  EXPECT_FALSE(b.contains("only_in_a"));
  EXPECT_TRUE(ALL_ATTENTION_FUNCTIONS.contains("eager"));
  EXPECT_TRUE(bool(ALL_ATTENTION_FUNCTIONS.get("eager")));
}

TEST(AttentionInterfaceTest, ConcurrentRegistrationAndLookup) {
  AttentionInterface registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&registry, t] {
      for (int i = 0; i < 200; ++i) {
        std::string name = "f" + std::to_string(t) + "_" + std::to_string(i);
        registry.registerFunction(name, [](const AttentionCall &) { return Status::ok(); });
        (void)registry.contains(name);
        (void)registry.keys();
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(registry.keys().size(), 4u * 200u + 1u);
}

/// Owns q/k/v/out/lse of one f32 call with deterministic values.
struct EagerCall {
  Tensor q, k, v, out, lse;
  AttentionCall call;
  EagerCall(int64_t B, int64_t H, int64_t HKV, int64_t Q, int64_t KV, int64_t D,
            int64_t DV, uint32_t seed) {
    q = Tensor(DType::F32, {B, H, Q, D});
    k = Tensor(DType::F32, {B, HKV, KV, D});
    v = Tensor(DType::F32, {B, HKV, KV, DV});
    out = Tensor(DType::F32, {B, H, Q, DV});
    lse = Tensor(DType::F32, {B, H, Q});
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    for (Tensor *t : {&q, &k, &v})
      for (int64_t i = 0; i < t->numel(); ++i)
        t->as<float>()[i] = dist(rng);
    out.poison();
    lse.poison();
    call.q = q.view();
    call.k = k.view();
    call.v = v.view();
    call.out = out.view();
    call.lse = lse.view();
  }

  /// Plain softmax attention in float64, straight from the definition; kv head of
  /// query head h is h / (H / HKV).
  void expected(std::vector<double> &outE, std::vector<double> &lseE) const {
    int64_t B = q.shape()[0], H = q.shape()[1], Q = q.shape()[2], D = q.shape()[3];
    int64_t HKV = k.shape()[1], KV = k.shape()[2], DV = v.shape()[3];
    const float *qp = q.as<float>(), *kp = k.as<float>(), *vp = v.as<float>();
    outE.assign(size_t(B * H * Q * DV), 0.0);
    lseE.assign(size_t(B * H * Q), 0.0);
    double scale = 1.0 / std::sqrt(double(D));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        int64_t g = h / (H / HKV);
        for (int64_t i = 0; i < Q; ++i) {
          std::vector<double> s(static_cast<size_t>(KV));
          for (int64_t j = 0; j < KV; ++j) {
            double dot = 0;
            for (int64_t d = 0; d < D; ++d)
              dot += double(qp[((b * H + h) * Q + i) * D + d]) *
                     double(kp[((b * HKV + g) * KV + j) * D + d]);
            s[size_t(j)] = scale * dot;
          }
          double sum = 0;
          for (double x : s)
            sum += std::exp(x);
          lseE[size_t((b * H + h) * Q + i)] = std::log(sum);
          for (int64_t d = 0; d < DV; ++d) {
            double acc = 0;
            for (int64_t j = 0; j < KV; ++j)
              acc += std::exp(s[size_t(j)]) / sum *
                     double(vp[((b * HKV + g) * KV + j) * DV + d]);
            outE[size_t(((b * H + h) * Q + i) * DV + d)] = acc;
          }
        }
      }
  }
};

::testing::AssertionResult closeTo(const Tensor &got, const std::vector<double> &expect,
                                   double tol) {
  if (size_t(got.numel()) != expect.size())
    return ::testing::AssertionFailure() << "size " << got.numel() << " vs " << expect.size();
  for (size_t i = 0; i < expect.size(); ++i) {
    double g = got.as<float>()[i];
    if (!(std::fabs(g - expect[i]) <= tol * std::max(1.0, std::fabs(expect[i]))))
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << g << ", expected " << expect[i];
  }
  return ::testing::AssertionSuccess();
}

TEST(EagerTest, TinyPlainAttentionByHand) {
  // B=1, H=1, Q=1, KV=2, D=1, DV=1: scores q*k/sqrt(1) = [1*0, 1*ln 3] = [0, ln 3];
  // softmax = [1/4, 3/4]; out = 1/4 * 2 + 3/4 * 6 = 5; lse = log(1 + 3) = log 4.
  Tensor q(DType::F32, {1, 1, 1, 1}), k(DType::F32, {1, 1, 2, 1}),
      v(DType::F32, {1, 1, 2, 1}), out(DType::F32, {1, 1, 1, 1}),
      lse(DType::F32, {1, 1, 1});
  q.as<float>()[0] = 1.0f;
  k.as<float>()[0] = 0.0f;
  k.as<float>()[1] = float(std::log(3.0));
  v.as<float>()[0] = 2.0f;
  v.as<float>()[1] = 6.0f;
  out.poison();
  lse.poison();
  AttentionCall call{q.view(), k.view(), v.view(), out.view(), lse.view(), {}, {}};
  Status s = ALL_ATTENTION_FUNCTIONS["eager"](call);
  ASSERT_TRUE(s) << s.message();
  EXPECT_NEAR(out.as<float>()[0], 5.0, 1e-5);
  EXPECT_NEAR(lse.as<float>()[0], std::log(4.0), 1e-6);
}

TEST(EagerTest, MatchesFloat64Computation) {
  EagerCall c(2, 3, 3, 4, 5, 6, 2, 11);
  Status s = ALL_ATTENTION_FUNCTIONS["eager"](c.call);
  ASSERT_TRUE(s) << s.message();
  std::vector<double> outE, lseE;
  c.expected(outE, lseE);
  EXPECT_TRUE(closeTo(c.out, outE, 1e-6));
  EXPECT_TRUE(closeTo(c.lse, lseE, 1e-6));
}

TEST(EagerTest, GqaHeadMapping) {
  // H=6 query heads over H_KV=2 kv heads: heads 0-2 read kv head 0, heads 3-5 kv head 1.
  EagerCall c(1, 6, 2, 3, 4, 5, 3, 12);
  Status s = eagerAttention(c.call);
  ASSERT_TRUE(s) << s.message();
  std::vector<double> outE, lseE;
  c.expected(outE, lseE);
  EXPECT_TRUE(closeTo(c.out, outE, 1e-6));
  EXPECT_TRUE(closeTo(c.lse, lseE, 1e-6));
  // Heads in a group with equal q rows give equal outputs; heads in different groups
  // do not (so h % H_KV would be caught as well).
  for (int64_t i = 0; i < 3 * 5; ++i) {
    c.q.as<float>()[(1 * 3) * 5 + i] = c.q.as<float>()[i];     // head 1 = head 0
    c.q.as<float>()[(3 * 3) * 5 + i] = c.q.as<float>()[i];     // head 3 = head 0
  }
  c.out.poison();
  ASSERT_TRUE(eagerAttention(c.call));
  const float *o = c.out.as<float>();
  for (int64_t i = 0; i < 3 * 3; ++i) {
    EXPECT_EQ(o[1 * 9 + i], o[i]) << "head 1 must read kv head 0";
    EXPECT_NE(o[3 * 9 + i], o[i]) << "head 3 must read kv head 1";
  }
  c.expected(outE, lseE);
  EXPECT_TRUE(closeTo(c.out, outE, 1e-6));
}

TEST(EagerTest, MqaAndCrossAttention) {
  EagerCall c(2, 4, 1, 1, 9, 3, 7, 13); // one kv head, q_len 1, kv_len 9, dv != d
  Status s = ALL_ATTENTION_FUNCTIONS["eager"](c.call);
  ASSERT_TRUE(s) << s.message();
  std::vector<double> outE, lseE;
  c.expected(outE, lseE);
  EXPECT_TRUE(closeTo(c.out, outE, 1e-6));
  EXPECT_TRUE(closeTo(c.lse, lseE, 1e-6));
}

TEST(EagerTest, Errors) {
  EagerCall c(1, 3, 2, 2, 2, 4, 4, 14); // 3 heads over 2 kv heads
  Status s = eagerAttention(c.call);
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.message(), "(3)");
  EXPECT_CONTAINS(s.message(), "(2)");
  EXPECT_FALSE(eagerAttention(AttentionCall()));
  EagerCall d(1, 2, 2, 2, 2, 4, 4, 15);
  Tensor badOut(DType::F32, {1, 2, 2, 5});
  d.call.out = badOut.view();
  Status bad = ALL_ATTENTION_FUNCTIONS["eager"](d.call);
  ASSERT_FALSE(bad);
  EXPECT_CONTAINS(bad.message(), "tensor 'out' must have shape [1, 2, 2, 4], got [1, 2, 2, 5]");
}

//===----------------------------------------------------------------------===//
// ThreadPool
//===----------------------------------------------------------------------===//

class ThreadPoolTest : public ::testing::TestWithParam<unsigned> {};

/// The chunks parallelFor cuts [0, n) into on `threads` threads (ThreadPool.h): each
/// a 2 * threads-th of what is left, between a 64 * threads-th and an 8 *
/// threads-th of n.
static std::vector<int64_t> expectedChunks(int64_t n, unsigned threads) {
  int64_t t = int64_t(threads);
  int64_t minChunk = std::max<int64_t>(1, n / (64 * t));
  int64_t maxChunk = std::max(minChunk, n / (8 * t));
  std::vector<int64_t> sizes;
  for (int64_t begin = 0; begin < n;) {
    int64_t size = std::min(n - begin, std::clamp((n - begin) / (2 * t), minChunk, maxChunk));
    sizes.push_back(size);
    begin += size;
  }
  return sizes;
}

TEST_P(ThreadPoolTest, ParallelForCoversEveryIndexOnce) {
  unsigned threads = GetParam();
  ThreadPool pool(threads);
  EXPECT_EQ(pool.size(), threads);
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(7), int64_t(1000)}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    for (int repeat = 0; repeat < 20; ++repeat) {
      std::unique_ptr<std::atomic<int>[]> hits(new std::atomic<int>[size_t(n) + 1]);
      for (int64_t i = 0; i <= n; ++i)
        hits[size_t(i)].store(0);
      std::atomic<int> chunks{0}, badRange{0};
      std::mutex m;
      std::vector<std::thread::id> ids;
      pool.parallelFor(n, [&](int64_t begin, int64_t end) {
        if (begin < 0 || end > n || begin >= end)
          ++badRange;
        ++chunks;
        for (int64_t i = std::max<int64_t>(begin, 0); i < std::min(end, n); ++i)
          ++hits[size_t(i)];
        std::lock_guard<std::mutex> lock(m);
        ids.push_back(std::this_thread::get_id());
      });
      ASSERT_EQ(badRange.load(), 0);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[size_t(i)].load(), 1) << "index " << i;
      // Chunks shrinking with what is left are taken from a shared counter.
      if (n == 0)
        ASSERT_EQ(chunks.load(), 0) << "no chunk for an empty range";
      else if (n == 1 || threads == 1)
        ASSERT_GE(chunks.load(), 1);
      else
        ASSERT_EQ(chunks.load(), int(expectedChunks(n, threads).size()));
    }
  }
}

TEST_P(ThreadPoolTest, ChunksAreContiguousAndShrink) {
  ThreadPool pool(GetParam());
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  pool.parallelFor(1000, [&](int64_t begin, int64_t end) {
    std::lock_guard<std::mutex> lock(m);
    ranges.emplace_back(begin, end);
  });
  std::sort(ranges.begin(), ranges.end());
  ASSERT_FALSE(ranges.empty());
  EXPECT_EQ(ranges.front().first, 0);
  EXPECT_EQ(ranges.back().second, 1000);
  for (size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_EQ(ranges[i].first, ranges[i - 1].second);
    // No chunk is larger than the one before it.
    EXPECT_LE(ranges[i].second - ranges[i].first, ranges[i - 1].second - ranges[i - 1].first);
  }
  if (GetParam() > 1) {
    std::vector<int64_t> sizes;
    for (auto [begin, end] : ranges)
      sizes.push_back(end - begin);
    EXPECT_EQ(sizes, expectedChunks(1000, GetParam()));
  }
}

TEST(ThreadPoolBalance, ItemsAreSplitIntoManySmallChunks) {
  // Uneven items (causal query tiles) balance only if no thread takes a fixed half:
  // the range is cut into chunks of at most 8 per thread, taken on demand, and the
  // last ones are single items.
  ThreadPool pool(2);
  std::atomic<int> chunks{0}, singles{0};
  std::atomic<int64_t> covered{0};
  pool.parallelFor(64, [&](int64_t begin, int64_t end) {
    ++chunks;
    covered += end - begin;
    singles += end - begin == 1;
    EXPECT_LE(end - begin, 4);
  });
  EXPECT_EQ(covered.load(), 64);
  EXPECT_GE(chunks.load(), 16);
  EXPECT_GE(singles.load(), 3);
}

TEST_P(ThreadPoolTest, ConcurrentCallersAreSerialisedCorrectly) {
  ThreadPool pool(GetParam());
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&] {
      for (int r = 0; r < 50; ++r)
        pool.parallelFor(97, [&](int64_t begin, int64_t end) { total += end - begin; });
    });
  for (std::thread &t : callers)
    t.join();
  EXPECT_EQ(total.load(), 3 * 50 * 97);
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadPoolTest, ::testing::Values(1u, 2u, 5u),
                         [](const ::testing::TestParamInfo<unsigned> &info) {
                           return std::to_string(info.param) + "threads";
                         });

// Regression: a parallelFor issued from inside a parallelFor callback on the same
// pool used to deadlock; it now runs inline. Every compiled kernel and the reference
// use ThreadPool::global(), so this is what makes attention callable from a parallel
// loop. A death test, so that a hang fails (SIGALRM) instead of blocking the binary.
TEST(ThreadPoolDeathTest, NestedParallelForCompletes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        alarm(10);
        ThreadPool pool(2);
        std::atomic<int64_t> total{0};
        pool.parallelFor(4, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i)
            pool.parallelFor(10, [&](int64_t b, int64_t e) { total += e - b; });
        });
        std::_Exit(total.load() == 40 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ThreadPoolJobsTest, EachJobRunsOnceAndItsOwnParallelForInline) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> runs(7);
  std::vector<int64_t> sums(7, 0);
  std::vector<std::function<void()>> jobs;
  for (size_t j = 0; j < runs.size(); ++j)
    jobs.push_back([&, j] {
      ++runs[j];
      // Inside a job the pool's parallelFor runs on this thread, whole.
      pool.parallelFor(100, [&, j](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
          sums[j] += i;
      });
    });
  pool.parallelJobs(jobs);
  for (size_t j = 0; j < runs.size(); ++j) {
    EXPECT_EQ(runs[j].load(), 1) << j;
    EXPECT_EQ(sums[j], 4950) << j;
  }
  pool.parallelJobs({}); // nothing to run
}

TEST(ThreadPoolGlobalTest, GlobalPoolWorks) {
  ThreadPool &pool = ThreadPool::global();
  EXPECT_GE(pool.size(), 1u);
  EXPECT_EQ(&pool, &ThreadPool::global());
  std::unique_ptr<std::atomic<int>[]> hits(new std::atomic<int>[123]);
  for (int i = 0; i < 123; ++i)
    hits[size_t(i)].store(0);
  pool.parallelFor(123, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      ++hits[size_t(i)];
  });
  for (int i = 0; i < 123; ++i)
    EXPECT_EQ(hits[size_t(i)].load(), 1) << i;
}

} // namespace
