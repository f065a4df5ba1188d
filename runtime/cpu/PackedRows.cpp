//===- PackedRows.cpp - reading and writing rows for the CPU kernels' panels ===//
#include "runtime/cpu/PackedRows.h"

#include <cstdlib>
#include <cstring>

namespace attnc {

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
    for (int64_t i = 0; i < n; ++i)
      dst[i] = halfToFloat(src[i * stride]);
    return;
  }
  case DType::BF16: {
    const uint16_t *src = static_cast<const uint16_t *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i] = bf16ToFloat(src[i * stride]);
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
    for (int64_t i = 0; i < n; ++i)
      dst[i * stride] = src[i];
    return;
  }
  case DType::F16: {
    uint16_t *dst = static_cast<uint16_t *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i * stride] = floatToHalf(src[i]);
    return;
  }
  case DType::BF16: {
    uint16_t *dst = static_cast<uint16_t *>(view.data) + offset;
    for (int64_t i = 0; i < n; ++i)
      dst[i * stride] = floatToBf16(src[i]);
    return;
  }
  default:
    return;
  }
}

} // namespace attnc
