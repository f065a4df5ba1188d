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
#include "runtime/cuda/GpuLaunch.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <string>

namespace attnc::cuda {

/// The chips attnc compiles for, and their PTX feature.
bool isSupportedChip(const std::string &chip);

struct PtxKernel {
  std::string ptx;
  int64_t threadsPerBlock = 0; ///< of the launch (for the occupancy)
  bool tensorCores = false;    ///< the tensor-core kernel (else the SIMT one)
  GpuLaunchDesc launch;        ///< how the runtime launches it
};

/// The launch of the outlined kernel in `module` (LaunchDescription.cpp): its
/// symbol, block, query rows per block and parameter groups, read off the host
/// code's gpu.launch_func (a forward kernel's grid, or a backward kernel's);
/// an error for a launch the runtime cannot reproduce.
Result<GpuLaunchDesc> describeLaunch(mlir::ModuleOp module, int64_t headsQ, int64_t headsKV);

/// Where compiled artefacts are kept (the compiler's KernelCache): the artefact
/// (file extension `ext`) of `ir` compiled with `options`, made by `build` on a miss.
using ArtifactCache = std::function<Result<std::string>(
    const std::string &ir, const std::string &options, const std::string &ext,
    const std::function<Result<std::string>()> &build)>;

/// The PTX of the kernel of `module` (@X_gpu; consumed) for `chip`, and its launch;
/// with `cache`, keyed by the outlined kernel's IR.
Result<PtxKernel> lowerToPtx(mlir::ModuleOp module, const std::string &chip,
                             const ArtifactCache &cache = {});

/// Assembles PTX for a chip into a cubin (the kernel cache's ptxas); an empty
/// result leaves the PTX for the driver's JIT.
using Assembler = std::function<Result<std::string>(const std::string &ptx,
                                                    const std::string &chip,
                                                    int64_t threadsPerBlock)>;

/// The path of ptxas (the CUDA toolkit's, or one on PATH); empty if none.
std::string findPtxas();

/// `ptxas -v` on `ptx` for `chip`: one line per kernel with registers, spill bytes,
/// stack frame, shared memory and the theoretical occupancy for blocks of
/// `threadsPerBlock` threads (and `dynamicSharedBytes` of dynamic shared memory,
/// which ptxas does not see); with `cubinPath`, the cubin is written there.
Result<std::string> ptxasReport(const std::string &ptx, const std::string &chip,
                                int64_t threadsPerBlock, const std::string &cubinPath = "",
                                int64_t dynamicSharedBytes = 0);

/// ptxas on `ptx` for `chip`: the cubin's bytes.
Result<std::string> assembleCubin(const std::string &ptx, const std::string &chip);

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_PTXPIPELINE_H
