//===- EmuRunner.cpp - JIT-compile lowered GPU kernels and run them --------===//
#include "compiler/targets/emu/EmuRunner.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/targets/emu/Passes.h"
#include "runtime/emu/EmuAbi.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"

namespace attnc::emu {

void registerEmuAbiSymbols(mlir::ExecutionEngine &engine) {
  engine.registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (auto &[name, address] : emuAbiSymbols())
      map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                             llvm::JITSymbolFlags::Exported};
    return map;
  });
}

EmuModule::~EmuModule() = default;

Result<std::unique_ptr<EmuModule>> EmuModule::compile(mlir::ModuleOp module) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.getLocation() << ": " << d.str() << "\n";
    return mlir::success();
  });
  if (failed(attnc::runPipeline(module, [](mlir::OpPassManager &pm) {
        pm.addPass(createAttnGpuToEmu());
        cpu::buildCpuToLLVMPipeline(pm);
      })))
    return Status::error("lowering for cuda-emu failed: " + diagnostics);
  std::unique_ptr<EmuModule> result(new EmuModule());
  if (auto names = module->getAttrOfType<mlir::ArrayAttr>("attn.emu.locations"))
    for (mlir::Attribute a : names)
      result->locations.push_back(mlir::cast<mlir::StringAttr>(a).str());
  std::string error;
  result->engine = attnc::jitCompile(module, error);
  if (!result->engine)
    return Status::error("JIT compilation for cuda-emu failed: " + error);
  registerEmuAbiSymbols(*result->engine);
  return result;
}

Status EmuModule::launch(const std::string &name, Dim3 grid, Dim3 block,
                         std::vector<void *> args, bool checkRaces) {
  auto entry = engine->lookupPacked("_mlir_ciface_" + name);
  if (!entry)
    return Status::error("no kernel named '" + name + "': " +
                         llvm::toString(entry.takeError()));
  setLocationTable(locations);
  LaunchConfig config;
  config.kernel = name;
  config.grid = grid;
  config.block = block;
  config.checkRaces = checkRaces;
  auto fn = *entry;
  return attnc::emu::launch(config, [&] { fn(args.data()); });
}

} // namespace attnc::emu
