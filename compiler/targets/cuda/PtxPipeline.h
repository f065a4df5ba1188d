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

#include <functional>
#include <string>

namespace attnc::cuda {

/// The chips attnc compiles for, and their PTX feature.
bool isSupportedChip(const std::string &chip);

struct PtxKernel {
  std::string ptx;
  int64_t threadsPerBlock = 0; ///< of the launch (for the occupancy)
  bool tensorCores = false;    ///< the tensor-core kernel (else the SIMT one)
};

/// Where compiled artefacts are kept (the compiler's KernelCache): the artefact
/// (file extension `ext`) of `ir` compiled with `options`, made by `build` on a miss.
using ArtifactCache = std::function<Result<std::string>(
    const std::string &ir, const std::string &options, const std::string &ext,
    const std::function<Result<std::string>()> &build)>;

/// The PTX of every kernel in `module` (consumed), for `chip`; with `cache`, keyed
/// by the outlined kernels' IR.
Result<PtxKernel> lowerToPtx(mlir::ModuleOp module, const std::string &chip,
                             const ArtifactCache &cache = {});

/// Assembles PTX for a chip into a cubin (the kernel cache's ptxas); an empty
/// result leaves the PTX for the driver's JIT.
using Assembler = std::function<Result<std::string>(const std::string &ptx,
                                                    const std::string &chip,
                                                    int64_t threadsPerBlock)>;

struct LaunchableModule {
  int64_t threadsPerBlock = 0;
  std::string format; ///< "cubin" or "ptx": what the gpu.binary holds
};

/// Lowers `module` (@X_gpu with its gpu.launch) for running on a GPU: the kernel is
/// outlined and compiled to PTX for `chip` (through `cache`), `assemble` turns it
/// into a cubin, and the host code is lowered to the LLVM dialect with launches
/// that call the GPU runtime ABI (runtime/cuda/CudaAbi.h) and the binary embedded
/// as a gpu.binary.
Result<LaunchableModule> lowerForLaunch(mlir::ModuleOp module, const std::string &chip,
                                        const Assembler &assemble,
                                        const ArtifactCache &cache = {});

/// The path of ptxas (the CUDA toolkit's, or one on PATH); empty if none.
std::string findPtxas();

/// `ptxas -v` on `ptx` for `chip`: one line per kernel with registers, spill bytes,
/// stack frame, shared memory and the theoretical occupancy for blocks of
/// `threadsPerBlock` threads; with `cubinPath`, the cubin is written there.
Result<std::string> ptxasReport(const std::string &ptx, const std::string &chip,
                                int64_t threadsPerBlock, const std::string &cubinPath = "");

/// ptxas on `ptx` for `chip`: the cubin's bytes.
Result<std::string> assembleCubin(const std::string &ptx, const std::string &chip);

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_PTXPIPELINE_H
