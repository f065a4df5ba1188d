//===- CudaProgram.h - @X_gpu compiled to run on a CUDA GPU -------*- C++ -*-===//
//
// The last step of the `cuda` target: lowerForLaunch (PtxPipeline.h) turns @X_gpu
// into host code with the kernel embedded as a cubin (or PTX), which is
// JIT-compiled for the CPU with the GPU runtime ABI (runtime/cuda/CudaAbi.h)
// resolved; initialising the JIT loads the kernel's module on the GPU. A module the
// driver refuses (a cubin for another chip, PTX it cannot compile) is an error here,
// not at the first call.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_CUDAPROGRAM_H
#define ATTNC_COMPILER_TARGETS_CUDA_CUDAPROGRAM_H

#include "compiler/targets/cuda/PtxPipeline.h"
#include "runtime/Status.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>

namespace attnc::cuda {

struct CudaProgram {
  void (*entry)(void **) = nullptr; ///< the packed interface of the entry function
  std::shared_ptr<void> owner;      ///< the JIT engine (and the loaded GPU module)
  LaunchableModule binary;
};

/// Compiles `module` (consumed) for `chip` and looks up `entryName`'s packed
/// interface (a function with llvm.emit_c_interface).
Result<CudaProgram> compileCudaProgram(mlir::ModuleOp module, const std::string &entryName,
                                       const std::string &chip, const Assembler &assemble,
                                       const ArtifactCache &cache = {});

} // namespace attnc::cuda

#endif // ATTNC_COMPILER_TARGETS_CUDA_CUDAPROGRAM_H
