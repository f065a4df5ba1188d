//===- PackedRows.cpp - reading and writing rows for the CPU kernels' panels ===//
#include "runtime/cpu/PackedRows.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ATTNC_HAVE_F16C_PATH 1
#endif

namespace attnc {

namespace {

// Branch-free forms of Tensor.h's bf16 conversions, inline here so that the
// contiguous loops below vectorise (the packers convert every element of a call).
inline float bf16Bits(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t toBf16Bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t rounded = (x + 0x7FFF + ((x >> 16) & 1)) >> 16;
  uint32_t quietNaN = (x >> 16) | 0x40;
  return uint16_t((x & 0x7FFFFFFF) > 0x7F800000 ? quietNaN : rounded);
}

#ifdef ATTNC_HAVE_F16C_PATH
/// Whether this processor converts f16 in hardware (F16C, with AVX).
bool hasF16c() {
  static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return has;
}
/// n contiguous f16 values as f32, eight at a time (IEEE conversions, as halfToFloat).
__attribute__((target("avx,f16c"))) void halvesToFloats(const uint16_t *src, int64_t n,
                                                         float *dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i *>(src + i))));
  for (; i < n; ++i)
    dst[i] = halfToFloat(src[i]);
}
/// n f32 values as contiguous f16, rounded to nearest even (as floatToHalf).
__attribute__((target("avx,f16c"))) void floatsToHalves(const float *src, int64_t n,
                                                         uint16_t *dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i)
    dst[i] = floatToHalf(src[i]);
}
#endif

} // namespace

bool AlignedF32::reserve(size_t n) {
  size = n;
  if (n <= capacity && data)
    return true;
  std::free(data);
  size_t bytes = ((n ? n : 1) * sizeof(float) + 63) / 64 * 64;
  data = static_cast<float *>(std::aligned_alloc(64, bytes));
  capacity = data ? n : 0;
  return data != nullptr;
}

AlignedF32::~AlignedF32() { std::free(data); }

/// Reads n elements of a row (element stride `stride`) as f32.
void readRow(const TensorView &view, int64_t offset, int64_t stride, int64_t n,
             float *dst) {
  switch (view.dtype) {
  case DType::F32: {
    const float *src = static_cast<const float *>(view.data) + offset;
    if (stride == 1)
      std::memcpy(dst, src, size_t(n) * sizeof(float));
    else
      for (int64_t i = 0; i < n; ++i)
        dst[i] = src[i * stride];
    return;
  }
  case DType::F16: {
    const uint16_t *src = static_cast<const uint16_t *>(view.data) + offset;
#ifdef ATTNC_HAVE_F16C_PATH
    if (stride == 1 && hasF16c())
      return halvesToFloats(src, n, dst);
#endif
    for (int64_t i = 0; i < n; ++i)
      dst[i] = halfToFloat(src[i * stride]);
    return;
  }
  case DType::BF16: {
    const uint16_t *src = static_cast<const uint16_t *>(view.data) + offset;
    if (stride == 1)
      for (int64_t i = 0; i < n; ++i)
        dst[i] = bf16Bits(src[i]);
    else
      for (int64_t i = 0; i < n; ++i)
        dst[i] = bf16Bits(src[i * stride]);
    return;
  }
  default:
    return;
  }
}

void writeRow(const TensorView &view, int64_t offset, int64_t stride, int64_t n,
              const float *src) {
  switch (view.dtype) {
  case DType::F32: {
    float *dst = static_cast<float *>(view.data) + offset;
    if (stride == 1)
      std::memcpy(dst, src, size_t(n) * sizeof(float));
    else
      for (int64_t i = 0; i < n; ++i)
        dst[i * stride] = src[i];
    return;
  }
  case DType::F16: {
    uint16_t *dst = static_cast<uint16_t *>(view.data) + offset;
#ifdef ATTNC_HAVE_F16C_PATH
    if (stride == 1 && hasF16c())
      return floatsToHalves(src, n, dst);
#endif
    for (int64_t i = 0; i < n; ++i)
      dst[i * stride] = floatToHalf(src[i]);
    return;
  }
  case DType::BF16: {
    uint16_t *dst = static_cast<uint16_t *>(view.data) + offset;
    if (stride == 1)
      for (int64_t i = 0; i < n; ++i)
        dst[i] = toBf16Bits(src[i]);
    else
      for (int64_t i = 0; i < n; ++i)
        dst[i * stride] = toBf16Bits(src[i]);
    return;
  }
  default:
    return;
  }
}

} // namespace attnc
