//===- CpuKernel.h - launching a compiled CPU attention kernel ----*- C++ -*-===//
//
// A compiled CPU kernel is a function (JIT-compiled, or in a kernel library) with the ABI of
// `attn-lower-flash-to-cpu` (docs/cpu-target.md): packed f32 panels for q, k
// (transposed key tiles), v, out and lse, the variant's scalars and buffers, a status
// word, the sequence lengths and a [begin, end) range of work items. `CpuKernel::run`
// validates a call, packs the inputs (any dtype and strides) with the thread pool,
// runs the work items on the pool, turns a status code into an error naming the
// buffer, and writes out and lse back in the caller's dtype and strides.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CPU_CPUKERNEL_H
#define ATTNC_RUNTIME_CPU_CPUKERNEL_H

#include "runtime/Status.h"
#include "runtime/ThreadPool.h"
#include "runtime/cpu/WorkspacePool.h"
#include "runtime/Variant.h"

#include <memory>
#include <mutex>
#include <vector>

namespace attnc {

/// The tile sizes and padded sizes the kernel was generated for.
struct CpuKernelLayout {
  int64_t blockQ = 64;
  int64_t blockKV = 64;
  int64_t headDimVPadded = 64; ///< head_dim_v rounded up to the vector width
  /// The forward kernel takes q, k and v as bf16 panels of pairs (compiled with
  /// operands=bf16 for AVX512-BF16, docs/cpu-target.md) rather than f32 panels.
  bool bf16Pairs = false;
};

/// The packed interface function: `_mlir__mlir_ciface_<name>_cpu(void **args)`.
using CpuKernelEntry = void (*)(void **);


class CpuKernel {
public:
  CpuKernel(VariantDesc variant, CpuKernelLayout layout, CpuKernelEntry entry,
            std::shared_ptr<const void> owner);
  ~CpuKernel();

  const VariantDesc &variant() const { return variant_; }
  const CpuKernelLayout &layout() const { return layout_; }

  Status run(const AttentionCall &call, ThreadPool &pool = ThreadPool::global()) const;

private:
  struct Workspace;
  /// Runs work items [0, workItems) of the kernel on `pool` over the packed panels
  /// of `ws`; returns the status word (0: no error).
  int64_t callKernel(Workspace &ws, const AttentionCall &call, int64_t workItems,
                     ThreadPool &pool) const;
  VariantDesc variant_;
  CpuKernelLayout layout_;
  CpuKernelEntry entry_;
  std::shared_ptr<const void> owner_; ///< keeps the code alive (JIT or kernel library)
  /// Packed buffers kept between calls (one per concurrent call).
  WorkspacePool<Workspace> workspaces_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_CPU_CPUKERNEL_H
