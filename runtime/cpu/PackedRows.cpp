//===- PackedRows.cpp - reading and writing rows for the CPU kernels' panels ===//
#include "runtime/cpu/PackedRows.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

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

void packRows(const TensorView &t, int64_t rowsPad, int64_t stride, float *dst,
              ThreadPool &pool) {
  int64_t heads = t.shape[1], rows = t.shape[2], width = t.shape[3];
  pool.parallelFor(t.shape[0] * heads, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / heads, h = bh % heads;
      float *panel = dst + bh * rowsPad * stride;
      for (int64_t i = 0; i < rows; ++i) {
        readRow(t, rowOffset(t, b, h, i), t.strides[3], width, panel + i * stride);
        std::fill(panel + i * stride + width, panel + (i + 1) * stride, 0.0f);
      }
      std::fill(panel + rows * stride, panel + rowsPad * stride, 0.0f);
    }
  });
}

void packTiles(const TensorView &t, int64_t numTiles, int64_t bk, float *dst, ThreadPool &pool) {
  int64_t heads = t.shape[1], rows = t.shape[2], depth = t.shape[3];
  // Rows are transposed kGroup at a time: each tile column's kGroup floats are
  // written together (whole cache lines, rather than a float per line per row).
  constexpr int64_t kGroup = 16;
  pool.parallelFor(t.shape[0] * heads, [&](int64_t begin, int64_t end) {
    std::vector<float> group(static_cast<size_t>(kGroup * depth));
    for (int64_t bg = begin; bg < end; ++bg) {
      int64_t b = bg / heads, g = bg % heads;
      float *panel = dst + bg * numTiles * depth * bk;
      if (numTiles > 0)
        std::memset(panel + (numTiles - 1) * depth * bk, 0, size_t(depth * bk) * sizeof(float));
      for (int64_t j0 = 0, n = 0; j0 < rows; j0 += n) {
        n = std::min({kGroup, rows - j0, bk - j0 % bk}); // within one tile
        for (int64_t r = 0; r < n; ++r)
          readRow(t, rowOffset(t, b, g, j0 + r), t.strides[3], depth, group.data() + r * depth);
        float *tile = panel + (j0 / bk) * depth * bk + j0 % bk;
        for (int64_t d = 0; d < depth; ++d)
          for (int64_t r = 0; r < n; ++r)
            tile[d * bk + r] = group[size_t(r * depth + d)];
      }
    }
  });
}

namespace {
/// Row `i` of (batch b, head h) of `t` rounded to bf16 into out[0], out[outStride],
/// ... (its width elements); `scratch` holds the row as f32 on the way.
void readRowBf16(const TensorView &t, int64_t b, int64_t h, int64_t i, float *scratch,
                 uint16_t *out, int64_t outStride = 1) {
  readRow(t, rowOffset(t, b, h, i), t.strides[3], t.shape[3], scratch);
  for (int64_t d = 0; d < t.shape[3]; ++d)
    out[d * outStride] = toBf16Bits(scratch[d]);
}
} // namespace

void packRowsBf16(const TensorView &t, int64_t rowsPad, int64_t stride, uint16_t *dst,
                  ThreadPool &pool) {
  int64_t heads = t.shape[1], rows = t.shape[2], width = t.shape[3];
  pool.parallelFor(t.shape[0] * heads, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(width));
    for (int64_t bh = begin; bh < end; ++bh) {
      uint16_t *panel = dst + bh * rowsPad * stride;
      for (int64_t i = 0; i < rows; ++i) {
        uint16_t *out = panel + i * stride;
        readRowBf16(t, bh / heads, bh % heads, i, row.data(), out);
        std::fill(out + width, out + stride, uint16_t(0));
      }
      std::fill(panel + rows * stride, panel + rowsPad * stride, uint16_t(0));
    }
  });
}

void packPairTiles(const TensorView &t, int64_t numTiles, int64_t bk, uint16_t *dst,
                   ThreadPool &pool) {
  int64_t heads = t.shape[1], rows = t.shape[2], depth = t.shape[3];
  int64_t numPairs = (depth + 1) / 2, tileSize = numPairs * bk * 2;
  constexpr int64_t kGroup = 16; // rows converted together, then written pair by pair
  pool.parallelFor(t.shape[0] * heads, [&](int64_t begin, int64_t end) {
    std::vector<uint16_t> group(static_cast<size_t>(kGroup * numPairs * 2));
    std::vector<float> row(static_cast<size_t>(depth));
    for (int64_t bg = begin; bg < end; ++bg) {
      uint16_t *panel = dst + bg * numTiles * tileSize;
      if (numTiles > 0)
        std::memset(panel + (numTiles - 1) * tileSize, 0, size_t(tileSize) * 2);
      for (int64_t j0 = 0, n = 0; j0 < rows; j0 += n) {
        n = std::min({kGroup, rows - j0, bk - j0 % bk}); // within one tile
        // Each row's pairs (an odd width's last pair ends in the group's zero).
        for (int64_t r = 0; r < n; ++r)
          readRowBf16(t, bg / heads, bg % heads, j0 + r, row.data(),
                      group.data() + r * numPairs * 2);
        uint32_t *tile = reinterpret_cast<uint32_t *>(panel + (j0 / bk) * tileSize) + j0 % bk;
        const uint32_t *words = reinterpret_cast<const uint32_t *>(group.data());
        for (int64_t p = 0; p < numPairs; ++p)
          for (int64_t r = 0; r < n; ++r)
            tile[p * bk + r] = words[r * numPairs + p];
      }
    }
  });
}

void packPairRows(const TensorView &t, int64_t rowsPad, int64_t stride, uint16_t *dst,
                  ThreadPool &pool) {
  int64_t heads = t.shape[1], rows = t.shape[2], width = t.shape[3];
  pool.parallelFor(t.shape[0] * heads, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(width));
    for (int64_t bh = begin; bh < end; ++bh) {
      uint16_t *panel = dst + bh * rowsPad * stride;
      // Padding rows and columns first, then row i's element c at
      // ((i / 2) * stride + c) * 2 + i % 2.
      int64_t fullPairs = rows / 2;
      for (int64_t i2 = 0; i2 < fullPairs; ++i2)
        std::fill(panel + (i2 * stride + width) * 2, panel + (i2 + 1) * stride * 2, uint16_t(0));
      std::fill(panel + fullPairs * stride * 2, panel + rowsPad * stride, uint16_t(0));
      for (int64_t i = 0; i < rows; ++i)
        readRowBf16(t, bh / heads, bh % heads, i, row.data(),
                    panel + (i / 2) * stride * 2 + i % 2, /*outStride=*/2);
    }
  });
}

void runPackJobs(ThreadPool &pool, int64_t floats,
                 const std::vector<std::function<void()>> &jobs) {
  constexpr int64_t kTogetherFloats = int64_t(1) << 21; // 8 MiB of f32
  if (floats < kTogetherFloats) {
    pool.parallelJobs(jobs);
    return;
  }
  for (const std::function<void()> &job : jobs)
    job();
}

void unpackRows(const float *src, int64_t rowsPad, int64_t stride, const TensorView &t,
                ThreadPool &pool) {
  int64_t heads = t.shape[1], rows = t.shape[2], width = t.shape[3];
  pool.parallelFor(t.shape[0] * heads, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / heads, h = bh % heads;
      for (int64_t i = 0; i < rows; ++i)
        writeRow(t, rowOffset(t, b, h, i), t.strides[3], width, src + (bh * rowsPad + i) * stride);
    }
  });
}

} // namespace attnc
