//===- PtxPipeline.h - the GPU kernel → PTX for NVIDIA GPUs -------*- C++ -*-===//
//
// From @X_gpu (attn-lower-flash-to-gpu) to PTX: the launch is outlined into a
// gpu.module, the host code is dropped (attnc launches kernels itself), and
// upstream's gpu-lower-to-nvvm-pipeline serialises the kernel for one chip
// (sm_80: PTX ISA 7.0, sm_90a: 8.0; format `isa`, which needs no CUDA at all).
// `ptxasReport` assembles the PTX with the toolkit's ptxas when it is installed
// and reads back its resource usage.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_PTXPIPELINE_H
#define ATTNC_COMPILER_TARGETS_CUDA_PTXPIPELINE_H

#include "runtime/Status.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace attnc::cuda {

/// The chips attnc compiles for, and their PTX feature.
bool isSupportedChip(const std::string &chip);

struct PtxKernel {
  std::string ptx;
  int64_t threadsPerBlock = 0; ///< of the launch (for the occupancy)
};

/// The PTX of every kernel in `module` (consumed), for `chip`.
Result<PtxKernel> lowerToPtx(mlir::ModuleOp module, const std::string &chip);

/// The path of ptxas (the CUDA toolkit's, or one on PATH); empty if none.
std::string findPtxas();

/// `ptxas -v` on `ptx` for `chip`: one line per kernel with registers, spill bytes,
/// stack frame, shared memory and the theoretical occupancy for blocks of
/// `threadsPerBlock` threads; with `cubinPath`, the cubin is written there.
Result<std::string> ptxasReport(const std::string &ptx, const std::string &chip,
                                int64_t threadsPerBlock, const std::string &cubinPath = "");

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_PTXPIPELINE_H
