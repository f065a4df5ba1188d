//===- CpuPipeline.h - attn module → LLVM → JIT-compiled kernel ---*- C++ -*-===//
//
// The CPU target's pass pipelines and code generation:
//   attn  --attn-simplify, attn-tile-flash-->  flash form
//         --attn-lower-flash-to-cpu, math approximations, *-to-llvm-->  LLVM dialect
//         --translate, ORC JIT at -O3 for the host CPU-->  machine code
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CPU_CPUPIPELINE_H
#define ATTNC_COMPILER_TARGETS_CPU_CPUPIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

namespace mlir {
class ExecutionEngine;
}
namespace llvm {
class LLVMContext;
class Module;
}

namespace attnc::cpu {

struct CpuOptions {
  int64_t blockQ = 64;
  int64_t blockKV = 64;
  /// GPU targets only (which read the tiles above too, 0 meaning their heuristic):
  /// the tensor-core kernel's K/V pipeline stages, 0 for the heuristic.
  int64_t stages = 0;
};

/// attn → flash form.
void buildFlashPipeline(mlir::OpPassManager &pm, const CpuOptions &options);
/// flash form → LLVM dialect (CPU kernel ABI).
void buildCpuToLLVMPipeline(mlir::OpPassManager &pm);

/// Runs a pipeline with the context's diagnostics; failure has been reported.
mlir::LogicalResult runPipeline(mlir::ModuleOp module,
                                const std::function<void(mlir::OpPassManager &)> &build);

/// The LLVM IR of an LLVM-dialect module, unoptimised (null after a diagnostic).
std::unique_ptr<llvm::Module> translateToLLVMIR(mlir::ModuleOp module,
                                               llvm::LLVMContext &llvmContext);

/// Prints the LLVM IR of an LLVM-dialect module (optimised at -O3 for the host).
mlir::LogicalResult printLLVMIR(mlir::ModuleOp module, llvm::raw_ostream &os);

/// JIT-compiles an LLVM-dialect module for the host CPU at `optLevel` (0-3).
/// With `enableObjectDump`, the engine keeps the object file for
/// `ExecutionEngine::dumpToObjectFile` (the kernel cache stores it). `sharedLibs`
/// are loaded and their symbols made visible to the module.
std::unique_ptr<mlir::ExecutionEngine>
jitCompile(mlir::ModuleOp module, std::string &error, bool enableObjectDump = false,
           llvm::ArrayRef<llvm::StringRef> sharedLibs = {}, unsigned optLevel = 3);

} // namespace attnc::cpu

#endif // ATTNC_COMPILER_TARGETS_CPU_CPUPIPELINE_H
