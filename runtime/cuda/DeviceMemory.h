//===- DeviceMemory.h - GPU memory and host↔device copies ---------*- C++ -*-===//
//
// `DeviceBuffer` owns a cuMemAlloc allocation. `StagedTensor` is a host view copied
// to the GPU for one call: the device copy covers the span of memory the view
// addresses (from its lowest to its highest element, gaps included) and keeps the
// view's strides, so strided and broadcast (stride 0) views need no packing; copying
// back writes only the view's own elements (bytes in the gaps, which may belong to
// another view, are left alone).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDA_DEVICEMEMORY_H
#define ATTNC_RUNTIME_CUDA_DEVICEMEMORY_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"
#include "runtime/Variant.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace attnc::cuda {

class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer();

  /// `bytes` of device memory (at least one byte is allocated).
  static Result<DeviceBuffer> allocate(size_t bytes, const std::string &what);
  uint64_t address() const { return address_; }
  size_t size() const { return bytes_; }

private:
  uint64_t address_ = 0;
  size_t bytes_ = 0;
};

struct StagedTensor {
  DeviceBuffer buffer;
  TensorView device;     ///< the view over the device copy (device == Device::Cuda)
  int64_t lowest = 0;    ///< element offset of the span's start from the view's data
  size_t spanBytes = 0;
};

/// Copies the span of `host` (named `name` in errors) to new device memory.
Result<StagedTensor> stageToDevice(const TensorView &host, const std::string &name);
/// Copies the staged view's elements back into `host`.
Status copyToHost(const StagedTensor &staged, const TensorView &host);

/// Every tensor of a host call staged to the GPU: `device` is the same call over
/// the device copies (scalars unchanged).
struct StagedCall {
  std::vector<StagedTensor> tensors; ///< q, k, v, out, lse, then the buffers
  AttentionCall device;
  /// Copies out and lse back over `host`'s.
  Status copyOutputs(const AttentionCall &host) const;
};
Result<std::unique_ptr<StagedCall>> stageCall(const AttentionCall &host);

/// Edits a view of GPU memory on the host: copies the span of memory `device`
/// addresses to the host, calls `edit` on the same view over that copy, and copies
/// the span back (bytes in the view's gaps are copied back unchanged: nothing else
/// may write them meanwhile), and waits until the copy has landed. Work queued on
/// streams that write the view must be finished before.
Status editOnHost(const TensorView &device, const std::function<void(const TensorView &)> &edit);

/// A host backward call staged to the GPU: the forward's tensors, dout, dk, dv and
/// the buffer gradients copied over, and `splits` zeroed f32 dQ partials
/// ([splits, B, H, Q_LEN, D], contiguous) for the kernel to add into.
struct StagedBackwardCall {
  std::unique_ptr<StagedCall> forward;
  std::vector<StagedTensor> grads; ///< dout, dk, dv, then the buffer gradients
  StagedTensor dqPartials;
  BackwardCall device;
  /// Copies dk, dv and the buffer gradients back over `host`'s, and writes dq
  /// as the sum of the partials, added in split order.
  Status copyGradients(const BackwardCall &host) const;
};
Result<std::unique_ptr<StagedBackwardCall>> stageBackwardCall(const BackwardCall &host,
                                                              int64_t splits);

} // namespace attnc::cuda

#endif // ATTNC_RUNTIME_CUDA_DEVICEMEMORY_H
