//===- CudaKernel.h - an attention kernel run on a CUDA GPU -------*- C++ -*-===//
//
// The `cuda` target's runtime kernel: the host function `@X_gpu` of
// attn-lower-flash-to-gpu, JIT-compiled with its kernel embedded as a cubin (or
// PTX for the driver's JIT) and its launches going through CudaAbi.h. A call is
// dispatched by the tensors' device: with every tensor in GPU memory
// (TensorView::device == Device::Cuda) the kernel runs on them directly; with every
// tensor in host memory each is staged to the GPU for the call (DeviceMemory.h) and
// out and lse are copied back. GPU-memory calls run on `AttentionCall::stream` when
// given (after the work queued there), else on the thread's stream; either way the
// call returns when the kernel is done. The status word (an out-of-range buffer read, a
// division by zero) is read back after the kernel and becomes the same error as on
// the CPU.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDA_CUDAKERNEL_H
#define ATTNC_RUNTIME_CUDA_CUDAKERNEL_H

#include "runtime/Variant.h"

#include <memory>
#include <string>

namespace attnc {

class CudaKernel {
public:
  using PackedEntry = void (*)(void **);
  /// `entry` is the packed interface of `@X_gpu`; `owner` keeps the compiled code
  /// (and its loaded GPU module) alive; `chip` says what it was compiled for
  /// ("sm_90a cubin", "sm_80 ptx").
  CudaKernel(VariantDesc variant, PackedEntry entry, std::string chip,
             std::shared_ptr<void> owner);

  const VariantDesc &variant() const { return variant_; }
  const std::string &chip() const { return chip_; }
  Status run(const AttentionCall &call) const;
  /// Times this thread's launches from now on (CUDA events recorded on the launch's
  /// stream just before and after it; off by default, to keep calls lean).
  static void timeLaunches(bool on);
  /// The GPU time of this thread's last timed launch, in ms (0 if none or the
  /// driver reports none).
  static double lastKernelMilliseconds();

private:
  Status runOnDevice(const AttentionCall &call) const;
  VariantDesc variant_;
  PackedEntry entry_;
  std::string chip_;
  std::shared_ptr<void> owner_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_CUDA_CUDAKERNEL_H
