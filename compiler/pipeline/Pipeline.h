//===- Pipeline.h - pass pipelines and LLVM code generation, shared -*- C++ -*-===//
//
// What every target's compilation shares: the kernel's tile options, the
// target-independent pipeline to the flash form, running a pipeline, and turning an
// LLVM-dialect module into LLVM IR or JIT-compiled host code (the CPU kernels and
// cuda-emu's host programs both run through the ORC JIT).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_PIPELINE_PIPELINE_H
#define ATTNC_COMPILER_PIPELINE_PIPELINE_H

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
} // namespace llvm

namespace attnc {

/// A kernel's tiles: the flash form's block sizes (0 on a GPU target: its
/// heuristic chooses) and, for the GPU's tensor-core kernel only, the depth of its
/// K/V pipeline (0: the heuristic).
struct KernelTileOptions {
  int64_t blockQ = 64;
  int64_t blockKV = 64;
  int64_t stages = 0;
  int64_t rowsPerWarp = 0; ///< GPU tensor cores: 16 or 32 query rows per warp (0: heuristic)
  bool backward = false;   ///< compile the backward kernel too (CPU and cuda-emu targets)
};

/// attn → flash form (attn-simplify, attn-tile-flash).
void buildFlashPipeline(mlir::OpPassManager &pm, const KernelTileOptions &options);

/// attn → backward flash form (attn-differentiate-score-mod, attn-simplify,
/// attn-tile-flash-backward with `keyTilesPerPass` key tiles a pass: the CPU
/// target's cpu::backwardKeyTilesPerPass, 1 on GPU targets).
void buildFlashBackwardPipeline(mlir::OpPassManager &pm, const KernelTileOptions &options,
                                int64_t keyTilesPerPass = 1);

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

} // namespace attnc

#endif // ATTNC_COMPILER_PIPELINE_PIPELINE_H
