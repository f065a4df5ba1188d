//===- EmuProgram.cpp - whole GPU programs compiled for cuda-emu -----------===//
#include "compiler/targets/emu/EmuProgram.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/targets/emu/EmuRunner.h"
#include "compiler/targets/emu/Passes.h"
#include "runtime/emu/EmuAbi.h"
#include "runtime/emu/EmuHost.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/AsyncToLLVM/AsyncToLLVM.h"
#include "mlir/Dialect/Async/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace mlir;

namespace attnc::emu {

void buildEmuProgramPipeline(OpPassManager &pm) {
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addNestedPass<gpu::GPUModuleOp>(createAttnGpuEmuRewrite());
  pm.addPass(createAttnGpuHostToEmu());
  pm.addPass(createAttnGpuToEmu());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createLowerAffinePass());
  // Host code may use the async dialect (async.execute around GPU work): its
  // runtime is libmlir_async_runtime.so, which attn-emu-runner loads.
  pm.addPass(createAsyncToAsyncRuntimePass());
  pm.addPass(createAsyncRuntimeRefCountingPass());
  pm.addPass(createConvertAsyncToLLVMPass());
  cpu::buildCpuToLLVMPipeline(pm);
}

EmuProgram::~EmuProgram() = default;

static std::vector<std::string> stringArray(ModuleOp module, StringRef name) {
  std::vector<std::string> out;
  if (auto array = module->getAttrOfType<ArrayAttr>(name))
    for (Attribute a : array)
      out.push_back(cast<StringAttr>(a).str());
  return out;
}

/// Checks that `entry` exists with the signature mlir-runner requires.
static Status checkEntry(ModuleOp module, const std::string &entry, EntryResult result) {
  auto fn = module.lookupSymbol<func::FuncOp>(entry);
  if (!fn || fn.isExternal())
    return Status::error("entry point '" + entry + "' not found (a func.func with a body)");
  FunctionType type = fn.getFunctionType();
  if (type.getNumInputs() != 0)
    return Status::error("entry point '" + entry + "' must take no arguments");
  Builder b(module.getContext());
  Type expected = result == EntryResult::I32   ? b.getI32Type()
                  : result == EntryResult::I64 ? b.getI64Type()
                  : result == EntryResult::F32 ? b.getF32Type()
                                               : Type();
  bool ok = expected ? type.getNumResults() == 1 && type.getResult(0) == expected
                     : type.getNumResults() == 0;
  if (!ok) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "entry point '" << entry << "' has type " << type << ", but the entry point result "
       << "is " << (expected ? "" : "void");
    if (expected)
      os << expected;
    return Status::error(text);
  }
  return Status::ok();
}

Result<std::unique_ptr<EmuProgram>> EmuProgram::compile(ModuleOp module,
                                                        const std::string &entry,
                                                        EntryResult result,
                                                        const ProgramOptions &options) {
  if (Status s = checkEntry(module, entry, result); !s)
    return s;
  auto program = compileLibrary(module, options);
  if (!program)
    return program.status();
  (*program)->entry = entry;
  (*program)->result = result;
  return program;
}

Result<std::unique_ptr<EmuProgram>> EmuProgram::compileLibrary(ModuleOp module,
                                                               const ProgramOptions &options) {
  // Diagnostics go to the context's handler (the caller's), with their locations.
  if (failed(attnc::runPipeline(module, buildEmuProgramPipeline)))
    return Status::error("lowering the program for cuda-emu failed");
  std::unique_ptr<EmuProgram> program(new EmuProgram());
  program->locations = stringArray(module, "attn.emu.locations");
  // Launches name kernels by path; the host functions may be renamed.
  auto functions = module->getAttrOfType<DictionaryAttr>("attn.emu.kernel_functions");
  for (const std::string &path : stringArray(module, "attn.emu.kernels")) {
    auto name = functions ? functions.getAs<StringAttr>(path) : StringAttr();
    if (!name)
      return Status::error("kernel '" + path + "' is launched but not defined");
    program->kernels.push_back(name.str());
  }
  std::vector<llvm::StringRef> libs(options.sharedLibs.begin(), options.sharedLibs.end());
  std::string error;
  program->engine = attnc::jitCompile(module, error, /*enableObjectDump=*/false, libs,
                                    options.optLevel);
  if (!program->engine)
    return Status::error("JIT compilation failed: " + error);
  registerEmuAbiSymbols(*program->engine);
  return program;
}

/// Calls a function returning T through its packed interface (which stores the
/// result through the last pointer) and prints the result as mlir-runner does.
template <typename T>
static llvm::Error invokeAndPrint(ExecutionEngine &engine, const std::string &entry) {
  T value{};
  void *args[] = {&value};
  llvm::Error error = engine.invokePacked(entry, args);
  if (!error)
    llvm::outs() << value << "\n";
  return error;
}

Result<PackedKernel> EmuProgram::lookupPacked(const std::string &name) {
  auto fn = engine->lookupPacked("_mlir_ciface_" + name);
  if (!fn)
    return Status::error("function '" + name + "' was not compiled: " +
                         llvm::toString(fn.takeError()));
  return PackedKernel(*fn);
}

Result<std::vector<KernelEntry>> EmuProgram::kernelTable() {
  std::vector<KernelEntry> table;
  for (const std::string &name : kernels) {
    Result<PackedKernel> fn = lookupPacked(name);
    if (!fn)
      return fn.status();
    table.push_back({name, *fn});
  }
  return table;
}

Status EmuProgram::run() {
  Result<std::vector<KernelEntry>> table = kernelTable();
  if (!table)
    return table.status();
  setKernelTable(table.take());
  setLocationTable(locations);
  resetFailedLaunches();
  llvm::Error error = result == EntryResult::Void ? engine->invokePacked(entry)
                      : result == EntryResult::I32 ? invokeAndPrint<int32_t>(*engine, entry)
                      : result == EntryResult::I64 ? invokeAndPrint<int64_t>(*engine, entry)
                                                   : invokeAndPrint<float>(*engine, entry);
  waitForAsyncLaunches(); // launches the program never waited for
  llvm::outs().flush();
  std::fflush(stdout);
  if (error)
    return Status::error("cannot run entry point '" + entry + "': " +
                         llvm::toString(std::move(error)));
  return Status::ok();
}

} // namespace attnc::emu
