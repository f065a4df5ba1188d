//===- CudaKernel.h - an attention kernel run on a CUDA GPU -------*- C++ -*-===//
//
// The `cuda` target's runtime kernel: the kernel of attn-lower-flash-to-gpu loaded
// as a cubin (or PTX for the driver's JIT), launched by GpuLaunch.h from the
// compiler's description of its launch (no generated host code). A call is
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
#include "runtime/cuda/GpuLaunch.h"

#include <memory>
#include <string>

namespace attnc {

class CudaKernel {
public:
  /// `module` holds the loaded kernel `launch` describes; `chip` says what it was
  /// compiled for ("sm_90a cubin", "sm_80 ptx").
  CudaKernel(VariantDesc variant, GpuLaunchDesc launch, std::shared_ptr<GpuModule> module,
             std::string chip);

  const VariantDesc &variant() const { return variant_; }
  const std::string &chip() const { return chip_; }
  const GpuLaunchDesc &launch() const { return launch_; }
  Status run(const AttentionCall &call) const;
  /// For a backward kernel (`launch().backward`): zeroes the buffer gradients and
  /// the dQ partials (splits of the key tiles, backwardSplits), launches, and sums
  /// dQ's partials on the host in split order into dq. Host tensors are staged to
  /// the GPU and dk, dv and the buffer gradients copied back; GPU tensors are used in
  /// place (on the call's stream, as `run` does).
  Status runBackward(const BackwardCall &call) const;
  /// Times this thread's launches from now on (CUDA events recorded on the launch's
  /// stream just before and after it; off by default, to keep calls lean).
  static void timeLaunches(bool on);
  /// The GPU time of this thread's last timed launch, in ms (0 if none or the
  /// driver reports none).
  static double lastKernelMilliseconds();

private:
  Status runOnDevice(const AttentionCall &call) const;
  /// The thread's status word in GPU memory, cleared on `stream`.
  Result<TensorView> clearedStatus(void *stream) const;
  /// The number of splits of the key tiles for a backward call.
  int64_t backwardSplits(const AttentionCall &forward) const;
  /// Launches the backward kernel on a call in GPU memory with its dQ partials; the
  /// kernel's status word as an error.
  Status launchBackward(const BackwardCall &call, const TensorView &dqPartials,
                        void *stream) const;
  Status runBackwardOnDevice(const BackwardCall &call) const;
  VariantDesc variant_;
  GpuLaunchDesc launch_;
  std::shared_ptr<GpuModule> module_;
  std::string chip_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_CUDA_CUDAKERNEL_H
