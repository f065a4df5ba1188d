//===- EmuRunner.h - JIT-compile lowered GPU kernels and run them -*- C++ -*-===//
//
// Takes a module with gpu.module kernels, lowers it with attn-gpu-to-emu and the CPU
// pipeline, JIT-compiles it with the emulator's runtime functions resolved, and
// launches a kernel over a grid with the cuda-emu engine (checks on).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_EMU_EMURUNNER_H
#define ATTNC_COMPILER_TARGETS_EMU_EMURUNNER_H

#include "runtime/Status.h"
#include "runtime/emu/Emulator.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
}

namespace attnc::emu {

/// Resolves the emulator's ABI functions (runtime/emu/EmuAbi.h) in JIT-compiled code.
void registerEmuAbiSymbols(mlir::ExecutionEngine &engine);

class EmuModule {
public:
  ~EmuModule();
  /// Lowers and JIT-compiles `module` (consumed). Errors are returned, not printed.
  static Result<std::unique_ptr<EmuModule>> compile(mlir::ModuleOp module);

  /// Launches kernel `name`. `args` are the packed-interface arguments: for a memref
  /// argument a pointer to a pointer to its descriptor, for a scalar a pointer to it.
  Status launch(const std::string &name, Dim3 grid, Dim3 block,
                std::vector<void *> args, bool checkRaces = true);

private:
  EmuModule() = default;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::vector<std::string> locations;
};

} // namespace attnc::emu

#endif // ATTNC_COMPILER_TARGETS_EMU_EMURUNNER_H
