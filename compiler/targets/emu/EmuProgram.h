//===- EmuProgram.h - whole GPU programs compiled for cuda-emu ----*- C++ -*-===//
//
// What attn-emu-runner runs: a module of host code and gpu.modules (or gpu.launch
// regions), at the gpu/nvgpu level, before any NVVM conversion. The program pipeline
// outlines launches, expands reductions, lowers host GPU operations and kernels for
// the emulator, lowers everything to LLVM for the host CPU and JIT-compiles it with
// the given shared libraries (the MLIR runner utilities, typically). Running the
// entry point launches kernels under the emulator with every check on.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_EMU_EMUPROGRAM_H
#define ATTNC_COMPILER_TARGETS_EMU_EMUPROGRAM_H

#include "runtime/Status.h"
#include "runtime/emu/EmuHost.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
}

namespace attnc::emu {

/// gpu/nvgpu program → LLVM dialect for the host, kernels driving the emulator.
void buildEmuProgramPipeline(mlir::OpPassManager &pm);

/// The result type of the entry point (mlir-runner's --entry-point-result).
enum class EntryResult { Void, I32, I64, F32 };

struct ProgramOptions {
  std::vector<std::string> sharedLibs;
  unsigned optLevel = 3;
};

class EmuProgram {
public:
  ~EmuProgram();
  /// Lowers and JIT-compiles `module` (consumed) with `entry` as the entry point.
  /// Diagnostics of a failing lowering go to the context's diagnostic handler.
  static Result<std::unique_ptr<EmuProgram>>
  compile(mlir::ModuleOp module, const std::string &entry, EntryResult result,
          const ProgramOptions &options);

  /// Lowers and JIT-compiles `module` (consumed) as a library: no entry point, its
  /// functions called from C++ through lookupPacked().
  static Result<std::unique_ptr<EmuProgram>> compileLibrary(mlir::ModuleOp module,
                                                            const ProgramOptions &options);

  /// Runs the entry point. The result of a non-void entry point is printed to stdout
  /// as mlir-runner prints it. Fails if the entry point cannot be called.
  Status run();

  /// The packed interface of function `name` (one pointer per argument).
  Result<PackedKernel> lookupPacked(const std::string &name);
  /// The kernels that the program's launches refer to, for setKernelTable.
  Result<std::vector<KernelEntry>> kernelTable();
  const std::vector<std::string> &locationTable() const { return locations; }

private:
  EmuProgram() = default;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::string entry;
  EntryResult result = EntryResult::Void;
  std::vector<std::string> locations, kernels;
};

} // namespace attnc::emu

#endif // ATTNC_COMPILER_TARGETS_EMU_EMUPROGRAM_H
