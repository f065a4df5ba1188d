//===- EmuKernel.h - an attention kernel run under cuda-emu -------*- C++ -*-===//
//
// The `cuda-emu` target's runtime kernel: the host function `@X_gpu` of
// attn-lower-flash-to-gpu (JIT-compiled with its kernel lowered for the emulator)
// called with the call's tensors as they are: any dtype the spec declares, any
// strides (memref descriptors over the caller's memory, nothing is packed). A
// launch error found by the emulator (a race, an out-of-bounds access...) fails
// the call with the emulator's message; a status word from the kernel becomes the
// same error as on the CPU (an out-of-range buffer read names the buffer).
// Emulated runs are serialised: the emulator's kernel table is process-wide. The
// backward kernel (`@X_backward_gpu`) runs the same way through runBackward.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_EMUKERNEL_H
#define ATTNC_RUNTIME_EMU_EMUKERNEL_H

#include "runtime/Variant.h"
#include "runtime/emu/EmuHost.h"

#include <memory>
#include <string>
#include <vector>

namespace attnc {

class EmuKernel {
public:
  /// `entry` is the packed interface of `@X_gpu`; `kernels` and `locations` are
  /// what its launches refer to; `owner` keeps the compiled code alive.
  EmuKernel(VariantDesc variant, emu::PackedKernel entry, std::vector<emu::KernelEntry> kernels,
            std::vector<std::string> locations, std::shared_ptr<void> owner);

  const VariantDesc &variant() const { return variant_; }
  Status run(const AttentionCall &call) const;
  /// For a kernel built from `@X_backward_gpu`: writes dq, dk and dv of `call`. A
  /// block per (split, key/value head, batch); dQ is summed from the splits' f32
  /// partials here, in split order.
  Status runBackward(const BackwardCall &call) const;

private:
  /// Runs the entry on `args` in the emulator; the first launch error, if any.
  Status launch(void **args) const;
  VariantDesc variant_;
  emu::PackedKernel entry_;
  std::vector<emu::KernelEntry> kernels_;
  std::vector<std::string> locations_;
  std::shared_ptr<void> owner_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_EMU_EMUKERNEL_H
