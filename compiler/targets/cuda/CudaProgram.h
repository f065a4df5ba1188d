//===- CudaProgram.h - @X_gpu compiled to run on a CUDA GPU -------*- C++ -*-===//
//
// The last step of the `cuda` target: lowerToPtx (PtxPipeline.h) outlines @X_gpu's
// kernel, describes its launch and compiles it to PTX; `assemble` turns the PTX into
// a cubin (or leaves it for the driver's JIT). What comes out is everything the
// runtime needs to launch the kernel (runtime/cuda/GpuLaunch.h): no host code is
// compiled, so the same program can be loaded here or written into a kernel library.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_CUDAPROGRAM_H
#define ATTNC_COMPILER_TARGETS_CUDA_CUDAPROGRAM_H

#include "compiler/targets/cuda/PtxPipeline.h"
#include "runtime/Status.h"
#include "runtime/cuda/GpuLaunch.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace attnc::cuda {

struct CudaProgram {
  GpuLaunchDesc launch;
  std::string chip;   ///< "sm_80" or "sm_90a"
  std::string format; ///< "cubin" or "ptx": what `image` holds
  std::string image;
  std::string ptx;    ///< the PTX the image was assembled from
};

/// Compiles `module` (@X_gpu; consumed) for `chip`: PTX through `cache`, then a
/// cubin from `assemble` (PTX alone when it returns nothing or is empty).
Result<CudaProgram> compileCudaProgram(mlir::ModuleOp module, const std::string &chip,
                                       const Assembler &assemble,
                                       const ArtifactCache &cache = {});

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_CUDAPROGRAM_H
