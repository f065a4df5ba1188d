//===- CpuBackwardKernel.h - launching a compiled CPU backward kernel -*- C++ -*-===//
//
// A compiled backward kernel (`@X_backward_cpu`, attn-lower-flash-to-cpu on the
// backward flash form; its ABI in compiler/targets/cpu/Passes.td) works on packed
// f32 panels like the forward kernel. `CpuBackwardKernel::run` validates a
// BackwardCall, packs q, k (as rows and as transposed tiles), v (transposed tiles),
// dout, out and lse, runs the work items (batch × key/value head × split of the
// key tiles) on the thread pool, and writes back:
//
//  - dq, the sum of the splits' partial gradients, in a fixed order;
//  - dk and dv, each key tile written by exactly one work item (the heads of a
//    group are summed inside it);
//  - each requires_grad buffer's gradient, summed over fixed slots of work items
//    (each slot its own partial, added in slot order).
//
// The results do not depend on how threads interleave; the number of splits (and
// so the order dQ's partials are added in) depends on the thread count. The packed
// panels are kept for the next call (WorkspacePool.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CPU_CPUBACKWARDKERNEL_H
#define ATTNC_RUNTIME_CPU_CPUBACKWARDKERNEL_H

#include "runtime/cpu/CpuKernel.h"

namespace attnc {

class CpuBackwardKernel {
public:
  CpuBackwardKernel(VariantDesc variant, CpuKernelLayout layout, CpuKernelEntry entry,
                    std::shared_ptr<const void> owner);
  ~CpuBackwardKernel();

  const VariantDesc &variant() const { return variant_; }

  /// Writes dq, dk, dv and the buffer gradients of `call` (overwritten).
  Status run(const BackwardCall &call, ThreadPool &pool = ThreadPool::global()) const;

private:
  /// Runs work items [0, items) over the panels `descs` (the ten panel descriptors),
  /// slot by slot, each slot with its buffer-gradient partials (`gradPartials`, the
  /// .cpp's GradPartials); returns the status word (0: no error).
  int64_t runWorkItems(const BackwardCall &call, int64_t qLen, int64_t kvLen, int64_t splits,
                       int64_t items, std::vector<std::vector<int64_t>> descs,
                       const void *gradPartials, ThreadPool &pool) const;
  struct Panels;
  VariantDesc variant_;
  CpuKernelLayout layout_;
  CpuKernelEntry entry_;
  std::shared_ptr<const void> owner_; ///< keeps the code alive
  /// The packed panels, kept between calls (one set per concurrent call).
  WorkspacePool<Panels> workspaces_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_CPU_CPUBACKWARDKERNEL_H
