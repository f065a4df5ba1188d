//===- CpuObject.h - a CPU kernel compiled ahead of time -------------*- C++ -*-===//
//
// A kernel library (`attnc compile --emit library`) carries each CPU kernel as
// machine code, compiled here for one x86-64 level (runtime/cpu/CpuIsa.h) into a
// relocatable, position-independent object file the library is linked from. The
// object defines one symbol, the kernel's packed entry `void NAME(void **args)`
// (the ABI a JIT-compiled kernel is called through, runtime/cpu/CpuKernel.h); every
// other function is internal, so kernels of several variants and levels link into
// one library without clashing.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CPU_CPUOBJECT_H
#define ATTNC_COMPILER_TARGETS_CPU_CPUOBJECT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace attnc::cpu {

/// Compiles `module` (the LLVM dialect, as buildCpuToLLVMPipeline leaves it) for
/// the LLVM CPU `llvmCpu` ("x86-64-v4") with the target features `features`
/// ("+avx512bf16", or "") at -O3 into an ELF object whose only
/// global symbol, `exportName` (hidden visibility), is the packed form of the
/// C-interface function `cifaceName`. On failure returns nothing and sets `error`.
std::optional<std::string> emitCpuObject(mlir::ModuleOp module, llvm::StringRef llvmCpu,
                                         llvm::StringRef features,
                                         llvm::StringRef cifaceName,
                                         llvm::StringRef exportName, std::string &error);

} // namespace attnc::cpu

#endif // ATTNC_COMPILER_TARGETS_CPU_CPUOBJECT_H
