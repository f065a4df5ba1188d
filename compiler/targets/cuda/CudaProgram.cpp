//===- CudaProgram.cpp - @X_gpu compiled to run on a CUDA GPU --------------===//
#include "compiler/targets/cuda/CudaProgram.h"

namespace attnc::cuda {

Result<CudaProgram> compileCudaProgram(mlir::ModuleOp module, const std::string &chip,
                                       const Assembler &assemble, const ArtifactCache &cache) {
  Result<PtxKernel> kernel = lowerToPtx(module, chip, cache);
  if (!kernel)
    return kernel.status();
  CudaProgram program;
  program.launch = kernel->launch;
  program.chip = chip;
  program.ptx = kernel->ptx;
  Result<std::string> cubin =
      assemble ? assemble(kernel->ptx, chip, kernel->threadsPerBlock) : std::string();
  if (!cubin)
    return cubin.status();
  program.format = cubin->empty() ? "ptx" : "cubin";
  program.image = cubin->empty() ? kernel->ptx : cubin.take();
  return program;
}

} // namespace attnc::cuda
