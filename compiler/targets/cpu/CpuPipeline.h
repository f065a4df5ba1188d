//===- CpuPipeline.h - the flash form → LLVM for the CPU kernel ---*- C++ -*-===//
//
// The CPU target's part of the compilation (the shared parts are in
// compiler/pipeline/Pipeline.h):
//   flash form --attn-lower-flash-to-cpu, math approximations, *-to-llvm-->  LLVM
//   dialect, then LLVM IR and the ORC JIT (or an AOT object, CpuObject.h).
// cuda-emu lowers its host programs with the same pipeline, so that emulated
// kernels compute exp and log as the CPU kernels do.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CPU_CPUPIPELINE_H
#define ATTNC_COMPILER_TARGETS_CPU_CPUPIPELINE_H

#include "compiler/pipeline/Pipeline.h"
#include "compiler/targets/cpu/Passes.h"

namespace attnc::cpu {

/// flash form → LLVM dialect (CPU kernel ABI); host code without flash functions
/// is lowered to the LLVM dialect alike. `operands` picks the forward kernel's
/// operand panels (Passes.h).
void buildCpuToLLVMPipeline(mlir::OpPassManager &pm,
                            CpuOperands operands = CpuOperands::F32);

} // namespace attnc::cpu

#endif // ATTNC_COMPILER_TARGETS_CPU_CPUPIPELINE_H
