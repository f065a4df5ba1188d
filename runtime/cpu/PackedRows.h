//===- PackedRows.h - reading and writing rows for the CPU kernels' panels -*- C++ -*-===//
//
// The CPU kernels work on packed f32 panels (docs/cpu-target.md); the runtime
// packs the caller's tensors (any dtype and strides) into them and writes results
// back. These are the pieces every packer shares: 64-byte aligned f32 storage kept
// between calls, a tensor row read as f32 or written from f32, and the panels built
// from them (rows, transposed key tiles).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CPU_PACKEDROWS_H
#define ATTNC_RUNTIME_CPU_PACKEDROWS_H

#include "runtime/Tensor.h"
#include "runtime/ThreadPool.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace attnc {

/// 64-byte aligned f32 storage that grows on demand and is kept between calls.
/// Contents are not cleared: the packer writes every element the kernel reads,
/// padding included.
struct AlignedF32 {
  float *data = nullptr;
  size_t size = 0, capacity = 0;
  AlignedF32() = default;
  AlignedF32(const AlignedF32 &) = delete;
  AlignedF32 &operator=(const AlignedF32 &) = delete;
  /// Makes room for n elements (size = n); false when memory runs out.
  bool reserve(size_t n);
  /// Makes room for n 16-bit elements (size = n / 2 rounded up), for bf16 panels.
  bool reserveHalves(size_t n) { return reserve((n + 1) / 2); }
  uint16_t *halves() { return reinterpret_cast<uint16_t *>(data); }
  ~AlignedF32();
};

/// The element offset of row `i` of (batch b, head h) in a [B][heads][L]... tensor.
inline int64_t rowOffset(const TensorView &t, int64_t b, int64_t h, int64_t i) {
  return b * t.strides[0] + h * t.strides[1] + i * t.strides[2];
}

/// Reads n elements of a row (element stride `stride`, from element `offset`) of
/// `view` as f32.
void readRow(const TensorView &view, int64_t offset, int64_t stride, int64_t n, float *dst);
/// Writes n f32 values into a row of `view`, converted to its dtype.
void writeRow(const TensorView &view, int64_t offset, int64_t stride, int64_t n,
              const float *src);

// Panels of a [B][heads][L][width] tensor, packed per (batch, head) on `pool`:

/// Rows of `stride` f32 ([B][heads][rowsPad][stride]), zero beyond the tensor.
void packRows(const TensorView &t, int64_t rowsPad, int64_t stride, float *dst,
              ThreadPool &pool);
/// Transposed tiles of `bk` rows ([B][heads][numTiles][width][bk]), zero beyond the
/// tensor: the key tiles the kernels multiply rows by.
void packTiles(const TensorView &t, int64_t numTiles, int64_t bk, float *dst, ThreadPool &pool);
// Panels of bf16 pairs, for kernels compiled with operands=bf16 (docs/cpu-target.md);
// elements are rounded to bf16 (exact for bf16 tensors):

/// Rows of `stride` bf16 ([B][heads][rowsPad][stride]), zero beyond the tensor.
void packRowsBf16(const TensorView &t, int64_t rowsPad, int64_t stride, uint16_t *dst,
                  ThreadPool &pool);
/// Key tiles of `bk` rows with the columns in pairs ([B][heads][numTiles][depth2 / 2]
/// [bk][2], depth2 the width rounded up to 2), zero beyond the tensor.
void packPairTiles(const TensorView &t, int64_t numTiles, int64_t bk, uint16_t *dst,
                   ThreadPool &pool);
/// Rows interleaved in pairs ([B][heads][rowsPad / 2][stride][2]; rowsPad even),
/// zero beyond the tensor: the value rows P·V multiplies by pairs of keys.
void packPairRows(const TensorView &t, int64_t rowsPad, int64_t stride, uint16_t *dst,
                  ThreadPool &pool);

/// Runs a call's packing (or unpacking) `jobs`, together about `floats` elements:
/// as one wake-up of the pool where that is small (the wake-ups then cost more than
/// the copies: short sequences), else one job after the other, each over the whole
/// pool (so that many threads share each tensor).
void runPackJobs(ThreadPool &pool, int64_t floats, const std::vector<std::function<void()>> &jobs);
/// Writes the rows of a packed panel ([B][heads][rowsPad][stride]) into `t`.
void unpackRows(const float *src, int64_t rowsPad, int64_t stride, const TensorView &t,
                ThreadPool &pool);

} // namespace attnc

#endif // ATTNC_RUNTIME_CPU_PACKEDROWS_H
