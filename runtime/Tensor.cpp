//===- Tensor.cpp - dense tensors and strided views ------------------------===//
#include "runtime/Tensor.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace attnc {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32: return 4;
  case DType::F16: return 2;
  case DType::BF16: return 2;
  case DType::I32: return 4;
  case DType::I64: return 8;
  }
  return 0;
}

const char *deviceName(Device device) { return device == Device::Cpu ? "cpu" : "cuda"; }

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  }
  return "?";
}

bool parseDType(const std::string &name, DType &dtype) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64})
    if (name == dtypeName(d)) {
      dtype = d;
      return true;
    }
  return false;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3FF;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = int32_t((x >> 23) & 0xFF);
  uint32_t mant = x & 0x7FFFFF;
  if (exp == 0xFF) // inf or NaN
    return uint16_t(sign | 0x7C00 | (mant ? 0x200 : 0));
  int32_t e = exp - 127 + 15;
  if (e >= 0x1F)
    return uint16_t(sign | 0x7C00); // overflow → inf
  if (e <= 0) {
    if (e < -10)
      return uint16_t(sign); // underflow → ±0
    mant |= 0x800000;
    uint32_t shift = uint32_t(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = (uint32_t(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
    ++half; // may carry into the exponent, which is correct
  return uint16_t(sign | half);
}

float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFF) > 0x7F800000)
    return uint16_t((x >> 16) | 0x40); // quiet NaN
  uint32_t rounding = 0x7FFF + ((x >> 16) & 1);
  return uint16_t((x + rounding) >> 16);
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string TensorView::shapeString() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t TensorView::offsetOf(const int64_t *index) const {
  int64_t off = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    off += index[i] * strides[i];
  return off;
}

double TensorView::get(const int64_t *index) const {
  int64_t off = offsetOf(index);
  switch (dtype) {
  case DType::F32: return static_cast<const float *>(data)[off];
  case DType::F16: return halfToFloat(static_cast<const uint16_t *>(data)[off]);
  case DType::BF16: return bf16ToFloat(static_cast<const uint16_t *>(data)[off]);
  case DType::I32: return static_cast<const int32_t *>(data)[off];
  case DType::I64: return double(static_cast<const int64_t *>(data)[off]);
  }
  return 0;
}

void TensorView::set(const int64_t *index, double value) const {
  int64_t off = offsetOf(index);
  switch (dtype) {
  case DType::F32: static_cast<float *>(data)[off] = float(value); break;
  case DType::F16: static_cast<uint16_t *>(data)[off] = floatToHalf(float(value)); break;
  case DType::BF16: static_cast<uint16_t *>(data)[off] = floatToBf16(float(value)); break;
  case DType::I32: static_cast<int32_t *>(data)[off] = int32_t(value); break;
  case DType::I64: static_cast<int64_t *>(data)[off] = int64_t(value); break;
  }
}

void TensorView::fill(double value) const {
  if (numel() == 0)
    return;
  std::vector<int64_t> index(shape.size(), 0);
  do
    set(index.data(), value);
  while (nextIndex(index, shape));
}

bool nextIndex(std::vector<int64_t> &index, const std::vector<int64_t> &shape) {
  for (int64_t d = int64_t(index.size()) - 1; d >= 0; --d) {
    if (++index[size_t(d)] < shape[size_t(d)])
      return true;
    index[size_t(d)] = 0;
  }
  return false;
}

std::vector<int64_t> contiguousStrides(const std::vector<int64_t> &shape) {
  // A tensor that can be allocated has strides that fit; an empty one (a 0 anywhere)
  // may not, e.g. [0, 2^32, 2^32]: its strides address nothing, so they saturate at
  // INT64_MAX rather than overflow.
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    if (__builtin_mul_overflow(strides[size_t(i + 1)], shape[size_t(i + 1)],
                               &strides[size_t(i)]))
      strides[size_t(i)] = INT64_MAX;
  return strides;
}

void Tensor::Free::operator()(void *p) const { std::free(p); }

bool tensorByteSize(const std::vector<int64_t> &shape, size_t elementSize,
                    uint64_t &bytes) {
  uint64_t total = elementSize;
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 && total > kMaxTensorBytes / uint64_t(d))
      return false;
    total *= uint64_t(d);
  }
  bytes = total;
  return total <= kMaxTensorBytes;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  uint64_t bytes = 0;
  if (!tensorByteSize(shape_, dtypeSize(dtype), bytes))
    return;
  size_t rounded = size_t(((bytes ? bytes : 1) + 63) / 64 * 64);
  storage_.reset(std::aligned_alloc(64, rounded));
  if (storage_)
    std::memset(storage_.get(), 0, rounded);
}

Result<Tensor> Tensor::create(DType dtype, std::vector<int64_t> shape,
                              const std::string &name) {
  uint64_t bytes = 0;
  std::string shapeText = TensorView{nullptr, dtype, shape, {}}.shapeString();
  if (!tensorByteSize(shape, dtypeSize(dtype), bytes))
    return Status::error("tensor '" + name + "' of shape " + shapeText +
                         " is too large (more than 2^40 bytes)");
  Tensor t(dtype, std::move(shape));
  if (!t.valid())
    return Status::error("cannot allocate " + std::to_string(bytes) +
                         " bytes for tensor '" + name + "' of shape " + shapeText);
  return t;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_)
    n *= d;
  return n;
}

TensorView Tensor::view() const {
  return TensorView{storage_.get(), dtype_, shape_, contiguousStrides(shape_)};
}

void Tensor::poison() {
  if (storage_)
    std::memset(storage_.get(), 0xFF, byteSize());
}

} // namespace attnc
