//===- Tensor.h - dense tensors and strided views -----------------*- C++ -*-===//
//
// `TensorView` is what kernels and the registry exchange: a data pointer, a dtype, a
// shape and strides in elements (any strides, as in PyTorch). `Tensor` owns its
// 64-byte-aligned storage and is contiguous. f16/bf16 conversions live here so every
// layer agrees on rounding (round to nearest even).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_TENSOR_H
#define ATTNC_RUNTIME_TENSOR_H

#include "runtime/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attnc {

enum class DType { F32, F16, BF16, I32, I64 };

/// Where a view's memory lives: host memory, or the current CUDA device's global
/// memory (`data` is then a device address, never dereferenced on the host).
enum class Device { Cpu, Cuda };
/// "cpu", "cuda".
const char *deviceName(Device device);

size_t dtypeSize(DType dtype);
/// "f32", "f16", "bf16", "i32", "i64".
const char *dtypeName(DType dtype);
/// Parses a spec dtype name; false if unknown.
bool parseDType(const std::string &name, DType &dtype);

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bf16ToFloat(uint16_t h);
uint16_t floatToBf16(float f);

struct TensorView {
  void *data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides; ///< in elements
  Device device = Device::Cpu;

  int64_t rank() const { return int64_t(shape.size()); }
  int64_t numel() const;
  /// "[2, 8, 100, 64]"
  std::string shapeString() const;
  /// Element at a multi-index, converted to double (any dtype).
  double get(const int64_t *index) const;
  /// Stores `value` (rounded for f16/bf16, truncated for ints).
  void set(const int64_t *index, double value) const;
  /// Stores `value` in every element (host memory).
  void fill(double value) const;
  int64_t offsetOf(const int64_t *index) const;
};

/// Advances a multi-index over `shape` in row-major order; false after the last.
bool nextIndex(std::vector<int64_t> &index, const std::vector<int64_t> &shape);

/// Row-major strides of `shape`.
std::vector<int64_t> contiguousStrides(const std::vector<int64_t> &shape);

/// The largest tensor attnc allocates: 2^40 bytes.
constexpr uint64_t kMaxTensorBytes = uint64_t(1) << 40;

/// numel * elementSize, or false if a dimension is negative or the product exceeds
/// kMaxTensorBytes.
bool tensorByteSize(const std::vector<int64_t> &shape, size_t elementSize, uint64_t &bytes);

class Tensor {
public:
  Tensor() = default;
  /// Allocates (zeroed); check valid(): a shape too large or memory exhausted gives
  /// an invalid tensor, never a crash. Prefer create(), which reports why.
  Tensor(DType dtype, std::vector<int64_t> shape);
  static Result<Tensor> create(DType dtype, std::vector<int64_t> shape,
                               const std::string &name);
  bool valid() const { return storage_ != nullptr; }

  TensorView view() const;
  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numel() const;
  size_t byteSize() const { return size_t(numel()) * dtypeSize(dtype_); }
  void *data() const { return storage_.get(); }
  template <typename T> T *as() const { return static_cast<T *>(data()); }
  /// Fills every byte with 0xFF: NaN for floats, -1 for ints. Kernels must overwrite
  /// every output element, so leftovers show up in the comparison.
  void poison();

private:
  struct Free {
    void operator()(void *p) const;
  };
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::unique_ptr<void, Free> storage_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_TENSOR_H
