//===- CudaProgram.cpp - @X_gpu compiled to run on a CUDA GPU --------------===//
#include "compiler/targets/cuda/CudaProgram.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "runtime/cuda/CudaAbi.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"

namespace attnc::cuda {

Result<CudaProgram> compileCudaProgram(mlir::ModuleOp module, const std::string &entryName,
                                       const std::string &chip, const Assembler &assemble,
                                       const ArtifactCache &cache) {
  Result<LaunchableModule> lowered = lowerForLaunch(module, chip, assemble, cache);
  if (!lowered)
    return lowered.status();
  std::string error;
  std::unique_ptr<mlir::ExecutionEngine> engine =
      cpu::jitCompile(module, error, /*enableObjectDump=*/false);
  if (!engine)
    return Status::error("compiling the host code failed: " + error);
  engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (auto &[name, address] : cudaAbiSymbols())
      map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                             llvm::JITSymbolFlags::Exported};
    return map;
  });
  takeCudaErrors();
  engine->initialize(); // runs the constructor that loads the GPU module
  if (std::vector<std::string> errors = takeCudaErrors(); !errors.empty())
    return Status::error(errors.front());
  auto entry = engine->lookupPacked("_mlir_ciface_" + entryName);
  if (!entry)
    return Status::error("no entry point '" + entryName + "': " +
                         llvm::toString(entry.takeError()));
  CudaProgram program;
  program.entry = *entry;
  program.owner = std::shared_ptr<mlir::ExecutionEngine>(std::move(engine));
  program.binary = *lowered;
  return program;
}

} // namespace attnc::cuda
